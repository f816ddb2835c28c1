/* l_media.c: relm.core.media, the writes of the definitive media library
 * (lua/relm/media.lua adds the reads and is what relm.media loads). */
#include <lauxlib.h>
#include <string.h>

#include "base/i18n.h"
#include "lua/args.h"
#include "lua/host.h"
#include "media.h"
#include "lua/modules.h"

/* Optional integer field; *has says whether it was given. */
static lua_Integer opt_int(lua_State *L, int idx, const char *key,
                           const char *fn, int *has)
{
    int t = lua_getfield(L, idx, key);
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    *has = t != LUA_TNIL;
    if (*has && !isint)
        relm_lua_error(L, "invalid_argument", _("%s: %s must be an integer, "
                       "got %s"), fn, key, luaL_typename(L, -1));
    if (*has && v < 0)
        relm_lua_error(L, "invalid_argument", _("%s: %s must be >= 0, got %lld"),
                       fn, key, (long long)v);
    lua_pop(L, 1);
    return v;
}

/* Push licence_keys (an array of strings) as a JSON array, or nothing and
 * return 0 when absent. */
static int push_keys_json(lua_State *L, int idx, const char *fn)
{
    int t = lua_getfield(L, idx, "licence_keys");
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (t != LUA_TTABLE)
        relm_lua_error(L, "invalid_argument", _("%s: licence_keys must be an "
                       "array of strings, got %s"), fn, luaL_typename(L, -1));
    int ti = lua_gettop(L);
    relm_lua_push_json_strings(L, ti, fn, "licence_keys", "a string",
                               "licence key");
    lua_remove(L, ti);
    return 1;
}

static const char *const media_keys[] = {
    "name", "version", "sha256", "file", "logical_location",
    "physical_location", "licence_keys", "licence_count", "notes", NULL};

/* Read the fields of table idx into f. Pushes the licence_keys JSON (if
 * any) so it stays alive: the caller pops lua_gettop() back. */
static void read_fields(lua_State *L, int idx, relm_media_fields *f,
                        const char *fn)
{
    memset(f, 0, sizeof *f);
    f->sha256 = relm_lua_opt_string(L, idx, "sha256", fn);
    f->file = relm_lua_opt_string(L, idx, "file", fn);
    f->logical_location = relm_lua_opt_string(L, idx, "logical_location", fn);
    f->physical_location = relm_lua_opt_string(L, idx, "physical_location", fn);
    f->notes = relm_lua_opt_string(L, idx, "notes", fn);
    f->licence_count = opt_int(L, idx, "licence_count", fn, &f->has_count);
    if (push_keys_json(L, idx, fn))
        f->licence_keys = lua_tostring(L, -1);
}

/* add{name=, version=, sha256=|file=, ...} -> id. Stack: t -> id. */
static int l_media_add(lua_State *L)
{
    const char *fn = "relm.media.add";
    if (!lua_istable(L, 1))
        return relm_lua_error(L, "invalid_argument", _("%s: argument #1 must be "
                              "a table {name=, version=, ...}, got %s"), fn,
                              luaL_typename(L, 1));
    relm_lua_check_keys(L, 1, media_keys, "invalid_argument", fn, "field");
    const char *name = relm_lua_opt_string(L, 1, "name", fn);
    const char *version = relm_lua_opt_string(L, 1, "version", fn);
    if (name == NULL || name[0] == '\0')
        return relm_lua_error(L, "invalid_argument", _("%s: name is required"), fn);
    relm_media_fields f;
    read_fields(L, 1, &f, fn);
    relm_diag d;
    int64_t id;
    if (relm_media_add(relm_host_store(L), name, version, &f, &id, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    return 1;
}

/* update(name, version_or_nil, fields). Stack: name version t -> nothing. */
static int l_media_update(lua_State *L)
{
    const char *fn = "relm.media.update";
    const char *name = relm_lua_checktext(L, 1, "name");
    const char *version = relm_lua_opttext(L, 2, "version");
    if (!lua_istable(L, 3))
        return relm_lua_error(L, "invalid_argument", _("%s: argument #3 (fields) "
                              "must be a table, got %s"), fn, luaL_typename(L, 3));
    static const char *const keys[] = {"sha256", "file", "logical_location",
                                       "physical_location", "licence_keys",
                                       "licence_count", "notes", NULL};
    relm_lua_check_keys(L, 3, keys, "invalid_argument", fn, "field");
    relm_media_fields f;
    read_fields(L, 3, &f, fn);
    relm_diag d;
    if (relm_media_update(relm_host_store(L), name, version, &f, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* verify(name, version_or_nil, path_or_sha256) -> sha256 (raises
 * checksum_mismatch). Stack: 3 args -> hex. */
static int l_media_verify(lua_State *L)
{
    const char *name = relm_lua_checktext(L, 1, "name");
    const char *version = relm_lua_opttext(L, 2, "version");
    if (lua_type(L, 3) != LUA_TSTRING)
        return relm_lua_error(L, "invalid_argument", _("relm.media.verify: "
                              "argument #3 must be a file path or a sha256, "
                              "got %s"), luaL_typename(L, 3));
    char actual[65];
    relm_diag d;
    if (relm_media_verify(relm_host_store(L), name, version,
                          lua_tostring(L, 3), actual, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushstring(L, actual);
    return 1;
}

/* checksum(path) -> sha256 hex of the file. */
static int l_media_checksum(lua_State *L)
{
    const char *path = relm_lua_checktext(L, 1, "path");
    char hex[65];
    relm_diag d;
    if (relm_media_sha256_file(path, hex, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushstring(L, hex);
    return 1;
}

/* link(ci, name_or_nil, version_or_nil): point ci at the medium (nil
 * name clears it). */
static int l_media_link(lua_State *L)
{
    const char *ci = relm_lua_checktext(L, 1, "CI");
    const char *name = relm_lua_opttext(L, 2, "name");
    const char *version = relm_lua_opttext(L, 3, "version");
    relm_diag d;
    if (relm_media_link(relm_host_store(L), ci, name, version, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    return 0;
}

/* spare_add{name=, model=, serial=, location=, quantity=, status=} -> id. */
static int l_media_spare_add(lua_State *L)
{
    const char *fn = "relm.media.spare_add";
    if (!lua_istable(L, 1))
        return relm_lua_error(L, "invalid_argument", _("%s: argument #1 must be "
                              "a table {name=, ...}, got %s"), fn,
                              luaL_typename(L, 1));
    static const char *const keys[] = {"name", "model", "serial", "location",
                                       "quantity", "status", NULL};
    relm_lua_check_keys(L, 1, keys, "invalid_argument", fn, "field");
    const char *name = relm_lua_opt_string(L, 1, "name", fn);
    if (name == NULL || name[0] == '\0')
        return relm_lua_error(L, "invalid_argument", _("%s: name is required"), fn);
    relm_spare_fields f;
    f.model = relm_lua_opt_string(L, 1, "model", fn);
    f.serial = relm_lua_opt_string(L, 1, "serial", fn);
    f.location = relm_lua_opt_string(L, 1, "location", fn);
    f.status = relm_lua_opt_string(L, 1, "status", fn);
    f.quantity = opt_int(L, 1, "quantity", fn, &f.has_quantity);
    relm_diag d;
    int64_t id;
    if (relm_media_spare_add(relm_host_store(L), name, &f, &id, &d) != RELM_OK)
        return relm_lua_diag_error(L, &d);
    lua_pushinteger(L, id);
    return 1;
}

int luaopen_relm_media(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"add", l_media_add},
        {"update", l_media_update},
        {"verify", l_media_verify},
        {"checksum", l_media_checksum},
        {"link", l_media_link},
        {"spare_add", l_media_spare_add},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
    return 1;
}
