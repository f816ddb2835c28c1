-- relm/audit.lua: the occurrence log: every action on a release
-- (and every administrative write), append-only and hash-chained.
local i18n = require "relm.i18n"
local A = require "relm.core.audit"

local M = {}

---Verify the occurrence log and what it vouches for. Returns true and the
---number of rows when all holds, or false and a report {id=, reason=,
---rows=, releases=, problems={{kind=, id=, reason=}, ...}, more=}; id and
---reason repeat the first problem. Kinds: "chain" (a row altered, deleted,
---or inserted out of sequence: the walk stops at the first), "anchor" (a
---kept head is gone or rewritten), "schema" (a trigger, table or view the
---log depends on dropped or redefined), "release" (a release that is not
---what its last occurrence's snapshot says, has no occurrence, or is
---gone). Given an anchor kept outside the database (relm.audit.head()'s
---third result), also checks the chain still holds it, which shows a
---truncated tail or a log rewritten with fresh hashes: the chain alone
---cannot (docs/internals.md, "The audit chain").
---
---    relm.audit.verify()
---    relm.audit.verify { anchor = "120:5f3a..." }
---    relm.audit.verify(120, "5f3a...")      -- the same, older form
---@param opts_or_id (table|integer)? {anchor = "id:hash"} or a kept head's id
---@param hash string? a kept head's hash (with an id)
---@return boolean ok
---@return integer|table rows_or_report
function M.verify(opts_or_id, hash)
    local id = opts_or_id
    if type(opts_or_id) == "table" then
        require("relm.args").check_keys(opts_or_id, { "anchor" }, "relm.audit.verify")
        local anchor = opts_or_id.anchor
        id, hash = nil, nil
        if anchor ~= nil then
            local sid, shash
            if type(anchor) == "string" then
                sid, shash = anchor:match("^(%d+):(%x+)$")
            end
            if not sid or #shash ~= 64 then
                relm.error("invalid_argument",
                    i18n._("relm.audit.verify: anchor must be the 'id:hash' text relm.audit.head() returned"), 2)
            end
            id, hash = math.tointeger(tonumber(sid)), shash
        end
    end
    if id ~= nil and (math.type(id) ~= "integer" or type(hash) ~= "string") then
        relm.error("invalid_argument", i18n._("relm.audit.verify: give no arguments, {anchor = 'id:hash'}, ")
            .. i18n._("or the id and hash relm.audit.head() returned"), 2)
    end
    return A.verify(id, hash)
end

---The last occurrence's id and hash (0 and 64 zeros for an empty log), and
---the two as one anchor text "id:hash". Write the anchor down outside the
---database (a ticket, a signed mail): relm.audit.verify{anchor = ...}
---later shows whether the log was truncated or rewritten since.
---@return integer id
---@return string hash
---@return string anchor
function M.head()
    local id, hash = A.head()
    return id, hash, id .. ":" .. hash
end

---Occurrences, oldest first. filter: {subject=, subject_id=, actor=,
---action=, limit=}.
---@param filter table?
---@return table[]
function M.list(filter)
    filter = filter or {}
    if type(filter) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.audit.list: argument #1 (filter) must be a table"), 2)
    end
    return relm.sql([[
        SELECT id, at, actor, subject, subject_id, action, from_state, to_state,
               justification_id, note
        FROM occurrences
        WHERE (:subject IS NULL OR subject = :subject)
          AND (:subject_id IS NULL OR subject_id = :subject_id)
          AND (:actor IS NULL OR actor = :actor)
          AND (:action IS NULL OR action = :action)
        ORDER BY id LIMIT coalesce(:limit, -1)]], {
        subject = filter.subject, subject_id = filter.subject_id, actor = filter.actor,
        action = filter.action, limit = filter.limit,
    })
end

return M
