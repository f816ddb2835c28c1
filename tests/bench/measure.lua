-- measure.lua: the timing loops the benchmark scripts share. Load with
-- local measure = dofile(arg[0]:gsub("[^/]*$", "") .. "measure.lua")
-- measure(rounds, fn) runs fn rounds times and returns the fastest and the
-- median CPU seconds (os.clock) and what the last run returned.
-- measure.interleaved(rounds, subject, baseline) times both in alternate
-- rounds, so that load on the machine hits both sides alike.
local M = {}

setmetatable(M, {
    __call = function(_, rounds, fn)
        local t, n = {}, nil
        for i = 1, rounds do
            local t0 = os.clock()
            n = fn()
            t[i] = os.clock() - t0
        end
        table.sort(t)
        return t[1], t[(rounds + 1) // 2], n
    end,
})

--- Run subject and baseline once each to warm up, then rounds times in
--- turn (subject first). Returns the fastest and the median CPU seconds
--- (os.clock: the process's, its threads included) of subject, then of
--- baseline.
function M.interleaved(rounds, subject, baseline)
    subject()
    baseline()
    local ts, tb = {}, {}
    for i = 1, rounds do
        local t0 = os.clock()
        subject()
        ts[i] = os.clock() - t0
        t0 = os.clock()
        baseline()
        tb[i] = os.clock() - t0
    end
    table.sort(ts)
    table.sort(tb)
    local mid = (rounds + 1) // 2
    return ts[1], ts[mid], tb[1], tb[mid]
end

return M
