-- ci_spec.lua: adding, reading, changing, finding and removing CIs.
local cmdb = relm.cmdb

local S = dofile("tests/fixtures/spec_helper.lua")
local count, fails = S.count, S.fails

-- Assert fn fails with code and leaves cis and ci_history as they were.
local function refused(code, fn, ...)
    local cis, hist = count("cis"), count("ci_history")
    local msg = fails(code, fn, ...)
    assert.are.equal(cis, count("cis"))
    assert.are.equal(hist, count("ci_history"))
    return msg
end

setup(function()
    cmdb.define_type{ name = "server", attributes = {
        cpu = "integer", ram = { kind = "number", required = true }, virtual = "boolean",
        bought = "date", os = { kind = "enum", values = { "linux", "bsd" }, default = "linux" },
    } }
    cmdb.define_type{ name = "app", attributes = { lang = "string" } }
end)

describe("relm.cmdb.add and get", function()
    it("adds a CI with flat attributes and reads it back", function()
        local r = cmdb.add{ type = "server", name = "s1", cpu = 8, ram = 16.5, virtual = false,
                            bought = "2024-02-29", status = "in maintenance", criticality = "high",
                            version = "2.1", serial = "SN1", location = "dc1", owner_group = "administrators" }
        assert.are.equal("s1", r.name)
        assert.are.equal("server", r.type)
        assert.are.equal("in_maintenance", r.status)
        assert.are.equal(8, r.cpu)
        assert.are.equal("integer", math.type(r.cpu))
        assert.are.equal(16.5, r.ram)
        assert.is_false(r.virtual)
        assert.are.equal("linux", r.os) -- the default
        assert.are.equal("administrators", r.owner_group)
        assert.are.same({ cpu = 8, ram = 16.5, virtual = false, bought = "2024-02-29", os = "linux" }, r.attributes)
        assert.are.same(r, cmdb.get("s1"))
    end)

    it("takes attributes under attributes = {...} too", function()
        local r = cmdb.add{ type = "server", name = "s2", attributes = { cpu = 2, ram = 1 } }
        assert.are.equal(2, r.cpu)
        assert.are.equal("active", r.status)
        refused("invalid_argument", cmdb.add, { type = "server", name = "s3", cpu = 1, attributes = { cpu = 2 } })
    end)

    it("accepts full ISO 8601 timestamps for dates", function()
        cmdb.add{ type = "server", name = "s4", ram = 1, bought = "2024-01-02T03:04:05Z" }
        cmdb.update("s4", { bought = "2024-01-02T03:04:05.123+02:00" })
        assert.are.equal("2024-01-02T03:04:05.123+02:00", cmdb.get("s4").bought)
    end)

    it("refuses an unknown type", function()
        assert.matches("router", refused("unknown_type", cmdb.add, { type = "router", name = "r1" }))
    end)

    it("refuses an unknown attribute, naming it", function()
        assert.matches("gpu", refused("unknown_attribute", cmdb.add, { type = "server", name = "x", ram = 1, gpu = 2 }))
    end)

    it("refuses an attribute of the wrong kind, naming it", function()
        local cases = {
            { cpu = "eight" }, { cpu = 1.5 }, { ram = "much" }, { virtual = "yes" },
            { bought = "2024-02-30" }, { bought = "yesterday" }, { os = "windows" },
            -- the engine's one ISO-8601 parser checks the offset and the year too
            { bought = "2024-01-02T03:04:05+99:00" }, { bought = "0202-01-02" },
        }
        for _, extra in ipairs(cases) do
            local f = { type = "server", name = "x", ram = 1 }
            local attr = next(extra)
            f[attr] = extra[attr]
            assert.matches("'" .. attr .. "'", refused("invalid_attribute", cmdb.add, f))
        end
    end)

    it("refuses a missing required attribute", function()
        assert.matches("ram", refused("missing_attribute", cmdb.add, { type = "server", name = "x" }))
    end)

    it("refuses a duplicate name", function()
        assert.matches("s1", refused("duplicate", cmdb.add, { type = "server", name = "s1", ram = 1 }))
    end)

    it("refuses bad standard fields", function()
        for field, bad in pairs({ status = "broken", criticality = "huge", owner_group = "nobody",
                                  media = "nothing" }) do
            local f = { type = "server", name = "x", ram = 1 }
            f[field] = bad
            assert.matches(field, refused("invalid_field", cmdb.add, f))
        end
        refused("invalid_field", cmdb.add, { type = "server", ram = 1 })
        refused("invalid_field", cmdb.add, { type = "server", name = "", ram = 1 })
        refused("invalid_field", cmdb.add, { type = "server", name = "x", ram = 1, location = {} })
        assert.matches("'name' must be a non%-empty string", refused("invalid_field", cmdb.add,
            { type = "server", name = 5, ram = 1 }))
    end)

    it("raises not_found for a CI that does not exist", function()
        fails("not_found", cmdb.get, "nope")
    end)

    it("names the CI meant when a name is misspelt (case, _ for -, a prefix)", function()
        cmdb.add { type = "app", name = "crm-db" }
        cmdb.add { type = "app", name = "crm-app" }
        assert.matches("no CI named 'crm_db' (did you mean 'crm-db'?)", fails("not_found", cmdb.get, "crm_db"), 1, true)
        assert.matches("(did you mean 'crm-app'?)", fails("not_found", cmdb.history, "CRM-APP"), 1, true)
        assert.matches("(did you mean 'crm-app' or 'crm-db'?)", fails("not_found", cmdb.get, "crm"), 1, true)
        -- The functions relm.cmdb gathers from C modules too, their doc kept.
        local msg = fails("not_found", cmdb.impact, "crm_db")
        assert.matches("(did you mean 'crm-db'?)", msg, 1, true)
        assert.matches("^relm%.cmdb%.impact%(name", table.concat(require("relm.help").lines(relm.cmdb.impact), "\n"))
        -- Nothing near: no hint.
        assert.is_nil(fails("not_found", cmdb.get, "zzz"):find("did you mean", 1, true))
    end)
end)

describe("relm.cmdb.update", function()
    it("changes fields and attributes and clears with relm.cmdb.null", function()
        local r = cmdb.update("s2", { cpu = 4, location = "dc2", virtual = true })
        assert.are.equal(4, r.cpu)
        assert.are.equal("dc2", r.location)
        r = cmdb.update("s2", { location = cmdb.null, virtual = cmdb.null })
        assert.is_nil(r.location)
        assert.is_nil(r.virtual)
    end)

    it("validates like add and writes nothing on error", function()
        refused("invalid_attribute", cmdb.update, "s2", { cpu = "many" })
        refused("unknown_attribute", cmdb.update, "s2", { gpu = 1 })
        refused("missing_attribute", cmdb.update, "s2", { ram = cmdb.null })
        refused("not_found", cmdb.update, "nope", { cpu = 1 })
        refused("duplicate", cmdb.update, "s2", { name = "s1" })
        refused("invalid_field", cmdb.update, "s2", { name = 7 })
        refused("invalid_field", cmdb.update, "s2", { name = cmdb.null })
        assert.are.equal("s2", cmdb.get("s2").name)
        assert.are.equal(4, cmdb.get("s2").cpu)
    end)

    it("renames a CI", function()
        cmdb.add{ type = "app", name = "old-name" }
        assert.are.equal("new-name", cmdb.update("old-name", { name = "new-name" }).name)
        fails("not_found", cmdb.get, "old-name")
    end)

    it("changes the type when the attributes fit the new one", function()
        cmdb.add{ type = "app", name = "a-x", lang = "lua" }
        refused("unknown_attribute", cmdb.update, "a-x", { type = "server", ram = 1 })
        local r = cmdb.update("a-x", { type = "server", ram = 1, lang = cmdb.null })
        assert.are.equal("server", r.type)
        assert.is_nil(r.lang)
    end)
end)

describe("relm.cmdb.find", function()
    it("filters by type, status and attributes, with order and limit", function()
        local names = function(rs)
            local t = {}
            for i, r in ipairs(rs) do t[i] = r.name end
            return t
        end
        assert.are.same({ "a-x", "s1", "s2", "s4" }, names(cmdb.find{ type = "server" }))
        assert.are.same({ "s1" }, names(cmdb.find{ status = "in_maintenance" }))
        assert.are.same({ "s1" }, names(cmdb.find{ attrs = { cpu = 8 } }))
        assert.are.same({ "s1" }, names(cmdb.find{ type = "server", attrs = { os = "linux", cpu = 8 } }))
        assert.are.same({ "s1", "s2" }, names(cmdb.find{ order = "cpu desc", limit = 2 }))
        assert.are.same({}, cmdb.find{ type = "server", attrs = { cpu = 99 } })
        fails("invalid_argument", cmdb.find, { order = "cpu; drop table cis" })
        fails("invalid_argument", cmdb.find, { limit = "ten" })
        assert.matches("unknown condition 'typ'", fails("invalid_argument", cmdb.find, { typ = "server" }))
    end)

    it("refuses an option it does not know instead of ignoring it", function()
        assert.matches("unknown option 'as_of' %(at%)", fails("invalid_argument", cmdb.get, "s1", { as_of = 0 }))
        assert.matches("unknown option 'forse'", refused("invalid_argument", cmdb.remove, "s1", { forse = true }))
        refused("invalid_argument", cmdb.update, "s1", { cpu = 1 }, { origin_releas = 1 })
        assert.are_not.equal(1, cmdb.get("s1").cpu)
        fails("invalid_argument", cmdb.find, { attrs = { ['a"b'] = 1 } })
    end)
end)

describe("relm.cmdb.remove", function()
    it("refuses while a relationship points at the CI, unless forced", function()
        cmdb.add{ type = "app", name = "web" }
        cmdb.relate("web", "runs_on", "s1")
        local rels = count("relationships")
        assert.matches("in use", fails("in_use", cmdb.remove, "s1"))
        assert.are.equal(rels, count("relationships"))
        assert.are.equal("s1", cmdb.get("s1").name)
        cmdb.remove("s1", { force = true })
        fails("not_found", cmdb.get, "s1")
        assert.are.equal(0, count("relationships"))
    end)

    it("refuses while a release links the CI, unless forced; the dropped link is in its history", function()
        relm.release.workflow("tests/fixtures/workflows/shimflow.lua")
        cmdb.add{ type = "server", name = "rel-host", ram = 1 }
        local r = relm.release.register{ workflow = "shimflow", title = "Patch rel-host",
                                         executor_group = "administrators" }
        relm.release.relate(r.id, "ci", "rel-host")
        local links = count("release_cis")
        local msg = refused("in_use", cmdb.remove, "rel-host")
        assert.matches("1 release link", msg)
        assert.are.equal(links, count("release_cis"))
        cmdb.remove("rel-host", { force = true })
        fails("not_found", cmdb.get, "rel-host")
        assert.are.equal(links - 1, count("release_cis"))
        local h = cmdb.history("rel-host")
        assert.are.same({ "create", "unrelate", "remove" }, { h[1].action, h[2].action, h[3].action })
        assert.are.same({ r.number }, h[2].diff.release)
    end)

    it("refuses while a change record names the CI, unless forced", function()
        cmdb.add{ type = "server", name = "chg-host", ram = 1 }
        local chg = relm.change.add{ title = "Swap a disk", cis = { "chg-host" } }
        local links = count("record_cis")
        assert.matches("1 change/problem/incident link", refused("in_use", cmdb.remove, "chg-host"))
        assert.are.equal(links, count("record_cis"))
        cmdb.remove("chg-host", { force = true })
        fails("not_found", cmdb.get, "chg-host")
        assert.are.equal(links - 1, count("record_cis"))
        local h = cmdb.history("chg-host")
        assert.are.same({ chg.number }, h[2].diff.change)
        assert.are.equal("-change " .. chg.number, h[2].changes)
        assert.are.equal("open", relm.change.get(chg.number).status)
    end)

    it("removes a CI nothing points at", function()
        cmdb.remove("web")
        fails("not_found", cmdb.get, "web")
        fails("not_found", cmdb.remove, "web")
    end)
end)
