-- release_walk.lua: the subject of the release benchmark: N releases
-- registered and taken through a workflow (default "standard") from its
-- initial state to its close state, each step one relm.release.act.
--   relm --db DB run tests/bench/release_walk.lua [N] [WORKFLOW]
-- Prints "walk RELEASES STEPS_PER_RELEASE SECONDS" (wall time of the loop).
local N = tonumber(arg and arg[1]) or 10000
local WF = arg and arg[2] or "standard"

local clock = os.clock
local ok_uv, uv = pcall(require, "luv")
if ok_uv and uv.hrtime then
    clock = function() return uv.hrtime() / 1e9 end
end

-- RELEASE_BENCH_SHIM=1 walks the spec fixtures' workflow through their shim.
if os.getenv("RELEASE_BENCH_SHIM") == "1" then
    rawset(relm, "workflow", dofile("tests/fixtures/workflow_shim.lua"))
end
local wf = relm.workflow.load(WF)

-- Shortest path from the initial state to the close state, avoiding the
-- cancel state: a list of transition names.
local function path()
    local prev, queue, seen = {}, { wf.initial }, { [wf.initial] = true }
    while #queue > 0 do
        local s = table.remove(queue, 1)
        if s == wf.close_state then
            break
        end
        for _, t in ipairs(wf:available(s)) do
            local to = wf.transitions[t].to
            if not seen[to] and to ~= wf.cancel_state then
                seen[to] = true
                prev[to] = { from = s, t = t }
                queue[#queue + 1] = to
            end
        end
    end
    assert(prev[wf.close_state], "no path to the close state in workflow " .. WF)
    local out, s = {}, wf.close_state
    while s ~= wf.initial do
        table.insert(out, 1, prev[s].t)
        s = prev[s].from
    end
    return out
end

local VALUES = {
    release_date = "2027-01-20", solution_category = "deployed", closure_text = "done",
    impact = "medium", urgency = "medium", risk = "low", planned_start = "2027-01-10",
    planned_end = "2027-01-11", executor_group = "administrators", version = "1.0",
}

-- Fields each step must carry: those of the state it leaves and its own.
local steps = {}
for i, t in ipairs(path()) do
    local tr = wf.transitions[t]
    local from = next(tr.from)
    for s in pairs(tr.from) do
        if steps[i - 1] == nil and s == wf.initial or (steps[i - 1] and s == steps[i - 1].to) then
            from = s
        end
    end
    local fields = {}
    for _, list in ipairs({ wf.states[from].requires or {}, tr.requires or {} }) do
        for _, f in ipairs(list) do
            fields[f] = VALUES[f] or "x"
        end
    end
    steps[i] = { name = t, to = tr.to, opts = next(fields) and { fields = fields } or nil }
end
for _, f in ipairs({ "release_date", "solution_category", "closure_text" }) do
    steps[#steps].opts = steps[#steps].opts or { fields = {} }
    steps[#steps].opts.fields[f] = VALUES[f]
end

local register, act = relm.release.register, relm.release.act
local spec = { workflow = WF, title = "bench release", executor_group = "administrators" }
local t0 = clock()
for _ = 1, N do
    local r = register(spec)
    local id = r.id
    for i = 1, #steps do
        act(id, steps[i].name, steps[i].opts)
    end
end
local dt = clock() - t0
local last = relm.sql("SELECT status FROM releases ORDER BY id DESC LIMIT 1")[1]
assert(last.status == "closed", "the last release did not close: " .. tostring(last.status))
print(("walk %d %d %.6f"):format(N, #steps, dt))
