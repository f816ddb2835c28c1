-- helper.lua: set-up for the freeze window specs: a CMDB where web-svc
-- depends on app-01, which depends on db-01 (and db-02 stands alone), and
-- releases of the shipped workflows with a planned window. Not a spec.
local assert = require "luassert"
local H = {}

function H.cmdb()
    if relm.sql("SELECT 1 FROM cis WHERE name = 'db-01'")[1] then
        return
    end
    for _, t in ipairs({ "app", "server", "service" }) do
        relm.cmdb.define_type { name = t, attributes = {} }
    end
    relm.cmdb.add { type = "service", name = "web-svc" }
    relm.cmdb.add { type = "app", name = "app-01" }
    relm.cmdb.add { type = "server", name = "db-01" }
    relm.cmdb.add { type = "server", name = "db-02" }
    relm.cmdb.relate("web-svc", "depends_on", "app-01")
    relm.cmdb.relate("app-01", "depends_on", "db-01")
end

---Remove every window (each spec starts from none).
function H.clear()
    for _, w in ipairs(relm.window.list()) do
        relm.window.remove(w.name)
    end
    for _, r in ipairs(relm.sql("SELECT id FROM releases WHERE status IN ('open', 'suspended')")) do
        relm.release.act(r.id, "cancel", { note = "spec clean-up", justification = H.cancel })
    end
end

---A release of workflow (default standard) planned from starts to ends
---touching the CIs named.
function H.release(starts, ends, cis, extra)
    local spec = { title = "change " .. table.concat(cis or {}, "+"), planned_start = starts, planned_end = ends }
    for k, v in pairs(extra or {}) do
        spec[k] = v
    end
    local r = relm.release.register(spec)
    for _, ci in ipairs(cis or {}) do
        relm.release.relate(r.id, "ci", ci)
    end
    return r
end

---The conflicts of release id of kind, by CI.
function H.of_kind(id, kind)
    local out = {}
    for _, c in ipairs(relm.release.conflicts(id)) do
        if c.kind == kind then
            out[#out + 1] = c
        end
    end
    return out
end

function H.setup()
    H.cmdb()
    if not H.cancel then
        H.cancel = relm.justification.add { description = "Spec clean-up", cancel = true }
    end
end

---Assert fn raises a relm error with code whose message contains text.
function H.refused(code, text, fn, ...)
    local ok, err = pcall(fn, ...)
    assert.is_false(ok, "expected a refusal")
    assert.is_true(relm.is_error(err, code), tostring(err))
    if text then
        assert.is_truthy(tostring(err):find(text, 1, true), tostring(err))
    end
    return err
end

return H
