/*
 * wpl.h — embed the wpl runtime (Lua 5.4 + WordPress, HTTP, JSON and logging modules).
 *
 *     wpl_options opts;
 *     wpl_options_init(&opts);
 *     opts.log_level = WPL_LOG_DEBUG;
 *     wpl_runtime *rt = wpl_runtime_new(&opts);
 *     if (wpl_run_file(rt, "recipe.lua", argc, argv) != WPL_OK)
 *         fprintf(stderr, "%s\n", wpl_last_error(rt));
 *     wpl_runtime_free(rt);
 *
 * A runtime owns one Lua state and everything its modules create (connections, caches).
 * Runtimes share nothing: several may live in one process, each used by one thread at a time.
 */
#ifndef WPL_H
#define WPL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WPL_API __attribute__((visibility("default")))
#else
#define WPL_API
#endif

typedef struct lua_State lua_State;
typedef struct wpl_runtime wpl_runtime;

typedef enum wpl_log_level {
    WPL_LOG_DEBUG = 0,
    WPL_LOG_INFO = 1,
    WPL_LOG_WARN = 2,
    WPL_LOG_ERROR = 3,
    WPL_LOG_OFF = 4
} wpl_log_level;

typedef enum wpl_log_format { WPL_LOG_TEXT = 0, WPL_LOG_JSON = 1 } wpl_log_format;

/* Receives one finished log line (no trailing newline), secrets already redacted. */
typedef void (*wpl_log_sink)(void *userdata, wpl_log_level level, const char *line);

typedef enum wpl_status {
    WPL_OK = 0,
    WPL_ERR_RUN = 1,    /* the Lua code raised an error */
    WPL_ERR_LOAD = 2,   /* the file could not be read or does not compile */
    WPL_ERR_MEMORY = 3, /* out of memory */
    WPL_ERR_USAGE = 4   /* invalid argument to the C API */
} wpl_status;

typedef struct wpl_options {
    /* Directory holding wpl/<module>.lua files that take precedence over the modules
     * compiled into the library; NULL means $WPL_LUA_PATH, and if unset, only the
     * embedded modules. */
    const char *lua_path;
    wpl_log_level log_level;  /* default WPL_LOG_INFO */
    wpl_log_format log_format;
    wpl_log_sink log_sink;    /* NULL: lines go to stderr */
    void *log_userdata;
    /* SQLite database of sites and history; NULL means $WPL_DB or the XDG default. */
    const char *db_path;
    /* Local owner of registered sites (several users of one host program); NULL: "default". */
    const char *user_id;
    /* CA bundle for TLS verification; NULL: the system default. Verification is always on. */
    const char *ca_bundle;
    /* Non-zero: no write request (anything but GET, HEAD, OPTIONS) leaves the process; each
     * is logged instead and answered with a stand-in response. */
    int dry_run;

    /* Limits for running code you do not trust (0 = none). Going over max_memory gives the
     * recipe a Lua memory error; over time_limit (wall seconds of one run, HTTP waits
     * included) or max_instructions it gets an error that pcall cannot swallow. The host
     * survives either way and may run again. */
    size_t max_memory;
    double time_limit;
    unsigned long long max_instructions;

    /* Non-zero: no os.execute, io.popen, package.loadlib, debug library or binary chunks;
     * files only under allowed_roots (default: the folder of the file being run); HTTP only
     * to the registered sites' hosts and allowed_hosts. Both lists end with NULL. */
    int sandbox;
    const char *const *allowed_roots;
    const char *const *allowed_hosts;
} wpl_options;

/* Fills opts with the defaults. Call it before setting fields, so that fields added in
 * later versions get their defaults. */
WPL_API void wpl_options_init(wpl_options *opts);

/* Creates a runtime with every wpl module available through require. opts may be NULL.
 * Returns NULL only when memory is exhausted. */
WPL_API wpl_runtime *wpl_runtime_new(const wpl_options *opts);

/* Runs a Lua file as `lua` does: args become the global `arg` (arg[0] = path) and the
 * chunk's `...`. Modules beside the file can be required. */
WPL_API wpl_status wpl_run_file(wpl_runtime *rt, const char *path, int argc, const char *const *argv);

/* Runs a string; chunkname appears in error messages (e.g. "=host" or "@config.lua"). */
WPL_API wpl_status wpl_run_string(wpl_runtime *rt, const char *code, const char *chunkname);

/* Message of the last failed run, with a Lua traceback; "" when the last run succeeded.
 * Valid until the next run or wpl_runtime_free. */
WPL_API const char *wpl_last_error(const wpl_runtime *rt);

/* The exit status a command-line host should end with after the last run: 0 when it
 * succeeded, else 1, or the status the recipe chose (wpl.recipe uses 2 for usage errors and
 * 0 for --help). */
WPL_API int wpl_exit_status(const wpl_runtime *rt);

/* The runtime's Lua state, for hosts that register their own functions or modules
 * (e.g. in package.preload). Do not lua_close it. */
WPL_API lua_State *wpl_lua_state(wpl_runtime *rt);

/* Releases the runtime and everything it owns; NULL is ignored. */
WPL_API void wpl_runtime_free(wpl_runtime *rt);

/* "MAJOR.MINOR.PATCH" */
WPL_API const char *wpl_version(void);

#ifdef __cplusplus
}
#endif
#endif
