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
--- read.
---@param dir string
---@return fun(): string?, string?
function M.entries(dir)
    local uv = require "luv"
    local req = uv.fs_scandir(dir)
    return function()
        if req then
            return uv.fs_scandir_next(req)
        end
    end
end

return M
