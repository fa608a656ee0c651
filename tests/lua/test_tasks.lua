-- wpl.tasks without a network: scheduling, sleeping, events, errors and map.
local t = require "testing"
local tasks = require "wpl.tasks"
local time = require "wpl.time"

t.test("tasks run and return their results in order", function()
  local a = tasks.spawn(function(x) return x * 2 end, 21)
  local b = tasks.spawn(function() return "b" end)
  local ra, rb = tasks.wait(a, b)
  t.eq(ra, 42)
  t.eq(rb, "b")
  t.eq(tasks.wait{a}, 42, "waiting again on a finished task")
end)

t.test("sleeping tasks overlap", function()
  local t0 = time.monotonic()
  local list = {}
  for i = 1, 5 do list[i] = tasks.spawn(function() tasks.sleep(0.2); return i end) end
  local r = table.pack(tasks.wait(list))
  t.eq(r.n, 5)
  t.eq(r[5], 5)
  t.ok(time.monotonic() - t0 < 0.9, "5 x 0.2 s slept at once")
end)

t.test("an error in one task does not stop the others; wait raises it after", function()
  local finished = false
  local bad = tasks.spawn(function() tasks.sleep(0.01); error("task exploded") end)
  bad.quiet = true
  local good = tasks.spawn(function() tasks.sleep(0.05); finished = true; return "ok" end)
  local err = t.raises(function() tasks.wait(bad, good) end, "task exploded")
  t.ok(finished, "the other task completed")
  t.ok(tostring(err):find("stack traceback", 1, true), "traceback of the task")
end)

t.test("events wake parked tasks with values", function()
  local ev = tasks.event()
  local waiter = tasks.spawn(function() return ev:wait() end)
  local setter = tasks.spawn(function() tasks.sleep(0.01); ev:set("go", 2) end)
  t.eq(tasks.wait(waiter, setter), "go")
end)

t.test("a deadlock is an error, not a hang", function()
  local ev = tasks.event()
  local stuck = tasks.spawn(function() ev:wait() end)
  t.raises(function() tasks.wait(stuck) end, "nothing can run")
  ev:set()
  tasks.wait(stuck)
end)

t.test("map keeps order, limits concurrency, collects errors per item", function()
  local running, max_running = 0, 0
  local results, errors = tasks.map({1, 2, 3, 4, 5, 6, 7}, function(x)
    running = running + 1
    max_running = math.max(max_running, running)
    tasks.sleep(0.01)
    running = running - 1
    if x == 4 then error("four is bad") end
    return x * 10
  end, {concurrency = 3})
  t.eq(results[1], 10)
  t.eq(results[7], 70)
  t.eq(results[4], nil)
  t.ok(errors and errors[4]:find("four is bad", 1, true))
  t.eq(max_running, 3)
  local empty, none = tasks.map({}, function() end)
  t.eq(#empty, 0)
  t.eq(none, nil)
end)

t.test("nested waits inside tasks", function()
  local outer = tasks.spawn(function()
    local inner = tasks.spawn(function() tasks.sleep(0.01); return "inner" end)
    return tasks.wait(inner) .. "+outer"
  end)
  t.eq(tasks.wait(outer), "inner+outer")
end)

t.finish()
