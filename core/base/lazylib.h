/* lazylib.h: a shared library opened on first use instead of linked.
 *
 * Linking libcurl (and the thirty libraries it brings: GnuTLS, Kerberos,
 * LDAP, ...) or libical (ICU) costs every relm start several milliseconds
 * for features only `relm serve` or a freeze window touches. A file that
 * uses such a library lists the functions it calls in an X-macro, keeps
 * one pointer per function, and redirects each name to its pointer:
 *
 *     #define CURL_FUNCTIONS(X) X(curl_easy_init) X(curl_easy_cleanup)
 *     RELM_LAZYLIB(curl, "libcurl.so.4", CURL_FUNCTIONS)
 *     #define curl_easy_init RELM_LAZY(curl, curl_easy_init)
 *     ...
 *     if (!relm_lazylib_load(&curl.lib)) error: curl.lib.soname is missing
 *
 * The library's header still declares the functions, so every call is
 * type-checked against the real prototype. */
#ifndef RELM_LAZYLIB_H
#define RELM_LAZYLIB_H

#include <stddef.h>

typedef struct relm_lazylib {
    const char *soname;        /* e.g. "libcurl.so.4" */
    const char *const *names;  /* the functions, n of them */
    void **fns;                /* where their addresses go */
    size_t n;
    int state;                 /* 0 not tried, 1 loaded, -1 failed */
} relm_lazylib;

/* Open the library and resolve every function, once (thread-safe); 1 when
 * all are there, 0 when the library or one of them is missing. */
int relm_lazylib_load(relm_lazylib *l);

/* Declares `static struct { relm_lazylib lib; ... } var`, with one index
 * per function of LIST (an X-macro of function names). */
#define RELM_LAZY_INDEX_(f) RELM_LAZY_##f,
#define RELM_LAZY_NAME_(f) #f,
#define RELM_LAZYLIB(var, soname, LIST)                                      \
    enum { LIST(RELM_LAZY_INDEX_) RELM_LAZY_N_##var };                       \
    static const char *const var##_names[] = {LIST(RELM_LAZY_NAME_)};        \
    static struct {                                                          \
        relm_lazylib lib;                                                    \
        void *fns[RELM_LAZY_N_##var];                                        \
    } var = {{soname, var##_names, var.fns, RELM_LAZY_N_##var, 0}, {0}};

/* The function f of var, with f's own type (only after a successful load). */
#define RELM_LAZY(var, f) (*(__typeof__(f) *)(var).fns[RELM_LAZY_##f])

#endif
