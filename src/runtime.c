/* The runtime: one Lua state with the wpl modules, and the protected-call edge where
 * errors are turned into one message with a traceback (as lua.c does). */
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "wpl_version.h"

const char *wpl_version(void) { return WPL_VERSION_STRING; }

void wpl_options_init(wpl_options *opts) {
    memset(opts, 0, sizeof *opts);
    opts->log_level = WPL_LOG_INFO;
    opts->log_format = WPL_LOG_TEXT;
}

/* Every thread of a state starts with a copy of the main thread's extra space, so the
 * runtime pointer stored there is reachable from any coroutine without a registry lookup. */
wpl_runtime *wpl_runtime_of(lua_State *L) { return *(wpl_runtime **)lua_getextraspace(L); }

static char *dup_or_null(const char *s) {
    if (s == NULL) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Error messages go through the same redaction as log lines: a recipe that puts a password
 * into an error must not get it printed. */
static void set_last_error(wpl_runtime *rt, const char *msg) {
    free(rt->last_error);
    rt->last_error = wpl_redact_copy(rt, msg ? msg : "");
}

static const luaL_Reg c_modules[] = {
    {"wpl.error", luaopen_wpl_error},
    {"wpl.log", luaopen_wpl_log},
    {"wpl.json", luaopen_wpl_json},
    {"wpl.http", luaopen_wpl_http},
    {"wpl.time", luaopen_wpl_time},
    {"wpl.fs", luaopen_wpl_fs},
    {"wpl.term", luaopen_wpl_term},
    {"wpl.store", luaopen_wpl_store},
    {"wpl.crypto", luaopen_wpl_crypto},
    {"wpl.media", luaopen_wpl_media},
    {"wpl.markdown", luaopen_wpl_markdown},
    {NULL, NULL},
};

static int panic_handler(lua_State *L) {
    fprintf(stderr, "wpl: unprotected error: %s\n", lua_tostring(L, -1));
    return 0;
}

/* In sandbox mode HTTP may reach the registered sites: their hosts are read here, by trusted
 * code, before any recipe runs (the database is opened read-only, and only if it exists). */
static const char registered_hosts_chunk[] =
    "local store = require 'wpl.store'\n"
    "local path = store.default_path()\n"
    "local f = path and io.open(path, 'rb')\n"
    "if not f then return {} end\n"
    "f:close()\n"
    "local db = store.open(path, {readonly = true})\n"
    "if not db then return {} end\n"
    "local hosts = {}\n"
    "local ok, rows = pcall(require('wpl.db').rows, db, 'SELECT site_url FROM wordpress_sites WHERE user_id = ? AND is_active = 1', store.user_id())\n"
    "for _, r in ipairs(ok and rows or {}) do hosts[#hosts + 1] = r.site_url:match('^%a+://([^/:]+)') end\n"
    "db:close()\n"
    "return hosts\n";

static int open_runtime(lua_State *L) {
    wpl_runtime *rt = lua_touserdata(L, 1);
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const luaL_Reg *m = c_modules; m->name; m++) {
        lua_pushcfunction(L, m->func);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 1);
    wpl_loader_install(L, rt->lua_path);
    if (rt->sandbox) {
        if (luaL_loadbufferx(L, registered_hosts_chunk, sizeof registered_hosts_chunk - 1, "=sandbox", "t") == LUA_OK &&
            lua_pcall(L, 0, 1, 0) == LUA_OK && lua_istable(L, -1)) {
            for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
                wpl_sandbox_allow_host(rt, lua_tostring(L, -1));
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_settop(L, 1);
        wpl_sandbox_apply(L);
    }
    if (rt->time_limit > 0 || rt->max_instructions) wpl_limits_end_run(rt); /* installs the hook */
    return 0;
}

wpl_runtime *wpl_runtime_new(const wpl_options *opts) {
    wpl_options defaults;
    if (opts == NULL) {
        wpl_options_init(&defaults);
        opts = &defaults;
    }
    wpl_runtime *rt = calloc(1, sizeof *rt);
    if (rt == NULL) return NULL;
    const char *lua_path = opts->lua_path ? opts->lua_path : getenv("WPL_LUA_PATH");
    if (lua_path && *lua_path == '\0') lua_path = NULL;
    rt->lua_path = dup_or_null(lua_path);
    rt->db_path = dup_or_null(opts->db_path);
    rt->user_id = dup_or_null(opts->user_id ? opts->user_id : "default");
    rt->ca_bundle = dup_or_null(opts->ca_bundle);
    rt->dry_run = opts->dry_run != 0;
    rt->max_memory = opts->max_memory;
    rt->time_limit = opts->time_limit > 0 ? opts->time_limit : 0;
    rt->max_instructions = opts->max_instructions;
    rt->default_roots = opts->allowed_roots == NULL;
    rt->log_level = opts->log_level;
    rt->log_format = opts->log_format;
    rt->log_sink = opts->log_sink;
    rt->log_userdata = opts->log_userdata;
    rt->last_error = dup_or_null("");
    rt->L = wpl_sandbox_setup(rt, opts) ? lua_newstate(wpl_allocator, rt) : NULL;
    if (rt->L) lua_atpanic(rt->L, panic_handler);
    if (rt->L == NULL || rt->user_id == NULL || rt->last_error == NULL ||
        (lua_path && !rt->lua_path) || (opts->db_path && !rt->db_path) ||
        (opts->ca_bundle && !rt->ca_bundle)) {
        wpl_runtime_free(rt);
        return NULL;
    }
    *(wpl_runtime **)lua_getextraspace(rt->L) = rt;
    lua_pushcfunction(rt->L, open_runtime);
    lua_pushlightuserdata(rt->L, rt);
    if (lua_pcall(rt->L, 1, 0, 0) != LUA_OK) {
        wpl_runtime_free(rt);
        return NULL;
    }
    return rt;
}

void wpl_runtime_free(wpl_runtime *rt) {
    if (rt == NULL) return;
    if (rt->L) lua_close(rt->L); /* runs __gc of modules that hold C resources */
    for (size_t i = 0; i < rt->secret_count; i++) free(rt->secrets[i]);
    free(rt->secrets);
    free(rt->last_error);
    free(rt->lua_path);
    free(rt->db_path);
    free(rt->user_id);
    free(rt->ca_bundle);
    wpl_sandbox_free(rt);
    free(rt);
}

lua_State *wpl_lua_state(wpl_runtime *rt) { return rt ? rt->L : NULL; }

const char *wpl_last_error(const wpl_runtime *rt) {
    return rt && rt->last_error ? rt->last_error : "";
}

int wpl_exit_status(const wpl_runtime *rt) { return rt ? rt->exit_status : 1; }

/* Message handler: turns any error value into a string with a traceback. Error tables
 * with __tostring (wpl errors) print their message; those with `traceback = false` (an
 * expected failure, already explained) print only it, and `exit_code` sets the status. */
static int message_handler(lua_State *L) {
    wpl_runtime *rt = wpl_runtime_of(L);
    rt->exit_status = 1;
    if (lua_istable(L, 1)) {
        if (lua_getfield(L, 1, "exit_code") == LUA_TNUMBER && lua_isinteger(L, -1))
            rt->exit_status = (int)lua_tointeger(L, -1);
        bool brief = lua_getfield(L, 1, "traceback") == LUA_TBOOLEAN && !lua_toboolean(L, -1);
        lua_pop(L, 2);
        if (brief) {
            lua_getfield(L, 1, "message");
            if (lua_type(L, -1) == LUA_TSTRING) return 1;
            lua_pop(L, 1);
        }
    }
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    /* the outermost frame is the C call into the chunk: noise for a recipe author */
    size_t len;
    const char *tb = lua_tolstring(L, -1, &len);
    static const char tail[] = "\n\t[C]: in ?";
    size_t tail_len = sizeof tail - 1;
    if (len >= tail_len && memcmp(tb + len - tail_len, tail, tail_len) == 0)
        lua_pushlstring(L, tb, len - tail_len);
    return 1;
}

static wpl_status finish_call(wpl_runtime *rt, int status) {
    lua_State *L = rt->L;
    wpl_limits_end_run(rt);
    if (status == LUA_ERRMEM && rt->max_memory) {
        lua_pop(L, 1);
        lua_pushfstring(L, "memory limit of %d KiB exceeded", (int)(rt->max_memory / 1024));
    }
    if (status == LUA_OK) {
        set_last_error(rt, "");
        rt->exit_status = 0;
        return WPL_OK;
    }
    if (status != LUA_ERRRUN) rt->exit_status = 1;
    set_last_error(rt, lua_tostring(L, -1));
    lua_pop(L, 1);
    return status == LUA_ERRMEM ? WPL_ERR_MEMORY : WPL_ERR_RUN;
}

static wpl_status call_chunk(wpl_runtime *rt, int nargs) {
    lua_State *L = rt->L;
    wpl_limits_begin_run(rt);
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, 0, base);
    lua_remove(L, base);
    return finish_call(rt, status);
}

static wpl_status load_failed(wpl_runtime *rt, int status) {
    rt->exit_status = 1;
    wpl_status s = status == LUA_ERRMEM ? WPL_ERR_MEMORY : WPL_ERR_LOAD;
    set_last_error(rt, lua_tostring(rt->L, -1));
    lua_pop(rt->L, 1);
    return s;
}

wpl_status wpl_run_string(wpl_runtime *rt, const char *code, const char *chunkname) {
    if (rt == NULL || code == NULL) return WPL_ERR_USAGE;
    int status = luaL_loadbufferx(rt->L, code, strlen(code), chunkname ? chunkname : "=string", "t");
    if (status != LUA_OK) return load_failed(rt, status);
    return call_chunk(rt, 0);
}

/* In protected mode: sets arg, prepends the recipe's folder to package.path, loads the
 * file and leaves the chunk and its arguments on the stack. A load error is returned as
 * false + message so that it is told apart from a run error. */
static int prepare_file_run(lua_State *L) {
    const char *path = lua_touserdata(L, 1);
    int argc = (int)lua_tointeger(L, 2);
    const char *const *argv = lua_touserdata(L, 3);
    lua_createtable(L, argc, 1);
    lua_pushstring(L, path);
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");

    lua_getglobal(L, "package");
    int package = lua_gettop(L);
    const char *slash = strrchr(path, '/');
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (slash) {
        size_t dir_len = (size_t)(slash - path);
        if (dir_len == 0) dir_len = 1; /* "/recipe.lua" */
        for (int k = 0; k < 2; k++) {
            luaL_addlstring(&b, path, dir_len);
            luaL_addstring(&b, k == 0 ? "/?.lua;" : "/?/init.lua;");
        }
    } else {
        luaL_addstring(&b, "./?.lua;./?/init.lua;");
    }
    lua_getfield(L, package, "path");
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    lua_setfield(L, package, "path");
    lua_settop(L, 0);

    if (luaL_loadfilex(L, path, "t") != LUA_OK) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    luaL_checkstack(L, argc + 1, "too many arguments");
    for (int i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
    return argc + 1;
}

wpl_status wpl_run_file(wpl_runtime *rt, const char *path, int argc, const char *const *argv) {
    if (rt == NULL || path == NULL || argc < 0 || (argc > 0 && argv == NULL)) return WPL_ERR_USAGE;
    lua_State *L = rt->L;
    if (rt->sandbox && rt->default_roots) { /* the recipe's folder */
        const char *slash = strrchr(path, '/');
        char dir[4096];
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
        wpl_sandbox_add_root(rt, dir);
        wpl_sandbox_set_package_path(L);
    }
    int base = lua_gettop(L);
    lua_pushcfunction(L, prepare_file_run);
    lua_pushlightuserdata(L, (void *)path);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, (void *)argv);
    int status = lua_pcall(L, 3, LUA_MULTRET, 0);
    if (status != LUA_OK) return load_failed(rt, status);
    if (lua_isboolean(L, base + 1)) { /* false, load error message */
        lua_remove(L, base + 1);
        return load_failed(rt, LUA_ERRFILE);
    }
    return call_chunk(rt, lua_gettop(L) - base - 1);
}
