-- The wpl command line: exit codes, usage, errors with file:line and a traceback.
local t = require "testing"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))

local function write(name, text)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

t.test("version and help", function()
  local code, out = t.run(wpl .. " version")
  t.eq(code, 0)
  t.ok(out:match("^wpl %d+%.%d+%.%d+\n$"), "version line")
  for _, flag in ipairs({"help", "--help", "-h"}) do
    code, out = t.run(wpl .. " " .. flag)
    t.eq(code, 0, flag)
    t.ok(out:find("usage: wpl", 1, true) and out:find("run RECIPE", 1, true), "usage text")
  end
end)

t.test("usage errors exit 2 with the usage line", function()
  for _, args in ipairs({"", "run", "frobnicate", "--bogus run x.lua", "run --log-format xml x.lua",
                         "-q -v run x.lua", "run " .. dir .. "/does-not-exist.lua"}) do
    local code, out, err = t.run(wpl .. " " .. args)
    t.eq(code, 2, "'wpl " .. args .. "'")
    t.eq(out, "")
    t.ok(err:find("usage: wpl", 1, true), "usage on stderr for '" .. args .. "'")
  end
end)

t.test("a recipe gets its arguments; options may come before or after run", function()
  local r = write("args.lua", "print(select('#', ...), table.concat({...}, ' '), #arg)")
  for _, cmd in ipairs({" run ", " -v run ", " run -v ", " --log-format json run -q "}) do
    local code, out = t.run(wpl .. cmd .. r .. " a -v --x")
    t.eq(code, 0, cmd)
    t.eq(out, "3\ta -v --x\t3\n", cmd)
  end
end)

t.test("a failing recipe exits 1 with file:line and a traceback, once", function()
  local r = write("fail.lua", "local function inner()\n  error('something broke')\nend\ninner()\n")
  local code, out, err = t.run(wpl .. " run " .. r)
  t.eq(code, 1)
  t.eq(out, "")
  t.ok(err:find("fail.lua:2: something broke", 1, true), "file:line in " .. err)
  t.ok(err:find("stack traceback:", 1, true), "traceback")
  t.ok(err:find("fail.lua:4: in main chunk", 1, true), "caller frame")
  local _, count = err:gsub("something broke", "")
  t.eq(count, 1, "reported once")
  t.ok(not err:find("[C]: in ?", 1, true), "no C-level noise")
end)

t.test("a syntax error exits 1 and names the line", function()
  local r = write("syntax.lua", "local x = \nprint(")
  local code, _, err = t.run(wpl .. " run " .. r)
  t.eq(code, 1)
  t.ok(err:find("syntax.lua:2:", 1, true), err)
end)

t.test("log lines follow -v, -q and --log-format", function()
  local r = write("log.lua", "local log = require 'wpl.log'\nlog.debug('dbg')\nlog.info('inf', {k = 'v'})\nlog.error('err')\n")
  local _, _, err = t.run(wpl .. " run " .. r)
  t.ok(not err:find("dbg") and err:find("info  inf k=v", 1, true) and err:find("error err", 1, true), err)
  _, _, err = t.run(wpl .. " -v run " .. r)
  t.ok(err:find("debug dbg", 1, true), err)
  _, _, err = t.run(wpl .. " run -q " .. r)
  t.ok(not err:find("inf") and err:find("err"), err)
  _, _, err = t.run(wpl .. " --log-format=json run " .. r)
  t.ok(err:find('"level":"info","msg":"inf","k":"v"}', 1, true), err)
end)

t.test("WPL_LUA_PATH makes edits under lua/ take effect without rebuilding", function()
  assert(os.execute("mkdir -p " .. dir .. "/lua/wpl"))
  write("lua/wpl/url.lua", "return {edited = true}")
  local r = write("edited.lua", "print(require('wpl.url').edited)")
  local code, out = t.run("WPL_LUA_PATH=" .. dir .. "/lua " .. wpl .. " run " .. r)
  t.eq(code, 0)
  t.eq(out, "true\n")
  code, out = t.run(wpl .. " run " .. r)
  t.eq(out, "nil\n", "without the variable, the embedded module")
end)

os.execute("rm -rf " .. dir)
t.finish()
