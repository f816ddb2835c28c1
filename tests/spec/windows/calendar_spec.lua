-- calendar_spec.lua: the calendar view: a text table in the REPL and an
-- SVG Gantt whose bars, parsed back by python3's XML parser, sit where
-- their dates say.
local H = dofile("tests/spec/windows/helper.lua")

-- The SVG at path as rows of element attributes (python3 xml.etree).
local function parse(path)
    local cmd = "python3 -c 'import sys, json, xml.etree.ElementTree as E\n"
        .. "root = E.parse(sys.argv[1]).getroot()\n"
        .. "out = [dict(e.attrib, tag=e.tag.split(\"}\")[-1]) for e in root.iter()]\n"
        .. "print(json.dumps(out))' " .. path
    local p = assert(io.popen(cmd))
    local text = p:read("a")
    assert(p:close(), "python3 could not parse the SVG")
    return require("cjson").decode(text)
end

describe("relm.calendar", function()
    setup(H.setup)
    before_each(H.clear)

    it("show lists releases and window occurrences, conflicts marked", function()
        relm.window.add { name = "freeze", kind = "blackout", starts = "2027-06-10T00:00Z", duration = "1d",
            cis = { "db-01" } }
        local a = H.release("2027-06-10T10:00:00Z", "2027-06-10T12:00:00Z", { "db-01" })
        local b = H.release("2027-06-20T10:00:00Z", "2027-06-20T12:00:00Z", { "db-02" })
        local text = relm.calendar.show { from = "2027-06-01", to = "2027-07-01" }
        local function line_of(number)
            for l in text:gmatch("[^\n]+") do
                if l:find(number, 1, true) then return l end
            end
        end
        local la, lb = line_of(a.number), line_of(b.number)
        assert.is_truthy(la:find("! 1", 1, true), text)
        assert.is_falsy(lb:find("!", 1, true), text)
        assert.is_truthy(text:find("blackout%s+freeze"), text)
        H.refused("invalid_argument", "is not after", relm.calendar.show, { from = "2027-07-01", to = "2027-06-01" })
    end)

    it("svg draws bars where their dates are, blackouts shaded, maintenance outlined", function()
        relm.window.add { name = "freeze", kind = "blackout", starts = "2027-06-10T00:00Z", duration = "1d",
            cis = { "db-01" } }
        relm.window.add { name = "sundays", kind = "maintenance", starts = "2027-06-06T00:00Z", duration = "1d",
            rrule = "FREQ=WEEKLY;BYDAY=SU", cis = { "app-01" } }
        local a = H.release("2027-06-10T00:00:00Z", "2027-06-11T00:00:00Z", { "db-01" })
        local b = H.release("2027-06-16T00:00:00Z", "2027-06-21T00:00:00Z", { "db-02" })
        local path = os.getenv("RELM_TEST_TMP") .. "/cal.svg"
        relm.calendar.svg { from = "2027-06-01", to = "2027-07-01", path = path }
        local els = parse(path)
        local svg = els[1]
        assert.are.equal("svg", svg.tag)
        local L = require("relm.calendar_view").svg_layout
        local px_per_day = (L.width - L.left - 10) / 30
        local bars, blackout, maint = {}, {}, {}
        for _, e in ipairs(els) do
            if e.tag == "rect" and e.class:find("release") then
                bars[e["data-number"]] = e
            elseif e.tag == "rect" and e.class == "blackout" then
                blackout[#blackout + 1] = e
            elseif e.tag == "rect" and e.class == "maintenance" then
                maint[#maint + 1] = e
            end
        end
        local function near(want, got)
            assert.is_true(math.abs(want - tonumber(got)) < 0.01, ("want %s, got %s"):format(want, got))
        end
        -- a: June 10 (day 9 from June 1), one day; b: June 16, five days.
        near(L.left + 9 * px_per_day, bars[a.number].x)
        near(px_per_day, bars[a.number].width)
        near(L.left + 15 * px_per_day, bars[b.number].x)
        near(5 * px_per_day, bars[b.number].width)
        assert.are.equal("release conflict", bars[a.number].class) -- in the blackout
        assert.are.equal("release", bars[b.number].class)
        assert.is_true(tonumber(bars[b.number].y) > tonumber(bars[a.number].y)) -- one row each, by date
        assert.are.equal(1, #blackout)
        near(L.left + 9 * px_per_day, blackout[1].x)
        assert.are.equal("0.15", blackout[1]["fill-opacity"])
        assert.are.equal(4, #maint) -- the Sundays of June 2027: 6, 13, 20, 27
        assert.are.equal("none", maint[1].fill)
        near(L.left + 5 * px_per_day, maint[1].x)
    end)

    it("svg draws a line at now when now is in the period", function()
        relm.release.set_clock(relm.release.now and 1812456000 or nil) -- 2027-06-08T12:00:00Z
        local svg = relm.calendar.svg { from = "2027-06-01", to = "2027-07-01" }
        relm.release.set_clock(nil)
        assert.is_truthy(svg:find('<line class="today"', 1, true))
        local none = relm.calendar.svg { from = "2027-06-01", to = "2027-07-01" }
        assert.is_falsy(none:find('class="today"', 1, true)) -- the real now is not in June 2027
    end)
end)
