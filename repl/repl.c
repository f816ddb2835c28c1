/* repl.c: the interactive session: read lines with libedit, keep history,
 * complete names through lua/relm/complete.lua, gather multi-line input
 * while the chunk is incomplete, and evaluate through the shared evaluator. */
#include "base/i18n.h"
#include "repl.h"

#include <editline/readline.h>
#include <lauxlib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "eval.h"
#include "lua/host.h"
#include "base/context.h"
#include "base/store.h"
#include "base/version.h"

/* The REPL's state, shared with the SIGINT handler, is the process
 * context's repl section (base/context.h). */
static struct relm_repl_state *const rs = &relm_process.repl;

/* Raise "interrupted" at every Lua instruction until the statement is
 * over: a statement that pcalls in a loop cannot swallow the interrupt,
 * because the loop itself is interrupted at its next instruction. Only the
 * count event is used: it fires in Lua code only, never inside a C message
 * handler, so the error does not turn into "error in error handling". */
static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    relm_lua_error(L, "interrupted", _("statement stopped by Ctrl-C"));
}

/* Ctrl-C: while a statement runs, stop it at its next Lua instruction and
 * its running SQLite statement (relm_host_interrupt interrupts SQLite and
 * arms a one-shot hook; the sticky hook replaces it). At the prompt the
 * read is cut short and the loop below starts a fresh line. */
static void on_sigint(int sig)
{
    (void)sig;
    rs->sigint_seen = 1;
    if (rs->evaluating && rs->L != NULL) {
        /* The terminal echoed ^C: the report starts on a line of its own. */
        ssize_t w = write(STDOUT_FILENO, "\n", 1);
        (void)w;
        relm_host_interrupt(rs->L);
        lua_sethook(rs->L, interrupt_hook, LUA_MASKCOUNT, 1);
    }
}

/* SIGHUP (the window closed, the ssh connection dropped): stop a running
 * statement as Ctrl-C does and leave through the normal path, so the store
 * is closed (WAL checkpointed) rather than killed mid-way. The read at the
 * prompt returns, interrupted, and the loop below sees rs->hangup_seen. */
static void on_sighup(int sig)
{
    (void)sig;
    rs->hangup_seen = 1;
    if (rs->evaluating && rs->L != NULL) {
        relm_host_interrupt(rs->L);
        lua_sethook(rs->L, interrupt_hook, LUA_MASKCOUNT, 1);
    }
}

/* Path of the file name in $HOME into buf, or "" without a $HOME. */
static void home_path(char *buf, size_t len, const char *name)
{
    const char *home = getenv("HOME");
    if (home == NULL || *home == '\0')
        buf[0] = '\0';
    else
        snprintf(buf, len, "%s/%s", home, name);
}

int relm_repl_run_init(lua_State *L)
{
    char path[4096], err[4400], chunkname[4200];
    home_path(path, sizeof path, ".relmrc");
    if (path[0] == '\0' || access(path, F_OK) != 0)
        return 0;
    size_t len;
    char *code = relm_eval_read_script(path, &len, err, sizeof err);
    if (code == NULL) {
        fprintf(stderr, "relm: %s\n", err);
        return 1;
    }
    snprintf(chunkname, sizeof chunkname, "@%s", path);
    int rc = 0;
    if (relm_eval_load(L, code, len, chunkname, 0) != LUA_OK) {
        relm_eval_report(L);
        rc = 1;
    } else if (relm_eval_call(L, 0, 0) != LUA_OK) {
        rc = 1;
    }
    free(code);
    return rc;
}

/* True when the load error on top of the stack says the chunk just ended
 * early, i.e. the user is still typing it. */
static int incomplete(lua_State *L, int status)
{
    if (status != LUA_ERRSYNTAX)
        return 0;
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    static const char eof[] = "<eof>";
    return len >= sizeof eof - 1 &&
           strcmp(msg + len - (sizeof eof - 1), eof) == 0;
}

/* True when "return <chunk>" is an unfinished expression, like "{" or
 * "relm.sql(" (the chunk as a statement fails early on those). */
static int incomplete_expression(lua_State *L, const char *chunk, size_t len)
{
    lua_pushliteral(L, "return ");
    lua_pushlstring(L, chunk, len);
    lua_concat(L, 2);
    size_t rlen;
    const char *code = lua_tolstring(L, -1, &rlen);
    int status = luaL_loadbufferx(L, code, rlen, "=stdin", "t");
    int result = incomplete(L, status);
    lua_pop(L, 2);
    return result;
}

/* Completion candidates come from lua/relm/complete.lua: a function from
 * the word typed so far to an array of full words. */
static char **complete(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    lua_State *L = rs->L;
    rl_attempted_completion_over = 1;
    int top = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "relm.complete");
    if (relm_host_pcall(L, 1, 1) != LUA_OK) {
        lua_settop(L, top);
        return NULL;
    }
    lua_pushstring(L, text);
    if (relm_host_pcall(L, 1, 1) != LUA_OK || !lua_istable(L, -1)) {
        lua_settop(L, top);
        return NULL;
    }
    lua_Integer n = luaL_len(L, -1);
    if (n == 0) {
        lua_settop(L, top);
        return NULL;
    }
    char **out = calloc((size_t)n + 2, sizeof *out);
    if (out == NULL) {
        lua_settop(L, top);
        return NULL;
    }
    /* readline wants the common prefix first, then the candidates. */
    size_t common = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        const char *w = lua_tostring(L, -1);
        out[i] = strdup(w != NULL ? w : "");
        lua_pop(L, 1);
        if (i == 1) {
            common = strlen(out[1]);
        } else {
            size_t k = 0;
            while (k < common && out[1][k] == out[i][k])
                k++;
            common = k;
        }
    }
    out[0] = strndup(out[1], common);
    if (n == 1) {
        free(out[0]);
        out[0] = out[1];
        out[1] = NULL;
    }
    lua_settop(L, top);
    return out;
}

static char *read_line(const char *prompt, int tty)
{
    if (tty)
        return readline(prompt);
    /* Not a terminal: plain lines, no prompt, so piped sessions read clean. */
    size_t cap = 0;
    char *line = NULL;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    return line;
}

/* The greeting, on one line when it fits the terminal, else the hint on
 * a line of its own: a long database path must not wrap mid-word. */
static void banner(const char *path, const char *user)
{
    const char *hint = _("help() lists the modules; Ctrl-D leaves.");
    char head[4200];
    struct winsize ws;
    int cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
    int n = snprintf(head, sizeof head, _("relm %s on %s as %s."), RELM_VERSION, path, user);
    if (n >= 0 && (size_t)n + 1 + strlen(hint) <= (size_t)cols)
        printf("%s %s\n", head, hint);
    else
        printf("%s\n%s\n", head, hint);
}

int relm_repl(lua_State *L)
{
    int tty = isatty(STDIN_FILENO);
    char hist[4096];
    rs->L = L;
    relm_eval_setup(L);
    home_path(hist, sizeof hist, ".relm_history");
    if (tty) {
        /* libedit decodes what is typed through the locale's character
         * type: in the "C" locale every byte past ASCII is dropped, so
         * s = "ção" arrived as s = "o". Only LC_CTYPE: LC_NUMERIC stays
         * "C", so Lua keeps printing 1.5, never 1,5. */
        setlocale(LC_CTYPE, "");
        /* Before using_history(), which starts libedit: "relm:" lines of
         * ~/.editrc then apply to this program only. */
        rl_readline_name = "relm";
        using_history();
        stifle_history(1000);
        if (hist[0] != '\0')
            read_history(hist);
        rl_attempted_completion_function = complete;
        rl_completion_append_character = '\0';
        rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^~#[]";
        relm_store *s = relm_host_store(L);
        banner(relm_store_path(s), relm_store_actor_name(s));
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_sighup;
    sigaction(SIGHUP, &sa, NULL);

    char *chunk = NULL; /* lines gathered so far of an incomplete chunk */
    size_t chunk_len = 0;
    char *line;
    int failed = 0; /* a statement raised or did not compile */
    lua_settop(L, 0);
    for (;;) {
        rs->sigint_seen = 0;
        if (rs->hangup_seen)
            break;
        line = read_line(chunk != NULL ? ">> " : "relm> ", tty);
        if (rs->hangup_seen) {
            free(line);
            break;
        }
        if (line == NULL && rs->sigint_seen && tty) {
            /* Ctrl-C at the prompt: drop the line (and any unfinished
             * multi-line chunk) and prompt again, as a shell does. */
            free(chunk);
            chunk = NULL;
            chunk_len = 0;
            putchar('\n');
            fflush(stdout);
            continue;
        }
        if (line == NULL)
            break;
        if (chunk == NULL && line[0] == '\0') {
            free(line);
            continue;
        }
        size_t add = strlen(line);
        char *grown = realloc(chunk, chunk_len + add + 2);
        if (grown == NULL) {
            free(line);
            break;
        }
        if (chunk != NULL)
            grown[chunk_len++] = '\n';
        chunk = grown;
        memcpy(chunk + chunk_len, line, add + 1);
        chunk_len += add;
        free(line);
        /* "return <chunk>" first, multi-line chunks too, so an expression
         * spread over lines (a long relm.sql call) prints its value. */
        int status = relm_eval_load(L, chunk, chunk_len, "=stdin", 1);
        if (incomplete(L, status) ||
            (status != LUA_OK && incomplete_expression(L, chunk, chunk_len))) {
            lua_pop(L, 1); /* keep gathering lines */
            continue;
        }
        if (tty) {
            /* Saved at once, not only at Ctrl-D: a session left through
             * os.exit() or a closed terminal keeps its history too. */
            add_history(chunk);
            if (hist[0] != '\0')
                write_history(hist);
        }
        free(chunk);
        chunk = NULL;
        chunk_len = 0;
        if (status != LUA_OK) {
            relm_eval_report(L);
            failed = 1;
            continue;
        }
        rs->evaluating = 1;
        if (relm_eval_call(L, 0, 1) != LUA_OK)
            failed = 1;
        rs->evaluating = 0;
        lua_sethook(L, NULL, 0, 0); /* a Ctrl-C that came too late */
        if (rs->sigint_seen || rs->hangup_seen) {
            /* sqlite3_interrupt stays armed while no SQL statement runs
             * (a Lua loop was stopped): the next statement to start clears
             * it. Start one now, or the checkpoint when the store closes
             * is interrupted instead and the WAL is left behind. */
            sqlite3_exec(relm_store_db(relm_host_store(L)), "SELECT 1", NULL,
                         NULL, NULL);
        }
        lua_settop(L, 0);
    }
    if (chunk != NULL) {
        /* Input ended inside a chunk: say what is missing rather than drop
         * it silently (a piped script cut short). */
        if (relm_eval_load(L, chunk, chunk_len, "=stdin", 0) != LUA_OK) {
            relm_eval_report(L);
            failed = 1;
        } else
            lua_pop(L, 1);
        free(chunk);
    }
    if (tty && !rs->hangup_seen) {
        putchar('\n');
        if (hist[0] != '\0')
            write_history(hist);
    }
    /* At a terminal the person saw each error and went on: leaving is a
     * success. Piped input is a script by other means: like `relm run`,
     * it exits 1 when any statement failed, so `relm repl < f && ...`
     * does not carry on after an error. */
    return !tty && failed ? 1 : 0;
}
