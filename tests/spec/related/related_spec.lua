-- related_spec.lua: relm.release.relate / unrelate / related / for_ci, the
-- change/problem/incident records, and the refusals that write nothing.
local H = dofile("tests/spec/related/helper.lua")

describe("records (relm.change, relm.problem, relm.incident)", function()
    setup(function() H.setup(); H.cmdb() end)

    it("numbers records per kind and keeps their CIs", function()
        local c = relm.change.add { title = "Upgrade the shop", cis = { "web-01", "srv-01" } }
        assert.matches("^CHG%-%d%d%d%d%d%d$", c.number)
        assert.are.same({ "srv-01", "web-01" }, c.cis)
        assert.are.equal("open", c.status)
        local p = relm.problem.add { title = "Shop slow", number = "PRB-77" }
        assert.are.equal("PRB-77", p.number)
        local i = relm.incident.add { title = "Shop down" }
        assert.matches("^INC%-", i.number)
        local u = relm.change.update(c.number, { status = "approved", cis = { "web-01" } })
        assert.are.equal("approved", u.status)
        assert.are.same({ "web-01" }, u.cis)
        assert.are.equal("approved", relm.change.get(c.number).status)
        assert.is_true(#relm.change.list { status = "approved" } >= 1)
    end)

    it("other kinds go through relm.related.add", function()
        local kb = relm.related.add { kind = "knowledge", title = "How to restart the shop", url = "https://kb/1" }
        assert.matches("^KB%-", kb.number)
        assert.are.equal("https://kb/1", relm.related.get("knowledge", kb.number).url)
    end)

    it("refuses a record without title, an unknown CI, a CI twice, a number twice; nothing written", function()
        H.refused("invalid_field", "title is required", function() relm.change.add { cis = { "web-01" } } end)
        H.refused("not_found", "no CI named 'nope'", function() relm.change.add { title = "x", cis = { "nope" } } end)
        H.refused("duplicate", "listed twice", function()
            relm.change.add { title = "x", cis = { "web-01", "web-01" } }
        end)
        relm.problem.add { title = "first", number = "PRB-1" }
        H.refused("duplicate", "a problem numbered 'PRB%-1' already exists", function()
            relm.problem.add { title = "again", number = "PRB-1" }
        end)
        H.refused("invalid_field", "unknown field 'colour'", function() relm.change.add { title = "x", colour = 1 } end)
        H.refused("invalid_argument", "kind must be one of", function()
            relm.related.add { kind = "rfc", title = "x" }
        end)
    end)

    it("refuses an update to an empty title, a taken number, an unknown CI or record; nothing written", function()
        local p = relm.problem.add { title = "to change", number = "PRB-2" }
        H.refused("invalid_field", "title must not be empty", function()
            relm.problem.update(p.number, { title = "" })
        end)
        H.refused("duplicate", "a problem numbered 'PRB%-1' already exists", function()
            relm.problem.update(p.number, { number = "PRB-1", title = "renamed" })
        end)
        H.refused("not_found", "no CI named 'nope'", function()
            relm.problem.update(p.number, { title = "renamed", cis = { "web-01", "nope" } })
        end)
        H.refused("not_found", "no problem numbered 'PRB%-404'", function()
            relm.problem.update("PRB-404", { title = "x" })
        end)
        assert.are.equal("to change", relm.problem.get(p.number).title)
        assert.are.same({}, relm.problem.get(p.number).cis)
    end)
end)

describe("relm.release.relate", function()
    setup(function() H.setup(); H.cmdb() end)

    it("links CIs and records with a note, and related() lists them", function()
        local r = H.release()
        assert.are.equal(1, relm.release.relate(r.id, "ci", "db-01", { note = "schema change" }))
        local p = relm.problem.add { title = "Billing errors" }
        relm.release.relate(r.number, "problem", p.number, { note = "fixes it" })
        local kb = relm.related.add { kind = "document", title = "Runbook" }
        relm.release.relate(r.id, "document", kb.number)
        relm.media.add { name = "billing.tar.gz", version = "2.0", sha256 = string.rep("ab", 32) }
        relm.release.relate(r.id, "media", "billing.tar.gz@2.0")
        local rel = relm.release.related(r.id)
        local seen = {}
        for _, l in ipairs(rel) do
            seen[l.kind .. ":" .. l.target] = l
        end
        assert.are.equal("schema change", seen["ci:db-01"].note)
        assert.are.equal("fixes it", seen["problem:" .. p.number].note)
        assert.is_not_nil(seen["document:" .. kb.number])
        assert.is_not_nil(seen["media:billing.tar.gz@2.0"])
        assert.are.equal("ci", rel[1].kind)
        -- Each link is an occurrence on the release.
        local h = relm.release.history(r.id)
        assert.are.equal("relate", h[#h].action)
        assert.matches("media billing", h[#h].note)
    end)

    it("linking a change adds the change's CIs; unlinking takes them away", function()
        local c = relm.change.add { title = "Move the shop", cis = { "web-01", "srv-01" } }
        local r = H.release()
        relm.release.relate(r.id, "ci", "srv-01")
        assert.are.equal(1, relm.release.relate(r.id, "change", c.number))
        local by = {}
        for _, l in ipairs(relm.release.related(r.id)) do
            by[l.target] = l
        end
        assert.are.equal(c.number, by["web-01"].via)
        assert.is_nil(by["srv-01"].via) -- it was there before: stays direct
        relm.release.unrelate(r.id, "change", c.number)
        by = {}
        for _, l in ipairs(relm.release.related(r.id)) do
            by[l.target] = l
        end
        assert.is_nil(by["web-01"])
        assert.is_nil(by[c.number])
        assert.is_not_nil(by["srv-01"])
    end)

    it("a CI two related changes list stays when one of them goes", function()
        local a = relm.change.add { title = "A", cis = { "db-01", "billing" } }
        local b = relm.change.add { title = "B", cis = { "db-01" } }
        local r = H.release()
        relm.release.relate(r.id, "change", a.number)
        relm.release.relate(r.id, "change", b.number)
        relm.release.unrelate(r.id, "change", a.number)
        local rows = relm.sql([[SELECT r.number AS via FROM release_cis rc JOIN records r ON r.id = rc.via_record_id
            WHERE rc.release_id = ?]], r.id)
        assert.are.same({ { via = b.number } }, rows)
        -- The log names only the CI that went with the change.
        local h = relm.release.history(r.id)
        assert.are.equal("unrelate", h[#h].action)
        assert.are.same({ "billing" }, h[#h].after.cis)
    end)

    it("register{change=} registers the release against an RFC in one transaction", function()
        local c = relm.change.add { title = "RFC for the shop", cis = { "web-01" } }
        local r = H.release { change = c.number }
        assert.are.equal(2, #relm.release.related(r.id))
        local before = H.counts()
        local ok, err = pcall(H.release, { change = "CHG-999999" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"), tostring(err))
        assert.are.same(before, H.counts()) -- the release itself is not there either
    end)

    it("a CI shows its releases", function()
        local r = H.release { title = "Touches billing" }
        relm.release.relate(r.id, "ci", "billing")
        local list = relm.release.for_ci("billing")
        assert.are.equal(r.number, list[1].number)
        assert.are.same(list, relm.related.releases("billing"))
        H.refused("not_found", "no CI named 'ghost'", function() relm.release.for_ci("ghost") end)
    end)

    it("refuses an unknown object, the same one twice, an unknown kind; nothing written", function()
        local r = H.release()
        relm.release.relate(r.id, "ci", "db-01")
        H.refused("not_found", "no CI named 'nope'", function() relm.release.relate(r.id, "ci", "nope") end)
        H.refused("not_found", "no CI named 'db_01' %(did you mean 'db%-01'%?%)",
            function() relm.release.relate(r.id, "ci", "db_01") end)
        H.refused("not_found", "did you mean 'srv%-01'", function() relm.release.unrelate(r.id, "ci", "SRV_01") end)
        H.refused("not_found", "did you mean 'db%-01'", function() relm.release.for_ci("db_01") end)
        H.refused("not_found", "no incident numbered 'INC%-404'", function()
            relm.release.relate(r.id, "incident", "INC-404")
        end)
        H.refused("not_found", "no medium named", function() relm.release.relate(r.id, "media", "nothing.iso") end)
        H.refused("duplicate", "already linked to CI 'db%-01'", function() relm.release.relate(r.id, "ci", "db-01") end)
        local p = relm.problem.add { title = "twice" }
        relm.release.relate(r.id, "problem", p.number)
        H.refused("duplicate", "already linked to problem", function()
            relm.release.relate(r.id, "problem", p.number)
        end)
        local c = relm.change.add { title = "brings web", cis = { "web-01" } }
        relm.release.relate(r.id, "change", c.number)
        H.refused("duplicate", "through change " .. c.number:gsub("%-", "%%-"), function()
            relm.release.relate(r.id, "ci", "web-01")
        end)
        H.refused("invalid_argument", "kind%) must be one of", function() relm.release.relate(r.id, "rfc", "x") end)
        H.refused("invalid_argument", "unknown option 'colour'", function()
            relm.release.relate(r.id, "ci", "srv-01", { colour = "red" })
        end)
        H.refused("not_found", "no release numbered 'REL%-0'", function()
            relm.release.relate("REL-0", "ci", "db-01")
        end)
        H.refused("not_found", "not linked to CI 'srv%-01'", function() relm.release.unrelate(r.id, "ci", "srv-01") end)
    end)

    it("errors name the caller's line, not relm's own files", function()
        local r = H.release()
        local cases = {
            function() relm.release.relate(r.id, "ci", "nope") end,             -- raised by the core
            function() relm.release.relate(r.id, "rfc", "x") end,               -- raised by a check
            function() relm.change.add { title = "x", cis = { "nope" } } end,  -- through relm.change
            function() relm.release.impact(r.id, { depth = -1 }) end,
        }
        for _, fn in ipairs(cases) do
            local ok, err = pcall(fn)
            assert.is_false(ok)
            assert.matches("related_spec%.lua:%d+: $", err.where)
        end
    end)

    it("refuses a user without permission and a closed release; nothing written", function()
        local r = H.release()
        H.refused("permission_denied", nil, function()
            H.as("carol", function() relm.release.relate(r.id, "ci", "db-01") end)
        end)
        H.as("bob", function() relm.release.relate(r.id, "ci", "db-01") end)
        H.resolve(r)
        relm.release.act(r.id, "close", { fields = H.closing })
        H.refused("not_allowed", "is closed", function() relm.release.relate(r.id, "ci", "srv-01") end)
        H.refused("not_allowed", "is closed", function() relm.release.unrelate(r.id, "ci", "db-01") end)
        local c = H.release()
        relm.release.relate(c.id, "ci", "db-01")
        H.refused("permission_denied", nil, function()
            H.as("carol", function() relm.release.unrelate(c.id, "ci", "db-01") end)
        end)
        relm.release.act(c.id, "cancel", { justification = relm.justification.add {
            description = "Not needed", cancel = true } })
        H.refused("not_allowed", "is cancelled", function() relm.release.relate(c.id, "ci", "srv-01") end)
    end)

    it("asks which version of a medium that has several; nothing written", function()
        relm.media.add { name = "crm.tar.gz", version = "4.1", sha256 = string.rep("cd", 32) }
        relm.media.add { name = "crm.tar.gz", version = "4.2", sha256 = string.rep("ef", 32) }
        local r = H.release()
        H.refused("invalid_argument", "has 2 versions; say which as name@version", function()
            relm.release.relate(r.id, "media", "crm.tar.gz")
        end)
        relm.release.relate(r.id, "media", "crm.tar.gz@4.2")
        assert.are.equal("crm.tar.gz@4.2", relm.release.related(r.id)[1].target)
    end)
end)
