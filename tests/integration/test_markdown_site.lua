-- markdown_site.lua against the real local WordPress (runs alone, RUN_SERIAL: it counts every
-- write request the server logs): 30 files with 10 images; a second run writes nothing; one
-- edit updates one post; escapes are refused; prune; --dry-run writes nothing.
local t = require "testing"
local fs = require "wpl.fs"
local json = require "wpl.json"
local env = t.wordpress()
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local source = os.getenv("WPL_SOURCE_DIR")
local site = t.site()

local dir = os.tmpname()
os.remove(dir)
local content = dir .. "/content"
assert(fs.mkdir(content .. "/posts/2024"))
assert(fs.mkdir(content .. "/images"))
local marker = t.unique("MdSite")
local db = dir .. "/wpl.db"

for i = 1, 10 do
  assert(os.execute(("php -r '$i=imagecreatetruecolor(120,80); imagefilledrectangle($i,0,0,119,79,imagecolorallocate($i,%d,%d,%d)); imagepng($i, $argv[1]);' %s/images/img%d.png")
    :format((i * 23) % 256, (i * 57) % 256, math.random(0, 255), content, i)))
end

local function doc(i, extra)
  local img = ((i - 1) % 10) + 1
  local depth = i % 2 == 0 and "posts/2024/" or "posts/"
  local up = i % 2 == 0 and "../../" or "../"
  return depth .. ("post-%02d.md"):format(i), table.concat({
    "---",
    ("title: \"%s %d\""):format(marker, i),
    "categories: [Markdown Site, \"Docs/Guides\"]",
    "tags: [md, sync]",
    "excerpt: Post number " .. i,
    "meta_description: Description " .. i,
    i % 3 == 0 and ("featured_image: %simages/img%d.png"):format(up, (img % 10) + 1) or "status: publish",
    "---",
    "",
    "Intro paragraph with **bold** and a [link](https://example.org).",
    "",
    ("![Picture %d](%simages/img%d.png)"):format(img, up, img),
    "",
    "## Section",
    "",
    "- one",
    "- two",
    "",
    extra or "",
  }, "\n")
end
for i = 1, 30 do
  local rel, text = doc(i)
  assert(fs.write(content .. "/" .. rel, text))
end

local site_env = ("WPL_DB=%s WPL_URL=%s WPL_USER=%s WPL_APP_PASSWORD=%s "):format(db, t.shell_quote(env.url),
  t.shell_quote(env.user), t.shell_quote(env.app_password))
local function sync(args)
  local log = t.access_log_since()
  local code, out, err = t.run(site_env .. wpl .. " run " .. source .. "/recipes/markdown_site.lua --json " .. args)
  local writes, uploads = 0, 0
  for _, line in ipairs(log()) do
    if not line:match("^GET ") and not line:match("^OPTIONS ") and not line:match("^HEAD ") then writes = writes + 1 end
    if line:match("^POST /wp%-json/wp/v2/media") then uploads = uploads + 1 end
  end
  local summary = out:match("({.*})%s*$")
  return code, summary and json.decode(summary), err, writes, uploads
end

t.test("first run: 30 posts, 10 images uploaded once each", function()
  local code, summary, err, _, uploads = sync("--set dir=" .. content)
  t.eq(code, 0, err)
  t.eq(summary.created, 30)
  t.eq(uploads, 10)
  local by_name = {}
  for _, it in ipairs(summary.items) do by_name[it.name] = it end
  local item = by_name["posts/post-01.md"]
  local post = assert(site:get_post(item.id))
  t.eq(post.title.raw, marker .. " 1")
  t.ok(post.content.raw:find("<!-- wp:image {\"id\":", 1, true), "image block with its media id")
  t.ok(post.content.raw:find("/wp-content/uploads/", 1, true), "image URL rewritten")
  t.ok(not post.content.raw:find("images/img", 1, true), "no local path left")
  t.eq(post.excerpt.raw, "Post number 1")
  t.eq(#post.categories, 2)
  local blocks = assert(site:request("GET", "/wpl-test/v1/parse-blocks", {query = {post = item.id}}))
  t.eq(#blocks.invalid, 0, "the block parser reads every block")
  local third = assert(site:get_post(by_name["posts/post-03.md"].id))
  t.ok(third.featured_media > 0, "featured_image from front matter")
end)

t.test("second run with nothing changed sends no write request", function()
  local code, summary, err, writes = sync("--set dir=" .. content)
  t.eq(code, 0, err)
  t.eq(summary.unchanged, 30)
  t.eq(writes, 0)
end)

t.test("editing one file updates exactly that post", function()
  local rel, text = doc(7, "A new closing paragraph.")
  assert(fs.write(content .. "/" .. rel, text))
  local code, summary, err, writes = sync("--set dir=" .. content)
  t.eq(code, 0, err)
  t.eq(summary.updated, 1)
  t.eq(summary.unchanged, 29)
  t.eq(writes, 1, "one batch with one update")
end)

t.test("an image path that leaves the folder is an error for that file only", function()
  assert(fs.write(content .. "/posts/escape.md", "---\ntitle: Escape\n---\n\n![x](../../../../etc/passwd)\n"))
  local code, summary, err = sync("--set dir=" .. content)
  t.eq(code, 1)
  t.eq(summary.failed, 1)
  t.eq(summary.unchanged, 30)
  t.ok(err:find("posts/escape.md: image '../../../../etc/passwd' is outside the folder", 1, true), err)
  os.remove(content .. "/posts/escape.md")
end)

t.test("a removed file's post is trashed only with prune", function()
  os.remove(content .. "/posts/post-05.md")
  local code, summary, err = sync("--set dir=" .. content)
  t.eq(code, 0, err)
  t.eq(summary.trashed, 0)
  code, summary, err = sync("--set dir=" .. content .. " --set prune=true")
  t.eq(code, 0, err)
  t.eq(summary.trashed, 1)
  t.eq(summary.items[#summary.items].action, "trashed")
  t.eq(assert(site:get_post(summary.items[#summary.items].id)).status, "trash")
end)

t.test("images linked by URL are imported with import_remote_images, once", function()
  local item = assert(site:upload_media{path = content .. "/images/img1.png", optimize = false})
  local remote = dir .. "/remote"
  assert(fs.mkdir(remote))
  assert(fs.write(remote .. "/r.md", ("---\ntitle: %s remote\n---\n\n![r](%s)\n"):format(marker, item.source_url)))
  local code, summary, err, _, uploads = sync("--set dir=" .. remote)
  t.eq(code, 0, err)
  t.eq(uploads, 0, "left as they are by default")
  t.ok(assert(site:get_post(summary.items[1].id)).content.raw:find(item.source_url, 1, true))
  code, summary, err, _, uploads = sync("--set dir=" .. remote .. " --set import_remote_images=true")
  t.eq(code, 0, err)
  t.eq(uploads, 1)
  t.eq(summary.updated, 1)
  t.ok(not assert(site:get_post(summary.items[1].id)).content.raw:find(item.source_url, 1, true), "rewritten")
  code, summary, err, _, uploads = sync("--set dir=" .. remote .. " --set import_remote_images=true")
  t.eq(uploads, 0, "downloaded and uploaded once")
  t.eq(summary.unchanged, 1)
end)

t.test("--dry-run on a new folder writes nothing and still reports", function()
  local fresh = dir .. "/fresh"
  assert(fs.mkdir(fresh))
  for i = 1, 3 do assert(fs.write(("%s/f%d.md"):format(fresh, i), ("---\ntitle: %s dry %d\n---\n\n![i](img.png)\n"):format(marker, i))) end
  assert(os.execute(("cp %s/images/img2.png %s/img.png"):format(content, fresh)))
  local code, summary, err, writes = sync("--set dir=" .. fresh .. " --dry-run")
  t.eq(code, 0, err)
  t.eq(writes, 0)
  t.eq(summary.created, 3)
  t.eq(summary.dry_run, true)
  t.ok(err:find("dry run: POST", 1, true), "each would-be write is printed")
  code, summary = sync("--set dir=" .. fresh)
  t.eq(summary.created, 3, "nothing was recorded by the dry run")
end)

os.execute("rm -rf " .. dir)
t.finish()
