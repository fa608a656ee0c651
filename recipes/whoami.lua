-- whoami.lua: checks a WordPress login and prints who you are there. Publishes nothing.
--
--   WPL_URL=https://example.com WPL_USER=admin WPL_APP_PASSWORD='xxxx xxxx ...' wpl run recipes/whoami.lua
--
-- WordPress treats a wrong application password as an anonymous visitor, so only an
-- authenticated endpoint (users/me with context=edit) tells a good login from a bad one.
local http = require "wpl.http"
local json = require "wpl.json"

local function need(name)
  local v = os.getenv(name)
  if not v or v == "" then error(name .. " is not set (see the comment at the top of whoami.lua)", 0) end
  return v
end
local site, user, password = need("WPL_URL"):gsub("/+$", ""), need("WPL_USER"), need("WPL_APP_PASSWORD")

local res = assert(http.request{
  url = site .. "/wp-json/wp/v2/users/me", query = {context = "edit"},
  auth = {user = user, password = password},
})
local body = json.decode(res.body)
if res.status == 401 then
  error("WordPress rejected the login for '" .. user .. "': check the application password", 0)
elseif res.status ~= 200 or not body then
  error(("unexpected answer from %s: HTTP %d %s"):format(site, res.status, res.body:sub(1, 200)), 0)
end
print(("logged in as %s (%s) on %s; roles: %s"):format(body.username, body.name, site, table.concat(body.roles, ", ")))
