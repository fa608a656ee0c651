/* An example host program: embeds libwpl, adds a module of its own ("host"), and runs
 * the same recipe in two runtimes on two threads at once.
 *
 *   embed_host RECIPE      -> runs RECIPE in two threads; exit 0 when both succeed */
#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "wpl.h"

/* host.greet(name) -> "hello, NAME from HOST-THREAD-N" */
static int host_greet(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "host.thread");
    lua_pushfstring(L, "hello, %s from host thread %d", name, (int)lua_tointeger(L, -1));
    return 1;
}

static int open_host(lua_State *L) {
    static const luaL_Reg funcs[] = {{"greet", host_greet}, {NULL, NULL}};
    luaL_newlib(L, funcs);
    return 1;
}

typedef struct job {
    int thread;
    const char *recipe;
    wpl_status status;
    char error[1024];
    int lines;
} job;

static void count_lines(void *ud, wpl_log_level level, const char *line) {
    job *j = ud;
    (void)level;
    (void)line;
    j->lines++; /* each runtime has its own sink userdata: no locking needed */
}

static void *run_job(void *arg) {
    job *j = arg;
    wpl_options opts;
    wpl_options_init(&opts);
    opts.log_sink = count_lines;
    opts.log_userdata = j;
    wpl_runtime *rt = wpl_runtime_new(&opts);
    if (rt == NULL) {
        j->status = WPL_ERR_MEMORY;
        return NULL;
    }
    lua_State *L = wpl_lua_state(rt);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, open_host);
    lua_setfield(L, -2, "host");
    lua_pop(L, 1);
    lua_pushinteger(L, j->thread);
    lua_setfield(L, LUA_REGISTRYINDEX, "host.thread");

    char name[32];
    snprintf(name, sizeof name, "%d", j->thread);
    const char *args[] = {name};
    j->status = wpl_run_file(rt, j->recipe, 1, args);
    snprintf(j->error, sizeof j->error, "%s", wpl_last_error(rt));
    wpl_runtime_free(rt);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: embed_host RECIPE\n");
        return 2;
    }
    job jobs[2] = {{.thread = 1, .recipe = argv[1]}, {.thread = 2, .recipe = argv[1]}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, run_job, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    int failures = 0;
    for (int i = 0; i < 2; i++) {
        if (jobs[i].status != WPL_OK) {
            fprintf(stderr, "thread %d: %s\n", jobs[i].thread, jobs[i].error);
            failures++;
        } else {
            printf("thread %d: ok (%d log lines)\n", jobs[i].thread, jobs[i].lines);
        }
    }
    return failures ? 1 : 0;
}
