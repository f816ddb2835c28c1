-- search_spec.lua: relm.search.releases filters (status, situation, number,
-- periods, contract, unit, user, priority, group, text) and export.
local H = dofile("tests/spec/related/helper.lua")

local function numbers(rows)
    local out = {}
    for i, r in ipairs(rows) do
        out[i] = r.number
    end
    table.sort(out)
    return out
end

describe("relm.search.releases", function()
    local db, web, late, held
    setup(function()
        H.setup()
        relm.release.set_clock(os.time { year = 2026, month = 3, day = 10, hour = 12 })
        db = H.release { title = "Upgrade the database cluster", description = "PostgreSQL 16 on the new hosts",
            contract = "C-100", contact = { unit = "Finance" }, impact = "high", urgency = "high",
            requester = "bob" }
        H.resolve(db)
        relm.release.set_clock(os.time { year = 2026, month = 3, day = 12, hour = 12 })
        db = relm.release.act(db.id, "close", { fields = { release_date = "2026-03-12", solution_category = "deployed",
            closure_text = "Migração concluída sem incidentes" } })
        relm.release.set_clock(os.time { year = 2026, month = 4, day = 1, hour = 12 })
        web = H.release { title = "Web farm refresh", executor_group = "dba", sla_hours = 1000 }
        late = H.release { title = "Late one", sla_hours = 1 }
        held = H.release { title = "Held one", sla_hours = 1000 }
        H.as("dave", function() relm.release.act(held.id, "suspend", { justification = H.suspend }) end)
        relm.release.set_clock(os.time { year = 2026, month = 4, day = 2, hour = 12 })
    end)
    teardown(function() relm.release.set_clock(nil) end)

    it("returns every release by default, newest first", function()
        local rows = relm.search.releases()
        assert.are.equal(4, #rows)
        assert.are.equal(held.number, rows[1].number)
        assert.are.equal(db.number, rows[4].number)
    end)

    it("filters by status and situation", function()
        assert.are.same({ db.number }, numbers(relm.search.releases { status = "closed" }))
        assert.are.same({ held.number }, numbers(relm.search.releases { situation = "suspended" }))
        assert.are.same({ late.number }, numbers(relm.search.releases { situation = "late" }))
        assert.are.same(numbers({ web }), numbers(relm.search.releases { situation = "in execution" }))
        assert.are.same(numbers({ db, held }), numbers(relm.search.releases { status = { "closed", "suspended" } }))
    end)

    it("filters by number: exact, the counter's digits, or a pattern", function()
        assert.are.same({ db.number }, numbers(relm.search.releases { number = db.number }))
        local digits = db.number:match("(%d+)$")
        assert.are.same({ db.number }, numbers(relm.search.releases { number = tostring(tonumber(digits)) }))
        assert.are.equal(4, #relm.search.releases { number = "REL-2026-*" })
        assert.are.same({}, relm.search.releases { number = "REL-1999-000001" })
        assert.are.same({ db.number }, numbers(relm.search.releases { number = "00" .. tonumber(digits) }))
        assert.are.same({}, relm.search.releases { number = "99999999999999999999" })
    end)

    it("filters by opening and closing period (inclusive dates)", function()
        assert.are.same({ db.number }, numbers(relm.search.releases { opened = { to = "2026-03-10" } }))
        assert.are.equal(3, #relm.search.releases { opened_from = "2026-04-01" })
        assert.are.same({ db.number }, numbers(relm.search.releases {
            closed = { from = "2026-03-12", to = "2026-03-12" } }))
        assert.are.same({}, relm.search.releases { closed = { from = "2026-03-13" } })
        -- A date-time bound without seconds or Z still includes that moment.
        local at = db.created_at -- YYYY-MM-DDTHH:MM:SSZ
        assert.are.same({ db.number }, numbers(relm.search.releases { opened = { to = at:sub(1, 19) } }))
        assert.are.same({ db.number }, numbers(relm.search.releases { opened = { from = at:sub(1, 16), to = at } }))
    end)

    it("filters by contract, unit, user, priority and group", function()
        assert.are.same({ db.number }, numbers(relm.search.releases { contract = "C-100" }))
        assert.are.same({ db.number }, numbers(relm.search.releases { unit = "Finance" }))
        assert.are.same({ db.number }, numbers(relm.search.releases { user = "bob" }))
        assert.are.same({ db.number }, numbers(relm.search.releases { priority = 1 }))
        assert.are.same({ web.number }, numbers(relm.search.releases { group = "dba" }))
        assert.are.same({}, relm.search.releases { contract = "C-100", status = "open" })
    end)

    it("finds text in title, description and closure text, accents or not", function()
        assert.are.same({ db.number }, numbers(relm.search.releases { text = "postgres" }))
        assert.are.same({ db.number }, numbers(relm.search.releases { text = "migracao incidentes" }))
        assert.are.same({ web.number }, numbers(relm.search.releases { text = "farm" }))
        assert.are.same({}, relm.search.releases { text = "farm database" })
        -- FTS5 syntax in the text is read as words, not as a query.
        assert.are.same({ db.number }, numbers(relm.search.releases { text = 'cluster" (upgrade*' }))
    end)

    it("keeps the text index in step with updates", function()
        relm.release.update(web.id, { description = "Also replaces the load balancers" })
        assert.are.same({ web.number }, numbers(relm.search.releases { text = "balancers" }))
        relm.release.update(web.id, { description = "Nothing special" })
        assert.are.same({}, relm.search.releases { text = "balancers" })
    end)

    it("keeps the text index in step with closure, a refused closure and reopening", function()
        local r = H.release { title = "Rotate the certificates", sla_hours = 1000 }
        H.resolve(r)
        -- A closure refused by the workflow (a field missing) indexes nothing.
        local ok = pcall(relm.release.act, r.id, "close", { fields = { release_date = "2026-04-02",
            solution_category = "deployed", closure_text = "" } })
        assert.is_false(ok)
        ok = pcall(relm.tx, function()
            relm.release.act(r.id, "close", { fields = { release_date = "2026-04-02",
                solution_category = "deployed", closure_text = "Wildcard renewed early" } })
            relm.error("not_allowed", "changed my mind")
        end)
        assert.is_false(ok)
        assert.are.same({}, relm.search.releases { text = "wildcard" })
        relm.release.act(r.id, "close", { fields = { release_date = "2026-04-02",
            solution_category = "deployed", closure_text = "Wildcard renewed early" } })
        assert.are.same({ r.number }, numbers(relm.search.releases { status = "closed", text = "wildcard" }))
        assert.are.same({ r.number }, numbers(relm.search.releases { text = "certificates renewed" }))
        local reopen = relm.justification.add { description = "Not finished", reopen = true }
        H.as("dave", function() relm.release.act(r.id, "reopen", { justification = reopen }) end)
        assert.are.same({}, relm.search.releases { status = "closed", text = "wildcard" })
        assert.are.same({ r.number }, numbers(relm.search.releases { status = "open", text = "wildcard" }))
        relm.release.update(r.id, { title = "Rotate the TLS keys" })
        assert.are.same({}, relm.search.releases { text = "certificates" })
        assert.are.same({ r.number }, numbers(relm.search.releases { text = "tls wildcard" }))
        -- The index holds exactly one row per release, no stale entries.
        assert.are.equal(relm.sql("SELECT count(*) AS n FROM releases")[1].n,
            relm.sql("SELECT count(*) AS n FROM releases_fts_docsize")[1].n)
        relm.release.act(r.id, "cancel", { justification = relm.justification.add {
            description = "Dropped", cancel = true } })
        assert.are.same({ r.number }, numbers(relm.search.releases { status = "cancelled", text = "tls" }))
    end)

    it("prints in 80 columns with numbers, status, priority and dates whole", function()
        local rows = relm.search.releases { order = "number" }
        relm.pretty.width = 80 -- a terminal of 80 columns
        finally(function()
            relm.pretty.width = 0
        end)
        local text = relm.pretty.show(rows)
        assert.are.equal(text, tostring(rows))
        -- The SLA clock of open and suspended releases: time left (no
        -- serve ran, so every stage is in progress and its column left out).
        assert.matches("^number%s+status%s+p%s+left%s+opened%s+closed%s+group%s+title\n", text)
        for line in text:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 80, line)
        end
        assert.matches(db.number .. "  closed     1          2026-03-10  2026-03-12  ops    Upgrade", text, 1, true)
        assert.matches("(" .. #rows .. " rows)", text, 1, true)
        assert.matches("(0 rows)", tostring(relm.search.releases { number = "REL-1999-*" }), 1, true)
    end)

    it("pages with limit and offset and orders on request", function()
        local rows = relm.search.releases { order = "opened", limit = 2, offset = 1 }
        assert.are.equal(2, #rows)
        assert.are.equal(web.number, rows[1].number)
    end)

    it("refuses bad filters with a message naming them", function()
        local function refused(pattern, f)
            local ok, err = pcall(relm.search.releases, f)
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_argument"), tostring(err))
            assert.matches(pattern, err.message)
        end
        refused("unknown filter 'colour' %(see", { colour = "red" })
        -- A misspelt filter names the one meant.
        refused("unknown filter 'stauts' %(did you mean 'status'%?%)", { stauts = "open" })
        refused("unknown filter 'grup' %(did you mean 'group'%?%)", { grup = "dba" })
        refused("status must be", { status = "done" })
        refused("situation must be", { situation = "asleep" })
        refused("priority must be", { priority = 9 })
        refused("opened.from must be a date", { opened = { from = "yesterday" } })
        refused("closed.to must be a date YYYY%-MM%-DD or a UTC date%-time",
            { closed = { to = "2026-03-12T10:00+02:00" } })
        refused("closed: unknown key 'since'", { closed = { since = "2026-01-01" } })
        refused("text must contain at least one word", { text = "  ...  " })
        refused("limit must be", { limit = -1 })
        refused("order must be one of", { order = "sideways" })
        refused("argument #1", "closed")
        -- However deep the check, the error names the caller's line.
        for _, f in ipairs({ { colour = 1 }, { status = "done" }, { opened = { from = "x" } } }) do
            local _, err = pcall(function() relm.search.releases(f) end)
            assert.matches("search_spec%.lua:%d+: $", err.where)
        end
    end)
end)

describe("relm.search.export", function()
    setup(H.setup)

    it("writes CSV with a header and quoted fields, and JSON", function()
        H.release { title = 'Quote "this", please' }
        local dir = os.getenv("RELM_TEST_TMP") or "/tmp"
        local csv = dir .. "/releases.csv"
        local n = relm.search.export({ text = "quote" }, csv)
        assert.are.equal(1, n)
        local text = io.open(csv):read("a")
        assert.matches("^id,number,title,status", text)
        assert.matches('"Quote ""this"", please"', text, 1, true)
        local json = dir .. "/releases.json"
        assert.are.equal(1, relm.search.export(relm.search.releases { text = "quote" }, json))
        local data = require("cjson").decode(io.open(json):read("a"))
        assert.are.equal('Quote "this", please', data[1].title)
        assert.are.equal(0, relm.search.export({ text = "nothingmatches" }, json, { format = "json" }))
        assert.are.equal("[]\n", io.open(json):read("a"))
        local ok, err = pcall(relm.search.export, {}, csv, { format = "xml" })
        assert.is_false(ok)
        assert.matches("format must be", tostring(err))
        ok, err = pcall(relm.search.export, { status = "open" }, dir .. "/no/such/dir/x.csv")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "io_error"), tostring(err))
        ok, err = pcall(relm.search.export, { colour = "red" }, csv)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"), tostring(err))
        assert.matches('"Quote ""this"", please"', io.open(csv):read("a"), 1, true) -- left as it was
    end)

    it("exports every match of filters, past the 1000 rows a search shows", function()
        relm.tx(function()
            for i = 1, 1001 do
                relm.release.register { title = "Bulk export " .. i, workflow = "minor" }
            end
        end)
        local csv = (os.getenv("RELM_TEST_TMP") or "/tmp") .. "/all.csv"
        assert.are.equal(1000, #relm.search.releases { text = "bulk export" })
        assert.are.equal(1001, relm.search.export({ text = "bulk export" }, csv))
        local lines = 0
        for _ in io.lines(csv) do
            lines = lines + 1
        end
        assert.are.equal(1002, lines)
        assert.are.equal(10, relm.search.export({ text = "bulk export", limit = 10 }, csv))
    end)

    it("says when an answer stopped at its limit, and carries the total", function()
        -- The 1001 releases of the test above.
        local rows = relm.search.releases { text = "bulk export" }
        assert.are.equal(1000, #rows)
        assert.are.equal(1001, rows.total)
        assert.matches("\n%(1000 of 1001 rows; pass limit=%)$", relm.pretty.show(rows))
        local page = relm.search.releases { text = "bulk export", limit = 10, offset = 995 }
        assert.are.equal(6, #page)
        assert.are.equal(1001, page.total)
        assert.matches("%(rows 996%-1001 of 1001; pass offset=, limit=%)$", relm.pretty.show(page))
        local few = relm.search.releases { text = "bulk export 1000" }
        assert.are.equal(1, few.total)
        assert.matches("\n%(1 row%)$", relm.pretty.show(few))
        -- total is not a key pairs() or an export sees.
        for k in pairs(rows) do
            assert.are.equal("number", math.type(k) and "number" or k)
        end
    end)

    it("refuses a format it does not write and rows that are not releases", function()
        local dir = os.getenv("RELM_TEST_TMP") or "/tmp"
        local xlsx = dir .. "/releases.xlsx"
        local ok, err = pcall(relm.search.export, { text = "quote" }, xlsx)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"), tostring(err))
        assert.matches("releases.xlsx", err.message, 1, true)
        assert.is_nil(io.open(xlsx), "an .xlsx path must not become a CSV file")
        local csv = dir .. "/not_releases.csv"
        ok, err = pcall(relm.search.export, relm.sql("SELECT name FROM users"), csv)
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "invalid_argument"), tostring(err))
        assert.matches("relm.export", err.message, 1, true)
        assert.is_nil(io.open(csv))
        -- Releases from elsewhere still export, and JSON lines is a format.
        local jsonl = dir .. "/releases.jsonl"
        local rows = relm.search.releases { text = "quote" }
        local plain = { table.unpack(rows) }
        assert.are.equal(1, relm.search.export(plain, jsonl))
        local line = io.open(jsonl):read("l")
        assert.are.equal('Quote "this", please', require("cjson").decode(line).title)
    end)
end)
