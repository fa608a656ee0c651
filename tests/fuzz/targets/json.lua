-- Fuzz target: JSON decode, and encode(decode(x)) stable for what decodes.
local json = require "wpl.json"
return function(s)
  local v = json.decode(s)
  if v == nil then return end
  local ok, text = pcall(json.encode, v)
  if not ok then return end -- e.g. 1e400 decodes to infinity, which JSON cannot hold
  local again, err = json.decode(text)
  assert(err == nil, "INVARIANT: our output decodes")
  assert(json.encode(again) == text, "INVARIANT: encode(decode(x)) is stable")
end
