-- wpl.sites and wpl.publish against the real local WordPress: re-runs send nothing, edits
-- update exactly one post, slugs are adopted, images upload once, history is kept, and a
-- run killed with SIGKILL at random moments still ends with one post per item.
local t = require "testing"
local publish = require "wpl.publish"
local json = require "wpl.json"
local fs = require "wpl.fs"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local source = os.getenv("WPL_SOURCE_DIR")

-- A site whose requests carry a tag, so this test can count its own requests.
local function tagged_site()
  local tag = t.unique("pub-")
  return t.site{headers = {["X-WPL-Test-Tag"] = tag}}, t.access_log_since("tag=" .. tag)
end

local function writes(lines)
  local n = 0
  for _, line in ipairs(lines) do if not line:match("^GET ") and not line:match("^OPTIONS ") then n = n + 1 end end
  return n
end

local function items(marker, n, body)
  local list = {}
  for i = 1, n do
    list[i] = {key = marker .. "/" .. i, title = ("%s item %d"):format(marker, i), content = body or "<p>v1</p>",
               status = "publish", categories = {"Publish Test"}, tags = {"wpl-publish"}, excerpt = "e" .. i}
  end
  return list
end

t.test("a second run of 20 posts sends no write request; one edit updates one post", function()
  local site, log = tagged_site()
  local marker = t.unique("Twenty")
  local list = items(marker, 20)
  local ids = {}
  for i, item in ipairs(list) do
    local r = assert(publish.post(site, item))
    t.eq(r.action, "created")
    ids[i] = r.id
  end
  local first_writes = writes(log())
  t.ok(first_writes >= 20, "twenty creates")
  for i, item in ipairs(list) do
    local r = assert(publish.post(site, item))
    t.eq(r.action, "unchanged")
    t.eq(r.id, ids[i])
  end
  t.eq(writes(log()), first_writes, "the second run wrote nothing")
  list[7].content = "<p>v2</p>"
  for i, item in ipairs(list) do
    local r = assert(publish.post(site, item))
    t.eq(r.action, i == 7 and "updated" or "unchanged", "item " .. i)
  end
  t.eq(writes(log()), first_writes + 1, "exactly one update")
  t.eq(assert(site:get_post(ids[7])).content.raw, "<p>v2</p>")
end)

t.test("an unknown key whose slug exists is adopted, not duplicated", function()
  local site = t.site()
  local title = t.unique("Adopt me ")
  local existing = assert(site:create_post{title = title, status = "draft"})
  local r = assert(publish.post(site, {key = t.unique("adopt-key-"), title = title, slug = existing.slug, content = "<p>adopted</p>"}))
  t.eq(r.id, existing.id)
  t.eq(r.action, "updated")
  -- a trashed post is found too
  local trashed = assert(site:create_post{title = t.unique("Trashed "), status = "publish"})
  assert(site:delete_post(trashed.id))
  r = assert(publish.post(site, {title = "Back", slug = trashed.slug, status = "publish"}))
  t.eq(r.id, trashed.id)
  t.eq(assert(site:get_post(trashed.id)).status, "publish")
end)

t.test("two keys with the same title get two posts", function()
  local site = t.site()
  local title = t.unique("Same title ")
  local a = assert(publish.post(site, {key = t.unique("k-a-"), title = title}))
  local b = assert(publish.post(site, {key = t.unique("k-b-"), title = title}))
  t.ok(a.id ~= b.id)
end)

t.test("an image is uploaded once per site however many posts use it", function()
  local site, log = tagged_site()
  local path = os.tmpname() .. ".png"
  assert(os.execute(("php -r '$i=imagecreatetruecolor(64,48); imagefilledrectangle($i,0,0,63,47,imagecolorallocate($i,%d,90,40)); imagepng($i, $argv[1]);' %s")
    :format(math.random(0, 255), path)))
  local marker = t.unique("Img")
  local media_ids = {}
  for i = 1, 3 do
    local r = assert(publish.post(site, {key = marker .. i, title = marker .. " " .. i, featured_image = path}))
    media_ids[i] = assert(site:get_post(r.id)).featured_media
  end
  os.remove(path)
  t.ok(media_ids[1] > 0)
  t.eq(media_ids[2], media_ids[1])
  t.eq(media_ids[3], media_ids[1])
  local uploads = 0
  for _, line in ipairs(log()) do if line:match("^POST /wp%-json/wp/v2/media") then uploads = uploads + 1 end end
  t.eq(uploads, 1)
end)

t.test("status changes and deletes keep the history right", function()
  local site = t.site()
  local key = t.unique("life-")
  local r = assert(publish.post(site, {key = key, title = t.unique("Life "), status = "draft"}))
  t.eq(assert(publish.set_status(site, key, "publish")).status, "publish")
  assert(publish.delete(site, key))
  t.eq(assert(site:get_post(r.id)).status, "trash")
  local db = assert(require("wpl.db").open())
  local row = db:first("SELECT state FROM wordpress_posts WHERE source_key = ?", key)
  t.eq(row.state, "trashed", "the record stays, marked trashed")
  local actions = {}
  for _, h in ipairs(assert(require("wpl.db").rows(db, "SELECT action FROM history WHERE wp_post_id = ? ORDER BY id", r.id))) do
    actions[#actions + 1] = h.action
  end
  t.eq(table.concat(actions, ","), "created,status_changed,trashed")
  -- publishing it again brings it back from the trash
  r = assert(publish.post(site, {key = key, title = "Life again", status = "publish"}))
  t.eq(r.action, "updated")
  t.eq(assert(site:get_post(r.id)).status, "publish")
  assert(publish.delete(site, key, {force = true}))
  t.eq(db:first("SELECT state FROM wordpress_posts WHERE source_key = ?", key).state, "deleted")
  local _, err = site:get_post(r.id)
  t.eq(err.status, 404)
  local failed = publish.set_status(site, t.unique("never-published-"), "publish")
  t.eq(failed, nil)
end)

-- A recipe that publishes N posts with the given marker; used as a child process.
local function write_recipe(path)
  assert(fs.write(path, [[
    local publish, wp = require "wpl.publish", require "wpl.wp"
    local env = {}
    for line in io.lines(os.getenv("WPL_TEST_ENV_FILE")) do local k, v = line:match("^([%w_]+)=(.*)$"); if k then env[k] = v end end
    local site = assert(wp.connect{url = env.WPL_TEST_URL, user = env.WPL_TEST_USER, app_password = env.WPL_TEST_APP_PASSWORD})
    local marker, n = ...
    for i = 1, tonumber(n) do
      assert(publish.post(site, {key = marker .. "/" .. i, title = marker .. " post " .. i, content = "<p>" .. i .. "</p>", status = "publish"}))
    end
    print("done")
  ]]))
end

t.test("SIGKILL at random moments, then a re-run: exactly 50 posts, no duplicates", function()
  local recipe = os.tmpname() .. ".lua"
  write_recipe(recipe)
  local marker = t.unique("Killed")
  local time = require "wpl.time"
  for _ = 1, 6 do -- bounded: six kills
    t.kill_at_random(("%s run %s %s 50"):format(wpl, recipe, marker), 0.15, 0.6)
  end
  time.sleep(0.5)
  local code, out, err = t.run(("%s run %s %s 50"):format(wpl, recipe, marker))
  t.eq(code, 0, err)
  t.eq(out, "done\n")
  local total, duplicates = t.count_posts(marker)
  t.eq(duplicates, 0, "no duplicates")
  t.eq(total, 50, "exactly fifty posts, checked through the REST API")
  os.remove(recipe)
end)

t.test("two processes publishing into one database at once both succeed", function()
  local recipe = os.tmpname() .. ".lua"
  write_recipe(recipe)
  local a, b = t.unique("ProcA"), t.unique("ProcB")
  local outa, outb = os.tmpname(), os.tmpname()
  os.execute(("%s run %s %s 15 > %s 2>&1 & %s run %s %s 15 > %s 2>&1; wait"):format(wpl, recipe, a, outa, wpl, recipe, b, outb))
  t.eq(fs.read(outa), "done\n")
  t.eq(fs.read(outb), "done\n")
  t.eq((t.count_posts(a)), 15)
  t.eq((t.count_posts(b)), 15)
  os.remove(recipe)
  os.remove(outa)
  os.remove(outb)
end)

t.finish()
