-- languages_spec.lua: relm in Brazilian Portuguese and Spanish (issue 13).
-- The real binary runs under LANG/LC_ALL/LC_MESSAGES/LANGUAGE with the
-- locales this spec generates (localedef into $LOCPATH), the README tour
-- included; error codes, identifiers and machine output stay English.
local H = dofile("tests/fixtures/cli_helper.lua")
local T = dofile("tests/fixtures/readme_tour.lua")

-- pt_BR.UTF-8 and es_ES.UTF-8 compiled from Debian's `locales` sources.
local LOCPATH = H.TMP .. "/locales"
local function generate_locales()
    assert(os.execute("mkdir -p " .. H.q(LOCPATH)))
    for _, l in ipairs({ "pt_BR", "es_ES" }) do
        local target = LOCPATH .. "/" .. l .. ".UTF-8"
        local ok = os.execute(("localedef -i %s -f UTF-8 %s 2>/dev/null"):format(l, H.q(target)))
        -- localedef exits 1 for warnings alone; the locale is there either way.
        assert(ok or io.open(target .. "/LC_MESSAGES"), "localedef " .. l)
    end
end

-- With LOCPATH set, a library relm links (p11-kit) leaks in glibc's
-- newlocale: the sanitized build (make asan) must not count it as relm's.
local here = assert(io.popen("pwd")):read("l")
local LSAN = "LSAN_OPTIONS=" .. H.q("suppressions=" .. here .. "/tests/fixtures/lsan.supp:print_suppressions=0")

-- relm with the environment env (a string of NAME=value words), in dir.
local function run(dir, env, args)
    local code, out, err = H.relm(dir, args, { env = LSAN .. " LOCPATH=" .. H.q(LOCPATH) .. " " .. env })
    return code, (out or "") .. (err or "")
end

local LANGS = {
    pt_BR = {
        env = "LANG=pt_BR.UTF-8",
        headers = { "número", "prazo", "atraso", "tarefa", "grupo" },
        counts = "^situação: +em execução 2, suspensas 0, atrasadas 0",
        bob = "relm: nenhum usuário ativo chamado 'bob'",
        usage = "uso: relm [OPÇÕES] COMANDO",
        help = "módulos do relm (help(relm.NOME) lista as funções de um módulo):",
        one_row = "(1 linha)", rows = "(2 linhas)",
    },
    es = {
        env = "LANG=es_ES.UTF-8",
        headers = { "número", "plazo", "retraso", "tarea", "grupo" },
        counts = "^situación: +en ejecución 2, suspendidas 0, atrasadas 0",
        bob = "relm: ningún usuario activo llamado 'bob'",
        usage = "uso: relm [OPCIONES] COMANDO",
        help = "módulos de relm (help(relm.NOMBRE) lista las funciones de un módulo):",
        one_row = "(1 fila)", rows = "(2 filas)",
    },
}

describe("relm in Portuguese and Spanish", function()
    setup(generate_locales)

    for lang, L in pairs(LANGS) do
        it("runs the README tour in " .. lang .. ": translated text, the same statuses and error codes", function()
            local steps = T.steps(assert(H.read("README.md")))
            local dir = H.fresh_dir("tour_" .. lang)
            local results = T.run(steps, dir, { "export LOCPATH=" .. H.q(LOCPATH), "export " .. L.env,
                "export " .. LSAN })
            local seen = { desktop = false, code = 0, bob = false }
            for i, s in ipairs(steps) do
                local r = assert(results[i], s.cmd)
                local where = ("README.md:%d: %s\n%s"):format(s.line, s.cmd, table.concat(r.lines, "\n"))
                local first = s.expect[1] or ""
                local prefix, code, msg = first:match("^(%(command line%):%d+: )([%w_]+): (.*)$")
                if first:match("^relm: ") or prefix then
                    assert.are_not.equal(0, r.rc, where)
                elseif not s.cmd:match("^echo %$%?") then
                    assert.are.equal(0, r.rc, where)
                end
                if prefix then
                    -- The code stays as scripts test it; the words change.
                    local got = r.lines[1] or ""
                    assert.are.equal(prefix .. code .. ": ", got:sub(1, #prefix + #code + 2), where)
                    if not s.cmd:find(msg, 1, true) then
                        assert.are_not.equal(first, got, where)
                        seen.code = seen.code + 1
                    end
                end
                if s.cmd:match("%-%-user bob") then
                    assert.are.equal(L.bob, r.lines[1], where)
                    seen.bob = true
                end
                if s.cmd:match("relm%.desktop%(%)'$") and not seen.desktop then
                    for _, h in ipairs(L.headers) do
                        assert.is_truthy(r.lines[1]:find(h, 1, true), where)
                    end
                    local counts = false
                    for _, line in ipairs(r.lines) do
                        counts = counts or line:match(L.counts) ~= nil
                    end
                    assert.is_true(counts, where)
                    seen.desktop = true
                end
            end
            assert.is_true(seen.desktop and seen.bob and seen.code > 0, "the tour shows a desktop and errors")
            -- Identifiers do not change: the release ends "closed".
            local code, status = run(dir, L.env, "--db tour.db -e 'print(relm.release.get(1).status)'")
            assert.are.equal(0, code)
            assert.are.equal("closed\n", status)
        end)

        it("shows --help, help() and counts in " .. lang, function()
            local dir = H.fresh_dir("help_" .. lang)
            local code, out = run(dir, L.env, "--help")
            assert.are.equal(0, code)
            assert.are.equal(L.usage, out:match("^[^\n]*"))
            code, out = run(dir, L.env, "-e 'help()'")
            assert.are.equal(0, code)
            assert.are.equal(L.help, out:match("^[^\n]*"))
            code, out = run(dir, L.env,
                [[-e 'print(relm.pretty.table({ { a = 1 } })) print(relm.pretty.table({ { a = 1 }, { a = 2 } }))']])
            assert.are.equal(0, code)
            assert.is_truthy(out:find(L.one_row, 1, true), out)
            assert.is_truthy(out:find(L.rows, 1, true), out)
        end)
    end

    it("writes dates and numbers the language's way in tables, never in machine output", function()
        local dir = H.fresh_dir("numbers")
        local script = [[-e 'print(relm.pretty.table({ { at = "2026-12-07T05:30:12Z", n = 1234567, x = 1.5,
            id = 2026 } }, { "at", "n", "x", "id" })) print(1.5, 1234567)']]
        local _, out = run(dir, "LANG=pt_BR.UTF-8", script)
        assert.is_truthy(out:find("07/12/2026 05:30  1.234.567  1,5  2026", 1, true), out)
        -- Lua's own printing: LC_NUMERIC stays C.
        assert.is_truthy(out:find("\n1.5\t1234567\n", 1, true), out)
        _, out = run(dir, "LANG=es_ES.UTF-8", script)
        assert.is_truthy(out:find("07/12/2026 05:30  1.234.567  1,5  2026", 1, true), out)
        _, out = run(dir, "LANG=C.UTF-8", script)
        assert.is_truthy(out:find("2026-12-07T05:30:12Z  1234567  1.5  2026", 1, true), out)
        -- CSV and JSON stay locale-independent.
        local sql = [[-e 'relm.sql("SELECT 1.5 AS x, 1234567 AS n, ? AS at", "2026-12-07T05:30:12Z")']]
        _, out = run(dir, "LANG=pt_BR.UTF-8", "--mode csv " .. sql)
        assert.are.equal("x,n,at\r\n1.5,1234567,2026-12-07T05:30:12Z\r\n", out)
        _, out = run(dir, "LANG=pt_BR.UTF-8", "--mode json " .. sql)
        assert.is_truthy(out:find('"x":1.5', 1, true) and out:find('"n":1234567', 1, true), out)
    end)

    it("falls back to English for an unknown locale, a missing catalogue or a label without the language", function()
        local dir = H.fresh_dir("fallback")
        local err = "(command line):1: not_found: no release numbered 'REL-0'"
        local get = [[-e 'relm.release.get("REL-0")']]
        local code, out = run(dir, "LANG=pt_BR.UTF-8", get)
        assert.are.equal(1, code)
        assert.are.equal("(command line):1: not_found: nenhuma liberação de número 'REL-0'\n", out)
        code, out = run(dir, "LANG=xx_YY.UTF-8", get)
        assert.are.equal(1, code)
        assert.are.equal(err .. "\n", out)
        code, out = run(dir, "LANG=pt_BR.UTF-8 RELM_LOCALEDIR=/nonexistent", get)
        assert.are.equal(1, code)
        assert.are.equal(err .. "\n", out)
        local label = [[-e 'print(relm.label({ en = "Closed", es = "Cerrada" }), relm.label("Open"))']]
        code, out = run(dir, "LANG=pt_BR.UTF-8", label)
        assert.are.equal(0, code)
        assert.are.equal("Closed\tOpen\n", out)
        code, out = run(dir, "LANG=es_ES.UTF-8", label)
        assert.are.equal(0, code)
        assert.are.equal("Cerrada\tOpen\n", out)
        -- The shipped workflows carry all three; names stay identifiers.
        local wf = [[-e 'local w = relm.workflow.load("standard")
            print(w.states.closed.name, w.states.closed.label)']]
        code, out = run(dir, "LANG=pt_BR.UTF-8", wf)
        assert.are.equal(0, code)
        assert.are.equal("closed\tEncerrada\n", out)
        code, out = run(dir, "LANG=es_ES.UTF-8", wf)
        assert.are.equal(0, code)
        assert.are.equal("closed\tCerrada\n", out)
    end)

    it("honours LC_ALL over LC_MESSAGES over LANG, and LANGUAGE", function()
        local dir = H.fresh_dir("vars")
        local get = [[-e 'relm.release.get("REL-0")']]
        local pt = "nenhuma liberação de número 'REL-0'"
        local es = "ninguna liberación con número 'REL-0'"
        local cases = {
            { "LANG=es_ES.UTF-8 LC_MESSAGES=pt_BR.UTF-8", pt },
            { "LC_MESSAGES=pt_BR.UTF-8 LC_ALL=es_ES.UTF-8", es },
            { "LANG=pt_BR.UTF-8 LANGUAGE=es", es },
            { "LANG=C LANGUAGE=es", "no release numbered 'REL-0'" },
        }
        for _, c in ipairs(cases) do
            local _, out = run(dir, c[1], get)
            assert.is_truthy(out:find(c[2], 1, true), c[1] .. ": " .. out)
        end
    end)

    it("speaks the language on a machine with no generated locales", function()
        local dir = H.fresh_dir("nolocale")
        local code, _, err = H.relm(dir, [[-e 'relm.release.get("REL-0")']],
            { env = LSAN .. " LOCPATH=" .. H.q(H.TMP .. "/no-locales") .. " LANG=es_ES.UTF-8" })
        assert.are.equal(1, code)
        assert.are.equal("(command line):1: not_found: ninguna liberación con número 'REL-0'\n", err)
    end)

    it("gives scripts relm._ and relm.n_ over the same catalogue", function()
        local dir = H.fresh_dir("script")
        local _, out = run(dir, "LANG=pt_BR.UTF-8",
            [[-e 'print(relm._("number"), relm.n_("(%d row)", "(%d rows)", 3):format(3))']])
        assert.are.equal("número\t(3 linhas)\n", out)
        local code
        code, out = run(dir, "LANG=pt_BR.UTF-8", [[-e 'relm._(1)']])
        assert.are.equal(1, code)
        assert.is_truthy(out:find("invalid_argument: relm._: o argumento #1 (msgid) deve ser um texto", 1, true), out)
    end)

    it("says why a second serve cannot start in the language, after a stable code, as serve's other refusals",
        function()
        local S = dofile("tests/fixtures/serve_helper.lua")
        local dir = H.fresh_dir("serve_busy")
        local db = dir .. "/ops.db"
        local first = S.spawn("cd " .. H.q(dir) .. " && " .. H.q(H.BIN) .. " --db ops.db serve", "busy_serve")
        assert.is_truthy(S.wait(function() return (S.read(first.log) or ""):find("started", 1, true) end))
        local want = {
            ["LANG=pt_BR.UTF-8"] = "relm: serve: busy: outro relm serve (pid " .. first.pid
                .. ") já está em execução em " .. db,
            ["LANG=es_ES.UTF-8"] = "relm: serve: busy: otro relm serve (pid " .. first.pid
                .. ") ya se está ejecutando en " .. db,
            ["LANG=C.UTF-8"] = "relm: serve: busy: another relm serve (pid " .. first.pid
                .. ") is already running on " .. db,
        }
        for env, line in pairs(want) do
            local code, out = run(dir, env, "--db " .. H.q(db) .. " serve")
            assert.are.equal(1, code, out)
            assert.are.equal(line, out:sub(1, #line), out)
        end
        -- the listen refusal next to it has the same form
        local code, out = run(dir, "LANG=pt_BR.UTF-8",
            "--db " .. H.q(dir .. "/other.db") .. " serve --listen 127.0.0.1:bad")
        assert.are.equal(1, code)
        assert.matches("^relm: serve: invalid_argument: ", out)
        S.kill(first, "TERM")
        S.stop_all()
    end)
end)

describe("make lint's i18n check", function()
    -- A tree of its own: a C file, a Lua file, the catalogue scripts.
    local function tree()
        local dir = H.fresh_dir("lint")
        assert(os.execute("mkdir -p " .. H.q(dir .. "/po") .. " && cp po/marks.py po/check.sh po/extract.sh "
            .. "po/helpdocs.lua po/unmarked.txt " .. H.q(dir .. "/po/")))
        H.write(dir .. "/a.c",
            'int f(void) { return relm_diag_set(d, "not_found", _("no CI named \'%s\'"), n); }\n')
        H.write(dir .. "/b.lua", 'local i18n = require "relm.i18n"\nrelm.error("not_found", i18n._("no such user"))\n')
        return dir
    end
    local function check(dir)
        local p = assert(io.popen("cd " .. H.q(dir)
            .. " && POT_C=a.c POT_LUA=b.lua LINGUAS=pt_BR sh po/check.sh 2>&1; echo \"rc=$?\""))
        local out = p:read("a")
        p:close()
        return tonumber(out:match("rc=(%d+)%s*$")), out
    end
    local function sh(dir, cmd)
        assert(os.execute("cd " .. H.q(dir) .. " && " .. cmd .. " > /dev/null 2>&1"), cmd)
    end

    it("passes a complete catalogue and fails on what issue 13 names", function()
        local dir = tree()
        sh(dir, "POT_C=a.c POT_LUA=b.lua sh po/extract.sh po/relm.pot")
        sh(dir, "msginit --no-translator -l pt_BR.UTF-8 -i po/relm.pot -o po/pt_BR.po")
        H.write(dir .. "/po/pt_BR.po", H.read(dir .. "/po/pt_BR.po")
            :gsub('msgid "no CI named \'%%s\'"\nmsgstr ""',
                'msgid "no CI named \'%%s\'"\nmsgstr "nenhum IC chamado \'%%s\'"')
            :gsub('msgid "no such user"\nmsgstr ""', 'msgid "no such user"\nmsgstr "usuário inexistente"'))
        local rc, out = check(dir)
        assert.are.equal(0, rc, out)
        -- (a) an unmarked message
        H.write(dir .. "/b.lua", H.read(dir .. "/b.lua") .. 'error("cannot read the rule file")\n')
        rc, out = check(dir)
        assert.are.equal(1, rc)
        assert.is_truthy(out:find('b.lua:3: message not marked for translation: "cannot read the rule file"', 1, true),
            out)
        -- (c) marked, but the template no longer matches the sources
        H.write(dir .. "/b.lua", H.read(dir .. "/b.lua"):gsub('error%("cannot read the rule file"%)',
            'error(i18n._("cannot read the rule file"))'))
        rc, out = check(dir)
        assert.are.equal(1, rc)
        assert.is_truthy(out:find("po/relm.pot is out of date", 1, true), out)
        -- (b) make pot: the new message arrives untranslated
        sh(dir, "POT_C=a.c POT_LUA=b.lua sh po/extract.sh po/relm.pot"
            .. " && msgmerge -q -U --backup=none po/pt_BR.po po/relm.pot")
        rc, out = check(dir)
        assert.are.equal(1, rc)
        assert.is_truthy(out:find("po/pt_BR.po: 1 untranslated entries", 1, true), out)
        -- (b) and a fuzzy one
        H.write(dir .. "/po/pt_BR.po", H.read(dir .. "/po/pt_BR.po")
            :gsub('msgid "cannot read the rule file"\nmsgstr ""',
                '#, fuzzy\nmsgid "cannot read the rule file"\nmsgstr "não foi possível ler"'))
        rc, out = check(dir)
        assert.are.equal(1, rc)
        assert.is_truthy(out:find("po/pt_BR.po: 1 fuzzy entries", 1, true), out)
    end)
end)
