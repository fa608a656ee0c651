-- With pretty permalinks off, /wp-json/ does not exist: the client falls back to
-- ?rest_route=. Runs alone (RUN_SERIAL): it switches the site-wide permalink setting.
local t = require "testing"
local wp = require "wpl.wp"
local env = t.wordpress()

-- a fresh connection each time: the API root moves with the setting
local function set_permalinks(structure)
  assert(t.site():request("POST", "/wpl-test/v1/permalinks", {body = {structure = structure}}))
end

set_permalinks("")
local ok, err = pcall(function()
  t.test("permalinks off: the API is found through ?rest_route=", function()
    local site = assert(wp.connect{url = env.url, user = env.user, app_password = env.app_password})
    t.eq(site.rest_route, true)
    local yes, info = site:test()
    t.eq(yes, true)
    t.eq(info.pretty_permalinks, false)
    local title = t.unique("Plain permalinks ")
    local post = assert(site:create_post{title = title, categories = {"Plain/Nested"}, status = "draft"})
    t.eq(assert(site:get_post(post.id)).title.raw, title)
    local n = 0
    for p in site:posts{search = title, status = "any"} do n = n + (p.id == post.id and 1 or 0) end
    t.eq(n, 1)
    assert(site:delete_post(post.id, {force = true}))
  end)
end)
set_permalinks("/%postname%/")
assert(ok, err)
t.test("permalinks back on: /wp-json/ again", function()
  t.eq(t.site().rest_route, false)
end)
t.finish()
