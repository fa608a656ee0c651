/* wpl.time: clocks and sleeping. */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "internal.h"

/* time.monotonic() -> seconds (float) from an arbitrary start; for measuring intervals. */
static int time_monotonic(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* time.now() -> seconds since the epoch (float, UTC). */
static int time_now(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* time.sleep(seconds): at most one day, in slices so that a run's time limit still holds. */
static int time_sleep(lua_State *L) {
    lua_Number s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0 && s <= 86400, 1, "must be between 0 and 86400 seconds");
    while (s > 0) {
        lua_Number slice = s > 0.1 ? 0.1 : s;
        struct timespec req = {(time_t)slice, (long)((slice - floor(slice)) * 1e9)}, rem;
        while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
        s -= slice;
        wpl_check_deadline(L);
    }
    return 0;
}

/* time.iso8601(epoch_seconds?) -> "2026-12-04T15:40:00Z" */
static int time_iso8601(lua_State *L) {
    time_t t = luaL_opt(L, (time_t)luaL_checkinteger, 1, time(NULL));
    struct tm tm;
    char buf[32];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    lua_pushstring(L, buf);
    return 1;
}

int luaopen_wpl_time(lua_State *L) {
    static const luaL_Reg funcs[] = {
        {"monotonic", time_monotonic}, {"now", time_now}, {"sleep", time_sleep}, {"iso8601", time_iso8601}, {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    return 1;
}
