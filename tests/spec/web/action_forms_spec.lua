-- action_forms_spec.lua: the release page's action forms ask a browser
-- user for what each action needs (a justification among those usable for
-- it, a group or a person, a note, required fields), show a refusal only
-- when filling the form would not help, in words rather than Lua, and send
-- what was chosen to the same primitive (a real serve, curl). State and
-- action labels are the workflow's, in the page's language.
local H = dofile("tests/fixtures/http_helper.lua")

local PASSWORD = "correct horse battery"

local function count(t)
    return relm.sql("SELECT count(*) AS n FROM " .. t)[1].n
end

-- The HTML of action name's form on a release page.
local function form_of(page, name)
    return page:match('<form[^>]-data%-action="' .. name .. '">(.-)</form>')
end

describe("web action forms", function()
    local srv, jar, csrf, r, bob_jar, bob_csrf, vendor, dup
    setup(function()
        relm.group.add { name = "ops" }
        relm.group.add_member("ops", "admin")
        relm.user.set_password("admin", PASSWORD)
        relm.user.add { name = "bob", full_name = "Bob Builder" }
        relm.group.add_member("ops", "bob")
        relm.user.set_password("bob", PASSWORD)
        relm.permission.grant { group = "ops", action = "execute" }
        vendor = relm.justification.add { description = "Waiting for the vendor", suspend = true }
        dup = relm.justification.add { description = "Duplicate request", cancel = true }
        r = relm.release.register { title = "Patch servers", workflow = "standard", executor_group = "ops" }
        srv = H.start(relm.info().db)
        local function login(user, file)
            local j = H.S.TMP .. "/" .. file
            assert.are.equal(303, (H.req(srv, "POST", "/login", { jar = j,
                body = "user=" .. user .. "&password=" .. PASSWORD:gsub(" ", "+") .. "&next=/" })))
            local _, page = H.req(srv, "GET", "/", { jar = j })
            return j, page:match('name="csrf" value="(%x+)"')
        end
        jar, csrf = login("admin", "admin.jar")
        bob_jar, bob_csrf = login("bob", "bob.jar")
    end)
    teardown(function() H.S.stop_all() end)

    it("asks for a justification, a target and a note instead of showing Lua hints", function()
        local _, page = H.req(srv, "GET", "/releases/" .. r.id, { jar = jar })
        assert.is_nil(page:find("opts.justification", 1, true))
        assert.is_nil(page:find("relm.justification.list", 1, true))
        assert.is_nil(page:find("needs to_group or to_user", 1, true))
        assert.is_nil(page:find("Refused now", 1, true))
        local suspend = assert(form_of(page, "suspend"))
        assert.is_truthy(suspend:find('<select id="a-suspend-justification" name="justification" required>', 1, true))
        assert.is_truthy(suspend:find(('<option value="%d">Waiting for the vendor</option>'):format(vendor), 1,
            true))
        assert.is_nil(suspend:find("Duplicate request", 1, true)) -- usable for cancel only
        assert.is_nil(suspend:find('class="refusal"', 1, true))
        local cancel = assert(form_of(page, "cancel"))
        assert.is_truthy(cancel:find(('<option value="%d">Duplicate request</option>'):format(dup), 1, true))
        local delegate = assert(form_of(page, "delegate"))
        assert.is_truthy(delegate:find('<select id="a%-delegate%-to_group" name="to_group">.-<option value="ops">ops'))
        assert.is_truthy(delegate:find('<option value="bob">Bob Builder (bob)</option>', 1, true))
        assert.is_truthy(delegate:find('name="note" rows="2" required', 1, true))
        assert.is_nil(delegate:find('class="refusal"', 1, true))
        -- "Try" is a dry run of whatever was filled in: the browser lets it through
        assert.is_truthy(suspend:find('name="try" value="1" class="secondary" formnovalidate', 1, true))
    end)

    it("labels states and actions as the workflow does, identifiers kept in attributes", function()
        local _, page = H.req(srv, "GET", "/releases/" .. r.id, { jar = jar })
        assert.is_truthy(page:find('<span class="state" data-state="registered">Registered</span>', 1, true))
        assert.is_truthy(page:find('<dd data-value="registered">Registered</dd>', 1, true))
        assert.is_truthy(form_of(page, "authorize"):find("<h3>Authorize</h3>", 1, true))
        assert.is_truthy(form_of(page, "suspend"):find("<h3>Suspend</h3>", 1, true))
        local _, pt = H.req(srv, "GET", "/releases/" .. r.id,
            { jar = jar, headers = { ["Accept-Language"] = "pt-BR" } })
        assert.is_truthy(pt:find('data-state="registered">Registrada</span>', 1, true))
        assert.is_truthy(form_of(pt, "authorize"):find("<h3>Autorizar</h3>", 1, true))
        assert.is_truthy(form_of(pt, "suspend"):find("<h3>Suspender</h3>", 1, true))
        local _, queue = H.req(srv, "GET", "/", { jar = jar, headers = { ["Accept-Language"] = "es" } })
        assert.is_truthy(queue:find("<td>Registrada</td>", 1, true))
    end)

    it("asks again in words when a form comes without what it needs, writing nothing", function()
        local before = count("occurrences")
        local cases = {
            { "suspend", "note=x", "Choose a justification." },
            { "delegate", "to_group=&to_user=&note=x", "Choose a group or a person." },
            { "delegate", "to_group=ops&note=", "Write a note saying why." },
        }
        for _, c in ipairs(cases) do
            local s, page = H.req(srv, "POST", ("/releases/%d/act/%s"):format(r.id, c[1]),
                { jar = jar, body = c[2] .. "&csrf=" .. csrf })
            assert.are.equal(422, s)
            local why = form_of(page, c[1]):match('<p class="refusal" role="alert" id="why%-' .. c[1] .. '">(.-)</p>')
            assert.are.equal(c[3], why)
        end
        assert.are.equal(before, count("occurrences"))
    end)

    it("shows a real refusal in words: no usable justification, a missing permission", function()
        local _, page = H.req(srv, "GET", "/releases/" .. r.id, { jar = bob_jar })
        -- bob may cancel? no: only execute. He may capture; suspend is not offered.
        assert.is_nil(form_of(page, "suspend"))
        local s, refused = H.req(srv, "POST", "/releases/" .. r.id .. "/act/suspend",
            { jar = bob_jar, body = ("justification=%d&note=x&csrf=%s"):format(vendor, bob_csrf) })
        assert.are.equal(422, s)
        local why = form_of(refused, "suspend"):match('class="refusal"[^>]*>(.-)</p>')
        assert.are.equal("Not possible now: none of your groups holds the &#39;suspend&#39; permission on this "
            .. "workflow; an administrator can grant it.", why)
        assert.is_nil(refused:find("relm.permission.grant", 1, true))
        relm.justification.update(dup, { active = false })
        local _, no_just = H.req(srv, "GET", "/releases/" .. r.id, { jar = jar })
        assert.are.equal("Not possible now: No justification is usable for this action yet: an administrator has to "
            .. "add one.", form_of(no_just, "cancel"):match('class="refusal"[^>]*>(.-)</p>'))
        relm.justification.update(dup, { active = true })
    end)

    it("sends what the form chose to the same primitive", function()
        local s = H.req(srv, "POST", "/releases/" .. r.id .. "/act/delegate",
            { jar = jar, body = "to_group=&to_user=bob&note=on+leave&csrf=" .. csrf })
        assert.are.equal(303, s)
        assert.are.equal("bob", relm.release.get(r.id).responsible)
        local s2 = H.req(srv, "POST", "/releases/" .. r.id .. "/act/suspend",
            { jar = jar, body = ("justification=%d&note=vendor&csrf=%s"):format(vendor, csrf) })
        assert.are.equal(303, s2)
        local got = relm.release.get(r.id)
        assert.are.equal("suspended", got.status)
        assert.are.equal("registered", got.state)
        local last = relm.release.history(r.id)
        assert.are.equal("suspend", last[#last].action)
    end)
end)
