/* libFuzzer harness for the parsers reached from Lua, one binary per target: WPL_FUZZ_SCRIPT
 * names a Lua file (tests/fuzz/targets/NAME.lua) returning the function each input goes
 * through. The unit test test_fuzz_regressions replays the kept inputs through the same files.
 * Lua errors are what bad input should give; crashes, sanitizer reports and broken invariants
 * (an assert whose message starts with INVARIANT) abort. */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wpl.h"

#ifndef WPL_FUZZ_SCRIPT
#error "define WPL_FUZZ_SCRIPT: the target's Lua file (tests/fuzz/targets/NAME.lua)"
#endif

static wpl_runtime *runtime;
static int function_ref = LUA_NOREF;

static void set_up(void) {
    wpl_options opts;
    wpl_options_init(&opts);
    opts.log_level = WPL_LOG_OFF;
    opts.max_memory = 512u << 20;
    runtime = wpl_runtime_new(&opts);
    if (runtime == NULL) abort();
    lua_State *L = wpl_lua_state(runtime);
    if (luaL_loadfile(L, WPL_FUZZ_SCRIPT) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_isfunction(L, -1)) {
        fprintf(stderr, "fuzz_lua: %s: %s\n", WPL_FUZZ_SCRIPT, lua_tostring(L, -1));
        abort();
    }
    function_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (runtime == NULL) set_up();
    lua_State *L = wpl_lua_state(runtime);
    lua_rawgeti(L, LUA_REGISTRYINDEX, function_ref);
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        if (msg && strstr(msg, "INVARIANT")) {
            fprintf(stderr, "fuzz_lua: %s\n", msg);
            abort();
        }
        lua_pop(L, 1);
    }
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
}
