/* wpl.store's SQLite layer: errors, the statement cache, binding and rows (store.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "store.h"

const char wpl_store_blob_key = 0;

/* ---------------------------------------------------------------- errors */

void wpl_store_capture_failure(store_db *db, int rc, bool in_prepare, sql_failure *f) {
    int extended = sqlite3_extended_errcode(db->handle);
    f->code = (extended & 0xff) == (rc & 0xff) ? extended : rc;
    f->in_prepare = in_prepare;
    snprintf(f->message, sizeof f->message, "%s", sqlite3_errmsg(db->handle));
}

/* SQL that does not compile, a bad parameter index, or API misuse: the caller's bug. */
bool wpl_store_is_programmer_error(const sql_failure *f) {
    int primary = f->code & 0xff;
    return primary == SQLITE_MISUSE || primary == SQLITE_RANGE || (f->in_prepare && primary == SQLITE_ERROR);
}

static const char *error_code_name(int code) {
    switch (code & 0xff) {
    case SQLITE_BUSY: return "sqlite_busy";
    case SQLITE_LOCKED: return "sqlite_locked";
    case SQLITE_CONSTRAINT: return "sqlite_constraint";
    case SQLITE_READONLY: return "sqlite_readonly";
    case SQLITE_FULL: return "sqlite_full";
    case SQLITE_CANTOPEN: return "sqlite_cantopen";
    case SQLITE_NOTADB: return "sqlite_notadb";
    case SQLITE_CORRUPT: return "sqlite_corrupt";
    case SQLITE_IOERR: return "sqlite_ioerr";
    case SQLITE_NOMEM: return "sqlite_nomem";
    case SQLITE_PERM: return "sqlite_perm";
    case SQLITE_TOOBIG: return "sqlite_toobig";
    case SQLITE_MISMATCH: return "sqlite_mismatch";
    case SQLITE_ABORT: return "sqlite_abort";
    case SQLITE_INTERRUPT: return "sqlite_interrupt";
    case SQLITE_PROTOCOL: return "sqlite_protocol";
    default: return "sqlite_error";
    }
}

/* Pushes a wpl error {code=, message=, retryable=, sqlite_code=, sql=} for f. */
void wpl_store_push_failure(lua_State *L, const store_db *db, const sql_failure *f, const char *sql) {
    const char *path = db->path ? db->path : "?";
    int primary = f->code & 0xff;
    const char *message;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        message = lua_pushfstring(L, "database '%s' is busy: %s (another connection held its lock for more than %d ms)",
                                  path, f->message, db->busy_timeout_ms);
    else if (primary == SQLITE_READONLY)
        message = lua_pushfstring(L, "cannot write to database '%s': %s (is the file or its folder read-only, "
                                     "or was it opened with readonly = true?)", path, f->message);
    else if (primary == SQLITE_FULL)
        message = lua_pushfstring(L, "database '%s': %s (the disk is full)", path, f->message);
    else
        message = lua_pushfstring(L, "database '%s': %s", path, f->message);
    wpl_error_push(L, error_code_name(f->code), message,
                   0, primary == SQLITE_BUSY || primary == SQLITE_LOCKED);
    lua_remove(L, -2);
    lua_pushinteger(L, f->code);
    lua_setfield(L, -2, "sqlite_code");
    if (sql) {
        lua_pushstring(L, sql);
        lua_setfield(L, -2, "sql");
    }
}

/* The outcome of a failed SQL call: raises for programmer errors, else returns nil, err. */
int wpl_store_fail(lua_State *L, const store_db *db, const sql_failure *f, const char *sql) {
    if (wpl_store_is_programmer_error(f)) return luaL_error(L, "wpl.store: %s\n  in SQL: %s", f->message, sql);
    lua_pushnil(L);
    wpl_store_push_failure(L, db, f, sql);
    return 2;
}

/* ---------------------------------------------------------------- statements */

/* True when only blanks, semicolons and comments remain. */
static bool only_blank(const char *s, const char *end) {
    while (s < end) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ';') {
            s++;
        } else if (s + 1 < end && s[0] == '-' && s[1] == '-') {
            while (s < end && *s != '\n') s++;
        } else if (s + 1 < end && s[0] == '/' && s[1] == '*') {
            const char *close = NULL;
            for (const char *p = s + 2; p + 1 < end; p++)
                if (p[0] == '*' && p[1] == '/') { close = p; break; }
            s = close ? close + 2 : end;
        } else {
            return false;
        }
    }
    return true;
}

static int cache_lookup(store_db *db, const char *sql, size_t len) {
    for (int i = 0; i < STMT_CACHE_SIZE; i++) {
        cached_stmt *c = &db->cache[i];
        if (c->sql && c->sql_len == len && memcmp(c->sql, sql, len) == 0) return i;
    }
    return -1;
}

/* An empty slot, else the least recently used one not handed out (evicted); -1 if none. */
static int cache_free_slot(store_db *db) {
    int victim = -1;
    for (int i = 0; i < STMT_CACHE_SIZE; i++) {
        cached_stmt *c = &db->cache[i];
        if (c->sql == NULL) return i;
        if (!c->in_use && (victim < 0 || c->last_use < db->cache[victim].last_use)) victim = i;
    }
    if (victim >= 0) {
        sqlite3_finalize(db->cache[victim].stmt);
        free(db->cache[victim].sql);
        memset(&db->cache[victim], 0, sizeof db->cache[victim]);
    }
    return victim;
}

/* Takes a statement for the first statement of sql (ref->stmt NULL when sql holds none).
 * Single statements come from, and go into, the cache. Returns an SQLite result code. */
int wpl_store_take_stmt(store_db *db, const char *sql, size_t len, stmt_ref *ref, sql_failure *f) {
    ref->stmt = NULL;
    ref->slot = -1;
    ref->single = true;
    int slot = cache_lookup(db, sql, len);
    if (slot >= 0 && !db->cache[slot].in_use) {
        cached_stmt *c = &db->cache[slot];
        c->in_use = true;
        c->last_use = ++db->use_clock;
        ref->stmt = c->stmt;
        ref->slot = slot;
        return SQLITE_OK;
    }
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(db->handle, sql, (int)len, &ref->stmt, &tail);
    if (rc != SQLITE_OK) {
        wpl_store_capture_failure(db, rc, true, f);
        return rc;
    }
    db->statements_prepared++;
    ref->single = tail == NULL || only_blank(tail, sql + len);
    if (ref->stmt == NULL || !ref->single || slot >= 0) return SQLITE_OK;
    slot = cache_free_slot(db);
    char *copy = slot >= 0 ? malloc(len + 1) : NULL;
    if (copy == NULL) return SQLITE_OK; /* works uncached */
    memcpy(copy, sql, len);
    copy[len] = '\0';
    db->cache[slot] = (cached_stmt){copy, len, ref->stmt, ++db->use_clock, true};
    ref->slot = slot;
    return SQLITE_OK;
}

/* Gives a statement back: reset and unbound into the cache, or finalized. Closing the
 * database finalizes every statement, so after that there is nothing to give back. */
void wpl_store_give_back_stmt(store_db *db, stmt_ref *ref) {
    if (ref->stmt == NULL) return;
    if (db->handle != NULL) {
        if (ref->slot >= 0) {
            sqlite3_reset(ref->stmt);
            sqlite3_clear_bindings(ref->stmt);
            db->cache[ref->slot].in_use = false;
        } else {
            sqlite3_finalize(ref->stmt);
        }
    }
    ref->stmt = NULL;
}

/* ---------------------------------------------------------------- binding */

static bool is_blob(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return false;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &wpl_store_blob_key);
    bool blob = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return blob;
}

/* Raises for values that cannot be bound; runs before a statement is taken. */
void wpl_store_check_values(lua_State *L, int first, int count) {
    bool named = count == 1 && lua_type(L, first) == LUA_TTABLE;
    if (named) {
        lua_pushnil(L);
        while (lua_next(L, first)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "wpl.store: named parameters need string keys, got a %s key", luaL_typename(L, -2));
            int t = lua_type(L, -1);
            if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TTHREAD || (t == LUA_TUSERDATA && !is_blob(L, -1)) ||
                t == LUA_TLIGHTUSERDATA)
                luaL_error(L, "wpl.store: cannot bind a %s (parameter '%s')", luaL_typename(L, -1), lua_tostring(L, -2));
            lua_pop(L, 1);
        }
        return;
    }
    for (int i = first; i < first + count; i++) {
        int t = lua_type(L, i);
        if (t == LUA_TTABLE)
            luaL_argerror(L, i, "a table of named values must be the only value");
        if (t == LUA_TFUNCTION || t == LUA_TTHREAD || t == LUA_TLIGHTUSERDATA || (t == LUA_TUSERDATA && !is_blob(L, i)))
            luaL_argerror(L, i, lua_pushfstring(L, "cannot bind a %s", luaL_typename(L, i)));
    }
}

/* Binds the value at idx (already checked). Allocates no Lua memory. */
static int bind_one(lua_State *L, sqlite3_stmt *stmt, int param, int idx) {
    size_t len;
    const char *s;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return sqlite3_bind_int(stmt, param, lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) return sqlite3_bind_int64(stmt, param, lua_tointeger(L, idx));
        return sqlite3_bind_double(stmt, param, lua_tonumber(L, idx));
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        return sqlite3_bind_text64(stmt, param, s, len, SQLITE_TRANSIENT, SQLITE_UTF8);
    case LUA_TUSERDATA: {
        lua_getiuservalue(L, idx, 1);
        s = lua_tolstring(L, -1, &len);
        int rc = sqlite3_bind_blob64(stmt, param, len ? s : "", len, SQLITE_TRANSIENT);
        lua_pop(L, 1);
        return rc;
    }
    default: return sqlite3_bind_null(stmt, param);
    }
}

/* Binds count values from the stack (or one table of named values) to stmt. Neither raises
 * nor allocates Lua memory (STACK_NEEDED slots must be free); on failure fills why. */
bool wpl_store_bind_values(lua_State *L, sqlite3_stmt *stmt, int first, int count, char *why, size_t cap) {
    int params = sqlite3_bind_parameter_count(stmt);
    if (!(count == 1 && lua_type(L, first) == LUA_TTABLE)) {
        if (count != params) {
            snprintf(why, cap, "the SQL has %d parameter%s but %d value%s given", params, params == 1 ? "" : "s",
                     count, count == 1 ? " was" : "s were");
            return false;
        }
        for (int i = 0; i < count; i++) {
            int rc = bind_one(L, stmt, i + 1, first + i);
            if (rc != SQLITE_OK) {
                snprintf(why, cap, "cannot bind value %d: %s", i + 1, sqlite3_errstr(rc));
                return false;
            }
        }
        return true;
    }
    for (int i = 1; i <= params; i++) {
        if (sqlite3_bind_parameter_name(stmt, i) == NULL) {
            snprintf(why, cap, "named values were given but the SQL has a positional parameter (?)");
            return false;
        }
    }
    lua_pushnil(L);
    while (lua_next(L, first)) {
        size_t len;
        const char *key = lua_tolstring(L, -2, &len);
        char name[128];
        int param = 0;
        bool fits = len + 2 <= sizeof name && strlen(key) == len;
        for (const char *prefix = ":@$"; *prefix && param == 0 && fits; prefix++) {
            name[0] = *prefix;
            memcpy(name + 1, key, len + 1);
            param = sqlite3_bind_parameter_index(stmt, name);
        }
        if (param == 0) {
            snprintf(why, cap, "the SQL has no parameter named ':%.100s'", key);
            lua_pop(L, 2);
            return false;
        }
        int rc = bind_one(L, stmt, param, -1);
        lua_pop(L, 1);
        if (rc != SQLITE_OK) {
            snprintf(why, cap, "cannot bind '%.100s': %s", key, sqlite3_errstr(rc));
            lua_pop(L, 1);
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- rows */

static void push_column(lua_State *L, sqlite3_stmt *stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER: lua_pushinteger(L, sqlite3_column_int64(stmt, i)); break;
    case SQLITE_FLOAT: lua_pushnumber(L, sqlite3_column_double(stmt, i)); break;
    case SQLITE_TEXT:
    case SQLITE_BLOB: {
        const void *p = sqlite3_column_blob(stmt, i);
        int n = sqlite3_column_bytes(stmt, i);
        if (p == NULL && n > 0) luaL_error(L, "wpl.store: not enough memory for a column");
        lua_pushlstring(L, p ? p : "", (size_t)n);
        break;
    }
    default: lua_pushnil(L);
    }
}

/* Pushes the current row as {column = value}. Finalizers run by the allocations may close
 * the database, so the connection is checked before each use of the statement. */
void wpl_store_push_row(lua_State *L, store_db *db, sqlite3_stmt *stmt) {
    int n = sqlite3_column_count(stmt);
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        if (db->handle == NULL) luaL_error(L, "database is closed");
        lua_pushstring(L, sqlite3_column_name(stmt, i));
        if (db->handle == NULL) luaL_error(L, "database is closed");
        push_column(L, stmt, i);
        lua_rawset(L, -3);
    }
}

/* Runs every statement of a script (no parameters), adding their changes to *changes. */
int wpl_store_run_script(store_db *db, const char *sql, size_t len, lua_Integer *changes, sql_failure *f) {
    const char *rest = sql, *end = sql + len;
    while (rest < end && !only_blank(rest, end)) {
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        int rc = sqlite3_prepare_v2(db->handle, rest, (int)(end - rest), &stmt, &tail);
        if (rc != SQLITE_OK) {
            wpl_store_capture_failure(db, rc, true, f);
            return rc;
        }
        db->statements_prepared++;
        if (stmt == NULL) break;
        sqlite3_int64 before = sqlite3_total_changes64(db->handle);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {}
        if (rc != SQLITE_DONE) wpl_store_capture_failure(db, rc, false, f);
        else if (sqlite3_total_changes64(db->handle) != before) *changes += sqlite3_changes64(db->handle);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE) return rc;
        rest = tail;
    }
    return SQLITE_OK;
}

/* Steps a taken, bound statement to the end. */
int wpl_store_run_stmt(store_db *db, sqlite3_stmt *stmt, lua_Integer *changes, sql_failure *f) {
    sqlite3_int64 before = sqlite3_total_changes64(db->handle);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {}
    if (rc != SQLITE_DONE) {
        wpl_store_capture_failure(db, rc, false, f);
        return rc;
    }
    /* sqlite3_changes keeps the count of the last INSERT/UPDATE/DELETE: only ours if it moved */
    if (sqlite3_total_changes64(db->handle) != before) *changes += sqlite3_changes64(db->handle);
    return SQLITE_OK;
}

int wpl_store_exec_simple(store_db *db, const char *sql, sql_failure *f) {
    lua_Integer changes = 0;
    return wpl_store_run_script(db, sql, strlen(sql), &changes, f);
}
