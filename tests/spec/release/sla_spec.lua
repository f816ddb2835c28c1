-- sla_spec.lua: the SLA clock through every primitive that moves it, on a
-- fixed clock (relm.release.set_clock): elapsed time, time left, lateness.
local H = dofile("tests/fixtures/release_helper.lua")

local T0 = 1800000000 -- 2027-01-15T08:00:00Z
local HOUR = 3600
local CLOSURE = { release_date = "2027-01-20", solution_category = "deployed", closure_text = "done" }

-- Take release id from registration to resolved, at the current clock.
local function resolve(id)
    relm.release.act(id, "authorize")
    relm.release.act(id, "execute", { version = "1" })
    return relm.release.act(id, "pass", { test_result = "ok" })
end

local function at(hours)
    relm.release.set_clock(T0 + math.floor(hours * HOUR))
end

describe("the SLA clock", function()
    local j
    setup(function() j = H.setup() end)
    after_each(function() relm.release.set_clock(nil) end)

    it("runs from registration: deadline = created + allowance, elapsed and time left", function()
        at(0)
        local r = H.release { sla_hours = 4 }
        assert.are.equal(4 * HOUR, r.sla_seconds)
        assert.are.equal("2027-01-15T12:00:00Z", r.deadline)
        assert.are.equal(0, r.elapsed)
        at(3)
        r = relm.release.get(r.id)
        assert.are.equal(3 * HOUR, r.elapsed)
        assert.are.equal(1 * HOUR, r.time_left)
        assert.is_false(r.overdue)
        at(5)
        r = relm.release.get(r.id)
        assert.are.equal(-1 * HOUR, r.time_left)
        assert.is_true(r.overdue)
    end)

    it("takes the default allowance from the priority when none is given", function()
        at(0)
        local r = H.release { impact = "high", urgency = "high" }
        assert.are.equal(1, r.priority)
        assert.are.equal(relm.priority.sla_hours[1] * HOUR, r.sla_seconds)
    end)

    it("stops for good at closure: a release closed on time never turns late", function()
        at(0)
        local r = H.release { sla_hours = 10 }
        resolve(r.id)
        at(6)
        r = relm.release.act(r.id, "close", CLOSURE)
        assert.are.equal("closed", r.status)
        at(100) -- long after the deadline
        r = relm.release.get(r.id)
        assert.are.equal(6 * HOUR, r.elapsed)
        assert.are.equal(4 * HOUR, r.time_left)
        assert.is_false(r.overdue)
        -- no stage: the clock is not "in progress" any more
        assert.is_nil(r.sla_stage)
    end)

    it("keeps a release closed late late, by the time it was late when it closed", function()
        at(0)
        local r = H.release { sla_hours = 2 }
        resolve(r.id)
        at(5)
        relm.release.act(r.id, "close", CLOSURE)
        at(50)
        r = relm.release.get(r.id)
        assert.are.equal(5 * HOUR, r.elapsed)
        assert.are.equal(-3 * HOUR, r.time_left)
        assert.is_true(r.overdue)
    end)

    it("suspended past the deadline, stays late after reactivation", function()
        at(0)
        local r = H.release { sla_hours = 1 }
        at(3)
        r = relm.release.act(r.id, "suspend", { justification = j.suspend })
        assert.are.equal(-2 * HOUR, r.remaining_seconds)
        assert.is_true(r.overdue)
        at(10)
        r = relm.release.act(r.id, "reactivate")
        assert.are.equal("2027-01-15T16:00:00Z", r.deadline) -- T0+10h-2h
        assert.are.equal(3 * HOUR, r.elapsed)
        assert.is_true(r.overdue)
    end)

    it("suspended twice, counts only the time it ran", function()
        at(0)
        local r = H.release { sla_hours = 10 }
        at(1)
        relm.release.act(r.id, "suspend", { justification = j.suspend })
        at(4)
        relm.release.act(r.id, "reactivate")
        at(6)
        relm.release.act(r.id, "suspend", { justification = j.suspend })
        at(30)
        r = relm.release.act(r.id, "reactivate")
        assert.are.equal(3 * HOUR, r.elapsed) -- 1h + 2h
        assert.are.equal(7 * HOUR, r.time_left)
        assert.are.equal("2027-01-16T21:00:00Z", r.deadline) -- T0+30h+7h
    end)

    it("freezes what was left when a suspended release is cancelled", function()
        at(0)
        local r = H.release { sla_hours = 10 }
        at(2)
        r = relm.release.act(r.id, "suspend", { justification = j.suspend })
        assert.are.equal("in_progress", r.sla_stage) -- stopped, not ended
        at(5)
        r = relm.release.act(r.id, "cancel", { justification = j.cancel })
        assert.is_nil(r.sla_stage)
        assert.are.equal("cancelled", r.status)
        at(500)
        r = relm.release.get(r.id)
        assert.are.equal(2 * HOUR, r.elapsed)
        assert.are.equal(8 * HOUR, r.time_left)
        assert.is_false(r.overdue)
    end)

    it("restarts with a full allowance on reopen; elapsed keeps counting", function()
        at(0)
        local r = H.release { sla_hours = 10 }
        resolve(r.id)
        at(4)
        relm.release.act(r.id, "close", CLOSURE)
        at(20) -- closed for 16 hours: not counted
        assert.is_nil(relm.release.get(r.id).sla_stage)
        r = relm.release.act(r.id, "reopen", { justification = j.reopen })
        assert.are.equal("2027-01-16T14:00:00Z", r.deadline) -- T0+20h+10h
        assert.are.equal("in_progress", r.sla_stage)
        assert.are.equal(4 * HOUR, r.elapsed)
        at(21)
        r = relm.release.get(r.id)
        assert.are.equal(5 * HOUR, r.elapsed)
        assert.are.equal(9 * HOUR, r.time_left)
        assert.is_false(r.overdue)
    end)

    it("always has a deadline: the allowance defaults to the priority's", function()
        -- Every release gets an allowance (given, the model's, or the
        -- priority's), so the clock always has a deadline to run against.
        at(0)
        local r = H.release()
        assert.is_not_nil(r.deadline)
        assert.is_number(r.time_left)
    end)

    it("prints on the release's card in hours and minutes", function()
        at(0)
        local r = H.release { sla_hours = 2, title = "Card" }
        at(3.5)
        r = relm.release.get(r.id)
        local card = tostring(r)
        assert.are.equal(card, require("relm.pretty").show(r)) -- what the REPL prints
        assert.are.equal(r.number .. "  Card\n", card:sub(1, #r.number + 7))
        assert.matches("\n  status +open\n", card)
        assert.matches("\n  time_left +%-5400 %(late by 1h 30m%)\n", card)
        assert.matches("\n  elapsed +12600 %(3h 30m%)\n", card)
        assert.matches("\n  overdue +true\n", card)
        assert.is_nil(card:find("elapsed_seconds", 1, true)) -- the clock's raw state stays off the card
        assert.are.equal(-5400, r.time_left) -- the table keeps plain values
    end)

    it("may be fixed only by an administrator", function()
        local ok, err = pcall(relm.user.as, "bob", relm.release.set_clock, T0)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "permission_denied"))
        assert.are_not.equal(T0, relm.release.now())
    end)
end)
