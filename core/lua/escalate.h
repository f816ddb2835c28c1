/* escalate.h: serve's escalation hooks into the Lua state: the rules in
 * lua/relm/escalation.lua, run on the loop for core/loop/sla.c. */
#ifndef RELM_LUA_ESCALATE_H
#define RELM_LUA_ESCALATE_H

#include "loop/serve.h"

/* relm_serve_escalate_fn and relm_serve_pcts_fn over the lua_State ctx. */
int relm_lua_escalate(void *ctx, int64_t id, int64_t cycle, double from,
                      double to, double warn, relm_escalation_fired *out,
                      int max);
int relm_lua_escalation_pcts(void *ctx, double *out, int max, char *errors,
                             size_t size);
/* relm_serve_changed_fn: relm.escalation.changed(). */
int relm_lua_escalation_changed(void *ctx);

#endif
