-- publish_post.lua: publishes one post with a featured image, categories, tags, an excerpt,
-- a meta description and a status. Safe to run again: the post is updated, never duplicated
-- (it is known by its key, default its slug).
--
--   wpl run recipes/publish_post.lua --site blog --set title="Hello" --set content_file=hello.html \
--       --set categories="News,Tech/AI" --set tags=wpl --set featured_image=photo.jpg --set status=publish
--
-- Parameters (see --help): title, content or content_file, excerpt, status, slug, date,
-- categories, tags, featured_image, meta_description, key.
local recipe = require "wpl.recipe"
local publish = require "wpl.publish"
local fs = require "wpl.fs"

local p = recipe.params{
  description = "Publishes one post (with image, terms, excerpt and SEO description); re-runs update it.",
  site = true,
  {name = "title", type = "string", required = true, help = "the post's title"},
  {name = "content", type = "string", help = "the body as HTML"},
  {name = "content_file", type = "path", help = "a file with the body (HTML)"},
  {name = "excerpt", type = "string", help = "short summary"},
  {name = "status", type = "choice", choices = {"draft", "publish", "pending", "private", "future"}, default = "draft"},
  {name = "slug", type = "string", help = "URL slug (default: from the title)"},
  {name = "date", type = "string", help = "publication date, e.g. 2030-01-31T09:00:00 (with status=future)"},
  {name = "categories", type = "list", default = {}, help = "comma-separated names or Parent/Child paths"},
  {name = "tags", type = "list", default = {}, help = "comma-separated tag names"},
  {name = "featured_image", type = "path", help = "an image file to upload and attach"},
  {name = "meta_description", type = "string", help = "the description search engines show"},
  {name = "key", type = "string", help = "what identifies this post between runs (default: the slug)"},
}

local content = p.content
if p.content_file then content = assert(fs.read(p.content_file)) end
if not content then recipe.fail("give the body with --set content=... or --set content_file=FILE") end

local run = recipe.run{total = 1, label = "posts", json = p.json}
local result, err = publish.post(p.site, {
  key = p.key, title = p.title, content = content, excerpt = p.excerpt, status = p.status, slug = p.slug,
  date = p.date, categories = p.categories, tags = p.tags, featured_image = p.featured_image,
  meta_description = p.meta_description,
})
if result then
  run:item(result.action, p.title, result)
  if not p.json then print(result.link) end
else
  run:item("failed", p.title, {error = err})
end
run:finish()
