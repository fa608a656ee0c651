-- The database under faults: a full disk gives a clear error and loses nothing already
-- written; a writer killed with SIGKILL at random moments never leaves it corrupt.
local t = require "testing"
local store = require "wpl.store"
local fs = require "wpl.fs"
local time = require "wpl.time"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))

local dir = os.tmpname()
os.remove(dir)
assert(fs.mkdir(dir))

t.test("a full database is a clear error; what was written stays", function()
  local db = assert(store.open(dir .. "/full.db"))
  assert(db:exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
  assert(db:exec("INSERT INTO notes (body) VALUES (?)", "kept"))
  assert(db:exec("PRAGMA max_page_count = " .. assert(db:first("PRAGMA page_count")).page_count + 2))
  local ok, err
  for _ = 1, 50 do
    ok, err = db:exec("INSERT INTO notes (body) VALUES (?)", ("x"):rep(4000))
    if not ok then break end
  end
  t.eq(ok, nil)
  t.eq(err.code, "sqlite_full")
  t.ok(err.message:find("full", 1, true), err.message)
  t.eq(assert(db:first("SELECT body FROM notes WHERE id = 1")).body, "kept")
  db:close()
end)

t.test("SIGKILL during writes never corrupts the database", function()
  local path = dir .. "/killed.db"
  local writer = dir .. "/writer.lua"
  assert(fs.write(writer, ([[
    local store = require "wpl.store"
    local db = assert(store.open(%q))
    assert(db:exec("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body TEXT)"))
    for i = 1, 1e9 do
      assert(db:transaction(function()
        for j = 1, 20 do assert(db:exec("INSERT INTO rows (body) VALUES (?)", ("row %%d %%d "):format(i, j):rep(20))) end
      end))
    end
  ]]):format(path)))
  for round = 1, 5 do -- bounded: five kills
    t.kill_at_random(("%s run %s"):format(wpl, writer), 0.15, 0.35)
    time.sleep(0.05)
    local db = assert(store.open(path))
    t.eq(assert(db:first("PRAGMA integrity_check")).integrity_check, "ok", "round " .. round)
    local count = assert(db:first("SELECT count(*) AS n FROM rows")).n
    t.eq(count % 20, 0, "whole transactions only")
    db:close()
  end
end)

os.execute("rm -rf " .. dir)
t.finish()
