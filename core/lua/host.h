/* host.h: the one embedded Lua state: opening it, the module path, the
 * protected-call helper, relm error objects and access to the store. */
#ifndef RELM_HOST_H
#define RELM_HOST_H

#include <lua.h>
#include <stddef.h>

#include "base/diag.h"
#include "base/store.h"

/* Registry and metatable names used by more than one binding. */
#define RELM_ERROR_MT "relm.error"
#define RELM_ROWS_MT "relm.rows"

/* Open the process's Lua state on store s: standard libraries, the module
 * path rooted at home/lua, every C module in package.preload as
 * "relm.core.<name>", and the global `relm` built by lua/relm/init.lua.
 * Returns NULL with d filled on failure. */
lua_State *relm_host_open(relm_store *s, const char *home, relm_diag *d);
void relm_host_close(lua_State *L);

/* The directory holding lua/, workflows/ and portfolios/: $RELM_HOME, else
 * the source tree above the executable, else <prefix>/share/relm beside an
 * installed <prefix>/bin/relm, else the data dir compiled in from PREFIX.
 * Returns a static buffer. */
const char *relm_host_find_home(void);

/* Call the function below nargs arguments like lua_pcall, with a message
 * handler that records the traceback of the original error (see
 * relm_host_traceback). Every C->Lua call goes through here. */
int relm_host_pcall(lua_State *L, int nargs, int nresults);

/* Push the traceback recorded for the most recent error (or nil). */
void relm_host_traceback(lua_State *L);

/* Ask the running Lua code to stop with an "interrupted" error at the next
 * instruction. Safe to call from a signal handler. */
void relm_host_interrupt(lua_State *L);

/* Memory accounting through the allocator: bytes in use now, and a cap
 * (0 = none) past which allocations fail. Returns the previous cap. */
size_t relm_host_mem_used(lua_State *L);
size_t relm_host_mem_limit(lua_State *L, size_t limit);

/* Set t.__doc on the module table on top of the stack from docs, pairs of
 * {name, "one-line doc"} ("_module" for the module itself), for help().
 * Stack: [-0, +0]. */
void relm_host_set_docs(lua_State *L, const char *const docs[][2], size_t n);

/* The engine's one libuv loop, owned by the host; `require "luv"` in the
 * engine's Lua modules is bound to it. */
struct uv_loop_s;
struct uv_loop_s *relm_host_loop(lua_State *L);

/* The engine's private definitions state, opened on first use on the same
 * store: workflows are compiled, approval rules read, guards and actions
 * run there, and only there do the bindings offer the primitives that take
 * a compiled decision (target state, permission, approvers). No function
 * of the user's state returns it, so a script cannot reach it. */
lua_State *relm_host_engine(lua_State *L, relm_diag *d);
/* 1 when L is the engine's definitions state. */
int relm_host_is_engine(lua_State *L);
/* Push onto to a copy of the plain data at idx of from (nil, booleans,
 * numbers, strings, tables of those); anything else becomes nil. */
void relm_host_copy(lua_State *from, int idx, lua_State *to);

/* Call require(module)._engine[fn] in the engine's state with a copy of
 * the nargs values on top of L's stack; push a copy of its one result, or
 * raise its error in L (a relm error keeps its code and fields and points
 * at the caller's line). The arguments stay on L's stack. */
int relm_host_engine_call(lua_State *L, const char *module, const char *fn,
                          int nargs);

/* The store the state was opened on. */
relm_store *relm_host_store(lua_State *L);

/* Raise a relm error object {code=, message=, where=} that prints as
 * "code: message". where is the position of the Lua caller (level 1). */
int relm_lua_error(lua_State *L, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Raise the error a core function reported in d. */
int relm_lua_diag_error(lua_State *L, const relm_diag *d);

/* Push an error object without raising it. */
void relm_lua_push_error(lua_State *L, const char *code, const char *message,
                         int level);

/* Text that enters relm: every binding that takes a string a person or a
 * file supplied (names, titles, notes, queries, JSON) reads it through one
 * of these, which refuse a NUL byte (SQLite and the C core would cut the
 * text there) and invalid UTF-8 with invalid_argument naming `what` (e.g.
 * "relm.cmdb.add: name") and the byte offset. Stack: [-0, +0].
 * relm_lua_checktext: argument idx must be a string (or number);
 * relm_lua_opttext: the same, NULL when idx is none or nil;
 * relm_lua_text: the value at idx, already known to be a string (a table
 * field the caller fetched). *len may be NULL. what NULL names the
 * argument by position and function, as luaL_argerror does. */
const char *relm_lua_checktext(lua_State *L, int idx, const char *what);
/* The same test without raising, for code that reports through a diag:
 * NULL when v[0..n) is acceptable text, else what is wrong ("contains a
 * NUL byte", "is not valid UTF-8") with the 1-based byte in *at. */
const char *relm_text_problem(const char *v, size_t n, size_t *at);
const char *relm_lua_opttext(lua_State *L, int idx, const char *what);
const char *relm_lua_text(lua_State *L, int idx, const char *what,
                          size_t *len);

/* Format any error value as one line: "where code: message" for relm error
 * objects, tostring() otherwise. Pushes the string. */
const char *relm_lua_error_string(lua_State *L, int idx);

#endif
