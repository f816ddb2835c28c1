--- relm.i18n: translated messages for the Lua half, from the same gettext
--- catalogue as the C core. Mark every message a person reads:
---   local i18n = require "relm.i18n"
---   error(i18n._("no release numbered %s"):format(n))
---   i18n.n_("%d release", "%d releases", n):format(n)
--- Stable error codes and identifiers are never marked. Human output also
--- writes dates and numbers the way the language does (M.datetime,
--- M.number); machine output (JSON, CSV, relm.sql) never goes through them.
local core = require "relm.core.i18n"

local M = {}
local i18n = M -- so that xgettext (-ki18n._) finds the messages below

---@param msgid string English text
---@return string # its translation for the current locale, or msgid
function M._(msgid)
    return core._(msgid)
end

---Marks a message in a static table without translating it (translate it
---where it is shown, with i18n._).
---@param msgid string
---@return string msgid
function M.N_(msgid)
    return msgid
end

---@param singular string
---@param plural string
---@param n integer
---@return string # the form for n, translated
function M.n_(singular, plural, n)
    return core.n_(singular, plural, n)
end

---The language messages are shown in: "pt_BR", "es", or "en" (C locale).
---@return string
function M.language()
    return core.language()
end

---Whether relm has messages in lang ("pt_BR", "es"; "en" always).
---@param lang string
---@return boolean
function M.available(lang)
    return core.available(lang)
end

---fn(...) with messages, labels and M.language() in lang (one that
---M.available names), the language before restored when it returns or
---raises: a web page rendered in its reader's language while the process
---keeps its own. Returns fn's results.
---@param lang string
---@param fn function
---@return any ...
function M.within(lang, fn, ...)
    -- Always a scope, even for the process's language: an HTTP request
    -- runs in the "C" locale (the API answers in English) whatever
    -- M.language() says.
    local scope <close> = core.enter(lang) -- luacheck: ignore 211 (closed when fn is done)
    return fn(...)
end

---lang ("pt_BR") as a BCP 47 language tag ("pt-BR"), for HTML's lang
---attribute and the Content-Language header.
---@param lang string
---@return string
function M.tag(lang)
    return (lang:gsub("_", "-"))
end

-- The language among relm's catalogues a language range of an
-- Accept-Language header stands for: the range itself (pt-BR, es), else
-- its primary language (es-ES -> es), else the first catalogue of that
-- language (pt -> pt_BR); nil when relm has none.
local function catalogue_for(range)
    local primary, region = range:match("^(%a+)%-?(%w*)")
    if not primary then
        return nil
    end
    primary = primary:lower()
    if region ~= "" then
        local exact = primary .. "_" .. (#region == 2 and region:upper() or region)
        if M.available(exact) then
            return exact
        end
    end
    if M.available(primary) then
        return primary
    end
    for _, lang in ipairs(M.languages()) do
        if lang:match("^(%a+)") == primary then
            return lang
        end
    end
    return nil
end

---The languages relm has messages in: "en", then those its catalogue
---directory holds (es and pt_BR as shipped), sorted.
---@return string[]
function M.languages()
    return core.languages()
end

---The language to answer a reader in, from their Accept-Language header
---("pt-BR,pt;q=0.9,en;q=0.5"): the range they prefer most (q-values, then
---their order) that relm has messages in; "*" or nothing relm has gives
---default (the server's language when relm has it, else "en").
---@param header string|nil
---@param default? string
---@return string
function M.negotiate(header, default)
    default = default or core.language()
    if not M.available(default) then
        default = "en"
    end
    local ranges = {}
    for item in (header or ""):gmatch("[^,]+") do
        local range, params = item:match("^%s*([%w%-%*]+)%s*(.*)$")
        if range then
            local q = tonumber(params:match(";%s*[qQ]%s*=%s*([%d%.]+)") or "1") or 0
            if q > 0 then
                ranges[#ranges + 1] = { range = range, q = q, at = #ranges }
            end
        end
    end
    table.sort(ranges, function(a, b)
        if a.q ~= b.q then
            return a.q > b.q
        end
        return a.at < b.at
    end)
    for _, r in ipairs(ranges) do
        if r.range == "*" then
            return default
        end
        local lang = catalogue_for(r.range)
        if lang then
            return lang
        end
    end
    return default
end

---A label for the current language: a string as it is, or from a table
---{en = "...", pt_BR = "...", es = "..."} the entry for the language, else
---for its family ("pt" for "pt_PT"), else English. nil stays nil.
---@param label string|table|nil
---@return string|nil
function M.label(label)
    if type(label) ~= "table" then
        return label
    end
    local lang = core.language()
    return label[lang] or label[lang:match("^(%a+)_") or ""] or label.en
end

-- The language's way of writing numbers, read from the catalogue so a new
-- language needs only its .po: the separators are the characters its
-- translation puts in 1234567.5. Read once per language (a table prints
-- thousands of numbers; a web page may be in another language than the
-- process).
local formats = {} -- language -> {thousands=, decimal=, stamp=, date=}
local function formats_of()
    local lang = core.language()
    local f = formats[lang]
    if f == nil then
        -- TRANSLATORS: the number 1234567.5 as your language writes it, with
        -- its thousands separator and decimal mark (pt_BR: 1.234.567,5).
        local s = i18n._("1234567.5")
        f = { thousands = s:match("^1(%D*)234") or "", decimal = s:match("7(%D+)5$") or "." }
        formats[lang] = f
    end
    return f
end
local function separators()
    local f = formats_of()
    return f.thousands, f.decimal
end

---n as human output writes it in the current language: thousands grouped
---from 10,000 up (four-digit numbers stay whole, as Portuguese and
---Spanish typography want), the language's decimal mark. English is
---unchanged: 12345 and 1.5.
---@param n number
---@return string
function M.number(n)
    local s = math.type(n) == "float" and string.format("%.14g", n) or tostring(n)
    local thousands, decimal = separators()
    if thousands == "" and decimal == "." then
        return s
    end
    local sign, int, rest = s:match("^(-?)(%d+)(.*)$")
    if not int then
        return s -- inf, nan
    end
    if #int > 4 and thousands ~= "" then
        int = int:reverse():gsub("(%d%d%d)", "%1" .. thousands:gsub("%%", "%%%%")):reverse()
        int = int:gsub("^" .. thousands:gsub("%p", "%%%0"), "")
    end
    return sign .. int .. rest:gsub("^%.", decimal)
end

-- A Lua pattern for fmt: its magic characters escaped, each conversion
-- (%s, %d, %<PRId64>, ...) a capture.
local function pattern_of(fmt)
    local p = fmt:gsub("%%%%", "\0"):gsub("[%^%$%(%)%.%[%]%*%+%-%?]", "%%%0")
    p = p:gsub("%%<PRI%a+>", "(.-)"):gsub("%%[-+ #0]*%d*%.?%d*[lhzjt]*[sdiuqgfx]", "(.-)")
    return "^" .. p:gsub("\0", "%%%%") .. "$"
end

---The values a message made from msgid holds (as string captures), whether
---it was written in the current language or in English; nil when text is
---not that message. For code that reads its own messages back:
---i18n.match(err.message, "no CI named '%s'") -> "crm-db".
---@param text string
---@param msgid string
---@return string|nil ...
function M.match(text, msgid)
    local t = i18n._(msgid)
    if t ~= msgid and text:find(pattern_of(t)) then
        return text:match(pattern_of(t))
    end
    return text:match(pattern_of(msgid))
end

---The text of msgid, translated, before its first conversion: the part a
---message always starts with ("memory limit of " for "memory limit of %s exceeded").
---@param msgid string
---@return string
function M.prefix(msgid)
    return (i18n._(msgid):match("^(.-)%%") or i18n._(msgid))
end

---An ISO timestamp (2026-12-07T05:30:12Z) or date (2026-12-07) as human
---output writes it in the current language (07/12/2026 05:30 and 07/12/2026
---in pt_BR and es); the text as it is when it is neither or the language
---keeps ISO dates.
---@param stamp string
---@return string
function M.datetime(stamp)
    local y, mo, d, h, mi = stamp:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d)")
    if not y then
        y, mo, d = stamp:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
        if not y then
            return stamp
        end
        -- TRANSLATORS: how a date alone is written in tables (pt_BR:
        -- %d/%m/%Y); keep "%Y-%m-%d" to leave ISO dates as they are.
        local f = formats_of()
        f.date = f.date or i18n._("%Y-%m-%d")
        return (f.date:gsub("%%(%a)", { Y = y, m = mo, d = d }))
    end
    -- TRANSLATORS: how a date and time are written in tables: %Y year,
    -- %m month, %d day, %H hour, %M minute (pt_BR: %d/%m/%Y %H:%M). Keep
    -- "%Y-%m-%d" to leave ISO dates as they are.
    local f = formats_of()
    f.stamp = f.stamp or i18n._("%Y-%m-%d %H:%M")
    local fmt = f.stamp
    if fmt == "%Y-%m-%d %H:%M" then
        return stamp
    end
    local v = { Y = y, m = mo, d = d, H = h, M = mi }
    return (fmt:gsub("%%(%a)", function(k)
        return v[k] or ""
    end))
end

return M
