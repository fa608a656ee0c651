/* Limits (memory, time, instructions) and the sandbox for recipes one does not trust.
 *
 * Memory is counted by the runtime's allocator. Time and instructions are checked by a
 * count hook; once a limit is hit the hook fires on every instruction, so a pcall in the
 * recipe cannot swallow the error. The sandbox removes what reaches outside (processes,
 * native code, the debug library, binary chunks), keeps files under allowed roots and HTTP
 * to allowed hosts. */
#define _GNU_SOURCE
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define HOOK_EVERY 10000 /* instructions between two checks */

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- memory */

void *wpl_allocator(void *ud, void *ptr, size_t osize, size_t nsize) {
    wpl_runtime *rt = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        rt->memory_used -= old;
        return NULL;
    }
    if (rt->max_memory && nsize > old && rt->memory_used - old + nsize > rt->max_memory) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) rt->memory_used = rt->memory_used - old + nsize;
    return p;
}

/* ---------------------------------------------------------------- time and instructions */

static void hit_limit(wpl_runtime *rt, lua_State *L, const char *fmt, double value) {
    rt->limit_hit = true;
    snprintf(rt->limit_message, sizeof rt->limit_message, fmt, value);
    /* from now on every instruction fails, until the run unwinds to the host */
    lua_sethook(L, lua_gethook(L), LUA_MASKCOUNT, 1);
}

static void limit_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    wpl_runtime *rt = wpl_runtime_of(L);
    if (!rt->limit_hit) {
        rt->instructions += HOOK_EVERY;
        if (rt->max_instructions && rt->instructions > rt->max_instructions)
            hit_limit(rt, L, "instruction limit of %.0f exceeded", (double)rt->max_instructions);
        else if (rt->deadline > 0 && monotonic_now() > rt->deadline)
            hit_limit(rt, L, "time limit of %g s exceeded", rt->time_limit);
        else
            return;
    }
    lua_sethook(L, limit_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "%s", rt->limit_message);
}

void wpl_check_deadline(lua_State *L) {
    wpl_runtime *rt = wpl_runtime_of(L);
    if (!rt->limit_hit && rt->deadline > 0 && monotonic_now() > rt->deadline)
        hit_limit(rt, L, "time limit of %g s exceeded", rt->time_limit);
    if (rt->limit_hit) luaL_error(L, "%s", rt->limit_message);
}

void wpl_limits_begin_run(wpl_runtime *rt) {
    rt->limit_hit = false;
    rt->instructions = 0;
    rt->deadline = rt->time_limit > 0 ? monotonic_now() + rt->time_limit : 0;
    if (rt->time_limit > 0 || rt->max_instructions) lua_sethook(rt->L, limit_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

void wpl_limits_end_run(wpl_runtime *rt) {
    rt->deadline = 0;
    if (rt->time_limit > 0 || rt->max_instructions) lua_sethook(rt->L, limit_hook, LUA_MASKCOUNT, HOOK_EVERY);
}

/* ---------------------------------------------------------------- roots and hosts */

static bool append_string(char ***list, size_t *count, const char *s) {
    for (size_t i = 0; i < *count; i++)
        if (strcmp((*list)[i], s) == 0) return true;
    char **grown = realloc(*list, (*count + 1) * sizeof **list);
    if (grown == NULL) return false;
    *list = grown;
    char *copy = strdup(s);
    if (copy == NULL) return false;
    grown[(*count)++] = copy;
    return true;
}

void wpl_sandbox_add_root(wpl_runtime *rt, const char *path) {
    char real[PATH_MAX];
    if (realpath(path, real) != NULL) append_string(&rt->roots, &rt->root_count, real);
}

void wpl_sandbox_allow_host(wpl_runtime *rt, const char *host) {
    char lower[256];
    size_t n = 0;
    for (; host[n] && n < sizeof lower - 1; n++) lower[n] = (char)tolower((unsigned char)host[n]);
    lower[n] = '\0';
    if (n) append_string(&rt->hosts, &rt->host_count, lower);
}

bool wpl_sandbox_setup(wpl_runtime *rt, const wpl_options *opts) {
    rt->sandbox = opts->sandbox != 0;
    if (!rt->sandbox) return true;
    for (const char *const *r = opts->allowed_roots; r && *r; r++) wpl_sandbox_add_root(rt, *r);
    for (const char *const *h = opts->allowed_hosts; h && *h; h++) wpl_sandbox_allow_host(rt, *h);
    return true;
}

void wpl_sandbox_free(wpl_runtime *rt) {
    for (size_t i = 0; i < rt->root_count; i++) free(rt->roots[i]);
    for (size_t i = 0; i < rt->host_count; i++) free(rt->hosts[i]);
    free(rt->roots);
    free(rt->hosts);
    rt->roots = rt->hosts = NULL;
    rt->root_count = rt->host_count = 0;
}

static bool under_root(const wpl_runtime *rt, const char *real) {
    for (size_t i = 0; i < rt->root_count; i++) {
        size_t n = strlen(rt->roots[i]);
        if (strncmp(real, rt->roots[i], n) == 0 && (real[n] == '/' || real[n] == '\0' || n == 1)) return true;
    }
    return false;
}

/* The real path of path, or of its folder plus its last name when it does not exist yet. */
static bool resolve(const char *path, char out[PATH_MAX]) {
    if (realpath(path, out) != NULL) return true;
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    const char *name = slash ? slash + 1 : path;
    if (slash == path) snprintf(dir, sizeof dir, "/");
    else if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else snprintf(dir, sizeof dir, ".");
    if (*name == '\0' || strcmp(name, "..") == 0 || strcmp(name, ".") == 0) return false;
    char real_dir[PATH_MAX];
    if (realpath(dir, real_dir) == NULL) return false;
    return snprintf(out, PATH_MAX, "%s/%s", strcmp(real_dir, "/") == 0 ? "" : real_dir, name) < PATH_MAX;
}

void wpl_sandbox_check_path(lua_State *L, const char *path, bool write) {
    wpl_runtime *rt = wpl_runtime_of(L);
    if (!rt->sandbox) return;
    char real[PATH_MAX];
    if (!resolve(path, real) || !under_root(rt, real))
        luaL_error(L, "sandbox: %s '%s' is outside the allowed folders", write ? "writing" : "reading", path);
}

void wpl_sandbox_check_url(lua_State *L, const char *url) {
    wpl_runtime *rt = wpl_runtime_of(L);
    if (!rt->sandbox) return;
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t len = strcspn(p, "/?#");
    const char *at = memchr(p, '@', len);
    if (at) {
        len -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    size_t host_len = len;
    if (*p == '[') {
        const char *close = memchr(p, ']', len);
        host_len = close ? (size_t)(close - p) + 1 : len;
    } else {
        const char *colon = memchr(p, ':', len);
        if (colon) host_len = (size_t)(colon - p);
    }
    for (size_t i = 0; i < rt->host_count; i++)
        if (strlen(rt->hosts[i]) == host_len && strncasecmp(rt->hosts[i], p, host_len) == 0) return;
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(host_len < sizeof host ? host_len : sizeof host - 1), p);
    luaL_error(L, "sandbox: HTTP to '%s' is not allowed (only registered sites%s)", host,
               rt->host_count ? " and the allowed hosts" : "");
}

/* ---------------------------------------------------------------- replaced functions */

static int refused(lua_State *L) {
    return luaL_error(L, "%s is not available in sandbox mode", lua_tostring(L, lua_upvalueindex(1)));
}

/* io.open / io.lines / io.input / io.output / loadfile / dofile with the path checked first;
 * upvalue 1: the original function, upvalue 2: true when the call may write. */
static int checked_file_call(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING) {
        bool write = lua_toboolean(L, lua_upvalueindex(2));
        const char *mode = lua_tostring(L, 2);
        if (mode && strpbrk(mode, "wa+")) write = true;
        wpl_sandbox_check_path(L, lua_tostring(L, 1), write);
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* load and loadfile never take binary chunks: the mode argument is forced to "t". */
static int text_only_load(lua_State *L) {
    bool is_loadfile = lua_toboolean(L, lua_upvalueindex(2));
    if (is_loadfile && lua_type(L, 1) == LUA_TSTRING) wpl_sandbox_check_path(L, lua_tostring(L, 1), false);
    int mode_index = is_loadfile ? 2 : 3;
    lua_settop(L, is_loadfile ? 3 : 4);
    lua_pushliteral(L, "t");
    lua_replace(L, mode_index);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, is_loadfile ? 3 : 4, LUA_MULTRET);
    return lua_gettop(L);
}

static int checked_rename(lua_State *L) {
    wpl_sandbox_check_path(L, luaL_checkstring(L, 1), true);
    wpl_sandbox_check_path(L, luaL_checkstring(L, 2), true);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static void refuse(lua_State *L, int table, const char *field, const char *shown) {
    lua_pushstring(L, shown);
    lua_pushcclosure(L, refused, 1);
    lua_setfield(L, table, field);
}

static void wrap(lua_State *L, int table, const char *field, lua_CFunction fn, bool write) {
    lua_getfield(L, table, field);
    lua_pushboolean(L, write);
    lua_pushcclosure(L, fn, 2);
    lua_setfield(L, table, field);
}

void wpl_sandbox_apply(lua_State *L) {
    lua_getglobal(L, "os");
    int os = lua_gettop(L);
    refuse(L, os, "execute", "os.execute");
    refuse(L, os, "exit", "os.exit");
    refuse(L, os, "tmpname", "os.tmpname");
    wrap(L, os, "remove", checked_file_call, true);
    lua_getfield(L, os, "rename");
    lua_pushcclosure(L, checked_rename, 1);
    lua_setfield(L, os, "rename");

    lua_getglobal(L, "io");
    int io = lua_gettop(L);
    refuse(L, io, "popen", "io.popen");
    wrap(L, io, "open", checked_file_call, false);
    wrap(L, io, "lines", checked_file_call, false);
    wrap(L, io, "input", checked_file_call, false);
    wrap(L, io, "output", checked_file_call, true);

    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    wrap(L, g, "load", text_only_load, false);
    wrap(L, g, "loadfile", text_only_load, true); /* upvalue 2 marks loadfile here */
    wrap(L, g, "dofile", checked_file_call, false);
    lua_pushnil(L);
    lua_setfield(L, g, "debug");

    lua_getglobal(L, "package");
    int pkg = lua_gettop(L);
    refuse(L, pkg, "loadlib", "package.loadlib");
    lua_pushliteral(L, "");
    lua_setfield(L, pkg, "cpath");
    lua_getfield(L, pkg, "loaded");
    lua_pushnil(L);
    lua_setfield(L, -2, "debug");
    lua_pop(L, 1);
    /* keep the preload, wpl and Lua-file searchers; drop the two that load native code */
    lua_getfield(L, pkg, "searchers");
    lua_pushnil(L);
    lua_rawseti(L, -2, 5);
    lua_pushnil(L);
    lua_rawseti(L, -2, 4);
    lua_pop(L, 1);
    lua_settop(L, os - 1);
    wpl_sandbox_set_package_path(L);
}

/* Lua modules only from the allowed folders. */
void wpl_sandbox_set_package_path(lua_State *L) {
    wpl_runtime *rt = wpl_runtime_of(L);
    lua_getglobal(L, "package");
    int pkg = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < rt->root_count; i++) {
        luaL_addstring(&b, rt->roots[i]);
        luaL_addstring(&b, "/?.lua;");
        luaL_addstring(&b, rt->roots[i]);
        luaL_addstring(&b, "/?/init.lua;");
    }
    luaL_pushresult(&b);
    lua_setfield(L, pkg, "path");
    lua_pop(L, 1);
}
