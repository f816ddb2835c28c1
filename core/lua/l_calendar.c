/* l_calendar.c: relm.core.calendar, the C half of relm.calendar: define and
 * remove (admin, in C), and business time on a stored calendar. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "base/time.h"
#include "calendar.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"

static const char *const define_keys[] = {"name", "tz", "hours", "holidays",
                                          NULL};

/* The strings of the array field key of table t into out (at most max);
 * returns how many. Raises invalid_argument naming fn.key[i]. Stack:
 * unchanged (the strings stay alive in t). */
static int read_strings(lua_State *L, int t, const char *key, const char *sub,
                        const char **out, int max, const char *fn)
{
    int n = (int)luaL_len(L, t);
    if (n > max)
        relm_lua_error(L, "invalid_argument",
                       _("%s: %s%s: at most %d entries"), fn, key, sub, max);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, t, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            relm_lua_error(L, "invalid_argument",
                           _("%s: %s%s[%d] must be a string, got %s"), fn,
                           key, sub, i, luaL_typename(L, -1));
        out[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    return n;
}

/* define{name=, tz=, hours={mon={"08:00-12:00", ...}, ...}, holidays={...}}.
 * Stack: t -> nothing. */
static int l_calendar_define(lua_State *L)
{
    const char *fn = "relm.calendar.define";
    if (!lua_istable(L, 1))
        return relm_lua_error(L, "invalid_argument",
                              _("%s: argument #1 must be a table {name=, tz=, "
                                "hours=, holidays=}, got %s"), fn,
                              luaL_typename(L, 1));
    relm_lua_check_keys(L, 1, define_keys, "invalid_argument", fn, "field");
    relm_calendar_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.name = relm_lua_opt_string(L, 1, "name", fn);
    spec.tz = relm_lua_opt_string(L, 1, "tz", fn);
    if (spec.name == NULL || spec.tz == NULL)
        return relm_lua_error(L, "invalid_argument",
                              _("%s: name and tz are required"), fn);
    if (lua_getfield(L, 1, "hours") != LUA_TTABLE)
        return relm_lua_error(L, "invalid_argument",
                              _("%s: hours must be a table {mon={\"08:00-"
                                "18:00\"}, ...}"), fn);
    int h = lua_gettop(L);
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri",
                                       "sat", "sun", NULL};
    relm_lua_check_keys(L, h, days, "invalid_argument", fn, "weekday");
    for (int w = 0; w < 7; w++) {
        int t = lua_getfield(L, h, relm_calendar_days[w]);
        if (t == LUA_TSTRING) {
            spec.hours[w][0] = lua_tostring(L, -1);
            spec.nhours[w] = 1;
        } else if (t == LUA_TTABLE) {
            char sub[16];
            snprintf(sub, sizeof sub, ".%s", relm_calendar_days[w]);
            spec.nhours[w] = read_strings(L, lua_gettop(L), "hours", sub,
                                          spec.hours[w],
                                          RELM_CAL_MAX_INTERVALS, fn);
        } else if (t != LUA_TNIL) {
            return relm_lua_error(L, "invalid_argument",
                                  _("%s: hours.%s must be a list of "
                                    "\"HH:MM-HH:MM\", got %s"), fn,
                                  relm_calendar_days[w], luaL_typename(L, -1));
        }
        /* The day's value stays on the stack: its strings must live. */
    }
    const char **hol = NULL;
    int t = lua_getfield(L, 1, "holidays");
    if (t == LUA_TTABLE) {
        int n = (int)luaL_len(L, -1);
        hol = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *hol, 0);
        spec.nholidays = read_strings(L, lua_gettop(L) - 1, "holidays", "",
                                      hol, RELM_CAL_MAX_HOLIDAYS, fn);
        spec.holidays = hol;
    } else if (t != LUA_TNIL) {
        return relm_lua_error(L, "invalid_argument",
                              _("%s: holidays must be a list of "
                                "\"YYYY-MM-DD\", got %s"), fn,
                              luaL_typename(L, -1));
    }
    relm_diag d;
    if (relm_calendar_define(relm_host_store(L), &spec, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* remove(name). Stack: name -> nothing. */
static int l_calendar_remove(lua_State *L)
{
    relm_diag d;
    if (relm_calendar_remove(relm_host_store(L),
                             relm_lua_checktext(L, 1, "name"), &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* Argument i as epoch seconds: an integer or an ISO-8601 time. */
static int64_t check_instant(lua_State *L, int i, const char *fn)
{
    if (lua_type(L, i) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, i, &n);
        int64_t e;
        if (!relm_time_parse(s, n, &e, NULL))
            relm_lua_error(L, "invalid_argument",
                           _("%s: argument #%d: '%s' is not a time "
                             "YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"), fn, i, s);
        return e;
    }
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, i, &isint);
    if (!isint) {
        lua_Number x = luaL_checknumber(L, i);
        v = (lua_Integer)x;
    }
    return v;
}

/* seconds(name, from, to) -> business seconds in [from, to). */
static int l_calendar_seconds(lua_State *L)
{
    const char *fn = "relm.calendar.business_seconds";
    const char *name = relm_lua_checktext(L, 1, "name");
    int64_t a = check_instant(L, 2, fn), b = check_instant(L, 3, fn), out;
    relm_diag d;
    if (relm_calendar_between(relm_host_store(L), name, a, b, &out, &d)
        != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, out);
    return 1;
}

/* after(name, from, seconds) -> epoch of from + seconds business time. */
static int l_calendar_after(lua_State *L)
{
    const char *fn = "relm.calendar.after";
    const char *name = relm_lua_checktext(L, 1, "name");
    int64_t a = check_instant(L, 2, fn), out;
    lua_Integer n = luaL_checkinteger(L, 3);
    relm_diag d;
    if (relm_calendar_after(relm_host_store(L), name, a, n, &out, &d)
        != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, out);
    return 1;
}

int luaopen_relm_calendar(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"define", l_calendar_define},
        {"remove", l_calendar_remove},
        {"seconds", l_calendar_seconds},
        {"after", l_calendar_after},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
