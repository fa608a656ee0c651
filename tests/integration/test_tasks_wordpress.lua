-- wpl.tasks against the real local WordPress: requests in tasks overlap; two tasks asking
-- for the same new term get one term.
local t = require "testing"
local tasks = require "wpl.tasks"
local http = require "wpl.http"
local time = require "wpl.time"

t.test("8 tasks' requests overlap and beat the same 8 one after another", function()
  local tag = t.unique("overlap-")
  -- every create takes at least 0.3 s on the server
  local site = t.site{headers = {["X-WPL-Test-Sleep-After-Insert"] = "0.3", ["X-WPL-Test-Tag"] = tag}}
  local function create(i)
    local started = time.monotonic()
    local post = assert(site:create_post{title = t.unique("Concurrent " .. i .. " "), status = "draft"})
    return {id = post.id, started = started, finished = time.monotonic()}
  end
  local t0 = time.monotonic()
  local spans = {}
  for i = 1, 8 do spans[i] = create(i) end
  local sequential = time.monotonic() - t0

  t0 = time.monotonic()
  local list = {}
  for i = 1, 8 do list[i] = tasks.spawn(create, i) end
  local concurrent = table.pack(tasks.wait(list))
  local parallel = time.monotonic() - t0
  local overlaps = 0
  for i = 1, 8 do
    for j = i + 1, 8 do
      local a, b = concurrent[i], concurrent[j]
      if a.started < b.finished and b.started < a.finished then overlaps = overlaps + 1 end
    end
  end
  t.ok(overlaps > 0, "requests overlapped")
  t.ok(parallel < sequential, ("concurrent %.2fs < sequential %.2fs"):format(parallel, sequential))
  local ids = {}
  for i = 1, 8 do
    t.ok(not ids[concurrent[i].id], "distinct posts")
    ids[concurrent[i].id] = true
  end
end)

t.test("the in-flight limit holds", function()
  local before = http.limit(2)
  local site = t.site{headers = {["X-WPL-Test-Sleep-After-Insert"] = "0.2"}}
  local peak_in_flight, peak_queued = 0, 0
  local watcher = tasks.spawn(function()
    for _ = 1, 200 do -- bounded: at most 200 x 10 ms
      local in_flight, queued = http.pending()
      peak_in_flight = math.max(peak_in_flight, in_flight)
      peak_queued = math.max(peak_queued, queued)
      tasks.sleep(0.01)
      if in_flight + queued == 0 and peak_in_flight > 0 then return end
    end
  end)
  tasks.map({1, 2, 3, 4, 5, 6}, function(i)
    assert(site:create_post{title = t.unique("Limited " .. i .. " ")})
  end, {concurrency = 6})
  tasks.wait(watcher)
  http.limit(before)
  t.eq(peak_in_flight, 2, "never more than the limit in flight")
  t.ok(peak_queued >= 1, "the rest waited in the queue")
end)

t.test("two tasks creating the same new term get one term", function()
  local tag = t.unique("term-race-")
  local site = t.site{headers = {["X-WPL-Test-Tag"] = tag}}
  local name = t.unique("Raced category ")
  local log = t.access_log_since("tag=" .. tag)
  local a = tasks.spawn(function() return assert(site:category(name .. "/Child")) end)
  local b = tasks.spawn(function() return assert(site:category(name .. "/Child")) end)
  local ida, idb = tasks.wait(a, b)
  t.eq(ida, idb)
  local creates = 0
  for _, line in ipairs(log()) do if line:match("^POST /wp%-json/wp/v2/categories") then creates = creates + 1 end end
  t.eq(creates, 2, "parent and child created once each")
end)

t.finish()
