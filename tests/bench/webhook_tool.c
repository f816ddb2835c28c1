/* webhook_tool.c: the outbox_webhook benchmark's helpers: `sink`, a
 * loopback HTTP receiver on libuv that answers 200 to every POST (keep-
 * alive), and `post`, the baseline: a bare libcurl multi loop posting the
 * same requests relm sends (body, event headers, HMAC-SHA256 signature
 * computed per request) with the same concurrency, no database; each
 * concurrent slot keeps its easy handle, as relm keeps its handles, and
 * curl's connection cache has a fixed size (CURLMOPT_MAXCONNECTS), as
 * relm's has.
 * `post-uv` posts the same requests the way the issue has serve drive
 * libcurl: curl_multi_socket_action on libuv polls (curl's multi-uv.c,
 * with relm's refinements: a connection's poll is kept between
 * transfers, the transfers a poll phase made room for start together
 * after it, and a connection cache of fixed size). It is a reference, not
 * the baseline: it shows what the driving itself costs against
 * curl_multi_perform, without a database.
 *   webhook_tool sink PORTFILE
 *   webhook_tool post URL BODIES_FILE CONCURRENCY SECRET  -> prints seconds
 *   webhook_tool post-uv URL BODIES_FILE CONCURRENCY SECRET -> seconds */
#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* ---- sink --------------------------------------------------------------- */

typedef struct conn {
    uv_tcp_t tcp;
    char *buf;
    size_t len, cap;
} conn;

static const char reply[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
static uv_buf_t reply_buf;

static void on_close(uv_handle_t *h)
{
    conn *c = h->data;
    free(c->buf);
    free(c);
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b)
{
    conn *c = h->data;
    if (c->cap - c->len < want) {
        c->cap = c->len + want;
        c->buf = realloc(c->buf, c->cap);
    }
    b->base = c->buf + c->len;
    b->len = c->cap - c->len;
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

/* Answer every complete request in the buffer, keep the rest. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    conn *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    c->len += (size_t)n;
    size_t off = 0;
    for (;;) {
        char *start = c->buf + off;
        size_t left = c->len - off;
        char *end = memmem(start, left, "\r\n\r\n", 4);
        if (end == NULL)
            break;
        size_t head = (size_t)(end - start) + 4, body = 0;
        for (char *p = start; p < end; p++)
            if ((p == start || p[-1] == '\n') &&
                strncasecmp(p, "Content-Length:", 15) == 0)
                body = strtoul(p + 15, NULL, 10);
        if (left < head + body)
            break;
        off += head + body;
        uv_write_t *w = malloc(sizeof *w);
        uv_write(w, s, &reply_buf, 1, on_written);
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

static void on_conn(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    conn *c = calloc(1, sizeof *c);
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0) {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    } else {
        uv_close((uv_handle_t *)&c->tcp, on_close);
    }
}

static int sink(const char *portfile)
{
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    reply_buf = uv_buf_init((char *)reply, sizeof reply - 1);
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&server, 512, on_conn) != 0) {
        fprintf(stderr, "sink: cannot listen\n");
        return 1;
    }
    struct sockaddr_storage name;
    int len = sizeof name;
    uv_tcp_getsockname(&server, (struct sockaddr *)&name, &len);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
    FILE *f = fopen(tmp, "w");
    fprintf(f, "%d\n", ntohs(((struct sockaddr_in *)&name)->sin_port));
    fclose(f);
    rename(tmp, portfile);
    return uv_run(loop, UV_RUN_DEFAULT);
}

/* ---- post (the baseline) ------------------------------------------------ */

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The headers relm sends with body: its event name and id (read from the
 * body, as relm reads them from the outbox row) and the signature. */
static struct curl_slist *headers(const char *body, const char *secret)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    char line[160], event[64] = "";
    long long id = 0;
    size_t len = strlen(body);
    sscanf(body, "{\"id\":%lld,\"event\":\"%63[^\"]", &id, event);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body,
         len, mac, &maclen);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    snprintf(line, sizeof line, "X-Relm-Event: %s", event);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof line, "X-Relm-Event-Id: %lld", id);
    h = curl_slist_append(h, line);
    int k = snprintf(line, sizeof line, "X-Relm-Signature: sha256=");
    for (unsigned i = 0; i < maclen; i++)
        k += snprintf(line + k, sizeof line - (size_t)k, "%02x", mac[i]);
    return curl_slist_append(h, line);
}

/* Give slot e the next body. */
static void load(CURL *e, char *body, struct curl_slist **h, const char *secret)
{
    curl_slist_free_all(*h);
    *h = headers(body, secret);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
}

/* The lines of path, each a body; NULL when it cannot be read. */
static char **read_bodies(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char **bodies = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t k;
    while ((k = getline(&line, &lcap, f)) > 0) {
        if (line[k - 1] == '\n')
            line[k - 1] = '\0';
        if (n == cap)
            bodies = realloc(bodies, (cap = cap ? cap * 2 : 1024) * sizeof *bodies);
        bodies[n++] = strdup(line);
    }
    fclose(f);
    free(line);
    *count = n;
    return bodies;
}

/* conc easy handles for url, each with its header list slot in *hs. */
static CURL **make_slots(const char *url, int conc, struct curl_slist ***hs)
{
    CURL **slot = calloc((size_t)conc, sizeof *slot);
    *hs = calloc((size_t)conc, sizeof **hs);
    for (int i = 0; i < conc; i++) {
        slot[i] = curl_easy_init();
        curl_easy_setopt(slot[i], CURLOPT_URL, url);
        curl_easy_setopt(slot[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(slot[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(slot[i], CURLOPT_PRIVATE, (char *)&(*hs)[i]);
    }
    return slot;
}

static int post(const char *url, const char *path, int conc, const char *secret)
{
    size_t n;
    char **bodies = read_bodies(path, &n);
    if (bodies == NULL)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conc);
    struct curl_slist **hs;
    CURL **slot = make_slots(url, conc, &hs);
    double t0 = now_s();
    size_t next = 0, done = 0;
    for (int i = 0; i < conc && next < n; i++) {
        load(slot[i], bodies[next++], &hs[i], secret);
        curl_multi_add_handle(m, slot[i]);
    }
    while (done < n) {
        int still;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            struct curl_slist **h;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&h);
            curl_multi_remove_handle(m, e);
            done++;
            if (next < n) {
                load(e, bodies[next++], h, secret);
                curl_multi_add_handle(m, e);
            }
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    printf("%.6f\n", now_s() - t0);
    for (int i = 0; i < conc; i++) {
        curl_easy_cleanup(slot[i]);
        curl_slist_free_all(hs[i]);
    }
    free(slot);
    free(hs);
    curl_multi_cleanup(m);
    for (size_t i = 0; i < n; i++)
        free(bodies[i]);
    free(bodies);
    return 0;
}

/* ---- post-uv (a reference) -------------------------------------------- */

typedef struct uvsock {
    uv_poll_t poll;
    curl_socket_t fd;
    int events, wanted;
} uvsock;

static struct {
    uv_loop_t *loop;
    CURLM *m;
    uv_timer_t timer;
    uv_check_t kick;
    uvsock *socks[4096];
    CURL **ready;
    int nready;
    char **bodies;
    size_t n, next, done;
    const char *secret;
} U;

static void uv_check_done(int in_poll);

static void uv_on_poll(uv_poll_t *h, int status, int events)
{
    uvsock *c = h->data;
    int flags = status < 0 ? CURL_CSELECT_ERR : 0, running;
    if (!c->wanted) {
        uv_poll_stop(h);
        c->events = 0;
        return;
    }
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(U.m, c->fd, flags, &running);
    uv_check_done(1);
}

static void uv_free_sock(uv_handle_t *h)
{
    free(h->data);
}

static curl_socket_t uv_open_socket(void *u, curlsocktype purpose,
                                    struct curl_sockaddr *a)
{
    (void)u;
    (void)purpose;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    if (fd >= 4096) { /* past the table */
        close(fd);
        return CURL_SOCKET_BAD;
    }
    if (fd < 0)
        return CURL_SOCKET_BAD;
    uvsock *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->poll.data = c;
    uv_poll_init_socket(U.loop, &c->poll, fd);
    U.socks[fd] = c;
    return fd;
}

static int uv_close_socket(void *u, curl_socket_t fd)
{
    (void)u;
    if (U.socks[fd] != NULL)
        uv_close((uv_handle_t *)&U.socks[fd]->poll, uv_free_sock);
    U.socks[fd] = NULL;
    return close(fd);
}

static int uv_on_socket(CURL *e, curl_socket_t fd, int what, void *u, void *sp)
{
    (void)e;
    (void)u;
    (void)sp;
    uvsock *c = U.socks[fd];
    if (c == NULL)
        return -1;
    c->wanted = what != CURL_POLL_REMOVE;
    int ev = (what != CURL_POLL_IN ? UV_WRITABLE : 0) |
             (what != CURL_POLL_OUT ? UV_READABLE : 0);
    if (c->wanted && ev != c->events) {
        uv_poll_start(&c->poll, ev, uv_on_poll);
        c->events = ev;
    }
    return 0;
}

static void uv_on_timeout(uv_timer_t *t)
{
    (void)t;
    int running;
    curl_multi_socket_action(U.m, CURL_SOCKET_TIMEOUT, 0, &running);
    uv_check_done(0);
}

static int uv_on_timer(CURLM *m, long ms, void *u)
{
    (void)m;
    (void)u;
    if (ms < 0)
        uv_timer_stop(&U.timer);
    else
        uv_timer_start(&U.timer, uv_on_timeout, (uint64_t)ms, 0);
    return 0;
}

static void uv_on_kick(uv_check_t *h)
{
    uv_check_stop(h);
    for (int i = 0; i < U.nready; i++)
        curl_multi_add_handle(U.m, U.ready[i]);
    U.nready = 0;
    uv_on_timeout(NULL);
}

/* Collect the finished transfers and load their slots again; they start
 * after the poll phase when called from it (uv_on_kick), else at once: a
 * check handle does not keep the poll phase from blocking. */
static void uv_check_done(int in_poll)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(U.m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        struct curl_slist **h;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&h);
        curl_multi_remove_handle(U.m, e);
        U.done++;
        if (U.next < U.n) {
            load(e, U.bodies[U.next++], h, U.secret);
            U.ready[U.nready++] = e;
        }
    }
    if (U.done == U.n)
        uv_stop(U.loop);
    else if (U.nready > 0 && in_poll)
        uv_check_start(&U.kick, uv_on_kick);
    else if (U.nready > 0)
        uv_on_kick(&U.kick);
}

static int post_uv(const char *url, const char *path, int conc,
                   const char *secret)
{
    U.bodies = read_bodies(path, &U.n);
    if (U.bodies == NULL)
        return 1;
    U.secret = secret;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    U.loop = uv_default_loop();
    U.m = curl_multi_init();
    uv_timer_init(U.loop, &U.timer);
    uv_check_init(U.loop, &U.kick);
    curl_multi_setopt(U.m, CURLMOPT_SOCKETFUNCTION, uv_on_socket);
    curl_multi_setopt(U.m, CURLMOPT_TIMERFUNCTION, uv_on_timer);
    /* As serve, a fixed size: curl's default cache (4 connections per easy
     * handle in the multi) shrinks while finished transfers wait to start
     * again. One connection per slot is all one receiver needs. */
    curl_multi_setopt(U.m, CURLMOPT_MAXCONNECTS, (long)conc);
    struct curl_slist **hs;
    CURL **slot = make_slots(url, conc, &hs);
    U.ready = calloc((size_t)conc, sizeof *U.ready);
    for (int i = 0; i < conc; i++) {
        curl_easy_setopt(slot[i], CURLOPT_OPENSOCKETFUNCTION, uv_open_socket);
        curl_easy_setopt(slot[i], CURLOPT_CLOSESOCKETFUNCTION, uv_close_socket);
    }
    double t0 = now_s();
    for (int i = 0; i < conc && U.next < U.n; i++) {
        load(slot[i], U.bodies[U.next++], &hs[i], secret);
        curl_multi_add_handle(U.m, slot[i]);
    }
    uv_run(U.loop, UV_RUN_DEFAULT);
    printf("%.6f\n", now_s() - t0);
    for (int i = 0; i < conc; i++) {
        curl_multi_remove_handle(U.m, slot[i]);
        curl_easy_cleanup(slot[i]);
        curl_slist_free_all(hs[i]);
    }
    curl_multi_cleanup(U.m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "sink") == 0)
        return sink(argv[2]);
    if (argc == 6 && strcmp(argv[1], "post") == 0)
        return post(argv[2], argv[3], atoi(argv[4]), argv[5]);
    if (argc == 6 && strcmp(argv[1], "post-uv") == 0)
        return post_uv(argv[2], argv[3], atoi(argv[4]), argv[5]);
    fprintf(stderr, "usage: webhook_tool sink PORTFILE | post URL FILE N SECRET"
                    " | post-uv URL FILE N SECRET\n");
    return 2;
}
