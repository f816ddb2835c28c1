/* serve_engine.h: what `relm serve` (core/loop, no Lua) asks of the
 * engine's Lua state: compile a workflow, re-read every definition. */
#ifndef RELM_SERVE_ENGINE_H
#define RELM_SERVE_ENGINE_H

#include <lua.h>

#include "loop/serve.h"

/* Fill o->define and o->reload (and their contexts) with the engine of the
 * process whose user state is L. */
void relm_serve_engine_opts(lua_State *L, relm_serve_opts *o);

#endif
