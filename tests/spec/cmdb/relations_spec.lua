-- relations_spec.lua: relationships between CIs.
local cmdb = relm.cmdb

local S = dofile("tests/fixtures/spec_helper.lua")
local count = S.count

-- Assert fn fails with code and writes no relationship and no history.
local function refused(code, fn, ...)
    local rels, hist = count("relationships"), count("ci_history")
    local ok, err = pcall(fn, ...)
    assert.is_false(ok, "expected an error " .. code)
    assert.is_true(relm.is_error(err, code), "expected " .. code .. ", got " .. tostring(err))
    assert.are.equal(rels, count("relationships"))
    assert.are.equal(hist, count("ci_history"))
    return tostring(err)
end

setup(function()
    cmdb.define_type{ name = "box" }
    for _, n in ipairs({ "app", "db", "host", "rack" }) do
        cmdb.add{ type = "box", name = n }
    end
end)

describe("relm.cmdb.relate", function()
    it("relates CIs and lists relations both ways", function()
        cmdb.relate("app", "depends_on", "db")
        cmdb.relate("app", "runs_on", "host")
        cmdb.relate("db", "runs_on", "host")
        cmdb.relate("host", "part_of", "rack")
        assert.are.same({
            { from = "host", kind = "part_of", to = "rack", direction = "out" },
            { from = "app", kind = "runs_on", to = "host", direction = "in" },
            { from = "db", kind = "runs_on", to = "host", direction = "in" },
        }, cmdb.relations("host"))
        assert.are.equal(2, #cmdb.relations("app"))
    end)

    it("allows cycles", function()
        cmdb.relate("rack", "depends_on", "app")
        assert.are.equal(5, count("relationships"))
    end)

    it("refuses a duplicate", function()
        assert.matches("already exists", refused("duplicate", cmdb.relate, "app", "depends_on", "db"))
    end)

    it("refuses a self-loop", function()
        assert.matches("itself", refused("invalid_argument", cmdb.relate, "app", "depends_on", "app"))
    end)

    it("refuses an unknown kind", function()
        assert.matches("flies_to", refused("unknown_relation", cmdb.relate, "app", "flies_to", "db"))
    end)

    it("refuses a CI that does not exist, on either side", function()
        assert.matches("ghost", refused("not_found", cmdb.relate, "app", "depends_on", "ghost"))
        assert.matches("ghost", refused("not_found", cmdb.relate, "ghost", "depends_on", "app"))
    end)

    it("reports the error at the caller's line", function()
        local ok, err = pcall(function() cmdb.relate("app", "depends_on", "ghost") end)
        assert.is_false(ok)
        assert.matches("relations_spec%.lua:%d+:", err.where)
    end)

    it("checks its arguments", function()
        refused("invalid_argument", cmdb.relate, "app", "depends_on")
        refused("invalid_argument", cmdb.relate, 1, "depends_on", "db")
    end)
end)

describe("relm.cmdb.unrelate", function()
    it("removes a relationship and records it on both ends", function()
        cmdb.unrelate("rack", "depends_on", "app")
        assert.are.equal(4, count("relationships"))
        local h = cmdb.history("app")
        assert.are.equal("unrelate", h[#h].action)
    end)

    it("raises not_found when there is no such relationship", function()
        refused("not_found", cmdb.unrelate, "rack", "depends_on", "app")
    end)

    it("relations() raises not_found for an unknown CI", function()
        local ok, err = pcall(cmdb.relations, "ghost")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
    end)
end)
