/* wpl.error: the error values that every module returns as `nil, err` for failures of the
 * world: tables {code=, message=, status=, retryable=, ...} sharing one metatable. */
#include "internal.h"

#define ERROR_MT "wpl.error"

static int error_tostring(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "status");
    const char *message = lua_tostring(L, 2);
    const char *code = lua_tostring(L, 3);
    if (message == NULL) message = code ? code : "unknown error";
    if (code == NULL) code = "error";
    if (lua_isinteger(L, 4))
        lua_pushfstring(L, "%s (%s, HTTP %d)", message, code, (int)lua_tointeger(L, 4));
    else
        lua_pushfstring(L, "%s (%s)", message, code);
    return 1;
}

static void push_metatable(lua_State *L) {
    if (luaL_newmetatable(L, ERROR_MT)) {
        lua_pushcfunction(L, error_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "wpl.error");
        lua_setfield(L, -2, "__name");
    }
}

void wpl_error_push(lua_State *L, const char *code, const char *message, int status, bool retryable) {
    lua_createtable(L, 0, 4);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    if (status > 0) {
        lua_pushinteger(L, status);
        lua_setfield(L, -2, "status");
    }
    lua_pushboolean(L, retryable);
    lua_setfield(L, -2, "retryable");
    push_metatable(L);
    lua_setmetatable(L, -2);
}

int wpl_error_return(lua_State *L, const char *code, const char *message, int status, bool retryable) {
    lua_pushnil(L);
    wpl_error_push(L, code, message, status, retryable);
    return 2;
}

/* error.new{code=, message=, status=, retryable=, ...} or error.new(code, message):
 * gives the table the error metatable (fields are kept as given). */
static int error_new(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *code = lua_tostring(L, 1);
        wpl_error_push(L, code, luaL_optstring(L, 2, code), 0, false);
        return 1;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "code");
    if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, 1, "field 'code' must be a string");
    lua_getfield(L, 1, "message");
    if (lua_isnil(L, -1)) {
        lua_pushvalue(L, -2);
        lua_setfield(L, 1, "message");
    }
    lua_getfield(L, 1, "retryable");
    if (lua_isnil(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, 1, "retryable");
    }
    lua_settop(L, 1);
    push_metatable(L);
    lua_setmetatable(L, 1);
    return 1;
}

static int error_is(lua_State *L) {
    bool is = false;
    if (lua_istable(L, 1) && lua_getmetatable(L, 1)) {
        luaL_getmetatable(L, ERROR_MT);
        is = lua_rawequal(L, -1, -2);
    }
    lua_pushboolean(L, is);
    return 1;
}

int luaopen_wpl_error(lua_State *L) {
    static const luaL_Reg funcs[] = {{"new", error_new}, {"is", error_is}, {NULL, NULL}};
    luaL_newlib(L, funcs);
    push_metatable(L);
    lua_setfield(L, -2, "metatable");
    return 1;
}
