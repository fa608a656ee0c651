-- Fuzz target: response header lines and the WordPress client's tolerant body decoding.
local http, wp = require "wpl.http", require "wpl.wp"
return function(s)
  local head, body = s:match("^(.-)\r?\n\r?\n(.*)$")
  local headers = http.parse_headers(head or s)
  wp.decode_body({status = 200, headers = headers, body = body or ""}, "fuzz")
end
