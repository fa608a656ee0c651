-- category_map.lua: maps source categories to WordPress categories through the table below
-- (or a file of your own): many names to one, Parent/Child targets, a default for names the
-- table does not know, and a report of those names. Applied to posts as they are published
-- (--set data=posts.json|csv, each item with "categories"), and with --set existing=true to
-- the posts already on the site.
--
--   wpl run recipes/category_map.lua --site blog --set data=posts.json
--   wpl run recipes/category_map.lua --site blog --set existing=true --set map=my-map.lua
--
-- A map file returns a table like MAP below; `default = "Name"` in it sets the default.
local recipe = require "wpl.recipe"
local publish = require "wpl.publish"
local catmap = require "wpl.catmap"
local data = require "wpl.data"
local html = require "wpl.html"
local tasks = require "wpl.tasks"

-- Source name (any case) = WordPress category (a name or a Parent/Child path).
local MAP = {
  ["tech"] = "Technology",
  ["technology"] = "Technology",
  ["ai"] = "Technology/AI",
  ["machine learning"] = "Technology/AI",
  ["ml"] = "Technology/AI",
  ["recipes"] = "Food",
  ["cooking"] = "Food",
  ["travel"] = "Travel",
  ["trips"] = "Travel",
}
local DEFAULT = "Miscellaneous"

local p = recipe.params{
  description = "Maps source categories to WordPress categories, for new posts and (optionally) existing ones.",
  site = true,
  {name = "data", type = "path", help = "posts to publish (JSON array or CSV) with a categories field"},
  {name = "map", type = "path", help = "a Lua file returning the mapping (default: the table in this recipe)"},
  {name = "default", type = "string", default = DEFAULT, help = "category for unmapped names ('' for none)"},
  {name = "existing", type = "boolean", default = false, help = "also re-map the posts already on the site"},
  {name = "status", type = "choice", choices = {"draft", "publish", "pending", "private"}, default = "publish"},
}

local default = p.default ~= "" and p.default or nil
local mapper
if p.map then
  mapper = assert(catmap.load(p.map, {default = default}))
else
  mapper = catmap.new(MAP, {default = default})
end
local site = p.site
if not p.data and not p.existing then recipe.fail("nothing to do: give --set data=FILE and/or --set existing=true") end
local runs = {}

if p.data then
  local rows = assert(data.load(p.data))
  local items = {}
  for i, row in ipairs(rows) do
    items[i] = {key = row.key or row.slug, title = row.title, content = row.content or "", excerpt = row.excerpt,
                status = row.status or p.status, tags = data.list(row.tags), slug = row.slug,
                categories = mapper:map(data.list(row.categories))}
  end
  local run = recipe.run{total = #items, label = "posts", json = p.json}
  publish.many(site, items, {on_item = function(result, item)
    run:item(result.action, item.title, result)
  end})
  runs[#runs + 1] = run
end

if p.existing then
  -- every category of the site by id, as the names posts carry
  local names = {}
  local page = 1
  repeat
    local list, res = assert(site:request("GET", "/wp/v2/categories", {query = {per_page = 100, page = page, _fields = "id,name"}}))
    for _, c in ipairs(list) do names[c.id] = html.decode(c.name) end
    page = page + 1
  until page > (tonumber(res.headers["x-wp-totalpages"]) or 1)
  local posts = {}
  for post in site:posts{status = "any", _fields = "id,title,categories"} do posts[#posts + 1] = post end
  local run = recipe.run{total = #posts, label = "existing posts", json = p.json}
  tasks.map(posts, function(post)
    local current, current_ids = {}, {}
    for _, id in ipairs(post.categories or {}) do
      current[#current + 1] = names[id] or tostring(id)
      current_ids[id] = true
    end
    local title = post.title and (post.title.raw or html.decode(post.title.rendered or "")) or tostring(post.id)
    local ids, same = {}, true
    for _, target in ipairs(mapper:map(current)) do
      local id, err = site:category(target)
      if not id then return run:item("failed", title, {error = err}) end
      ids[#ids + 1] = id
      if not current_ids[id] then same = false end
    end
    if #ids ~= #(post.categories or {}) then same = false end
    if same then
      run:item("unchanged", title, {id = post.id})
      return
    end
    local updated, err = site:update_post(post.id, {categories = ids})
    if updated then run:item("updated", title, {id = post.id, link = updated.link})
    else run:item("failed", title, {error = err}) end
  end)
  runs[#runs + 1] = run
end

for _, u in ipairs(mapper:report()) do print(("unmapped: %s (%d)"):format(u.name, u.count)) end
local failed = 0
for _, run in ipairs(runs) do failed = failed + run:finish{fail = false}.failed end
if failed > 0 then recipe.fail(("%d items failed (see above)"):format(failed)) end
