-- register_spec.lua: relm.release.register and get: fields, numbering,
-- priority, defaults, and the bad input that must write nothing.
local H = dofile("tests/fixtures/release_helper.lua")

describe("relm.release.register", function()
    setup(H.setup)

    it("returns the release with id, number, status and state", function()
        -- elapsed and time_left follow the clock: hold it still, or a second
        -- that ticks between register and get makes the records differ.
        relm.release.set_clock(os.time())
        finally(function() relm.release.set_clock(0) end)
        local r = H.release { description = "why", contract = "C-1", version = "2.0", risk = "low",
            planned_start = "2027-01-10", planned_end = "2027-01-11T18:00", category = "software" }
        assert.is_true(math.type(r.id) == "integer")
        assert.matches("^REL%-%d%d%d%d%-%d%d%d%d%d%d$", r.number)
        assert.are.equal("open", r.status)
        assert.are.equal("registration", r.state)
        assert.are.equal("registration", r.phase)
        assert.are.equal("C-1", r.contract)
        assert.are.equal("2.0", r.version)
        assert.are.equal("2027-01-11T18:00", r.planned_end)
        assert.are.equal("ops", r.executor_group)
        assert.are.equal("ops", r.current_group)
        assert.are.equal(0, r.reopen_count)
        assert.is_string(r.created_at)
        assert.is_string(r.deadline)
        assert.are.same(r, relm.release.get(r.id))
        assert.are.same(r, relm.release.get(r.number))
    end)

    it("numbers releases per year in sequence", function()
        local a = H.release()
        local b = H.release()
        local ya, na = a.number:match("REL%-(%d+)%-(%d+)")
        local yb, nb = b.number:match("REL%-(%d+)%-(%d+)")
        assert.are.equal(ya, yb)
        assert.are.equal(tonumber(na) + 1, tonumber(nb))
        assert.are.equal(os.date("!%Y"), ya)
    end)

    it("starts the sequence again each year", function()
        relm.release.set_clock(1830297600) -- 2028-01-01T00:00:00Z
        local a = H.release()
        local b = H.release()
        relm.release.set_clock(1861920000) -- 2029-01-01T00:00:00Z
        local c = H.release()
        relm.release.set_clock(nil)
        assert.are.equal("REL-2028-000001", a.number)
        assert.are.equal("REL-2028-000002", b.number)
        assert.are.equal("REL-2029-000001", c.number)
        assert.are.equal("2028-01-01T00:00:00Z", a.created_at)
    end)

    it("computes priority from impact x urgency with the reference matrix", function()
        local want = {
            high = { high = 1, medium = 2, low = 3 },
            medium = { high = 2, medium = 3, low = 4 },
            low = { high = 3, medium = 4, low = 5 },
        }
        for impact, row in pairs(want) do
            for urgency, p in pairs(row) do
                local r = H.release { impact = impact, urgency = urgency }
                assert.are.equal(p, r.priority, impact .. " x " .. urgency)
            end
        end
        assert.are.equal(3, H.release().priority) -- medium x medium by default
    end)

    it("takes the requester's contact unless one is given", function()
        local r = relm.user.as("bob", H.release)
        assert.are.equal("bob", r.requester)
        assert.are.equal("Bob Builder", r.contact_name)
        assert.are.equal("bob@example.org", r.contact_email)
        assert.are.equal("IT", r.contact_unit)
        local r2 = H.release { requester = "bob", contact = { name = "Help desk", phone = "123", location = "HQ" } }
        assert.are.equal("Help desk", r2.contact_name)
        assert.are.equal("123", r2.contact_phone)
        assert.are.equal("HQ", r2.contact_location)
    end)

    it("sets the time limit from the priority's SLA, or sla_hours", function()
        relm.release.set_clock(1800000000)
        local r = H.release { impact = "high", urgency = "high" }
        assert.are.equal(4 * 3600, r.sla_seconds)
        assert.are.equal("2027-01-15T12:00:00Z", r.deadline)
        assert.are.equal(4 * 3600, r.time_left)
        local r2 = H.release { sla_hours = 1 }
        assert.are.equal(3600, r2.sla_seconds)
        relm.release.set_clock(nil)
    end)

    it("refuses a missing title and writes nothing", function()
        H.refused("invalid_field", "title", function() relm.release.register { workflow = H.WF } end)
        H.refused("invalid_field", "title", function() H.release { title = "" } end)
    end)

    it("refuses bad field values and writes nothing", function()
        H.refused("invalid_field", "impact", function() H.release { impact = "huge" } end)
        H.refused("invalid_field", "no group named 'nobody'", function() H.release { executor_group = "nobody" } end)
        H.refused("invalid_field", "planned_start", function() H.release { planned_start = "next week" } end)
        H.refused("invalid_field", "planned_start", function() H.release { planned_start = "2027-02-30" } end)
        H.refused("invalid_field", "before planned_start", function()
            H.release { planned_start = "2027-03-02", planned_end = "2027-03-01" }
        end)
        H.refused("invalid_field", "unknown field 'colour'", function() H.release { colour = "red" } end)
        H.refused("invalid_field", "computed", function() H.release { priority = 1 } end)
        H.refused("invalid_field", "kept by the engine", function() H.release { reopen_count = 3 } end)
        H.refused("invalid_field", "kept by the engine", function() H.release { state = "closed" } end)
        H.refused("invalid_field", "portfolio= and model=", function() H.release { model_id = 1 } end)
        H.refused("invalid_field", "portfolio= and model=", function() H.release { portfolio_id = 99 } end)
        H.refused("invalid_field", "no active user named 'nobody'", function() H.release { requester = "nobody" } end)
        H.refused("invalid_field", "notify: must be a boolean", function() H.release { notify = "yes" } end)
        H.refused("invalid_field", "sla_hours must be a positive number", function() H.release { sla_hours = 0 } end)
    end)

    it("refuses an unknown workflow", function()
        local before = H.counts()
        local ok = pcall(H.release, { workflow = "no-such-workflow" })
        assert.is_false(ok)
        assert.are.same(before, H.counts())
    end)

    it("requires the create permission", function()
        H.refused("permission_denied", "carol", function() relm.user.as("carol", H.release) end)
    end)
end)

describe("relm.release.get", function()
    setup(H.setup)

    it("raises not_found for an unknown id or number", function()
        local ok, err = pcall(relm.release.get, 999999)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        ok, err = pcall(relm.release.get, "REL-1999-000001")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        ok, err = pcall(relm.release.get, {})
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"))
    end)
end)
