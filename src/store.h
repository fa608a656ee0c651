/* wpl.store's SQLite layer (store_sql.c), shared by store.c; not installed.
 *
 * Contract: nothing here calls Lua code or raises while SQLite is inside a call, and
 * wpl_store_bind_values neither raises nor allocates Lua memory, so a statement taken with
 * wpl_store_take_stmt is always given back. */
#ifndef WPL_STORE_H
#define WPL_STORE_H

#include <sqlite3.h>
#include "internal.h"

#define STMT_CACHE_SIZE 32
#define STACK_NEEDED 8 /* free stack slots wpl_store_bind_values needs (so it never grows it) */

/* Its address keys the blob metatable in the registry: a lookup that allocates nothing. */
extern const char wpl_store_blob_key;

typedef struct cached_stmt {
    char *sql;            /* NULL: empty slot */
    size_t sql_len;
    sqlite3_stmt *stmt;
    unsigned long last_use;
    bool in_use;          /* handed out: never evicted nor handed out twice */
} cached_stmt;

typedef struct store_db {
    sqlite3 *handle;      /* NULL once closed */
    char *path;
    int busy_timeout_ms;
    int transaction_depth; /* transactions and savepoints opened by db:transaction */
    unsigned long use_clock;
    lua_Integer statements_prepared;
    cached_stmt cache[STMT_CACHE_SIZE];
} store_db;

/* A statement taken for one call or one iteration; slot < 0: not cached, finalized when
 * given back. */
typedef struct stmt_ref {
    sqlite3_stmt *stmt;
    int slot;
    bool single; /* the SQL text holds exactly one statement */
} stmt_ref;

typedef struct sql_failure {
    int code;             /* extended result code */
    bool in_prepare;      /* the SQL did not compile */
    char message[512];
} sql_failure;

/* Errors. capture_failure copies SQLite's code and message right after a failed call. */
void wpl_store_capture_failure(store_db *db, int rc, bool in_prepare, sql_failure *f);
/* SQL that does not compile, a bad parameter index, or API misuse: the caller's bug. */
bool wpl_store_is_programmer_error(const sql_failure *f);
/* Pushes a wpl error {code = "sqlite_*", message=, retryable=, sqlite_code=, sql=}. */
void wpl_store_push_failure(lua_State *L, const store_db *db, const sql_failure *f, const char *sql);
/* Raises for programmer errors (with the SQL), else pushes nil, err and returns 2. */
int wpl_store_fail(lua_State *L, const store_db *db, const sql_failure *f, const char *sql);

/* Statements. take_stmt takes one for the first statement of sql (ref->stmt NULL when
 * there is none); single statements come from and go into the cache. Returns an SQLite
 * result code. give_back_stmt resets it into the cache or finalizes it (nothing once the
 * database is closed: closing finalizes every statement). */
int wpl_store_take_stmt(store_db *db, const char *sql, size_t len, stmt_ref *ref, sql_failure *f);
void wpl_store_give_back_stmt(store_db *db, stmt_ref *ref);

/* Binding: check_values raises for values that cannot be bound (call it before taking a
 * statement); bind_values binds count values at first.. (or one table of named values)
 * and on failure returns false with the reason in why. */
void wpl_store_check_values(lua_State *L, int first, int count);
bool wpl_store_bind_values(lua_State *L, sqlite3_stmt *stmt, int first, int count, char *why, size_t cap);

/* Pushes the current row as {column = value} (NULL columns absent). Raises "database is
 * closed" if a finalizer run by its allocations closed the database. */
void wpl_store_push_row(lua_State *L, store_db *db, sqlite3_stmt *stmt);

/* Running: a script of statements without values, a taken and bound statement, or fixed
 * SQL. Changes are added to *changes. Return an SQLite result code (f filled on failure). */
int wpl_store_run_script(store_db *db, const char *sql, size_t len, lua_Integer *changes, sql_failure *f);
int wpl_store_run_stmt(store_db *db, sqlite3_stmt *stmt, lua_Integer *changes, sql_failure *f);
int wpl_store_exec_simple(store_db *db, const char *sql, sql_failure *f);

#endif
