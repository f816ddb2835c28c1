-- http_mixed.lua: the wrk script of http_mixed.bench.sh, run with one
-- connection per wrk thread so that each answer belongs to the request
-- made just before it. 70% reads (GET a release), 30% actions (execute,
-- or fail with a note; half of them with an If-Match from the version this
-- thread saw last, which may be stale) on releases 1..RELEASES. Each
-- thread logs to MIXED_LOG.<n>: "sent ID ACTION" before a write, then its
-- outcome "ok ID VERSION ACTION" (2xx), "stale ID" (412), "refused ID
-- STATUS" (another 4xx); "5xx STATUS" for any server error.
-- Environment: TOKEN, RELEASES, MIXED_LOG.
-- wrk (LuaJIT) calls these globals and sets wrk and tid:
-- luacheck: globals setup init request response, read globals wrk tid
local token = os.getenv("TOKEN")
local n = tonumber(os.getenv("RELEASES") or "1000")
local prefix = os.getenv("MIXED_LOG")
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("tid", counter)
end

local log, versions, last = nil, {}, nil

function init()
    log = assert(io.open(prefix .. "." .. tid, "w"))
    math.randomseed(tid * 7919 + os.time())
end

function request()
    local id = math.random(n)
    local headers = { Authorization = "Bearer " .. token }
    if math.random() < 0.7 then
        last = { id = id }
        return wrk.format("GET", "/api/v1/releases/" .. id, headers)
    end
    local action, body = "execute", nil
    if math.random() < 0.5 then
        action, body = "fail", '{"note": "bench"}'
        headers["Content-Type"] = "application/json"
    end
    if versions[id] and math.random() < 0.5 then
        headers["If-Match"] = '"v' .. versions[id] .. '"'
    end
    last = { id = id, action = action }
    log:write("sent ", id, " ", action, "\n")
    return wrk.format("POST", "/api/v1/releases/" .. id .. "/actions/" .. action, headers, body)
end

function response(status, _, body)
    if status >= 500 then
        log:write("5xx ", status, "\n")
        return
    end
    local r = last
    if status >= 200 and status < 300 then
        local version = tonumber(body:match('"row_version":%s*(%d+)'))
        versions[r.id] = version
        if r.action then
            log:write("ok ", r.id, " ", version, " ", r.action, "\n")
        end
    elseif r.action and status == 412 then
        log:write("stale ", r.id, "\n")
    elseif r.action then
        log:write("refused ", r.id, " ", status, "\n")
    else
        log:write("readfail ", r.id, " ", status, "\n")
    end
end
