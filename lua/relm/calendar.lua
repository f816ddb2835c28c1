-- relm/calendar.lua: business calendars (docs/calendars.md): weekly hours,
-- holidays and a time zone; the SLA clock of a release counts their time.
local C = require "relm.core.calendar"
local cjson = require "cjson"
local i18n = require "relm.i18n"

local M = {}

local COLUMNS = { "name", "tz", "week", "holidays" }
local DAYS = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" }

-- The week in one line, runs of days with the same hours joined:
-- "mon-fri 08:00-12:00 13:00-18:00".
local function week_text(hours)
    local parts, i = {}, 1
    while i <= 7 do
        local h = table.concat(hours[DAYS[i]] or {}, " ")
        local j = i
        while j < 7 and table.concat(hours[DAYS[j + 1]] or {}, " ") == h do
            j = j + 1
        end
        if h ~= "" then
            parts[#parts + 1] = (i == j and DAYS[i] or DAYS[i] .. "-" .. DAYS[j]) .. " " .. h
        end
        i = j + 1
    end
    return table.concat(parts, ", ")
end

-- A stored row as the user wrote it: hours and holidays decoded, and the
-- week in one line to read.
local function decode(row)
    local hours = cjson.decode(row.hours)
    return setmetatable({
        name = row.name, tz = row.tz, hours = hours, week = week_text(hours),
        holidays = cjson.decode(row.holidays), created_at = row.created_at,
    }, { __name = "relm.calendar" })
end

---Define (or replace) a calendar. Administrators only. hours: per weekday
---(mon..sun) a list of "HH:MM-HH:MM" local intervals (end may be 24:00);
---holidays: local dates "YYYY-MM-DD"; tz: a tz database zone. Raises
---invalid_argument naming the weekday, interval or date that is wrong,
---permission_denied.
---@param spec {name: string, tz: string, hours: table<string, string[]>, holidays?: string[]}
function M.define(spec)
    if type(spec) ~= "table" then
        relm.error("invalid_argument",
            i18n._("relm.calendar.define: argument #1 must be a table {name=, tz=, hours=, holidays=}"), 2)
    end
    C.define(spec)
end

---Every calendar, by name.
---@return table[]
function M.list()
    local out = {}
    for i, r in ipairs(relm.sql("SELECT name, tz, hours, holidays, created_at FROM calendars ORDER BY name")) do
        out[i] = decode(r)
    end
    return setmetatable(out, { __name = "relm.rows", columns = COLUMNS })
end

---One calendar. Raises not_found.
---@param name string
---@return table
function M.get(name)
    if type(name) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.calendar.get: argument #1 (name) must be a string"), 2)
    end
    local r = relm.sql("SELECT name, tz, hours, holidays, created_at FROM calendars WHERE name = ?", name)[1]
    if not r then
        relm.error("not_found", i18n._("no calendar named '%s' (relm.calendar.list())"):format(name), 2)
    end
    return decode(r)
end

---Remove a calendar no model or open release names. Administrators only.
---Raises not_found, conflict, permission_denied.
---@param name string
function M.remove(name)
    if type(name) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.calendar.remove: argument #1 (name) must be a string"), 2)
    end
    C.remove(name)
end

---Business seconds of calendar name between two instants (epoch seconds
---or ISO-8601 text); nil name counts 24x7.
---@param name string
---@param from integer|string
---@param to integer|string
---@return integer
function M.business_seconds(name, from, to)
    if type(name) ~= "string" then
        relm.error("invalid_argument",
            i18n._("relm.calendar.business_seconds: argument #1 (name) must be a string"), 2)
    end
    return C.seconds(name, from, to)
end

---The instant (epoch seconds) at which `seconds` business seconds of
---calendar name after `from` are used up: a deadline.
---@param name string
---@param from integer|string
---@param seconds integer
---@return integer
function M.after(name, from, seconds)
    if type(name) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.calendar.after: argument #1 (name) must be a string"), 2)
    end
    if math.type(seconds) ~= "integer" then
        relm.error("invalid_argument", i18n._("relm.calendar.after: argument #3 (seconds) must be an integer"), 2)
    end
    return C.after(name, from, seconds)
end

-- The calendar view of releases and windows (relm.calendar.svg, .show)
-- lives in relm.calendar_view: its functions are found through here,
-- loaded on first use.
setmetatable(M, {
    __index = function(_, k)
        return require("relm.calendar_view")[k]
    end,
})

return M
