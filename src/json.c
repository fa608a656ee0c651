/* wpl.json: JSON for WordPress.
 *
 * Decoding goes through lua-cjson, then fixes what Debian's lua-cjson 2.1.0 gets wrong
 * under Lua 5.4: it yields every number as a float (so `/posts/123.0`) and cannot hold
 * integers beyond 2^53. Integral numbers become Lua integers; integer literals too long
 * for a double are passed through cjson as marked strings and turned back into integers.
 *
 * Encoding is our own (cjson prints integers with 14 significant digits and cannot tell
 * an empty array from an empty object): integers exactly, floats in the shortest form
 * that round-trips, object keys sorted (the same value always gives the same bytes),
 * json.null, and json.array()/json.object() to say what an empty table is. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include <lua-cjson.h> /* needs lua.h first */

#define JSON_TYPE_FIELD "__jsontype"
#define MAX_DEPTH 1000
#define OUT_BUF_MT "wpl.json.buffer"

/* Marks an integer literal that a double cannot hold; 0xFF never occurs in valid UTF-8,
 * and texts that contain the byte anyway are decoded without the marking. */
static const char big_int_mark[] = "\xff" "wpl-int:";
#define BIG_INT_MARK_LEN (sizeof big_int_mark - 1)

/* ---------------------------------------------------------------- decode */

static bool is_number_char(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Copies text into b with integer literals beyond 2^53 wrapped as marked strings.
 * Returns false (b untouched) when there is none. */
static bool mark_big_integers(lua_State *L, const char *s, size_t len, luaL_Buffer *b) {
    bool started = false;
    size_t copied = 0, i = 0;
    while (i < len) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < len && s[i] != '"'; i++)
                if (s[i] == '\\') i++;
            i++;
            continue;
        }
        if (!(c == '-' || (c >= '0' && c <= '9'))) {
            i++;
            continue;
        }
        size_t start = i, digits = 0;
        bool integral = true;
        for (; i < len && is_number_char(s[i]); i++) {
            if (s[i] >= '0' && s[i] <= '9') digits++;
            else if (s[i] != '-' || i != start) integral = false;
        }
        if (!integral || digits < 16) continue;
        char tmp[32];
        size_t n = i - start;
        if (n >= sizeof tmp) continue; /* beyond 64 bits: stays a float */
        memcpy(tmp, s + start, n);
        tmp[n] = '\0';
        errno = 0;
        char *end;
        long long v = strtoll(tmp, &end, 10);
        if (errno == ERANGE || *end != '\0') continue;
        if (v <= (1LL << 53) && v >= -(1LL << 53)) continue; /* a double holds it exactly */
        if (!started) {
            luaL_buffinit(L, b);
            started = true;
        }
        luaL_addlstring(b, s + copied, start - copied);
        luaL_addchar(b, '"');
        luaL_addlstring(b, big_int_mark, BIG_INT_MARK_LEN);
        luaL_addlstring(b, tmp, n);
        luaL_addchar(b, '"');
        copied = i;
    }
    if (started) luaL_addlstring(b, s + copied, len - copied);
    return started;
}

/* Replaces the value at the top of the stack with its integer form when it has one. */
static void fix_number(lua_State *L, bool marked) {
    if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
        lua_Number n = lua_tonumber(L, -1);
        lua_Integer i;
        if (lua_numbertointeger(n, &i) && (lua_Number)i == n && !(n == 0 && signbit(n))) { /* -0.0 stays */
            lua_pop(L, 1);
            lua_pushinteger(L, i);
        }
    } else if (marked && lua_type(L, -1) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (n > BIG_INT_MARK_LEN && memcmp(s, big_int_mark, BIG_INT_MARK_LEN) == 0) {
            lua_Integer v = strtoll(s + BIG_INT_MARK_LEN, NULL, 10);
            lua_pop(L, 1);
            lua_pushinteger(L, v);
        }
    }
}

/* Walks the decoded value at idx (a table) and fixes its numbers in place. */
static void fix_numbers(lua_State *L, int idx, bool marked) {
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 4, "JSON nested too deeply");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_istable(L, -1)) {
            fix_numbers(L, -1, marked);
        } else {
            fix_number(L, marked);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, idx); /* assigning an existing key keeps lua_next valid */
            lua_pushvalue(L, -1);
        }
        lua_pop(L, 1);
    }
}

/* json.decode(text) -> value | nil, err {code="invalid_json", message=, offset=} */
static int json_decode(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    lua_settop(L, 1);
    luaL_Buffer b;
    bool marked = memchr(text, '\xff', len) == NULL && mark_big_integers(L, text, len, &b);
    if (marked) luaL_pushresult(&b);
    /* The caller's text is always parsed: it alone says whether the document is valid (the
     * marking would turn a bare number used as an object key into a string). The marked copy
     * is parsed after that only to get the exact big integers. */
    lua_pushvalue(L, lua_upvalueindex(1)); /* cjson.decode */
    lua_pushvalue(L, 1);
    int status = lua_pcall(L, 1, 1, 0);
    if (status == LUA_OK && marked) {
        lua_pop(L, 1);
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushvalue(L, 2);
        status = lua_pcall(L, 1, 1, 0);
    }
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        const char *at = msg ? strstr(msg, "at character ") : NULL;
        long offset = at ? strtol(at + 13, NULL, 10) : 0;
        lua_pushnil(L);
        wpl_error_push(L, "invalid_json", lua_pushfstring(L, "invalid JSON: %s", msg ? msg : "?"), 0, false);
        lua_remove(L, -2);
        if (offset > 0) {
            lua_pushinteger(L, offset);
            lua_setfield(L, -2, "offset");
        }
        return 2;
    }
    if (lua_istable(L, -1))
        fix_numbers(L, -1, marked);
    else
        fix_number(L, marked);
    return 1;
}

/* ---------------------------------------------------------------- encode */

/* The output buffer lives in a userdata so that an error raised mid-encode frees it. */
typedef struct out_buf {
    char *p;
    size_t len, cap;
} out_buf;

static int out_buf_gc(lua_State *L) {
    out_buf *o = lua_touserdata(L, 1);
    free(o->p);
    o->p = NULL;
    return 0;
}

static void out_add(lua_State *L, out_buf *o, const char *s, size_t n) {
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n) cap *= 2;
        char *p = realloc(o->p, cap);
        if (p == NULL) luaL_error(L, "not enough memory");
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}
#define OUT_LIT(L, o, s) out_add(L, o, s, sizeof(s) - 1)

typedef struct encoder {
    lua_State *L;
    out_buf *out;
    int indent; /* spaces per level; 0 = compact */
} encoder;

static void encode_string(encoder *e, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    OUT_LIT(e->L, e->out, "\"");
    size_t run = 0; /* bytes copied as they are, flushed before each escape */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c >= 0x20) continue;
        }
        out_add(e->L, e->out, s + run, i - run);
        if (esc)
            out_add(e->L, e->out, esc, 2);
        else
            out_add(e->L, e->out, u, 6);
        run = i + 1;
    }
    out_add(e->L, e->out, s + run, n - run);
    OUT_LIT(e->L, e->out, "\"");
}

static void encode_number(encoder *e, int idx) {
    char tmp[64];
    int n;
    if (lua_isinteger(e->L, idx)) {
        n = snprintf(tmp, sizeof tmp, "%lld", (long long)lua_tointeger(e->L, idx));
    } else {
        double d = lua_tonumber(e->L, idx);
        if (!isfinite(d)) luaL_error(e->L, "json.encode: cannot encode %f (JSON has no NaN or infinity)", d);
        for (int precision = 15; precision <= 17; precision++) { /* shortest form that round-trips */
            n = snprintf(tmp, sizeof tmp, "%.*g", precision, d);
            if (strtod(tmp, NULL) == d) break;
        }
    }
    out_add(e->L, e->out, tmp, (size_t)n);
}

static void newline(encoder *e, int depth) {
    if (e->indent == 0) return;
    OUT_LIT(e->L, e->out, "\n");
    for (int i = 0; i < depth * e->indent; i++) OUT_LIT(e->L, e->out, " ");
}

/* "array", "object" or NULL from the table's metatable (__jsontype). */
static const char *declared_type(lua_State *L, int idx) {
    const char *t = NULL;
    if (luaL_getmetafield(L, idx, JSON_TYPE_FIELD) != LUA_TNIL) {
        t = lua_tostring(L, -1); /* interned literal from json.array/json.object */
        lua_pop(L, 1);
    }
    return t;
}

/* Number of elements when the table is a sequence 1..n with nothing else, else -1. */
static lua_Integer array_length(lua_State *L, int idx) {
    lua_Integer count = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
            lua_pop(L, 1);
            return -1;
        }
        lua_Integer k = lua_tointeger(L, -1);
        if (k > max) max = k;
        count++;
    }
    return max == count ? count : -1;
}

typedef struct object_key {
    const char *text; /* as it is written */
    int stack_index;  /* the original key, for the lookup */
} object_key;

static int compare_object_keys(const void *a, const void *b) {
    return strcmp(((const object_key *)a)->text, ((const object_key *)b)->text);
}

static void encode_value(encoder *e, int idx, int depth);

static void encode_object(encoder *e, int idx, int depth) {
    lua_State *L = e->L;
    int base = lua_gettop(L);
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
    }
    luaL_checkstack(L, (int)(count * 2 + 8), "json.encode: object too large");
    object_key *keys = lua_newuserdatauv(L, count * sizeof *keys + 1, 0);
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1); /* the value; the key stays on the stack as the lookup key */
        int k = lua_gettop(L);
        if (lua_type(L, k) == LUA_TSTRING) {
            keys[n].text = lua_tostring(L, k);
        } else if (lua_type(L, k) == LUA_TNUMBER) {
            lua_pushvalue(L, k);
            keys[n].text = lua_tostring(L, -1); /* converts the copy, which stays as anchor */
        } else {
            luaL_error(L, "json.encode: object keys must be strings or numbers, got %s", luaL_typename(L, k));
        }
        keys[n++].stack_index = k;
        lua_pushvalue(L, k); /* for lua_next */
    }
    qsort(keys, n, sizeof *keys, compare_object_keys);
    OUT_LIT(L, e->out, "{");
    for (size_t i = 0; i < n; i++) {
        if (i) OUT_LIT(L, e->out, ",");
        newline(e, depth + 1);
        encode_string(e, keys[i].text, strlen(keys[i].text));
        out_add(L, e->out, e->indent ? ": " : ":", e->indent ? 2 : 1);
        lua_pushvalue(L, keys[i].stack_index);
        lua_rawget(L, idx);
        encode_value(e, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    if (n) newline(e, depth);
    OUT_LIT(L, e->out, "}");
    lua_settop(L, base);
}

static void encode_array(encoder *e, int idx, lua_Integer n, int depth) {
    OUT_LIT(e->L, e->out, "[");
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) OUT_LIT(e->L, e->out, ",");
        newline(e, depth + 1);
        lua_rawgeti(e->L, idx, i);
        encode_value(e, lua_gettop(e->L), depth + 1);
        lua_pop(e->L, 1);
    }
    if (n) newline(e, depth);
    OUT_LIT(e->L, e->out, "]");
}

static void encode_table(encoder *e, int idx, int depth) {
    lua_State *L = e->L;
    if (depth >= MAX_DEPTH) luaL_error(L, "json.encode: nested deeper than %d levels (a cycle?)", MAX_DEPTH);
    luaL_checkstack(L, 8, "json.encode: nested too deeply");
    const char *declared = declared_type(L, idx);
    lua_Integer n = array_length(L, idx);
    if (declared && strcmp(declared, "object") == 0)
        encode_object(e, idx, depth);
    else if (declared && strcmp(declared, "array") == 0) {
        if (n < 0) luaL_error(L, "json.encode: a table marked as array has non-sequence keys");
        encode_array(e, idx, n, depth);
    } else if (n > 0)
        encode_array(e, idx, n, depth);
    else
        encode_object(e, idx, depth); /* empty tables are objects unless marked */
}

static void encode_value(encoder *e, int idx, int depth) {
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: OUT_LIT(L, e->out, "null"); break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) OUT_LIT(L, e->out, "true");
        else OUT_LIT(L, e->out, "false");
        break;
    case LUA_TNUMBER: encode_number(e, idx); break;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        encode_string(e, s, n);
        break;
    }
    case LUA_TTABLE: encode_table(e, idx, depth); break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) { /* json.null (cjson.null) */
            OUT_LIT(L, e->out, "null");
            break;
        }
        /* fall through */
    default:
        luaL_error(L, "json.encode: cannot encode a %s value", luaL_typename(L, idx));
    }
}

/* json.encode(value [, {indent = n | true}]) -> string. Raises on values JSON cannot hold. */
static int json_encode(lua_State *L) {
    luaL_checkany(L, 1);
    encoder e = {L, NULL, 0};
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "indent");
        e.indent = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : lua_toboolean(L, -1) ? 2 : 0;
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    e.out = lua_newuserdatauv(L, sizeof *e.out, 0);
    memset(e.out, 0, sizeof *e.out);
    luaL_setmetatable(L, OUT_BUF_MT);
    encode_value(&e, 1, 0);
    lua_pushlstring(L, e.out->p ? e.out->p : "", e.out->len);
    free(e.out->p); /* now rather than at the next collection */
    e.out->p = NULL;
    return 1;
}

/* ---------------------------------------------------------------- markers */

static int mark_table(lua_State *L, const char *mt_name) {
    if (lua_isnoneornil(L, 1)) lua_newtable(L);
    else luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, mt_name);
    lua_setmetatable(L, 1);
    return 1;
}
static int json_array(lua_State *L) { return mark_table(L, "wpl.json.array"); }
static int json_object(lua_State *L) { return mark_table(L, "wpl.json.object"); }

/* json.is_array(t): true when t is marked as array, or a non-empty sequence */
static int json_is_array(lua_State *L) {
    bool is = false;
    if (lua_istable(L, 1)) {
        const char *declared = declared_type(L, 1);
        is = declared ? strcmp(declared, "array") == 0 : array_length(L, 1) > 0;
    }
    lua_pushboolean(L, is);
    return 1;
}

static int empty_array_newindex(lua_State *L) {
    return luaL_error(L, "json.empty_array is read-only; use json.array() for a new array");
}

/* lua-cjson's luaopen initialises a process-wide number-format setting on every call. */
static pthread_mutex_t cjson_open_lock = PTHREAD_MUTEX_INITIALIZER;

static int open_cjson(lua_State *L) {
    pthread_mutex_lock(&cjson_open_lock);
    lua_pushcfunction(L, luaopen_cjson);
    int status = lua_pcall(L, 0, 1, 0);
    pthread_mutex_unlock(&cjson_open_lock);
    if (status != LUA_OK) return lua_error(L);
    return 1;
}

int luaopen_wpl_json(lua_State *L) {
    static const luaL_Reg funcs[] = {
        {"encode", json_encode}, {"array", json_array}, {"object", json_object},
        {"is_array", json_is_array}, {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    int module = lua_gettop(L);

    luaL_newmetatable(L, OUT_BUF_MT);
    lua_pushcfunction(L, out_buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    const char *const kinds[] = {"array", "object"};
    for (int i = 0; i < 2; i++) {
        lua_createtable(L, 0, 1);
        lua_pushstring(L, kinds[i]);
        lua_setfield(L, -2, JSON_TYPE_FIELD);
        lua_setfield(L, LUA_REGISTRYINDEX, i == 0 ? "wpl.json.array" : "wpl.json.object");
    }

    open_cjson(L);
    lua_getfield(L, -1, "decode_invalid_numbers"); /* no hex, NaN or Infinity */
    lua_pushboolean(L, 0);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "null");
    lua_setfield(L, module, "null");
    lua_getfield(L, -1, "decode");
    lua_pushcclosure(L, json_decode, 1);
    lua_setfield(L, module, "decode");
    lua_pop(L, 1);

    /* a shared empty array that cannot be filled by accident */
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, JSON_TYPE_FIELD);
    lua_pushcfunction(L, empty_array_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setfield(L, module, "empty_array");
    return 1;
}
