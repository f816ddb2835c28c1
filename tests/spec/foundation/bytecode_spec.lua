-- bytecode_spec.lua: the engine's modules are read from their precompiled
-- bytecode (luac/, made by make) only while it belongs to this tree and is
-- not older than the source; otherwise from the source, as before.
local H = dofile("tests/fixtures/cli_helper.lua")
local q = H.q

local function sh(cmd)
    assert(os.execute(cmd), cmd)
end

-- A home holding a copy of lua/, with luac/relm/init.luac compiled from
-- init.lua with a global set first on its first line (so line numbers are
-- kept): `return BYTECODE_MARK` tells which of the two was run.
local function home_with_marked_bytecode(stamp)
    local home = H.fresh_dir("bytecode")
    sh("cp -R lua " .. q(home .. "/lua") .. " && mkdir -p " .. q(home .. "/luac/relm"))
    local src = H.read("lua/relm/init.lua")
    H.write(home .. "/marked.lua", "BYTECODE_MARK = 'bytecode'; " .. src)
    sh("lua5.4 core/lua/bytecode.lua " .. q(home .. "/marked.lua") .. " "
        .. q(home .. "/lua/relm/init.lua") .. " " .. q(home .. "/luac/relm/init.luac"))
    -- the source an hour older than its bytecode
    sh("touch -d '-1 hour' " .. q(home .. "/lua/relm/init.lua"))
    H.write(home .. "/luac/HOME", (stamp or home) .. "\n")
    return home
end

local function mark(home)
    return H.output(home, "--db t.db -e 'return BYTECODE_MARK or \"source\"'",
        { env = "RELM_HOME=" .. q(home) })
end

describe("engine bytecode", function()
    it("is used when luac/HOME names this home and it is not older than the source", function()
        assert.equal("bytecode\n", mark(home_with_marked_bytecode()))
    end)

    it("is passed over for a source edited after it was compiled", function()
        local home = home_with_marked_bytecode()
        sh("touch -d '+1 hour' " .. q(home .. "/lua/relm/init.lua"))
        assert.equal("source\n", mark(home))
    end)

    it("is passed over when it was compiled for another tree", function()
        assert.equal("source\n", mark(home_with_marked_bytecode("/somewhere/else")))
    end)

    it("keeps the engine's frames out of error locations (the build's own bytecode)", function()
        local dir = H.fresh_dir("bytecode")
        H.write(dir .. "/s.lua", "\n\nrelm.release.get(999999)\n")
        local code, _, err = H.relm(dir, "--db t.db run s.lua")
        assert.equal(1, code)
        assert.truthy(err:find("s.lua:3:", 1, true), err)
    end)
end)
