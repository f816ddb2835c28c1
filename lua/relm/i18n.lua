--- relm.i18n: translated messages for the Lua half, from the same gettext
--- catalogue as the C core. Mark every message a person reads:
---   local i18n = require "relm.i18n"
---   error(i18n._("no release numbered %s"):format(n))
---   i18n.n_("%d release", "%d releases", n):format(n)
--- Stable error codes and identifiers are never marked.
local core = require "relm.core.i18n"

local M = {}

---@param msgid string English text
---@return string # its translation for the current locale, or msgid
function M._(msgid)
    return core._(msgid)
end

---@param singular string
---@param plural string
---@param n integer
---@return string # the form for n, translated
function M.n_(singular, plural, n)
    return core.n_(singular, plural, n)
end

return M
