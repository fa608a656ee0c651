-- Limits and the sandbox, through the wpl command: each escape is tried and fails; each
-- limit ends the recipe with a clear message, whatever pcall the recipe hides behind.
local t = require "testing"
local fs = require "wpl.fs"
local time = require "wpl.time"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local base, stop = t.fake_server(60)

local dir = os.tmpname()
os.remove(dir)
assert(fs.mkdir(dir .. "/recipes"))
assert(fs.write(dir .. "/outside.txt", "secret outside"))
assert(fs.write(dir .. "/recipes/inside.txt", "fine inside"))
assert(os.execute(("ln -s %s/outside.txt %s/recipes/link.txt"):format(dir, dir)))

local function run(flags, code)
  local path = dir .. "/recipes/r.lua"
  assert(fs.write(path, code))
  local started = time.monotonic()
  local status, out, err = t.run(wpl .. " " .. flags .. " run " .. path)
  return status, out, err, time.monotonic() - started
end

t.test("--max-memory: the recipe gets a memory error, the message says so", function()
  local code, _, err = run("--max-memory 16M", "local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(100) .. i end")
  t.eq(code, 1)
  t.ok(err:find("memory limit of 16384 KiB exceeded", 1, true), err)
  code = run("--max-memory 16M", "local s = ('x'):rep(1000) print(#s)")
  t.eq(code, 0, "a small recipe runs fine under the limit")
end)

t.test("--timeout ends a busy loop even behind pcall", function()
  local code, _, err, took = run("--timeout 0.5s", [[
    while true do pcall(function() while true do end end) end
  ]])
  t.eq(code, 1)
  t.ok(err:find("time limit of 0.5 s exceeded", 1, true), err)
  t.ok(took < 5, "ended promptly")
end)

t.test("--timeout covers waiting for HTTP", function()
  local code, _, err, took = run("--timeout 1s", ([[
    local http = require "wpl.http"
    local ok = pcall(http.request, {url = %q})
    while true do end
  ]]):format(base .. "/hang?s=10"))
  t.eq(code, 1)
  t.ok(err:find("time limit of 1 s exceeded", 1, true), err)
  t.ok(took < 5, "did not wait for the hanging server")
end)

t.test("--max-instructions", function()
  local code, _, err = run("--max-instructions 1000000", "local n = 0 while true do n = n + 1 end")
  t.eq(code, 1)
  t.ok(err:find("instruction limit", 1, true), err)
end)

local escapes = {
  {"os.execute", "os.execute('touch /tmp/wpl-sandbox-escaped')", "os.execute is not available in sandbox mode"},
  {"io.popen", "io.popen('id')", "io.popen is not available in sandbox mode"},
  {"package.loadlib", "package.loadlib('/lib/x86_64-linux-gnu/libc.so.6', 'system')", "package.loadlib is not available"},
  {"os.exit", "os.exit(0)", "os.exit is not available"},
  {"debug", "assert(debug == nil and package.loaded.debug == nil) debug.getinfo(1)", "attempt to index a nil value"},
  {"binary chunk", "assert(load(string.dump(function() return 1 end)))", "attempt to load a binary chunk"},
  {"io.open outside", "assert(io.open('/etc/passwd'))", "outside the allowed folders"},
  {"io.open relative escape", "assert(io.open(arg[0]:match('^(.*)/') .. '/../outside.txt'))", "outside the allowed folders"},
  {"a symbolic link out", "assert(io.open(arg[0]:match('^(.*)/') .. '/link.txt'))", "outside the allowed folders"},
  {"io.lines outside", "for l in io.lines('/etc/hostname') do end", "outside the allowed folders"},
  {"wpl.fs outside", "require('wpl.fs').read('/etc/passwd')", "outside the allowed folders"},
  {"wpl.fs list outside", "require('wpl.fs').list('/etc')", "outside the allowed folders"},
  {"writing outside", "require('wpl.fs').write('/tmp/wpl-sandbox-escaped', 'x')", "outside the allowed folders"},
  {"os.rename outside", "os.rename(arg[0], '/tmp/wpl-sandbox-escaped')", "outside the allowed folders"},
  {"a database outside", "require('wpl.store').open('/tmp/wpl-sandbox-escaped.db')", "outside the allowed folders"},
  {"loadfile outside", "loadfile('/etc/passwd')", "outside the allowed folders"},
  {"HTTP to an unknown host", ("require('wpl.http').request{url = %q}"):format(base .. "/keepalive"), "HTTP to '127.0.0.1' is not allowed"},
  {"native modules", "require('lpeg')", "module 'lpeg' not found"},
}

for _, e in ipairs(escapes) do
  t.test("sandbox refuses: " .. e[1], function()
    local code, _, err = run("--sandbox", e[2])
    t.eq(code, 1, e[1])
    t.ok(err:find(e[3], 1, true), err)
  end)
end
t.ok(not fs.exists("/tmp/wpl-sandbox-escaped"), "nothing got out")

t.test("sandbox allows what is inside: files beside the recipe, allowed hosts", function()
  local code, out, err = run("--sandbox --allow-host 127.0.0.1", ([[
    local here = arg[0]:match('^(.*)/')
    local f = assert(io.open(here .. '/inside.txt'))
    print(f:read('a'))
    f:close()
    assert(require('wpl.fs').write(here .. '/made.txt', 'ok'))
    print(assert(require('wpl.http').request{url = %q}).status)
  ]]):format(base .. "/keepalive"))
  t.eq(code, 0, err)
  t.eq(out, "fine inside\n200\n")
  code, out = run("--sandbox --allow-dir " .. dir, "print(assert(io.open(" .. ("%q"):format(dir .. "/outside.txt") .. ")):read('a'))")
  t.eq(code, 0)
  t.eq(out, "secret outside\n")
end)

t.test("a recipe cannot turn off --dry-run", function()
  local code, _, err = run("--dry-run", "require('wpl.http').dry_run(false)")
  t.eq(code, 1)
  t.ok(err:find("dry run can only be turned on", 1, true), err)
end)

stop()
os.execute("rm -rf " .. dir)
t.finish()
