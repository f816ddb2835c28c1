/* hooks.h: what `relm serve` needs from whoever runs relm.on hooks (the Lua
 * host, through core/lua/l_hooks.c): load, match and run. No Lua here. */
#ifndef RELM_HOOKS_H
#define RELM_HOOKS_H

#include <stddef.h>

/* The hook runner serve drives. Every function returns 0 on success, else
 * fills err (size bytes) with a reason that names file:line where it can. */
typedef struct relm_hooks_iface {
    void *ctx;
    /* Forget the hooks loaded and load every *.lua file of dir (NULL or ""
     * for none), in name order; *count receives how many relm.on calls. */
    int (*reload)(void *ctx, const char *dir, int *count, char *err,
                  size_t size);
    /* The hooks whose pattern event matches, each ended by '\n', into out
     * (size bytes); returns how many. */
    int (*match)(void *ctx, const char *event, char *out, size_t size);
    /* Run hook ("file.lua:LINE") with the event, body = the JSON a webhook
     * gets; what it logged (relm.log) goes to logs, one line each. */
    int (*run)(void *ctx, const char *hook, const char *body, char *logs,
               size_t logsize, char *err, size_t size);
} relm_hooks_iface;

#endif
