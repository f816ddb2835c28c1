-- portfolio_spec.lua: shipped portfolio templates, models and their use
-- when registering releases; template errors.
local H = dofile("tests/fixtures/release_helper.lua")

local function find(list, name)
    for _, x in ipairs(list) do
        if x.name == name then
            return x
        end
    end
end

local function write(name, text)
    local path = os.getenv("RELM_TEST_TMP") and (os.getenv("RELM_TEST_TMP") .. "/" .. name) or ("/tmp/" .. name)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
    return path
end

describe("relm.portfolio", function()
    setup(H.setup)

    it("lists the shipped portfolios with their models", function()
        local ps = relm.portfolio.list()
        local infra = find(ps, "infrastructure")
        local apps = find(ps, "applications")
        assert.is_table(infra)
        assert.is_table(apps)
        assert.is_true(#infra.models >= 3)
        assert.is_true(#apps.models >= 3)
        local m = find(infra.models, "server-patching")
        assert.are.equal("minor", m.workflow)
        assert.are.equal("infra-ops", m.executor_group)
        assert.are.equal("active", m.status)
        assert.are.equal("Apply the patches", m.prefill.deployment[2].title)
        assert.are.same({ title = "Apply the patches", group = "infra-ops", estimate_hours = 2, order = 2 },
            m.prefill.deployment[2])
        assert.are.equal(math.type(2), math.type(m.prefill.deployment[2].order))
        assert.are.same({ "Check the vendor advisories before the window." }, m.prefill.notes)
        assert.matches("{number}", m.templates.creation)
        assert.are.equal("new", find(infra.models, "storage-expansion").status)
        assert.are.equal("retired", find(apps.models, "legacy-migration").status)
    end)

    it("lists every model as one row each, in portfolio and name order", function()
        local rows = relm.portfolio.models()
        local n = 0
        for _, p in ipairs(relm.portfolio.list()) do
            n = n + #p.models
        end
        assert.are.equal(n, #rows)
        assert.are.equal("applications", rows[1].portfolio)
        for i = 2, #rows do
            local a, b = rows[i - 1], rows[i]
            assert.is_true(a.portfolio < b.portfolio or (a.portfolio == b.portfolio and a.name < b.name))
        end
        local mt = getmetatable(rows)
        assert.are.equal("relm.rows", mt.__name)
        assert.are.equal("portfolio", mt.columns[1])
    end)

    it("gives a release the model's defaults", function()
        local path = write("fixture-portfolio.lua", [[
portfolio "fixture" { description = "for specs" }
model "quick" { workflow = "shimflow", executor_group = "ops", impact = "high", urgency = "low",
    risk = "low", category = "cat", type = "minor", sla_hours = 2 }
]])
        assert.are.equal("fixture", relm.portfolio.load(path))
        local r = relm.release.register { portfolio = "fixture", model = "quick", title = "From a model" }
        assert.are.equal("fixture", r.portfolio)
        assert.are.equal("quick", r.model)
        assert.are.equal("shimflow", r.workflow)
        assert.are.equal("ops", r.executor_group)
        assert.are.equal("minor", r.type)
        assert.are.equal("cat", r.category)
        assert.are.equal(3, r.priority)
        assert.are.equal(7200, r.sla_seconds)
        local r2 = relm.release.register { portfolio = "fixture", model = "quick", title = "Override", impact = "low" }
        assert.are.equal(5, r2.priority)
    end)

    it("refuses models that are not active, and unknown ones, writing nothing", function()
        H.refused("not_allowed", "only active models", function()
            relm.release.register { portfolio = "applications", model = "legacy-migration", title = "x" }
        end)
        H.refused("not_allowed", "is new", function()
            relm.release.register { portfolio = "infrastructure", model = "storage-expansion", title = "x" }
        end)
        H.refused("not_found", "no model", function()
            relm.release.register { portfolio = "applications", model = "nope", title = "x" }
        end)
        H.refused("not_found", "no portfolio", function()
            relm.release.register { portfolio = "nope", model = "nope", title = "x" }
        end)
    end)

    it("changes a model's status (administrators only)", function()
        relm.portfolio.set_status("infrastructure", "storage-expansion", "active")
        assert.are.equal("active", relm.portfolio.model("infrastructure", "storage-expansion").status)
        local ok, err = pcall(relm.user.as, "bob", relm.portfolio.set_status,
            "infrastructure", "storage-expansion", "retired")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "permission_denied"))
        ok, err = pcall(relm.portfolio.set_status, "infrastructure", "storage-expansion", "gone")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"))
    end)

    it("reports template errors with the file name and writes nothing", function()
        local n = relm.sql("SELECT count(*) AS n FROM models")[1].n
        local cases = {
            { "p1.lua", 'portfolio "p1" {}\nmodel "m" { impact = "huge" }', "impact" },
            { "p2.lua", 'portfolio "p2" {}\nmodel "m" { colour = "red" }',
                "unknown field 'colour' (known: calendar," },
            { "p8.lua", 'portfolio "p8" {}\nmodel "m" { planning = { { titel = "a" } } }',
                "activity #1: unknown field 'titel' (known: assignee, description, estimate_hours, group, order, "
                .. "title)" },
            { "p3.lua", 'model "m" {}', "before the portfolio" },
            { "p4.lua", 'portfolio "p4" {}\nos.exit(1)', "unknown name 'os'" },
            { "p5.lua", 'portfolio "p5" {', "p5.lua" },
            { "p6.lua", 'portfolio "p6" {}\nmodel "m" {}\nmodel "m" {}', "defined twice" },
        }
        for _, c in ipairs(cases) do
            local ok, err = pcall(relm.portfolio.load, write(c[1], c[2]))
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
            assert.matches(c[3], err.message, 1, true)
            assert.matches(c[1], err.message, 1, true)
        end
        assert.are.equal(n, relm.sql("SELECT count(*) AS n FROM models")[1].n)
        local ok, err = pcall(relm.user.as, "bob", relm.portfolio.load, write("p7.lua", 'portfolio "p7" {}'))
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "permission_denied"))
    end)
end)

describe("portfolio templates in the sandbox", function()
    setup(H.setup)

    it("stop a template that loops, and load nothing", function()
        local n = relm.sql("SELECT count(*) AS n FROM portfolios")[1].n
        local path = write("loop.lua", 'portfolio "loop" {}\nwhile true do end')
        local ok, err = pcall(relm.portfolio.load, path)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_field"), tostring(err))
        assert.matches("time limit", err.message)
        assert.are.equal(n, relm.sql("SELECT count(*) AS n FROM portfolios")[1].n)
    end)
end)

describe("the shipped templates on a fresh database", function()
    -- Each case runs relm in its own process on its own new database.
    local n = 0
    local function fresh()
        n = n + 1
        local path = ("%s/fresh-%d.db"):format(os.getenv("RELM_TEST_TMP") or "/tmp", n)
        for _, suffix in ipairs({ "", "-wal", "-shm" }) do
            os.remove(path .. suffix)
        end
        return path
    end
    local run = H.run

    it("are in the database before the first other person is", function()
        local db = fresh()
        assert.are.equal(0, (run(db, "admin", "relm.user.add{name='bob'}")))
        local rc, out = run(db, "bob", [[
            local ps = relm.portfolio.list()
            print(#ps, ps[1].name, #ps[1].models, ps[1].models[1].id ~= nil)
            print(relm.sql('SELECT count(*) AS n FROM portfolios')[1].n)]])
        assert.are.equal(0, rc, out)
        assert.matches("^2\tapplications\t5\ttrue\n2\n", out)
    end)

    it("are shown, unloaded, to someone else when no administrator has loaded them", function()
        local db = fresh()
        -- a user added through the core, so nothing synced the templates
        assert.are.equal(0, (run(db, "admin", "require('relm.core.people').user_add{name='bob'}")))
        local rc, out = run(db, "bob", [[
            local ps = relm.portfolio.list()
            print(#ps, ps[2].name, ps[2].loaded, #ps[2].models, ps[2].models[1].loaded)
            print(relm.sql('SELECT count(*) AS n FROM portfolios')[1].n)
            for _, m in ipairs(ps[2].models) do
                if m.name == 'server-patching' then
                    print(m.workflow, m.status, m.prefill.deployment[2].title, math.type(m.prefill.deployment[2].order))
                end
            end]])
        assert.are.equal(0, rc, out)
        assert.matches("^2\tinfrastructure\tfalse\t5\tfalse\n0\nminor\tactive\tApply the patches\tinteger\n", out)
        rc, out = run(db, "bob", "relm.portfolio.model('infrastructure', 'server-patching')")
        assert.are.equal(1, rc)
        assert.matches("not_found: portfolio 'infrastructure' is shipped but not loaded", out, 1, true)
        rc, out = run(db, "bob", "relm.portfolio.sync()")
        assert.are.equal(1, rc)
        assert.matches("permission_denied", out)
        rc, out = run(db, "admin", "print(#relm.portfolio.list())")
        assert.are.equal(0, rc, out)
        rc, out = run(db, "bob", "print(relm.portfolio.model('infrastructure', 'server-patching').id ~= nil)")
        assert.are.equal(0, rc, out)
        assert.matches("^true", out)
    end)
end)
