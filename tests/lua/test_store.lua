-- wpl.store: binding, rows, transactions, the statement cache, closing, migrations, file
-- modes, two processes on one file, read-only databases, and wpl.kv.
local t = require "testing"
local store = require "wpl.store"
local time = require "wpl.time"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir .. " && chmod 755 " .. dir))

local function write(name, text)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local function mode_of(path)
  local code, out = t.run("stat -c %a " .. t.shell_quote(path))
  t.eq(code, 0, "stat " .. path)
  return (out:gsub("%s+$", ""))
end

local function memory_db()
  return assert(store.open(":memory:"))
end

t.test("every Lua type binds and comes back as itself", function()
  local db = memory_db()
  local cases = {
    {nil, "null"}, {true, "integer", 1}, {false, "integer", 0}, {42, "integer"}, {-7, "integer"},
    {1.5, "real"}, {0.1, "real"}, {"text", "text"}, {"", "text"}, {"a\0b", "text"},
  }
  for i, case in ipairs(cases) do
    local row = assert(db:first("SELECT typeof(?1) AS type, ?1 AS value", case[1]))
    t.eq(row.type, case[2], "type of case " .. i)
    local expected = case[3] == nil and case[1] or case[3]
    t.eq(row.value, expected, "value of case " .. i)
    t.eq(math.type(row.value), math.type(expected), "number kind of case " .. i)
  end
  local row = assert(db:first("SELECT typeof(?) AS type, ? AS value", store.blob("\0\1\255"), store.blob("\0\1\255")))
  t.eq(row.type, "blob")
  t.eq(row.value, "\0\1\255")
  t.eq(assert(db:first("SELECT typeof(?) AS type", store.blob(""))).type, "blob")
end)

t.test("64-bit integers round trip exactly", function()
  local db = memory_db()
  assert(db:exec("CREATE TABLE n (v INTEGER)"))
  local values = {math.maxinteger, math.mininteger, (1 << 53) + 1, -((1 << 53) + 1), 0}
  for _, v in ipairs(values) do assert(db:exec("INSERT INTO n VALUES (?)", v)) end
  local i = 0
  for row in db:query("SELECT v FROM n ORDER BY rowid") do
    i = i + 1
    t.eq(row.v, values[i])
    t.eq(math.type(row.v), "integer")
  end
  t.eq(i, #values)
end)

t.test("columns: integers, floats, text, blobs; NULL leaves the field out", function()
  local db = memory_db()
  local row = assert(db:first("SELECT 1 AS i, 2.5 AS f, 'x' AS s, x'00ff' AS b, NULL AS n, 3.0 AS whole"))
  t.eq(row.i, 1)
  t.eq(math.type(row.i), "integer")
  t.eq(row.f, 2.5)
  t.eq(row.s, "x")
  t.eq(row.b, "\0\255")
  t.eq(row.n, nil)
  t.eq(math.type(row.whole), "float", "a REAL stays a float")
  t.eq(db:first("SELECT 1 WHERE 0"), nil, "no row")
end)

t.test("named parameters (:name, @name, $name) from one table", function()
  local db = memory_db()
  local row = assert(db:first("SELECT :a AS a, @b AS b, $c AS c, :missing AS m", {a = 1, b = "two", c = 3.5}))
  t.eq(row.a, 1)
  t.eq(row.b, "two")
  t.eq(row.c, 3.5)
  t.eq(row.m, nil, "a value not given is NULL")
  t.raises(function() db:first("SELECT :a", {a = 1, typo = 2}) end, "no parameter named ':typo'")
  t.raises(function() db:first("SELECT ?", {a = 1}) end, "positional parameter")
  t.raises(function() db:first("SELECT :a", {[1] = 1}) end, "string keys")
end)

t.test("misuse raises: value counts, unbindable types, bad SQL (with the SQL)", function()
  local db = memory_db()
  t.raises(function() db:exec("SELECT ?, ?", 1) end, "2 parameters but 1 value was given")
  t.raises(function() db:exec("SELECT 1", 1) end, "0 parameters but 1 value was given")
  t.raises(function() db:exec("SELECT ?", {}, 1) end, "a table of named values must be the only value")
  t.raises(function() db:exec("SELECT ?", print) end, "cannot bind a function")
  t.raises(function() db:exec("SELECT ?", io.stdout) end, "cannot bind a userdata")
  t.raises(function() db:first("SELEKT 1") end, "in SQL: SELEKT 1")
  t.raises(function() db:first("SELECT * FROM no_such_table") end, "no such table: no_such_table")
  t.raises(function() db:first("SELECT 1; SELECT 2") end, "one statement expected")
  t.raises(function() db:exec("SELECT ?; SELECT 2", 1) end, "single statement")
  t.raises(function() db.exec(io.stdout, "SELECT 1") end, "wpl.store.db expected")
end)

t.test("exec returns changes and the last rowid; runs scripts", function()
  local db = memory_db()
  local changes, rowid = db:exec([[
    CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); -- a comment
    INSERT INTO t (v) VALUES ('a'), ('b');
    INSERT INTO t (v) VALUES ('c');
  ]])
  t.eq(changes, 3)
  t.eq(rowid, 3)
  changes, rowid = db:exec("INSERT INTO t (v) VALUES (?)", "d")
  t.eq(changes, 1)
  t.eq(rowid, 4)
  t.eq(db:exec("UPDATE t SET v = v || '!' WHERE id <= ?", 2), 2)
  t.eq(db:exec("SELECT * FROM t"), 0, "a SELECT changes nothing")
  t.eq(db:exec("DELETE FROM t WHERE id > 100"), 0)
  t.eq(db:exec("  -- nothing but a comment\n"), 0)
end)

t.test("world errors are nil, err with code, SQLite's code and the SQL", function()
  local db = memory_db()
  assert(db:exec("CREATE TABLE u (k TEXT PRIMARY KEY, parent TEXT REFERENCES u(k))"))
  assert(db:exec("INSERT INTO u (k) VALUES ('a')"))
  local ok, err = db:exec("INSERT INTO u (k) VALUES (?)", "a")
  t.eq(ok, nil)
  t.eq(err.code, "sqlite_constraint")
  t.eq(err.sqlite_code, 1555, "SQLITE_CONSTRAINT_PRIMARYKEY")
  t.eq(err.retryable, false)
  t.ok(err.message:find("UNIQUE constraint failed: u.k", 1, true), err.message)
  t.eq(err.sql, "INSERT INTO u (k) VALUES (?)")
  ok, err = db:exec("INSERT INTO u (k, parent) VALUES ('b', 'nobody')")
  t.eq(err.code, "sqlite_constraint", "foreign keys are enforced")
  t.eq(err.sqlite_code, 787, "SQLITE_CONSTRAINT_FOREIGNKEY")
end)

t.test("transactions commit, roll back and re-raise the original error", function()
  local db = memory_db()
  assert(db:exec("CREATE TABLE t (v INTEGER)"))
  local ok, a, b = db:transaction(function(tx)
    t.eq(tx, db)
    assert(db:exec("INSERT INTO t VALUES (1)"))
    return "a", "b"
  end)
  t.eq(ok, true)
  t.eq(a, "a")
  t.eq(b, "b")
  local boom = {"a table error"}
  local okp, err = pcall(db.transaction, db, function()
    assert(db:exec("INSERT INTO t VALUES (2)"))
    error(boom)
  end)
  t.eq(okp, false)
  t.eq(err, boom, "the very error value")
  t.eq(db:first("SELECT count(*) AS n FROM t").n, 1, "the failed transaction left nothing")
  t.raises(function() db:transaction(function() error("plain") end) end, "plain")
  t.raises(function() db:transaction("not a function") end, "function expected")
end)

t.test("nested transactions use savepoints", function()
  local db = memory_db()
  assert(db:exec("CREATE TABLE t (v INTEGER)"))
  assert(db:transaction(function()
    assert(db:exec("INSERT INTO t VALUES (1)"))
    local ok = pcall(db.transaction, db, function()
      assert(db:exec("INSERT INTO t VALUES (2)"))
      error("inner fails")
    end)
    t.eq(ok, false)
    assert(db:transaction(function()
      assert(db:exec("INSERT INTO t VALUES (3)"))
      assert(db:transaction(function() assert(db:exec("INSERT INTO t VALUES (4)")) end))
    end))
  end))
  local seen = {}
  for row in db:query("SELECT v FROM t ORDER BY v") do seen[#seen + 1] = row.v end
  t.eq(table.concat(seen, ","), "1,3,4")
  pcall(db.transaction, db, function()
    assert(db:transaction(function() assert(db:exec("INSERT INTO t VALUES (5)")) end))
    error("outer fails")
  end)
  t.eq(db:first("SELECT count(*) AS n FROM t WHERE v = 5").n, 0, "a released savepoint rolls back with its parent")
end)

t.test("statements are prepared once and reused", function()
  local db = memory_db()
  assert(db:exec("CREATE TABLE t (v INTEGER)"))
  local sql = "INSERT INTO t VALUES (?)"
  assert(db:exec(sql, 0))
  local before = db:stats().statements_prepared
  for i = 1, 100 do assert(db:exec(sql, i)) end
  for _ = 1, 20 do assert(db:first("SELECT count(*) AS n FROM t")) end
  t.eq(db:stats().statements_prepared, before + 1, "one prepare for the SELECT, none for the INSERT")
  -- the same SQL inside its own iteration gets a second statement, not the busy one
  local q = "SELECT v FROM t WHERE v < ? ORDER BY v"
  local pairs_seen = 0
  for outer in db:query(q, 3) do
    for inner in db:query(q, 3) do
      pairs_seen = pairs_seen + 1
      t.ok(outer.v < 3 and inner.v < 3)
    end
  end
  t.eq(pairs_seen, 9)
  -- leaving a loop early gives the statement back: no new prepare for the next run
  before = db:stats().statements_prepared
  for _ = 1, 5 do
    for _ in db:query(q, 50) do break end
  end
  t.eq(db:stats().statements_prepared, before)
  -- more distinct statements than the cache holds: evicted ones are prepared again
  for i = 1, 40 do assert(db:first("SELECT " .. i .. " AS v")) end
  t.ok(db:stats().statements_cached <= 32, "the cache is bounded")
end)

t.test("closing with live iterators, in any order, never crashes", function()
  local db = memory_db()
  assert(db:exec("CREATE TABLE t (v INTEGER)"))
  for i = 1, 5 do assert(db:exec("INSERT INTO t VALUES (?)", i)) end
  local next_row, rows = db:query("SELECT v FROM t ORDER BY v")
  t.eq(next_row(rows).v, 1)
  t.eq(db:close(), true)
  t.raises(function() next_row(rows) end, "database is closed")
  t.raises(function() db:exec("SELECT 1") end, "database is closed")
  t.raises(function() db:query("SELECT 1") end, "database is closed")
  t.raises(function() db:transaction(function() end) end, "database is closed")
  t.eq(db:close(), true, "closing twice is fine")
  t.ok(tostring(db):find("closed", 1, true))
  rows, next_row, db = nil, nil, nil
  collectgarbage()
  collectgarbage()

  -- iterator collected before its database, and the other way round, and both at once
  for order = 1, 3 do
    local d = memory_db()
    assert(d:exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2)"))
    local f, r = d:query("SELECT v FROM t")
    f(r)
    if order == 1 then f, r = nil, nil; collectgarbage() end
    if order == 2 then d = nil; collectgarbage(); t.eq(f(r).v, 2, "the iterator keeps its database alive") end
    f, r, d = nil, nil, nil
    collectgarbage()
    collectgarbage()
  end

  -- to-be-closed database and rows
  do
    local d <close> = memory_db()
    local f, r = d:query("SELECT 1 AS v UNION ALL SELECT 2")
    do
      local closing <close> = r
      t.eq(f(r).v, 1)
    end
    t.eq(f(r), nil, "closed rows are finished")
  end
end)

t.test("a database can be closed inside its own transaction or loop", function()
  local db = memory_db()
  assert(db:exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3)"))
  t.raises(function()
    for _ in db:query("SELECT v FROM t") do db:close() end
  end, "database is closed")
  db = memory_db()
  t.raises(function() db:transaction(function() db:close() end) end, "database is closed")
end)

t.test("migrations: fresh, incremental, functions, failures, newer than the code", function()
  local path = dir .. "/migrate.db"
  local steps = {
    "CREATE TABLE site (id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE)",
    "ALTER TABLE site ADD COLUMN name TEXT; CREATE INDEX site_name ON site (name)",
  }
  local db = assert(store.open(path))
  t.eq(assert(db:migrate(steps)), 2)
  t.eq(db:first("PRAGMA user_version").user_version, 2)
  t.eq(assert(db:migrate(steps)), 2, "nothing to do")
  assert(db:exec("INSERT INTO site (url, name) VALUES ('a', 'A'), ('b', 'B')"))

  steps[3] = function(d)
    assert(d:exec("ALTER TABLE site ADD COLUMN slug TEXT"))
    assert(d:exec("UPDATE site SET slug = lower(name)"))
  end
  t.eq(assert(db:migrate(steps)), 3)
  t.eq(db:first("SELECT slug FROM site WHERE url = 'a'").slug, "a")

  steps[4] = "CREATE TABLE half_done (x); INSERT INTO site (url) VALUES ('a')" -- violates UNIQUE
  local v, err = db:migrate(steps)
  t.eq(v, nil)
  t.eq(err.code, "sqlite_constraint")
  t.ok(err.message:find("migration to schema version 4 failed", 1, true), err.message)
  t.eq(db:first("PRAGMA user_version").user_version, 3, "the failed step changed nothing")
  t.eq(db:first("SELECT name FROM sqlite_master WHERE name = 'half_done'"), nil)

  steps[4] = function() return nil, "no thanks" end
  v, err = db:migrate(steps)
  t.eq(v, nil)
  t.ok(tostring(err):find("no thanks", 1, true))
  steps[4] = function() error("step raised") end
  t.raises(function() db:migrate(steps) end, "step raised")
  steps[4] = "CREAT TABLE oops (x)"
  t.raises(function() db:migrate(steps) end, "CREAT TABLE oops")
  t.eq(db:first("PRAGMA user_version").user_version, 3)
  steps[4] = nil

  v, err = db:migrate({steps[1]})
  t.eq(v, nil)
  t.eq(err.code, "schema_too_new")
  t.ok(err.message:find("version 3", 1, true) and err.message:find("only up to version 1", 1, true), err.message)
  t.raises(function() db:migrate({42}) end, "migration 1 must be SQL or a function")
  db:close()
end)

t.test("the file is created 0600 (folders 0700) in WAL mode", function()
  local path = dir .. "/new/deeper/wpl.db"
  local db = assert(store.open(path))
  t.eq(mode_of(path), "600")
  t.eq(mode_of(dir .. "/new"), "700")
  t.eq(mode_of(dir .. "/new/deeper"), "700")
  t.eq(db:first("PRAGMA journal_mode").journal_mode, "wal")
  t.eq(db:first("PRAGMA foreign_keys").foreign_keys, 1)
  assert(db:exec("CREATE TABLE t (v)"))
  t.eq(mode_of(path .. "-wal"), "600", "SQLite gives its side files the database's mode")
  db:close()
  local bad, err = store.open(path .. "/cannot-be-under-a-file.db")
  t.eq(bad, nil)
  t.eq(err.code, "sqlite_cantopen")
  bad, err = store.open(write("not-a-db", ("this is not a database\n"):rep(100)))
  t.eq(bad, nil)
  t.eq(err.code, "sqlite_notadb")
  t.raises(function() store.open(path, {busy_timout = 10}) end, "unknown option 'busy_timout'")
end)

t.test("the default path: runtime option, WPL_DB, XDG_DATA_HOME, HOME", function()
  local script = write("default_path.lua", [[
    local store = require "wpl.store"
    print(store.default_path())
    if arg[1] == "open" then assert(store.open()):close() end
  ]])
  local run = " " .. wpl .. " run " .. script
  local cases = {
    {"env -u XDG_DATA_HOME WPL_DB=" .. dir .. "/env.db", dir .. "/env.db"},
    {"env -u WPL_DB XDG_DATA_HOME=" .. dir .. "/xdg", dir .. "/xdg/wpl/wpl.db"},
    {"env -u WPL_DB XDG_DATA_HOME=relative HOME=" .. dir .. "/home", dir .. "/home/.local/share/wpl/wpl.db"},
  }
  for _, case in ipairs(cases) do
    local code, out, err = t.run(case[1] .. run .. " open")
    t.eq(code, 0, err)
    t.eq(out, case[2] .. "\n")
    t.eq(mode_of(case[2]), "600")
  end
  local code, out = t.run("env -u WPL_DB -u XDG_DATA_HOME -u HOME" .. run)
  t.eq(code, 0)
  t.ok(out:find("no_db_path", 1, true), out)
end)

t.test("a second process holding the write lock: busy error or wait, then proceed", function()
  local path = dir .. "/shared.db"
  local db = assert(store.open(path))
  assert(db:exec("CREATE TABLE t (who TEXT)"))
  local holder = write("hold_lock.lua", [[
    local store, time = require "wpl.store", require "wpl.time"
    local db = assert(store.open(arg[1]))
    assert(db:transaction(function()
      assert(db:exec("INSERT INTO t VALUES ('child')"))
      io.stdout:write("locked\n")
      io.stdout:flush()
      time.sleep(tonumber(arg[2]))
    end))
    io.stdout:write("released\n")
  ]])
  local child = assert(io.popen(wpl .. " run " .. holder .. " " .. t.shell_quote(path) .. " 1.5"))
  t.eq(child:read("l"), "locked")

  local impatient = assert(store.open(path, {busy_timeout = 100}))
  local started = time.monotonic()
  local ok, err = impatient:exec("INSERT INTO t VALUES ('impatient')")
  t.eq(ok, nil)
  t.eq(err.code, "sqlite_busy")
  t.eq(err.retryable, true)
  t.ok(err.message:find("is busy", 1, true), err.message)
  ok, err = impatient:transaction(function() error("never runs") end)
  t.eq(ok, nil)
  t.eq(err.code, "sqlite_busy", "BEGIN IMMEDIATE waits for the lock, then gives up")
  t.ok(time.monotonic() - started < 1.2, "gave up after its own timeout")
  t.eq(impatient:first("SELECT count(*) AS n FROM t").n, 0, "readers are not blocked (WAL)")

  started = time.monotonic()
  assert(db:exec("INSERT INTO t VALUES ('parent')"))
  local waited = time.monotonic() - started
  t.ok(waited > 0.3 and waited < 5, "waited for the other process: " .. waited .. " s")
  t.eq(child:read("l"), "released")
  child:close()
  local who = {}
  for row in db:query("SELECT who FROM t ORDER BY rowid") do who[#who + 1] = row.who end
  t.eq(table.concat(who, ","), "child,parent")
  impatient:close()
  db:close()
end)

t.test("read-only databases give sqlite_readonly with a clear message", function()
  local path = dir .. "/ro/readonly.db"
  local db = assert(store.open(path))
  assert(db:exec("CREATE TABLE t (v); INSERT INTO t VALUES (1)"))
  db:close()

  -- a file without write permission; root ignores permissions, so then run as nobody
  local script = write("write_readonly.lua", [[
    local store = require "wpl.store"
    local db = assert(store.open(arg[1]))
    print(assert(db:first("SELECT v FROM t")).v)
    local ok, err = db:exec("INSERT INTO t VALUES (2)")
    print(ok, err.code, err.message)
  ]])
  assert(os.execute("chmod 777 " .. dir .. "/ro && chmod 444 " .. t.shell_quote(path)))
  local _, uid = t.run("id -u")
  local as_user = uid:match("^0%s") and "setpriv --reuid=65534 --regid=65534 --clear-groups " or ""
  local code, out, stderr = t.run(as_user .. wpl .. " run " .. script .. " " .. t.shell_quote(path))
  t.eq(code, 0, stderr)
  t.ok(out:find("^1\nnil\tsqlite_readonly\tcannot write to database '" .. path:gsub("%p", "%%%0") .. "'"), out)
  t.ok(out:find("read-only", 1, true), out)

  -- opened with readonly = true (this leaves the WAL side files: a reader may not remove them)
  local ro = assert(store.open(path, {readonly = true}))
  t.eq(ro:first("SELECT v FROM t").v, 1)
  local ok, err = ro:exec("INSERT INTO t VALUES (2)")
  t.eq(ok, nil)
  t.eq(err.code, "sqlite_readonly")
  t.ok(err.message:find("cannot write to database '" .. path .. "'", 1, true), err.message)
  ro:close()
  local missing
  missing, err = store.open(dir .. "/ro/absent.db", {readonly = true})
  t.eq(missing, nil)
  t.eq(err.code, "sqlite_cantopen", "readonly never creates the file")
end)

t.test("kv remembers JSON values per namespace", function()
  local path = dir .. "/kv.db"
  local db = assert(store.open(path))
  local kv = assert(store.kv(db, "recipe-a"))
  local other = assert(store.kv(db, "recipe-b"))
  t.eq(kv:get("missing"), nil)
  assert(kv:set("post", {id = 123, tags = {"x", "y"}, big = math.maxinteger}))
  assert(kv:set("count", 3))
  assert(kv:set("flag", false))
  assert(kv:set("name", "héllo"))
  assert(other:set("post", "someone else's"))
  local post = kv:get("post")
  t.eq(post.id, 123)
  t.eq(math.type(post.id), "integer")
  t.eq(post.tags[2], "y")
  t.eq(post.big, math.maxinteger)
  t.eq(kv:get("count"), 3)
  t.eq(kv:get("flag"), false)
  t.eq(kv:get("name"), "héllo")
  t.eq(table.concat(kv:keys(), ","), "count,flag,name,post")
  assert(kv:set("count", 4))
  assert(kv:delete("flag"))
  assert(kv:set("name", nil))
  assert(kv:delete("never-there"))
  db:close()

  db = assert(store.open(path))
  kv = assert(store.kv(db, "recipe-a"))
  t.eq(kv:get("count"), 4, "remembered across runs")
  t.eq(table.concat(kv:keys(), ","), "count,post")
  t.eq(store.kv(db, "recipe-b"):get("post"), "someone else's")
  local row = db:first("SELECT updated_at FROM kv WHERE namespace = 'recipe-a' AND key = 'count'")
  t.ok(row.updated_at:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+Z$"), row.updated_at)
  t.raises(function() kv:get(1) end, "key must be a string")
  t.raises(function() store.kv(db, "") end, "namespace must be a non-empty string")
  db:close()
end)

os.execute("chmod -R u+w " .. dir .. " 2>/dev/null; rm -rf " .. dir)
t.finish()
