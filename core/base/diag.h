/* diag.h: the error report every core function fills when it fails.
 * The core knows nothing of Lua; bindings turn a relm_diag into a Lua error. */
#ifndef RELM_DIAG_H
#define RELM_DIAG_H

#include <stddef.h>

/* Core functions return RELM_OK or RELM_ERR; on RELM_ERR the diag holds a
 * stable machine-readable code and a message meant for a person. */
enum { RELM_OK = 0, RELM_ERR = -1 };

typedef struct relm_diag {
    const char *code;   /* static string: "not_found", "invalid_argument", ... */
    char msg[1024];
} relm_diag;

/* Fill d (which may be NULL) and return RELM_ERR, so callers can write
 * `return relm_diag_set(d, "not_found", "no CI named '%s'", name);`. */
int relm_diag_set(relm_diag *d, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reset d to "no error". */
void relm_diag_clear(relm_diag *d);

#endif
