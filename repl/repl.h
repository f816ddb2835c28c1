/* repl.h: the interactive session (libedit line editing, history,
 * completion, multi-line input, Ctrl-C) on top of the shared evaluator. */
#ifndef RELM_REPL_H
#define RELM_REPL_H

#include <lua.h>

/* Run the REPL until end of input. Returns the exit status: 0, or 1 when
 * input is not a terminal and a statement failed (as `relm run` would). */
int relm_repl(lua_State *L);

/* Run the init file, ~/.relmrc, when there is one (modes, helpers, a
 * default output for the session), as sqlite3 runs ~/.sqliterc. An error in
 * it is reported with its file:line and the session goes on. Returns 1 when
 * the file exists and failed, else 0. */
int relm_repl_run_init(lua_State *L);

#endif
