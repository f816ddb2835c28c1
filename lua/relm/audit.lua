-- relm/audit.lua: the occurrence log: every action on a release
-- (and every administrative write), append-only and hash-chained.
local A = require "relm.core.audit"

local M = {}

---Walk the hash chain. Returns true and the number of rows when every
---link holds, or false and the first broken link {id=, reason=, rows=}: a
---row altered, deleted, or inserted out of sequence. Given a head saved
---earlier (id and hash from relm.audit.head()), also checks that row is
---still there unchanged, which shows a truncated tail or a log rewritten
---with fresh hashes: the chain alone cannot (see docs/releases.md).
---@param id integer? a kept head's id
---@param hash string? a kept head's hash
---@return boolean ok
---@return integer|table rows_or_broken
function M.verify(id, hash)
    if id ~= nil and (math.type(id) ~= "integer" or type(hash) ~= "string") then
        relm.error("invalid_argument",
            "relm.audit.verify: give no arguments, or the id and hash relm.audit.head() returned", 2)
    end
    return A.verify(id, hash)
end

---The last occurrence's id and hash (0 and 64 zeros for an empty log).
---Keep them outside the database: relm.audit.verify(id, hash) later shows
---whether the log was truncated or rewritten since.
---@return integer id
---@return string hash
function M.head()
    return A.head()
end

---Occurrences, oldest first. filter: {subject=, subject_id=, actor=,
---action=, limit=}.
---@param filter table?
---@return table[]
function M.list(filter)
    filter = filter or {}
    if type(filter) ~= "table" then
        relm.error("invalid_argument", "relm.audit.list: argument #1 (filter) must be a table", 2)
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
