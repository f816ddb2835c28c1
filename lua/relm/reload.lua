-- relm/reload.lua: what a running `relm serve` re-reads on SIGHUP. Each
-- module that keeps definitions read from files (workflows, approval
-- rules, hook files, templates) registers how to read them again; a file
-- that fails keeps its old definitions and is reported with file:line.

local M = {}

-- name -> function() returning a list of problems (strings), in order.
local reloaders, order = {}, {}

---Register how to re-read the definitions called name. fn() re-reads them,
---keeping the old version of any that fails, and returns the problems
---found (each "file:line: message"), or an empty list. Registering a name
---again replaces its function.
---@param name string e.g. "workflow", "approval rules"
---@param fn fun(): string[]
function M.register(name, fn)
    if type(name) ~= "string" or name == "" then
        relm.error("invalid_argument", "relm.reload.register: argument #1 (name) must be a non-empty string", 2)
    end
    if type(fn) ~= "function" then
        relm.error("invalid_argument", "relm.reload.register: argument #2 (fn) must be a function", 2)
    end
    if not reloaders[name] then
        order[#order + 1] = name
    end
    reloaders[name] = fn
end

---Re-read every registered kind of definition now; returns the problems as
---{what=, message=}, an empty list when everything read cleanly.
---@return {what: string, message: string}[]
function M.all()
    local out = {}
    for _, name in ipairs(order) do
        local ok, problems = pcall(reloaders[name])
        if not ok then
            problems = { tostring(problems) }
        end
        for _, p in ipairs(problems or {}) do
            out[#out + 1] = { what = name, message = tostring(p) }
        end
    end
    return out
end

-- serve calls all() in the engine's state (core/lua/serve_engine.c).
M._engine = { all = M.all }

return M
