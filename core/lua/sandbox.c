/* sandbox.c: deadlines and memory caps for sandboxed Lua calls. A watchdog
 * thread sleeps until a call's deadline; only then is the Lua hook armed. */
#include "base/i18n.h"
#include "lua/sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <lauxlib.h>

#include "base/context.h"
#include "lua/host.h"

/* Why a libuv thread, a condition variable and a signal:
 *
 * A permanent count hook makes every Lua instruction pay for the rare
 * runaway guard (about 2x slower). Instead a watchdog thread waits on a
 * condition variable with a timeout (uv_cond_timedwait: monotonic clock,
 * already linked, portable). Starting a call only stores its deadline under
 * a mutex; the watchdog is woken only when the new deadline is earlier than
 * the one it already sleeps towards, so a stream of calls that end in time
 * costs one lock per call and one wake-up per timeout period. A uv_loop with
 * a uv_timer in the thread would need a uv_async round trip per call.
 *
 * When the deadline passes, the watchdog does not touch the Lua state: it
 * sends WATCH_SIGNAL to the thread running the call, and the handler arms
 * the hook there, exactly as lua.c does for Ctrl-C. lua_sethook walks the
 * chain of call frames to set their traps; from the thread that owns the
 * state that walk sees only live frames, whereas from another thread it
 * could race with the collector freeing frames the owner just left.
 *
 * A hook only runs between Lua instructions: a C library call that never
 * returns cannot be stopped from inside the state. The one such call a
 * script could make, a backtracking string pattern, is replaced in the
 * sandbox by core/pattern.c, which polls relm_sandbox_expired(). For
 * anything else, rather than hang the engine for ever, the watchdog ends
 * the process with a message when the hook has still not run after the
 * running thread spent HARD_GRACE_MS more of CPU time past the deadline
 * (CPU time, not wall time: a process stopped with Ctrl-Z, held in a
 * debugger or starved of CPU is not stuck); SQLite rolls back whatever
 * transaction was open. */
#define WATCH_SIGNAL (SIGRTMIN + 4)
#define HARD_GRACE_MS RELM_WATCHDOG_GRACE_MS

static struct {
    uv_once_t once;
    uv_mutex_t mu;
    uv_cond_t cv;
    uv_thread_t thread;
    int ok;             /* the watchdog is running */
    uint64_t deadline;  /* uv_hrtime() of the running call's end; 0 = none */
    int sent;           /* the signal for this deadline has been sent */
    uint64_t cpu_sent;  /* the target's CPU time then (0: unknown) */
    uint64_t wake_at;   /* when the watchdog will wake unasked (UINT64_MAX) */
    pthread_t target;   /* the thread running the call */
} W = {.once = UV_ONCE_INIT, .wake_at = UINT64_MAX};

/* The running call, shared with the signal handler and written by the
 * thread running calls, is the process context's sandbox section
 * (base/context.h); wd names it here. */
static struct relm_watch *const wd = &relm_process.sandbox;

/* The configured defaults (main thread only), the built-in ones where
 * relm_sandbox_config set none. */
static relm_sandbox_limits defaults(void)
{
    relm_sandbox_limits l = {
        wd->timeout_ms != 0 ? wd->timeout_ms : RELM_SANDBOX_TIMEOUT_MS,
        wd->memory_bytes != 0 ? wd->memory_bytes : RELM_SANDBOX_MEMORY_BYTES,
        wd->owned_bytes != 0 ? wd->owned_bytes : RELM_SANDBOX_OWNED_BYTES};
    return l;
}

/* The hook, once armed, raises at every instruction, call and return and
 * is never disarmed by itself: a pcall inside the script catches one error,
 * then the next instruction raises again, until the call unwinds to
 * relm_sandbox_call, which restores the previous hook. The first firing
 * records where the script was, for the message. */
int relm_sandbox_raise_timeout(lua_State *L)
{
    wd->hooked = 1;
    if (wd->where[0] == '\0') {
        lua_Debug info;
        for (int level = 0; lua_getstack(L, level, &info); level++) {
            if (lua_getinfo(L, "Sl", &info) && info.currentline > 0) {
                snprintf(wd->where, sizeof wd->where, "%s:%d", info.short_src,
                         info.currentline);
                break;
            }
        }
        if (wd->where[0] == '\0')
            snprintf(wd->where, sizeof wd->where, "?");
    }
    lua_pushliteral(L, "sandbox: time limit exceeded");
    return lua_error(L);
}

/* The armed hook: raises the time-limit error (see above). */
static void timeout_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    wd->hooked = 1;
    relm_sandbox_raise_timeout(L);
}

/* Runs on the thread executing the call (pthread_kill targets it), like
 * lua.c's SIGINT handler: only lua_sethook, which Lua makes signal-safe. */
static void on_watch_signal(int sig)
{
    (void)sig;
    int saved = errno;
    lua_State *L = wd->L;
    if (wd->active && L != NULL) {
        wd->fired = 1;
        lua_sethook(L, timeout_hook,
                    LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
    errno = saved;
}

/* CPU time used so far by thread t, in ns; 0 when it cannot be read. */
static uint64_t thread_cpu_ns(pthread_t t)
{
    clockid_t clock;
    struct timespec ts;
    if (pthread_getcpuclockid(t, &clock) != 0 ||
        clock_gettime(clock, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1;
}

/* The watchdog: sleep until the current deadline (or until told of an
 * earlier one), then signal the running thread once per deadline; if the
 * hook does not run, see HARD_GRACE_MS above. */
static void watchdog(void *arg)
{
    (void)arg;
    uv_mutex_lock(&W.mu);
    for (;;) {
        const uint64_t grace = (uint64_t)wd->hard_grace_ms * 1000000u;
        uint64_t now = uv_hrtime();
        if (W.deadline == 0 || (W.sent && (wd->hooked || W.cpu_sent == 0))) {
            W.wake_at = UINT64_MAX;
            uv_cond_wait(&W.cv, &W.mu);
        } else if (W.sent) {
            uint64_t cpu = thread_cpu_ns(W.target);
            if (cpu != 0 && cpu - W.cpu_sent >= grace) {
                fprintf(stderr, _("relm: sandbox: a sandboxed call is stuck in "
                        "a library function %u ms of CPU past its time "
                        "limit; stopping the process\n"), wd->hard_grace_ms);
                _exit(70);
            }
            W.wake_at = UINT64_MAX; /* watch() need not wake us early */
            (void)uv_cond_timedwait(&W.cv, &W.mu, grace / 8);
        } else if (now >= W.deadline) {
            W.sent = 1;
            W.cpu_sent = thread_cpu_ns(W.target);
            pthread_kill(W.target, WATCH_SIGNAL);
        } else {
            W.wake_at = W.deadline;
            (void)uv_cond_timedwait(&W.cv, &W.mu, W.deadline - now);
        }
    }
}

/* Once per process: the signal handler and the watchdog thread, which
 * starts with every signal blocked so that none is delivered to it. */
static void start_watchdog(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watch_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(WATCH_SIGNAL, &sa, NULL) != 0)
        return;
    if (uv_mutex_init(&W.mu) != 0)
        return;
    if (uv_cond_init(&W.cv) != 0)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = uv_thread_create(&W.thread, watchdog, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    W.ok = rc == 0;
}

/* Tell the watchdog the deadline now in force (0 = none). Wakes it only
 * when it would otherwise sleep past the new deadline. */
static void watch(uint64_t deadline)
{
    uv_mutex_lock(&W.mu);
    W.deadline = deadline;
    W.sent = 0;
    W.target = pthread_self();
    if (deadline != 0 && deadline < W.wake_at)
        uv_cond_signal(&W.cv);
    uv_mutex_unlock(&W.mu);
}

/* ---- Owned memory (see sandbox.h) ----
 * Owner ids index owned[]; 0 is the engine. The registry table OWNERS_KEY
 * maps a chunk name to its id and back, for the lifetime of the state (a
 * reloaded file keeps its id, so its old data, once collected, is credited
 * back to it). Ids are handed out process-wide, not per state: the user's
 * state and the engine's private one (lua/host.c) load different scripts
 * under their own names, and must never share an account. Past MAX_OWNERS
 * names, new scripts share no id and have the per-call cap only. */
#define MAX_OWNERS RELM_SANDBOX_MAX_OWNERS
#define OWNERS_KEY "relm.sandbox.owners"
#define owned (wd->owned)

unsigned relm_sandbox_owner(void)
{
    return wd->owner;
}

int relm_sandbox_owned_fits(unsigned owner, size_t add)
{
    if (owner == 0 || owner >= MAX_OWNERS)
        return 1;
    if (owned[owner] + add <= defaults().owned_bytes &&
        owned[owner] + add >= owned[owner])
        return 1;
    wd->owner_hit = owner;
    return 0;
}

void relm_sandbox_owned(unsigned owner, size_t old, size_t new_size)
{
    if (owner == 0 || owner >= MAX_OWNERS)
        return;
    owned[owner] = owned[owner] - old + new_size;
}

/* The id of chunkname (registering it when create is set), or 0. */
static unsigned owner_id(lua_State *L, const char *chunkname, int create)
{
    unsigned id = 0;
    unsigned saved = wd->owner;
    wd->owner = 0; /* the registry's own entries belong to the engine */
    if (lua_getfield(L, LUA_REGISTRYINDEX, OWNERS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, OWNERS_KEY);
    }
    if (lua_getfield(L, -1, chunkname) == LUA_TNUMBER) {
        id = (unsigned)lua_tointeger(L, -1);
    } else if (create) {
        lua_Integer n = (lua_Integer)wd->owners + 1;
        if (n < MAX_OWNERS) {
            wd->owners = (unsigned)n;
            lua_pushstring(L, chunkname);
            lua_rawseti(L, -3, n);
            lua_pushinteger(L, n);
            lua_setfield(L, -3, chunkname);
            id = (unsigned)n;
        }
    }
    lua_pop(L, 2);
    wd->owner = saved;
    return id;
}

unsigned relm_sandbox_owner_enter(lua_State *L, const char *chunkname)
{
    unsigned prev = wd->owner;
    unsigned id = owner_id(L, chunkname, 1);
    if (id != 0)
        wd->owner = id;
    return prev;
}

void relm_sandbox_owner_restore(unsigned prev)
{
    wd->owner = prev;
}

size_t relm_sandbox_owned_by(lua_State *L, const char *chunkname)
{
    unsigned id = owner_id(L, chunkname, 0);
    return id != 0 ? owned[id] : 0;
}

/* The owner of a call: the first Lua function among the called function
 * and its arguments (a guard is often called through an engine helper,
 * with the guard as an argument) whose chunk is a registered script. */
static unsigned call_owner(lua_State *L, int nargs)
{
    if (!lua_checkstack(L, 4))
        return 0;
    int top = lua_gettop(L);
    for (int i = top - nargs; i <= top; i++) {
        if (lua_type(L, i) != LUA_TFUNCTION || lua_iscfunction(L, i))
            continue;
        lua_Debug ar;
        lua_pushvalue(L, i);
        if (lua_getinfo(L, ">S", &ar) && ar.source != NULL) {
            unsigned id = owner_id(L, ar.source, 0);
            if (id != 0)
                return id;
        }
    }
    return 0;
}

/* The chunk name of owner id, as messages show it ("workflows/x.lua"). */
static const char *owner_name(lua_State *L, unsigned id)
{
    const char *name = "?";
    if (lua_getfield(L, LUA_REGISTRYINDEX, OWNERS_KEY) == LUA_TTABLE &&
        lua_rawgeti(L, -1, id) == LUA_TSTRING) {
        name = lua_tostring(L, -1);
        if (*name == '@' || *name == '=')
            name++;
        lua_pushstring(L, name);
        lua_replace(L, -3);
        lua_pop(L, 1);
        return lua_tostring(L, -1); /* left on the stack for the caller */
    }
    lua_pop(L, 1);
    lua_pushstring(L, name);
    return lua_tostring(L, -1);
}

void relm_sandbox_config(const relm_sandbox_limits *lim,
                         relm_sandbox_limits *out)
{
    if (lim != NULL) {
        if (lim->timeout_ms != 0)
            wd->timeout_ms = lim->timeout_ms;
        if (lim->memory_bytes != 0)
            wd->memory_bytes = lim->memory_bytes;
        if (lim->owned_bytes != 0)
            wd->owned_bytes = lim->owned_bytes;
    }
    if (out != NULL)
        *out = defaults();
}

void relm_sandbox_hard_grace(unsigned ms)
{
    wd->hard_grace_ms = ms != 0 ? ms : HARD_GRACE_MS;
}

int relm_sandbox_active(void)
{
    return wd->active;
}

int relm_sandbox_expired(void)
{
    return wd->active && wd->fired;
}

/* Describe the error value at idx in one line without running any of its
 * metamethods: it comes from a script, and a __tostring that loops would
 * run here, outside the sandbox, unstopped. Relm error objects (their
 * metatable is the engine's) read as "where code: message". Pushes the
 * string and returns it. */
static const char *safe_error_string(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        lua_pushvalue(L, idx);
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, idx));
        else
            lua_pushfstring(L, "%f", (LUAI_UACNUMBER)lua_tonumber(L, idx));
        break;
    case LUA_TTABLE:
        if (lua_getmetatable(L, idx)) {
            luaL_getmetatable(L, RELM_ERROR_MT);
            int ours = lua_rawequal(L, -1, -2);
            lua_pop(L, 2);
            if (ours) {
                const char *part[3];
                static const char *const keys[3] = {"where", "code",
                                                    "message"};
                for (int i = 0; i < 3; i++) {
                    lua_pushstring(L, keys[i]);
                    part[i] = lua_rawget(L, idx) == LUA_TSTRING
                                  ? lua_tostring(L, -1) : "";
                }
                lua_pushfstring(L, "%s%s: %s", part[0], part[1], part[2]);
                lua_replace(L, -4);
                lua_pop(L, 2);
                break;
            }
        }
        /* fall through */
    default:
        lua_pushfstring(L, "(error object is a %s value)",
                        luaL_typename(L, idx));
        break;
    }
    return lua_tostring(L, -1);
}

/* The message of the error value at idx when it is the engine's
 * "interrupted" error (Ctrl-C reached the script), else NULL. That is not
 * the script's fault: it is reported with its own code, so callers that
 * turn a failed script into a refusal let it through. Reads raw fields
 * only, like safe_error_string; the string lives as long as the value. */
static const char *interrupt_message(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
        return NULL;
    luaL_getmetatable(L, RELM_ERROR_MT);
    int ours = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!ours)
        return NULL;
    lua_pushliteral(L, "code");
    int yes = lua_rawget(L, idx) == LUA_TSTRING &&
              strcmp(lua_tostring(L, -1), "interrupted") == 0;
    lua_pop(L, 1);
    if (!yes)
        return NULL;
    lua_pushliteral(L, "message");
    const char *msg = lua_rawget(L, idx) == LUA_TSTRING ? lua_tostring(L, -1)
                                                        : "interrupted";
    lua_pop(L, 1);
    return msg;
}

/* tostring(v), called protected by stringify_error. Stack: v -> string. */
static int tostring_value(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

/* Replace a script's error value that is neither a string nor a relm error
 * by its tostring(), computed while the call's deadline and memory cap
 * still hold, so that its __tostring runs sandboxed. On any failure the
 * value stays (safe_error_string describes it by type). */
static void stringify_error(lua_State *L)
{
    int t = lua_type(L, -1);
    if (t == LUA_TSTRING || t == LUA_TNUMBER)
        return;
    if (t == LUA_TTABLE && lua_getmetatable(L, -1)) {
        luaL_getmetatable(L, RELM_ERROR_MT);
        int ours = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (ours)
            return;
    }
    lua_pushcfunction(L, tostring_value);
    lua_pushvalue(L, -2);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
        lua_replace(L, -2);
    else
        lua_pop(L, 1);
}

/* "16 MB", or "512 KB" for caps below a megabyte or not a whole number. */
static void format_bytes(char *buf, size_t len, size_t bytes)
{
    if (bytes >= ((size_t)1 << 20) && bytes % ((size_t)1 << 20) == 0)
        snprintf(buf, len, "%zu MB", bytes >> 20);
    else
        snprintf(buf, len, "%zu KB", (bytes + 1023) >> 10);
}

void relm_sandbox_limit_text(char *buf, size_t len)
{
    char per_call[32], per_script[32];
    format_bytes(per_call, sizeof per_call, defaults().memory_bytes);
    format_bytes(per_script, sizeof per_script, defaults().owned_bytes);
    snprintf(buf, len, "%s per call; %s owned per script", per_call, per_script);
}

/* The timeout message: translated, then " (at file:line)" left as it is,
 * a locator the Lua half moves to the front (workflow.lua, approval.lua). */
static int timeout_error(relm_diag *d, unsigned ms, const char *where)
{
    char head[256];
    snprintf(head, sizeof head, _("time limit of %u ms exceeded"), ms);
    return relm_diag_set(d, "sandbox", "%s (at %s)", head, where);
}

int relm_sandbox_call(lua_State *L, int nargs, int nresults,
                      const relm_sandbox_limits *lim, relm_diag *d)
{
    uv_once(&W.once, start_watchdog);
    if (!W.ok) {
        lua_pop(L, nargs + 1);
        lua_pushliteral(L, "sandbox: no watchdog");
        return relm_diag_set(d, "sandbox", _("cannot start the sandbox "
                             "watchdog thread; sandboxed code cannot run"));
    }
    unsigned ms = lim != NULL && lim->timeout_ms != 0 ? lim->timeout_ms
                                                      : defaults().timeout_ms;
    size_t mem = lim != NULL && lim->memory_bytes != 0 ? lim->memory_bytes
                                                       : defaults().memory_bytes;

    /* The caller's watch, when this call is nested in another sandboxed
     * call: the inner call never outlives the outer deadline. */
    int outer = wd->active;
    lua_State *outer_L = wd->L;
    uint64_t outer_deadline = W.deadline; /* only this thread writes it */
    unsigned outer_ms = wd->limit_ms;
    if (outer && wd->fired) {
        lua_pop(L, nargs + 1);
        lua_pushliteral(L, "sandbox: time limit exceeded");
        return timeout_error(d, outer_ms, wd->where);
    }
    uint64_t deadline = uv_hrtime() + (uint64_t)ms * 1000000u;
    unsigned eff_ms = ms;
    if (outer && outer_deadline != 0 && outer_deadline < deadline) {
        deadline = outer_deadline;
        eff_ms = outer_ms;
    }

    /* Memory: what is in use now plus the cap, within any outer cap. */
    size_t prev_limit = relm_host_mem_limit(L, 0);
    size_t cap = relm_host_mem_used(L) + mem;
    if (prev_limit != 0 && prev_limit < cap)
        cap = prev_limit;
    relm_host_mem_limit(L, cap);

    unsigned outer_owner = wd->owner;
    unsigned owner = call_owner(L, nargs);
    if (owner == 0)
        owner = outer_owner;
    unsigned outer_hit = wd->owner_hit;
    wd->owner_hit = 0;

    lua_Hook old_hook = lua_gethook(L);
    int old_mask = lua_gethookmask(L);
    int old_count = lua_gethookcount(L);

    wd->L = L;
    wd->limit_ms = eff_ms;
    wd->where[0] = '\0';
    wd->fired = 0;
    wd->hooked = 0;
    wd->active = 1;
    wd->owner = owner;
    watch(deadline);

    /* lua_pcall without a message handler, not relm_host_pcall: the host's
     * handler formats the error value, which could run a script's
     * __tostring while the hook is off (an error raised by the hook itself
     * calls the handler with hooks disabled). The script's file:line is in
     * the message; the caller's traceback is recorded when the sandbox
     * error is raised in turn. */
    int status = lua_pcall(L, nargs, nresults, 0);
    if (status == LUA_ERRRUN && !wd->fired)
        stringify_error(L);

    /* From here on the handler does nothing (wd->active is 0), so restoring
     * the hook cannot race with it. A hook someone else set while the call
     * ran (Ctrl-C: repl.c's sticky interrupt hook) stays: giving back the
     * caller's hook would lose the interrupt, and the statement that made
     * this call would go on as if Ctrl-C had not been pressed. */
    wd->active = 0;
    wd->owner = outer_owner;
    unsigned hit = wd->owner_hit;
    wd->owner_hit = outer_hit;
    int fired = wd->fired;
    wd->fired = 0;
    lua_Hook now_hook = lua_gethook(L);
    if (now_hook == timeout_hook || now_hook == old_hook)
        lua_sethook(L, old_hook, old_mask, old_count);
    relm_host_mem_limit(L, prev_limit);
    if (outer) {
        wd->L = outer_L;
        wd->limit_ms = outer_ms;
        watch(outer_deadline); /* fires at once if it has passed */
        wd->active = 1;
    } else {
        wd->L = NULL;
        watch(0);
    }

    if (status == LUA_OK)
        return RELM_OK;
    if (fired)
        return timeout_error(d, eff_ms, wd->where);
    if (status == LUA_ERRMEM && hit != 0) {
        char size[32];
        format_bytes(size, sizeof size, defaults().owned_bytes);
        const char *name = owner_name(L, hit);
        relm_diag_set(d, "sandbox", _("memory limit of %s owned by %s "
                      "exceeded: it keeps data between calls (in "
                      "file-level variables); reload it to start afresh"),
                      size, name);
        lua_pop(L, 1);
        return RELM_ERR;
    }
    if (status == LUA_ERRMEM) {
        char size[32];
        format_bytes(size, sizeof size, mem);
        return relm_diag_set(d, "sandbox", _("memory limit of %s exceeded"),
                             size);
    }
    const char *stop = interrupt_message(L, -1);
    if (stop != NULL)
        relm_diag_set(d, "interrupted", "%s", stop);
    else {
        relm_diag_set(d, "sandbox", "%s", safe_error_string(L, -1));
        lua_pop(L, 1);
    }
    return RELM_ERR;
}
