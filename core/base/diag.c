/* diag.c: filling relm_diag error reports.
 * Kept tiny so every core module can depend on it without cycles. */
#include "base/diag.h"

#include <stdarg.h>
#include <stdio.h>

int relm_diag_set(relm_diag *d, const char *code, const char *fmt, ...)
{
    if (d == NULL)
        return RELM_ERR;
    d->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return RELM_ERR;
}

void relm_diag_clear(relm_diag *d)
{
    if (d == NULL)
        return;
    d->code = NULL;
    d->msg[0] = '\0';
}
