-- publish.many against the real local WordPress: 120 posts with terms and featured images
-- through batches; invalid items fail alone; a SIGKILL mid-way and a re-run leave no duplicate.
local t = require "testing"
local publish = require "wpl.publish"
local fs = require "wpl.fs"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))

local function make_images(n)
  local paths = {}
  for i = 1, n do
    paths[i] = os.tmpname() .. ".png"
    assert(os.execute(("php -r '$i=imagecreatetruecolor(80,60); imagefilledrectangle($i,0,0,79,59,imagecolorallocate($i,%d,%d,%d)); imagepng($i, $argv[1]);' %s")
      :format(math.random(0, 255), math.random(0, 255), i * 20, paths[i])))
  end
  return paths
end

local function items(marker, n, images, invalid)
  local list = {}
  for i = 1, n do
    list[i] = {key = marker .. "/" .. i, title = ("%s %d"):format(marker, i), content = ("<p>%s</p>"):format(("body "):rep(50)),
               status = invalid and invalid[i] and "sideways" or "publish",
               categories = {marker .. " cat " .. (i % 4), marker .. " parent/child " .. (i % 2)},
               tags = {"tag-" .. (i % 5), "tag-" .. (i % 7)}, excerpt = "Excerpt " .. i,
               meta_description = "Meta " .. i, featured_image = images and images[(i % #images) + 1] or nil}
  end
  return list
end

t.test("120 posts with terms and featured images land through batches", function()
  local tag = t.unique("many-")
  local site = t.site{headers = {["X-WPL-Test-Tag"] = tag}}
  local log = t.access_log_since("tag=" .. tag)
  local marker = t.unique("Many")
  local images = make_images(3)
  local list = items(marker, 120, images)
  local seen = 0
  local results, counts = publish.many(site, list, {on_item = function() seen = seen + 1 end})
  t.eq(counts.created, 120)
  t.eq(counts.failed, 0)
  t.eq(seen, 120)
  local batches, uploads, singles = 0, 0, 0
  for _, line in ipairs(log()) do
    if line:match("^POST /wp%-json/batch/v1") then batches = batches + 1 end
    if line:match("^POST /wp%-json/wp/v2/media") then uploads = uploads + 1 end
    if line:match("^POST /wp%-json/wp/v2/posts") then singles = singles + 1 end
  end
  t.eq(batches, 5, "120 posts in batches of 25")
  t.eq(uploads, 3, "each distinct image once")
  t.eq(singles, 0, "no single creates")
  -- check through the REST API
  local check = t.site()
  local media_ids = {}
  for i = 1, 120, 17 do
    local post = assert(check:get_post(results[i].id))
    t.eq(post.title.raw, list[i].title)
    t.eq(#post.categories, 2)
    t.eq(#post.tags, i % 5 == i % 7 and 1 or 2)
    t.ok(post.featured_media > 0, "featured image")
    t.eq(post.meta._yoast_wpseo_metadesc, "Meta " .. i)
    media_ids[post.featured_media] = true
  end
  local distinct = 0
  for _ in pairs(media_ids) do distinct = distinct + 1 end
  t.ok(distinct <= 3)
  -- and again: nothing changes, nothing is written
  local before = #log()
  local _, again = publish.many(site, list)
  t.eq(again.unchanged, 120)
  local writes = 0
  for n, line in ipairs(log()) do if n > before and not line:match("^GET") and not line:match("^OPTIONS") then writes = writes + 1 end end
  t.eq(writes, 0, "a re-run writes nothing")
  for _, p in ipairs(images) do os.remove(p) end
end)

t.test("a batch with 3 invalid items reports those 3 and lands the other 22", function()
  local site = t.site()
  local marker = t.unique("Invalid")
  local list = items(marker, 25, nil, {[3] = true, [11] = true, [20] = true})
  local results, counts = publish.many(site, list)
  t.eq(counts.failed, 3)
  t.eq(counts.created, 22)
  for _, i in ipairs({3, 11, 20}) do
    t.eq(results[i].action, "failed")
    t.eq(results[i].error.code, "rest_invalid_param")
  end
  -- fixing them publishes just those three
  for _, i in ipairs({3, 11, 20}) do list[i].status = "publish" end
  local _, fixed = publish.many(site, list)
  t.eq(fixed.created, 3)
  t.eq(fixed.unchanged, 22)
end)

t.test("SIGKILL during publish.many, then a re-run: no duplicates", function()
  local recipe = os.tmpname() .. ".lua"
  assert(fs.write(recipe, [[
    local publish, wp = require "wpl.publish", require "wpl.wp"
    local env = {}
    for line in io.lines(os.getenv("WPL_TEST_ENV_FILE")) do local k, v = line:match("^([%w_]+)=(.*)$"); if k then env[k] = v end end
    local site = assert(wp.connect{url = env.WPL_TEST_URL, user = env.WPL_TEST_USER, app_password = env.WPL_TEST_APP_PASSWORD})
    local marker, n = ...
    local list = {}
    for i = 1, tonumber(n) do list[i] = {key = marker .. "/" .. i, title = marker .. " post " .. i, status = "publish", categories = {marker}} end
    local _, counts = publish.many(site, list)
    print(counts.failed)
  ]]))
  local marker = t.unique("ManyKilled")
  local time = require "wpl.time"
  for _ = 1, 4 do
    t.kill_at_random(("%s run %s %s 60"):format(wpl, recipe, marker), 0.2, 0.8)
  end
  time.sleep(0.5)
  local code, out, err = t.run(("%s run %s %s 60"):format(wpl, recipe, marker))
  t.eq(code, 0, err)
  t.eq(out, "0\n")
  local total, duplicates = t.count_posts(marker)
  t.eq(duplicates, 0, "no duplicates")
  t.eq(total, 60)
  os.remove(recipe)
end)

t.finish()
