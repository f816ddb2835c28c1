-- rooms_spec.lua: `make lint` refuses a Lua or libuv header included outside
-- the rooms that may (docs/internals.md), through its check-rooms step.
local H = dofile("tests/fixtures/cli_helper.lua")

--- Run `make check-rooms` over tree; exit code and output.
local function check(tree)
    local p = assert(io.popen("make -s --no-print-directory check-rooms ROOMS_TREE="
        .. H.q(tree) .. " 2>&1; echo $?"))
    local out = p:read("a")
    p:close()
    return tonumber(out:match("(%d+)%s*$")), out
end

--- A tree holding files (path -> text).
local function tree(files)
    local dir = H.fresh_dir("rooms")
    for path, text in pairs(files) do
        assert(os.execute("mkdir -p " .. H.q(dir .. "/" .. path:match("^(.*)/"))))
        H.write(dir .. "/" .. path, text)
    end
    return dir
end

describe("the rooms check of make lint", function()
    it("passes on this tree", function()
        local code, out = check(".")
        assert.are.equal(0, code, out)
    end)

    it("allows Lua in core/lua and repl, libuv in core/lua, loop, http and repl", function()
        local code, out = check(tree {
            ["core/lua/l_x.c"] = "#include <lua.h>\n#include <lauxlib.h>\n#include <uv.h>\n",
            ["repl/x.c"] = "#include <lualib.h>\n#include <uv.h>\n#include \"lua/host.h\"\n",
            ["core/loop/x.c"] = "#include <uv.h>\n",
            ["core/http/x.c"] = "#include <uv.h>\n",
            ["core/base/x.c"] = "#include <sqlite3.h>\n/* lua.h is not included here */\n",
        })
        assert.are.equal(0, code, out)
    end)

    it("refuses each header outside its rooms, naming file and line", function()
        local code, out = check(tree {
            ["core/base/a.c"] = "#include <stdio.h>\n#include <lua.h>\n",
            ["core/cmdb/b.h"] = "# include \"lauxlib.h\"\n",
            ["core/c.c"] = "#include \"lua/host.h\"\n",
            ["core/loop/d.c"] = "#include <lualib.h>\n",
            ["core/base/e.c"] = "#include <uv.h>\n",
            ["core/lua/ok.c"] = "#include <uv.h>\n",
        })
        assert.are_not.equal(0, code)
        for _, where in ipairs { "core/base/a.c:2:", "core/cmdb/b.h:1:", "core/c.c:1:",
                                 "core/loop/d.c:1:", "core/base/e.c:1:" } do
            assert.truthy(out:find(where, 1, true), where .. " not reported in:\n" .. out)
        end
        assert.falsy(out:find("core/lua/ok.c", 1, true))
    end)
end)
