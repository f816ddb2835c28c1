/* host.c: the one embedded Lua state: allocator with accounting, module
 * path, preloaded C modules, protected calls and relm error objects. */
#include "lua/host.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
/* luv.h declares `lua_State *(*)()`, an old-style prototype. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <luv/luv.h>
#pragma GCC diagnostic pop

#include "config.h" /* RELM_DATADIR, generated from the Makefile's PREFIX */
#include "base/context.h"
#include "base/i18n.h"
#include "lua/modules.h"
#include "base/utf8.h"
#include "lua/sandbox.h"

/* The allocator's userdata doubles as the host context: reachable from any
 * lua_State with lua_getallocf, without a registry lookup. */
typedef struct host_ctx {
    size_t used;
    size_t limit;
    relm_store *store;
    uv_loop_t loop;        /* the engine's one loop; luv is bound to it */
    char engine_src[4200]; /* "@<home>/lua/": chunk names of engine modules */
    char home[4096];
    char luac[4200];       /* compiled engine modules, or "" (below) */
    lua_State *user;       /* the state scripts and the REPL run in */
    lua_State *engine;     /* the private definitions state (lazily opened):
                            * workflows, approval rules, guards, actions */
} host_ctx;

/* The context of the process's one state is relm_process.host
 * (base/context.h). Holding it there also keeps it reachable when a
 * script's os.exit(code, true) closes the state from inside a call and the
 * process ends without relm_host_close (otherwise a leak checker reports
 * it). */

static const struct {
    const char *name;
    lua_CFunction open;
} modules[] = {
#define RELM_MODULE(n) {#n, luaopen_relm_##n},
#include "modules.inc"
#undef RELM_MODULE
    {NULL, NULL},
};

/* Every block carries a header naming the sandboxed script that owns it
 * (0: the engine), so the memory each script keeps between calls can be
 * capped (core/lua/sandbox.c, "owned memory"). A block keeps its owner
 * when it is resized. Eight bytes, not max_align_t's sixteen: Lua asks
 * only for the alignment of its LUAI_MAXALIGN types (lua_Number, void *,
 * lua_Integer, long), and the smaller header costs half the memory. */
typedef union block_hdr {
    unsigned owner;
    lua_Integer i;
    lua_Number n;
    void *p;
    long l;
} block_hdr;

static void *host_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    host_ctx *ctx = ud;
    size_t old = ptr != NULL ? osize : 0;
    block_hdr *h = ptr != NULL ? (block_hdr *)ptr - 1 : NULL;
    unsigned owner = h != NULL ? h->owner : relm_sandbox_owner();
    if (nsize == 0) {
        free(h);
        ctx->used -= old;
        relm_sandbox_owned(owner, old, 0);
        return NULL;
    }
    if (ctx->limit != 0 && nsize > old && ctx->used - old + nsize > ctx->limit)
        return NULL;
    if (nsize > old && !relm_sandbox_owned_fits(owner, nsize - old))
        return NULL;
    if (nsize > SIZE_MAX - sizeof *h)
        return NULL;
    block_hdr *p = realloc(h, sizeof *h + nsize);
    if (p == NULL)
        return NULL;
    p->owner = owner;
    ctx->used = ctx->used - old + nsize;
    relm_sandbox_owned(owner, old, nsize);
    return p + 1;
}

static host_ctx *ctx_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

size_t relm_host_mem_used(lua_State *L)
{
    return ctx_of(L)->used;
}

size_t relm_host_mem_limit(lua_State *L, size_t limit)
{
    host_ctx *ctx = ctx_of(L);
    size_t prev = ctx->limit;
    ctx->limit = limit;
    return prev;
}

void relm_host_set_docs(lua_State *L, const char *const docs[][2], size_t n)
{
    lua_createtable(L, 0, (int)n);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, docs[i][1]);
        lua_setfield(L, -2, docs[i][0]);
    }
    lua_setfield(L, -2, "__doc");
}

relm_store *relm_host_store(lua_State *L)
{
    return ctx_of(L)->store;
}

static int panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, _("relm: unprotected Lua error: %s\n"),
            msg != NULL ? msg : "(error object is not a string)");
    return 0; /* abort */
}

/* Push "file:line: " of the first frame from level up that is the user's
 * code: a script, the REPL, a workflow file. Frames of the engine's own Lua
 * modules (lua/relm/...) and C functions are passed over, so an error
 * raised deep in relm.release points at the script line that called it.
 * Pushes "" when no such frame exists (e.g. `relm -e` ran `return f(...)`,
 * a tail call that left no frame of the user's): the engine's own file and
 * line would only mislead the user. When the error is raised from the
 * engine's own Lua, the level it passed is not trusted: a level counted by
 * hand goes stale when the helper that raises is called from one more
 * place (relm.release.act's checks named the caller of the user's function,
 * or nothing), so the search starts at the raising frame. The level only
 * counts for relm.error called from the user's own code. */
static void push_where(lua_State *L, int level)
{
    const char *engine = ctx_of(L)->engine_src;
    size_t n = strlen(engine);
    lua_Debug ar;
    for (int lv = 1; lv < level && lua_getstack(L, lv, &ar); lv++) {
        if (!lua_getinfo(L, "S", &ar) || ar.what[0] == 'C')
            continue;
        if (strncmp(ar.source, engine, n) == 0)
            level = 1;
        break;
    }
    for (int lv = level; lua_getstack(L, lv, &ar); lv++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
            continue;
        if (strncmp(ar.source, engine, n) == 0)
            continue;
        lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
        return;
    }
    lua_pushliteral(L, "");
}

void relm_lua_push_error(lua_State *L, const char *code, const char *message,
                         int level)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    if (level > 0) {
        push_where(L, level);
        lua_setfield(L, -2, "where");
    }
    luaL_setmetatable(L, RELM_ERROR_MT);
}

int relm_lua_error(lua_State *L, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    relm_lua_push_error(L, code, msg, 1);
    return lua_error(L);
}

int relm_lua_diag_error(lua_State *L, const relm_diag *d)
{
    relm_lua_push_error(L, d->code != NULL ? d->code : "error", d->msg, 1);
    return lua_error(L);
}

/* Name argument idx of the running C function the way luaL_argerror
 * does ("argument #2 to 'relate'"), for checks given no `what`. */
static const char *arg_name(lua_State *L, int idx, char *buf, size_t size)
{
    lua_Debug ar;
    const char *fn = "?";
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) &&
        ar.name != NULL)
        fn = ar.name;
    snprintf(buf, size, _("argument #%d to '%s'"), idx, fn);
    return buf;
}

const char *relm_text_problem(const char *v, size_t n, size_t *at)
{
    size_t bad = 0;
    /* memchr first: it is the cheap test every field pays, and a NUL is
     * valid UTF-8, so the validator alone would let it through. */
    const char *nul = memchr(v, '\0', n);
    if (nul != NULL) {
        *at = (size_t)(nul - v) + 1;
        return "contains a NUL byte";
    }
    if (!relm_utf8_valid(v, n, &bad)) {
        *at = bad + 1;
        return "is not valid UTF-8";
    }
    return NULL;
}

const char *relm_lua_text(lua_State *L, int idx, const char *what,
                          size_t *len)
{
    size_t n = 0, at = 0;
    char name[96];
    const char *v = lua_tolstring(L, idx, &n);
    if (v == NULL)
        return NULL;
    const char *why = relm_text_problem(v, n, &at);
    if (why != NULL)
        relm_lua_error(L, "invalid_argument", _("%s: %s (at byte %zu)"),
                       what != NULL ? what : arg_name(L, idx, name,
                                                      sizeof name),
                       why, at);
    if (len != NULL)
        *len = n;
    return v;
}

const char *relm_lua_checktext(lua_State *L, int idx, const char *what)
{
    luaL_checklstring(L, idx, NULL);
    return relm_lua_text(L, idx, what, NULL);
}

const char *relm_lua_opttext(lua_State *L, int idx, const char *what)
{
    if (lua_isnoneornil(L, idx))
        return NULL;
    return relm_lua_checktext(L, idx, what);
}

const char *relm_lua_error_string(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
        luaL_getmetatable(L, RELM_ERROR_MT);
        int ours = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (ours) {
            lua_getfield(L, idx, "where");
            lua_getfield(L, idx, "code");
            lua_getfield(L, idx, "message");
            const char *where = lua_tostring(L, -3);
            lua_pushfstring(L, "%s%s: %s", where != NULL ? where : "",
                            luaL_optstring(L, -2, "error"),
                            luaL_optstring(L, -1, ""));
            lua_replace(L, -4);
            lua_pop(L, 2);
            return lua_tostring(L, -1);
        }
    }
    return luaL_tolstring(L, idx, NULL);
}

/* Message handler: keep the error value, and remember the traceback of the
 * place it was first raised (a re-raise of the same value keeps it). */
static int msgh(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "relm.last_error");
    int same = lua_rawequal(L, 1, -1);
    lua_pop(L, 1);
    if (!same) {
        const char *msg = relm_lua_error_string(L, 1);
        luaL_traceback(L, L, msg, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, "relm.last_traceback");
        lua_pop(L, 1);
        lua_pushvalue(L, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, "relm.last_error");
    }
    lua_settop(L, 1);
    return 1;
}

int relm_host_pcall(lua_State *L, int nargs, int nresults)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, msgh);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

void relm_host_traceback(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "relm.last_traceback");
}

static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    relm_lua_error(L, "interrupted", _("interrupted by the user"));
}

void relm_host_interrupt(lua_State *L)
{
    lua_sethook(L, interrupt_hook,
                LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    relm_store *s = relm_host_store(L);
    if (s != NULL)
        sqlite3_interrupt(relm_store_db(s));
}

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "message");
    lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "error"),
                    luaL_optstring(L, -1, ""));
    return 1;
}

static int file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* Where lua/relm/init.lua is, in order: $RELM_HOME; a source tree holding
 * the executable (build/relm, build/asan/relm); <prefix>/share/relm beside
 * an installed <prefix>/bin/relm, so a copied or DESTDIR-staged install
 * works too; and last the data directory compiled in from PREFIX. */
const char *relm_host_find_home(void)
{
    static char home[4400];
    const char *env = getenv("RELM_HOME");
    if (env != NULL && *env != '\0') {
        snprintf(home, sizeof home, "%s", env);
        return home;
    }
    char exe[4096], probe[4400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        /* build/relm or build/asan/relm: look a few levels up for lua/. */
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(exe, '/');
            if (slash == NULL || slash == exe)
                break;
            *slash = '\0';
            snprintf(probe, sizeof probe, "%s/lua/relm/init.lua", exe);
            if (file_exists(probe)) {
                snprintf(home, sizeof home, "%s", exe);
                return home;
            }
            if (up == 1) {
                snprintf(probe, sizeof probe,
                         "%s/share/relm/lua/relm/init.lua", exe);
                if (file_exists(probe)) {
                    snprintf(home, sizeof home, "%s/share/relm", exe);
                    return home;
                }
            }
        }
    }
    snprintf(home, sizeof home, "%s", RELM_DATADIR);
    return home;
}

/* Every luv callback runs through the host's protected call, so an error in
 * one carries a traceback like any other (luv's default prints and exits). */
static int luv_pcall(lua_State *L, int nargs, int nresults, int flags)
{
    (void)flags;
    int status = relm_host_pcall(L, nargs, nresults);
    if (status != LUA_OK) {
        fprintf(stderr, _("relm: in a loop callback: %s\n"),
                relm_lua_error_string(L, -1));
        lua_pop(L, 2);
    }
    return status;
}

/* package.preload.luv: luv bound to the engine's own loop, as Neovim binds
 * it (luv_set_loop before luaopen_luv), so Lua's file system calls, timers
 * and handles live on the loop `relm serve` runs, never a private one. The
 * engine's Lua modules use it; sandboxed scripts cannot reach require. */
static int open_luv(lua_State *L)
{
    host_ctx *ctx = ctx_of(L);
    luv_set_loop(L, &ctx->loop);
    luv_set_callback(L, luv_pcall);
    return luaopen_luv(L);
}

uv_loop_t *relm_host_loop(lua_State *L)
{
    return &ctx_of(L)->loop;
}

/* The engine's own modules precompiled (Lua bytecode, made by `make` from
 * lua/ with core/lua/bytecode.lua), as Neovim's vim.loader caches them:
 * parsing lua/relm/pretty.lua alone took a millisecond of every start.
 * Where: luac/ beside the executable (build/luac) or in the data directory
 * (installed). Used only when luac/HOME names this very home (a module's
 * chunk name, "@<home>/lua/...", is fixed at compile time and tells the
 * engine's frames from the user's) and only for a module whose bytecode is
 * not older than its source: an edited lua/ file is read as text. */
static void find_luac(host_ctx *ctx)
{
    char dirs[2][4200], stamp[4300], text[4200];
    snprintf(dirs[0], sizeof dirs[0], "%s/luac", ctx->home);
    dirs[1][0] = '\0';
    ssize_t n = readlink("/proc/self/exe", dirs[1], sizeof dirs[1] - 6);
    char *slash = n > 0 ? (dirs[1][n] = '\0', strrchr(dirs[1], '/')) : NULL;
    if (slash != NULL)
        strcpy(slash, "/luac");
    for (int i = 1; i >= 0; i--) {
        snprintf(stamp, sizeof stamp, "%s/HOME", dirs[i]);
        FILE *f = fopen(stamp, "r");
        if (f == NULL)
            continue;
        size_t len = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[len] = '\0';
        text[strcspn(text, "\n")] = '\0';
        if (strcmp(text, ctx->home) == 0) {
            snprintf(ctx->luac, sizeof ctx->luac, "%s", dirs[i]);
            return;
        }
    }
}

static int mtime_ns(const char *path, int64_t *t)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    *t = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

/* package.searchers[2]: relm.X from its bytecode when fresh; otherwise
 * nothing, and the standard searcher reads the source. */
static int luac_searcher(lua_State *L)
{
    host_ctx *ctx = ctx_of(L);
    const char *name = luaL_checkstring(L, 1);
    if (ctx->luac[0] == '\0' ||
        (strcmp(name, "relm") != 0 && strncmp(name, "relm.", 5) != 0) ||
        strlen(name) > 200)
        return 0;
    char rel[256], src[4400], bin[4500];
    snprintf(rel, sizeof rel, "%s", name);
    for (char *c = rel; *c != '\0'; c++)
        if (*c == '.')
            *c = '/';
    static const char *const forms[] = {"%s/lua/%s.lua", "%s/lua/%s/init.lua"};
    static const char *const bins[] = {"%s/%s.luac", "%s/%s/init.luac"};
    for (int i = 0; i < 2; i++) {
        int64_t ts, tb;
        snprintf(src, sizeof src, forms[i], ctx->home, rel);
        if (mtime_ns(src, &ts) != 0)
            continue;
        snprintf(bin, sizeof bin, bins[i], ctx->luac, rel);
        if (mtime_ns(bin, &tb) != 0 || tb < ts ||
            luaL_loadfilex(L, bin, "b") != LUA_OK)
            return 0;
        lua_pushstring(L, src); /* what the standard searcher would pass */
        return 2;
    }
    return 0;
}

/* package.path: the engine's own lua/ first, then the system's (busted and
 * other Debian Lua packages live there). */
static void set_paths(lua_State *L, const char *home)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;%s", home, home,
                    lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 1);
    lua_getfield(L, -1, "searchers");
    for (lua_Integer i = (lua_Integer)lua_rawlen(L, -1); i >= 2; i--) {
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushcfunction(L, luac_searcher);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 1);
    lua_getfield(L, -1, "preload");
    for (int i = 0; modules[i].name != NULL; i++) {
        char name[128];
        snprintf(name, sizeof name, "relm.core.%s", modules[i].name);
        lua_pushcfunction(L, modules[i].open);
        lua_setfield(L, -2, name);
    }
    lua_pushcfunction(L, open_luv);
    lua_setfield(L, -2, "luv");
    lua_pop(L, 2);
}

static int open_relm(lua_State *L)
{
    const char *home = lua_tostring(L, 1);
    luaL_openlibs(L);
    set_paths(L, home);
    luaL_newmetatable(L, RELM_ERROR_MT);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, RELM_ERROR_MT);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "relm");
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "relm");
    lua_pushstring(L, home);
    lua_setfield(L, -2, "home");
    return 0;
}

/* Open a Lua state on ctx with the relm modules (the user's or the
 * engine's: the bindings ask relm_host_is_engine which table to build). */
static lua_State *open_state(host_ctx *ctx, const char *home, relm_diag *d)
{
    lua_State *L = lua_newstate(host_alloc, ctx);
    if (L == NULL) {
        relm_diag_set(d, "out_of_memory", _("cannot create the Lua state"));
        return NULL;
    }
    lua_atpanic(L, panic);
    lua_pushcfunction(L, open_relm);
    lua_pushstring(L, home);
    if (relm_host_pcall(L, 1, 0) != LUA_OK) {
        relm_diag_set(d, "lua_init", _("cannot load the relm Lua modules from "
                      "%s/lua: %s"), home, relm_lua_error_string(L, -1));
        lua_close(L);
        return NULL;
    }
    return L;
}

int relm_host_is_engine(lua_State *L)
{
    host_ctx *ctx = ctx_of(L);
    return ctx->engine != NULL && lua_topointer(L, LUA_REGISTRYINDEX) ==
                                      lua_topointer(ctx->engine,
                                                    LUA_REGISTRYINDEX);
}

lua_State *relm_host_engine(lua_State *L, relm_diag *d)
{
    host_ctx *ctx = ctx_of(L);
    if (ctx->engine != NULL)
        return ctx->engine;
    /* While it opens, the modules it loads must already see themselves as
     * the engine's: mark the state before requiring anything. */
    lua_State *E = lua_newstate(host_alloc, ctx);
    if (E == NULL) {
        relm_diag_set(d, "out_of_memory", _("cannot create the engine state"));
        return NULL;
    }
    ctx->engine = E;
    lua_atpanic(E, panic);
    lua_pushcfunction(E, open_relm);
    lua_pushstring(E, ctx->home);
    if (relm_host_pcall(E, 1, 0) != LUA_OK) {
        relm_diag_set(d, "lua_init", _("cannot open the engine state: %s"),
                      relm_lua_error_string(E, -1));
        ctx->engine = NULL;
        lua_close(E);
        return NULL;
    }
    return E;
}

/* Copy the plain value at idx of from (nil, boolean, number, string, or a
 * table of those, depth-limited) onto to's stack. Functions, userdata and
 * threads become nil: nothing but data crosses between the states. */
static void copy_value(lua_State *from, int idx, lua_State *to, int depth)
{
    idx = lua_absindex(from, idx);
    switch (lua_type(from, idx)) {
    case LUA_TBOOLEAN:
        lua_pushboolean(to, lua_toboolean(from, idx));
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(from, idx))
            lua_pushinteger(to, lua_tointeger(from, idx));
        else
            lua_pushnumber(to, lua_tonumber(from, idx));
        return;
    case LUA_TSTRING: {
        size_t len;
        const char *v = lua_tolstring(from, idx, &len);
        lua_pushlstring(to, v, len);
        return;
    }
    case LUA_TTABLE:
        if (depth > 16)
            break;
        lua_newtable(to);
        luaL_checkstack(from, 4, "copying a value");
        luaL_checkstack(to, 4, "copying a value");
        lua_pushnil(from);
        while (lua_next(from, idx) != 0) {
            int kt = lua_type(from, -2);
            if (kt == LUA_TSTRING || kt == LUA_TNUMBER || kt == LUA_TBOOLEAN) {
                copy_value(from, -2, to, depth + 1);
                copy_value(from, -1, to, depth + 1);
                lua_rawset(to, -3);
            }
            lua_pop(from, 1);
        }
        if (luaL_getmetafield(from, idx, "__name") != LUA_TNIL) {
            /* relm error objects keep their metatable (they print). */
            if (lua_type(from, -1) == LUA_TSTRING &&
                strcmp(lua_tostring(from, -1), RELM_ERROR_MT) == 0) {
                luaL_setmetatable(to, RELM_ERROR_MT);
            }
            lua_pop(from, 1);
        }
        return;
    default:
        break;
    }
    lua_pushnil(to);
}

void relm_host_copy(lua_State *from, int idx, lua_State *to)
{
    if (from == to) {
        lua_pushvalue(to, idx);
        return;
    }
    copy_value(from, idx, to, 0);
}

int relm_host_engine_call(lua_State *L, const char *module, const char *fn,
                          int nargs)
{
    relm_diag d;
    lua_State *E = relm_host_engine(L, &d);
    if (E == NULL)
        return relm_lua_diag_error(L, &d);
    int base = lua_gettop(L) - nargs;
    int etop = lua_gettop(E);
    luaL_checkstack(E, nargs + 4, "calling the engine");
    /* module._engine, looked up once and kept in the engine's registry
     * (this is on every act's path). */
    char key[160];
    snprintf(key, sizeof key, "relm.engine:%s", module);
    if (lua_getfield(E, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
        lua_pop(E, 1);
        lua_getglobal(E, "require");
        lua_pushstring(E, module);
        if (relm_host_pcall(E, 1, 1) != LUA_OK) {
            lua_pushstring(L, relm_lua_error_string(E, -1));
            lua_settop(E, etop);
            return lua_error(L);
        }
        lua_getfield(E, -1, "_engine");
        if (lua_istable(E, -1)) {
            lua_pushvalue(E, -1);
            lua_setfield(E, LUA_REGISTRYINDEX, key);
        }
    }
    if (lua_istable(E, -1))
        lua_getfield(E, -1, fn);
    else
        lua_pushnil(E);
    if (!lua_isfunction(E, -1)) {
        lua_settop(E, etop);
        return relm_lua_error(L, "internal", _("the engine has no %s.%s"),
                              module, fn);
    }
    for (int i = 1; i <= nargs; i++)
        relm_host_copy(L, base + i, E);
    if (relm_host_pcall(E, nargs, 1) != LUA_OK) {
        relm_host_copy(E, -1, L);
        lua_settop(E, etop);
        if (lua_istable(L, -1)) {
            /* Point the error at the user's line, not the engine's. */
            push_where(L, 1);
            lua_setfield(L, -2, "where");
            luaL_setmetatable(L, RELM_ERROR_MT);
        }
        return lua_error(L);
    }
    relm_host_copy(E, -1, L);
    lua_settop(E, etop);
    return 1;
}

lua_State *relm_host_open(relm_store *s, const char *home, relm_diag *d)
{
    host_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        relm_diag_set(d, "out_of_memory", _("out of memory"));
        return NULL;
    }
    ctx->store = s;
    relm_i18n_init(NULL); /* the build's or the installed catalogues */
    if (uv_loop_init(&ctx->loop) != 0) {
        free(ctx);
        relm_diag_set(d, "out_of_memory", _("cannot create the event loop"));
        return NULL;
    }
    snprintf(ctx->engine_src, sizeof ctx->engine_src, "@%s/lua/", home);
    snprintf(ctx->home, sizeof ctx->home, "%s", home);
    find_luac(ctx);
    relm_process.host = ctx;
    lua_State *L = open_state(ctx, home, d);
    if (L == NULL) {
        relm_process.host = NULL;
        uv_loop_close(&ctx->loop);
        free(ctx);
        return NULL;
    }
    ctx->user = L;
    return L;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void relm_host_close(lua_State *L)
{
    if (L == NULL)
        return;
    host_ctx *ctx = ctx_of(L);
    if (ctx->engine != NULL && ctx->engine != L) {
        lua_close(ctx->engine);
        ctx->engine = NULL;
    }
    lua_close(L);
    /* Handles Lua left open (a timer a script never closed) are closed and
     * their close callbacks run, so the loop can be closed cleanly. */
    uv_walk(&ctx->loop, close_walk, NULL);
    uv_run(&ctx->loop, UV_RUN_DEFAULT);
    uv_loop_close(&ctx->loop);
    if (ctx == relm_process.host)
        relm_process.host = NULL;
    free(ctx);
}
