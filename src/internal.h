/* Shared between the runtime's C files; not installed. */
#ifndef WPL_INTERNAL_H
#define WPL_INTERNAL_H

#include <lua.h>
#include <lauxlib.h>
#include <stdbool.h>
#include "wpl.h"

struct wpl_runtime {
    lua_State *L;
    char *last_error;
    char *lua_path;  /* module override directory, or NULL */
    char *db_path;
    char *user_id;
    char *ca_bundle;
    bool dry_run;    /* see wpl_options.dry_run; enforced in http.c */
    int exit_status; /* of the last run, see wpl_exit_status */
    wpl_log_level log_level;
    wpl_log_format log_format;
    wpl_log_sink log_sink;
    void *log_userdata;
    char **secrets;  /* strings redacted from every log line */
    size_t secret_count, secret_cap;

    /* limits (sandbox.c) */
    size_t memory_used, max_memory;
    double time_limit, deadline;          /* deadline: monotonic seconds, 0 = none */
    unsigned long long max_instructions, instructions;
    bool limit_hit;                       /* set once a limit is exceeded in this run */
    char limit_message[128];

    /* sandbox (sandbox.c) */
    bool sandbox;
    bool default_roots;                   /* no roots given: each run file's folder */
    char **roots;                         /* real paths */
    size_t root_count;
    char **hosts;                         /* lower case */
    size_t host_count;
};

/* Limits and sandbox (sandbox.c). */
void *wpl_allocator(void *ud, void *ptr, size_t osize, size_t nsize);
void wpl_limits_begin_run(wpl_runtime *rt);
void wpl_limits_end_run(wpl_runtime *rt);
/* Raises the limit error when the run's time is up (for C code that waits). */
void wpl_check_deadline(lua_State *L);
bool wpl_sandbox_setup(wpl_runtime *rt, const wpl_options *opts);
void wpl_sandbox_apply(lua_State *L);
void wpl_sandbox_set_package_path(lua_State *L);
void wpl_sandbox_add_root(wpl_runtime *rt, const char *path);
void wpl_sandbox_allow_host(wpl_runtime *rt, const char *host);
/* In sandbox mode: raises unless path (to read, or to write/create) lies under a root. */
void wpl_sandbox_check_path(lua_State *L, const char *path, bool write);
/* In sandbox mode: raises unless the URL's host is allowed. */
void wpl_sandbox_check_url(lua_State *L, const char *url);
void wpl_sandbox_free(wpl_runtime *rt);

/* The runtime that owns L (any thread/coroutine of it). */
wpl_runtime *wpl_runtime_of(lua_State *L);

/* Logging (log.c). Lines below the runtime's level are dropped before formatting.
 * fields_index: a table of extra key/values on the Lua stack, or 0. */
bool wpl_log_enabled(const wpl_runtime *rt, wpl_log_level level);
void wpl_log_emit(wpl_runtime *rt, wpl_log_level level, const char *msg, lua_State *L, int fields_index);
void wpl_logf(wpl_runtime *rt, wpl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A malloc'd copy of text with every secret redacted (for error messages), or NULL. */
char *wpl_redact_copy(wpl_runtime *rt, const char *text);
/* Registers a secret: it is replaced by [REDACTED] in every later log line. */
void wpl_log_add_secret(wpl_runtime *rt, const char *secret, size_t len);

/* Errors (error.c): pushes a wpl error table {code=, message=, status=, retryable=}
 * with the shared metatable. status <= 0 leaves it nil. */
void wpl_error_push(lua_State *L, const char *code, const char *message, int status, bool retryable);
/* Pushes nil and an error; returns 2 for `return wpl_error_return(...)` in lua_CFunctions. */
int wpl_error_return(lua_State *L, const char *code, const char *message, int status, bool retryable);


/* Module loader (loader.c): installs the searcher for embedded and override modules. */
void wpl_loader_install(lua_State *L, const char *override_dir);

int luaopen_wpl_error(lua_State *L);
int luaopen_wpl_log(lua_State *L);
int luaopen_wpl_json(lua_State *L);
int luaopen_wpl_http(lua_State *L);
int luaopen_wpl_time(lua_State *L);
int luaopen_wpl_fs(lua_State *L);
int luaopen_wpl_term(lua_State *L);
int luaopen_wpl_store(lua_State *L);
int luaopen_wpl_crypto(lua_State *L);
int luaopen_wpl_media(lua_State *L);
int luaopen_wpl_markdown(lua_State *L);

/* Paths (store.c, shared with crypto.c). Pushes $<xdg_var>/<rel> when that variable holds
 * an absolute path, else $HOME/<home_default>/<rel>; false (nothing pushed) without HOME. */
bool wpl_push_xdg_path(lua_State *L, const char *xdg_var, const char *home_default, const char *rel);
/* Creates the missing folders above the file `path` with mode 0700 (existing ones are left
 * as they are). Returns 0, or an errno value with the folder that failed in failed_dir. */
int wpl_make_parent_dirs(const char *path, char *failed_dir, size_t cap);

#endif
