/* wpl.markdown front matter: the YAML between a leading `---` line and a closing `---` or
 * `...` line, read with libyaml's event parser straight into Lua values.
 *
 * Scalars follow the YAML 1.2 core schema: plain true/false (any case style of the spec),
 * null/~/empty, integers (decimal, 0o octal, 0x hex) as Lua integers, floats (.inf, .nan
 * too) as floats; anything else, every quoted or block scalar, !!str and custom tags give
 * a string (so yes/no/on/off and dates like 2024-05-01 stay strings). An integer too large
 * for 64 bits stays a string rather than losing digits.
 *
 * Nulls: a key whose value is null is left out of its table (meta.x == nil); a null inside
 * a sequence is json.null (light userdata NULL) so that the positions hold.
 *
 * Anchors and aliases are supported: an alias is the same Lua value as its anchor (tables
 * are shared, not copied). Every value counts toward a cap of MAX_VALUES, an alias as many
 * times as its anchor holds values, so an alias bomb fails early instead of producing a
 * structure that would explode when walked or encoded.
 *
 * The parser and its current event live in a userdata with __gc, so a Lua error (out of
 * memory) while the tables are built frees them; no Lua call happens inside libyaml. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "markdown_internal.h"

#define YAML_STATE_MT "wpl.markdown.yaml"
#define MAX_VALUES 100000
#define MAX_DEPTH 200

/* ---------------------------------------------------------------- finding it */

/* True when the line at pos is `---` (or `...` when allow_dots), trailing blanks allowed.
 * *next: where the following line starts. need_newline: the line must end with '\n'. */
static bool is_delimiter_line(const char *s, size_t len, size_t pos, bool allow_dots, bool need_newline,
                              size_t *next) {
    const char *nl = memchr(s + pos, '\n', len - pos);
    if (need_newline && nl == NULL) return false;
    size_t end = nl ? (size_t)(nl - s) : len;
    *next = nl ? end + 1 : len;
    while (end > pos && (s[end - 1] == '\r' || s[end - 1] == ' ' || s[end - 1] == '\t')) end--;
    if (end - pos != 3) return false;
    return memcmp(s + pos, "---", 3) == 0 || (allow_dots && memcmp(s + pos, "...", 3) == 0);
}

int md_find_front_matter(const char *text, size_t len, md_front_matter *span) {
    size_t pos = 0, next;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* UTF-8 byte order mark */
    if (!is_delimiter_line(text, len, pos, false, true, &next)) return 0;
    size_t yaml_start = next;
    for (size_t line = yaml_start; line < len; line = next) {
        if (is_delimiter_line(text, len, line, true, false, &next)) {
            span->yaml_start = yaml_start;
            span->yaml_len = line - yaml_start;
            span->body_start = next;
            return 1;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- loading */

typedef struct yaml_state {
    yaml_parser_t parser;
    yaml_event_t event;
    bool parser_ready, event_ready;
} yaml_state;

static int yaml_state_gc(lua_State *L) {
    yaml_state *st = lua_touserdata(L, 1);
    if (st->event_ready) yaml_event_delete(&st->event);
    if (st->parser_ready) yaml_parser_delete(&st->parser);
    st->event_ready = st->parser_ready = false;
    return 0;
}

typedef struct loader {
    lua_State *L;
    yaml_state *st;
    int anchors;      /* stack index: anchor name -> value */
    int anchor_sizes; /* stack index: anchor name -> number of values it holds */
    int first_line;   /* document line of the YAML's first line */
    long values;      /* values loaded so far, aliases expanded */
    bool failed;
    int line, column; /* of the failure, in the document */
    char message[300];
} loader;

static void fail_at(loader *ld, yaml_mark_t mark, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(loader *ld, yaml_mark_t mark, const char *fmt, ...) {
    if (ld->failed) return;
    ld->failed = true;
    ld->line = ld->first_line + (int)mark.line;
    ld->column = (int)mark.column + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->message, sizeof ld->message, fmt, ap);
    va_end(ap);
}

/* Moves to the next event; false (failed set) on a YAML syntax error. */
static bool next_event(loader *ld) {
    yaml_state *st = ld->st;
    if (st->event_ready) {
        yaml_event_delete(&st->event);
        st->event_ready = false;
    }
    if (!yaml_parser_parse(&st->parser, &st->event)) {
        yaml_parser_t *p = &st->parser;
        if (p->error == YAML_MEMORY_ERROR) luaL_error(ld->L, "not enough memory");
        const char *problem = p->problem ? p->problem : "invalid YAML";
        if (p->context)
            fail_at(ld, p->problem_mark, "%s (%s at line %d)", problem, p->context,
                    ld->first_line + (int)p->context_mark.line);
        else
            fail_at(ld, p->problem_mark, "%s", problem);
        return false;
    }
    st->event_ready = true;
    return true;
}

static bool count_values(loader *ld, long n, yaml_mark_t mark) {
    ld->values += n;
    if (ld->values > MAX_VALUES) {
        fail_at(ld, mark, "more than %d values (each use of an alias counts its values again)", MAX_VALUES);
        return false;
    }
    return true;
}

enum scalar_kind { S_NULL, S_BOOL, S_INT, S_FLOAT, S_STRING };

static bool all_digits(const char *s, size_t n, int base) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = base == 16 ? (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
                  : base == 8 ? c >= '0' && c <= '7'
                              : c >= '0' && c <= '9';
        if (!ok) return false;
    }
    return true;
}

static bool is_one_of(const char *s, const char *const *words) {
    for (; *words; words++)
        if (strcmp(s, *words) == 0) return true;
    return false;
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool is_core_float(const char *s, size_t n) {
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        size_t fraction = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, fraction++;
        if (digits == 0 && fraction == 0) return false;
    } else if (digits == 0) {
        return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) i++;
        size_t exponent = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, exponent++;
        if (exponent == 0) return false;
    }
    return i == n;
}

/* Resolves a plain scalar by the YAML 1.2 core schema. s is NUL-terminated at n. */
static enum scalar_kind resolve_plain(const char *s, size_t n, lua_Integer *i, double *d, bool *b) {
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const minus_infs[] = {"-.inf", "-.Inf", "-.INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    if (strlen(s) != n) return S_STRING; /* holds a NUL byte */
    if (is_one_of(s, nulls)) return S_NULL;
    if (is_one_of(s, trues) || is_one_of(s, falses)) {
        *b = s[0] == 't' || s[0] == 'T';
        return S_BOOL;
    }
    size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (all_digits(s + sign, n - sign, 10) || (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x') &&
                                               all_digits(s + 2, n - 2, s[1] == 'o' ? 8 : 16))) {
        errno = 0;
        if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
            unsigned long long u = strtoull(s + 2, NULL, s[1] == 'o' ? 8 : 16);
            if (errno == ERANGE || u > (unsigned long long)LUA_MAXINTEGER) return S_STRING;
            *i = (lua_Integer)u;
        } else {
            long long v = strtoll(s, NULL, 10);
            if (errno == ERANGE) return S_STRING; /* beyond 64 bits: keep every digit */
            *i = (lua_Integer)v;
        }
        return S_INT;
    }
    if (is_core_float(s, n)) {
        *d = strtod(s, NULL);
        return S_FLOAT;
    }
    if (is_one_of(s, infs)) {
        *d = HUGE_VAL;
        return S_FLOAT;
    }
    if (is_one_of(s, minus_infs)) {
        *d = -HUGE_VAL;
        return S_FLOAT;
    }
    if (is_one_of(s, nans)) {
        *d = NAN;
        return S_FLOAT;
    }
    return S_STRING;
}

#define CORE_TAG "tag:yaml.org,2002:"

/* Pushes the value of the current scalar event: untagged plain scalars and those with a
 * core tag (!!int, ...) are resolved, everything else is a string. False (failed set)
 * when a core tag does not fit the value (`!!int abc`). */
static bool push_scalar(loader *ld) {
    lua_State *L = ld->L;
    yaml_event_t *ev = &ld->st->event;
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *core = tag && strncmp(tag, CORE_TAG, sizeof CORE_TAG - 1) == 0 ? tag + sizeof CORE_TAG - 1 : NULL;
    bool untagged_plain = tag == NULL && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (core ? strcmp(core, "str") == 0 : !untagged_plain) {
        lua_pushlstring(L, s, n);
        return true;
    }
    lua_Integer i = 0;
    double d = 0;
    bool b = false;
    enum scalar_kind kind = resolve_plain(s, n, &i, &d, &b);
    if (core) {
        bool fits = (strcmp(core, "int") == 0 && kind == S_INT) ||
                    (strcmp(core, "float") == 0 && (kind == S_FLOAT || kind == S_INT)) ||
                    (strcmp(core, "bool") == 0 && kind == S_BOOL) || (strcmp(core, "null") == 0 && kind == S_NULL) ||
                    (strcmp(core, "int") && strcmp(core, "float") && strcmp(core, "bool") && strcmp(core, "null"));
        if (!fits) {
            fail_at(ld, ev->start_mark, "%.40s is not a valid !!%s", s, core);
            return false;
        }
        if (strcmp(core, "float") == 0 && kind == S_INT) {
            kind = S_FLOAT;
            d = (double)i;
        }
    }
    switch (kind) {
    case S_NULL: lua_pushlightuserdata(L, NULL); break; /* json.null */
    case S_BOOL: lua_pushboolean(L, b); break;
    case S_INT: lua_pushinteger(L, i); break;
    case S_FLOAT: lua_pushnumber(L, d); break;
    case S_STRING: lua_pushlstring(L, s, n); break;
    }
    return true;
}

static bool is_null(lua_State *L, int idx) {
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

static bool load_node(loader *ld, int depth);

/* The current event is a mapping start: pushes the table. */
static bool load_mapping(loader *ld, int depth) {
    lua_State *L = ld->L;
    lua_newtable(L);
    int table = lua_gettop(L);
    for (;;) {
        if (!next_event(ld)) return false;
        yaml_event_t *ev = &ld->st->event;
        if (ev->type == YAML_MAPPING_END_EVENT) return true;
        yaml_mark_t key_mark = ev->start_mark;
        if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) {
            fail_at(ld, key_mark, "a key must be a plain value, not a list or mapping");
            return false;
        }
        if (!load_node(ld, depth + 1)) return false;
        if (lua_istable(L, -1) || is_null(L, -1) ||
            (lua_type(L, -1) == LUA_TNUMBER && isnan(lua_tonumber(L, -1)))) {
            fail_at(ld, key_mark, "a key must be a string, number or boolean");
            return false;
        }
        lua_pushvalue(L, -1);
        if (lua_rawget(L, table) != LUA_TNIL) {
            fail_at(ld, key_mark, "duplicate key %.60s", luaL_tolstring(L, -2, NULL));
            return false;
        }
        lua_pop(L, 1);
        if (!next_event(ld) || !load_node(ld, depth + 1)) return false;
        if (is_null(L, -1))
            lua_pop(L, 2); /* absent key */
        else
            lua_rawset(L, table);
    }
}

/* The current event is a sequence start: pushes the array. */
static bool load_sequence(loader *ld, int depth) {
    lua_State *L = ld->L;
    lua_newtable(L);
    for (lua_Integer n = 1;; n++) {
        if (!next_event(ld)) return false;
        if (ld->st->event.type == YAML_SEQUENCE_END_EVENT) return true;
        if (!load_node(ld, depth + 1)) return false;
        lua_rawseti(L, -2, n);
    }
}

/* The current event starts a node: pushes its value. On failure the stack holds junk that
 * the caller drops. */
static bool load_node(loader *ld, int depth) {
    lua_State *L = ld->L;
    yaml_event_t *ev = &ld->st->event;
    yaml_mark_t mark = ev->start_mark;
    if (depth > MAX_DEPTH) {
        fail_at(ld, mark, "nested deeper than %d levels", MAX_DEPTH);
        return false;
    }
    luaL_checkstack(L, 8, "front matter nested too deeply");
    const char *anchor = NULL;
    long before = ld->values;
    bool ok;
    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        lua_getfield(L, ld->anchor_sizes, name);
        if (lua_isnil(L, -1)) {
            fail_at(ld, mark, "unknown alias *%.60s (aliases must follow their anchor's complete value)", name);
            return false;
        }
        long size = (long)lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (!count_values(ld, size, mark)) return false;
        lua_getfield(L, ld->anchors, name);
        return true;
    }
    case YAML_SCALAR_EVENT:
        anchor = (const char *)ev->data.scalar.anchor;
        ok = count_values(ld, 1, mark) && push_scalar(ld);
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = (const char *)ev->data.sequence_start.anchor;
        /* the anchor name belongs to this event: keep it in Lua before the next one */
        if (anchor) lua_pushstring(L, anchor);
        ok = count_values(ld, 1, mark) && load_sequence(ld, depth);
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = (const char *)ev->data.mapping_start.anchor;
        if (anchor) lua_pushstring(L, anchor);
        ok = count_values(ld, 1, mark) && load_mapping(ld, depth);
        break;
    default:
        fail_at(ld, mark, "unexpected YAML event");
        return false;
    }
    if (!ok || anchor == NULL) return ok;
    if (ev->type == YAML_SCALAR_EVENT) {
        lua_pushstring(L, anchor);
        lua_insert(L, -2);
    }
    /* stack: anchor name, value */
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, ld->anchors);
    lua_pushvalue(L, -2);
    lua_pushinteger(L, ld->values - before);
    lua_rawset(L, ld->anchor_sizes);
    lua_remove(L, -2);
    return true;
}

/* Pushes the document's root value and whether it is a mapping; an empty stream is an
 * empty mapping. */
static bool load_document(loader *ld, bool *is_mapping) {
    lua_State *L = ld->L;
    if (!next_event(ld)) return false; /* stream start */
    if (!next_event(ld)) return false;
    if (ld->st->event.type == YAML_STREAM_END_EVENT) {
        lua_newtable(L);
        *is_mapping = true;
        return true;
    }
    if (!next_event(ld)) return false; /* after document start: the root node */
    yaml_event_type_t root = ld->st->event.type;
    yaml_mark_t mark = ld->st->event.start_mark;
    if (!load_node(ld, 0)) return false;
    if (is_null(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        root = YAML_MAPPING_START_EVENT;
    }
    *is_mapping = root == YAML_MAPPING_START_EVENT || (root == YAML_ALIAS_EVENT && lua_istable(L, -1));
    if (!*is_mapping) {
        fail_at(ld, mark, "front matter must be a mapping of keys to values");
        return false;
    }
    if (!next_event(ld)) return false; /* document end */
    if (!next_event(ld)) return false;
    if (ld->st->event.type != YAML_STREAM_END_EVENT) {
        fail_at(ld, ld->st->event.start_mark, "more than one YAML document");
        return false;
    }
    return true;
}

int md_push_yaml(lua_State *L, const char *yaml, size_t len, int first_line) {
    int base = lua_gettop(L);
    yaml_state *st = lua_newuserdatauv(L, sizeof *st, 0);
    memset(st, 0, sizeof *st);
    luaL_setmetatable(L, YAML_STATE_MT);
    if (!yaml_parser_initialize(&st->parser)) return luaL_error(L, "not enough memory");
    st->parser_ready = true;
    yaml_parser_set_input_string(&st->parser, (const unsigned char *)yaml, len);
    lua_newtable(L);
    lua_newtable(L);
    loader ld = {.L = L, .st = st, .anchors = base + 2, .anchor_sizes = base + 3, .first_line = first_line};
    bool is_mapping = false;
    bool ok = load_document(&ld, &is_mapping);
    /* free libyaml's memory now rather than at the next collection */
    lua_pushcfunction(L, yaml_state_gc);
    lua_pushvalue(L, base + 1);
    lua_call(L, 1, 0);
    if (ok) {
        lua_copy(L, -1, base + 1);
        lua_settop(L, base + 1);
        return 1;
    }
    lua_settop(L, base);
    lua_pushnil(L);
    char message[400];
    snprintf(message, sizeof message, "invalid front matter at line %d, column %d: %s", ld.line, ld.column,
             ld.message);
    wpl_error_push(L, "invalid_front_matter", message, 0, false);
    lua_pushinteger(L, ld.line);
    lua_setfield(L, -2, "line");
    lua_pushinteger(L, ld.column);
    lua_setfield(L, -2, "column");
    return 2;
}

void md_yaml_open(lua_State *L) {
    if (luaL_newmetatable(L, YAML_STATE_MT)) {
        lua_pushcfunction(L, yaml_state_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
}
