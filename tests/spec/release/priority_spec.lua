-- priority_spec.lua: the priority rule: the reference matrix in full, and
-- a process designer's own rule in its place (and what a bad one does).
local H = dofile("tests/fixtures/release_helper.lua")

describe("relm.priority", function()
    setup(H.setup)
    after_each(function() relm.priority.rule = relm.priority.default_rule end)

    it("is the reference matrix by default, with an allowance per priority", function()
        -- (register_spec checks every cell through register)
        assert.are.equal(relm.priority.default_rule, relm.priority.rule)
        assert.are.equal(2, relm.priority.compute("medium", "high"))
        assert.are.same({ [1] = 4, [2] = 8, [3] = 24, [4] = 72, [5] = 120 }, relm.priority.sla_hours)
        assert.are.equal(8 * 3600, relm.priority.sla_seconds(2))
    end)

    it("can be replaced by a rule that sees the release", function()
        local seen
        relm.priority.rule = function(impact, urgency, r)
            seen = r
            if r and r.type == "emergency" then
                return 1
            end
            return relm.priority.default_rule(impact, urgency)
        end
        local r = H.release { type = "emergency", impact = "low", urgency = "low" }
        assert.are.equal(1, r.priority)
        assert.are.equal(relm.priority.sla_hours[1] * 3600, r.sla_seconds)
        assert.are.equal("emergency", seen.type)
        local plain = H.release { impact = "low", urgency = "low" }
        assert.are.equal(5, plain.priority)
        -- recomputed when impact or urgency change, by update or act
        plain = relm.release.update(plain.id, { urgency = "high" })
        assert.are.equal(3, plain.priority)
        assert.are.equal(plain.number, seen.number)
        plain = relm.release.act(plain.id, "authorize", { impact = "high" })
        assert.are.equal(1, plain.priority)
    end)

    it("refuses what a bad rule returns, writing nothing", function()
        local r = H.release()
        for _, bad in ipairs({ 0, 6, 2.5, "1", false }) do
            relm.priority.rule = function() return bad end
            H.refused("invalid_field", "the priority rule returned", function() H.release() end)
            H.refused("invalid_field", "the priority rule returned", function()
                relm.release.update(r.id, { impact = "high" })
            end, r.id)
            H.refused("invalid_field", "the priority rule returned", function()
                relm.release.act(r.id, "authorize", { impact = "high" })
            end, r.id)
        end
        relm.priority.rule = function() error("no idea") end
        local ok, err = pcall(H.release)
        assert.is_false(ok)
        assert.matches("no idea", tostring(err))
    end)

    it("checks impact and urgency before the rule runs", function()
        local called = false
        relm.priority.rule = function() called = true return 3 end
        H.refused("invalid_field", "impact: must be low, medium or high", function() H.release { impact = "huge" } end)
        H.refused("invalid_field", "urgency: must be low, medium or high", function() H.release { urgency = 3 } end)
        assert.is_false(called)
    end)
end)
