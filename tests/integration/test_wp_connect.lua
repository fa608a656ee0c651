-- wpl.wp against the real local WordPress: connecting, testing a login, errors by code,
-- retries on injected faults, tolerant parsing, and creates whose outcome is unknown.
local t = require "testing"
local wp = require "wpl.wp"
local env = t.wordpress()

t.test("connect discovers the API root from the Link header", function()
  local site = t.site()
  t.eq(site.rest_base, env.url .. "/wp-json")
  t.eq(site.rest_route, false)
  t.eq(site.url, env.url)
  local s2 = assert(wp.connect{url = env.url .. "///", user = env.user, app_password = env.app_password})
  t.eq(s2.url, env.url)
end)

t.test("site:test() reports the user, what they may do, and the site", function()
  local ok, info = t.site():test()
  t.eq(ok, true)
  t.eq(info.user.username, env.user)
  t.eq(math.type(info.user.id), "integer")
  t.ok(#info.roles >= 1 and info.roles[1] == "administrator")
  t.eq(info.can.publish_posts, true)
  t.eq(info.can.upload_files, true)
  t.eq(info.can.manage_categories, true)
  t.eq(info.site_name, "WPL Test Site")
  local has_v2 = false
  for _, ns in ipairs(info.namespaces) do has_v2 = has_v2 or ns == "wp/v2" end
  t.ok(has_v2, "wp/v2 namespace listed")
end)

t.test("a wrong application password is caught, and the message says what to do", function()
  local site = t.site{app_password = "wrong wrong wrong wrong wrong wrong"}
  local ok, err = site:test()
  t.eq(ok, nil)
  t.eq(err.code, "credentials_rejected")
  t.eq(err.status, 401)
  t.ok(err.message:find("Application Passwords", 1, true), err.message)
  t.ok(err.message:find("HTTP_AUTHORIZATION", 1, true), "mentions the header-stripping fix")
  local anon = assert(wp.connect{url = env.url})
  ok, err = anon:test()
  t.ok(err.message:find("no credentials", 1, true), err.message)
end)

t.test("WordPress errors keep WordPress's code, status and data", function()
  local site = t.site()
  local post, err = site:get_post(987654321)
  t.eq(post, nil)
  t.eq(err.code, "rest_post_invalid_id")
  t.eq(err.status, 404)
  t.eq(err.retryable, false)
  t.ok(tostring(err):find("HTTP 404", 1, true))
  post, err = site:create_post{title = t.unique("bad status "), status = "sideways"}
  t.eq(err.code, "rest_invalid_param")
  t.eq(err.status, 400)
  t.ok(err.message:find("status: status is not one of", 1, true), err.message)
  t.ok(err.data.params.status, "params carried in data")
  local data
  data, err = site:request("GET", "/no-such-plugin/v1/things")
  t.eq(err.code, "rest_no_route")
  t.eq(err.status, 404)
end)

t.test("site:request reaches any route, with query and body", function()
  local site = t.site()
  local types = assert(site:request("GET", "/wp/v2/types", {query = {context = "edit"}}))
  t.ok(types.post and types.page)
  local cat = assert(site:request("POST", "/wp/v2/categories", {body = {name = t.unique("Raw ")}}))
  t.eq(math.type(cat.id), "integer")
  t.raises(function() site:request("get", "/wp/v2/types") end, "upper-case")
  t.raises(function() site:request("GET", "wp/v2/types") end, "start with '/'")
end)

t.test("503 with Retry-After is retried until it succeeds", function()
  local token = t.unique("r503-")
  local site = t.site{headers = {["X-WPL-Test-Fail"] = "503:2:" .. token .. ":1", ["X-WPL-Test-Tag"] = token}}
  local log = t.access_log_since("tag=" .. token)
  local time = require "wpl.time"
  local t0 = time.monotonic()
  local types = assert(site:request("GET", "/wp/v2/types"))
  t.ok(types.post)
  t.ok(time.monotonic() - t0 >= 1.9, "waited as Retry-After said, twice")
  t.eq(#log(), 3, "three attempts")
end)

t.test("429 on a create is retried (the server did not act on it)", function()
  local token = t.unique("r429-")
  local site = t.site{headers = {["X-WPL-Test-Fail"] = "429:1:" .. token .. ":0"}}
  local post = assert(site:create_post{title = t.unique("After 429 ")})
  t.eq(math.type(post.id), "integer")
end)

t.test("a plain 500 is never retried", function()
  local token = t.unique("r500-")
  local site = t.site{headers = {["X-WPL-Test-Fail"] = "500:1:" .. token}}
  local _, err = site:request("GET", "/wp/v2/types")
  t.eq(err.code, "wpl_test_fault")
  t.eq(err.status, 500)
  t.ok(assert(site:request("GET", "/wp/v2/types")).post, "the next request succeeds: only one was consumed")
end)

t.test("retries are bounded in count", function()
  local token = t.unique("rmax-")
  local site = t.site{headers = {["X-WPL-Test-Fail"] = "502:50:" .. token .. ":0"},
                      retry = {attempts = 3, base_delay = 0.01}}
  local _, err = site:request("GET", "/wp/v2/types")
  t.eq(err.status, 502)
end)

t.test("a create that times out after sending is found by its slug, not sent again", function()
  local title = t.unique("Slow create ")
  local tag = t.unique("slow-")
  local site = t.site{headers = {["X-WPL-Test-Sleep-After-Insert"] = "3", ["X-WPL-Test-Tag"] = tag}, timeout = 1}
  local log = t.access_log_since("tag=" .. tag)
  local post = assert(site:create_post{title = title, status = "draft"})
  t.eq(post.title.raw, title)
  local function creates_logged()
    local n = 0
    for _, line in ipairs(log()) do
      if line:match("^POST /wp%-json/wp/v2/posts%?") then n = n + 1 end
    end
    return n
  end
  t.wait_for(function() return creates_logged() > 0 end, 6) -- logged when the slow request ends
  t.eq(creates_logged(), 1, "the create was sent once")
  local same = 0
  for p in t.site():posts{search = title, status = "any"} do
    if p.title.raw == title then same = same + 1 end
  end
  t.eq(same, 1, "exactly one post exists")
end)

t.test("a BOM or PHP notices before the JSON still parse", function()
  for _, junk in ipairs({"bom", "notice"}) do
    local site = t.site{headers = {["X-WPL-Test-Junk"] = junk}}
    local types = assert(site:request("GET", "/wp/v2/types"))
    t.ok(types.post, junk)
  end
end)

t.finish()
