/* The embedding API (wpl.h): runs, errors with tracebacks, arguments, log sinks,
 * module overrides, and runtimes that do not see each other. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wpl.h"

static int passed, failed, current_ok;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "     %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            current_ok = 0;                                                               \
        }                                                                                 \
    } while (0)

#define TEST(name) static void name(void)
#define RUN(name)                                               \
    do {                                                        \
        current_ok = 1;                                         \
        name();                                                 \
        printf("%s %s\n", current_ok ? "ok  " : "FAIL", #name); \
        if (current_ok) passed++;                               \
        else failed++;                                          \
    } while (0)

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

TEST(run_string_returns_ok) {
    wpl_runtime *rt = wpl_runtime_new(NULL);
    CHECK(rt != NULL);
    CHECK(wpl_run_string(rt, "x = 1 + 1", "=test") == WPL_OK);
    CHECK(strcmp(wpl_last_error(rt), "") == 0);
    wpl_runtime_free(rt);
}

TEST(errors_carry_message_and_traceback) {
    wpl_runtime *rt = wpl_runtime_new(NULL);
    CHECK(wpl_run_string(rt, "local function f() error('boom') end\nf()", "@host.lua") == WPL_ERR_RUN);
    const char *e = wpl_last_error(rt);
    CHECK(strstr(e, "host.lua:1: boom") != NULL);
    CHECK(strstr(e, "stack traceback:") != NULL);
    CHECK(strstr(e, "in local 'f'") != NULL || strstr(e, "in function 'f'") != NULL || strstr(e, "in upvalue 'f'") != NULL);
    CHECK(wpl_run_string(rt, "this is not lua", "=bad") == WPL_ERR_LOAD);
    CHECK(strstr(wpl_last_error(rt), "bad:1:") != NULL);
    /* wpl error tables print through their __tostring */
    CHECK(wpl_run_string(rt, "error(require('wpl.error').new{code='x_y', message='it broke', status=404})", "=t") == WPL_ERR_RUN);
    CHECK(strstr(wpl_last_error(rt), "it broke (x_y, HTTP 404)") != NULL);
    CHECK(wpl_run_string(rt, "y = 1", "=t") == WPL_OK);
    CHECK(strcmp(wpl_last_error(rt), "") == 0);
    CHECK(wpl_run_string(NULL, "y = 1", "=t") == WPL_ERR_USAGE);
    wpl_runtime_free(rt);
}

TEST(run_file_passes_arguments_and_finds_neighbour_modules) {
    char dir[] = "/tmp/wpl-embed-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char recipe[256], helper[256];
    snprintf(recipe, sizeof recipe, "%s/recipe.lua", dir);
    snprintf(helper, sizeof helper, "%s/helper.lua", dir);
    write_file(helper, "return { twice = function(x) return x .. x end }\n");
    write_file(recipe,
               "local a, b = ...\n"
               "assert(a == 'one' and b == 'two', 'varargs')\n"
               "assert(arg[0]:match('recipe.lua$') and arg[1] == 'one' and #arg == 2, 'arg table')\n"
               "assert(require('helper').twice(b) == 'twotwo')\n");
    wpl_runtime *rt = wpl_runtime_new(NULL);
    const char *args[] = {"one", "two"};
    CHECK(wpl_run_file(rt, recipe, 2, args) == WPL_OK);
    if (*wpl_last_error(rt)) fprintf(stderr, "     %s\n", wpl_last_error(rt));
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.lua", dir);
    CHECK(wpl_run_file(rt, missing, 0, NULL) == WPL_ERR_LOAD);
    CHECK(strstr(wpl_last_error(rt), "cannot open") != NULL);
    wpl_runtime_free(rt);
    unlink(recipe);
    unlink(helper);
    rmdir(dir);
}

typedef struct captured {
    char lines[16][512];
    int count;
} captured;

static void capture(void *ud, wpl_log_level level, const char *line) {
    captured *c = ud;
    (void)level;
    if (c->count < 16) snprintf(c->lines[c->count++], sizeof c->lines[0], "%s", line);
}

TEST(log_sink_receives_redacted_lines) {
    captured cap = {.count = 0};
    wpl_options o;
    wpl_options_init(&o);
    o.log_sink = capture;
    o.log_userdata = &cap;
    o.log_level = WPL_LOG_INFO;
    o.log_format = WPL_LOG_JSON;
    wpl_runtime *rt = wpl_runtime_new(&o);
    CHECK(wpl_run_string(rt,
                         "local log = require 'wpl.log'\n"
                         "log.secret('s3cr3t-value')\n"
                         "log.debug('hidden')\n"
                         "log.info('hello', {n = 1, app_password = 'pw', note = 'has s3cr3t-value inside'})\n"
                         "log.error('Authorization: Basic Zm9vOmJhcg==')\n",
                         "=t") == WPL_OK);
    CHECK(cap.count == 2);
    CHECK(strstr(cap.lines[0], "\"msg\":\"hello\"") != NULL);
    CHECK(strstr(cap.lines[0], "\"level\":\"info\"") != NULL);
    CHECK(strstr(cap.lines[0], "\"n\":1") != NULL);
    CHECK(strstr(cap.lines[0], "\"app_password\":\"[REDACTED]\"") != NULL);
    CHECK(strstr(cap.lines[0], "s3cr3t") == NULL);
    CHECK(strstr(cap.lines[1], "Zm9v") == NULL);
    wpl_runtime_free(rt);
}

TEST(lua_path_overrides_embedded_modules) {
    char dir[] = "/tmp/wpl-lua-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[256], mod[300];
    snprintf(sub, sizeof sub, "%s/wpl", dir);
    mkdir(sub, 0700);
    snprintf(mod, sizeof mod, "%s/url.lua", sub);
    write_file(mod, "return { overridden = true }\n");

    wpl_runtime *embedded = wpl_runtime_new(NULL);
    CHECK(wpl_run_string(embedded, "assert(require('wpl.url').parse, 'embedded module')", "=t") == WPL_OK);
    wpl_options o;
    wpl_options_init(&o);
    o.lua_path = dir;
    wpl_runtime *override = wpl_runtime_new(&o);
    CHECK(wpl_run_string(override, "assert(require('wpl.url').overridden, 'override')", "=t") == WPL_OK);
    wpl_runtime_free(embedded);
    wpl_runtime_free(override);
    unlink(mod);
    rmdir(sub);
    rmdir(dir);
}

static int host_add(lua_State *L) {
    lua_pushinteger(L, luaL_checkinteger(L, 1) + luaL_checkinteger(L, 2));
    return 1;
}

TEST(runtimes_are_isolated_and_extensible) {
    wpl_runtime *a = wpl_runtime_new(NULL), *b = wpl_runtime_new(NULL);
    CHECK(wpl_run_string(a, "shared = 'a'; require('wpl.log').level('error')", "=t") == WPL_OK);
    CHECK(wpl_run_string(b, "assert(shared == nil); assert(require('wpl.log').level() == 'info')", "=t") == WPL_OK);
    lua_State *L = wpl_lua_state(a);
    lua_register(L, "host_add", host_add);
    CHECK(wpl_run_string(a, "assert(host_add(2, 3) == 5)", "=t") == WPL_OK);
    CHECK(wpl_run_string(b, "assert(host_add == nil)", "=t") == WPL_OK);
    CHECK(wpl_lua_state(NULL) == NULL);
    wpl_runtime_free(a);
    wpl_runtime_free(b);
    wpl_runtime_free(NULL);
}

TEST(limits_stop_the_recipe_and_the_host_survives) {
    wpl_options o;
    wpl_options_init(&o);
    o.max_memory = 8 * 1024 * 1024;
    wpl_runtime *rt = wpl_runtime_new(&o);
    CHECK(rt != NULL);
    CHECK(wpl_run_string(rt, "local t = {} for i = 1, 1e8 do t[i] = {i} end", "=hog") == WPL_ERR_MEMORY);
    CHECK(strstr(wpl_last_error(rt), "memory limit of 8192 KiB exceeded") != NULL);
    CHECK(wpl_run_string(rt, "x = 40 + 2", "=after") == WPL_OK); /* the host goes on */
    wpl_runtime_free(rt);

    wpl_options_init(&o); /* time separately: under valgrind the memory hog is slow */
    o.time_limit = 0.3;
    rt = wpl_runtime_new(&o);
    CHECK(wpl_run_string(rt, "while true do pcall(function() while true do end end) end", "=spin") == WPL_ERR_RUN);
    CHECK(strstr(wpl_last_error(rt), "time limit of 0.3 s exceeded") != NULL);
    CHECK(wpl_run_string(rt, "x = 40 + 2", "=after") == WPL_OK); /* the next run starts afresh */
    wpl_runtime_free(rt);
}

TEST(sandbox_for_embedders) {
    char dir[] = "/tmp/wpl-sandbox-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *roots[] = {dir, NULL};
    wpl_options o;
    wpl_options_init(&o);
    o.sandbox = 1;
    o.allowed_roots = roots;
    wpl_runtime *rt = wpl_runtime_new(&o);
    CHECK(wpl_run_string(rt, "os.execute('true')", "=t") == WPL_ERR_RUN);
    CHECK(strstr(wpl_last_error(rt), "not available in sandbox mode") != NULL);
    CHECK(wpl_run_string(rt, "assert(io.open('/etc/passwd'))", "=t") == WPL_ERR_RUN);
    char code[512];
    snprintf(code, sizeof code, "local f = assert(io.open('%s/ok.txt', 'w')) f:write('x') f:close()", dir);
    CHECK(wpl_run_string(rt, code, "=t") == WPL_OK);
    wpl_runtime_free(rt);
    snprintf(code, sizeof code, "%s/ok.txt", dir);
    unlink(code);
    rmdir(dir);
}

int main(void) {
    RUN(run_string_returns_ok);
    RUN(errors_carry_message_and_traceback);
    RUN(run_file_passes_arguments_and_finds_neighbour_modules);
    RUN(log_sink_receives_redacted_lines);
    RUN(lua_path_overrides_embedded_modules);
    RUN(runtimes_are_isolated_and_extensible);
    RUN(limits_stop_the_recipe_and_the_host_survives);
    RUN(sandbox_for_embedders);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
