-- measure.lua: the timing loop the benchmark scripts share. Load with
-- local measure = dofile(arg[0]:gsub("[^/]*$", "") .. "measure.lua")
-- measure(rounds, fn) runs fn rounds times and returns the fastest and the
-- median CPU seconds (os.clock) and what the last run returned.
return function(rounds, fn)
    local t, n = {}, nil
    for i = 1, rounds do
        local t0 = os.clock()
        n = fn()
        t[i] = os.clock() - t0
    end
    table.sort(t)
    return t[1], t[(rounds + 1) // 2], n
end
