-- Run by examples/embed_host in two runtimes at once: uses the host's own module and wpl's,
-- and checks that nothing leaks between the runtimes.
local host = require "host"
local json = require "wpl.json"
local log = require "wpl.log"
local thread = assert(tonumber(...), "expects the thread number as its argument")

assert(_G.marker == nil, "a global from the other runtime is visible")
_G.marker = thread
local doc = {thread = thread, greeting = host.greet("wpl")}
for i = 1, 2000 do -- enough work for the two threads to overlap
  local back = json.decode(json.encode({i = i, doc = doc}))
  assert(back.i == i and back.doc.thread == thread)
end
log.info("done", {thread = thread})
print(json.encode(doc))
