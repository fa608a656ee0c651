-- The real WordPress stops in the middle of a markdown_site.lua run, then starts again: the
-- re-run completes the set with no duplicates and no lost history. Runs alone (RUN_SERIAL).
local t = require "testing"
local fs = require "wpl.fs"
local json = require "wpl.json"
local time = require "wpl.time"
local env = t.wordpress()
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local source = os.getenv("WPL_SOURCE_DIR")
local testbed = source .. "/tests/wordpress/wp-testbed"

local dir = os.tmpname()
os.remove(dir)
assert(fs.mkdir(dir .. "/content"))
local marker = t.unique("Restart")
for i = 1, 40 do
  assert(fs.write(("%s/content/p%02d.md"):format(dir, i),
    ("---\ntitle: %s %d\ncategories: [Restart %d]\n---\n\nBody %d\n"):format(marker, i, i % 5, i)))
end
local db = dir .. "/wpl.db"
local cmd = ("WPL_DB=%s WPL_URL=%s WPL_USER=%s WPL_APP_PASSWORD=%s %s run %s/recipes/markdown_site.lua --set dir=%s/content --concurrency 1 --json")
  :format(db, env.url, env.user, t.shell_quote(env.app_password), wpl, source, dir)

t.test("stopped mid-run, restarted, re-run: the whole set, once", function()
  local out_file = dir .. "/first.out"
  local log = t.access_log_since("POST /wp-json/batch/v1")
  os.execute(("(%s > %s 2>&1; echo $? > %s/first.code) &"):format(cmd, out_file, dir))
  t.ok(t.wait_for(function() return #log() > 0 end, 60), "the first batch went through")
  assert(os.execute(testbed .. " stop >/dev/null 2>&1"))
  t.wait_for(function() return fs.exists(dir .. "/first.code") end, 120)
  assert(os.execute(testbed .. " start >/dev/null 2>&1"))
  t.eq(tonumber(fs.read(dir .. "/first.code")), 1, "the first run failed part of the set")
  local code, out, err = t.run(cmd)
  t.eq(code, 0, err)
  local summary = json.decode(out:match("({.*})%s*$"))
  t.eq(summary.failed, 0)
  local total, duplicates = t.count_posts(marker)
  t.eq(duplicates, 0, "no duplicates")
  t.eq(total, 40)
  local h = assert(require("wpl.store").open(db))
  local created = assert(h:first("SELECT count(*) AS n FROM history WHERE action IN ('created', 'adopted') AND outcome = 'ok'")).n
  t.eq(created, 40, "every post's creation is in the history")
  t.eq(assert(h:first("PRAGMA integrity_check")).integrity_check, "ok")
end)

os.execute("rm -rf " .. dir)
t.finish()
