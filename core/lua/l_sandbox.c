/* l_sandbox.c: relm.core.sandbox, the allow-listed environment scripts run
 * in (env, load) and sandboxed calls with time and memory limits (call). */
#include <lauxlib.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/i18n.h"
#include "base/clock.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "lua/pattern.h"
#include "lua/sandbox.h"

#define TEMPLATE_KEY "relm.sandbox.template"
#define ENVMT_KEY "relm.sandbox.envmt"
#define MTS_KEY "relm.sandbox.mts"

/* Base functions a script may use, taken from the real globals when the
 * module opens (so later changes to _G do not leak in). Left out on
 * purpose: collectgarbage, dofile, loadfile, require, load (replaced by a
 * text-only version), xpcall/setmetatable/getmetatable/print (replaced),
 * and the coroutine library: a hook is per coroutine, so code running in a
 * coroutine would not see the deadline. */
static const char *const base_names[] = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "select",
    "tonumber", "tostring", "type", "rawequal", "rawget",
    "rawlen", "rawset", "_VERSION", NULL,
};

/* Libraries copied (shallow) into every environment, so a script that
 * changes string.format changes only its own copy. */
static const char *const lib_names[] = {"string", "table", "math", "utf8",
                                        NULL};
static const char *const os_names[] = {"time", "date", "clock", NULL};

/* os.time() in the sandbox: "now" is the engine's clock (relm_clock_now,
 * fixed by relm.release.set_clock), the clock SLA timers use, so a guard
 * that checks a maintenance window can be tested. With a table it is the
 * real os.time (upvalue 1), which only converts. Stack: [t] -> epoch. */
static int l_sandbox_os_time(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_pushinteger(L, (lua_Integer)relm_clock_now());
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* os.date([fmt [, t]]) in the sandbox: without t, the engine's clock (see
 * l_sandbox_os_time); the formatting is the real os.date (upvalue 1).
 * Stack: [fmt [, t]] -> string or table. */
static int l_sandbox_os_date(lua_State *L)
{
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_pushinteger(L, (lua_Integer)relm_clock_now());
    }
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* __index of every environment: reading a global nobody defined is a
 * mistake in the script, reported at the script's line. */
static int l_sandbox_unknown_global(lua_State *L)
{
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    return luaL_error(L, _("unknown global '%s'"), k);
}

/* __newindex: scripts keep their helpers in locals; a global assignment is
 * almost always a typo or a missing `local`. */
static int l_sandbox_new_global(lua_State *L)
{
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    return luaL_error(L, _("cannot create global '%s' (declare it with "
                      "'local %s')"), k, k);
}

/* setmetatable(t, mt) for scripts: refuses __gc (finalizers run with hooks
 * off, so a looping finalizer could not be stopped) and remembers mt as a
 * script's own, so getmetatable may show it back. Stack: t, mt -> t. */
static int l_sandbox_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int t = lua_type(L, 2);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) /* raw: as the collector sees it */
            return luaL_error(L, _("__gc metamethods are not allowed in the "
                              "sandbox"));
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, _("cannot change a protected metatable"));
    if (t == LUA_TTABLE) {
        lua_getfield(L, LUA_REGISTRYINDEX, MTS_KEY);
        lua_pushvalue(L, 2);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* getmetatable(v) for scripts: only metatables a script set itself (or a
 * __metatable field). Strings, userdata and engine objects show nothing, so
 * the shared string metatable cannot be reached or changed. Stack: v -> mt. */
static int l_sandbox_getmetatable(lua_State *L)
{
    luaL_checkany(L, 1);
    if (lua_type(L, 1) != LUA_TTABLE || !lua_getmetatable(L, 1)) {
        lua_pushnil(L);
        return 1;
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return 1;
    lua_getfield(L, LUA_REGISTRYINDEX, MTS_KEY);
    lua_pushvalue(L, -2);
    int ours = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    if (!ours)
        lua_pushnil(L);
    return 1;
}

/* xpcall(f, handler, ...) for scripts: the handler runs once the failed
 * call has unwound, not at the point of the error. Lua calls a message
 * handler with hooks off when the error comes from the timeout hook, so a
 * looping handler could never be stopped there. Stack: f, h, ... ->
 * true, results | false, handler's result. */
static int l_sandbox_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checkany(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    for (int i = 3; i <= n; i++)
        lua_pushvalue(L, i);
    if (lua_pcall(L, n - 2, LUA_MULTRET, 0) == LUA_OK) {
        lua_pushboolean(L, 1);
        lua_insert(L, n + 1);
        return lua_gettop(L) - n;
    }
    lua_pushvalue(L, 2);
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

/* print(...) for scripts: to stderr, prefixed with the script position, so
 * it never mixes with a batch script's output. Stack: ... -> (). */
static int l_sandbox_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_where(L, 1);
    luaL_addvalue(&b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    fwrite(s, 1, len, stderr);
    fflush(stderr);
    return 0;
}

/* load(chunk [, name [, mode [, env]]]) for scripts: text chunks only; the
 * environment defaults to the script's own (upvalue 1). Returns the function
 * or nil plus the message, like the standard load. */
static int l_sandbox_env_load(lua_State *L)
{
    size_t len;
    int status;
    const char *name = luaL_optstring(L, 2, "=(load)");
    int has_env = !lua_isnone(L, 4);
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, 1, &len);
        status = luaL_loadbufferx(L, s, len, name, "t");
    } else {
        return luaL_error(L, _("load: only source text is accepted in the "
                          "sandbox"));
    }
    if (status != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env)
        lua_pushvalue(L, 4);
    else
        lua_pushvalue(L, lua_upvalueindex(1));
    if (lua_setupvalue(L, -2, 1) == NULL)
        lua_pop(L, 1);
    return 1;
}

/* ---- string.find, match, gmatch, gsub over core/pattern.c ----
 * Same behaviour as the standard library, but the matcher polls the
 * sandbox deadline, so a backtracking pattern cannot outlive it. */

/* Raise the matcher's error: the deadline, or a malformed pattern. */
static int pattern_error(lua_State *L, const relm_pattern *ms)
{
    if (ms->timed_out)
        return relm_sandbox_raise_timeout(L);
    return luaL_error(L, "%s", ms->error);
}

/* Start position argument: 1-based, negative from the end, clipped. */
static size_t start_index(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

/* Push capture i of a match from s to e (the whole match when there are no
 * captures and i is 0). Stack: -> value. */
static void push_capture(lua_State *L, const relm_pattern *ms, int i,
                         const char *s, const char *e)
{
    if (i >= ms->level) {
        if (i != 0)
            luaL_error(L, _("invalid capture index %%%d"), i + 1);
        lua_pushlstring(L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = ms->capture[i].len;
    if (len == RELM_PATTERN_CAP_UNFINISHED)
        luaL_error(L, _("unfinished capture"));
    else if (len == RELM_PATTERN_CAP_POSITION)
        lua_pushinteger(L, (ms->capture[i].init - ms->src_init) + 1);
    else
        lua_pushlstring(L, ms->capture[i].init, (size_t)len);
}

/* Push every capture (or the whole match when s is given and there are
 * none); returns how many. */
static int push_captures(lua_State *L, const relm_pattern *ms,
                         const char *s, const char *e)
{
    int n = (ms->level == 0 && s != NULL) ? 1 : ms->level;
    luaL_checkstack(L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(L, ms, i, s, e);
    return n;
}

/* string.find (find != 0) and string.match. Stack: s, p [, init [, plain]]
 * -> start, end, captures | captures | fail. */
static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || relm_pattern_is_plain(p, lp))) {
        const char *hit = memmem(s + init, ls - init, p, lp);
        if (hit != NULL) {
            lua_pushinteger(L, (hit - s) + 1);
            lua_pushinteger(L, (lua_Integer)((size_t)(hit - s) + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    relm_pattern ms;
    int anchor = *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    relm_pattern_init(&ms, s, ls, p, lp, relm_sandbox_expired);
    const char *at = s + init;
    do {
        const char *e = relm_pattern_match(&ms, at, p);
        if (ms.error != NULL)
            return pattern_error(L, &ms);
        if (e != NULL) {
            if (find) {
                lua_pushinteger(L, (at - s) + 1);
                lua_pushinteger(L, e - s);
                return push_captures(L, &ms, NULL, NULL) + 2;
            }
            return push_captures(L, &ms, at, e);
        }
    } while (at++ < ms.src_end && !anchor);
    luaL_pushfail(L);
    return 1;
}

/* string.find for scripts. Stack: s, pattern [, init [, plain]] -> like
 * string.find. */
static int l_sandbox_str_find(lua_State *L)
{
    return find_or_match(L, 1);
}

/* string.match for scripts. Stack: s, pattern [, init] -> captures. */
static int l_sandbox_str_match(lua_State *L)
{
    return find_or_match(L, 0);
}

typedef struct gmatch_state {
    const char *at;        /* where the next search starts */
    const char *p;         /* the pattern */
    const char *lastmatch; /* end of the last match, to skip repeats */
    relm_pattern ms;
} gmatch_state;

/* The iterator of gmatch. Upvalues: s, p, state. */
static int gmatch_next(lua_State *L)
{
    gmatch_state *gm = lua_touserdata(L, lua_upvalueindex(3));
    for (const char *at = gm->at; at <= gm->ms.src_end; at++) {
        const char *e = relm_pattern_match(&gm->ms, at, gm->p);
        if (gm->ms.error != NULL)
            return pattern_error(L, &gm->ms);
        if (e != NULL && e != gm->lastmatch) {
            gm->at = gm->lastmatch = e;
            return push_captures(L, &gm->ms, at, e);
        }
    }
    gm->at = gm->ms.src_end + 1;
    return 0;
}

/* string.gmatch(s, p [, init]) -> iterator. */
static int l_sandbox_str_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls)
        init = ls + 1;
    lua_settop(L, 2);
    gmatch_state *gm = lua_newuserdatauv(L, sizeof *gm, 0);
    relm_pattern_init(&gm->ms, s, ls, p, lp, relm_sandbox_expired);
    gm->at = s + init;
    gm->p = p;
    gm->lastmatch = NULL;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* Append the replacement string (argument 3) for a match, expanding %0-%9
 * and %%. */
static void add_template(lua_State *L, luaL_Buffer *b, const relm_pattern *ms,
                         const char *s, const char *e)
{
    size_t l;
    const char *news = lua_tolstring(L, 3, &l);
    const char *pct;
    while ((pct = memchr(news, '%', l)) != NULL) {
        luaL_addlstring(b, news, (size_t)(pct - news));
        pct++;
        if (*pct == '%') {
            luaL_addchar(b, '%');
        } else if (*pct == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (*pct >= '1' && *pct <= '9') {
            push_capture(L, ms, *pct - '1', s, e);
            luaL_tolstring(L, -1, NULL);
            lua_remove(L, -2);
            luaL_addvalue(b);
        } else {
            luaL_error(L, _("invalid use of '%%' in replacement string"));
        }
        l -= (size_t)(pct + 1 - news);
        news = pct + 1;
    }
    luaL_addlstring(b, news, l);
}

/* Append the replacement for one match; returns 1 when it changed the
 * text (a false or nil result keeps the original). */
static int add_replacement(lua_State *L, luaL_Buffer *b,
                           const relm_pattern *ms, const char *s,
                           const char *e, int kind)
{
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(L, ms, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        push_capture(L, ms, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(L, b, ms, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, _("invalid replacement value (a %s)"),
                          luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

/* string.gsub(s, p, repl [, n]) -> string, count. */
static int l_sandbox_str_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int kind = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING ||
                     kind == LUA_TFUNCTION || kind == LUA_TTABLE, 3,
                     "string/function/table");
    const char *lastmatch = NULL;
    int anchor = *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    relm_pattern ms;
    relm_pattern_init(&ms, src, ls, p, lp, relm_sandbox_expired);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_Integer n = 0;
    int changed = 0;
    while (n < max) {
        const char *e = relm_pattern_match(&ms, src, p);
        if (ms.error != NULL)
            return pattern_error(L, &ms);
        if (e != NULL && e != lastmatch) {
            n++;
            changed = add_replacement(L, &b, &ms, src, e, kind) | changed;
            src = lastmatch = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor)
            break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

static const luaL_Reg pattern_funcs[] = {
    {"find", l_sandbox_str_find},
    {"match", l_sandbox_str_match},
    {"gmatch", l_sandbox_str_gmatch},
    {"gsub", l_sandbox_str_gsub},
    {NULL, NULL},
};

/* ---- string.rep, table.move, table.concat: bounded before they run ----
 * The standard versions loop in C for as long as their arguments say, and
 * a hook cannot stop C: string.rep("", math.maxinteger) makes no memory
 * but spins for ever, as does table.move over a huge empty range. These
 * versions refuse a count no script could need (what fits in the memory
 * cap) before starting, and poll the deadline while they loop. */

/* Element counts above this are refused: a table of that many values would
 * take 256 MB, far over any sandbox's memory cap. */
#define SANDBOX_MAX_ELEMS ((lua_Integer)1 << 24)
/* How often (in iterations) a bounded loop polls the deadline. */
#define SANDBOX_POLL_EVERY 4096

/* Raise "file:line: message" at the script's innermost line: these
 * functions may be reached through a string method, whose dispatcher is a
 * C frame, so luaL_error's level 1 would name no line. */
static int script_error(lua_State *L, const char *fmt, ...)
{
    lua_Debug info;
    const char *where = "";
    for (int level = 1; lua_getstack(L, level, &info); level++) {
        if (lua_getinfo(L, "Sl", &info) && info.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", info.short_src, info.currentline);
            where = lua_tostring(L, -1);
            break;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    lua_pushstring(L, where);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return lua_error(L);
}

/* Every SANDBOX_POLL_EVERY iterations: raise the time-limit error if the
 * deadline has passed. */
static void poll_deadline(lua_State *L, lua_Integer i)
{
    if ((i & (SANDBOX_POLL_EVERY - 1)) == 0 && relm_sandbox_expired())
        relm_sandbox_raise_timeout(L);
}

/* string.rep(s, n [, sep]) for scripts. The result's size is known before
 * anything is copied: an empty result returns at once, one larger than the
 * memory the call may still use is refused with the script's line. The
 * copy itself is then bounded by that size. Upvalue 1: the standard
 * string.rep. Stack: s, n [, sep] -> string. */
static int l_sandbox_str_rep(lua_State *L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || (l == 0 && (lsep == 0 || n == 1))) {
        lua_pushliteral(L, "");
        return 1;
    }
    /* n*l + (n-1)*lsep, refusing overflow. */
    size_t un = (size_t)n;
    if ((uint64_t)n > SIZE_MAX || (l != 0 && un > SIZE_MAX / l) ||
        (lsep != 0 && un - 1 > SIZE_MAX / lsep) ||
        un * l > SIZE_MAX - (un - 1) * lsep)
        return script_error(L, _("string.rep: resulting string too large"));
    size_t total = un * l + (un - 1) * lsep;
    /* Over the whole cap it can never fit; nearer, the allocation itself
     * fails (after an emergency collection) with the memory-limit error. */
    size_t cap = relm_host_mem_limit(L, 0);
    relm_host_mem_limit(L, cap);
    if (cap != 0 && total > cap) {
        char limits[96];
        relm_sandbox_limit_text(limits, sizeof limits);
        return script_error(L, _("string.rep: a result of %I bytes is over "
                            "the sandbox's memory limit (%s)"),
                            (LUAI_UACINT)(lua_Integer)(total > LUA_MAXINTEGER
                                ? LUA_MAXINTEGER : (lua_Integer)total), limits);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* table.move(a1, f, e, t [, a2]) for scripts: the standard checks, a cap on
 * the count, the deadline polled. Stack: a1, f, e, t [, a2] -> a2. */
static int l_sandbox_tab_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, tt, LUA_TTABLE);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3,
                      "too many elements to move");
        lua_Integer n = e - f;
        if (n >= SANDBOX_MAX_ELEMS)
            return script_error(L, _("table.move: %I elements is more than a "
                                "script may move (at most %I)"),
                                (LUAI_UACINT)(n < LUA_MAXINTEGER ? n + 1 : n),
                                (LUAI_UACINT)SANDBOX_MAX_ELEMS);
        luaL_argcheck(L, t <= LUA_MAXINTEGER - n, 4,
                      "destination wrap around");
        if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
            for (lua_Integer i = 0; i <= n; i++) {
                poll_deadline(L, i);
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        } else {
            for (lua_Integer i = n; i >= 0; i--) {
                poll_deadline(L, i);
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        }
    }
    lua_pushvalue(L, tt);
    return 1;
}

/* One element of table.concat: t[i], which must be a string or number. */
static void concat_field(lua_State *L, luaL_Buffer *b, lua_Integer i)
{
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
        luaL_error(L, _("invalid value (at index %I) in table for 'concat'"),
                   (LUAI_UACINT)i);
    luaL_addvalue(b);
}

/* table.concat(t [, sep [, i [, j]]]) for scripts: a cap on the count of
 * elements, the deadline polled. Stack: t [, sep, i, j] -> string. */
static int l_sandbox_tab_concat(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t lsep;
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    lua_Integer last = lua_isnoneornil(L, 4) ? luaL_len(L, 1)
                                             : luaL_checkinteger(L, 4);
    if (i <= last && (lua_Unsigned)last - (lua_Unsigned)i >=
                         (lua_Unsigned)SANDBOX_MAX_ELEMS)
        return script_error(L, _("table.concat: a range of more than %I "
                            "elements is more than a script may join"),
                            (LUAI_UACINT)SANDBOX_MAX_ELEMS);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (lua_Integer k = 0; i < last; i++, k++) {
        poll_deadline(L, k + 1);
        concat_field(L, &b, i);
        luaL_addlstring(&b, sep, lsep);
    }
    if (i == last)
        concat_field(L, &b, i);
    luaL_pushresult(&b);
    return 1;
}

/* A method of the shared string metatable: the sandbox's version inside a
 * sandboxed call, the standard one (upvalue 1) everywhere else, so trusted
 * code keeps the stock library. Upvalue 2: the sandbox's version. */
static int l_sandbox_str_dispatch(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(relm_sandbox_active() ? 2 : 1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* dump stand-in for the string metatable: ("").dump must not reach the
 * real string.dump from inside the sandbox. */
static int l_sandbox_no_dump(lua_State *L)
{
    return luaL_error(L, _("string.dump is not available"));
}

/* Push a new environment: base functions, fresh copies of the libraries, a
 * load bound to it, the unknown-global metatable. Stack: -> env. */
static void push_env(lua_State *L)
{
    lua_newtable(L);
    int env = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, TEMPLATE_KEY);
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_newtable(L);
            lua_pushnil(L);
            while (lua_next(L, -3) != 0) {
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, -4);
            }
            lua_replace(L, -2);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, env);
    }
    lua_pop(L, 1);
    lua_pushvalue(L, env);
    lua_pushcclosure(L, l_sandbox_env_load, 1);
    lua_setfield(L, env, "load");
    lua_getfield(L, LUA_REGISTRYINDEX, ENVMT_KEY);
    lua_setmetatable(L, env);
}

/* relm.core.sandbox.env() -> a fresh environment table. */
static int l_sandbox_env(lua_State *L)
{
    push_env(L);
    return 1;
}

/* relm.core.sandbox.load(code, chunkname [, env]) -> fn, env. Text only;
 * env defaults to a fresh environment. Raises code "sandbox" with the
 * compiler's message (which names chunkname:line) on a syntax error. */
static int l_sandbox_load(lua_State *L)
{
    size_t len;
    const char *code = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(sandbox)");
    if (lua_isnoneornil(L, 3)) {
        lua_settop(L, 2);
        push_env(L);
    } else {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_settop(L, 3);
    }
    /* The chunk name as Lua shows it in messages: "@file" is file. */
    if (len > 0 && code[0] == LUA_SIGNATURE[0])
        return relm_lua_error(L, "sandbox", _("%s: binary chunks are not "
                              "accepted; give the Lua source"),
                              name[0] == '@' || name[0] == '=' ? name + 1
                                                               : name);
    /* The compiled chunk is the script's: charged to it as its owner. */
    unsigned prev = relm_sandbox_owner_enter(L, name);
    int status = luaL_loadbufferx(L, code, len, name, "t");
    relm_sandbox_owner_restore(prev);
    if (status != LUA_OK)
        return relm_lua_error(L, "sandbox", "%s", lua_tostring(L, -1));
    lua_pushvalue(L, 3);
    lua_setupvalue(L, -2, 1);
    lua_pushvalue(L, 3);
    return 2;
}

/* Field key of the limits table at idx: -1 when absent, else its number;
 * raises invalid_argument "argument #argno: key must be <range>" unless it
 * is a number from lo to hi (above 0 when lo is 0; NaN is none). */
static lua_Number limit_field(lua_State *L, int idx, int argno,
                              const char *key, lua_Number lo, lua_Number hi,
                              const char *range)
{
    lua_getfield(L, idx, key);
    int absent = lua_isnil(L, -1), isnum;
    lua_Number v = lua_tonumberx(L, -1, &isnum);
    lua_pop(L, 1);
    if (absent)
        return -1;
    if (!isnum || v != v || v < lo || v > hi || (lo == 0 && v <= 0))
        relm_lua_error(L, "invalid_argument", _("argument #%d: %s must be %s"),
                       argno, key, range);
    return v;
}

/* Megabytes as bytes, at least 1 (a tiny fraction is still a limit). */
static size_t megabytes(lua_Number mb)
{
    size_t bytes = (size_t)(mb * 1048576.0);
    return bytes == 0 ? 1 : bytes;
}

/* Read {timeout_ms=, memory_mb=, owned_mb=} at idx into lim (missing
 * fields stay 0); raises invalid_argument naming argno on bad values. */
static void read_limits(lua_State *L, int idx, int argno,
                        relm_sandbox_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    if (lua_isnoneornil(L, idx))
        return;
    if (!lua_istable(L, idx))
        relm_lua_error(L, "invalid_argument", _("argument #%d: expected a "
                       "table {timeout_ms=, memory_mb=}"), argno);
    const char *mb_range = "a number of megabytes above 0 and up to 65536";
    lua_Number v = limit_field(L, idx, argno, "timeout_ms", 1, 3600000,
                               "a number of milliseconds from 1 to 3600000");
    if (v >= 0)
        lim->timeout_ms = (unsigned)v;
    v = limit_field(L, idx, argno, "memory_mb", 0, 65536, mb_range);
    if (v >= 0)
        lim->memory_bytes = megabytes(v);
    v = limit_field(L, idx, argno, "owned_mb", 0, 65536, mb_range);
    if (v >= 0)
        lim->owned_bytes = megabytes(v);
}

/* Run the function at stack index base with the arguments above it under
 * lim; returns its results or raises a "sandbox" relm error. */
static int call_at(lua_State *L, int base, const relm_sandbox_limits *lim)
{
    luaL_checktype(L, base, LUA_TFUNCTION);
    relm_diag d;
    int nargs = lua_gettop(L) - base;
    if (relm_sandbox_call(L, nargs, LUA_MULTRET, lim, &d) != RELM_OK) {
        lua_pop(L, 1);
        return relm_lua_diag_error(L, &d);
    }
    return lua_gettop(L) - base + 1;
}

/* relm.core.sandbox.call(fn, ...) -> fn's results, run with the default
 * limits. Raises code "sandbox" on timeout, memory or a script error. */
static int l_sandbox_call(lua_State *L)
{
    return call_at(L, 1, NULL);
}

/* relm.core.sandbox.call_with({timeout_ms=, memory_mb=}, fn, ...) -> fn's
 * results, with per-call limits (missing ones take the defaults). */
static int l_sandbox_call_with(lua_State *L)
{
    relm_sandbox_limits lim;
    read_limits(L, 1, 1, &lim);
    return call_at(L, 2, &lim);
}

/* relm.core.sandbox.config([{timeout_ms=, memory_mb=}]) -> the defaults in
 * force after applying the given ones. */
static int l_sandbox_config(lua_State *L)
{
    relm_sandbox_limits lim, out;
    read_limits(L, 1, 1, &lim);
    relm_sandbox_config(&lim, &out);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)out.timeout_ms);
    lua_setfield(L, -2, "timeout_ms");
    lua_pushnumber(L, (lua_Number)out.memory_bytes / 1048576.0);
    lua_setfield(L, -2, "memory_mb");
    lua_pushnumber(L, (lua_Number)out.owned_bytes / 1048576.0);
    lua_setfield(L, -2, "owned_mb");
    return 1;
}

/* relm.core.sandbox.owned(chunkname) -> bytes the script loaded under that
 * chunk name ("@file" or "file") holds now; 0 when unknown. */
static int l_sandbox_owned(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    size_t n = relm_sandbox_owned_by(L, name);
    if (n == 0 && *name != '@') {
        lua_pushfstring(L, "@%s", name);
        n = relm_sandbox_owned_by(L, lua_tostring(L, -1));
    }
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* relm.core.sandbox.active() -> true inside a sandboxed call. */
static int l_sandbox_active(lua_State *L)
{
    lua_pushboolean(L, relm_sandbox_active());
    return 1;
}

/* Give the shared string metatable an __index without dump: method calls
 * on strings ("x"):upper() still find every string function (and any added
 * to `string` later, through a second __index), but ("").dump raises. */
static void guard_string_metatable(lua_State *L)
{
    lua_pushliteral(L, "");
    if (!lua_getmetatable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_getfield(L, -1, "__index");
    if (lua_getfield(L, -1, "dump") == LUA_TFUNCTION &&
        lua_tocfunction(L, -1) != l_sandbox_no_dump) {
        lua_pop(L, 1);
        lua_newtable(L); /* proxy */
        lua_pushnil(L);
        while (lua_next(L, -3) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        }
        lua_pushcfunction(L, l_sandbox_no_dump);
        lua_setfield(L, -2, "dump");
        for (int i = 0; pattern_funcs[i].name != NULL; i++) {
            lua_getfield(L, -2, pattern_funcs[i].name);
            lua_pushcfunction(L, pattern_funcs[i].func);
            lua_pushcclosure(L, l_sandbox_str_dispatch, 2);
            lua_setfield(L, -2, pattern_funcs[i].name);
        }
        /* ("").rep too: a method call must not reach the unbounded one. */
        lua_getfield(L, -2, "rep");
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, l_sandbox_str_rep, 1);
        lua_pushcclosure(L, l_sandbox_str_dispatch, 2);
        lua_setfield(L, -2, "rep");
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, -3);
        lua_setfield(L, -2, "__index");
        lua_setmetatable(L, -2);
        lua_setfield(L, -3, "__index");
    } else {
        lua_pop(L, 1);
    }
    lua_pop(L, 3);
}

/* Build the template environment from the real globals, the environment
 * metatable and the weak set of script metatables, once per state. */
static void build_template(lua_State *L)
{
    lua_newtable(L);
    for (int i = 0; base_names[i] != NULL; i++) {
        lua_getglobal(L, base_names[i]);
        lua_setfield(L, -2, base_names[i]);
    }
    lua_pushcfunction(L, l_sandbox_setmetatable);
    lua_setfield(L, -2, "setmetatable");
    lua_pushcfunction(L, l_sandbox_getmetatable);
    lua_setfield(L, -2, "getmetatable");
    lua_pushcfunction(L, l_sandbox_print);
    lua_setfield(L, -2, "print");
    lua_pushcfunction(L, l_sandbox_xpcall);
    lua_setfield(L, -2, "xpcall");
    for (int i = 0; lib_names[i] != NULL; i++) {
        lua_newtable(L);
        lua_getglobal(L, lib_names[i]);
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -5);
        }
        lua_pop(L, 1);
        lua_setfield(L, -2, lib_names[i]);
    }
    lua_getfield(L, -1, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    luaL_setfuncs(L, pattern_funcs, 0);
    lua_getfield(L, -1, "rep");
    lua_pushcclosure(L, l_sandbox_str_rep, 1);
    lua_setfield(L, -2, "rep");
    lua_pop(L, 1);
    lua_getfield(L, -1, "table");
    lua_pushcfunction(L, l_sandbox_tab_move);
    lua_setfield(L, -2, "move");
    lua_pushcfunction(L, l_sandbox_tab_concat);
    lua_setfield(L, -2, "concat");
    lua_pop(L, 1);
    lua_newtable(L);
    lua_getglobal(L, "os");
    for (int i = 0; os_names[i] != NULL; i++) {
        lua_getfield(L, -1, os_names[i]);
        if (strcmp(os_names[i], "time") == 0)
            lua_pushcclosure(L, l_sandbox_os_time, 1);
        else if (strcmp(os_names[i], "date") == 0)
            lua_pushcclosure(L, l_sandbox_os_date, 1);
        lua_setfield(L, -3, os_names[i]);
    }
    lua_pop(L, 1);
    lua_setfield(L, -2, "os");
    lua_setfield(L, LUA_REGISTRYINDEX, TEMPLATE_KEY);

    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, l_sandbox_unknown_global);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_sandbox_new_global);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setfield(L, LUA_REGISTRYINDEX, ENVMT_KEY);

    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, MTS_KEY);
}

static const luaL_Reg funcs[] = {
    {"env", l_sandbox_env},
    {"load", l_sandbox_load},
    {"call", l_sandbox_call},
    {"call_with", l_sandbox_call_with},
    {"config", l_sandbox_config},
    {"active", l_sandbox_active},
    {"owned", l_sandbox_owned},
    {NULL, NULL},
};

int luaopen_relm_sandbox(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, TEMPLATE_KEY) == LUA_TNIL)
        build_template(L);
    lua_pop(L, 1);
    guard_string_metatable(L);
    luaL_newlib(L, funcs);
    /* One-line docs for help() (lua/relm/help.lua). */
    static const char *const docs[][2] = {
        {"_module", "where workflow scripts run: allow-list, time and memory "
                    "caps"},
        {"env", "() -> table: a fresh sandbox environment"},
        {"load", "(code, chunkname [, env]) -> fn, env: compile text in an "
                 "environment"},
        {"call", "(fn, ...) -> results: run under the default limits"},
        {"call_with", "({timeout_ms=, memory_mb=}, fn, ...) -> results: run "
                      "under given limits"},
        {"config", "([{timeout_ms=, memory_mb=, owned_mb=}]) -> table: read "
                   "or set the default limits"},
        {"active", "() -> boolean: inside a sandboxed call?"},
        {"owned", "(chunkname) -> integer: bytes a loaded script holds"},
    };
    relm_host_set_docs(L, docs, sizeof docs / sizeof docs[0]);
    return 1;
}
