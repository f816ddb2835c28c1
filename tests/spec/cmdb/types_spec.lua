-- types_spec.lua: CI types and their attribute schema.
local cmdb = relm.cmdb

local S = dofile("tests/fixtures/spec_helper.lua")
local count, fails = S.count, S.fails

describe("relm.cmdb.define_type", function()
    it("creates a type with every kind of attribute", function()
        local t = cmdb.define_type{ name = "server", attributes = {
            cpu = "integer", ram = "number", virtual = "boolean", bought = "date", os = "string",
            tier = { kind = "enum", values = { "gold", "silver" }, default = "silver" },
            rack = { kind = "string", required = true },
        } }
        assert.are.equal("server", t.name)
        assert.are.equal(7, #t.attributes)
        local by = {}
        for _, a in ipairs(t.attributes) do by[a.name] = a end
        assert.are.equal("integer", by.cpu.kind)
        assert.are.equal("enum", by.tier.kind)
        assert.are.same({ "gold", "silver" }, by.tier.values)
        assert.are.equal("silver", by.tier.default)
        assert.is_true(by.rack.required)
    end)

    it("is idempotent", function()
        local before = count("ci_type_attrs")
        cmdb.define_type{ name = "server", attributes = { cpu = "integer" } }
        cmdb.define_type{ name = "server", attributes = { cpu = "integer" } }
        assert.are.equal(before, count("ci_type_attrs"))
        assert.are.equal(1, #relm.sql("SELECT 1 FROM ci_types WHERE name = 'server'"))
    end)

    it("extends a type with a new attribute, without a migration", function()
        cmdb.define_type{ name = "server", attributes = { gpu = "integer" } }
        local names = {}
        for _, a in ipairs(cmdb.type("server").attributes) do names[a.name] = a.kind end
        assert.are.equal("integer", names.gpu)
        assert.are.equal("integer", names.cpu)
        cmdb.add{ type = "server", name = "gpu1", gpu = 4, rack = "r1" }
        assert.are.equal(4, cmdb.get("gpu1").gpu)
    end)

    it("refuses to change the kind of an existing attribute, and writes nothing", function()
        local before = count("ci_type_attrs")
        local msg = fails("conflict", cmdb.define_type,
            { name = "server", attributes = { cpu = "string", extra = "integer" } })
        assert.matches("cpu", msg)
        assert.matches("integer", msg)
        assert.are.equal(before, count("ci_type_attrs"))
    end)

    it("refuses bad definitions naming the attribute", function()
        local before = count("ci_types")
        assert.matches("speed", fails("invalid_argument", cmdb.define_type,
            { name = "bad", attributes = { speed = "fast" } }))
        assert.matches("values", fails("invalid_argument", cmdb.define_type,
            { name = "bad", attributes = { e = { kind = "enum" } } }))
        assert.matches("status", fails("invalid_argument", cmdb.define_type,
            { name = "bad", attributes = { status = "string" } }))
        assert.matches("default", fails("invalid_argument", cmdb.define_type,
            { name = "bad", attributes = { n = { kind = "integer", default = "x" } } }))
        fails("invalid_argument", cmdb.define_type, { attributes = {} })
        fails("invalid_argument", cmdb.define_type, "server")
        assert.are.equal(before, count("ci_types"))
    end)

    it("takes a type with many attributes at once", function()
        local attrs = {}
        for i = 1, 200 do
            attrs["a" .. i] = { kind = "enum", values = { "x", "y" }, default = "y" }
        end
        cmdb.define_type{ name = "wide", attributes = attrs }
        assert.are.equal(200, #cmdb.type("wide").attributes)
        assert.are.equal("y", cmdb.add{ type = "wide", name = "w1" }.a200)
        cmdb.remove("w1")
    end)

    it("lists types and raises unknown_type for a missing one", function()
        local names = {}
        for _, t in ipairs(cmdb.types()) do names[#names + 1] = t.name end
        assert.are.same({ "server", "wide" }, names)
        fails("unknown_type", cmdb.type, "router")
    end)

    it("needs a default for a new required attribute once the type has CIs", function()
        fails("invalid_argument", cmdb.define_type,
            { name = "server", attributes = { owner = { kind = "string", required = true } } })
        cmdb.define_type{ name = "server",
                          attributes = { owner = { kind = "string", required = true, default = "ops" } } }
        -- the default applies at the next write
        cmdb.update("gpu1", { gpu = 8 })
        assert.are.equal("ops", cmdb.get("gpu1").owner)
    end)
end)

describe("relm.cmdb.define_relation", function()
    it("knows depends_on, runs_on and part_of on a fresh database", function()
        local names = {}
        for _, r in ipairs(cmdb.relation_types()) do names[#names + 1] = r.name end
        assert.are.same({ "depends_on", "part_of", "runs_on" }, names)
    end)

    it("creates a relation type idempotently and updates its impact", function()
        local r = cmdb.define_relation{ name = "backs_up", impact = "reverse" }
        assert.are.equal("reverse", r.impact)
        cmdb.define_relation{ name = "backs_up", impact = "reverse" }
        assert.are.equal(1, #relm.sql("SELECT 1 FROM rel_types WHERE name = 'backs_up'"))
        assert.are.equal("both", cmdb.define_relation{ name = "backs_up", impact = "both" }.impact)
        assert.are.equal("forward", cmdb.define_relation{ name = "feeds" }.impact)
    end)

    it("refuses a bad impact or name", function()
        local before = count("rel_types")
        fails("invalid_argument", cmdb.define_relation, { name = "x", impact = "sideways" })
        fails("invalid_argument", cmdb.define_relation, { name = "has space" })
        assert.are.equal(before, count("rel_types"))
    end)
end)
