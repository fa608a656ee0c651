-- A small test harness for Lua tests run by `wpl run`: test(name, fn), assertions that say
-- what differed, and a closing "N passed, N failed" line (non-zero exit on failure).
local M = {}
local passed, failed = 0, 0

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function M.test(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
    print("ok   " .. name)
  else
    failed = failed + 1
    print("FAIL " .. name .. "\n     " .. tostring(err):gsub("\n", "\n     "))
  end
end

function M.eq(actual, expected, what)
  if actual ~= expected then
    error((what and what .. ": " or "") .. "expected " .. show(expected) .. ", got " .. show(actual), 2)
  end
end

function M.ok(value, what)
  if not value then error((what or "expected a true value") .. ", got " .. show(value), 2) end
  return value
end

-- Asserts that fn raises an error whose message contains `pattern` (plain text).
function M.raises(fn, pattern)
  local ok, err = pcall(fn)
  if ok then error("expected an error containing " .. show(pattern), 2) end
  if pattern and not tostring(err):find(pattern, 1, true) then
    error("error " .. show(tostring(err)) .. " does not contain " .. show(pattern), 2)
  end
  return err
end

-- The local WordPress started by the suite's fixture: {url=, user=, app_password=, access_log=}.
-- Fails (never skips) when it is not there.
function M.wordpress()
  local env = {}
  local file = os.getenv("WPL_TEST_ENV_FILE")
  if file then
    local f = assert(io.open(file), "WordPress test fixture did not run: " .. file .. " missing")
    for line in f:lines() do
      local k, v = line:match("^([%w_]+)=(.*)$")
      if k then env[k] = v end
    end
    f:close()
  end
  local function get(name) return os.getenv(name) or env[name] end
  local wp = {url = get("WPL_TEST_URL"), user = get("WPL_TEST_USER"),
              app_password = get("WPL_TEST_APP_PASSWORD"), access_log = get("WPL_TEST_ACCESS_LOG")}
  assert(wp.url and wp.user and wp.app_password,
         "the local WordPress is not available (WPL_TEST_URL/USER/APP_PASSWORD unset)")
  return wp
end

-- A wpl.wp site on the local WordPress (extra options merged into wp.connect's).
function M.site(extra)
  local wp = require "wpl.wp"
  local env = M.wordpress()
  local opts = {url = env.url, user = env.user, app_password = env.app_password}
  for k, v in pairs(extra or {}) do opts[k] = v end
  return assert(wp.connect(opts))
end

-- The posts on the local WordPress (any status) whose title contains marker: how many, and
-- how many of those are duplicates of a title already counted.
function M.count_posts(marker)
  local per_title, total, duplicates = {}, 0, 0
  for p in M.site():posts{search = marker, status = "any"} do
    local title = p.title.raw
    if title:find(marker, 1, true) then
      if per_title[title] then duplicates = duplicates + 1 end
      per_title[title] = true
      total = total + 1
    end
  end
  return total, duplicates
end

-- A string unique to this test run, for names that must not collide between runs.
function M.unique(prefix)
  M._seq = (M._seq or 0) + 1
  return ("%s%d-%d-%d"):format(prefix or "", os.time(), math.random(100000, 999999), M._seq)
end

-- Lines the local WordPress logged (one per request) from now on, as a function that
-- returns those containing `needle` (plain text). Other tests run in parallel: filter by a
-- marker unique to the test.
function M.access_log_since(needle)
  local path = assert(M.wordpress().access_log, "no access log")
  local f = assert(io.open(path))
  local offset = f:seek("end")
  f:close()
  return function()
    local g = assert(io.open(path))
    g:seek("set", offset)
    local lines = {}
    for line in g:lines() do
      if not needle or line:find(needle, 1, true) then lines[#lines + 1] = line end
    end
    g:close()
    return lines
  end
end

-- Polls fn() every 0.1 s until it returns a true value or `seconds` pass; returns its last value.
function M.wait_for(fn, seconds)
  local time = require "wpl.time"
  local deadline = time.monotonic() + (seconds or 5)
  local v = fn()
  while not v and time.monotonic() < deadline do
    time.sleep(0.1)
    v = fn()
  end
  return v
end

-- Starts command in the background, waits a random moment (min_delay plus up to spread
-- seconds) and kills it with SIGKILL, wherever it is.
function M.kill_at_random(command, min_delay, spread)
  local time = require "wpl.time"
  local pidfile = os.tmpname()
  os.execute(("(%s >/dev/null 2>&1 & echo $! > %s; wait) &"):format(command, pidfile))
  time.sleep(min_delay + math.random() * spread)
  local f = assert(io.open(pidfile))
  local pid = assert(f:read("a"):match("%d+"), "no pid")
  f:close()
  os.execute("kill -9 " .. pid .. " 2>/dev/null")
  os.remove(pidfile)
end

-- Runs a shell command; returns exit code, stdout and stderr.
function M.run(command)
  local errfile = os.tmpname()
  local p = io.popen(command .. " 2>" .. errfile)
  local out = p:read("a")
  local _, _, code = p:close()
  local f = io.open(errfile)
  local err = f:read("a")
  f:close()
  os.remove(errfile)
  return code, out, err
end

-- Starts tests/fake/server.py (loopback, exits by itself after `lifetime` seconds).
-- Returns its base URL and a function that stops it.
function M.fake_server(lifetime)
  local source = assert(os.getenv("WPL_SOURCE_DIR"), "WPL_SOURCE_DIR unset")
  local p = assert(io.popen("exec python3 " .. source .. "/tests/fake/server.py --lifetime " .. (lifetime or 60)))
  local port, pid = p:read("l"):match("^(%d+) (%d+)$")
  assert(port, "fake server did not start")
  return "http://127.0.0.1:" .. port, function()
    os.execute("kill " .. pid .. " 2>/dev/null")
    p:close()
  end
end

function M.shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

function M.finish()
  print(string.format("%d passed, %d failed", passed, failed))
  os.exit(failed == 0 and 0 or 1)
end

return M
