/* l_hooks.h: the relm.on hook runner `relm serve` drives (loop/hooks.h),
 * backed by lua/relm/hooks.lua in the process's Lua state. */
#ifndef RELM_L_HOOKS_H
#define RELM_L_HOOKS_H

#include <lua.h>

#include "loop/hooks.h"

/* Fill h so that serve's hook calls run in L (which must outlive serve). */
void relm_lua_hooks_bind(lua_State *L, relm_hooks_iface *h);

#endif
