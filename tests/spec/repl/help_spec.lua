-- help_spec.lua: help() and Tab completion (relm.help, relm.complete) on
-- the real modules, plus stand-in modules with and without docs.
local help = require "relm.help"
local complete = require "relm.complete"

local function text(v)
    return table.concat(help.lines(v), "\n")
end

-- A C-style module with a __doc table and a Lua table without any docs,
-- both reachable as relm.<name> the way init.lua finds modules.
local function with_fake_modules(fn)
    package.preload["relm.core.zzdoc"] = function()
        return {
            grow = function() end,
            shrink = function() end,
            __doc = { _module = "a stand-in C module", grow = "(n) -> integer: grows n by one" },
        }
    end
    package.loaded["relm.zznodoc"] = { run = function() end }
    rawset(relm, "zznodoc", package.loaded["relm.zznodoc"])
    complete.reset()
    local ok, err = pcall(fn)
    package.preload["relm.core.zzdoc"] = nil
    package.loaded["relm.core.zzdoc"] = nil
    package.loaded["relm.zznodoc"] = nil
    rawset(relm, "zzdoc", nil)
    rawset(relm, "zznodoc", nil)
    complete.reset()
    assert(ok, err)
end

describe("help()", function()
    it("lists the modules with a line each and the top-level functions", function()
        local t = text()
        assert.matches("relm modules", t)
        assert.matches("\n  pretty +how values print in the REPL", t)
        assert.matches("relm%.sql,", t)
        assert.matches("relm%.tx,", t)
        assert.matches("relm%.mode,", t)
        -- The engine's own plumbing is not offered as a module.
        assert.is_nil(t:find("\n  init ", 1, true))
        assert.is_nil(t:find("\n  complete ", 1, true))
        for line in t:gmatch("[^\n]+") do
            assert.is_true(utf8.len(line) <= 80, line)
        end
    end)

    it("documents the sqlite3-like functions and relm.export as functions", function()
        for _, name in ipairs({ "mode", "output", "once", "timer", "schema", "export" }) do
            assert.matches("^relm%." .. name .. "%(", text(relm[name]))
        end
        assert.is_nil(text():find("\n  export ", 1, true), "relm.export is a function, not a module")
    end)

    it("is a global that prints", function()
        assert.are.equal("function", type(_G.help))
    end)

    it("shows a one-line doc for each function of a Lua module", function()
        local t = text(relm.pretty)
        assert.matches("^relm%.pretty: how values print", t)
        assert.matches("\n  relm%.pretty%.table%(rows, columns, opts%) %-> string: Format an array of records", t)
        assert.matches("\n  relm%.pretty%.print%(%.%.%.%): Print every argument", t)
    end)

    it("shows the top level from the C module's __doc", function()
        local t = text(relm)
        assert.matches("relm%.sql%(query, %.%.%.%) %-> rows: read%-only SQL with bound parameters", t)
        assert.matches("relm%.tx%(fn, %.%.%.%)", t)
    end)

    it("shows one function's whole doc, given the function or its name", function()
        local t = text(relm.pretty.table)
        assert.matches("^relm%.pretty%.table%(rows, columns, opts%) %-> string\n", t)
        assert.matches("@param rows table%[%] records keyed by column name", t)
        assert.are.equal(t, text("relm.pretty.table"))
        assert.are.equal(t, text("pretty.table"))
        assert.matches("^relm%.sql%(query, %.%.%.%) %-> rows\n", text(relm.sql))
        assert.are.equal(text(relm.sql), text("sql"))
    end)

    it("uses a C module's __doc and survives a module without any docs", function()
        with_fake_modules(function()
            assert.matches("\n  zzdoc +a stand%-in C module", text())
            local t = text(relm.zzdoc)
            assert.matches("^relm%.zzdoc: a stand%-in C module", t)
            assert.matches("\n  relm%.zzdoc%.grow%(n%) %-> integer: grows n by one", t)
            assert.matches("\n  relm%.zzdoc%.shrink%(%.%.%.%)", t)
            assert.matches("^relm%.zzdoc%.shrink%(%.%.%.%): no documentation", text(relm.zzdoc.shrink))
            assert.matches("^relm%.zznodoc\n  relm%.zznodoc%.run%(%.%.%.%)$", text(relm.zznodoc))
        end)
    end)

    it("shows what a forwarder or a gathered function calls", function()
        -- relm.release.impact forwards to relm.related.impact (---@see).
        local t = text(relm.release.impact)
        assert.matches("^relm%.release%.impact%(id, opts%) %-> table\n"
            .. "  %(calls relm%.related%.impact%)\n  The impact", t)
        assert.matches("\n  relm%.release%.impact%(id, opts%) %-> table: The impact of release", text(relm.release))
        -- relm.cmdb.dot is relm.cmdb_graph.dot, documented there.
        assert.matches("^relm%.cmdb%.dot%(name, opts%) %-> string\n  Graphviz DOT", text(relm.cmdb.dot))
        -- relm.related.releases is an alias of relm.related.for_ci.
        assert.matches("^relm%.related%.releases%(name%) %-> table%[%]", text("related.releases"))
        assert.matches("relm%.change%.get%(number%) %-> table%?: the change with that number", text(relm.change))
        -- Every function an analyst is offered has a one-line doc.
        for _, m in ipairs(complete.modules()) do
            for _, f in ipairs(help.functions(m)) do
                assert(f.summary, "relm." .. m .. "." .. f.name .. " has no documentation")
            end
        end
    end)

    it("offers the Lua faces of people, not the C half, which still has help", function()
        assert.is_nil(text():find("\n  people ", 1, true))
        assert.matches("\n  user ", text())
        assert.are.same({}, complete.complete("relm.peop"))
        assert.matches("^relm%.people: the C half of relm%.user", text(relm.people))
    end)

    it("says so for values and names it does not know", function()
        assert.matches("^no help for this table", text({}))
        assert.matches("^no help for this function %(a function defined at ", text(function() end))
        assert.matches("^no module relm%.nosuch", text("nosuch"))
        assert.is_nil(text("nosuch"):find("functions called", 1, true))
    end)

    it("says help(nil) is no name, rather than list the modules (a misspelt help(relm.x.y))", function()
        local out = dofile("tests/fixtures/spec_helper.lua").stdout(help.help, nil)
        assert.matches("^help%(nil%): no such name", out)
        assert.is_nil(out:find("relm modules", 1, true))
    end)

    it("says a value such as relm.version is no module, rather than 'no module relm.0.1.0'", function()
        local t = text(relm.version)
        assert.matches("^relm%.version is a value %(\"" .. relm.version:gsub("%.", "%%.") .. "\"%), not a module", t)
        assert.matches("^relm%.home is a value", text(relm.home))
        assert.matches("^relm%.version is a value", text("version"))
        assert.is_nil(t:find("no module", 1, true))
        -- A string that is no name at all says so.
        assert.matches('^help%("12 apples"%): not a name', text("12 apples"))
    end)

    it("points a bare function name to the modules that have it", function()
        local t = text("impact")
        assert.matches("^no module relm%.impact", t)
        assert.matches("functions called impact: .*help%(relm%.cmdb%.impact%)", t)
        assert.matches("help%(relm%.release%.impact%)", t)
    end)

    it("wraps a function's documentation at spaces to the terminal width", function()
        local old = relm.pretty.width
        relm.pretty.width = 50
        local ok, lines = pcall(help.lines, relm.search.releases)
        relm.pretty.width = old
        assert(ok, lines)
        assert.is_true(#lines > 8)
        for _, l in ipairs(lines) do
            assert.is_true(utf8.len(l) <= 50, l)
            assert.is_nil(l:find("…", 1, true), l)
            assert.matches("^%S", lines[1])
        end
        assert.matches("^  %S", lines[2])
    end)
end)

describe("name hints for errors", function()
    it("suggests the names next to a misspelt one in the statement's path", function()
        assert.are.equal("did you mean relm.cmdb.get?",
            complete.hint("stdin:1: attempt to call a nil value (field 'gett')", "relm.cmdb.gett('x')"))
        assert.are.equal("did you mean relm.cmdb?",
            complete.hint("stdin:1: attempt to index a nil value (field 'cmbd')", "relm.cmbd.get('x')"))
        assert.matches("relm%.cmdb%.impact",
            complete.hint("attempt to call a nil value (field 'impacts')", "x = relm.cmdb.impacts('db')"))
        assert.are.equal("did you mean relm.desktop.execute?",
            complete.hint("attempt to call a nil value (field 'exec')", "relm.desktop.exec(1)"))
    end)

    it("says nothing when no name is close, or the error is another one", function()
        assert.is_nil(complete.hint("attempt to call a nil value (field 'zzzzz')", "relm.cmdb.zzzzz()"))
        assert.is_nil(complete.hint("attempt to index a nil value (field 'x')", "local t = {} t.x.y = 1"))
        assert.is_nil(complete.hint("not_found: no CI named 'x'", "relm.cmdb.get('x')"))
        assert.is_nil(complete.hint("attempt to call a nil value (field 'gett')", nil))
    end)
end)

describe("completion", function()
    it("completes names under relm.", function()
        assert.are.same({ "relm.sql" }, complete("relm.sq"))
        assert.are.same({ "relm.pretty.table" }, complete("relm.pretty.ta"))
        assert.are.same({ "relm.is_error" }, complete("relm.is"))
    end)

    it("offers lua/relm modules that are not loaded yet", function()
        local saved = rawget(relm, "pretty")
        local loaded = package.loaded["relm.pretty"]
        rawset(relm, "pretty", nil)
        package.loaded["relm.pretty"] = nil
        complete.reset()
        local got = complete("relm.pre")
        rawset(relm, "pretty", saved)
        package.loaded["relm.pretty"] = loaded
        assert.are.same({ "relm.pretty" }, got)
    end)

    it("offers C modules through package.preload, at any depth", function()
        with_fake_modules(function()
            assert.are.same({ "relm.zzdoc" }, complete("relm.zzd"))
            assert.are.same({ "relm.zzdoc.grow" }, complete("relm.zzdoc.gr"))
        end)
    end)

    it("hides the engine's plumbing and private names", function()
        assert.are.same({}, complete("relm.hel"))
        assert.are.same({}, complete("relm.ini"))
        assert.are.same({}, complete("relm.comp"))
        assert.are.same({}, complete("relm.sql.x"))
    end)

    it("completes globals and keywords", function()
        local got = complete("pri")
        assert.are.same({ "print" }, got)
        assert.are.same({ "while" }, complete("whil"))
        assert.is_true(#complete("") > 20)
    end)

    it("completes methods after a colon", function()
        _G.zz_text = "abc"
        local got = complete("zz_text:up")
        _G.zz_text = nil
        assert.are.same({ "zz_text:upper" }, got)
    end)

    it("returns nothing for paths that do not resolve", function()
        assert.are.same({}, complete("nosuch.thing"))
        assert.are.same({}, complete("relm..x"))
    end)

    it("names its argument when it is not a string", function()
        local ok, err = pcall(complete, 42)
        assert.is_false(ok)
        assert.matches("argument #1 %(word%)", err)
    end)
end)
