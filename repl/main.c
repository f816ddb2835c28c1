/* main.c: the relm command: parse the command line, open the store and the
 * Lua host, dispatch to run, -e, repl or help. Exit 0 ok, 1 error, 2 usage. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/i18n.h"
#include "eval.h"
#include "base/context.h"
#include "loop/serve.h"
#include "lua/escalate.h"
#include "lua/host.h"
#include "lua/serve_engine.h"
#include "lua/l_hooks.h"
#include "repl.h"
#include "base/store.h"
#include "base/version.h"

enum { EXIT_USAGE = 2 };

typedef struct options {
    const char *db;
    const char *user;
    const char *command; /* "run", "repl", "-e", "help" */
    const char *arg;     /* script path, -e text or help topic */
    int script_index;    /* argv index of the script for `run` */
    int synchronous_full;
    int no_init;         /* --no-init: skip ~/.relmrc */
    const char *preload; /* -i FILE: run it, then stay in the REPL */
    const char *mode;    /* --mode: how results print */
    int header;          /* --header 1, --no-header 0, else -1 */
    int log_json;        /* serve --log json */
    const char *listen;  /* serve --listen HOST:PORT: the HTTP API */
    const char *routes;  /* serve --routes PATH: site route files */
    const char *tls_cert, *tls_key; /* serve --tls-cert/--tls-key: HTTPS */
} options;

/* The output modes of relm.mode(), checked here so that a mistyped --mode
 * is a usage error before the database is opened. */
static const char *const modes[] = {"table", "box",  "csv",      "json",
                                    "jsonl", "line", "markdown", NULL};

static const char *usage_text = N_(
    "usage: relm [OPTIONS] COMMAND\n"
    "\n"
    "commands:\n"
    "  run FILE.lua [ARGS...]   run a Lua script (FILE '-' reads stdin)\n"
    "  repl                     interactive Lua session on the database\n"
    "  -e 'LUA'                 run one statement and print its results\n"
    "  serve [--log json] [--listen HOST:PORT]\n"
    "                           event loop: SLA clocks, notifications, and\n"
    "                           with --listen the HTTP API (docs/http.md)\n"
    "  help [COMMAND]           this text, or help on one command\n"
    "\n"
    "options:\n"
    "  --db PATH        database file (default $RELM_DB, else ./relm.db)\n"
    "  --user NAME      act as this user (default $RELM_USER, else admin)\n"
    "  --traceback      print the Lua traceback with errors\n"
    "  --mode MODE      how results print: table (default), box, csv, json,\n"
    "                   jsonl, line or markdown\n"
    "  --header         print the header row in table, box, csv, markdown\n"
    "  --no-header      leave the header row out\n"
    "  -i FILE.lua      run FILE.lua, then stay in the REPL\n"
    "  --no-init        do not run ~/.relmrc at the start of the REPL\n"
    "  --sync full      fsync on every commit (PRAGMA synchronous=FULL)\n"
    "  --version        print the version\n"
    "  --help           print this text\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n");

static const struct {
    const char *name;
    const char *text;
} command_help[] = {
    {"run",
     N_("usage: relm [OPTIONS] run FILE.lua [ARGS...]\n"
     "Run a Lua script with the global `relm`. FILE '-' reads the script from\n"
     "stdin. The script sees its arguments in `arg` as lua5.4 sets it:\n"
     "arg[0] is the script, arg[1..n] the arguments. An error ends the run\n"
     "with exit status 1 and `file:line: message` on stderr.\n")},
    {"repl",
     N_("usage: relm [OPTIONS] repl   or   relm [OPTIONS] -i FILE.lua [ARGS...]\n"
     "Interactive session: expressions print their values, records print as\n"
     "aligned tables, Tab completes names, history is kept in\n"
     "~/.relm_history, Ctrl-C interrupts the statement, Ctrl-D leaves.\n"
     "help() lists the modules. ~/.relmrc runs first (--no-init skips it);\n"
     "-i FILE.lua runs the script, then the session starts with what it\n"
     "defined. relm.mode(), relm.output(), relm.once(), relm.timer(),\n"
     "relm.schema() and relm.traceback() work as sqlite3's dot commands.\n"
     "Fed by a pipe, it reads statements without prompts, goes on after an\n"
     "error and then exits with status 1.\n")},
    {"-e",
     N_("usage: relm [OPTIONS] -e 'LUA'\n"
     "Run one statement (or expression) and print its results, e.g.\n"
     "  relm -e 'relm.sql(\"select name from users\")'\n")},
    {"serve",
     N_("usage: relm [OPTIONS] serve [--log text|json] [--listen HOST:PORT\n"
     "                            [--routes PATH] [--tls-cert FILE --tls-key FILE]]\n"
     "Run the event loop on the database until SIGTERM or SIGINT (then finish\n"
     "the deliveries in flight and exit 0): fire SLA warnings and breaches,\n"
     "deliver the outbox to webhook and e-mail subscriptions (relm.notify),\n"
     "retrying failures with backoff. Picks up other processes' commits\n"
     "within a second. One serve per database: a second one refuses to start\n"
     "(the lock is an flock on DB.serve.lock beside the database). SIGHUP\n"
     "re-reads the settings. One log line per thing done on stdout; --log\n"
     "json makes each a JSON object. See docs/serve.md.\n"
     "--listen HOST:PORT also serves the HTTP/JSON API on that address (e.g.\n"
     "127.0.0.1:8080), each request acting as the user of its token or\n"
     "session; --routes PATH loads site routes (relm.route) from a .lua file\n"
     "or a directory of them; --tls-cert and --tls-key (PEM files) make it\n"
     "HTTPS. See docs/http.md.\n")},
    {"help", N_("usage: relm help [COMMAND]\n"
             "Print the usage text, or the help of one command (run, repl, -e,\n"
             "serve).\n")},
};

/* Report a usage error as one line with a hint and return exit status 2.
 * fmt has one %s, filled with what. */
static int usage_error(const char *fmt, const char *what)
{
    fprintf(stderr, "relm: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, _(" (try 'relm --help')\n"));
    return EXIT_USAGE;
}

/* Print the usage text, or the help of one command; an unknown topic is a
 * usage error. */
static int print_help(const char *topic)
{
    if (topic == NULL) {
        fputs(_(usage_text), stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof command_help / sizeof command_help[0]; i++)
        if (strcmp(command_help[i].name, topic) == 0) {
            fputs(_(command_help[i].text), stdout);
            return 0;
        }
    return usage_error(_("no help for '%s'; the commands are run, repl, -e, "
                       "serve and help"), topic);
}

/* Set the option called name ("db", "user" or "sync") to v. Returns -1 on
 * success, else the usage exit status. */
static int set_option(options *o, const char *name, const char *v)
{
    if (*v == '\0')
        return usage_error(_("--%s needs a non-empty value"), name);
    if (strcmp(name, "db") == 0)
        o->db = v;
    else if (strcmp(name, "user") == 0)
        o->user = v;
    else if (strcmp(v, "full") == 0 || strcmp(v, "normal") == 0)
        o->synchronous_full = v[0] == 'f';
    else
        return usage_error(_("--sync takes 'full' or 'normal', not '%s'"), v);
    return -1;
}

/* Parse options and the command into o. Returns -1 to go on, else the exit
 * status to leave with (0 after --help/--version, 2 on a usage error). */
static int parse_args(int argc, char **argv, options *o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") == 0 || strcmp(a, "--user") == 0 ||
            strcmp(a, "--sync") == 0) {
            if (i + 1 >= argc)
                return usage_error(_("option %s needs a value"), a);
            int rc = set_option(o, a + 2, argv[++i]);
            if (rc >= 0)
                return rc;
        } else if (strncmp(a, "--db=", 5) == 0 ||
                   strncmp(a, "--user=", 7) == 0 ||
                   strncmp(a, "--sync=", 7) == 0) {
            char name[8];
            size_t n = (size_t)(strchr(a, '=') - a - 2);
            snprintf(name, sizeof name, "%.*s", (int)n, a + 2);
            int rc = set_option(o, name, a + 3 + n);
            if (rc >= 0)
                return rc;
        } else if (strcmp(a, "--traceback") == 0) {
            relm_process.repl.traceback = 1;
        } else if (strcmp(a, "--no-init") == 0) {
            o->no_init = 1;
        } else if (strcmp(a, "--header") == 0 || strcmp(a, "--no-header") == 0) {
            o->header = a[2] == 'h';
        } else if (strcmp(a, "--mode") == 0 || strncmp(a, "--mode=", 7) == 0) {
            const char *v = a[6] == '=' ? a + 7 : NULL;
            if (v == NULL && i + 1 >= argc)
                return usage_error(_("option %s needs a value"), a);
            if (v == NULL)
                v = argv[++i];
            size_t k = 0;
            while (modes[k] != NULL && strcmp(modes[k], v) != 0)
                k++;
            if (modes[k] == NULL)
                return usage_error(_("--mode takes table, box, csv, json, jsonl, "
                                   "line or markdown, not '%s'"), v);
            o->mode = v;
        } else if (strcmp(a, "-i") == 0) {
            if (i + 1 >= argc)
                return usage_error(_("%s needs a script to run before the REPL"),
                                   "-i");
            o->preload = argv[++i];
            o->script_index = i;
            break;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf(_("relm %s (%s, SQLite %s)\n"), RELM_VERSION, LUA_RELEASE,
                   sqlite3_libversion());
            return 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return print_help(NULL);
        } else if (a[0] == '-' && strcmp(a, "-e") != 0) {
            return usage_error(_("unknown option '%s'"), a);
        } else {
            break;
        }
    }
    if (o->preload != NULL) {
        /* relm -i FILE.lua [ARGS...]: the arguments are the script's. */
        o->command = "repl";
        o->arg = o->preload;
        return -1;
    }
    if (i >= argc) {
        o->command = "repl";
        return -1;
    }
    o->command = argv[i];
    if (strcmp(o->command, "-e") == 0) {
        if (i + 1 >= argc)
            return usage_error(_("%s needs a Lua statement"), "-e");
        o->arg = argv[i + 1];
        if (i + 2 < argc)
            return usage_error(_("unexpected argument '%s' after -e 'LUA'"),
                               argv[i + 2]);
    } else if (strcmp(o->command, "run") == 0) {
        if (i + 1 >= argc)
            return usage_error(_("%s needs a script (FILE.lua, or - for stdin)"),
                               "run");
        o->arg = argv[i + 1];
        o->script_index = i + 1;
    } else if (strcmp(o->command, "repl") == 0) {
        if (i + 1 < argc)
            return usage_error(_("unexpected argument '%s' after repl"),
                               argv[i + 1]);
    } else if (strcmp(o->command, "serve") == 0) {
        for (int k = i + 1; k < argc; k++) {
            if (strcmp(argv[k], "--log") == 0 && k + 1 < argc &&
                (strcmp(argv[k + 1], "json") == 0 ||
                 strcmp(argv[k + 1], "text") == 0))
                o->log_json = argv[++k][0] == 'j';
            else if (strcmp(argv[k], "--listen") == 0 && k + 1 < argc &&
                     argv[k + 1][0] != '\0')
                o->listen = argv[++k];
            else if (strcmp(argv[k], "--routes") == 0 && k + 1 < argc &&
                     argv[k + 1][0] != '\0')
                o->routes = argv[++k];
            else if (strcmp(argv[k], "--tls-cert") == 0 && k + 1 < argc &&
                     argv[k + 1][0] != '\0')
                o->tls_cert = argv[++k];
            else if (strcmp(argv[k], "--tls-key") == 0 && k + 1 < argc &&
                     argv[k + 1][0] != '\0')
                o->tls_key = argv[++k];
            else if (strcmp(argv[k], "--help") == 0)
                return print_help("serve");
            else
                return usage_error(_("serve: unexpected '%s' (serve takes "
                                   "--log text|json, --listen HOST:PORT, "
                                   "--routes PATH, --tls-cert FILE and "
                                   "--tls-key FILE)"),
                                   argv[k]);
        }
        if ((o->tls_cert == NULL) != (o->tls_key == NULL))
            return usage_error(_("serve: %s go together"),
                               "--tls-cert FILE and --tls-key FILE");
        if ((o->routes != NULL || o->tls_cert != NULL) && o->listen == NULL)
            return usage_error(_("serve: %s needs --listen HOST:PORT"),
                               o->routes != NULL ? "--routes" : "--tls-cert");
    } else if (strcmp(o->command, "help") == 0) {
        return print_help(i + 1 < argc ? argv[i + 1] : NULL);
    } else {
        return usage_error(_("unknown command '%s'; the commands are run, "
                           "repl, -e, serve and help"), o->command);
    }
    return -1;
}

/* The `arg` table as lua5.4 builds it: the script at 0, its arguments at
 * 1..n, the interpreter and options before it at negative indices. With no
 * script (-e), script is 0 and every argument has a positive index, as
 * lua5.4 -e does. */
static void set_arg_table(lua_State *L, int argc, char **argv, int script)
{
    lua_createtable(L, argc - script - 1, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* Compile code in a throwaway Lua state so that a syntax error is reported
 * before the database is opened (a failed start must not create one).
 * With try_return, "return <code>" is tried first, as the evaluator does.
 * Returns 0 when the code compiles, else prints the error and returns 1. */
static int precompile(const char *code, size_t len, const char *chunkname,
                      int try_return)
{
    lua_State *T = luaL_newstate();
    if (T == NULL) {
        fprintf(stderr, _("relm: out of memory\n"));
        return 1;
    }
    int status = LUA_ERRSYNTAX;
    if (try_return) {
        lua_pushliteral(T, "return ");
        lua_pushlstring(T, code, len);
        lua_concat(T, 2);
        size_t rlen;
        const char *ret = lua_tolstring(T, -1, &rlen);
        status = luaL_loadbufferx(T, ret, rlen, chunkname, "t");
        lua_settop(T, 0);
    }
    if (status != LUA_OK)
        status = luaL_loadbufferx(T, code, len, chunkname, "t");
    if (status != LUA_OK) {
        const char *msg = lua_tostring(T, -1);
        fprintf(stderr, "%s\n", msg != NULL ? msg : "cannot compile");
    }
    lua_close(T);
    return status == LUA_OK ? 0 : 1;
}

/* Run a script already read into buf, with its arguments after argv[script]
 * both in `arg` and as the chunk's `...`. Returns the exit status. */
static int run_script(lua_State *L, const char *buf, size_t len,
                      const char *chunkname, int argc, char **argv, int script)
{
    set_arg_table(L, argc, argv, script);
    if (relm_eval_load(L, buf, len, chunkname, 0) != LUA_OK) {
        relm_eval_report(L);
        return 1;
    }
    int nargs = argc - script - 1;
    luaL_checkstack(L, nargs, "too many script arguments");
    for (int i = script + 1; i < argc; i++)
        lua_pushstring(L, argv[i]);
    return relm_eval_call(L, nargs, 0) == LUA_OK ? 0 : 1;
}

/* --mode and --header: relm.mode(mode, {header = ...}) before the first
 * statement. The mode was checked by parse_args; header < 0 leaves it. */
static void set_mode(lua_State *L, const char *mode, int header)
{
    lua_getglobal(L, "relm");
    lua_getfield(L, -1, "mode");
    lua_remove(L, -2);
    if (mode != NULL)
        lua_pushstring(L, mode);
    else
        lua_pushnil(L);
    lua_createtable(L, 0, 1);
    if (header >= 0) {
        lua_pushboolean(L, header);
        lua_setfield(L, -2, "header");
    }
    relm_eval_call(L, 2, 0);
}

/* Remove a database this start created and then refused to use. */
static void remove_db(const char *path)
{
    static const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    char name[4200];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffix[i]);
        unlink(name);
    }
}

/* The open store (relm_process.repl.store), closed at exit when a script
 * leaves through os.exit(): closing checkpoints the WAL (no -wal/-shm files
 * left beside the database) and rolls back a transaction the script had
 * not committed. */
static void close_store_at_exit(void)
{
    relm_store *s = relm_process.repl.store;
    relm_process.repl.store = NULL;
    relm_store_close(s);
}

/* serve --listen, --routes, --tls-cert and --tls-key, for start_http. */
static const char *http_listen, *http_routes, *http_cert, *http_key;

/* serve's start hook: require("relm.http").listen(address); 0 when the
 * server listens (where gets "HOST:PORT" bound), else 1 after saying why. */
static int start_http(void *ctx, char *where, size_t size)
{
    lua_State *L = ctx;
    lua_getglobal(L, "require");
    lua_pushstring(L, "relm.http");
    if (relm_host_pcall(L, 1, 1) == LUA_OK) {
        lua_getfield(L, -1, "listen");
        lua_pushstring(L, http_listen);
        lua_createtable(L, 0, 1);
        const char *const fields[][2] = {{"routes", http_routes},
                                         {"tls_cert", http_cert},
                                         {"tls_key", http_key}};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            if (fields[i][1] != NULL) {
                lua_pushstring(L, fields[i][1]);
                lua_setfield(L, -2, fields[i][0]);
            }
        if (relm_host_pcall(L, 2, 1) == LUA_OK) {
            snprintf(where, size, "%s", lua_tostring(L, -1));
            lua_pop(L, 2);
            return 0;
        }
    }
    fprintf(stderr, _("relm: serve: %s\n"), relm_lua_error_string(L, -1));
    lua_settop(L, 0);
    return 1;
}

/* serve's stop hook: stop listening, end the event streams. */
static void stop_http(void *ctx)
{
    lua_State *L = ctx;
    lua_getglobal(L, "require");
    lua_pushstring(L, "relm.http");
    if (relm_host_pcall(L, 1, 1) == LUA_OK) {
        lua_getfield(L, -1, "stop");
        if (relm_host_pcall(L, 0, 0) != LUA_OK)
            lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

int main(int argc, char **argv)
{
    options o = {0};
    o.header = -1;
    /* Before any message: --help and usage errors are translated too. */
    relm_i18n_init(NULL);
    o.db = getenv("RELM_DB");
    o.user = getenv("RELM_USER");
    if (o.db == NULL || *o.db == '\0')
        o.db = "relm.db";
    if (o.user == NULL || *o.user == '\0')
        o.user = NULL; /* admin, looked up on first use */
    const char *sync = getenv("RELM_SYNC");
    if (sync != NULL && *sync != '\0') {
        if (strcmp(sync, "full") != 0 && strcmp(sync, "normal") != 0)
            return usage_error(_("$RELM_SYNC must be 'full' or 'normal', not "
                               "'%s'"), sync);
        o.synchronous_full = sync[0] == 'f';
    }
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;

    /* Read and compile the script before the database is touched, so a bad
     * start leaves no file behind. */
    char *script = NULL;
    size_t script_len = 0;
    char chunkname[4200];
    if (strcmp(o.command, "run") == 0 || o.preload != NULL) {
        char err[4400];
        script = relm_eval_read_script(o.arg, &script_len, err, sizeof err);
        if (script == NULL) {
            fprintf(stderr, "relm: %s\n", err);
            return 1;
        }
        snprintf(chunkname, sizeof chunkname, "@%s",
                 strcmp(o.arg, "-") == 0 ? "stdin" : o.arg);
        if (precompile(script, script_len, chunkname, 0) != 0) {
            free(script);
            return 1;
        }
    } else if (strcmp(o.command, "-e") == 0 &&
               precompile(o.arg, strlen(o.arg), "=(command line)", 1) != 0) {
        return 1;
    }

    relm_diag d;
    relm_store *store = NULL;
    int created = 0;
    relm_store_opts sopts = {.synchronous_full = o.synchronous_full,
                             .create = 1};
    lua_State *L = NULL;
    if (relm_store_open(&store, o.db, &sopts, &created, &d) != RELM_OK ||
        (o.user != NULL ? relm_store_set_actor(store, o.user, &d)
                        : (relm_store_defer_actor(store, "admin"), RELM_OK)) != RELM_OK ||
        (L = relm_host_open(store, relm_host_find_home(), &d)) == NULL) {
        fprintf(stderr, "relm: %s\n", d.msg);
        relm_store_close(store);
        if (created)
            remove_db(o.db);
        free(script);
        return 1;
    }
    relm_process.repl.store = store;
    atexit(close_store_at_exit);

    if (o.mode != NULL || o.header >= 0)
        set_mode(L, o.mode, o.header);
    if (strcmp(o.command, "repl") == 0) {
        /* ~/.relmrc, then the -i script, then the prompt: a failure in
         * either is reported and the session still starts. */
        int failed = !o.no_init && relm_repl_run_init(L) != 0;
        if (script != NULL)
            failed |= run_script(L, script, script_len, chunkname, argc,
                                 argv, o.script_index) != 0;
        rc = relm_repl(L);
        if (failed && !isatty(STDIN_FILENO))
            rc = 1;
    } else if (script != NULL) {
        rc = run_script(L, script, script_len, chunkname, argc, argv,
                        o.script_index);
    } else if (strcmp(o.command, "-e") == 0) {
        set_arg_table(L, argc, argv, 0);
        rc = relm_eval_string(L, o.arg, "=(command line)");
    } else if (strcmp(o.command, "serve") == 0) {
        relm_hooks_iface hooks;
        relm_lua_hooks_bind(L, &hooks);
        relm_serve_opts so = {.log_json = o.log_json, .hooks = &hooks};
        relm_serve_engine_opts(L, &so);
        so.escalate = relm_lua_escalate;
        so.escalation_pcts = relm_lua_escalation_pcts;
        so.escalation_changed = relm_lua_escalation_changed;
        so.escalate_ctx = L;
        if (o.listen != NULL) {
            http_listen = o.listen;
            http_routes = o.routes;
            http_cert = o.tls_cert;
            http_key = o.tls_key;
            so.start = start_http;
            so.stop = stop_http;
            so.start_ctx = L;
        }
        rc = relm_serve_run(store, relm_host_loop(L), &so);
    } else {
        rc = relm_repl(L);
    }
    free(script);
    relm_host_close(L);
    relm_process.repl.store = NULL;
    relm_store_close(store);
    return rc;
}
