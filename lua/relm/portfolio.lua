-- relm/portfolio.lua: portfolios of release models written as
-- Lua templates (portfolios/*.lua), kept in the database (portfolios,
-- models). See docs/portfolios.md for the template language.
local i18n = require "relm.i18n"
local P = require "relm.core.portfolio"
local cjson = require "cjson"
local template = require "relm.template"

local M = {}

local MODEL_KEYS = {
    description = "string", type = "string", workflow = "string", executor_group = "string",
    calendar = "string", impact = "string", urgency = "string", risk = "string", category = "string",
    sla_hours = "number", sla_warning_percent = "number", status = "string", email = "table", planning = "table",
    deployment = "table", notes = "table",
}
local EMAIL_KEYS = { creation = true, actions = true, closure = true }
local ACTIVITY_KEYS = {
    title = "string", description = "string", group = "string", assignee = "string",
    estimate_hours = "number", order = "number",
}

-- "a, b, c": the names of a field table, sorted, for "unknown field" messages.
local function known(keys)
    local names = {}
    for k in pairs(keys) do
        names[#names + 1] = k
    end
    table.sort(names)
    return table.concat(names, ", ")
end

-- The error a template raised through bad(): the sandbox reports script
-- errors under its own code, so the original is kept here to re-raise.
local template_error

-- Raise invalid_field naming the template file and what is wrong.
local function bad(where, msg)
    local ok, err = pcall(relm.error, "invalid_field", where .. ": " .. msg, 0)
    assert(not ok)
    template_error = err
    error(err, 0)
end

-- A planning/deployment activity: a title, or a table of ACTIVITY_KEYS.
local function activity(where, a, i)
    if type(a) == "string" then
        return { title = a, order = i }
    end
    if type(a) ~= "table" then
        bad(where, i18n._("activity #") .. i .. i18n._(" must be a title or a table"))
    end
    for k, v in pairs(a) do
        if ACTIVITY_KEYS[k] == nil then
            bad(where, i18n._("activity #") .. i .. i18n._(": unknown field '") .. tostring(k) .. i18n._("' (known: ")
                .. known(ACTIVITY_KEYS) .. ")")
        elseif type(v) ~= ACTIVITY_KEYS[k] then
            bad(where, i18n._("activity #") .. i .. ": " .. k .. i18n._(" must be a ") .. ACTIVITY_KEYS[k])
        end
    end
    if type(a.title) ~= "string" then
        bad(where, i18n._("activity #") .. i .. i18n._(" needs a title"))
    end
    local out = {}
    for k, v in pairs(a) do
        out[k] = v
    end
    out.order = out.order or i
    return out
end

-- Check and flatten one model of a template into what the core stores.
local function normalise_model(file, pname, name, spec, line)
    local where = ("%s: portfolio '%s', model '%s'"):format(file, pname, name)
    for k, v in pairs(spec) do
        if MODEL_KEYS[k] == nil then
            bad(where, i18n._("unknown field '") .. tostring(k) .. i18n._("' (known: ") .. known(MODEL_KEYS) .. ")")
        elseif type(v) ~= MODEL_KEYS[k] then
            bad(where, k .. i18n._(" must be a ") .. MODEL_KEYS[k] .. i18n._(", got ") .. type(v))
        end
    end
    for _, k in ipairs({ "impact", "urgency", "risk" }) do
        local v = spec[k]
        if v ~= nil and v ~= "low" and v ~= "medium" and v ~= "high" then
            bad(where, k .. i18n._(" must be low, medium or high, got '") .. v .. "'")
        end
    end
    if spec.status ~= nil and spec.status ~= "new" and spec.status ~= "active" and spec.status ~= "retired" then
        bad(where, i18n._("status must be new, active or retired, got '") .. spec.status .. "'")
    end
    if spec.sla_hours ~= nil and spec.sla_hours <= 0 then
        bad(where, i18n._("sla_hours must be positive"))
    end
    local pct = spec.sla_warning_percent
    if pct ~= nil and (math.type(pct) ~= "integer" or pct <= 0 or pct >= 100) then
        bad(where, i18n._("sla_warning_percent must be an integer 1-99"))
    end
    for k, t in pairs(spec.email or {}) do
        if not EMAIL_KEYS[k] then
            bad(where, i18n._("email: unknown template '") .. tostring(k) .. i18n._("' (creation, actions, closure)"))
        end
        -- Placeholders and recipients are checked now, at the model's line,
        -- rather than found wrong when serve renders the mail.
        local problem = template.check(t)
        if problem then
            bad(("%s:%d: portfolio '%s', model '%s'"):format(file, line or 0, pname, name),
                "email." .. k .. ": " .. problem)
        end
    end
    local prefill = { planning = {}, deployment = {}, notes = {} }
    for _, phase in ipairs({ "planning", "deployment" }) do
        for i, a in ipairs(spec[phase] or {}) do
            prefill[phase][i] = activity(where .. ", " .. phase, a, i)
        end
    end
    for i, n in ipairs(spec.notes or {}) do
        if type(n) ~= "string" then
            bad(where, i18n._("notes #") .. i .. i18n._(" must be a string"))
        end
        prefill.notes[i] = n
    end
    local m = {
        name = name, description = spec.description, type = spec.type, workflow = spec.workflow,
        executor_group = spec.executor_group, calendar = spec.calendar, impact = spec.impact,
        urgency = spec.urgency, risk = spec.risk, category = spec.category,
        sla_hours = spec.sla_hours, status = spec.status, sla_warning_percent = spec.sla_warning_percent,
        templates = cjson.encode(spec.email or {}),
        prefill = cjson.encode(prefill),
    }
    if next(spec.email or {}) == nil then
        m.templates = "{}"
    end
    return m
end

-- Run a template: `portfolio "name" { ... }` once, then `model "name" {
-- ... }` for each model. The file sees only those two words; anything
-- else it names is an error. Returns {name=, description=, models=}.
local function read_template(path)
    local f, err = io.open(path, "r")
    if not f then
        relm.error("not_found", i18n._("portfolio template: ") .. tostring(err), 0)
    end
    local text = f:read("a")
    f:close()
    local file = path:match("[^/]+$")
    local result = { models = {} }
    local seen = {}
    local env = {}
    function env.portfolio(name)
        if type(name) ~= "string" then
            bad(file, i18n._('write portfolio "name" { description = "..." }'))
        end
        if result.name then
            bad(file, i18n._("one portfolio per file ('") .. result.name .. i18n._("' already)"))
        end
        return function(spec)
            if type(spec) ~= "table" then
                bad(file, i18n._('write portfolio "') .. name .. i18n._('" { description = "..." }'))
            end
            for k in pairs(spec) do
                if k ~= "description" and k ~= "calendar" and k ~= "sla_warning_percent" then
                    bad(file, i18n._("portfolio '") .. name .. i18n._("': unknown field '") .. tostring(k) .. "'")
                end
            end
            result.name = name
            result.description = spec.description
            -- What every model of the portfolio takes unless it names its own.
            result.defaults = { calendar = spec.calendar, sla_warning_percent = spec.sla_warning_percent }
        end
    end
    function env.model(name)
        local line = debug.getinfo(2, "l").currentline
        if type(name) ~= "string" then
            bad(file, i18n._('write model "name" { workflow = "...", ... }'))
        end
        return function(spec)
            if not result.name then
                bad(file, i18n._("model '") .. name .. i18n._("' comes before the portfolio line"))
            end
            if type(spec) ~= "table" then
                bad(file, i18n._('write model "') .. name .. i18n._('" { workflow = "...", ... }'))
            end
            if seen[name] then
                bad(file, i18n._("model '") .. name .. i18n._("' is defined twice"))
            end
            seen[name] = true
            local full = {}
            for k, v in pairs(result.defaults) do
                full[k] = v
            end
            for k, v in pairs(spec) do
                full[k] = v
            end
            result.models[#result.models + 1] = normalise_model(file, result.name, name, full, line)
        end
    end
    setmetatable(env, {
        __index = function(_, k)
            bad(file, i18n._("unknown name '") .. tostring(k) .. i18n._("' (a template knows portfolio and model)"))
        end,
        __newindex = function(_, k)
            bad(file, i18n._("templates cannot set globals ('") .. tostring(k) .. "')")
        end,
    })
    -- Text only, in the sandbox: a template that loops or eats memory
    -- fails with the sandbox's message instead of hanging the engine.
    local SB = require "relm.core.sandbox"
    local lok, chunk = pcall(SB.load, text, "@" .. path, env)
    if not lok then
        relm.error("invalid_field", i18n._("portfolio template: ") .. tostring(chunk.message or chunk), 0)
    end
    template_error = nil
    local ok, rerr = pcall(SB.call, chunk)
    if not ok then
        local original = template_error
        template_error = nil
        if original then
            error(original, 0)
        end
        relm.error("invalid_field", i18n._("portfolio template ") .. file .. ": " .. tostring(rerr.message or rerr), 0)
    end
    if not result.name then
        bad(file, i18n._('no portfolio "name" { ... } line'))
    end
    return result
end

---Load (or reload) the portfolio template at path into the database,
---replacing models of the same names. Administrators only. Returns the
---portfolio's name. Raises not_found, invalid_field, permission_denied.
---@param path string
---@return string
function M.load(path)
    if type(path) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.portfolio.load: argument #1 (path) must be a string"), 2)
    end
    local t = read_template(path)
    P.sync(t.name, t.description, path:match("[^/]+$"), t.models, true)
    return t.name
end

local synced = false

---Add the shipped templates (portfolios/*.lua under relm.home) that are
---not in the database yet; models already there are left as they are.
---Administrators only (it writes portfolios, models and executor groups).
---Runs by itself once per process on an administrator's first use of
---relm.portfolio (or of register{portfolio=, model=}) and before
---relm.user.add, so a database has them before anyone else can act.
---Returns the names synced.
---@return string[]
function M.sync()
    synced = true
    local names = {}
    local dir = relm.home .. "/portfolios"
    for _, file in ipairs(P.templates(dir)) do
        local t = read_template(dir .. "/" .. file)
        P.sync(t.name, t.description, file, t.models, false)
        names[#names + 1] = t.name
    end
    return names
end

---Sync the shipped templates if this process has not yet and the acting
---user may (see sync). For relm.user.add and the readers below.
function M.ensure_synced()
    if not synced and relm.user.is_admin() then
        M.sync()
    end
    synced = true
end
local ensure_synced = M.ensure_synced

local json = require "relm.json"

-- A model row as Lua reads it: templates in the reader's language (a
-- template written per language falls back to English), the templates as
-- written in templates_by_language.
local function decode_model(r)
    r.templates_by_language = cjson.decode(r.templates)
    r.templates = {}
    for k, v in pairs(r.templates_by_language) do
        r.templates[k] = template.localize(v)
    end
    r.prefill = json.decode(r.prefill)
    return r
end

-- The shipped templates whose portfolio is not in the database: what a
-- non-administrator sees of a database no administrator has set up yet
-- (read from the files, marked loaded = false, and not registrable).
local function unloaded_templates()
    local out = {}
    local dir = relm.home .. "/portfolios"
    for _, file in ipairs(P.templates(dir)) do
        local ok, t = pcall(read_template, dir .. "/" .. file)
        if ok and not relm.sql("SELECT 1 FROM portfolios WHERE name = ?", t.name)[1] then
            t.source, t.loaded = file, false
            for _, m in ipairs(t.models) do
                m.portfolio, m.loaded = t.name, false
                decode_model(m)
                m.type, m.workflow, m.status = m.type or "normal", m.workflow or "standard", m.status or "active"
            end
            table.sort(t.models, function(a, b) return a.name < b.name end)
            out[#out + 1] = t
        end
    end
    return out
end

---Every portfolio with its models: array of {name=, description=,
---models={ {name=, type=, workflow=, executor_group=, status=, ...} }}.
---@return table[]
function M.list()
    ensure_synced()
    local out, by = {}, {}
    for _, p in ipairs(relm.sql("SELECT id, name, description, source FROM portfolios ORDER BY name")) do
        local e = { name = p.name, description = p.description, source = p.source, models = {} }
        out[#out + 1] = e
        by[p.id] = e
    end
    for _, m in ipairs(relm.sql("SELECT * FROM models ORDER BY portfolio_id, name")) do
        local e = by[m.portfolio_id]
        m = decode_model(m)
        m.portfolio = e.name
        e.models[#e.models + 1] = m
    end
    if not relm.user.is_admin() then
        for _, t in ipairs(unloaded_templates()) do
            out[#out + 1] = t
        end
        table.sort(out, function(a, b) return a.name < b.name end)
    end
    return out
end

local MODEL_COLUMNS = {
    "portfolio", "name", "type", "workflow", "executor_group", "impact", "urgency", "sla_hours", "status",
}

---Every model of every portfolio as one row each, by portfolio and name:
---{portfolio=, name=, type=, workflow=, executor_group=, impact=,
---urgency=, sla_hours=, status=, ...}: the catalogue at a glance (the
---REPL prints it as a table).
---@return table[]
function M.models()
    local out = {}
    for _, p in ipairs(M.list()) do
        for _, m in ipairs(p.models) do
            out[#out + 1] = m
        end
    end
    return setmetatable(out, { __name = "relm.rows", columns = MODEL_COLUMNS })
end

---One model of a portfolio (with id, portfolio_id, defaults, templates
---and prefill). Raises not_found.
---@param portfolio string
---@param model string
---@return table
function M.model(portfolio, model)
    if type(portfolio) ~= "string" or type(model) ~= "string" then
        relm.error("invalid_argument", i18n._("relm.portfolio.model: portfolio and model names (strings) expected"), 2)
    end
    ensure_synced()
    local rows = relm.sql([[SELECT m.* FROM models m JOIN portfolios p ON p.id = m.portfolio_id
        WHERE p.name = ? AND m.name = ?]], portfolio, model)
    if not rows[1] then
        if not relm.sql("SELECT 1 FROM portfolios WHERE name = ?", portfolio)[1] then
            for _, t in ipairs(relm.user.is_admin() and {} or unloaded_templates()) do
                if t.name == portfolio then
                    relm.error("not_found", i18n._("portfolio '") .. portfolio
                        .. i18n._("' is shipped but not loaded into ")
                        .. i18n._("this database yet: an administrator loads it (relm.portfolio.sync(), or any ")
                        .. i18n._("relm.portfolio call made as an administrator)"), 2)
                end
            end
            relm.error("not_found", i18n._("no portfolio named '") .. portfolio
                .. i18n._("' (see relm.portfolio.list())"), 2)
        end
        relm.error("not_found", i18n._("portfolio '") .. portfolio .. i18n._("' has no model '") .. model .. "'", 2)
    end
    local m = decode_model(rows[1])
    m.portfolio = portfolio
    return m
end

---Set a model's status: "new", "active" or "retired" (only active models
---can be used to register releases). Administrators only.
---@param portfolio string
---@param model string
---@param status string
function M.set_status(portfolio, model, status)
    if type(portfolio) ~= "string" or type(model) ~= "string" or type(status) ~= "string" then
        relm.error("invalid_argument",
            i18n._("relm.portfolio.set_status: portfolio, model and status (strings) expected"), 2)
    end
    P.model_status(portfolio, model, status)
end

---A model's e-mail template (creation, actions or closure) in the reader's
---language: templates is the model's templates (the JSON text kept in the
---database, or its table); a template written per language falls back to
---English when the language is missing. nil when the model has none.
---@param templates string|table
---@param name string
---@return string|nil
function M.template(templates, name)
    if type(templates) == "string" then
        templates = cjson.decode(templates)
    end
    if type(templates) ~= "table" or type(name) ~= "string" then
        relm.error("invalid_argument",
            i18n._("relm.portfolio.template: arguments must be a model's templates and a name"), 2)
    end
    return template.localize(templates[name])
end

return M
