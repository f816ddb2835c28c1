/* eval.c: the shared evaluator: reading scripts, loading text chunks,
 * protected calls through the host, printing results, reporting errors. */
#include "base/i18n.h"
#include "eval.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/context.h"
#include "lua/host.h"
#include "base/utf8.h"


static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *grown = realloc(buf, cap * 2);
        if (grown == NULL) {
            free(buf);
            return NULL;
        }
        buf = grown;
        cap *= 2;
    }
    if (buf == NULL || ferror(f)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

char *relm_eval_read_script(const char *path, size_t *len, char *err,
                            size_t errlen)
{
    FILE *f = stdin;
    const char *name = path;
    if (strcmp(path, "-") == 0) {
        name = "stdin";
    } else {
        struct stat st;
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return NULL;
        }
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, _("%s: is a directory, not a Lua script"), path);
            return NULL;
        }
        f = fopen(path, "rb");
        if (f == NULL) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return NULL;
        }
    }
    char *buf = read_all(f, len);
    int saved = errno;
    if (f != stdin)
        fclose(f);
    if (buf == NULL) {
        snprintf(err, errlen, _("%s: cannot read: %s"), name, strerror(saved));
        return NULL;
    }
    size_t bad;
    if (*len > 0 && buf[0] == 0x1b) {
        snprintf(err, errlen, _("%s: precompiled (binary) chunks are not "
                 "accepted; give the Lua source"), name);
        free(buf);
        return NULL;
    }
    /* A first line starting with '#' (#!/usr/bin/env -S relm run) is
     * skipped, as lua5.4 does; blanked rather than cut, so line numbers in
     * messages stay those of the file. */
    if (*len > 0 && buf[0] == '#')
        for (size_t i = 0; i < *len && buf[i] != '\n'; i++)
            buf[i] = ' ';
    if (!relm_utf8_valid(buf, *len, &bad)) {
        int line = 1;
        for (size_t i = 0; i < bad; i++)
            line += buf[i] == '\n';
        snprintf(err, errlen, _("%s:%d: invalid UTF-8 (byte 0x%02x at offset "
                 "%zu); save the script as UTF-8"), name, line,
                 (unsigned char)buf[bad], bad);
        free(buf);
        return NULL;
    }
    return buf;
}

/* require("relm.eval").list(dir) -> array of the file names in dir (no
 * "." entries), or nil and a message. Standard Lua cannot list a directory;
 * relm.complete and relm.help use this to find the lua/relm/NAME.lua modules that
 * have not been loaded yet, without spawning a shell. */
static int l_eval_list(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    DIR *dir = opendir(path);
    if (dir == NULL) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    lua_newtable(L);
    lua_Integer n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++n);
    }
    closedir(dir);
    return 1;
}

/* Global help(...): loads lua/relm/help.lua on first use, so start-up does
 * not pay for it. Stack: forwards every argument, returns its results. */
static int l_eval_help(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "relm.help");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "help");
    lua_replace(L, -2);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* relm.traceback() -> the Lua traceback of the last error reported, as
 * --traceback would have printed it; nil when nothing failed yet. What a
 * person at the prompt asks for after an error they do not understand. */
static int l_eval_traceback(lua_State *L)
{
    relm_host_traceback(L);
    if (!lua_isstring(L, -1))
        lua_pushnil(L);
    return 1;
}

static int open_eval_module(lua_State *L)
{
    static const luaL_Reg fns[] = {{"list", l_eval_list}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}

/* string.rep of the statements' state (upvalue 1: Lua's own). Lua makes
 * rep("", n) by copying the empty string n times: with n near
 * math.maxinteger that spins in C for hours, deaf to Ctrl-C, which is only
 * seen between Lua instructions. The answer is "" whatever n, so give it
 * at once; every other call (and every argument error) is Lua's. */
static int l_eval_str_rep(lua_State *L)
{
    size_t len, seplen = 0;
    luaL_checklstring(L, 1, &len);
    (void)luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &seplen);
    if (len == 0 && seplen == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, 1);
    return 1;
}

/* Protected part of setup: package.preload["relm.eval"], help() and the
 * bounded string.rep. */
static int eval_setup(lua_State *L)
{
    lua_getglobal(L, "string");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "rep");
        lua_pushcclosure(L, l_eval_str_rep, 1);
        lua_setfield(L, -2, "rep");
    }
    lua_pop(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, open_eval_module);
    lua_setfield(L, -2, "relm.eval");
    lua_pushcfunction(L, l_eval_help);
    lua_setglobal(L, "help");
    lua_getglobal(L, "relm");
    if (lua_istable(L, -1)) {
        lua_pushcfunction(L, l_eval_traceback);
        lua_setfield(L, -2, "traceback");
    }
    return 0;
}

/* Once per state, before the first chunk of run, -e or the REPL: what
 * every evaluated chunk may use beyond the `relm` global. */
void relm_eval_setup(lua_State *L)
{
    static lua_State *done;
    if (done == L)
        return;
    done = L;
    lua_pushcfunction(L, eval_setup);
    if (relm_host_pcall(L, 0, 0) != LUA_OK)
        lua_pop(L, 1);
}

/* Registry key of the last statement loaded, for report_hint. */
#define LAST_CHUNK "relm.eval.chunk"

int relm_eval_load(lua_State *L, const char *code, size_t len,
                   const char *chunkname, int try_return)
{
    relm_eval_setup(L);
    /* Kept for the name hints of errors (report_hint); a whole script is
     * not worth the copy. */
    if (len <= 4096)
        lua_pushlstring(L, code, len);
    else
        lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LAST_CHUNK);
    if (try_return) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addstring(&b, "return ");
        luaL_addlstring(&b, code, len);
        luaL_pushresult(&b);
        size_t rlen;
        const char *ret = lua_tolstring(L, -1, &rlen);
        int status = luaL_loadbufferx(L, ret, rlen, chunkname, "t");
        lua_remove(L, -2);
        if (status == LUA_OK) {
            /* "return f(x)" is a tail call: an error in f would find no
             * frame of the statement to point at (stdin:1:). Passing the
             * values through a function keeps the statement's frame while
             * they are computed, with the same values and line numbers. */
            luaL_buffinit(L, &b);
            luaL_addstring(&b, "return (function(...) return ... end)(");
            luaL_addlstring(&b, code, len);
            luaL_addstring(&b, "\n)");
            luaL_pushresult(&b);
            ret = lua_tolstring(L, -1, &rlen);
            if (luaL_loadbufferx(L, ret, rlen, chunkname, "t") == LUA_OK) {
                lua_remove(L, -2);
                lua_remove(L, -2);
            } else {
                lua_pop(L, 2);
            }
            return status;
        }
        lua_pop(L, 1);
    }
    return luaL_loadbufferx(L, code, len, chunkname, "t");
}

/* Protected part of report_hint. Stack: msg -> hint or nil. */
static int hint_call(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "relm.complete");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "hint");
    lua_pushvalue(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, LAST_CHUNK);
    lua_call(L, 2, 1);
    return 1;
}

/* After an error about a name that does not exist (relm.cmdb.gett), print
 * relm.complete.hint's suggestion, if any; a failing hint is ignored: the
 * error itself is already reported. Stack: unchanged. */
static void report_hint(lua_State *L, const char *msg)
{
    if (strstr(msg, "a nil value (field '") == NULL)
        return;
    int top = lua_gettop(L);
    lua_pushcfunction(L, hint_call);
    lua_pushstring(L, msg);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_settop(L, top);
}

void relm_eval_report(lua_State *L)
{
    const char *msg = relm_lua_error_string(L, -1);
    if (relm_process.repl.traceback) {
        /* The recorded traceback starts with the message itself. */
        relm_host_traceback(L);
        if (lua_isstring(L, -1))
            msg = lua_tostring(L, -1);
    }
    fprintf(stderr, "%s\n", msg);
    report_hint(L, msg);
    lua_settop(L, lua_gettop(L) - (relm_process.repl.traceback ? 3 : 2));
    fflush(stderr);
}

/* Columns of the terminal on stdout, or 0 when stdout is not a terminal
 * (then tables are not cut to fit: the output goes to a file or a pipe). */
static int terminal_columns(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

/* relm.pretty.print(...) with the terminal's width set, so a missing or
 * broken pretty printer is an error reported like any other. Stack: takes
 * the values to print, returns nothing. */
static int print_results(lua_State *L)
{
    lua_getglobal(L, "relm");
    lua_getfield(L, -1, "pretty");
    lua_pushinteger(L, terminal_columns());
    lua_setfield(L, -2, "width");
    lua_getfield(L, -1, "print");
    lua_replace(L, -3);
    lua_pop(L, 1);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 0);
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* relm.timer(true) is on: relm.pretty is loaded and its timer field set.
 * Stack: unchanged. */
static int timer_on(lua_State *L)
{
    int on = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "relm.pretty") == LUA_TTABLE) {
        lua_getfield(L, -1, "timer");
        on = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return on;
}

int relm_eval_call(lua_State *L, int nargs, int print)
{
    int base = lua_gettop(L) - nargs - 1;
    double started = now_seconds();
    int status = relm_host_pcall(L, nargs, LUA_MULTRET);
    double elapsed = now_seconds() - started;
    if (status != LUA_OK) {
        relm_eval_report(L);
        return status;
    }
    int nres = lua_gettop(L) - base;
    if (print && nres > 0) {
        lua_pushcfunction(L, print_results);
        lua_insert(L, base + 1);
        status = relm_host_pcall(L, nres, 0);
        if (status != LUA_OK)
            relm_eval_report(L);
    }
    lua_settop(L, base);
    fflush(stdout);
    if (print && timer_on(L)) {
        /* After the results, on stderr: stdout stays clean for a pipe. */
        fprintf(stderr, _("Run time: %.3f s\n"), elapsed);
        fflush(stderr);
    }
    return status;
}

int relm_eval_string(lua_State *L, const char *code, const char *chunkname)
{
    if (relm_eval_load(L, code, strlen(code), chunkname, 1) != LUA_OK) {
        relm_eval_report(L);
        return 1;
    }
    return relm_eval_call(L, 0, 1) == LUA_OK ? 0 : 1;
}
