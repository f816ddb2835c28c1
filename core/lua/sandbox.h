/* sandbox.h: running untrusted Lua (workflow files, guards, actions, rules)
 * under a per-call deadline and memory cap, without a permanent hook. */
#ifndef RELM_SANDBOX_H
#define RELM_SANDBOX_H

#include <lua.h>
#include <stddef.h>

#include "base/diag.h"

/* Limits of one sandboxed call. A zero field means "the configured
 * default" (see relm_sandbox_config). */
typedef struct relm_sandbox_limits {
    unsigned timeout_ms;   /* wall-clock deadline of the call */
    size_t memory_bytes;   /* bytes the call may add to what is in use */
} relm_sandbox_limits;

/* Built-in defaults: 200 ms and 16 MB per call. */
#define RELM_SANDBOX_TIMEOUT_MS 200u
#define RELM_SANDBOX_MEMORY_BYTES ((size_t)16 << 20)

/* Set the process-wide defaults from lim (zero fields keep the current
 * value) and return the resulting defaults in *out (may be NULL). */
void relm_sandbox_config(const relm_sandbox_limits *lim,
                         relm_sandbox_limits *out);

/* Call the function below nargs arguments like lua_pcall, in the protected
 * call helper of the host, with a deadline and a memory cap. lim may be
 * NULL (defaults). On RELM_OK the function and arguments are replaced by
 * nresults results. On RELM_ERR they are replaced by the original error
 * value and d holds code "sandbox" and a one-line message: "time limit of
 * N ms exceeded (at file:line)", "memory limit of N MB exceeded" or the
 * script's own error message (which carries its file:line); or code
 * "interrupted" when Ctrl-C stopped the script (a hook set during the call
 * by anyone but the sandbox is left in place, so the interrupt also stops
 * the caller). Calls nest: an
 * inner call never gets more time or memory than its caller has left.
 * The engine state is sane after any failure. */
int relm_sandbox_call(lua_State *L, int nargs, int nresults,
                      const relm_sandbox_limits *lim, relm_diag *d);

/* CPU time (ms) a call may spend inside one C function after its deadline
 * before the watchdog stops the process (0: the default, 2000). For tests. */
void relm_sandbox_hard_grace(unsigned ms);

/* Nonzero while a sandboxed call is running (in this process). */
int relm_sandbox_active(void);

/* Nonzero once the running sandboxed call's deadline has passed. Safe to
 * poll from long-running C code (pattern matching) called by a script. */
int relm_sandbox_expired(void);

/* From a C function a script called, after relm_sandbox_expired(): raise
 * the time-limit error, recording the script line for the message. */
int relm_sandbox_raise_timeout(lua_State *L);

#endif
