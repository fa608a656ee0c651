-- wpl.tasks: concurrency on coroutines.
--
--   local a = tasks.spawn(function() return site:get_post(1) end)
--   local b = tasks.spawn(function() return site:get_post(2) end)
--   local p1, p2 = tasks.wait(a, b)
--   local results, errors = tasks.map(items, function(item) ... end, {concurrency = 8})
--
-- An HTTP request made inside a task yields the task while the transfer runs, so other
-- tasks go on; it returns exactly what a blocking call returns, so code written
-- sequentially works unchanged inside a task. The number of requests in flight is limited
-- per runtime (http.limit, default 4); more wait in a queue.
local http = require "wpl.http"
local time = require "wpl.time"
local log = require "wpl.log"

local M = {}
local Task = {}
Task.__index = Task

local ready = {}          -- tasks to resume, in order
local waiting_on_xfer = {} -- transfer -> task
local sleepers = {}       -- {wake = monotonic time, task = t}
local current = nil       -- the task running now

local WAIT_HTTP, SLEEP, PARK = "wpl.http.wait", "wpl.tasks.sleep", "wpl.tasks.park"

-- tasks.spawn(fn, ...) -> task. The task starts at the next scheduling point.
function M.spawn(fn, ...)
  if type(fn) ~= "function" then error("tasks.spawn: function expected, got " .. type(fn), 2) end
  local t = setmetatable({co = coroutine.create(fn), args = table.pack(...), status = "ready", watchers = {}}, Task)
  http.task_threads[t.co] = true
  ready[#ready + 1] = t
  return t
end

function Task:__tostring() return ("task (%s)"):format(self.status) end

local function wake(t, ...)
  t.resume_args = table.pack(...)
  ready[#ready + 1] = t
end

local function finish(t, ok, ...)
  http.task_threads[t.co] = nil
  if ok then
    t.status, t.results = "done", table.pack(...)
  else
    t.status, t.error = "failed", ...
    if not t.quiet then log.error("a task failed", {error = tostring(t.error)}) end
  end
  for _, w in ipairs(t.watchers) do w() end
  t.watchers = {}
end

local function step(t)
  local args = t.resume_args or t.args
  t.resume_args, t.args = nil, nil
  current = t
  t.status = "running"
  local res = table.pack(coroutine.resume(t.co, table.unpack(args, 1, args.n)))
  current = nil
  if coroutine.status(t.co) == "dead" then
    if res[1] then
      finish(t, true, table.unpack(res, 2, res.n))
    else
      local err = res[2]
      if type(err) == "string" then err = debug.traceback(t.co, err) end
      finish(t, false, err)
    end
    return
  end
  t.status = "waiting"
  local what = res[2]
  if what == WAIT_HTTP then
    waiting_on_xfer[res[3]] = t
  elseif what == SLEEP then
    sleepers[#sleepers + 1] = {wake = res[3], task = t}
  elseif what ~= PARK then -- a bare coroutine.yield(): just let the others run
    wake(t)
  end
end

-- Runs the scheduler until done() is true. Raises if nothing can make progress.
local function run_until(done)
  while not done() do
    if #ready > 0 then
      local batch = ready
      ready = {}
      for _, t in ipairs(batch) do step(t) end
    else
      local now, next_wake = time.monotonic(), nil
      for i = #sleepers, 1, -1 do
        local s = sleepers[i]
        if s.wake <= now then
          table.remove(sleepers, i)
          wake(s.task)
        elseif not next_wake or s.wake < next_wake then
          next_wake = s.wake
        end
      end
      if #ready == 0 then
        if next(waiting_on_xfer) then
          local timeout = next_wake and math.max(0, next_wake - now) or 1
          for _, xfer in ipairs(http.poll(math.min(timeout, 1))) do
            local t = waiting_on_xfer[xfer]
            waiting_on_xfer[xfer] = nil
            if t then wake(t) end
          end
        elseif next_wake then
          time.sleep(next_wake - now)
        else
          error("tasks: nothing can run (tasks wait for each other or for an event nobody sets)", 3)
        end
      end
    end
  end
end

-- The task running now, or nil outside tasks.
function M.current() return current end

-- tasks.sleep(seconds): inside a task, lets the others run meanwhile.
function M.sleep(seconds)
  if current and coroutine.isyieldable() then
    coroutine.yield(SLEEP, time.monotonic() + seconds)
  else
    time.sleep(seconds)
  end
end

-- An event: ev:wait() blocks (the task, or the scheduler outside tasks) until ev:set(...);
-- ev:wait() then returns the values given to set.
local Event = {}
Event.__index = Event

function M.event() return setmetatable({is_set = false, parked = {}}, Event) end

function Event:set(...)
  if self.is_set then return end
  self.is_set, self.values = true, table.pack(...)
  for _, t in ipairs(self.parked) do wake(t) end
  self.parked = {}
end

function Event:wait()
  if not self.is_set then
    if current and coroutine.isyieldable() then
      self.parked[#self.parked + 1] = current
      coroutine.yield(PARK)
    else
      run_until(function() return self.is_set end)
    end
  end
  return table.unpack(self.values, 1, self.values.n)
end

-- tasks.wait(t1, t2, ...) or tasks.wait{t1, t2, ...} -> the first result of each task.
-- Waits for all of them; a failed task does not stop the others, but its error is raised
-- once all are done.
function M.wait(...)
  local list = select("#", ...) == 1 and getmetatable(...) ~= Task and ... or {...}
  local remaining = 0
  local all_done = M.event()
  for _, t in ipairs(list) do
    if getmetatable(t) ~= Task then error("tasks.wait: tasks expected", 2) end
    if t.status ~= "done" and t.status ~= "failed" then
      remaining = remaining + 1
      t.watchers[#t.watchers + 1] = function()
        remaining = remaining - 1
        if remaining == 0 then all_done:set() end
      end
    end
  end
  if remaining > 0 then all_done:wait() end
  local firsts = {}
  for i, t in ipairs(list) do
    if t.status == "failed" then error(t.error, 0) end
    firsts[i] = t.results[1]
  end
  return table.unpack(firsts, 1, #list)
end

-- tasks.map(list, fn, {concurrency = n}) -> results, errors
-- Calls fn(item, index) for every item with at most n calls at once (default: the HTTP
-- limit). results[i] is fn's first result; errors[i] the error of a call that raised (the
-- other items still run); errors is nil when there was none.
function M.map(list, fn, opts)
  opts = opts or {}
  local n = #list
  local concurrency = math.max(1, math.min(opts.concurrency or http.limit(), math.max(n, 1)))
  local results, errors = {}, nil
  local next_index = 0
  local workers = {}
  for w = 1, concurrency do
    workers[w] = M.spawn(function()
      while next_index < n do
        next_index = next_index + 1
        local i = next_index
        local ok, res = xpcall(fn, debug.traceback, list[i], i)
        if ok then
          results[i] = res
        else
          errors = errors or {}
          errors[i] = res
        end
      end
    end)
  end
  M.wait(workers)
  return results, errors
end

return M
