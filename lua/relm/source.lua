-- relm/source.lua: a designer's file as relm.workflow and relm.approval read
-- it (workflows, rule files): its text, and the name messages give it.

local M = {}

--- The text of the file at path, or nil and the reason it cannot be read.
---@param path string
---@return string? text
---@return string? err
function M.read_file(path)
    local f, err = io.open(path, "rb")
    if not f then
        return nil, err
    end
    local code = f:read("a")
    f:close()
    return code
end

--- The name a file shows in messages: relative to relm.home when under it.
---@param path string
---@return string
function M.display_name(path)
    local home = relm.home
    if home and path:sub(1, #home + 1) == home .. "/" then
        return path:sub(#home + 2)
    end
    return path
end

--- The entries of directory dir, for a generic for: name and kind as luv's
--- fs_scandir_next gives them (kind may be nil); none when dir cannot be
--- read. The directory is read to its end at once: luv frees a scandir
--- request's list only when fs_scandir_next reaches the end, so a loop
--- that breaks early would otherwise leak it.
---@param dir string
---@return fun(): string?, string?
function M.entries(dir)
    local uv = require "luv"
    local req = uv.fs_scandir(dir)
    local names, kinds = {}, {}
    while req do
        local name, kind = uv.fs_scandir_next(req)
        if not name then
            break
        end
        local n = #names + 1
        names[n], kinds[n] = name, kind
    end
    local i = 0
    return function()
        i = i + 1
        return names[i], kinds[i]
    end
end

return M
