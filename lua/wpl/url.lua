-- wpl.url: URL helpers shared by the WordPress client and recipes.
local M = {}

-- Splits "scheme://user@host:port/path?query#frag" into a table; nil, message when it is
-- not an absolute http(s) URL.
function M.parse(s)
  if type(s) ~= "string" then return nil, "URL must be a string" end
  local scheme, rest = s:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, "not an absolute URL: " .. s end
  scheme = scheme:lower()
  local authority, path = rest:match("^([^/?#]*)(.*)$")
  local userinfo, hostport = authority:match("^(.*)@(.*)$")
  hostport = hostport or authority
  local host, port = hostport:match("^(%[[^%]]+%]):?(%d*)$")
  if not host then host, port = hostport:match("^([^:]*):?(%d*)$") end
  if not host or host == "" then return nil, "URL has no host: " .. s end
  local query, fragment
  path, fragment = path:match("^([^#]*)#?(.*)$")
  path, query = path:match("^([^?]*)%??(.*)$")
  return {
    scheme = scheme, userinfo = userinfo, host = host:lower(),
    port = port ~= "" and tonumber(port) or nil,
    path = path, query = query ~= "" and query or nil, fragment = fragment ~= "" and fragment or nil,
  }
end

-- True for hosts that never leave this machine.
function M.is_loopback(host)
  host = host:lower()
  return host == "localhost" or host == "[::1]" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
      or host:match("%.localhost$") ~= nil
end

-- Joins a base URL and a path with exactly one slash between them.
function M.join(base, path)
  if path == nil or path == "" then return base end
  return (base:gsub("/+$", "")) .. "/" .. (path:gsub("^/+", ""))
end

return M
