-- storm.lua: a release lifecycle storm for the kill -9 runs: register
-- releases and take random allowed actions on random open ones, for ever
-- (or COUNT actions), as fast as the engine goes. Refusals are expected;
-- anything else raised stops the storm with exit status 1.
--   relm --db DB run tests/torture/storm.lua [COUNT] [SEED]
local count, seed = tonumber((...)) or math.huge, tonumber((select(2, ...))) or os.time()
math.randomseed(seed)
relm.release.workflow("tests/fixtures/workflows/shimflow.lua")
local js = relm.sql("SELECT id, for_suspend AS suspend, for_cancel AS cancel FROM justifications")
local jsus, jcan
for _, j in ipairs(js) do
    if j.suspend == 1 then jsus = jsus or j.id end
    if j.cancel == 1 then jcan = jcan or j.id end
end
local opts = {
    execute = { fields = { version = "1.0" } },
    pass = { fields = { test_result = "ok" } },
    fail = { fields = { note = "retry" } },
    accept = { fields = { release_date = "2026-12-01", solution_category = "deployed", closure_text = "done" } },
    suspend = { justification = jsus },
    cancel = { justification = jcan },
    reopen = { justification = jcan },
}
local expected = {
    not_allowed = true, permission_denied = true, missing_field = true, guard_refused = true, invalid_state = true,
    conflict = true, invalid_argument = true, justification_required = true, not_found = true,
}
local known = { authorize = true, execute = true, pass = true, fail = true, accept = true, suspend = true,
    reactivate = true, cancel = true, reopen = true }
local done = 0
while done < count do
    local open = relm.sql("SELECT id FROM releases WHERE status NOT IN ('closed', 'cancelled') "
        .. "ORDER BY random() LIMIT 1")
    if #open == 0 or math.random() < 0.2 then
        relm.release.register { workflow = "shimflow", title = "storm " .. done, executor_group = "ops" }
    else
        local id = open[1].id
        local actions = {}
        for _, a in ipairs(relm.release.actions(id)) do
            if known[a] then
                actions[#actions + 1] = a
            end
        end
        if #actions > 0 then
            local a = actions[math.random(#actions)]
            if a == "cancel" and math.random() < 0.9 then -- keep releases moving
                a = actions[math.random(#actions)]
            end
            local ok, err = pcall(relm.release.act, id, a, opts[a])
            if not ok and not (relm.is_error(err) and expected[err.code]) then
                io.stderr:write("storm: ", tostring(err), "\n")
                os.exit(1, true)
            end
        end
    end
    done = done + 1
end
