-- markdown_site.lua: keeps a folder of Markdown files (with YAML front matter) in sync with a
-- site. One post per file, as editable blocks (or plain HTML). Local images are optimised,
-- uploaded once and their URLs rewritten; `featured_image` in the front matter is attached.
-- A second run with nothing changed sends no write request; an edited file updates exactly its
-- post; with --set prune=true the post of a removed file goes to the trash.
--
--   wpl run recipes/markdown_site.lua --site blog --set dir=content/
--
-- Front matter keys: title (else the first # heading), slug, status, date, categories, tags,
-- excerpt, featured_image, meta_description, type (post or page), key; any other key is left
-- alone. Image paths may not leave the folder. Images linked by http(s) URL stay where they
-- are unless --set import_remote_images=true (downloaded, size-limited, uploaded once).
local recipe = require "wpl.recipe"
local publish = require "wpl.publish"
local markdown = require "wpl.markdown"
local fs = require "wpl.fs"
local tasks = require "wpl.tasks"
local data = require "wpl.data"

local p = recipe.params{
  description = "Syncs a folder of Markdown files with front matter to a site.",
  site = true,
  {name = "dir", type = "path", required = true, help = "the folder of .md files (searched recursively)"},
  {name = "status", type = "choice", choices = {"draft", "publish", "pending", "private"}, default = "publish",
   help = "status of files whose front matter has none"},
  {name = "format", type = "choice", choices = {"blocks", "html"}, default = "blocks",
   help = "block editor markup, or plain HTML"},
  {name = "prune", type = "boolean", default = false, help = "trash the posts of files that are gone"},
  {name = "import_remote_images", type = "boolean", default = false,
   help = "download images linked by URL and upload them to the site"},
  {name = "namespace", type = "string", help = "what tells this folder's posts apart (default: the folder's name)"},
  {name = "links", type = "choice", choices = {"changed", "all", "none"}, default = "changed",
   help = "which posts' URLs to print at the end"},
}

local site = p.site
local root = assert(fs.realpath(p.dir))
local namespace = p.namespace or fs.basename(root)
local files = assert(fs.list(root, {glob = "*.md", recursive = true}))
local run = recipe.run{total = #files, label = "files", json = p.json}

local function is_remote(src) return src:match("^https?://") ~= nil end

-- Reads and parses every file; collects the images they use.
local docs, images = {}, {} -- images: key ("file:<real path>" | "url:<url>") -> {path= | url=}
for _, rel in ipairs(files) do
  local path = fs.join(root, rel)
  local text, err = fs.read(path)
  local doc
  if text then doc, err = markdown.parse(text, {format = p.format}) end
  if not doc then
    run:item("failed", rel, {error = err})
  else
    local folder = fs.dirname(path)
    doc.rel, doc.image_keys = rel, {}
    local function add_image(src, is_featured)
      if is_remote(src) then
        if not p.import_remote_images then return true end
        doc.image_keys[src] = "url:" .. src
        images["url:" .. src] = {url = src}
        return true
      end
      local real, perr = fs.within(root, src:sub(1, 1) == "/" and fs.join(root, src) or fs.join(folder, src))
      if not real then
        return nil, ("%s: image '%s' %s"):format(rel, src, perr.code == "outside_root" and "is outside the folder" or "was not found")
      end
      doc.image_keys[src] = "file:" .. real
      images["file:" .. real] = {path = real}
      if is_featured then doc.featured = "file:" .. real end
      return true
    end
    local problem
    for _, img in ipairs(doc.images) do
      local ok, why = add_image(img.src)
      problem = problem or (not ok and why)
    end
    local featured = doc.meta.featured_image
    if type(featured) == "string" and featured ~= "" then
      local ok, why = add_image(featured, true)
      problem = problem or (not ok and why)
      if is_remote(featured) and p.import_remote_images then doc.featured = "url:" .. featured end
    end
    if problem then run:item("failed", rel, {error = problem}) else docs[#docs + 1] = doc end
  end
end

-- Each distinct image once, several at a time (only uploaded the first time ever).
local image_list = {}
for key, img in pairs(images) do image_list[#image_list + 1] = {key = key, img = img} end
table.sort(image_list, function(a, b) return a.key < b.key end)
tasks.map(image_list, function(entry)
  local uploaded, err
  if entry.img.url then uploaded, err = publish.remote_image(site, entry.img.url)
  else uploaded, err = publish.image(site, entry.img.path) end
  images[entry.key] = uploaded or {error = err}
end)

-- One item per document, with image URLs rewritten.
local items, names = {}, {}
for _, doc in ipairs(docs) do
  local map, problem = {}, nil
  for src, key in pairs(doc.image_keys) do
    local img = images[key]
    if img.error then problem = problem or ("%s: image '%s': %s"):format(doc.rel, src, tostring(img.error))
    else map[src] = {url = img.url, id = img.id} end
  end
  local content, err = markdown.render(doc, {format = p.format, images = map})
  if problem or not content then
    run:item("failed", doc.rel, {error = problem or err})
  else
    local m = doc.meta
    local featured = doc.featured and images[doc.featured]
    items[#items + 1] = {
      key = namespace .. ":" .. (m.key or doc.rel), type = m.type, title = doc.title or doc.rel,
      content = content, excerpt = m.excerpt, status = m.status or p.status, slug = m.slug,
      date = m.date and tostring(m.date), categories = data.list(m.categories), tags = data.list(m.tags),
      featured_image = featured and featured.id or nil, meta_description = m.meta_description,
    }
    names[#items] = doc.rel
  end
end

local changed = {}
publish.many(site, items, {on_item = function(result, _, i)
  run:item(result.action, names[i], result)
  if p.links == "all" or (p.links == "changed" and (result.action == "created" or result.action == "updated")) then
    changed[#changed + 1] = result
  end
end})

-- Posts of files that are gone: listed, and trashed with prune=true.
local present = {}
for _, item in ipairs(items) do present[item.key] = true end
for _, doc in ipairs(docs) do present[namespace .. ":" .. (doc.meta.key or doc.rel)] = true end
for _, post_type in ipairs({"post", "page"}) do
  for _, row in ipairs(publish.known(site, post_type)) do
    local mine = row.source_key:sub(1, #namespace + 1) == namespace .. ":"
    if mine and not present[row.source_key] and row.state == "settled" then
      if p.prune then
        local ok, err = publish.delete(site, row.source_key, {type = post_type})
        if ok then run:item("trashed", row.source_key, {id = row.wp_post_id})
        else run:item("failed", row.source_key, {error = err}) end
      else
        print(("gone: %s (post %d stays; --set prune=true trashes it)"):format(row.source_key, row.wp_post_id))
      end
    end
  end
end
if not p.json then
  for _, result in ipairs(changed) do print(("%-9s %s"):format(result.action, result.link)) end
end
run:finish()
