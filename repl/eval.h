/* eval.h: the one evaluator the batch runner, `-e` and the REPL share:
 * load text chunks, call them protected, print results, report errors. */
#ifndef RELM_EVAL_H
#define RELM_EVAL_H

#include <lua.h>
#include <stddef.h>

/* Read a script (path, or "-" for stdin) into a malloc'd buffer after
 * checking it is a readable regular file of valid UTF-8; a first line
 * starting with # (a shebang) is blanked, as lua5.4 skips it. On failure
 * returns NULL and writes a one-line reason into err. */
char *relm_eval_read_script(const char *path, size_t *len, char *err,
                            size_t errlen);

/* Compile code as a text chunk (binary chunks are refused). With
 * try_return, "return <code>" is tried first so expressions print.
 * Leaves the function (or the error message) on the stack; returns the
 * lua_load status. The first call on a state also defines what every
 * evaluated chunk may use beyond `relm`: the global help() (loads
 * lua/relm/help.lua on first use) and require("relm.eval").list(dir), the
 * directory lister help and Tab completion find modules with. */
int relm_eval_load(lua_State *L, const char *code, size_t len,
                   const char *chunkname, int try_return);

/* Define what every evaluated chunk may use beyond `relm` (help(),
 * require("relm.eval")) now rather than at the first chunk: the REPL calls
 * it before its first prompt, so that Tab pressed first already finds the
 * directory lister. Idempotent. */
void relm_eval_setup(lua_State *L);

/* Call the function on top of the stack with nargs arguments below it
 * protected; when print is set, print every result through the pretty
 * printer. On error report it on stderr. Returns the lua_pcall status. */
int relm_eval_call(lua_State *L, int nargs, int print);

/* Report the error value on top of the stack (and pop it). */
void relm_eval_report(lua_State *L);

/* Load and run one statement or expression (REPL line or -e), printing
 * results. Returns 0 on success, 1 on error. */
int relm_eval_string(lua_State *L, const char *code, const char *chunkname);

#endif
