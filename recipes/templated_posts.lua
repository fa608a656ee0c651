-- templated_posts.lua: one post per row of a CSV or JSON file, rendered through title, body
-- and excerpt templates (mustache: {{column}} escaped, {{{column}}} raw, {{#list}}..{{/list}}),
-- published with wpl.publish so that re-runs only send what changed.
--
--   wpl run recipes/templated_posts.lua --site blog --set data=products.csv --set template=product.mustache \
--       --set title="{{name}}: our review" --set excerpt="{{summary}}" --set key=sku
--
-- Columns named categories, tags (comma-separated in CSV), status, slug, date, featured_image
-- and meta_description are used as such; every column is available to the templates.
local recipe = require "wpl.recipe"
local publish = require "wpl.publish"
local template = require "wpl.template"
local data = require "wpl.data"
local fs = require "wpl.fs"

local p = recipe.params{
  description = "Publishes one post per row of a CSV or JSON file through templates; re-runs are safe.",
  site = true,
  {name = "data", type = "path", required = true, help = "CSV (with a header row) or JSON array of objects"},
  {name = "template", type = "path", required = true, help = "the body template (mustache)"},
  {name = "title", type = "string", default = "{{title}}", help = "the title template"},
  {name = "excerpt", type = "string", default = "", help = "the excerpt template"},
  {name = "key", type = "string", help = "the column that identifies a row between runs (default: id, else the slug)"},
  {name = "status", type = "choice", choices = {"draft", "publish", "pending", "private"}, default = "draft",
   help = "status for rows without a status column"},
}

local rows = assert(data.load(p.data))
local body_tpl = assert(template.load(p.template))
local title_tpl = assert(template.compile(p.title, {name = "title"}))
local excerpt_tpl = assert(template.compile(p.excerpt, {name = "excerpt"}))
local data_dir = fs.dirname(p.data)

local run = recipe.run{total = #rows, label = "posts", json = p.json}
local items, rendered = {}, {}
for i, row in ipairs(rows) do
  local title, err = title_tpl:render(row)
  local body, excerpt
  if title then body, err = body_tpl:render(row) end
  if body then excerpt, err = excerpt_tpl:render(row) end
  if not excerpt then
    run:item("failed", ("row %d"):format(i), {error = err})
  else
    local key = p.key and row[p.key] or row.id
    local image = row.featured_image
    if image and image ~= "" and not image:match("^/") then image = fs.join(data_dir, image) end
    items[#items + 1] = {
      key = key and tostring(key) or nil, title = title, content = body, excerpt = excerpt ~= "" and excerpt or nil,
      status = row.status or p.status, slug = row.slug, date = row.date,
      categories = data.list(row.categories), tags = data.list(row.tags),
      featured_image = image ~= "" and image or nil, meta_description = row.meta_description,
    }
    rendered[#items] = title
  end
end
publish.many(p.site, items, {on_item = function(result, _, i) run:item(result.action, rendered[i], result) end})
run:finish()
