-- relm/progress.lua: how long work tells how far it got: a callback
-- progress(done, total) for scripts, a progress line on a terminal.
local M = {}

--- Least seconds between two reports (~10 a second at most).
M.interval = 0.1
--- Seconds of work before a terminal line appears: quick work prints none.
M.delay = 1

-- luv is bound to the engine's own loop and always preloaded (lua/host.c).
local i18n = require "relm.i18n"
local uv = require "luv"

local function now()
    return uv.hrtime() / 1e9
end

-- Standard error is a terminal (the line is drawn there, so that a
-- script's stdout piped elsewhere stays clean).
local function stderr_is_tty()
    return uv.guess_handle(2) == "tty"
end

local function count(n)
    local s = tostring(math.floor(n))
    local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
    return (out:gsub("^,", ""))
end

local function duration(s)
    s = math.floor(s + 0.5)
    if s < 60 then
        return s .. "s"
    elseif s < 3600 then
        return ("%dm%02ds"):format(s // 60, s % 60)
    end
    return ("%dh%02dm"):format(s // 3600, s % 3600 // 60)
end

---@class relm.progress
---@field total integer|nil
local Progress = {}
Progress.__index = Progress

--- The text of the terminal line for done of total after elapsed seconds:
--- "export x.csv: 12,000/200,000 rows (6%), 48,000 rows/s, ETA 4s".
---@param label string
---@param done integer
---@param total integer|nil
---@param elapsed number
---@param unit? string
---@return string
function M.line(label, done, total, elapsed, unit)
    unit = unit or "rows"
    local rate = elapsed > 0 and done / elapsed or 0
    local s = label .. ": " .. count(done)
    if total and total > 0 then
        s = s .. "/" .. count(total) .. " " .. unit .. (" (%d%%)"):format(math.floor(done * 100 / total))
    else
        s = s .. " " .. unit
    end
    s = s .. ", " .. count(rate) .. " " .. unit .. "/s"
    if total and total > 0 and rate > 0 and done < total then
        s = s .. ", ETA " .. duration((total - done) / rate)
    end
    return s
end

--- A progress reporter, or nil when there is nobody to tell: no callback
--- and standard error is not a terminal (a batch job's log gets nothing).
---@param opts {total?: integer, label?: string, unit?: string, terminal?: boolean,
---  callback?: fun(done: integer, total: integer|nil)}
---@return relm.progress|nil
function M.new(opts)
    if type(opts) ~= "table" then
        relm.error("invalid_argument", i18n._("relm.progress.new: argument #1 (opts) must be a table"), 2)
    end
    if opts.callback ~= nil and type(opts.callback) ~= "function" then
        relm.error("invalid_argument", i18n._("relm.progress.new: opts.callback must be a function(done, total)"), 2)
    end
    local terminal = opts.callback == nil and (opts.terminal or (opts.terminal == nil and stderr_is_tty()))
    if opts.callback == nil and not terminal then
        return nil
    end
    local t = now()
    return setmetatable({
        total = opts.total, label = opts.label or "progress", unit = opts.unit or "rows",
        callback = opts.callback, terminal = terminal, started = t, last = t, drawn = false,
    }, Progress)
end

--- Report done (of total): calls the callback, or redraws the terminal
--- line, at most once per M.interval seconds.
---@param done integer
function Progress:update(done)
    local t = now()
    if t - self.last < M.interval then
        return
    end
    self.last = t
    if self.callback then
        self.callback(done, self.total)
    elseif t - self.started >= M.delay then
        io.stderr:write("\r", M.line(self.label, done, self.total, t - self.started, self.unit), "\27[K")
        io.stderr:flush()
        self.drawn = true
    end
end

--- The work is over: the callback hears the final count once more; a
--- terminal line is finished with the totals and a line break.
---@param done integer
function Progress:done(done)
    local t = now()
    if self.callback then
        self.callback(done, self.total)
    elseif self.drawn then
        io.stderr:write("\r", M.line(self.label, done, self.total, t - self.started, self.unit), "\27[K\n")
        io.stderr:flush()
    end
end

--- A progress(done, total) function that draws the terminal line, for
--- work that reports through its own hook (relm.cmdb.import's C hook calls
--- progress(bytes_read, file_size)); nil when standard error is not a
--- terminal (force = true draws anyway). The line is finished when done
--- reaches total.
---@param label string
---@param unit? string
---@param force? boolean
---@return fun(done: integer, total: integer|nil)|nil
function M.terminal(label, unit, force)
    local p = M.new { label = label, unit = unit, terminal = force or nil }
    if not p then
        return nil
    end
    return function(done, total)
        p.total = total
        if total and done >= total then
            p:done(done)
        else
            p:update(done)
        end
    end
end

return M
