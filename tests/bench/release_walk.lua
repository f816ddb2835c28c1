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

local path = dofile("tests/fixtures/workflow_path.lua")

local VALUES = {
    release_date = "2027-01-20", solution_category = "deployed", closure_text = "done",
    impact = "medium", urgency = "medium", risk = "low", planned_start = "2027-01-10",
    planned_end = "2027-01-11", executor_group = "administrators", version = "1.0",
}

-- Fields each step must carry: those of the state it leaves and its own.
local steps = {}
for i, t in ipairs(path(wf)) do
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
