/* l_i18n.c: relm.core.i18n, gettext for Lua: the same "relm" catalogue
 * the C core uses (see core/base/i18n.h). */
#include <dirent.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "lua/host.h"
#include "lua/modules.h"

/* A language scope (relm_i18n_enter) held by Lua until closed. */
#define SCOPE_MT "relm.i18n.scope"

/* _(msgid) -> the translation for the current locale, or msgid. */
static int l_i18n_text(lua_State *L)
{
    lua_pushstring(L, relm_i18n_text(luaL_checkstring(L, 1)));
    return 1;
}

/* n_(singular, plural, n) -> the form for n, translated. */
static int l_i18n_ntext(lua_State *L)
{
    const char *s = luaL_checkstring(L, 1);
    const char *p = luaL_checkstring(L, 2);
    lua_Integer n = luaL_checkinteger(L, 3);
    lua_pushstring(L, relm_i18n_ntext(s, p, n < 0 ? (unsigned long)-n
                                                  : (unsigned long)n));
    return 1;
}

/* language() -> "pt_BR", "es", ... or "en": what label tables are read in. */
static int l_i18n_language(lua_State *L)
{
    lua_pushstring(L, relm_i18n_language());
    return 1;
}

/* available(lang) -> whether relm has a catalogue for lang ("en": true). */
static int l_i18n_available(lua_State *L)
{
    lua_pushboolean(L, relm_i18n_available(luaL_checkstring(L, 1)));
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* languages() -> {"en", then every language with a catalogue, sorted}:
 * what the catalogue directory holds, so a new .po needs no code. */
static int l_i18n_languages(lua_State *L)
{
    lua_newtable(L);
    lua_pushliteral(L, "en");
    lua_rawseti(L, -2, 1);
    DIR *dir = opendir(relm_i18n_localedir());
    if (dir == NULL)
        return 1;
    char *names[64] = {NULL};
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL && n < sizeof names / sizeof names[0]) {
        if (e->d_name[0] != '.' && strcmp(e->d_name, "en") != 0 &&
            relm_i18n_available(e->d_name)) {
            names[n] = strdup(e->d_name);
            if (names[n] != NULL)
                n++;
        }
    }
    closedir(dir);
    qsort(names, n, sizeof names[0], by_name);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 2);
        free(names[i]);
    }
    return 1;
}

/* scope:close(), __close and __gc: the language before the scope again.
 * Idempotent. */
static int l_i18n_leave(lua_State *L)
{
    relm_i18n_leave(luaL_checkudata(L, 1, SCOPE_MT));
    return 0;
}

/* enter(lang) -> a scope: messages, labels and relm.i18n.language() in
 * lang until the scope is closed (`local s <close> = enter(lang)`), for
 * one web page in its reader's language. lang must have a catalogue
 * (available) or be "en". Stack: pushes the scope. */
static int l_i18n_enter(lua_State *L)
{
    const char *lang = relm_lua_checktext(L, 1, "lang");
    if (!relm_i18n_available(lang))
        return luaL_error(L, _("no catalogue for language '%s'"), lang);
    relm_i18n_scope *scope = lua_newuserdatauv(L, sizeof *scope, 0);
    scope->active = 0;
    if (luaL_newmetatable(L, SCOPE_MT)) {
        lua_pushcfunction(L, l_i18n_leave);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, l_i18n_leave);
        lua_setfield(L, -2, "__gc");
        lua_newtable(L);
        lua_pushcfunction(L, l_i18n_leave);
        lua_setfield(L, -2, "close");
        lua_setfield(L, -2, "__index");
    }
    lua_setmetatable(L, -2);
    relm_i18n_enter(lang, scope); /* on failure: inactive, nothing changed */
    return 1;
}

/* Open relm.core.i18n: pushes the module table. */
int luaopen_relm_i18n(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"_", l_i18n_text},
        {"n_", l_i18n_ntext},
        {"language", l_i18n_language},
        {"available", l_i18n_available},
        {"enter", l_i18n_enter},
        {"languages", l_i18n_languages},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
