-- relm/priority.lua: the rule that turns impact and urgency into a priority
-- 1 (most urgent) .. 5, and a priority into a default SLA allowance.
-- Process designers may replace M.rule (see docs/releases.md).
local i18n = require "relm.i18n"
local M = {}

local rank = { low = 1, medium = 2, high = 3 }

-- The reference matrix, rows = impact, columns = urgency:
--            urgency: high  medium  low
--   impact high         1      2     3
--   impact medium       2      3     4
--   impact low          3      4     5
M.matrix = {
    high = { high = 1, medium = 2, low = 3 },
    medium = { high = 2, medium = 3, low = 4 },
    low = { high = 3, medium = 4, low = 5 },
}

-- Default time limit per priority, in hours.
M.sla_hours = { [1] = 4, [2] = 8, [3] = 24, [4] = 72, [5] = 120 }

---The default rule: look the pair up in M.matrix.
---@param impact "low"|"medium"|"high"
---@param urgency "low"|"medium"|"high"
---@return integer priority 1..5
function M.default_rule(impact, urgency)
    return M.matrix[impact][urgency]
end

---The rule in force; replace it to change how priorities are computed.
---@type fun(impact: string, urgency: string, release: table?): integer
M.rule = M.default_rule

---Priority for impact x urgency through the rule in force.
---@param impact string low, medium or high
---@param urgency string low, medium or high
---@param release table? the release being computed, for custom rules
---@return integer
function M.compute(impact, urgency, release)
    if not rank[impact] then
        relm.error("invalid_field", i18n._("impact: must be low, medium or high, got ") .. tostring(impact))
    end
    if not rank[urgency] then
        relm.error("invalid_field", i18n._("urgency: must be low, medium or high, got ") .. tostring(urgency))
    end
    local p = M.rule(impact, urgency, release)
    if math.type(p) ~= "integer" or p < 1 or p > 5 then
        relm.error("invalid_field", i18n._("the priority rule returned ") .. tostring(p)
            .. i18n._(", not an integer 1-5"))
    end
    return p
end

---Default SLA allowance in seconds for a priority.
---@param priority integer 1..5
---@return integer
function M.sla_seconds(priority)
    return math.floor(M.sla_hours[priority] * 3600)
end

return M
