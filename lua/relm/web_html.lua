-- relm/web_html.lua: the HTML pieces of the web desktop (escaping, the
-- page frame, tables, forms, SVG bar charts), shared by its pages.
local i18n = require "relm.i18n"

local M = {}

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

---Text made safe inside HTML elements and attribute values.
---@param v any
---@return string
function M.esc(v)
    if v == nil then
        return ""
    end
    if type(v) == "table" then
        local parts = {}
        for i, x in ipairs(v) do
            parts[i] = type(x) == "table" and tostring(x.name or x.target or "") or tostring(x)
        end
        v = table.concat(parts, ", ")
    end
    return (tostring(v):gsub("[&<>\"']", ESC))
end
local esc = M.esc

---A query string (a=1&b=2) percent-encoded from a table, keys sorted.
---@param t table
---@return string
function M.query(t)
    local keys = {}
    for k, v in pairs(t) do
        if v ~= nil and v ~= "" then
            keys[#keys + 1] = k
        end
    end
    table.sort(keys)
    for i, k in ipairs(keys) do
        keys[i] = k .. "=" .. tostring(t[k]):gsub("[^%w%-%._~]", function(c)
            return ("%%%02X"):format(c:byte())
        end)
    end
    return table.concat(keys, "&")
end

---The whole page: lang attribute, skip link, navigation (with the user
---and a logout form when someone is logged in), main landmark.
---@param req table the request (user, csrf_token)
---@param title string
---@param body string HTML
---@return string
function M.page(req, title, body)
    local nav = ""
    if req.user then
        nav = ([[<nav aria-label="%s"><ul>
<li><a href="/">%s</a></li><li><a href="/releases/new">%s</a></li>
<li><a href="/search">%s</a></li><li><a href="/calendar">%s</a></li></ul>
<form method="post" action="/logout" class="logout">%s<span>%s</span> <button type="submit">%s</button></form></nav>]])
            :format(esc(i18n._("Main")), esc(i18n._("Queue")), esc(i18n._("Register")), esc(i18n._("Search")),
                esc(i18n._("Calendar")), M.csrf(req), esc(req.user), esc(i18n._("Log out")))
    end
    return ([[<!doctype html>
<html lang="%s" data-changed="%s"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s · relm</title><link rel="stylesheet" href="/web/app.css"><link rel="icon" href="data:,"></head>
<body><a class="skip" href="#main">%s</a>
<header><span class="brand">relm</span>%s</header>
<main id="main" tabindex="-1"><h1>%s</h1>
%s</main><script src="/web/app.js" defer></script></body></html>
]]):format(esc(i18n.tag(i18n.language())),
        esc(i18n._("Something here changed: reload")), esc(title), esc(i18n._("Skip to content")), nav,
        esc(title), body)
end

---The hidden CSRF field every form that writes carries.
---@param req table
---@return string
function M.csrf(req)
    return ('<input type="hidden" name="csrf" value="%s">'):format(esc(req.csrf_token or ""))
end

---A table: columns = {{key, label}, ...}; cell(row, key) -> HTML
---(default: the escaped value). attrs(row) -> extra attributes of a row.
---@param caption string
---@param columns table
---@param rows table[]
---@param cell? fun(row: table, key: string): string
---@param attrs? fun(row: table): string
---@return string
function M.table(caption, columns, rows, cell, attrs)
    local out = { '<div class="scroll"><table><caption>', esc(caption), "</caption><thead><tr>" }
    for _, c in ipairs(columns) do
        out[#out + 1] = '<th scope="col">' .. esc(c[2]) .. "</th>"
    end
    out[#out + 1] = "</tr></thead><tbody>"
    for _, r in ipairs(rows) do
        out[#out + 1] = "<tr" .. (attrs and attrs(r) or "") .. ">"
        for _, c in ipairs(columns) do
            out[#out + 1] = "<td>" .. (cell and cell(r, c[1]) or esc(r[c[1]])) .. "</td>"
        end
        out[#out + 1] = "</tr>"
    end
    if #rows == 0 then
        out[#out + 1] = ('<tr><td colspan="%d">%s</td></tr>'):format(#columns, esc(i18n._("(nothing)")))
    end
    out[#out + 1] = "</tbody></table></div>"
    return table.concat(out)
end

---A labelled input. kind: "text" (default), "password", "select"
---(options = {{value, label}, ...}), "textarea".
---@param name string
---@param label string
---@param opts? {kind?: string, value?: string, options?: table, required?: boolean, id?: string, autocomplete?: string}
---@return string
function M.field(name, label, opts)
    opts = opts or {}
    local id = opts.id or ("f-" .. name)
    local req = opts.required and " required" or ""
    local control
    if opts.kind == "select" then
        local o = {}
        for _, op in ipairs(opts.options or {}) do
            o[#o + 1] = ('<option value="%s"%s>%s</option>'):format(esc(op[1]),
                tostring(op[1]) == tostring(opts.value) and " selected" or "", esc(op[2]))
        end
        control = ('<select id="%s" name="%s"%s>%s</select>'):format(esc(id), esc(name), req, table.concat(o))
    elseif opts.kind == "textarea" then
        control = ('<textarea id="%s" name="%s" rows="2"%s>%s</textarea>'):format(esc(id), esc(name), req,
            esc(opts.value))
    else
        control = ('<input id="%s" name="%s" type="%s" value="%s"%s%s>'):format(esc(id), esc(name),
            opts.kind or "text", esc(opts.value), req, opts.autocomplete and (' autocomplete="' .. opts.autocomplete
                .. '"')
            or "")
    end
    return ('<div class="field"><label for="%s">%s</label>%s</div>'):format(esc(id), esc(label), control)
end

---A horizontal bar chart as inline SVG, with a text equivalent: bars =
---{{label, count}, ...}.
---@param title string
---@param bars table
---@return string
function M.chart(title, bars)
    local max = 1
    for _, b in ipairs(bars) do
        max = math.max(max, b[2])
    end
    local row, label_w, bar_w = 22, 110, 160
    local h = row * math.max(#bars, 1) + 4
    local out = { ('<figure class="chart"><figcaption>%s</figcaption>'):format(esc(title)),
        ('<svg role="img" aria-label="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet">')
            :format(esc(title), label_w + bar_w + 40, h) }
    local desc = {}
    for i, b in ipairs(bars) do
        local y = (i - 1) * row + 2
        local w = math.floor(bar_w * b[2] / max + 0.5)
        out[#out + 1] = ('<text x="0" y="%d" class="l">%s</text><rect x="%d" y="%d" width="%d" height="%d"/>'
            .. '<text x="%d" y="%d" class="n">%d</text>'):format(y + 15, esc(b[1]), label_w, y + 3, w, row - 6,
            label_w + w + 4, y + 15, b[2])
        desc[#desc + 1] = esc(b[1]) .. " " .. b[2]
    end
    out[#out + 1] = ('</svg><p class="sr">%s</p></figure>'):format(table.concat(desc, ", "))
    return table.concat(out)
end

return M
