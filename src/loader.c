/* A package searcher for the wpl Lua modules: first an override directory (WPL_LUA_PATH,
 * so edits under lua/ take effect without rebuilding), then the copies compiled in. */
#include <stdio.h>
#include <string.h>

#include "embedded.h"
#include "internal.h"

static int search_wpl_module(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    const char *dir = lua_tostring(L, lua_upvalueindex(1));
    if (dir) {
        lua_pushstring(L, dir);
        lua_pushliteral(L, "/");
        luaL_gsub(L, name, ".", "/");
        lua_pushliteral(L, ".lua");
        lua_concat(L, 4);
        const char *path = lua_tostring(L, -1);
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            if (luaL_loadfilex(L, path, "t") != LUA_OK)
                return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, path,
                                  lua_tostring(L, -1));
            lua_pushvalue(L, -2);
            return 2;
        }
        lua_pop(L, 1);
    }
    for (const wpl_embedded_module *m = wpl_embedded_modules; m->name; m++) {
        if (strcmp(m->name, name) != 0) continue;
        if (luaL_loadbufferx(L, m->source, m->length, m->chunkname, "t") != LUA_OK)
            return luaL_error(L, "error loading embedded module '%s':\n\t%s", name, lua_tostring(L, -1));
        lua_pushstring(L, m->chunkname + 1);
        return 2;
    }
    lua_pushfstring(L, "no embedded module '%s'", name);
    return 1;
}

void wpl_loader_install(lua_State *L, const char *override_dir) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = n; i >= 2; i--) { /* shift: ours goes right after the preload searcher */
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
    }
    if (override_dir)
        lua_pushstring(L, override_dir);
    else
        lua_pushnil(L);
    lua_pushcclosure(L, search_wpl_module, 1);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 2);
}
