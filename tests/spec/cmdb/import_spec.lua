-- import_spec.lua: bulk import and export (CSV and JSON Lines).
local cmdb = relm.cmdb
local S = dofile("tests/fixtures/spec_helper.lua")
local TMP = os.getenv("RELM_TEST_TMP") or "/tmp"
local seq = 0

-- Write text to a fresh file and return its path.
local function file(text, ext)
    seq = seq + 1
    return S.write(("%s/import_%d.%s"):format(TMP, seq, ext or "csv"), text)
end

local function slurp(path)
    return assert(S.read(path))
end

local function counts()
    local r = relm.sql([[SELECT (SELECT count(*) FROM cis) AS cis,
        (SELECT count(*) FROM relationships) AS rels,
        (SELECT count(*) FROM ci_history) AS hist,
        (SELECT group_concat(name || '=' || attributes || status, ';') FROM cis) AS content]])[1]
    return r
end

-- Import must fail with code, a message starting "path:row[:column]: ",
-- and leave the database exactly as it was.
local function refused(code, where, path, opts)
    local before = counts()
    local ok, err = pcall(cmdb.import, path, opts)
    assert.is_false(ok, "expected " .. code)
    assert.is_true(relm.is_error(err, code), "expected " .. code .. ", got " .. tostring(err))
    local prefix = path .. ":" .. where .. ": "
    assert.are.equal(prefix, err.message:sub(1, #prefix), "message was: " .. err.message)
    assert.are.same(before, counts())
    return err.message
end

setup(function()
    cmdb.define_type{ name = "server", attributes = {
        cpu = "integer", ram = "number", virtual = "boolean", bought = "date",
        os = { kind = "enum", values = { "linux", "bsd" } }, note = "string",
    } }
    cmdb.define_type{ name = "app", attributes = { lang = "string" } }
end)

describe("relm.cmdb.import of CIs (CSV)", function()
    it("imports CIs with standard fields, typed attributes and quoted fields", function()
        local p = file('name,type,status,criticality,location,cpu,ram,virtual,bought,os,note,lang\n'
            .. 's1,server,active,high,dc1,8,16.5,true,2024-01-31,linux,"plain",\n'
            .. '"s,2",server,in maintenance,,"dc ""two""",2,1,no,,bsd,"line one\nline two",\n'
            .. 'web,app,,,,,,,,,,lua\n')
        assert.are.equal(3, cmdb.import(p, { format = "csv", kind = "cis" }))
        local s1 = cmdb.get("s1")
        assert.are.equal(8, s1.cpu)
        assert.are.equal("integer", math.type(s1.cpu))
        assert.are.equal(16.5, s1.ram)
        assert.is_true(s1.virtual)
        assert.are.equal("high", s1.criticality)
        local s2 = cmdb.get("s,2")
        assert.are.equal("in_maintenance", s2.status)
        assert.are.equal('dc "two"', s2.location)
        assert.are.equal("line one\nline two", s2.note)
        assert.is_false(s2.virtual)
        assert.is_nil(s2.bought)
        assert.are.equal("lua", cmdb.get("web").lang)
        assert.are.equal("active", cmdb.get("web").status)
        -- one history row per CI, stamped as an import
        local h = cmdb.history("s1")
        assert.are.equal(1, #h)
        assert.are.equal("create", h[1].action)
        assert.matches("import", h[1].origin)
    end)

    it("accepts CRLF line ends and a UTF-8 byte order mark", function()
        local p = file("\xef\xbb\xbfname,type,note\r\ncr1,server,\"caf\xc3\xa9\"\r\ncr2,server,x\r\n")
        assert.are.equal(2, cmdb.import(p))
        assert.are.equal("caf\xc3\xa9", cmdb.get("cr1").note)
        assert.are.equal("x", cmdb.get("cr2").note)
        cmdb.remove("cr1")
        cmdb.remove("cr2")
    end)

    it("re-importing updates rather than duplicates", function()
        local p = file("name,type,cpu\ns1,server,16\nnew1,server,1\n")
        local before = counts()
        assert.are.equal(2, cmdb.import(p))
        local after = counts()
        assert.are.equal(before.cis + 1, after.cis)
        assert.are.equal(16, cmdb.get("s1").cpu)
        assert.are.equal(16.5, cmdb.get("s1").ram) -- columns not in the file are kept
        local h = cmdb.history("s1")
        assert.are.equal(2, #h)
        -- the import's create row is stored compactly and rebuilt on reading
        assert.are.same({ nil, 8 }, h[1].diff.cpu)
        assert.are.same({ nil, "s1" }, h[1].diff.name)
        assert.are.same({ nil, true }, h[1].diff.virtual)
        assert.are.same({ 8, 16 }, h[2].diff.cpu)
        -- the same file again changes nothing and writes no history
        assert.are.equal(2, cmdb.import(p))
        assert.are.same(after, counts())
    end)

    it("reads JSON Lines", function()
        local p = file('{"name":"j1","type":"server","cpu":4,"virtual":true,"os":"bsd"}\n\n'
            .. '{"name":"j2","type":"app","lang":"c","location":"dc9"}\n', "jsonl")
        assert.are.equal(2, cmdb.import(p, { format = "jsonl" }))
        assert.are.equal(4, cmdb.get("j1").cpu)
        assert.is_true(cmdb.get("j1").virtual)
        assert.are.equal("dc9", cmdb.get("j2").location)
    end)
end)

describe("relm.cmdb.import of relationships", function()
    it("imports from,kind,to rows; an existing edge is a no-op", function()
        local p = file("from,kind,to\nweb,runs_on,s1\nweb,depends_on,\"s,2\"\n")
        assert.are.equal(2, cmdb.import(p, { kind = "relationships" }))
        local before = counts()
        assert.are.equal(2, cmdb.import(p, { kind = "relationships" }))
        assert.are.same(before, counts())
        assert.are.equal(2, #cmdb.relations("web"))
    end)

    it("shows the relationships an import made in the history of both ends", function()
        local h = cmdb.history("web")
        local last = h[#h]
        assert.are.equal("relate", last.action)
        assert.are.equal("admin", last.actor)
        assert.matches("import", last.origin)
        local kinds = {}
        for _, r in ipairs(h) do
            for k, v in pairs(r.diff) do kinds[k] = v[2] end
        end
        assert.are.equal("s1", kinds.runs_on)
        assert.are.equal("s,2", kinds.depends_on)
        local hs = cmdb.history("s1")
        assert.are.same({ nil, "web" }, hs[#hs].diff["runs_on (in)"])
        -- removing such a relationship writes the deferred relate row, then the unrelate
        cmdb.relate("web", "depends_on", "j1")
        cmdb.unrelate("web", "depends_on", "s,2")
        local after = cmdb.history("web")
        assert.are.equal(#h + 1 + 1, #after)
        assert.are.equal("unrelate", after[#after].action)
        assert.are.same({ "s,2" }, after[#after].diff.depends_on)
        local relate_rows = 0
        for _, r in ipairs(after) do
            if r.action == "relate" and r.diff.depends_on and r.diff.depends_on[2] == "s,2" then
                relate_rows = relate_rows + 1
                assert.matches("import", r.origin)
            end
        end
        assert.are.equal(1, relate_rows)
        cmdb.relate("web", "depends_on", "s,2")
    end)

    it("removing a CI with imported relationships writes their deferred rows", function()
        cmdb.add{ type = "app", name = "tmp-app" }
        assert.are.equal(1, cmdb.import(file("from,kind,to\ntmp-app,runs_on,j1\n"), { kind = "relationships" }))
        local before = #cmdb.history("j1")
        cmdb.remove("tmp-app", { force = true })
        local h = cmdb.history("j1")
        assert.are.equal(before + 1, #h)
        assert.are.equal("relate", h[#h - 1].action)
        assert.matches("import", h[#h - 1].origin)
        assert.are.same({ nil, "tmp-app" }, h[#h - 1].diff["runs_on (in)"])
        assert.are.equal("unrelate", h[#h].action)
    end)

    it("reads JSON Lines", function()
        local p = file('{"from":"j2","kind":"runs_on","to":"j1"}\n', "jsonl")
        assert.are.equal(1, cmdb.import(p, { kind = "relationships" }))
        assert.are.equal("j1", cmdb.relations("j2")[1].to)
    end)
end)

describe("relm.cmdb.import refuses bad input, naming the place, writing nothing", function()
    it("an unknown type", function()
        local p = file("name,type,cpu\nok1,server,1\nr1,router,1\n")
        assert.matches("router", refused("unknown_type", "3:2", p))
    end)

    it("an unknown attribute column", function()
        local p = file("name,type,gpu\nok1,server,1\n")
        assert.matches("gpu", refused("unknown_attribute", "1:3", p))
        assert.matches("no name", refused("invalid_header", "1:3", file("name,type,\nok1,server,\n")))
    end)

    it("a near miss of a column names the column meant", function()
        local err = refused("unknown_attribute", "1:3", file("name,type,stat\nok1,server,active\n"))
        assert.matches("unknown column 'stat' (did you mean 'status'?)", err, 1, true)
        err = refused("unknown_attribute", "1:3", file("name,type,cpus\nok1,server,1\n"))
        assert.matches("(did you mean 'cpu'?)", err, 1, true)
        local far = file("name,type,colour\nok1,server,1\n")
        assert.not_matches("did you mean", refused("unknown_attribute", "1:3", far))
    end)

    it("an attribute the row's type lacks", function()
        local p = file("name,type,lang\nok1,server,lua\n")
        assert.matches("lang", refused("unknown_attribute", "2:3", p))
    end)

    it("an attribute of the wrong kind", function()
        local p = file("name,type,cpu\nok1,server,1\nok2,server,eight\n")
        assert.matches("cpu", refused("invalid_attribute", "3:3", p))
        assert.matches("os", refused("invalid_attribute", "2:3", file("name,type,os\nok1,server,windows\n")))
        assert.matches("bought", refused("invalid_attribute", "2:3", file("name,type,bought\nok1,server,31/01/2024\n")))
        assert.matches("virtual", refused("invalid_attribute", "2:3", file("name,type,virtual\nok1,server,maybe\n")))
    end)

    it("a name twice in the file", function()
        local msg = refused("duplicate", "3:1", file("name,type\nd1,server\nd1,server\n"))
        assert.matches("row 2", msg)
    end)

    it("a bad standard field", function()
        refused("invalid_field", "2:3", file("name,type,status\nok1,server,broken\n"))
        refused("invalid_field", "2:1", file("name,type\n,server\n"))
    end)

    it("a relationship to a CI that does not exist", function()
        local p = file("from,kind,to\nweb,runs_on,s1\nweb,runs_on,ghost\n")
        assert.matches("ghost", refused("not_found", "3:3", p, { kind = "relationships" }))
        p = file("from,kind,to\nghost,runs_on,s1\n")
        refused("not_found", "2:1", p, { kind = "relationships" })
    end)

    it("an unknown relationship kind", function()
        local p = file("from,kind,to\nweb,flies_to,s1\n")
        assert.matches("flies_to", refused("unknown_relation", "2:2", p, { kind = "relationships" }))
    end)

    it("a self-loop", function()
        refused("invalid_argument", "2:3", file("from,kind,to\nweb,runs_on,web\n"), { kind = "relationships" })
    end)

    it("an unterminated quote", function()
        local p = file('name,type,note\nq1,server,"never closed\nq2,server,x\n')
        assert.matches("unterminated", refused("invalid_csv", "2:3", p))
    end)

    it("a quote inside an unquoted field", function()
        refused("invalid_csv", "2:3", file('name,type,note\nq1,server,ab"c"\n'))
    end)

    it("a wrong column count", function()
        assert.matches("2 field", refused("invalid_row", "3:3", file("name,type,cpu\nok1,server,1\nok2,server\n")))
        refused("invalid_row", "2:4", file("name,type,cpu\nok1,server,1,2\n"))
    end)

    it("invalid UTF-8", function()
        local msg = refused("invalid_utf8", "3:3", file("name,type,note\nok1,server,fine\nok2,server,bad\xff\xfe\n"))
        assert.matches("UTF%-8", msg)
        refused("invalid_utf8", "1:3", file("name,type,n\xc3\n"))
    end)

    it("an empty file", function()
        assert.matches("empty", refused("invalid_csv", "1", file("")))
        assert.matches("empty", refused("invalid_json", "1", file("", "jsonl"), { format = "jsonl" }))
    end)

    it("a missing header", function()
        assert.matches("header", refused("invalid_header", "1", file("h1,server,1\n")))
        assert.matches("missing header", refused("invalid_header", "1", file("web,runs_on,s1\n"),
            { kind = "relationships" }))
        assert.matches("'via'", refused("invalid_header", "1:3", file("from,kind,via\n"), { kind = "relationships" }))
        assert.matches("missing: to", refused("invalid_header", "1", file("from,kind\n"), { kind = "relationships" }))
        assert.matches("twice", refused("invalid_header", "1:3", file("name,type,name\n")))
        -- the wrong kind of file says which kind to pass
        assert.matches('kind = "relationships"', refused("invalid_header", "1", file("from,kind,to\na,runs_on,b\n")))
        assert.matches("this is a CI file", refused("invalid_header", "1", file("name,type\nx1,server\n"),
            { kind = "relationships" }))
    end)

    it("bad JSON Lines", function()
        refused("invalid_json", "2", file('{"name":"x1","type":"server"}\nnot json\n', "jsonl"))
        local p = file('{"name":"x1","type":"server","cpu":"8"}\n', "jsonl")
        assert.matches("cpu", refused("invalid_attribute", "1", p))
        refused("invalid_field", "1", file('{"type":"server"}\n', "jsonl"))
        refused("invalid_field", "1", file('{"name":"x1","type":"server","cpu":[1]}\n', "jsonl"))
    end)

    it("a file that does not exist, or bad options", function()
        local ok, err = pcall(cmdb.import, TMP .. "/no-such-file.csv")
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "not_found"))
        for _, opts in ipairs({ { format = "xml" }, { kind = "people" }, { on_error = "ignore" } }) do
            ok, err = pcall(cmdb.import, file("name,type\n"), opts)
            assert.is_false(ok)
            assert.is_true(relm.is_error(err, "invalid_argument"))
        end
    end)
end)

describe("relm.cmdb.import{on_error = 'skip'}", function()
    it("imports the good rows and reports the bad ones", function()
        local before = counts()
        local p = file("name,type,cpu\ngood1,server,1\nbad1,server,x\nbad2,router,1\ngood2,server,2\nshort,server\n")
        local n, report = cmdb.import(p, { on_error = "skip" })
        assert.are.equal(2, n)
        assert.are.equal(before.cis + 2, counts().cis)
        assert.are.equal(3, #report)
        assert.are.same({ 3, 3, "invalid_attribute" }, { report[1].row, report[1].column, report[1].code })
        assert.are.equal([[attribute 'cpu' of type 'server' must be an integer; got "x"]], report[1].message)
        assert.are.same({ 4, 2, "unknown_type" }, { report[2].row, report[2].column, report[2].code })
        assert.are.same({ 6, 3, "invalid_row" }, { report[3].row, report[3].column, report[3].code })
        assert.are.equal(1, cmdb.get("good1").cpu)
        assert.are.same({ "row", "column", "code", "message" }, getmetatable(report).columns)
        assert.matches("^row%s+column%s+code%s+message\n", relm.pretty.table(report))
    end)

    it("reports bad JSON Lines by line, with no column", function()
        local p = file('{"name":"jg1","type":"server","cpu":1}\n{"name":"jb1","type":"server","cpu":"x"}\n'
            .. 'not json\n{"name":"jg2","type":"server"}\n', "jsonl")
        local n, report = cmdb.import(p, { on_error = "skip" })
        assert.are.equal(2, n)
        assert.are.equal(2, #report)
        assert.are.same({ 2, "invalid_attribute" }, { report[1].row, report[1].code })
        assert.is_nil(report[1].column)
        assert.matches("^key 'cpu': ", report[1].message)
        assert.are.same({ 3, "invalid_json" }, { report[2].row, report[2].code })
        assert.are.equal(1, cmdb.get("jg1").cpu)
    end)
end)

describe("relm.cmdb.export", function()
    it("round-trips CIs through CSV: export, change, import, export again", function()
        local a, b = TMP .. "/export_a.csv", TMP .. "/export_b.csv"
        local n = cmdb.export(a)
        assert.are.equal(counts().cis, n)
        cmdb.update("s1", { cpu = 99, location = cmdb.null })
        cmdb.update("s,2", { note = "changed" })
        assert.are.equal(n, cmdb.import(a))
        cmdb.export(b)
        assert.are.equal(slurp(a), slurp(b))
        assert.are.equal(16, cmdb.get("s1").cpu)
        assert.are.equal("line one\nline two", cmdb.get("s,2").note)
    end)

    it("round-trips CIs through JSON Lines", function()
        local a, b = TMP .. "/export_a.jsonl", TMP .. "/export_b.jsonl"
        cmdb.export(a, { format = "jsonl" })
        cmdb.update("j1", { cpu = 1, virtual = false })
        cmdb.import(a, { format = "jsonl" })
        cmdb.export(b, { format = "jsonl" })
        assert.are.equal(slurp(a), slurp(b))
        assert.is_true(cmdb.get("j1").virtual)
    end)

    it("round-trips every standard field, owner group and media included", function()
        cmdb.define_type{ name = "rt", attributes = { cpu = "integer", up = "boolean", e = { values = { "a", "b" } } } }
        relm.group.add{ name = "rt-ops" }
        relm.media.add{ name = "rt-os", version = "1.2" }
        cmdb.add{ type = "rt", name = "rt1", status = "homologation", version = "3", serial = "SN-1",
                  criticality = "critical", owner_group = "rt-ops", location = "dc, \"1\"", media = "rt-os@1.2",
                  cpu = 3, up = true, e = "b" }
        cmdb.add{ type = "rt", name = "rt2" }
        local function state()
            local out = {}
            for _, r in ipairs(cmdb.find{ type = "rt" }) do
                r.updated_at, r.attributes = nil, nil
                out[r.name] = r
            end
            return out
        end
        for _, fmt in ipairs({ "csv", "jsonl" }) do
            local before = state()
            local p = TMP .. "/rt." .. fmt
            assert.are.equal(2, cmdb.export(p, { format = fmt, type = "rt" }))
            cmdb.update("rt1", { status = "archived", version = cmdb.null, serial = "x", criticality = "low",
                                 owner_group = cmdb.null, location = "y", media = cmdb.null, cpu = 9,
                                 up = false, e = "a" })
            cmdb.update("rt2", { owner_group = "rt-ops", media = "rt-os", cpu = 1 })
            assert.are.equal(2, cmdb.import(p, { format = fmt }))
            assert.are.same(before, state())
        end
    end)

    it("exports one type only", function()
        local p = TMP .. "/apps.csv"
        assert.are.equal(2, cmdb.export(p, { type = "app" }))
        assert.are.equal("name,type,status,version,serial,criticality,owner_group,location,media,lang",
            slurp(p):match("^[^\n]*"))
        local ok, err = pcall(cmdb.export, p, { type = "router" })
        assert.is_false(ok)
        assert.is_true(relm.is_error(err, "unknown_type"))
    end)

    it("round-trips relationships", function()
        for _, fmt in ipairs({ "csv", "jsonl" }) do
            local a, b = TMP .. "/rels_a." .. fmt, TMP .. "/rels_b." .. fmt
            local n = cmdb.export(a, { kind = "relationships", format = fmt })
            assert.are.equal(counts().rels, n)
            cmdb.unrelate("web", "runs_on", "s1")
            assert.are.equal(n, cmdb.import(a, { kind = "relationships", format = fmt }))
            cmdb.export(b, { kind = "relationships", format = fmt })
            local sorted = function(s)
                local t = {}
                for line in s:gmatch("[^\n]+") do t[#t + 1] = line end
                table.sort(t)
                return t
            end
            assert.are.same(sorted(slurp(a)), sorted(slurp(b)))
        end
    end)
end)
