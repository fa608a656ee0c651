-- wpl.recipe: declared parameters from --set, --help, usage errors (exit 2), a failed item
-- (exit 1 after the others, no traceback), the summary as text and JSON.
local t = require "testing"
local recipe = require "wpl.recipe"
local json = require "wpl.json"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local script = dir .. "/r.lua"
local f = assert(io.open(script, "w"))
f:write([[
local recipe = require "wpl.recipe"
local p = recipe.params{
  description = "A test recipe.",
  {name = "count", type = "integer", default = 2, help = "how many"},
  {name = "mode", type = "choice", choices = {"a", "b"}, default = "a"},
  {name = "tags", type = "list", default = {}},
  {name = "fail_at", type = "integer"},
  {name = "name", type = "string", required = true, help = "who"},
}
local run = recipe.run{total = p.count, label = "things", json = p.json}
for i = 1, p.count do
  if i == p.fail_at then run:item("failed", "thing " .. i, {error = "it broke"})
  else run:item(i % 2 == 0 and "updated" or "created", "thing " .. i, {id = i}) end
end
print("params", p.name, p.mode, #p.tags, p.dry_run)
run:finish()
]])
f:close()

t.test("parameters are filled from --set with type checks", function()
  local v = recipe.params({{name = "n", type = "integer"}, {name = "on", type = "boolean", default = false},
                           {name = "x", type = "number", default = 1.5}},
                          {"--set", "n=7", "--set=on=yes", "pos"})
  t.eq(v.n, 7)
  t.eq(v.on, true)
  t.eq(v.x, 1.5)
  t.eq(v.args[1], "pos")
end)

t.test("a run prints its summary; --json prints it as JSON", function()
  local code, out = t.run(wpl .. " run " .. script .. " --set name=Ann --set count=3 --set tags=x,y")
  t.eq(code, 0)
  t.ok(out:find("params\tAnn\ta\t2\tfalse", 1, true), out)
  t.ok(out:find("created 2, updated 1, unchanged 0, failed 0 (3 things in", 1, true), out)
  code, out = t.run(wpl .. " run " .. script .. " --set name=Ann --json")
  t.eq(code, 0)
  local summary = json.decode(out:match("\n({.*})\n$"))
  t.eq(summary.created, 1)
  t.eq(summary.updated, 1)
  t.eq(#summary.items, 2)
  t.eq(summary.items[2].id, 2)
end)

t.test("a failed item: the others finish, the exit status is 1, no traceback", function()
  local code, out, err = t.run(wpl .. " run " .. script .. " --set name=Ann --set count=4 --set fail_at=2")
  t.eq(code, 1)
  t.ok(out:find("created 2, updated 1, unchanged 0, failed 1", 1, true), out)
  t.ok(err:find("thing 2 failed: it broke", 1, true), err)
  t.ok(err:find("wpl: 1 of 4 things failed", 1, true), err)
  t.ok(not err:find("stack traceback", 1, true), "no traceback for an expected failure")
end)

t.test("usage errors exit 2 and say what to fix; --help exits 0", function()
  local cases = {
    {"", "missing --set name=..."},
    {"--set name=A --set count=many", "count must be a whole number, not 'many'"},
    {"--set name=A --set mode=c", "mode must be one of a, b, not 'c'"},
    {"--set name=A --set nope=1", "this recipe has no parameter 'nope'"},
    {"--set name=A --frobnicate", "unknown option '--frobnicate'"},
    {"--set name", "--set takes NAME=VALUE"},
  }
  for _, c in ipairs(cases) do
    local code, _, err = t.run(wpl .. " run " .. script .. " " .. c[1])
    t.eq(code, 2, c[1])
    t.ok(err:find(c[2], 1, true), err)
    t.ok(not err:find("stack traceback", 1, true))
  end
  local code, out, err = t.run(wpl .. " run " .. script .. " --help")
  t.eq(code, 0, err)
  t.ok(out:find("A test recipe.", 1, true) and out:find("count", 1, true) and out:find("how many (integer, default 2)", 1, true), out)
  t.eq(err, "")
end)

t.test("--dry-run reaches wpl.http wherever it stands", function()
  local code, out = t.run(wpl .. " run " .. script .. " --set name=A --dry-run")
  t.eq(code, 0)
  t.ok(out:find("params\tA\ta\t0\ttrue", 1, true), out)
  t.ok(out:find("dry run: created", 1, true), out)
  local probe = dir .. "/probe.lua"
  local g = assert(io.open(probe, "w"))
  g:write([[
    local http = require "wpl.http"
    local r = assert(http.request{method = "POST", url = "http://127.0.0.1:9/never", body = "x"})
    print(http.dry_run(), r.status, r.dry_run, r.body)
  ]])
  g:close()
  code, out = t.run(wpl .. " --dry-run run " .. probe)
  t.eq(code, 0)
  t.eq(out, "true\t200\ttrue\tx\n", "the write never left: port 9 would refuse it")
  code, out = t.run(wpl .. " run " .. probe .. " --dry-run")
  t.eq(out, "true\t200\ttrue\tx\n", "after the recipe's path too")
end)

os.execute("rm -rf " .. dir)
t.finish()
