-- wpl.http against tests/fake/server.py (FAKE SERVER: php -S, which runs the local WordPress,
-- closes every connection and cannot hang or send a Retry-After on demand).
local t = require "testing"
local http, json = require "wpl.http", require "wpl.json"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local base, stop = t.fake_server(60)

t.test("connections are kept alive between requests", function()
  local seen = {}
  for i = 1, 5 do
    local r = assert(http.request{url = base .. "/keepalive"})
    t.eq(r.status, 200)
    seen[json.decode(r.body).connection] = true
    if i > 1 then t.eq(r.new_connection, false, "request " .. i) end
  end
  t.eq(select("#", next(seen)), 2) -- exactly one connection number seen
  local n = 0
  for _ in pairs(seen) do n = n + 1 end
  t.eq(n, 1, "one TCP connection for five requests")
end)

t.test("a hanging server gives a timeout error, not a hang", function()
  local r, err = http.request{url = base .. "/hang?s=3", timeout = 0.3}
  t.eq(r, nil)
  t.eq(err.code, "timeout")
  t.eq(err.retryable, true)
  t.eq(err.request_sent, true, "outcome unknown: the request may have arrived")
end)

t.test("error statuses are responses, with their headers", function()
  local r = assert(http.request{url = base .. "/status/503?retry_after=7"})
  t.eq(r.status, 503)
  t.eq(r.headers["retry-after"], "7")
end)

t.test("requests in tasks yield; a blocking request elsewhere still works", function()
  local tasks = require "wpl.tasks"
  local list = {}
  for i = 1, 4 do
    list[i] = tasks.spawn(function() return assert(http.request{url = base .. "/hang?s=0.2"}).status end)
  end
  local direct = assert(http.request{url = base .. "/keepalive"})
  t.eq(direct.status, 200)
  local a, b, c, d = tasks.wait(list)
  t.eq(a + b + c + d, 800)
end)

t.test("the runtime closes cleanly with transfers in flight", function()
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(([[
    local tasks, http = require "wpl.tasks", require "wpl.http"
    for i = 1, 3 do tasks.spawn(function() http.request{url = %q} end) end
    tasks.wait(tasks.spawn(function() tasks.sleep(0.2) end))
    print("leaving with", (http.pending()), "in flight")
  ]]):format(base .. "/hang?s=10"))
  f:close()
  local started = require("wpl.time").monotonic()
  local code, out, err = t.run(wpl .. " run " .. script)
  os.remove(script)
  t.eq(code, 0, err)
  t.eq(out, "leaving with\t3\tin flight\n")
  t.ok(require("wpl.time").monotonic() - started < 5, "did not wait for the hanging transfers")
end)

stop()
t.finish()
