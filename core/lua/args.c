/* args.c: argument checks the bindings share, so that every module names
 * a bad argument the same way (see args.h). */
#include "base/i18n.h"
#include "lua/args.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/host.h"

void relm_lua_check_keys(lua_State *L, int idx, const char *const *known,
                         const char *code, const char *fn, const char *noun)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        int ok = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (const char *const *k = known; *k && !ok; k++)
                ok = strcmp(*k, lua_tostring(L, -1)) == 0;
        if (!ok) {
            /* Name what is known too: the fix is usually a typo. */
            char list[512];
            size_t len = 0;
            list[0] = '\0';
            for (const char *const *k = known; *k && len < sizeof list; k++) {
                int w = snprintf(list + len, sizeof list - len, "%s%s",
                                 k == known ? "" : ", ", *k);
                if (w < 0)
                    break;
                len += (size_t)w;
            }
            relm_lua_error(L, code, _("%s: unknown %s '%s' (%s)"), fn, noun,
                           lua_type(L, -1) == LUA_TSTRING
                               ? lua_tostring(L, -1) : luaL_typename(L, -1),
                           list);
        }
    }
}

const char *relm_lua_opt_string(lua_State *L, int idx, const char *key,
                                const char *fn)
{
    int t = lua_getfield(L, idx, key);
    const char *v = NULL;
    if (t == LUA_TSTRING)
        v = relm_lua_text(L, -1, key, NULL);
    else if (t != LUA_TNIL)
        relm_lua_error(L, "invalid_argument", _("%s: %s must be a string, got %s"),
                       fn, key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

const char *relm_lua_field_string(lua_State *L, int t, const char *k)
{
    lua_getfield(L, t, k);
    const char *v = lua_type(L, -1) == LUA_TSTRING
                        ? relm_lua_text(L, -1, k, NULL) : NULL;
    lua_pop(L, 1); /* the string stays alive: t holds it */
    return v;
}

void relm_lua_push_json_strings(lua_State *L, int idx, const char *fn,
                                const char *name, const char *want,
                                const char *what)
{
    idx = lua_absindex(L, idx);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '[');
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
            relm_lua_error(L, "invalid_argument", _("%s: %s[%d] must be %s, "
                           "got %s"), fn, name, (int)i, want,
                           luaL_typename(L, -1));
        size_t len;
        const char *k = relm_lua_text(L, -1, what, &len);
        /* Off the stack before the next buffer operation, which may move
         * the buffer's box to the top; the table keeps k alive. */
        lua_pop(L, 1);
        if (i > 1)
            luaL_addchar(&b, ',');
        luaL_addchar(&b, '"');
        for (size_t j = 0; j < len; j++) {
            unsigned char c = (unsigned char)k[j];
            if (c == '"' || c == '\\') {
                luaL_addchar(&b, '\\');
                luaL_addchar(&b, (char)c);
            } else if (c < 0x20) {
                char esc[8];
                snprintf(esc, sizeof esc, "\\u%04x", c);
                luaL_addstring(&b, esc);
            } else {
                luaL_addchar(&b, (char)c);
            }
        }
        luaL_addchar(&b, '"');
    }
    luaL_addchar(&b, ']');
    luaL_pushresult(&b);
}

void relm_lua_set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

void relm_lua_set_string(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

int relm_lua_id_json(lua_State *L,
                     int (*get)(relm_store *, int64_t, char **, relm_diag *))
{
    relm_diag d;
    char *json = NULL;
    if (get(relm_host_store(L), luaL_checkinteger(L, 1), &json, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushstring(L, json != NULL ? json : "null");
    free(json);
    return 1;
}
