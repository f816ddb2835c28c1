/* l_portfolio.c: relm.core.portfolio, the Lua face of core/portfolio.c.
 * lua/relm/portfolio.lua reads the templates and hands normalised tables. */
#include <dirent.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "portfolio.h"

/* sync(name, description, source, models, replace) -> id. models is an
 * array of tables whose fields are strings (templates/prefill as JSON
 * text) and sla_hours a number. */
static int l_portfolio_sync(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    const char *desc = relm_lua_opttext(L, 2, "description");
    const char *source = relm_lua_opttext(L, 3, "source");
    luaL_checktype(L, 4, LUA_TTABLE);
    int replace = lua_toboolean(L, 5);
    size_t n = (size_t)luaL_len(L, 4);
    relm_model_spec *ms = calloc(n ? n : 1, sizeof *ms);
    if (ms == NULL)
        return relm_lua_error(L, "out_of_memory", _("out of memory"));
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 4, (lua_Integer)i + 1);
        int t = lua_gettop(L);
        if (!lua_istable(L, t)) {
            free(ms);
            return relm_lua_error(L, "invalid_field",
                                  _("portfolio '%s': model #%zu is not a table"),
                                  name, i + 1);
        }
        relm_model_spec *m = &ms[i];
        m->name = relm_lua_field_string(L, t, "name");
        m->description = relm_lua_field_string(L, t, "description");
        m->type = relm_lua_field_string(L, t, "type");
        m->workflow = relm_lua_field_string(L, t, "workflow");
        m->executor_group = relm_lua_field_string(L, t, "executor_group");
        m->calendar = relm_lua_field_string(L, t, "calendar");
        m->impact = relm_lua_field_string(L, t, "impact");
        m->urgency = relm_lua_field_string(L, t, "urgency");
        m->risk = relm_lua_field_string(L, t, "risk");
        m->category = relm_lua_field_string(L, t, "category");
        m->templates = relm_lua_field_string(L, t, "templates");
        m->prefill = relm_lua_field_string(L, t, "prefill");
        m->status = relm_lua_field_string(L, t, "status");
        lua_getfield(L, t, "sla_hours");
        m->sla_hours = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0;
        lua_pop(L, 1);
        lua_getfield(L, t, "sla_warning_percent");
        m->sla_warning_percent = (int)lua_tointeger(L, -1);
        lua_pop(L, 2); /* the model table stays referenced by arg 4 */
    }
    int64_t id = 0;
    relm_diag d;
    int rc = relm_portfolio_sync(relm_host_store(L), name, desc, source, ms, n,
                                 replace, &id, &d);
    free(ms);
    if (rc != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    return 1;
}

/* model_status(portfolio, model, status). */
static int l_portfolio_model_status(lua_State *L)
{
    relm_diag d;
    if (relm_portfolio_model_status(relm_host_store(L), relm_lua_checktext(L, 1, NULL),
                                    relm_lua_checktext(L, 2, NULL),
                                    relm_lua_checktext(L, 3, NULL), &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* templates(dir) -> sorted array of the *.lua file names in dir (empty
 * when dir does not exist): the shipped portfolio templates. */
static int l_portfolio_templates(lua_State *L)
{
    const char *dir = relm_lua_checktext(L, 1, "dir");
    lua_newtable(L);
    DIR *dp = opendir(dir);
    if (dp == NULL)
        return 1;
    lua_Integer n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && e->d_name[0] != '.' &&
            strcmp(e->d_name + len - 4, ".lua") == 0) {
            lua_pushstring(L, e->d_name);
            lua_rawseti(L, -2, ++n);
        }
    }
    closedir(dp);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, -3);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    return 1;
}

/* Open relm.core.portfolio: pushes the module table. */
int luaopen_relm_portfolio(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sync", l_portfolio_sync},
        {"model_status", l_portfolio_model_status},
        {"templates", l_portfolio_templates},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
