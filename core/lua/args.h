/* args.h: argument checks and answers the bindings share: option tables
 * with known keys, optional string fields, arrays of strings handed to C
 * as JSON, result tables and snapshots handed back. */
#ifndef RELM_LUA_ARGS_H
#define RELM_LUA_ARGS_H

#include <lua.h>
#include <stdint.h>

#include "base/store.h"

/* Raise `code: fn: unknown <noun> 'key' (k1, k2, ...)`, naming the keys it
 * takes, for the first key of the table at idx that is not in the
 * NULL-terminated list known. Stack: unchanged. */
void relm_lua_check_keys(lua_State *L, int idx, const char *const *known,
                         const char *code, const char *fn, const char *noun);

/* Field key of the table at idx as a string, or NULL when it is absent;
 * raises invalid_argument `fn: key must be a string, got <type>` when it is
 * something else, and refuses text relm does not take (a NUL byte, invalid
 * UTF-8: relm_lua_text in host.h). The string stays valid while the table holds it. Stack:
 * unchanged. */
const char *relm_lua_opt_string(lua_State *L, int idx, const char *key,
                                const char *fn);

/* Field k of the table at t when it is a string (checked as text, as
 * relm_lua_opt_string does), else NULL (a number is not converted: its
 * string would die with the stack slot, while a string field stays alive
 * in t). Stack: unchanged. */
const char *relm_lua_field_string(lua_State *L, int t, const char *k);

/* Push the array of strings at idx as the text of a JSON array. Raises
 * invalid_argument `fn: name[i] must be <want>, got <type>` for an element
 * that is not a string, and names an element that is not text relm takes
 * as `what` ("CI name"). Stack: +1. */
void relm_lua_push_json_strings(lua_State *L, int idx, const char *fn,
                                const char *name, const char *want,
                                const char *what);


/* t[k] = v for the table at -1 (a result table being built). Stack:
 * unchanged. */
void relm_lua_set_int(lua_State *L, const char *k, lua_Integer v);
void relm_lua_set_string(lua_State *L, const char *k, const char *v);

/* The bindings of a read that takes one id and hands back JSON text:
 * call get(store, integer argument 1, &json, &d), push the text (freed;
 * "null" when get gave none) and return 1, or raise get's error. */
int relm_lua_id_json(lua_State *L,
                     int (*get)(relm_store *, int64_t, char **, relm_diag *));
#endif
