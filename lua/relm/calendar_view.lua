-- relm/calendar_view.lua: the calendar of releases and freeze windows, as a
-- text table for the REPL (relm.calendar.show) and an SVG Gantt (.svg).
local W = require "relm.core.window"
local R = require "relm.core.release"
local i18n = require "relm.i18n"

local M = {}

local function fail(code, msg)
    relm.error(code, msg, 1)
end

---Epoch seconds of an ISO-8601 time given to fn as argument what.
---@param v any
---@param fn string
---@param what string
---@return integer
function M.epoch(v, fn, what)
    local e = type(v) == "string" and R.seconds(v) or nil
    if not e then
        fail("invalid_argument", i18n._("%s: %s must be a date like \"2026-12-01\" or \"2026-12-01T08:00Z\", got %s")
            :format(fn, what, tostring(v)))
    end
    return e
end

-- The period asked for: {from=, to=} as epochs.
local function period(opts, fn)
    if type(opts) ~= "table" then
        fail("invalid_argument", i18n._("%s: argument #1 must be a table {from=, to=}, got %s"):format(fn, type(opts)))
    end
    require("relm.args").check_keys(opts, { "from", "to", "path", "width" }, fn)
    local from, to = M.epoch(opts.from, fn, "from"), M.epoch(opts.to, fn, "to")
    if to <= from then
        fail("invalid_argument", i18n._("%s: to (%s) is not after from (%s)"):format(fn, opts.to, opts.from))
    end
    return from, to
end

---What the calendar shows between from and to (epochs): releases by
---planned window (with their conflict counts, kept copy refreshed first)
---and window occurrences, each {kind=, name=, title=, starts=, ends=, s=,
---e=, conflicts=}, sorted by start.
---@param from integer
---@param to integer
---@return table[]
function M.rows(from, to)
    W.refresh()
    local out = {}
    local rels = relm.sql("SELECT r.id, r.number, r.title, r.planned_start, r.planned_end, "
        .. "coalesce(s.count, 0) AS conflicts FROM releases r LEFT JOIN release_conflict_state s "
        .. "ON s.release_id = r.id WHERE r.status IN ('open', 'suspended') AND r.planned_start < ? "
        .. "AND r.planned_end > ? ORDER BY r.planned_start, r.id", W.iso(to), W.iso(from))
    for _, r in ipairs(rels) do
        out[#out + 1] = { kind = "release", name = r.number, title = r.title, starts = r.planned_start,
            ends = r.planned_end, s = R.seconds(r.planned_start), e = R.seconds(r.planned_end),
            conflicts = r.conflicts }
    end
    for _, w in ipairs(relm.sql("SELECT id, name, kind, reason FROM windows ORDER BY name")) do
        for _, sp in ipairs(W.spans(w.id, from, to)) do
            out[#out + 1] = { kind = w.kind, name = w.name, title = w.reason, starts = W.iso(sp[1]),
                ends = W.iso(sp[2]), s = sp[1], e = sp[2] }
        end
    end
    table.sort(out, function(a, b)
        if a.s ~= b.s then return a.s < b.s end
        return a.name < b.name
    end)
    return out
end

---The calendar between from and to as a text table: one line per release
---(by planned window) and per window occurrence, with a bar over the
---period and "!" plus the count on releases that have conflicts.
---@param opts {from: string, to: string, width?: integer}
---@return string
function M.show(opts)
    local from, to = period(opts, "relm.calendar.show")
    local width = math.tointeger(opts.width) or 40
    local rows = M.rows(from, to)
    if #rows == 0 then
        return i18n._("no release and no window between %s and %s"):format(opts.from, opts.to)
    end
    local head = { i18n._("kind"), i18n._("name"), i18n._("starts"), i18n._("ends"), i18n._("conflicts"),
        W.iso(from):sub(1, 10) .. " .. " .. W.iso(to):sub(1, 10) }
    local lines = { head }
    local span = to - from
    for _, r in ipairs(rows) do
        local a = math.max(0, math.floor((r.s - from) / span * width))
        local b = math.min(width, math.max(a + 1, math.ceil((r.e - from) / span * width)))
        local ch = r.kind == "release" and "=" or r.kind == "blackout" and "#" or "-"
        local bar = (" "):rep(a) .. ch:rep(b - a) .. (" "):rep(width - b)
        local mark = ""
        if r.kind == "release" then
            mark = r.conflicts > 0 and ("! " .. r.conflicts) or "0"
        end
        lines[#lines + 1] = { r.kind, r.name, r.starts, r.ends, mark, "|" .. bar .. "|" }
    end
    local widths = {}
    for _, l in ipairs(lines) do
        for i, c in ipairs(l) do
            widths[i] = math.max(widths[i] or 0, utf8.len(c) or #c)
        end
    end
    local out = {}
    for _, l in ipairs(lines) do
        local cells = {}
        for i, c in ipairs(l) do
            cells[i] = c .. (" "):rep(widths[i] - (utf8.len(c) or #c))
        end
        out[#out + 1] = table.concat(cells, "  "):gsub("%s+$", "")
    end
    return table.concat(out, "\n")
end

local function esc(s)
    return (tostring(s or ""):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

-- Geometry of the picture.
M.svg_layout = { left = 240, width = 1000, row = 24, top = 40, bar = 16 }

---The calendar between from and to as an SVG Gantt: releases as bars (one
---row each, red when they have conflicts), blackout windows shaded and
---maintenance windows outlined over the whole height, a line at now, and
---labels. With path= writes it to that file and returns the path.
---@param opts {from: string, to: string, path?: string}
---@return string svg the SVG text, or the path it was written to
function M.svg(opts)
    local fn = "relm.calendar.svg"
    local from, to = period(opts, fn)
    local L = M.svg_layout
    local rows = M.rows(from, to)
    local rels = {}
    for _, r in ipairs(rows) do
        if r.kind == "release" then
            rels[#rels + 1] = r
        end
    end
    local height = L.top + L.row * math.max(1, #rels) + 20
    local scale = (L.width - L.left - 10) / (to - from)
    local function x(t)
        return L.left + math.max(0, math.min(to - from, t - from)) * scale
    end
    local out = {
        ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
            .. 'data-from="%s" data-to="%s" data-scale="%.9f">'):format(L.width, height, L.width, height,
            W.iso(from), W.iso(to), scale),
        ('<title>%s</title>'):format(esc(i18n._("Releases and freeze windows, %s to %s")
            :format(W.iso(from), W.iso(to)))),
        ('<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>'):format(L.left, L.top - 4,
            L.width - 10, L.top - 4),
        ('<text class="label" x="%d" y="%d" font-size="11">%s</text>'):format(L.left, L.top - 10,
            esc(W.iso(from):sub(1, 10))),
        ('<text class="label" x="%d" y="%d" font-size="11" text-anchor="end">%s</text>'):format(L.width - 10,
            L.top - 10, esc(W.iso(to):sub(1, 10))),
    }
    for _, r in ipairs(rows) do
        if r.kind ~= "release" then
            local a, b = x(r.s), x(r.e)
            local style = r.kind == "blackout" and 'fill="#000" fill-opacity="0.15"'
                or 'fill="none" stroke="#2a7" stroke-dasharray="4 2"'
            out[#out + 1] = ('<rect class="%s" data-window="%s" data-starts="%s" data-ends="%s" x="%.3f" y="%d" '
                .. 'width="%.3f" height="%d" %s><title>%s</title></rect>'):format(r.kind, esc(r.name), r.starts,
                r.ends, a, L.top, b - a, height - L.top - 20, style,
                esc(("%s %s: %s to %s"):format(r.kind, r.name, r.starts, r.ends)))
        end
    end
    for i, r in ipairs(rels) do
        local y = L.top + (i - 1) * L.row + (L.row - L.bar) // 2
        local a, b = x(r.s), x(r.e)
        local cls = r.conflicts > 0 and "release conflict" or "release"
        local fill = r.conflicts > 0 and "#d33" or "#37c"
        out[#out + 1] = ('<rect class="%s" data-number="%s" data-starts="%s" data-ends="%s" '
            .. 'data-conflicts="%d" x="%.3f" y="%d" width="%.3f" height="%d" fill="%s"><title>%s</title></rect>')
            :format(cls, esc(r.name), r.starts, r.ends, r.conflicts, a, y, math.max(1, b - a), L.bar, fill,
                esc(("%s %s: %s to %s"):format(r.name, r.title, r.starts, r.ends)))
        out[#out + 1] = ('<text class="label" x="%d" y="%d" font-size="12">%s%s</text>'):format(4, y + L.bar - 3,
            esc(r.name .. " " .. r.title):sub(1, 36), r.conflicts > 0 and (" !" .. r.conflicts) or "")
    end
    local now = R.now()
    if now >= from and now < to then
        out[#out + 1] = ('<line class="today" x1="%.3f" y1="%d" x2="%.3f" y2="%d" stroke="#c00"/>'):format(x(now),
            L.top - 8, x(now), height - 10)
    end
    out[#out + 1] = "</svg>"
    local svg = table.concat(out, "\n")
    if opts.path ~= nil then
        local f, err = io.open(opts.path, "w")
        if not f then
            fail("io_error", ("%s: %s"):format(fn, err))
        end
        f:write(svg, "\n")
        f:close()
        return opts.path
    end
    return svg
end

return M
