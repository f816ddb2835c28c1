/* hooks.h: what `relm serve` needs from whoever runs relm.on hooks (the Lua
 * host, through core/lua/l_hooks.c): load, match and run. No Lua here. */
#ifndef RELM_HOOKS_H
#define RELM_HOOKS_H

#include <stddef.h>

/* A mail a template run asks serve to send (malloc'd strings, freed by
 * serve). */
typedef struct relm_hooks_mail {
    char *to, *subject, *body;
} relm_hooks_mail;

enum { RELM_HOOKS_MAX_MAILS = 32 };

/* The hook runner serve drives. Every function returns 0 on success, else
 * fills err (size bytes) with a reason that names file:line where it can. */
typedef struct relm_hooks_iface {
    void *ctx;
    /* Forget the hooks loaded and load every *.lua file of dir (NULL or ""
     * for none), in name order; *count receives how many relm.on calls. */
    int (*reload)(void *ctx, const char *dir, int *count, char *err,
                  size_t size);
    /* 1 when a hook file of the directory last loaded was written, added
     * or removed since (serve then loads them again, as on SIGHUP). */
    int (*changed)(void *ctx);
    /* The hooks whose pattern event matches, each ended by '\n', into out
     * (size bytes); returns how many. */
    int (*match)(void *ctx, const char *event, char *out, size_t size);
    /* Run hook ("file.lua:LINE", "template:creation|actions|closure"
     * for the release model's e-mail template, or "escalation:notify" for
     * an escalation rule's mail to a group) with the event, body = the
     * JSON a webhook gets; what it logged (relm.log) goes to logs, one
     * line each; a template's rendered mails go to mails (*nmails of
     * them). Returns 0, -1 (try again later) or -2 (trying again cannot
     * help: an unknown placeholder). */
    int (*run)(void *ctx, const char *hook, const char *body, char *logs,
               size_t logsize, relm_hooks_mail *mails, int *nmails,
               char *err, size_t size);
} relm_hooks_iface;

#endif
