/* wpl.store: SQLite for recipes and for wpl itself (statements, binding and rows are in
 * store_sql.c).
 *
 * A database is a userdata whose __gc and __close run one idempotent close; query
 * iterators keep their database alive through a user value and check that it is still
 * open before touching their statement, so no statement outlives its connection.
 *
 * No Lua function is ever registered into SQLite, and nothing that can raise runs while a
 * statement is held by exec/first: values are checked before a statement is taken, bound
 * without allocating Lua memory, and rows are converted only after sqlite3_step returned
 * (in a protected call where a statement must be given back afterwards). So a Lua error
 * never unwinds through SQLite's frames and never strands a statement. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "store.h"

#define DB_MT "wpl.store.db"
#define ROWS_MT "wpl.store.rows"
#define BLOB_MT "wpl.store.blob"
#define DEFAULT_BUSY_TIMEOUT_MS 5000

typedef struct rows {
    store_db *db;         /* kept alive by the user value */
    stmt_ref ref;         /* ref.stmt NULL once finished */
    bool row_pending;     /* query() stepped the first row; not returned yet */
    bool finished;
} rows;

/* ---------------------------------------------------------------- paths (shared with crypto.c) */

bool wpl_push_xdg_path(lua_State *L, const char *xdg_var, const char *home_default, const char *rel) {
    const char *base = getenv(xdg_var);
    if (base && base[0] == '/') { /* the XDG spec ignores relative values */
        lua_pushfstring(L, "%s/%s", base, rel);
        return true;
    }
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0') return false;
    lua_pushfstring(L, "%s/%s/%s", home, home_default, rel);
    return true;
}

int wpl_make_parent_dirs(const char *path, char *failed_dir, size_t cap) {
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf) return ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        struct stat st;
        if (mkdir(buf, 0700) != 0) {
            int err = errno;
            if (err != EEXIST && !(stat(buf, &st) == 0 && S_ISDIR(st.st_mode))) {
                snprintf(failed_dir, cap, "%s", buf);
                return err;
            }
        }
        *p = '/';
    }
    return 0;
}

/* ---------------------------------------------------------------- database userdata */

enum db_state_check { DB_OPEN, DB_MAY_BE_CLOSED };

static store_db *todb(lua_State *L, enum db_state_check check) {
    store_db *db = luaL_checkudata(L, 1, DB_MT);
    if (check == DB_OPEN && db->handle == NULL) luaL_error(L, "database is closed");
    return db;
}

/* Finalizes every statement (cached or held by live iterators) and closes; idempotent. */
static void close_db(store_db *db) {
    if (db->handle != NULL) {
        sqlite3_stmt *stmt;
        while ((stmt = sqlite3_next_stmt(db->handle, NULL)) != NULL) sqlite3_finalize(stmt);
        sqlite3_close_v2(db->handle);
        db->handle = NULL;
    }
    for (int i = 0; i < STMT_CACHE_SIZE; i++) free(db->cache[i].sql);
    memset(db->cache, 0, sizeof db->cache);
    free(db->path);
    db->path = NULL;
}

static int db_close(lua_State *L) {
    close_db(todb(L, DB_MAY_BE_CLOSED));
    lua_pushboolean(L, 1);
    return 1;
}

static int db_gc(lua_State *L) {
    close_db(todb(L, DB_MAY_BE_CLOSED));
    return 0;
}

static int db_tostring(lua_State *L) {
    store_db *db = todb(L, DB_MAY_BE_CLOSED);
    if (db->handle == NULL) lua_pushliteral(L, "wpl.store.db (closed)");
    else lua_pushfstring(L, "wpl.store.db (%s)", db->path);
    return 1;
}

static int raise_bind_error(lua_State *L, store_db *db, stmt_ref *ref, const char *why, const char *sql) {
    wpl_store_give_back_stmt(db, ref);
    return luaL_error(L, "wpl.store: %s\n  in SQL: %s", why, sql);
}

static const char *check_sql(lua_State *L, size_t *len) {
    const char *sql = luaL_checklstring(L, 2, len);
    luaL_argcheck(L, *len < INT_MAX, 2, "SQL text too long");
    return sql;
}

/* db:exec(sql, ...) -> changes, last_insert_rowid | nil, err. Without values, sql may be a
 * script of several statements. */
static int db_exec(lua_State *L) {
    store_db *db = todb(L, DB_OPEN);
    size_t len;
    const char *sql = check_sql(L, &len);
    int count = lua_gettop(L) - 2;
    luaL_checkstack(L, STACK_NEEDED, NULL);
    wpl_store_check_values(L, 3, count);
    stmt_ref ref;
    sql_failure f;
    lua_Integer changes = 0;
    int rc = wpl_store_take_stmt(db, sql, len, &ref, &f);
    if (rc == SQLITE_OK && ref.stmt != NULL && !ref.single) {
        wpl_store_give_back_stmt(db, &ref);
        if (count > 0) return luaL_error(L, "wpl.store: values can only be bound to a single statement\n  in SQL: %s", sql);
        rc = wpl_store_run_script(db, sql, len, &changes, &f);
    } else if (rc == SQLITE_OK && ref.stmt != NULL) {
        char why[256];
        if (!wpl_store_bind_values(L, ref.stmt, 3, count, why, sizeof why)) return raise_bind_error(L, db, &ref, why, sql);
        rc = wpl_store_run_stmt(db, ref.stmt, &changes, &f);
        wpl_store_give_back_stmt(db, &ref);
    } else if (rc == SQLITE_OK && count > 0) {
        return luaL_error(L, "wpl.store: values given but the SQL holds no statement");
    }
    if (rc != SQLITE_OK) return wpl_store_fail(L, db, &f, sql);
    lua_pushinteger(L, changes);
    lua_pushinteger(L, sqlite3_last_insert_rowid(db->handle));
    return 2;
}

/* Takes and binds the single statement of a query/first call; raises on misuse. Returns
 * an SQLite result code (f filled when not SQLITE_OK). */
static int prepare_single(lua_State *L, store_db *db, const char *sql, size_t len, int first, int count,
                          stmt_ref *ref, sql_failure *f) {
    int rc = wpl_store_take_stmt(db, sql, len, ref, f);
    if (rc != SQLITE_OK) return rc;
    if (ref->stmt == NULL) luaL_error(L, "wpl.store: the SQL holds no statement");
    if (!ref->single) {
        wpl_store_give_back_stmt(db, ref);
        luaL_error(L, "wpl.store: one statement expected (use db:exec for scripts)\n  in SQL: %s", sql);
    }
    char why[256];
    if (!wpl_store_bind_values(L, ref->stmt, first, count, why, sizeof why)) raise_bind_error(L, db, ref, why, sql);
    return SQLITE_OK;
}

/* Run by db:first in protected mode, so its statement is given back even if this raises. */
static int push_row_protected(lua_State *L) {
    wpl_store_push_row(L, lua_touserdata(L, 1), lua_touserdata(L, 2));
    return 1;
}

/* db:first(sql, ...) -> row | nil (no row) | nil, err */
static int db_first(lua_State *L) {
    store_db *db = todb(L, DB_OPEN);
    size_t len;
    const char *sql = check_sql(L, &len);
    int count = lua_gettop(L) - 2;
    luaL_checkstack(L, STACK_NEEDED, NULL);
    wpl_store_check_values(L, 3, count);
    stmt_ref ref;
    sql_failure f;
    int rc = prepare_single(L, db, sql, len, 3, count, &ref, &f);
    if (rc != SQLITE_OK) return wpl_store_fail(L, db, &f, sql);
    rc = sqlite3_step(ref.stmt);
    if (rc == SQLITE_DONE) {
        wpl_store_give_back_stmt(db, &ref);
        lua_pushnil(L);
        return 1;
    }
    if (rc != SQLITE_ROW) {
        wpl_store_capture_failure(db, rc, false, &f);
        wpl_store_give_back_stmt(db, &ref);
        return wpl_store_fail(L, db, &f, sql);
    }
    lua_pushcfunction(L, push_row_protected);
    lua_pushlightuserdata(L, db);
    lua_pushlightuserdata(L, ref.stmt);
    int status = lua_pcall(L, 2, 1, 0);
    wpl_store_give_back_stmt(db, &ref);
    if (status != LUA_OK) return lua_error(L);
    return 1;
}

/* ---------------------------------------------------------------- query iterators */

static rows *torows(lua_State *L) { return luaL_checkudata(L, 1, ROWS_MT); }

static void finish_rows(rows *r) {
    wpl_store_give_back_stmt(r->db, &r->ref);
    r->row_pending = false;
    r->finished = true;
}

static int rows_gc(lua_State *L) {
    finish_rows(torows(L));
    return 0;
}

/* The generic-for iterator: the next row, nil at the end. Errors raise (a for loop cannot
 * take nil, err): a wpl error table for failures of the world. */
static int rows_next(lua_State *L) {
    rows *r = torows(L);
    if (r->finished) {
        lua_pushnil(L);
        return 1;
    }
    if (r->db->handle == NULL) return luaL_error(L, "database is closed");
    if (r->row_pending) {
        r->row_pending = false;
        wpl_store_push_row(L, r->db, r->ref.stmt);
        return 1;
    }
    int rc = sqlite3_step(r->ref.stmt);
    if (rc == SQLITE_ROW) {
        wpl_store_push_row(L, r->db, r->ref.stmt);
        return 1;
    }
    sql_failure f;
    if (rc != SQLITE_DONE) wpl_store_capture_failure(r->db, rc, false, &f);
    const char *sql = rc != SQLITE_DONE ? lua_pushstring(L, sqlite3_sql(r->ref.stmt)) : NULL;
    finish_rows(r);
    if (rc == SQLITE_DONE) {
        lua_pushnil(L);
        return 1;
    }
    if (wpl_store_is_programmer_error(&f)) return luaL_error(L, "wpl.store: %s\n  in SQL: %s", f.message, sql);
    wpl_store_push_failure(L, r->db, &f, sql);
    return lua_error(L);
}

/* db:query(sql, ...) -> iterator, rows, nil, rows (for `for row in db:query(...)`; leaving
 * the loop early closes the rows) | nil, err when the query cannot start. */
static int db_query(lua_State *L) {
    store_db *db = todb(L, DB_OPEN);
    size_t len;
    const char *sql = check_sql(L, &len);
    int count = lua_gettop(L) - 2;
    luaL_checkstack(L, STACK_NEEDED + 4, NULL);
    wpl_store_check_values(L, 3, count);
    rows *r = lua_newuserdatauv(L, sizeof *r, 1);
    memset(r, 0, sizeof *r);
    r->db = db;
    r->ref.slot = -1;
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, ROWS_MT);
    int rows_index = lua_gettop(L);
    sql_failure f;
    int rc = prepare_single(L, db, sql, len, 3, count, &r->ref, &f);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(r->ref.stmt);
        if (rc == SQLITE_ROW) {
            r->row_pending = true;
            rc = SQLITE_OK;
        } else {
            if (rc != SQLITE_DONE) wpl_store_capture_failure(db, rc, false, &f);
            else rc = SQLITE_OK;
            finish_rows(r);
        }
    }
    if (rc != SQLITE_OK) return wpl_store_fail(L, db, &f, sql);
    lua_pushcfunction(L, rows_next);
    lua_pushvalue(L, rows_index);
    lua_pushnil(L);
    lua_pushvalue(L, rows_index);
    return 4;
}

/* ---------------------------------------------------------------- transactions */

/* Undoes the innermost transaction level if SQLite has not already rolled it back. */
static void roll_back(store_db *db, bool nested, int depth) {
    if (db->handle == NULL || sqlite3_get_autocommit(db->handle)) return;
    sql_failure ignored;
    char sql[96];
    if (nested) snprintf(sql, sizeof sql, "ROLLBACK TO wpl_%d; RELEASE wpl_%d", depth, depth);
    else snprintf(sql, sizeof sql, "ROLLBACK");
    wpl_store_exec_simple(db, sql, &ignored);
}

enum tx_outcome { TX_COMMITTED, TX_FAILED, TX_RAISED };

/* Calls the function on top of the stack with the db (at index 1) as its argument, inside
 * BEGIN IMMEDIATE..COMMIT, or inside a SAVEPOINT when a transaction is open.
 * TX_COMMITTED: the function's results replace it on the stack. TX_FAILED: BEGIN or COMMIT
 * failed (nothing committed), a wpl error replaces it. TX_RAISED: the function raised and
 * its work was rolled back; its error value replaces it. */
static enum tx_outcome call_in_transaction(lua_State *L, store_db *db) {
    int base = lua_gettop(L) - 1;
    bool nested = !sqlite3_get_autocommit(db->handle);
    int depth = db->transaction_depth + 1;
    char sql[64];
    if (nested) snprintf(sql, sizeof sql, "SAVEPOINT wpl_%d", depth);
    else snprintf(sql, sizeof sql, "BEGIN IMMEDIATE");
    sql_failure f;
    if (wpl_store_exec_simple(db, sql, &f) != SQLITE_OK) {
        lua_pop(L, 1);
        wpl_store_push_failure(L, db, &f, sql);
        return TX_FAILED;
    }
    db->transaction_depth = depth;
    lua_pushvalue(L, 1);
    int status = lua_pcall(L, 1, LUA_MULTRET, 0);
    db->transaction_depth = depth - 1;
    if (status != LUA_OK) {
        roll_back(db, nested, depth);
        return TX_RAISED;
    }
    if (db->handle == NULL) {
        lua_settop(L, base);
        lua_pushliteral(L, "database is closed (closed inside its own transaction)");
        return TX_RAISED;
    }
    if (nested) snprintf(sql, sizeof sql, "RELEASE wpl_%d", depth);
    else snprintf(sql, sizeof sql, "COMMIT");
    if (wpl_store_exec_simple(db, sql, &f) != SQLITE_OK) {
        roll_back(db, nested, depth);
        lua_settop(L, base);
        wpl_store_push_failure(L, db, &f, sql);
        return TX_FAILED;
    }
    return TX_COMMITTED;
}

/* db:transaction(fn) -> true, ...fn's results | nil, err (BEGIN or COMMIT failed).
 * fn(db) raising rolls back and re-raises its error unchanged. */
static int db_transaction(lua_State *L) {
    store_db *db = todb(L, DB_OPEN);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushboolean(L, 1);
    lua_insert(L, 2);
    switch (call_in_transaction(L, db)) {
    case TX_COMMITTED: return lua_gettop(L) - 1;
    case TX_FAILED: lua_pushnil(L); lua_replace(L, 2); return 2;
    default: return lua_error(L);
    }
}

/* ---------------------------------------------------------------- migrations */

static int read_user_version(store_db *db, lua_Integer *version, sql_failure *f) {
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db->handle, "PRAGMA user_version", -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) *version = sqlite3_column_int64(stmt, 0);
    }
    if (rc != SQLITE_OK && rc != SQLITE_ROW) wpl_store_capture_failure(db, rc, false, f);
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

typedef struct migration {
    bool world_error; /* the step failed with a wpl error (not a bug): return it as nil, err */
} migration;

static int raise_world_error(lua_State *L, migration *m) {
    m->world_error = true;
    return lua_error(L);
}

/* One migration step, run by call_in_transaction. Upvalues: the step (SQL or function),
 * its target version, the migration state. Another process may have done it already. */
static int migration_step(lua_State *L) {
    store_db *db = todb(L, DB_OPEN);
    lua_Integer target = lua_tointeger(L, lua_upvalueindex(2));
    migration *m = lua_touserdata(L, lua_upvalueindex(3));
    lua_Integer version = 0, changes = 0;
    sql_failure f;
    if (read_user_version(db, &version, &f) != SQLITE_OK) {
        wpl_store_push_failure(L, db, &f, "PRAGMA user_version");
        return raise_world_error(L, m);
    }
    if (version >= target) return 0;
    if (lua_type(L, lua_upvalueindex(1)) == LUA_TSTRING) {
        size_t len;
        const char *sql = lua_tolstring(L, lua_upvalueindex(1), &len);
        if (wpl_store_run_script(db, sql, len, &changes, &f) != SQLITE_OK) {
            if (wpl_store_is_programmer_error(&f)) return luaL_error(L, "wpl.store: %s\n  in SQL: %s", f.message, sql);
            wpl_store_push_failure(L, db, &f, sql);
            return raise_world_error(L, m);
        }
    } else {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushvalue(L, 1);
        lua_call(L, 1, 2);
        if (lua_isnil(L, -2) && !lua_isnil(L, -1)) return raise_world_error(L, m); /* returned nil, err */
        if (db->handle == NULL) return luaL_error(L, "database is closed");
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", (long long)target);
    if (wpl_store_exec_simple(db, sql, &f) != SQLITE_OK) {
        wpl_store_push_failure(L, db, &f, sql);
        return raise_world_error(L, m);
    }
    return 0;
}

/* db:migrate(steps) -> version | nil, err. steps[i] (SQL or function(db)) takes the schema
 * from user_version i-1 to i, each in its own transaction with the version update. */
static int db_migrate(lua_State *L) {
    store_db *db = todb(L, DB_OPEN);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_Integer count = luaL_len(L, 2);
    for (lua_Integer i = 1; i <= count; i++) {
        int t = lua_geti(L, 2, i);
        if (t != LUA_TSTRING && t != LUA_TFUNCTION)
            luaL_error(L, "wpl.store: migration %d must be SQL or a function, got %s", (int)i, luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    lua_Integer version = 0;
    sql_failure f;
    if (read_user_version(db, &version, &f) != SQLITE_OK) return wpl_store_fail(L, db, &f, "PRAGMA user_version");
    if (version > count) {
        lua_pushnil(L);
        wpl_error_push(L, "schema_too_new",
                       lua_pushfstring(L, "database '%s' has schema version %d but this program knows only up to "
                                          "version %d: it was written by a newer version; upgrade wpl",
                                       db->path, (int)version, (int)count), 0, false);
        lua_remove(L, -2);
        return 2;
    }
    migration m = {false};
    for (lua_Integer target = version + 1; target <= count; target++) {
        lua_geti(L, 2, target);
        lua_pushinteger(L, target);
        lua_pushlightuserdata(L, &m);
        lua_pushcclosure(L, migration_step, 3);
        enum tx_outcome outcome = call_in_transaction(L, db);
        if (outcome == TX_RAISED && !m.world_error) return lua_error(L);
        if (outcome != TX_COMMITTED) {
            if (lua_istable(L, -1)) {
                lua_getfield(L, -1, "message");
                lua_pushfstring(L, "migration to schema version %d failed: %s", (int)target, lua_tostring(L, -1));
                lua_setfield(L, -3, "message");
                lua_pop(L, 1);
            }
            lua_pushnil(L);
            lua_insert(L, -2);
            return 2;
        }
        lua_settop(L, 2);
    }
    if (read_user_version(db, &version, &f) != SQLITE_OK) return wpl_store_fail(L, db, &f, "PRAGMA user_version");
    lua_pushinteger(L, version);
    return 1;
}

/* db:stats() -> {statements_prepared = n, statements_cached = n} */
static int db_stats(lua_State *L) {
    store_db *db = todb(L, DB_OPEN);
    int cached = 0;
    for (int i = 0; i < STMT_CACHE_SIZE; i++) cached += db->cache[i].sql != NULL;
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, db->statements_prepared);
    lua_setfield(L, -2, "statements_prepared");
    lua_pushinteger(L, cached);
    lua_setfield(L, -2, "statements_cached");
    return 1;
}

/* ---------------------------------------------------------------- opening */

/* Pushes the path store.open uses by default; false (nothing pushed) when there is none. */
static bool push_default_path(lua_State *L) {
    const wpl_runtime *rt = wpl_runtime_of(L);
    if (rt->db_path && rt->db_path[0]) {
        lua_pushstring(L, rt->db_path);
        return true;
    }
    const char *env = getenv("WPL_DB");
    if (env && env[0]) {
        lua_pushstring(L, env);
        return true;
    }
    return wpl_push_xdg_path(L, "XDG_DATA_HOME", ".local/share", "wpl/wpl.db");
}

static int no_default_path(lua_State *L) {
    return wpl_error_return(L, "no_db_path", "no database path: set WPL_DB or HOME (or pass a path)", 0, false);
}

/* store.user_id() -> the local owner of sites in this runtime (wpl_options.user_id) */
static int store_user_id(lua_State *L) {
    lua_pushstring(L, wpl_runtime_of(L)->user_id);
    return 1;
}

/* store.default_path() -> path | nil, err */
static int store_default_path(lua_State *L) {
    return push_default_path(L) ? 1 : no_default_path(L);
}

/* Makes the folders and, mode 0600, the file (so SQLite never creates it with the umask's
 * mode). A file we may not write is left to SQLite, which then opens it read-only. */
static int create_db_file(const char *path, char *what, size_t cap) {
    int err = wpl_make_parent_dirs(path, what, cap);
    if (err != 0) return err;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    err = errno;
    if ((err == EACCES || err == EROFS || err == EPERM) && access(path, F_OK) == 0) return 0;
    snprintf(what, cap, "%s", path);
    return err;
}

static int open_failed(lua_State *L, store_db *db, int rc) {
    sql_failure f;
    if (db->handle) wpl_store_capture_failure(db, rc, false, &f);
    else f = (sql_failure){rc, false, "out of memory"};
    lua_pushnil(L);
    wpl_store_push_failure(L, db, &f, NULL);
    close_db(db);
    return 2;
}

/* store.open([path [, {busy_timeout = ms, readonly = bool}]]) -> db | nil, err */
static int store_open(lua_State *L) {
    int busy_timeout = DEFAULT_BUSY_TIMEOUT_MS;
    bool readonly = false;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
            if (strcmp(key, "busy_timeout") == 0) {
                if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > INT_MAX)
                    luaL_error(L, "store.open: busy_timeout must be a non-negative integer (milliseconds)");
                busy_timeout = (int)lua_tointeger(L, -1);
            } else if (strcmp(key, "readonly") == 0) {
                readonly = lua_toboolean(L, -1);
            } else {
                luaL_error(L, "store.open: unknown option '%s' (known: busy_timeout, readonly)", key);
            }
            lua_pop(L, 1);
        }
    }
    lua_settop(L, 2);
    if (lua_isnil(L, 1)) {
        if (!push_default_path(L)) return no_default_path(L);
        lua_replace(L, 1);
    } else if (strcmp(luaL_checkstring(L, 1), ":memory:") != 0) {
        wpl_sandbox_check_path(L, lua_tostring(L, 1), true); /* the default database is wpl's own */
    }
    size_t path_len;
    const char *path = luaL_checklstring(L, 1, &path_len);
    luaL_argcheck(L, path_len > 0 && strlen(path) == path_len, 1, "must be a non-empty path without NUL bytes");
    lua_settop(L, 2);

    store_db *db = lua_newuserdatauv(L, sizeof *db, 0);
    memset(db, 0, sizeof *db);
    luaL_setmetatable(L, DB_MT);
    db->busy_timeout_ms = busy_timeout;
    db->path = malloc(path_len + 1);
    if (db->path == NULL) return luaL_error(L, "not enough memory");
    memcpy(db->path, path, path_len + 1);

    bool in_memory = strcmp(path, ":memory:") == 0;
    if (!in_memory && !readonly) {
        char what[PATH_MAX];
        int err = create_db_file(path, what, sizeof what);
        if (err != 0) {
            lua_pushnil(L);
            wpl_error_push(L, "sqlite_cantopen",
                           lua_pushfstring(L, "cannot create database '%s': %s: %s", path, what, strerror(err)), 0, false);
            lua_remove(L, -2);
            close_db(db);
            return 2;
        }
    }
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &db->handle, flags, NULL);
    if (rc != SQLITE_OK) return open_failed(L, db, rc);
    sqlite3_busy_timeout(db->handle, busy_timeout);
    sql_failure f;
    if ((rc = wpl_store_exec_simple(db, "PRAGMA foreign_keys = ON", &f)) != SQLITE_OK ||
        (!sqlite3_db_readonly(db->handle, "main") && (rc = wpl_store_exec_simple(db, "PRAGMA journal_mode = WAL", &f)) != SQLITE_OK)) {
        lua_pushnil(L);
        wpl_store_push_failure(L, db, &f, NULL);
        close_db(db);
        return 2;
    }
    return 1;
}

/* store.blob(s) -> a value that binds as a BLOB instead of TEXT */
static int store_blob(lua_State *L) {
    luaL_checktype(L, 1, LUA_TSTRING);
    lua_newuserdatauv(L, 0, 1);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &wpl_store_blob_key);
    lua_setmetatable(L, -2);
    return 1;
}

/* store.kv(db, namespace) -> kv | nil, err (lua/wpl/kv.lua) */
static int store_kv(lua_State *L) {
    luaL_checkudata(L, 1, DB_MT);
    lua_settop(L, 2);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "wpl.kv");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 2);
    return 2;
}

int luaopen_wpl_store(lua_State *L) {
    static const luaL_Reg db_methods[] = {
        {"exec", db_exec}, {"query", db_query}, {"first", db_first}, {"transaction", db_transaction},
        {"migrate", db_migrate}, {"stats", db_stats}, {"close", db_close}, {NULL, NULL},
    };
    static const luaL_Reg db_meta[] = {
        {"__gc", db_gc}, {"__close", db_gc}, {"__tostring", db_tostring}, {"__index", NULL}, {NULL, NULL},
    };
    static const luaL_Reg rows_meta[] = {{"__gc", rows_gc}, {"__close", rows_gc}, {NULL, NULL}};
    static const luaL_Reg funcs[] = {
        {"open", store_open}, {"default_path", store_default_path}, {"user_id", store_user_id}, {"blob", store_blob}, {"kv", store_kv},
        {NULL, NULL},
    };
    luaL_newmetatable(L, DB_MT);
    luaL_setfuncs(L, db_meta, 0);
    luaL_newlib(L, db_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newmetatable(L, ROWS_MT);
    luaL_setfuncs(L, rows_meta, 0);
    lua_pop(L, 1);
    luaL_newmetatable(L, BLOB_MT);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &wpl_store_blob_key);
    luaL_newlib(L, funcs);
    return 1;
}
