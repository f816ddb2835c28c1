/* l_i18n.c: relm.core.i18n, gettext for Lua: the same "relm" catalogue
 * the C core uses (see core/base/i18n.h). */
#include <lauxlib.h>

#include "base/i18n.h"
#include "lua/modules.h"

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

/* Open relm.core.i18n: pushes the module table. */
int luaopen_relm_i18n(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"_", l_i18n_text},
        {"n_", l_i18n_ntext},
        {"language", l_i18n_language},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
