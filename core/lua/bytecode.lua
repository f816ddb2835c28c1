-- bytecode.lua: precompile one of the engine's Lua modules for the host's
-- searcher (core/lua/host.c, luac_searcher), keeping its debug information
-- and giving it the chunk name it would have if read from HOME:
--   lua5.4 core/lua/bytecode.lua SOURCE CHUNKNAME OUT
local source, chunkname, out = arg[1], arg[2], arg[3]
local f = assert(io.open(source, "rb"))
local text = f:read("a")
f:close()
local fn = assert(load(text, "@" .. chunkname, "t"))
local o = assert(io.open(out, "wb"))
assert(o:write(string.dump(fn)))
assert(o:close())
