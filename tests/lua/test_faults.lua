-- Faults a real WordPress cannot produce on demand (FAKE SERVER, tests/fake/server.py): for
-- each, a clear error or a successful retry, no crash, no duplicate post. Run under ASan in
-- the sanitizer build too.
local t = require "testing"
local wp = require "wpl.wp"
local time = require "wpl.time"
local base, stop = t.fake_server(120)

local function site(fault, extra)
  local opts = {url = base .. "/oldwp", timeout = 1, retry = {attempts = 3, base_delay = 0.05},
                headers = fault and {["X-Fault"] = fault .. ":" .. t.unique("f")} or nil}
  for k, v in pairs(extra or {}) do opts[k] = v end
  return assert(wp.connect(opts))
end

local function count_posts()
  return assert(site():request("GET", "/wpl-fake/count")).posts
end

-- fault, GET expectation: "ok" (retried to success), or an error code
local get_faults = {
  {"hang:1", "ok"}, {"drip:1", "ok"}, {"reset:2", "ok"}, {"truncate:1", "ok"},
  {"status-503-1:2", "ok"}, {"status-502:1", "ok"}, {"status-429-0:1", "ok"}, {"notice:1", "ok"},
  {"status-500:1", "fake_fault"}, {"html200:1", "not_json"}, {"badjson:1", "not_json"},
  {"big:1", "too_large"}, {"hang:9", "timeout"},
}
for _, case in ipairs(get_faults) do
  t.test("GET with fault " .. case[1] .. " -> " .. case[2], function()
    local started = time.monotonic()
    local data, err = site(case[1]):request("GET", "/wp/v2/posts")
    if case[2] == "ok" then
      t.ok(data, tostring(err))
      t.eq(type(data), "table")
    else
      t.eq(data, nil)
      t.eq(err.code, case[2])
      t.ok(#err.message > 5, "the message says something")
    end
    t.ok(time.monotonic() - started < 15, "bounded in time")
  end)
end

t.test("the HTML page is quoted, not reported as a parse error", function()
  local _, err = site("html200:1"):request("GET", "/wp/v2/posts")
  t.ok(err.message:find("Service temporarily down", 1, true), err.message)
end)

t.test("503 waits as Retry-After says", function()
  local started = time.monotonic()
  assert(site("status-503-1:2"):request("GET", "/wp/v2/posts"))
  t.ok(time.monotonic() - started >= 1.9)
end)

-- fault on a create, and how many posts must exist afterwards (never two)
local create_faults = {
  {"hang:1", true},       -- the server created it, the answer never came: found by slug
  {"drip:1", true},
  {"reset:1", true},      -- created, then the connection was reset
  {"truncate:1", true},
  {"status-429-0:1", true}, -- not processed: retried
  {"status-503-0:1", true},
  {"status-500:1", false},  -- a plain 500 is not retried
  {"status-502:1", false},  -- a proxy error on a create: outcome unknown, looked up, not re-sent
}
for _, case in ipairs(create_faults) do
  t.test("create with fault " .. case[1] .. ": " .. (case[2] and "one post" or "an error, no post"), function()
    local before = count_posts()
    local title = t.unique("Fault " .. case[1] .. " ")
    local post, err = site(case[1]):create_post{title = title, status = "publish"}
    if case[2] then
      t.ok(post, tostring(err))
      t.eq(post.title.raw, title)
      t.eq(count_posts(), before + 1, "exactly one post")
    else
      t.eq(post, nil)
      t.eq(err.status, tonumber(case[1]:match("status%-(%d+)")))
      t.eq(count_posts(), before, "nothing created, nothing re-sent")
    end
  end)
end

t.test("a POST answered by a redirect to https is an error naming the target", function()
  local post, err = site("redirect:1"):create_post{title = t.unique("Redirected ")}
  t.eq(post, nil)
  t.eq(err.code, "redirect")
  t.ok(err.message:find("https://127.0.0.1:", 1, true), err.message)
end)

stop()
t.finish()
