-- The application password never shows: everything runs at debug level (text and JSON logs),
-- and all output is searched for it, with and without its spaces.
local t = require "testing"
local fs = require "wpl.fs"
local env = t.wordpress()
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local source = os.getenv("WPL_SOURCE_DIR")

local home = os.tmpname()
os.remove(home)
assert(fs.mkdir(home))
local password = env.app_password
local spaced = password:gsub("(....)", "%1 "):gsub(" $", "")
local base = ("WPL_DB=%s/wpl.db XDG_CONFIG_HOME=%s/config "):format(home, home)
local site_env = base .. ("WPL_URL=%s WPL_USER=%s WPL_APP_PASSWORD=%s "):format(env.url, env.user, t.shell_quote(spaced))

local outputs = {}
local function capture(what, cmd)
  local code, out, err = t.run(cmd)
  outputs[#outputs + 1] = {what = what, text = out .. err, code = code}
  return code, out, err
end

assert(fs.write(home .. "/leaky.lua", [[
  local wp, log, http = require "wpl.wp", require "wpl.log", require "wpl.http"
  local site = assert(wp.connect{url = os.getenv("WPL_URL"), user = os.getenv("WPL_USER"), app_password = os.getenv("WPL_APP_PASSWORD")})
  log.debug("site auth", {auth = site.auth.password, password = site.auth.password})
  log.info("plain message mentioning " .. site.auth.password)
  log.warn("Authorization: Basic " .. "abc")
  local _, err = site:request("GET", "/no/route")
  log.error("failed", {error = tostring(err)})
  local r = http.request{url = os.getenv("WPL_URL") .. "/wp-admin", method = "POST", body = "x",
                         auth = {user = os.getenv("WPL_USER"), password = site.auth.password}}
  error("the recipe crashes now, with the password in the message: " .. site.auth.password)
]]))

t.test("nothing anywhere shows the password", function()
  capture("site add", ("printf '%%s\\n' %s | %s %s -v --log-format json site add s %s %s --password-stdin")
    :format(t.shell_quote(spaced), base, wpl, env.url, env.user))
  capture("site list", base .. wpl .. " -v site list --json")
  capture("site test", base .. wpl .. " -v site test s")
  capture("dry run", site_env .. wpl .. " -v run " .. source .. "/recipes/publish_post.lua --dry-run --set title=Secret --set content=x")
  capture("publish", site_env .. wpl .. " -v --log-format json run " .. source .. "/recipes/publish_post.lua --set title=" .. t.unique("Secret") .. " --set content=x")
  capture("history", base .. wpl .. " history --json")
  capture("wrong password", base .. "WPL_APP_PASSWORD=wrong " .. wpl .. " -v site add w " .. env.url .. " " .. env.user)
  local code = capture("leaky recipe (text)", site_env .. wpl .. " -v run " .. home .. "/leaky.lua")
  t.eq(code, 1)
  capture("leaky recipe (json)", site_env .. wpl .. " -v --log-format json run " .. home .. "/leaky.lua")
  for _, o in ipairs(outputs) do
    t.ok(not o.text:find(password, 1, true), o.what .. " shows the password")
    t.ok(not o.text:find(spaced, 1, true), o.what .. " shows the spaced password")
  end
  local all = ""
  for _, o in ipairs(outputs) do all = all .. o.text end
  t.ok(all:find("[REDACTED]", 1, true), "redaction happened")
  t.ok(all:find("debug http GET", 1, true), "debug logs were on")
end)

t.test("the database and the key file hold no plain password and are 0600", function()
  for _, f in ipairs({home .. "/wpl.db", home .. "/wpl.db-wal", home .. "/config/wpl/key"}) do
    local bytes = fs.read(f)
    if bytes then
      t.ok(not bytes:find(password, 1, true), f)
      t.eq(assert(fs.stat(f)).mode & 0x1ff, tonumber("600", 8), f)
    end
  end
end)

t.test("a key file readable by others is refused with the fix", function()
  assert(os.execute("chmod 644 " .. home .. "/config/wpl/key"))
  local code, _, err = t.run(base .. wpl .. " site test s")
  t.eq(code, 1)
  t.ok(err:find("chmod 600", 1, true), err)
  assert(os.execute("chmod 600 " .. home .. "/config/wpl/key"))
end)

os.execute("rm -rf " .. home)
t.finish()
