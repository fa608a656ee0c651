/* wpl.log: leveled log lines (text or JSON) to stderr or the embedder's sink.
 * Redaction happens here, for every line, not in each caller: values of secret-looking
 * fields, anything after "Authorization", and every registered secret string. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define REDACTED "[REDACTED]"

static const char *const level_names[] = {"debug", "info", "warn", "error", "off", NULL};

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool failed; /* out of memory: the line is dropped */
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_json_string(sbuf *b, const char *s, size_t n) {
    sb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            sb_add(b, esc, 2);
        } else if (c == '\n') {
            sb_add(b, "\\n", 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_add(b, esc, 6);
        } else {
            sb_add(b, (const char *)&s[i], 1);
        }
    }
    sb_add(b, "\"", 1);
}

/* Text values are quoted when they hold spaces, quotes or '=' (so lines stay parseable). */
static void sb_text_value(sbuf *b, const char *s, size_t n) {
    bool plain = n > 0;
    for (size_t i = 0; i < n && plain; i++)
        if (isspace((unsigned char)s[i]) || s[i] == '"' || s[i] == '=') plain = false;
    if (plain)
        sb_add(b, s, n);
    else
        sb_json_string(b, s, n);
}

static bool is_secret_key(const char *key) {
    static const char *const words[] = {"password", "authorization", "secret", "token", "cookie", "apikey", "api_key", NULL};
    for (const char *const *w = words; *w; w++)
        if (strcasestr(key, *w)) return true;
    return false;
}

/* Replaces every occurrence of needle in b with [REDACTED]. */
static void redact_all(sbuf *b, const char *needle, size_t n) {
    if (n == 0 || b->failed) return;
    sbuf out = {0};
    const char *p = b->p, *end = b->p + b->len, *hit;
    bool any = false;
    while ((hit = memmem(p, (size_t)(end - p), needle, n)) != NULL) {
        sb_add(&out, p, (size_t)(hit - p));
        sb_str(&out, REDACTED);
        p = hit + n;
        any = true;
    }
    if (!any) return;
    sb_add(&out, p, (size_t)(end - p));
    free(b->p);
    *b = out;
}

/* A credential after the word "authorization": "Authorization: Basic xyz" (any scheme
 * word), or a JSON/Lua key "authorization": "xyz". Prose that merely mentions the header
 * ("strips the Authorization header") is left alone. */
static bool credential_follows(const char *after_word, const char **value) {
    const char *p = after_word;
    bool quoted_key = *p == '"' || *p == '\'';
    while (*p && strchr("\"' :=\\", *p)) p++;
    static const char *const schemes[] = {"basic ", "bearer ", "digest ", "token ", "negotiate ", NULL};
    for (const char *const *s = schemes; *s; s++) {
        if (strncasecmp(p, *s, strlen(*s)) == 0) {
            *value = p;
            return true;
        }
    }
    if (quoted_key && strchr(after_word, ':') && (size_t)(strchr(after_word, ':') - after_word) < 3) {
        *value = p;
        return true;
    }
    return false;
}

static void redact_authorization(sbuf *b) {
    static const char word[] = "authorization";
    size_t wlen = sizeof word - 1, pos = 0;
    while (!b->failed && pos + wlen <= b->len) {
        char *hit = strcasestr(b->p + pos, word);
        if (hit == NULL) break;
        const char *value;
        size_t after = (size_t)(hit - b->p) + wlen;
        if (!credential_follows(b->p + after, &value)) {
            pos = after;
            continue;
        }
        size_t start = (size_t)(value - b->p);
        size_t stop = start;
        while (stop < b->len && !strchr("\"'\n\r,}", b->p[stop])) stop++;
        if (stop > start && strncmp(b->p + start, REDACTED, sizeof REDACTED - 1) != 0) {
            sbuf out = {0};
            sb_add(&out, b->p, start);
            sb_str(&out, REDACTED);
            sb_add(&out, b->p + stop, b->len - stop);
            free(b->p);
            *b = out;
            stop = start + sizeof REDACTED - 1;
        }
        pos = stop > pos ? stop : pos + 1;
    }
}

bool wpl_log_enabled(const wpl_runtime *rt, wpl_log_level level) {
    return rt->log_level != WPL_LOG_OFF && level >= rt->log_level && level < WPL_LOG_OFF;
}

void wpl_log_add_secret(wpl_runtime *rt, const char *secret, size_t len) {
    if (len < 4) return; /* redacting "a" everywhere would make logs unreadable */
    for (size_t i = 0; i < rt->secret_count; i++)
        if (strlen(rt->secrets[i]) == len && memcmp(rt->secrets[i], secret, len) == 0) return;
    if (rt->secret_count == rt->secret_cap) {
        size_t cap = rt->secret_cap ? rt->secret_cap * 2 : 8;
        char **s = realloc(rt->secrets, cap * sizeof *s);
        if (s == NULL) return;
        rt->secrets = s;
        rt->secret_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) return;
    memcpy(copy, secret, len);
    copy[len] = '\0';
    rt->secrets[rt->secret_count++] = copy;
}

static void redact_line(wpl_runtime *rt, sbuf *b) {
    for (size_t i = 0; i < rt->secret_count; i++) redact_all(b, rt->secrets[i], strlen(rt->secrets[i]));
    redact_authorization(b);
}

static void write_line(wpl_runtime *rt, wpl_log_level level, sbuf *b) {
    redact_line(rt, b);
    if (b->failed) return;
    if (rt->log_sink)
        rt->log_sink(rt->log_userdata, level, b->p);
    else
        fprintf(stderr, "%s\n", b->p);
}

static void begin_line(wpl_runtime *rt, sbuf *b, wpl_log_level level, const char *msg) {
    struct timespec ts;
    struct tm tm;
    char stamp[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", ts.tv_nsec / 1000000);
    if (rt->log_format == WPL_LOG_JSON) {
        sb_str(b, "{\"time\":\"");
        sb_str(b, stamp);
        sb_str(b, "\",\"level\":\"");
        sb_str(b, level_names[level]);
        sb_str(b, "\",\"msg\":");
        sb_json_string(b, msg, strlen(msg));
    } else {
        sb_str(b, stamp);
        sb_str(b, " ");
        sb_str(b, level_names[level]);
        sb_str(b, level == WPL_LOG_INFO || level == WPL_LOG_WARN ? "  " : " ");
        sb_str(b, msg);
    }
}

static void end_line(wpl_runtime *rt, sbuf *b) {
    if (rt->log_format == WPL_LOG_JSON) sb_str(b, "}");
}

void wpl_logf(wpl_runtime *rt, wpl_log_level level, const char *fmt, ...) {
    if (!wpl_log_enabled(rt, level)) return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    int n = vasprintf(&msg, fmt, ap); /* whole, however long (URLs with many slugs) */
    va_end(ap);
    if (n < 0) return;
    sbuf b = {0};
    begin_line(rt, &b, level, msg);
    free(msg);
    end_line(rt, &b);
    write_line(rt, level, &b);
    free(b.p);
}

static int compare_keys(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends ` key=value` (text) or `,"key":value` (JSON) for each string key of the table at
 * idx, sorted by key. Values are converted with tostring (Lua context: may raise). The keys
 * stay alive because the table holds them. */
static void add_fields(wpl_runtime *rt, sbuf *b, lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count += lua_type(L, -2) == LUA_TSTRING;
        lua_pop(L, 1);
    }
    const char **keys = lua_newuserdatauv(L, count * sizeof *keys + 1, 0);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TSTRING && n < count) keys[n++] = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    qsort(keys, n, sizeof *keys, compare_keys);
    bool json = rt->log_format == WPL_LOG_JSON;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if (json) {
            sb_str(b, ",");
            sb_json_string(b, keys[i], strlen(keys[i]));
            sb_str(b, ":");
        } else {
            sb_str(b, " ");
            sb_str(b, keys[i]);
            sb_str(b, "=");
        }
        if (is_secret_key(keys[i])) {
            sb_str(b, json ? "\"" REDACTED "\"" : REDACTED);
            continue;
        }
        lua_getfield(L, idx, keys[i]);
        int type = lua_type(L, -1);
        const char *v = luaL_tolstring(L, -1, &len);
        if (!json)
            sb_text_value(b, v, len);
        else if (type == LUA_TNUMBER || type == LUA_TBOOLEAN)
            sb_add(b, v, len);
        else
            sb_json_string(b, v, len);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

void wpl_log_emit(wpl_runtime *rt, wpl_log_level level, const char *msg, lua_State *L, int fields_index) {
    if (!wpl_log_enabled(rt, level)) return;
    sbuf b = {0};
    begin_line(rt, &b, level, msg);
    if (L && fields_index && lua_istable(L, fields_index)) add_fields(rt, &b, L, fields_index);
    end_line(rt, &b);
    write_line(rt, level, &b);
    free(b.p);
}

/* ---------------------------------------------------------------- Lua API */

static int check_level(lua_State *L, int arg) {
    return luaL_checkoption(L, arg, NULL, level_names);
}

static int log_at(lua_State *L, wpl_log_level level) {
    wpl_runtime *rt = wpl_runtime_of(L);
    if (!wpl_log_enabled(rt, level)) return 0;
    bool has_fields = !lua_isnoneornil(L, 2);
    if (has_fields) luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    const char *msg = luaL_tolstring(L, 1, NULL); /* anchored at index 3 */
    wpl_log_emit(rt, level, msg, L, has_fields ? 2 : 0);
    return 0;
}

static int log_debug(lua_State *L) { return log_at(L, WPL_LOG_DEBUG); }
static int log_info(lua_State *L) { return log_at(L, WPL_LOG_INFO); }
static int log_warn(lua_State *L) { return log_at(L, WPL_LOG_WARN); }
static int log_error(lua_State *L) { return log_at(L, WPL_LOG_ERROR); }

/* log.level() -> "info"; log.level("debug") sets it and returns the previous one. */
static int log_level(lua_State *L) {
    wpl_runtime *rt = wpl_runtime_of(L);
    lua_pushstring(L, level_names[rt->log_level]);
    if (!lua_isnoneornil(L, 1)) rt->log_level = (wpl_log_level)check_level(L, 1);
    return 1;
}

static int log_enabled(lua_State *L) {
    lua_pushboolean(L, wpl_log_enabled(wpl_runtime_of(L), (wpl_log_level)check_level(L, 1)));
    return 1;
}

/* log.is_terminal() -> true when log lines go to a terminal (for progress bars) */
static int log_is_terminal(lua_State *L) {
    wpl_runtime *rt = wpl_runtime_of(L);
    lua_pushboolean(L, rt->log_sink == NULL && isatty(STDERR_FILENO));
    return 1;
}

static int log_secret(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    wpl_log_add_secret(wpl_runtime_of(L), s, n);
    return 0;
}

char *wpl_redact_copy(wpl_runtime *rt, const char *text) {
    sbuf b = {0};
    sb_add(&b, text, strlen(text));
    redact_line(rt, &b);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (b.p == NULL) sb_add(&b, "", 0);
    return b.p;
}

/* log.redact(s): s as a log line would show it. */
static int log_redact(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    sbuf b = {0};
    sb_add(&b, s, n);
    redact_line(wpl_runtime_of(L), &b);
    if (b.failed) {
        free(b.p);
        return luaL_error(L, "not enough memory");
    }
    lua_pushlstring(L, b.p, b.len);
    free(b.p);
    return 1;
}

int luaopen_wpl_log(lua_State *L) {
    static const luaL_Reg funcs[] = {
        {"debug", log_debug}, {"info", log_info},       {"warn", log_warn},
        {"error", log_error}, {"level", log_level},     {"enabled", log_enabled},
        {"secret", log_secret}, {"redact", log_redact}, {"is_terminal", log_is_terminal}, {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    return 1;
}
