/* webhook_tool.c: the outbox_webhook benchmark's helpers: `sink`, a
 * loopback HTTP receiver on libuv that answers 200 to every POST (keep-
 * alive), and `post`, the baseline: a bare libcurl multi loop posting the
 * same requests relm sends (body, event headers, HMAC-SHA256 signature
 * computed per request) with the same concurrency, no database; each
 * concurrent slot keeps its easy handle, as relm keeps its handles.
 *   webhook_tool sink PORTFILE
 *   webhook_tool post URL BODIES_FILE CONCURRENCY SECRET  -> prints seconds */
#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
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

static int post(const char *url, const char *path, int conc, const char *secret)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 1;
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
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    CURL **slot = calloc((size_t)conc, sizeof *slot);
    struct curl_slist **hs = calloc((size_t)conc, sizeof *hs);
    for (int i = 0; i < conc; i++) {
        slot[i] = curl_easy_init();
        curl_easy_setopt(slot[i], CURLOPT_URL, url);
        curl_easy_setopt(slot[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(slot[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(slot[i], CURLOPT_PRIVATE, (char *)&hs[i]);
    }
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

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "sink") == 0)
        return sink(argv[2]);
    if (argc == 6 && strcmp(argv[1], "post") == 0)
        return post(argv[2], argv[3], atoi(argv[4]), argv[5]);
    fprintf(stderr, "usage: webhook_tool sink PORTFILE | post URL FILE N SECRET\n");
    return 2;
}
