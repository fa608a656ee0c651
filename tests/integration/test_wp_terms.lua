-- Terms through wpl.wp against the real local WordPress: get-or-create by name or path,
-- entity-decoded case-insensitive matching, term_exists, and more than 100 terms.
local t = require "testing"

t.test("'News & Events' twice gives one category", function()
  local site = t.site()
  local name = t.unique("News & Events ")
  local a = assert(site:category(name))
  local b = assert(site:category(name:upper()))
  t.eq(a, b)
  local fresh = t.site() -- no cache: must match the HTML-escaped name WordPress returns
  t.eq(assert(fresh:category(name)), a)
  local cat = assert(site:request("GET", "/wp/v2/categories/" .. a))
  t.eq(cat.name, (name:gsub("&", "&amp;")), "WordPress stores it escaped")
end)

t.test("a Parent/Child path creates the hierarchy", function()
  local site = t.site()
  local parent = t.unique("Parent ")
  local child = assert(site:category(parent .. "/Child/Grandchild"))
  local gc = assert(site:request("GET", "/wp/v2/categories/" .. child))
  t.eq(gc.name, "Grandchild")
  local c = assert(site:request("GET", "/wp/v2/categories/" .. gc.parent))
  t.eq(c.name, "Child")
  local p = assert(site:request("GET", "/wp/v2/categories/" .. c.parent))
  t.eq(p.name, parent)
  t.eq(p.parent, 0)
  t.eq(assert(t.site():category(parent .. " / child / GRANDCHILD")), child, "same path, other spelling")
  local other = assert(site:category(t.unique("Other ") .. "/Child"))
  t.ok(other ~= c.id, "a Child under another parent is another term")
end)

t.test("a term created by someone else meanwhile: term_exists counts as success", function()
  local site = t.site()
  assert(site:tag(t.unique("warm-up-"))) -- loads the tag cache
  local name = t.unique("Raced ")
  local made = assert(t.site():request("POST", "/wp/v2/tags", {body = {name = name}}))
  t.eq(assert(site:tag(name)), made.id)
end)

t.test("ids pass through; bad values raise", function()
  local site = t.site()
  t.eq(site:category(1), 1)
  t.eq(site:category(1.0), 1)
  t.raises(function() site:category("  ") end, "a term is a name")
  t.raises(function() site:category({}) end, "a term is a name")
end)

t.test("150 categories: the cache follows every page, and finds the last one", function()
  local site = t.site()
  local prefix = t.unique("Many ")
  local requests = {}
  for i = 1, 150 do requests[i] = {method = "POST", path = "/wp/v2/categories", body = {name = prefix .. " " .. i}} end
  local ids = {}
  for i, r in ipairs(assert(site:batch(requests))) do
    t.ok(r.ok, "created " .. i)
    ids[i] = r.body.id
  end
  local fresh = t.site()
  local log = t.access_log_since("/wp-json/wp/v2/categories")
  t.eq(assert(fresh:category(prefix .. " 150")), ids[150])
  t.eq(assert(fresh:category(prefix .. " 1")), ids[1])
  t.eq(assert(fresh:category(prefix .. " 75")), ids[75])
  local creates = 0
  for _, line in ipairs(log()) do if line:match("^POST") then creates = creates + 1 end end
  t.eq(creates, 0, "nothing created: all found in the pages")
end)

t.test("create_post takes names, paths and ids together", function()
  local site = t.site()
  local cat_id = assert(site:category(t.unique("By id ")))
  local path = t.unique("Mixed ") .. "/Sub"
  local post = assert(site:create_post{title = t.unique("Mixed terms "), categories = {cat_id, path, path},
                                       tags = {"Alpha", "alpha", "Beta"}})
  t.eq(#post.categories, 2, "duplicates dropped")
  t.eq(#post.tags, 2, "tag names are case-insensitive")
end)

t.finish()
