-- relm/reload.lua: what a running `relm serve` re-reads: everything on
-- SIGHUP, and after a commit elsewhere what changed on disk. Each module
-- keeping definitions read from files (workflows, approval rules, hook
-- files, templates) registers how; a file that fails keeps its old
-- definitions and is reported with file:line.
local i18n = require "relm.i18n"

local M = {}

-- name -> {fn = re-read, changed = files changed since read?}, in order.
local kinds, order = {}, {}

---Register how to re-read the definitions called name. fn() re-reads them,
---keeping the old version of any that fails, and returns the problems
---found (each "file:line: message"), or an empty list. changed(), when
---given, says whether a file was written since it was last read (see
---M.mtime). Registering a name again replaces it.
---@param name string e.g. "workflow", "approval rules"
---@param fn fun(): string[]
---@param changed (fun(): boolean)?
function M.register(name, fn, changed)
    if type(name) ~= "string" or name == "" then
        relm.error("invalid_argument", i18n._("relm.reload.register: argument #1 (name) must be a non-empty string"), 2)
    end
    if type(fn) ~= "function" then
        relm.error("invalid_argument", i18n._("relm.reload.register: argument #2 (fn) must be a function"), 2)
    end
    if changed ~= nil and type(changed) ~= "function" then
        relm.error("invalid_argument",
            i18n._("relm.reload.register: argument #3 (changed) must be a function or nil"), 2)
    end
    if not kinds[name] then
        order[#order + 1] = name
    end
    kinds[name] = { fn = fn, changed = changed }
end

---A file's modification time as text ("" when it cannot be read): what a
---module keeps when it reads a file, to tell later whether it changed.
---@param path string
---@return string
function M.mtime(path)
    local st = type(path) == "string" and require("luv").fs_stat(path)
    if not st then
        return ""
    end
    return ("%d.%09d"):format(st.mtime.sec, st.mtime.nsec)
end

---What a module read from directory dir (the files, *.lua, it read), with
---their modification times: keep it and ask dir_changed later.
---@param dir string
---@param files string[] paths dir .. "/" .. name
---@return table snapshot
function M.snapshot(dir, files)
    local stamps = {}
    for _, f in ipairs(files) do
        stamps[f] = M.mtime(f)
    end
    return { dir = dir, files = files, stamps = stamps }
end

---Whether a *.lua file of the snapshot's directory was written, added or
---removed since the snapshot (false for nil or no directory).
---@param snap table? from M.snapshot
---@return boolean
function M.dir_changed(snap)
    if not snap or not snap.dir or snap.dir == "" then
        return false
    end
    local n = 0
    for name, kind in require("relm.source").entries(snap.dir) do
        if (kind == "file" or kind == nil) and name:match("%.lua$") then
            n = n + 1
            local f = snap.dir .. "/" .. name
            if snap.stamps[f] == nil or snap.stamps[f] ~= M.mtime(f) then
                return true
            end
        end
    end
    return n ~= #snap.files
end

-- Re-read the kinds named in names; the problems as {what=, message=},
-- with n = how many kinds were read.
local function run(names)
    local out = { n = #names }
    for _, name in ipairs(names) do
        local ok, problems = pcall(kinds[name].fn)
        if not ok then
            problems = { tostring(problems) }
        end
        for _, p in ipairs(problems or {}) do
            out[#out + 1] = { what = name, message = tostring(p) }
        end
    end
    return out
end

---Re-read every registered kind of definition now; returns the problems as
---{what=, message=} (empty when everything read cleanly), with n = the
---number of kinds read.
---@return table
function M.all()
    return run(order)
end

---Re-read only the kinds whose files changed since they were read (n = 0
---when none did).
---@return table
function M.changed()
    local names = {}
    for _, name in ipairs(order) do
        local changed = kinds[name].changed
        if changed and changed() then
            names[#names + 1] = name
        end
    end
    return run(names)
end

-- serve calls these in the engine's state (core/lua/serve_engine.c).
M._engine = { all = M.all, changed = M.changed }

return M
