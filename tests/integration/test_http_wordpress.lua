-- wpl.http + wpl.json against the real local WordPress: authentication, errors by code,
-- keep-alive, streamed uploads, redirects of a POST.
local t = require "testing"
local http, json = require "wpl.http", require "wpl.json"
local wp = t.wordpress()
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local source = assert(os.getenv("WPL_SOURCE_DIR"), "WPL_SOURCE_DIR unset")
local auth = {user = wp.user, password = wp.app_password}

t.test("authenticated users/me through wpl.http and wpl.json", function()
  local r = assert(http.request{url = wp.url .. "/wp-json/wp/v2/users/me", query = {context = "edit"}, auth = auth})
  t.eq(r.status, 200)
  t.ok(r.headers["content-type"]:find("application/json", 1, true))
  local me = assert(json.decode(r.body))
  t.eq(me.username, wp.user)
  t.eq(math.type(me.id), "integer")
  t.ok(me.capabilities.publish_posts, "admin may publish")
end)

t.test("a wrong application password is rejected by users/me", function()
  local r = assert(http.request{url = wp.url .. "/wp-json/wp/v2/users/me", query = {context = "edit"},
                                auth = {user = wp.user, password = "wrong wrong wrong wrong"}})
  t.eq(r.status, 401)
  t.eq(json.decode(r.body).code, "rest_not_logged_in")
end)

t.test("a POST that is redirected is an error naming the target", function()
  local r, err = http.request{method = "POST", url = wp.url .. "/wp-admin", body = "x=1", auth = auth}
  t.eq(r, nil)
  t.eq(err.code, "redirect")
  t.eq(err.status, 301)
  t.eq(err.location, wp.url .. "/wp-admin/")
  t.ok(tostring(err):find("/wp-admin/", 1, true))
end)

t.test("transport failures have codes", function()
  local _, err = http.request{url = wp.url .. "/wp-json/", timeout = 0.001}
  t.eq(err.code, "timeout")
  t.eq(err.retryable, true)
  _, err = http.request{url = wp.url .. "/wp-json/", max_size = 100}
  t.eq(err.code, "too_large")
  t.ok(err.message:find("max_size", 1, true))
  _, err = http.request{url = "http://127.0.0.1:9/"}
  t.eq(err.code, "connect")
  t.eq(err.request_sent, false)
  _, err = http.request{url = "file:///etc/passwd"}
  t.eq(err.code, "invalid_url")
  _, err = http.request{url = "gopher://127.0.0.1/"}
  t.eq(err.code, "invalid_url")
end)

t.test("a body streams from a file (media upload)", function()
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  -- a 1x1 GIF
  f:write("GIF89a\1\0\1\0\128\0\0\255\255\255\0\0\0!\249\4\0\0\0\0\0,\0\0\0\0\1\0\1\0\0\2\2D\1\0;")
  f:close()
  local r = assert(http.request{method = "POST", url = wp.url .. "/wp-json/wp/v2/media", auth = auth,
    body_file = path,
    headers = {["Content-Type"] = "image/gif", ["Content-Disposition"] = 'attachment; filename="pixel.gif"'}})
  os.remove(path)
  t.eq(r.status, 201, r.body)
  local media = json.decode(r.body)
  t.eq(media.mime_type, "image/gif")
  local _, err = http.request{method = "POST", url = wp.url .. "/wp-json/wp/v2/media", body_file = "/nonexistent"}
  t.eq(err.code, "read")
end)

t.test("query tables are encoded, lists as key[]", function()
  local r = assert(http.request{url = wp.url .. "/wp-json/wp/v2/posts", auth = auth,
                                query = {per_page = 1, status = {"draft", "publish"}, context = "edit"}})
  t.eq(r.status, 200, r.body)
  t.ok(r.url:find("status%5B%5D=draft&status%5B%5D=publish", 1, true), r.url)
end)

t.test("the password never reaches the debug log", function()
  local code, out, err = t.run(string.format("WPL_URL=%s WPL_USER=%s WPL_APP_PASSWORD=%s %s -v run %s/recipes/whoami.lua",
    t.shell_quote(wp.url), t.shell_quote(wp.user), t.shell_quote(wp.app_password), wpl, source))
  t.eq(code, 0, err)
  t.ok(out:find("logged in as " .. wp.user, 1, true), out)
  t.ok(err:find("debug http GET", 1, true), "debug log shows requests")
  t.ok(not (out .. err):find(wp.app_password, 1, true), "password in output")
end)

t.test("whoami with a wrong password fails with a clear message", function()
  local code, _, err = t.run(string.format("WPL_URL=%s WPL_USER=%s WPL_APP_PASSWORD=nope %s run %s/recipes/whoami.lua",
    t.shell_quote(wp.url), t.shell_quote(wp.user), wpl, source))
  t.eq(code, 1)
  t.ok(err:find("rejected", 1, true), err)
end)

t.finish()
