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
    size_t owned_bytes;    /* bytes one script may own across its calls
                              (process-wide setting: config only) */
} relm_sandbox_limits;

/* Built-in defaults: 200 ms and 16 MB per call, 64 MB owned per script. */
#define RELM_SANDBOX_TIMEOUT_MS 200u
#define RELM_SANDBOX_MEMORY_BYTES ((size_t)16 << 20)
#define RELM_SANDBOX_OWNED_BYTES ((size_t)64 << 20)

/* Set the process-wide defaults from lim (zero fields keep the current
 * value) and return the resulting defaults in *out (may be NULL). */
void relm_sandbox_config(const relm_sandbox_limits *lim,
                         relm_sandbox_limits *out);

/* The configured memory limits as a user reads them, "16 MB per call;
 * 64 MB owned per script", into buf (for messages that name them). */
void relm_sandbox_limit_text(char *buf, size_t len);

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

/* Owned memory. The per-call cap bounds what one call adds; a script that
 * keeps data between calls (a guard appending to a file-level local) would
 * still grow the host without end. So every allocation is tagged with the
 * script running it (by chunk name: one owner per workflow, rule or
 * template file), and all the blocks one owner holds may not exceed
 * owned_bytes: past it, allocations made for that script fail (after
 * Lua's emergency collection) and the call fails with a message naming
 * the file. Owners are found by relm_sandbox_call from the chunk names of
 * the Lua functions it is given. */

/* The owner of allocations made now (0: the engine, unlimited). */
unsigned relm_sandbox_owner(void);

/* May owner grow by add bytes? Called by the allocator. */
int relm_sandbox_owned_fits(unsigned owner, size_t add);

/* Account a block of owner resized from old to new bytes (0: freed). */
void relm_sandbox_owned(unsigned owner, size_t old, size_t new_size);

/* Register (once) the script named chunkname as an owner and make it the
 * current one, so that compiling it is charged to it; returns the previous
 * owner for relm_sandbox_owner_restore. */
unsigned relm_sandbox_owner_enter(lua_State *L, const char *chunkname);
void relm_sandbox_owner_restore(unsigned prev);

/* Bytes owned now by the script named chunkname (0 if unknown). */
size_t relm_sandbox_owned_by(lua_State *L, const char *chunkname);

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
