-- helpdocs.lua OUT FILE...: append the doc texts help() shows (docs/languages.md)
-- to the message template OUT, for po/extract.sh to merge into po/relm.pot.
--
-- Lua files (lua/relm/*.lua) are read by help.lua's own parser
-- (relm.help.doc_texts), so each msgid is exactly the text help() looks
-- up. C files give their `docs[][2]` tables of one-line docs for help():
-- the module's line (`_module`) and the part of "(args) -> result: text"
-- after the colon. Every entry carries `#. help()` for translators.
-- Run with plain lua5.4 from the top of the tree: relm.help needs only its
-- parser here, so the engine modules it requires are stood in for.
local root = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/.."
package.path = root .. "/lua/?.lua;" .. package.path
package.preload["relm.complete"] = function() return {} end
package.preload["relm.i18n"] = function() return { _ = function(s) return s end } end

local out_path = assert(arg[1], "usage: lua po/helpdocs.lua OUT FILE...")

local entries, order = {}, {}

local function add(text, file, line)
    if not entries[text] then
        entries[text] = {}
        order[#order + 1] = text
    end
    local refs = entries[text]
    refs[#refs + 1] = file .. ":" .. line
end

-- The value of a C string literal's body (the escapes a doc would use).
local function c_unescape(body)
    local map = { n = "\n", t = "\t", ['"'] = '"', ["\\"] = "\\", ["'"] = "'" }
    return (body:gsub("\\(.)", function(c) return map[c] or "\\" .. c end))
end

-- The string literals of a piece of C, in order, unescaped.
local function c_literals(code)
    local strs, i = {}, 1
    while true do
        local q = code:find('"', i, true)
        if not q then
            return strs
        end
        local j = q + 1
        while code:sub(j, j) ~= '"' do
            j = j + (code:sub(j, j) == "\\" and 2 or 1)
            assert(j <= #code, "unterminated string literal")
        end
        strs[#strs + 1] = c_unescape(code:sub(q + 1, j - 1))
        i = j + 1
    end
end

-- The one-line docs of a C file: the entries of each `docs[][2] = {...};`.
local function c_docs(path)
    local f = assert(io.open(path, "r"))
    local src = f:read("a")
    f:close()
    local pos = 1
    while true do
        local s, e = src:find("docs%[%]%[2%]%s*=%s*{", pos)
        if not s then
            break
        end
        local stop = assert(src:find("\n%s*};", e), path .. ": docs table without its end")
        local block = src:sub(e + 1, stop)
        local offset = e
        for at, entry in block:gmatch("()(%b{})") do
            local strs = c_literals(entry)
            if #strs >= 2 then
                local key, value = strs[1], table.concat(strs, "", 2)
                local text = value
                if key ~= "_module" and value:sub(1, 1) == "(" then
                    text = select(2, value:match("^(%b().-):%s+(.*)$"))
                end
                local line = select(2, src:sub(1, offset + at):gsub("\n", "")) + 1
                if text and text:match("%S") then
                    add(text, path, line)
                end
            end
        end
        pos = stop
    end
end

for i = 2, #arg do
    local path = arg[i]
    if path:match("%.lua$") then
        for _, t in ipairs(require("relm.help").doc_texts(path)) do
            add(t.text, path, t.line)
        end
    elseif path:match("%.c$") then
        c_docs(path)
    end
end

-- A PO string: quoted, with the escapes gettext reads.
local function po_string(s)
    return '"' .. s:gsub('[\\"\n\t]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\t"] = "\\t" }) .. '"'
end

-- Appended: po/extract.sh has written xgettext's header there.
local o = assert(io.open(out_path, "a"))
for _, text in ipairs(order) do
    o:write("#. help()\n")
    for _, ref in ipairs(entries[text]) do
        o:write("#: ", ref, "\n")
    end
    o:write("msgid ", po_string(text), "\nmsgstr \"\"\n\n")
end
o:close()
