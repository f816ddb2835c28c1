-- cas_spec.lua: compare-and-set with {version = row_version} on update and
-- act, as a script author uses it: a version that can never be read is
-- refused, not taken as "no check".
local H = dofile("tests/fixtures/release_helper.lua")

describe("relm.release {version = n}", function()
    setup(H.setup)

    it("refuses version 0 on update and act instead of skipping the check", function()
        local r = H.release()
        H.refused("invalid_argument", "row_version you read %(1 or more%), got 0", function()
            relm.release.update(r.id, { title = "lost" }, { version = 0 })
        end, r.id)
        H.refused("invalid_argument", "row_version you read %(1 or more%), got 0", function()
            relm.release.act(r.id, "authorize", { version = 0 })
        end, r.id)
        H.refused("invalid_argument", "got %-3", function()
            relm.release.act(r.id, "authorize", { version = -3, dry_run = true })
        end, r.id)
    end)

    it("names the release by its number in a conflict", function()
        local r = H.release()
        local v = relm.release.get(r.id).row_version
        relm.release.update(r.id, { title = "first" }, { version = v })
        H.refused("conflict", "release " .. r.number:gsub("%-", "%%-") .. " was written since you read it", function()
            relm.release.act(r.id, "authorize", { version = v })
        end, r.id)
    end)
end)
