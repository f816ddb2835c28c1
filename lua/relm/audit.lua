-- relm/audit.lua: the occurrence log: every action on a release
-- (and every administrative write), append-only and hash-chained.
local A = require "relm.core.audit"

local M = {}

---Walk the hash chain. Returns true when every link holds, or false and
---the first broken link {id=, reason=} (a row altered, or deleted).
---@return boolean ok
---@return table? broken
function M.verify()
    local ok, info = A.verify()
    if ok then
        return true
    end
    return false, info
end

---The last occurrence's id and hash. Keep a copy elsewhere to detect a
---truncated tail, which the chain alone cannot show.
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
