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
#include <unistd.h>
#include <uv.h>
/* luv.h declares `lua_State *(*)()`, an old-style prototype. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <luv/luv.h>
#pragma GCC diagnostic pop

#include "config.h" /* RELM_DATADIR, generated from the Makefile's PREFIX */
#include "lua/modules.h"
#include "lua/sandbox.h"

/* The allocator's userdata doubles as the host context: reachable from any
 * lua_State with lua_getallocf, without a registry lookup. */
typedef struct host_ctx {
    size_t used;
    size_t limit;
    relm_store *store;
    uv_loop_t loop;        /* the engine's one loop; luv is bound to it */
    char engine_src[4200]; /* "@<home>/lua/": chunk names of engine modules */
} host_ctx;

/* The context of the process's one state. Holding it here also keeps it
 * reachable when a script's os.exit(code, true) closes the state from
 * inside a call and the process ends without relm_host_close (otherwise a
 * leak checker reports it). */
static host_ctx *process_ctx;

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
    fprintf(stderr, "relm: unprotected Lua error: %s\n",
            msg != NULL ? msg : "(error object is not a string)");
    return 0; /* abort */
}

/* Push "file:line: " of the first frame from level up that is the user's
 * code: a script, the REPL, a workflow file. Frames of the engine's own Lua
 * modules (lua/relm/...) and C functions are passed over, so an error
 * raised deep in relm.release points at the script line that called it.
 * Pushes "" when no such frame exists (e.g. `relm -e` ran `return f(...)`,
 * a tail call that left no frame of the user's): the engine's own file and
 * line would only mislead the user. */
static void push_where(lua_State *L, int level)
{
    const char *engine = ctx_of(L)->engine_src;
    size_t n = strlen(engine);
    lua_Debug ar;
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
    relm_lua_error(L, "interrupted", "interrupted by the user");
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
        fprintf(stderr, "relm: in a loop callback: %s\n",
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

lua_State *relm_host_open(relm_store *s, const char *home, relm_diag *d)
{
    host_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        relm_diag_set(d, "out_of_memory", "out of memory");
        return NULL;
    }
    ctx->store = s;
    if (uv_loop_init(&ctx->loop) != 0) {
        free(ctx);
        relm_diag_set(d, "out_of_memory", "cannot create the event loop");
        return NULL;
    }
    snprintf(ctx->engine_src, sizeof ctx->engine_src, "@%s/lua/", home);
    process_ctx = ctx;
    lua_State *L = lua_newstate(host_alloc, ctx);
    if (L == NULL) {
        process_ctx = NULL;
        uv_loop_close(&ctx->loop);
        free(ctx);
        relm_diag_set(d, "out_of_memory", "cannot create the Lua state");
        return NULL;
    }
    lua_atpanic(L, panic);
    lua_pushcfunction(L, open_relm);
    lua_pushstring(L, home);
    if (relm_host_pcall(L, 1, 0) != LUA_OK) {
        relm_diag_set(d, "lua_init", "cannot load the relm Lua modules from "
                      "%s/lua: %s", home, relm_lua_error_string(L, -1));
        relm_host_close(L);
        return NULL;
    }
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
    lua_close(L);
    /* Handles Lua left open (a timer a script never closed) are closed and
     * their close callbacks run, so the loop can be closed cleanly. */
    uv_walk(&ctx->loop, close_walk, NULL);
    uv_run(&ctx->loop, UV_RUN_DEFAULT);
    uv_loop_close(&ctx->loop);
    if (ctx == process_ctx)
        process_ctx = NULL;
    free(ctx);
}
