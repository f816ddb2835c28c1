/* context.c: the one instance of the process context (base/context.h).
 * Nothing else in the tree keeps mutable state at file scope. */
#include "base/context.h"

relm_context relm_process = {
    .sandbox = {.hard_grace_ms = RELM_WATCHDOG_GRACE_MS},
};
