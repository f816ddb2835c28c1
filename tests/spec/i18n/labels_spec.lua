-- labels_spec.lua: the shipped workflows' state and transition labels in
-- human output (issue 13): the printed desktop's task, a release's card
-- and relm.release.actions show the label in the reader's language, while
-- every value a program reads (state, task, JSON, CSV, action names) keeps
-- the identifier. The real binary, run under LANG (no locale generated:
-- relm finds its catalogue anyway).
local H = dofile("tests/fixtures/cli_helper.lua")

local SETUP = [[
relm.group.add{ name = "ops" }; relm.group.add_member("ops", "admin")
relm.release.register{ title = "Patch", workflow = "standard", executor_group = "ops" }
]]

-- relm -e code in dir under env; stdout.
local function run(dir, env, code)
    return (H.output(dir, "--db relm.db -e " .. H.q(code), { env = env }))
end

describe("workflow labels in human output", function()
    local dir
    setup(function()
        dir = H.fresh_dir("labels")
        run(dir, "", SETUP)
    end)

    for _, c in ipairs({
        { "LANG=pt_BR.UTF-8", "Registrada", "Autorizar", "Suspender" },
        { "LANG=es_ES.UTF-8", "Registrada", "Autorizar", "Suspender" },
        { "LANG=C", "Registered", "Authorize", "Suspend" },
    }) do
        local env, state, authorize, suspend = c[1], c[2], c[3], c[4]

        it("prints the desktop's task as the state's label (" .. env .. "), the data as identifiers", function()
            local out = run(dir, env, "relm.desktop()")
            assert.is_truthy(out:find("  " .. state .. "  ", 1, true), out)
            assert.is_nil(out:find("registered", 1, true), out)
            assert.are.equal("registered\n", run(dir, env, "print(relm.desktop()[1].task)"))
            local json = run(dir, env, 'print(relm.desktop{ format = "json" })')
            assert.is_truthy(json:find('"task":"registered"', 1, true), json)
            local csv = run(dir, env,
                'print(require("relm.pretty").render(relm.desktop(), relm.desktop.fields, "csv"))')
            assert.is_truthy(csv:find(",registered,", 1, true), csv)
        end)

        it("prints a release's state as its label, then the identifier (" .. env .. ")", function()
            local out = run(dir, env, "relm.release.get(1)")
            assert.is_truthy(out:find("\n  state +" .. state .. " %(registered%)\n"), out)
            assert.are.equal("registered\n", run(dir, env, "print(relm.release.get(1).state)"))
        end)

        it("prints the actions beside their labels, the list still of names (" .. env .. ")", function()
            local out = run(dir, env, "relm.release.actions(1)")
            assert.is_truthy(out:find("\nauthorize +" .. authorize .. "\n"), out)
            assert.is_truthy(out:find("\nsuspend +" .. suspend .. "\n"), out)
            -- delegate and share need only a target: offered in every language
            assert.are.equal("authorize,suspend,cancel,capture,delegate,share\n",
                run(dir, env, 'print(table.concat(relm.release.actions(1), ","))'))
        end)
    end
end)
