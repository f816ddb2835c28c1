/* l_http.c: relm.core.http: starts the HTTP server on the host's loop and
 * runs each request as its one authenticated user through relm.http. */
#include <lauxlib.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/i18n.h"
#include "http/fastget.h"
#include "http/limit.h"
#include "http/server.h"
#include "lua/args.h"
#include "lua/host.h"
#include "lua/modules.h"
#include "token.h"

/* Login failures allowed per window, per user name and per address. */
enum { LOGIN_MAX_PER_USER = 5, LOGIN_MAX_PER_ADDRESS = 20 };
#define LOGIN_WINDOW_SECONDS 300.0
/* How long a web session lasts. */
#define SESSION_SECONDS (12 * 3600)

/* The one server of the process (serve runs one), its Lua state and the
 * request being handled (login reads its address). */
typedef struct http_state {
    lua_State *L;
    relm_http_server *sv;
    int dispatch_ref;
    const relm_http_request *cur;
    int stopped;
    locale_t english;   /* LC_MESSAGES "C": the API answers in English */
    relm_limiter limits;
} http_state;

static http_state *state;

/* Push a copy of n bytes of s, or nil for NULL. */
static void push_opt(lua_State *L, const char *s)
{
    if (s != NULL)
        lua_pushstring(L, s);
    else
        lua_pushnil(L);
}

/* The value of cookie name in the Cookie header h (copied into out), or
 * NULL. */
static const char *cookie_value(const char *h, const char *name, char *out,
                                size_t size)
{
    size_t nl = strlen(name);
    for (const char *p = h; p != NULL && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            if (vl >= size)
                return NULL;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return out;
        }
        p = end;
    }
    return NULL;
}

/* Who the request is: *name filled and RELM_OK when a token or a session
 * cookie proves it; RELM_ERR with d filled when one was given but is no
 * good; RELM_NOT_FOUND when none was given. *session tells a cookie from
 * a bearer token; csrf_ok whether a session's write carries its CSRF
 * token. */
static int identify(relm_store *s, const relm_http_request *req, char *name,
                    size_t nsize, int *session, int *csrf_ok, char want[65],
                    relm_diag *d)
{
    int64_t uid;
    char cookie[RELM_TOKEN_BUF];
    *session = 0;
    *csrf_ok = 0;
    want[0] = '\0';
    if (req->authorization != NULL) {
        if (strncmp(req->authorization, "Bearer ", 7) != 0)
            return relm_diag_set(d, "unauthorized", "%s",
                                 _("the Authorization header must be "
                                   "'Bearer TOKEN'"));
        return relm_token_verify(s, req->authorization + 7, "api", &uid,
                                 name, nsize, d);
    }
    if (req->cookie != NULL &&
        cookie_value(req->cookie, "relm_session", cookie, sizeof cookie)) {
        *session = 1;
        /* The web desktop's forms carry the token as a field. */
        relm_token_csrf(cookie, want);
        if (req->csrf != NULL)
            *csrf_ok = relm_token_equal(want, req->csrf);
        return relm_token_verify(s, cookie, "session", &uid, name, nsize, d);
    }
    return RELM_NOT_FOUND;
}

/* Copy the Lua string at idx into a malloc'd buffer for the response. */
static void take_body(lua_State *L, int idx, relm_http_response *res)
{
    size_t n = 0;
    const char *b = lua_tolstring(L, idx, &n);
    if (b == NULL)
        return;
    res->body = malloc(n + 1);
    if (res->body == NULL)
        return;
    memcpy(res->body, b, n);
    res->body[n] = '\0';
    res->body_len = n;
}

/* Answer with a JSON error built here (when Lua itself failed). */
static void fail(relm_http_response *res, int status, const char *code,
                 const char *message)
{
    res->status = status;
    char buf[600];
    /* code and message are ours (no quotes or backslashes in them). */
    int n = snprintf(buf, sizeof buf, "{\"code\":\"%s\",\"message\":\"%s\"}",
                     code, message);
    res->body = strdup(buf);
    res->body_len = res->body != NULL ? (size_t)n : 0;
}

static void handle_as(http_state *st, const relm_http_request *req,
                      relm_http_response *res);

/* The handler. The HTTP API is machine output: its messages stay English
 * whatever the locale serve runs in (its e-mails keep that locale), so
 * gettext sees the "C" locale for the request's thread while it runs. The
 * web desktop's pages are for people: relm.web renders each in its
 * reader's language inside this (relm.i18n.within). */
static void handle(void *ctx, const relm_http_request *req,
                   relm_http_response *res)
{
    http_state *st = ctx;
    locale_t prev = st->english != (locale_t)0 ? uselocale(st->english)
                                               : (locale_t)0;
    handle_as(st, req, res);
    if (prev != (locale_t)0)
        uselocale(prev);
}

/* Identify, act as that user, call relm.http.dispatch(req), act as before
 * again. Stack: balanced. */
static void handle_as(http_state *st, const relm_http_request *req,
                      relm_http_response *res)
{
    lua_State *L = st->L;
    if (st->stopped) {
        fail(res, 503, "unavailable", _("relm serve is stopping"));
        return;
    }
    relm_store *s = relm_host_store(L);
    /* The hot read, answered in C when it is a plain one (fastget.c). */
    if (relm_http_fastget(s, req, res))
        return;
    char name[128] = "";
    int session, csrf_ok;
    char csrf_want[65];
    relm_diag d;
    relm_diag_clear(&d);
    int who = identify(s, req, name, sizeof name, &session, &csrf_ok,
                       csrf_want, &d);
    char prev[128];
    snprintf(prev, sizeof prev, "%s", relm_store_actor_name(s));
    /* Nobody acts until the request proves who it is: with no actor every
     * write refuses (unknown_user) whatever a route does. */
    relm_store_defer_actor(s, "");
    /* The token's check found the user active: the store looks the id up
     * only when a primitive needs it (a read often never does). */
    if (who == RELM_OK)
        relm_store_defer_actor(s, name);
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->dispatch_ref);
    lua_createtable(L, 0, 16);
    lua_pushstring(L, req->method);
    lua_setfield(L, -2, "method");
    lua_pushlstring(L, req->path, req->path_len);
    lua_setfield(L, -2, "path");
    lua_pushlstring(L, req->query, req->query_len);
    lua_setfield(L, -2, "query");
    lua_pushlstring(L, req->body, req->body_len);
    lua_setfield(L, -2, "body");
    push_opt(L, req->if_match);
    lua_setfield(L, -2, "if_match");
    push_opt(L, req->content_type);
    lua_setfield(L, -2, "content_type");
    push_opt(L, req->last_event_id);
    lua_setfield(L, -2, "last_event_id");
    push_opt(L, req->peer);
    lua_setfield(L, -2, "peer");
    push_opt(L, req->accept_language);
    lua_setfield(L, -2, "accept_language");
    if (who == RELM_OK) {
        lua_pushstring(L, name);
        lua_setfield(L, -2, "user");
        if (session) {
            lua_pushstring(L, csrf_want);
            lua_setfield(L, -2, "csrf_token");
        }
    } else if (who == RELM_ERR) {
        relm_lua_push_error(L, d.code, d.msg, 0);
        lua_setfield(L, -2, "auth_error");
    }
    lua_pushboolean(L, session);
    lua_setfield(L, -2, "session");
    lua_pushboolean(L, csrf_ok);
    lua_setfield(L, -2, "csrf_ok");
    st->cur = req;
    int rc = relm_host_pcall(L, 1, 4);
    st->cur = NULL;
    if (rc != LUA_OK) {
        fprintf(stderr, _("relm: http: %s\n"), relm_lua_error_string(L, -1));
        fail(res, 500, "internal", _("the request failed inside relm"));
    } else {
        res->status = (int)lua_tointeger(L, top + 1);
        take_body(L, top + 2, res);
        if (lua_istable(L, top + 3)) {
            lua_pushnil(L);
            while (lua_next(L, top + 3) != 0) {
                const char *k = lua_tostring(L, -2), *v = lua_tostring(L, -1);
                if (k != NULL && v != NULL)
                    relm_http_add_header(res, k, v);
                lua_pop(L, 1);
            }
        }
        if (lua_isinteger(L, top + 4)) {
            res->stream = 1;
            res->stream_from = lua_tointeger(L, top + 4);
        }
    }
    lua_settop(L, top);
    /* Looked up again only when next needed: one query less per request. */
    relm_store_defer_actor(s, prev);
}

/* login(user, password) -> session token, CSRF token. Refused with
 * rate_limited while the user or the request's address has failed too
 * often lately, unauthorized for a wrong name or password. Only inside a
 * request (it is the request's address that is counted). */
static int l_http_login(lua_State *L)
{
    const char *user = relm_lua_checktext(L, 1, "user");
    const char *password = relm_lua_checktext(L, 2, "password");
    if (state == NULL || state->cur == NULL)
        return relm_lua_error(L, "invalid_argument", "%s",
                              _("login is only for HTTP requests"));
    char ukey[RELM_LIMIT_KEY], akey[RELM_LIMIT_KEY];
    snprintf(ukey, sizeof ukey, "user:%s", user);
    snprintf(akey, sizeof akey, "addr:%s", state->cur->peer);
    double now = (double)relm_clock_now();
    double wait = relm_limit_wait(&state->limits, ukey, LOGIN_MAX_PER_USER,
                                  now);
    double wait_a = relm_limit_wait(&state->limits, akey,
                                    LOGIN_MAX_PER_ADDRESS, now);
    if (wait_a > wait)
        wait = wait_a;
    if (wait > 0)
        return relm_lua_error(L, "rate_limited",
                              _("too many failed logins; try again in %d "
                                "seconds"),
                              (int)wait + 1);
    char token[RELM_TOKEN_BUF], csrf[65];
    relm_diag d;
    if (relm_token_login(relm_host_store(L), user, password, SESSION_SECONDS,
                         token, csrf, &d) != RELM_OK) {
        if (strcmp(d.code, "unauthorized") == 0) {
            relm_limit_fail(&state->limits, ukey, now);
            relm_limit_fail(&state->limits, akey, now);
        }
        return relm_lua_diag_error(L, &d);
    }
    relm_limit_clear(&state->limits, ukey);
    lua_pushstring(L, token);
    lua_pushstring(L, csrf);
    lua_pushinteger(L, SESSION_SECONDS);
    return 3;
}

/* logout() -> true when the current request's session cookie named a
 * live session, which is now revoked on the server (the cookie is no good
 * any more, wherever a copy of it is); false when it carried none. */
static int l_http_logout(lua_State *L)
{
    char cookie[RELM_TOKEN_BUF];
    if (state == NULL || state->cur == NULL)
        return relm_lua_error(L, "invalid_argument", "%s",
                              _("logout is only for HTTP requests"));
    if (state->cur->cookie == NULL ||
        !cookie_value(state->cur->cookie, "relm_session", cookie,
                      sizeof cookie)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    relm_diag d;
    if (relm_token_end_session(relm_host_store(L), cookie, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushboolean(L, 1);
    return 1;
}

/* listen(address, dispatch [, opts]) -> port. Starts the process's one
 * server on the host's loop; dispatch(req) answers every request with
 * status, body, headers, stream_from. opts: max_body (bytes),
 * header_timeout (seconds), tls_cert and tls_key (PEM files: HTTPS). */
static int l_http_listen(lua_State *L)
{
    const char *addr = relm_lua_checktext(L, 1, "address");
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (state != NULL)
        return relm_lua_error(L, "conflict", "%s",
                              _("the HTTP server is already running"));
    lua_Integer max_body = 1 << 20;
    lua_Number timeout = 10;
    const char *cert = NULL, *key = NULL;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "max_body");
        max_body = luaL_optinteger(L, -1, max_body);
        lua_getfield(L, 3, "header_timeout");
        timeout = luaL_optnumber(L, -1, timeout);
        /* The strings stay referenced by opts (argument 3) until the
         * server has read the files. */
        lua_getfield(L, 3, "tls_cert");
        cert = lua_tostring(L, -1);
        lua_getfield(L, 3, "tls_key");
        key = lua_tostring(L, -1);
        lua_pop(L, 4);
    }
    relm_diag d;
    if (relm_token_init(&d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    http_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return relm_lua_error(L, "out_of_memory", "%s", _("out of memory"));
    st->L = L;
    st->limits.window = LOGIN_WINDOW_SECONDS;
    st->english = newlocale(LC_MESSAGES_MASK, "C", (locale_t)0);
    relm_http_config c = {.handle = handle,
                          .ctx = st,
                          .store = relm_host_store(L),
                          .max_body = (size_t)max_body,
                          .header_timeout_ms = (unsigned)(timeout * 1000),
                          .tls_cert = cert,
                          .tls_key = key};
    st->sv = relm_http_start(relm_host_loop(L), addr, &c, &d);
    if (st->sv == NULL) {
        free(st);
        return relm_lua_diag_error(L, &d);
    }
    lua_pushvalue(L, 2);
    st->dispatch_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    state = st;
    lua_pushinteger(L, relm_http_port(st->sv));
    return 1;
}

/* stop(): stop listening and end the event streams (serve is stopping). */
static int l_http_stop(lua_State *L)
{
    (void)L;
    /* The state stays: a request still arriving on a kept-alive connection
     * finds it stopped and gets 503. */
    if (state != NULL && !state->stopped) {
        state->stopped = 1;
        relm_http_stop(state->sv);
    }
    return 0;
}

/* csrf(session) -> the CSRF token of a session token. */
static int l_http_csrf(lua_State *L)
{
    char csrf[65];
    relm_token_csrf(relm_lua_checktext(L, 1, "session"), csrf);
    lua_pushstring(L, csrf);
    return 1;
}

/* Open relm.core.http: pushes the module table. */
int luaopen_relm_http(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"listen", l_http_listen},
        {"stop", l_http_stop},
        {"login", l_http_login},
        {"logout", l_http_logout},
        {"csrf", l_http_csrf},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
