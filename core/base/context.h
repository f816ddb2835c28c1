/* context.h: the process's one context. Everything relm keeps per process,
 * rather than per store or per Lua state, is a field here, nowhere else. */
#ifndef RELM_CONTEXT_H
#define RELM_CONTEXT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* The watchdog's grace past a sandbox deadline before it ends the process
 * (CPU milliseconds; lua/sandbox.c says why). */
#define RELM_WATCHDOG_GRACE_MS 2000u

/* How many scripts (chunk names) the sandbox keeps a memory account for. */
#define RELM_SANDBOX_MAX_OWNERS 1024

/* Owner: the process. It is zero at start (but for the grace above) and
 * lives until exit; each section is written only by the file named beside
 * it, which documents its rules. base/ cannot name Lua or libuv types, so
 * the Lua room's pointers are kept as void *. A second engine in the same
 * process (a server with several stores) shares exactly these fields. */
typedef struct relm_context {
    /* base/clock.c: the fixed clock in epoch seconds, 0 for the system's. */
    int64_t fixed_clock;
    /* cmdb/cmdb.c: bumped on every relationship change, so an impact graph
     * built before it knows it is stale. */
    uint64_t edge_epoch;
    /* lua/host.c: the host of the process's one Lua state (a host_ctx *),
     * kept reachable for os.exit(code, true) and leak checkers. */
    void *host;
    /* lua/sandbox.c: the running sandboxed call, as the watchdog thread and
     * its signal handler see it (hence volatile sig_atomic_t). */
    struct relm_watch {
        volatile sig_atomic_t active; /* a sandboxed call is running */
        volatile sig_atomic_t fired;  /* its deadline passed: hook armed */
        volatile sig_atomic_t hooked; /* the armed hook has run */
        void *volatile L;             /* the lua_State running it */
        volatile unsigned hard_grace_ms;
        unsigned limit_ms;            /* the limit of the current deadline */
        char where[256];              /* where the hook first fired */
        unsigned timeout_ms;   /* relm_sandbox_config's defaults, */
        size_t memory_bytes;   /* 0 for the built-in ones */
        size_t owned_bytes;
        unsigned owner;        /* owner of the allocations made now */
        unsigned owners;       /* owner ids handed out, in every state */
        unsigned owner_hit;    /* the owner whose cap refused, this call */
        size_t owned[RELM_SANDBOX_MAX_OWNERS]; /* bytes each owner holds */
    } sandbox;
    /* lua/l_base.c: the authorizer's state for the relm.sql statement being
     * prepared or stepped (one at a time: no Lua runs inside a step). */
    struct relm_sql_guard {
        int admin;          /* the acting user is a superuser */
        int hid;            /* a column was read as NULL for a non-admin */
        char refused[128];  /* what the first refusal was, for the message */
    } sql_guard;
    /* cmdb/import.c: the libcsv parser being fed (a struct csv_parser *):
     * libcsv's realloc hook takes no user pointer. */
    void *csv_growing;
    /* repl/: the REPL's state, reached from its SIGINT handler and atexit. */
    struct relm_repl_state {
        void *L;                           /* the REPL's lua_State */
        volatile sig_atomic_t evaluating;  /* a statement is running */
        volatile sig_atomic_t sigint_seen; /* Ctrl-C since the last prompt */
        volatile sig_atomic_t hangup_seen; /* the terminal was closed */
        void *store;                       /* relm_store to close at exit */
        int traceback;                     /* --traceback: show Lua tracebacks */
    } repl;
} relm_context;

extern relm_context relm_process;

#endif
