-- wpl.log: levels, formats and redaction of secrets at the logging layer.
local t = require "testing"
local log = require "wpl.log"

t.test("levels can be read and set", function()
  local before = log.level("warn")
  t.eq(log.level(), "warn")
  t.ok(not log.enabled("info"))
  t.ok(log.enabled("error"))
  log.level(before)
  t.raises(function() log.level("loud") end, "invalid option 'loud'")
end)

t.test("registered secrets never appear", function()
  log.secret("hunter2-app-password")
  t.eq(log.redact("token is hunter2-app-password, yes"), "token is [REDACTED], yes")
end)

t.test("authorization values are redacted wherever they appear", function()
  t.eq(log.redact("Authorization: Basic YWRtaW46c2VjcmV0"), "Authorization: [REDACTED]")
  t.eq(log.redact('{"authorization":"Bearer abc","x":1}'), '{"authorization":"[REDACTED]","x":1}')
end)

t.test("prose that mentions the header is left alone", function()
  local text = "a proxy strips the Authorization header (add 'SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1')"
  t.eq(log.redact(text), text)
  t.eq(log.redact("authorization: Bearer x.y.z and more"), "authorization: [REDACTED]")
end)

t.test("bad arguments raise", function()
  t.raises(function() log.info("x", "not a table") end, "table expected")
end)

t.finish()
