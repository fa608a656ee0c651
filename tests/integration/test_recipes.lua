-- The example recipes, run as a user would (wpl run recipes/X.lua ...) against the real local
-- WordPress, their results checked through the REST API.
local t = require "testing"
local fs = require "wpl.fs"
local json = require "wpl.json"
local env = t.wordpress()
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local source = os.getenv("WPL_SOURCE_DIR")
local site = t.site()

local dir = os.tmpname()
os.remove(dir)
assert(fs.mkdir(dir))
local site_env = ("WPL_URL=%s WPL_USER=%s WPL_APP_PASSWORD=%s "):format(t.shell_quote(env.url), t.shell_quote(env.user),
                                                                     t.shell_quote(env.app_password))
local function recipe(name, args)
  return t.run(site_env .. wpl .. " run " .. source .. "/recipes/" .. name .. " " .. args)
end

local function make_png(path)
  assert(os.execute(("php -r '$i=imagecreatetruecolor(90,60); imagefilledrectangle($i,0,0,89,59,imagecolorallocate($i,%d,80,160)); imagepng($i, $argv[1]);' %s")
    :format(math.random(0, 255), t.shell_quote(path))))
end

local function category_names(post)
  local names = {}
  for _, id in ipairs(post.categories) do names[#names + 1] = assert(site:request("GET", "/wp/v2/categories/" .. id)).name end
  table.sort(names)
  return table.concat(names, ",")
end

t.test("publish_post.lua publishes everything of the seed's example, then updates in place", function()
  local title = t.unique("Seed example ")
  local image = dir .. "/photo.png"
  make_png(image)
  local args = ("--set title=%s --set content=%s --set excerpt=Short --set status=publish --set categories=%s "
    .. "--set tags=one,two --set featured_image=%s --set meta_description=%s --json")
    :format(t.shell_quote(title), t.shell_quote("<p>Seed body</p>"), t.shell_quote("Recipes/Seed"), image, t.shell_quote("Seed description"))
  local code, out, err = recipe("publish_post.lua", args)
  t.eq(code, 0, err)
  local summary = json.decode(out)
  t.eq(summary.created, 1)
  local post = assert(site:get_post(summary.items[1].id))
  t.eq(post.title.raw, title)
  t.eq(post.status, "publish")
  t.eq(post.excerpt.raw, "Short")
  t.eq(#post.tags, 2)
  t.eq(category_names(post), "Seed")
  t.ok(post.featured_media > 0)
  t.eq(post.meta._yoast_wpseo_metadesc, "Seed description")
  code, out = recipe("publish_post.lua", args)
  t.eq(json.decode(out).unchanged, 1, "a re-run changes nothing")
  code, out = recipe("publish_post.lua", args:gsub("Short", "Longer"))
  t.eq(json.decode(out).updated, 1)
  t.eq(assert(site:get_post(post.id)).excerpt.raw, "Longer")
end)

t.test("category_map.lua maps many names to one, paths, a default, and reports the unmapped", function()
  local marker = t.unique("Mapped ")
  local posts = {
    {title = marker .. "1", content = "x", categories = {"Tech", "ML"}},
    {title = marker .. "2", content = "x", categories = "cooking, recipes"},
    {title = marker .. "3", content = "x", categories = {"Gardening"}},
    {title = marker .. "4", content = "x", categories = {"gardening", "AI"}},
  }
  assert(fs.write(dir .. "/posts.json", json.encode(posts)))
  local code, out, err = recipe("category_map.lua", "--set data=" .. dir .. "/posts.json")
  t.eq(code, 0, err)
  t.ok(out:find("unmapped: Gardening (1)", 1, true) and out:find("unmapped: gardening (1)", 1, true), out)
  t.ok(out:find("created 4", 1, true), out)
  local expect = {"AI,Technology", "Food", "Miscellaneous", "AI,Miscellaneous"}
  for i, p in ipairs(posts) do
    local found
    for post in site:posts{search = p.title, status = "any"} do if post.title.raw == p.title then found = post end end
    t.ok(found, p.title)
    local names = category_names(found)
    t.eq(names, expect[i], p.title)
  end
  local ai = assert(site:category("Technology/AI"))
  t.eq(assert(site:request("GET", "/wp/v2/categories/" .. ai)).parent, assert(site:category("Technology")))
end)

t.test("category_map.lua --set existing=true re-maps posts already on the site", function()
  local map = dir .. "/map.lua"
  local old = t.unique("OldCat")
  local new = t.unique("NewCat")
  assert(fs.write(map, ("return {[%q] = %q, default = false}"):format(old:lower(), new .. "/Sub")))
  local post = assert(site:create_post{title = t.unique("Existing "), categories = {old}, status = "draft"})
  local code, out, err = recipe("category_map.lua", "--set existing=true --set default= --set map=" .. map)
  t.eq(code, 0, err)
  t.ok(out:find("updated", 1, true), out)
  t.eq(category_names(assert(site:get_post(post.id))), "Sub")
end)

t.test("templated_posts.lua renders rows through templates; re-runs send only changes", function()
  local marker = t.unique("Product")
  local rows = {"sku,name,price,summary,categories,tags"}
  for i = 1, 5 do rows[#rows + 1] = ('%s-%d,"%s %d",%d.99,"Summary & more %d",Shop,"sale,new"'):format(marker, i, marker, i, i, i) end
  assert(fs.write(dir .. "/products.csv", table.concat(rows, "\n") .. "\n"))
  assert(fs.write(dir .. "/product.mustache", "<h2>{{name}}</h2>\n<p>Price: {{price}} EUR</p>\n{{#summary}}<p>{{summary}}</p>{{/summary}}\n"))
  local args = ("--set data=%s/products.csv --set template=%s/product.mustache --set title=%s --set excerpt=%s --set key=sku --json")
    :format(dir, dir, t.shell_quote("{{name}} review"), t.shell_quote("{{summary}}"))
  local code, out, err = recipe("templated_posts.lua", args)
  t.eq(code, 0, err)
  local summary = json.decode(out)
  t.eq(summary.created, 5)
  local post = assert(site:get_post(summary.items[2].id))
  t.eq(post.title.raw, marker .. " 2 review")
  t.ok(post.content.raw:find("<p>Price: 2.99 EUR</p>", 1, true), post.content.raw)
  t.ok(post.content.raw:find("Summary &amp; more 2", 1, true), "escaped in the body")
  t.eq(post.excerpt.raw, "Summary &amp; more 2")
  t.eq(#post.tags, 2)
  code, out = recipe("templated_posts.lua", args)
  t.eq(json.decode(out).unchanged, 5)
  rows[4] = rows[4]:gsub("3%.99", "33.99")
  assert(fs.write(dir .. "/products.csv", table.concat(rows, "\n") .. "\n"))
  code, out = recipe("templated_posts.lua", args)
  summary = json.decode(out)
  t.eq(summary.updated, 1)
  t.eq(summary.unchanged, 4)
end)

t.test("a template error names the file and line; the recipe fails cleanly", function()
  assert(fs.write(dir .. "/broken.mustache", "<p>\n{{#open}}\n</p>\n"))
  assert(fs.write(dir .. "/one.csv", "title\nx\n"))
  local code, _, err = recipe("templated_posts.lua", ("--set data=%s/one.csv --set template=%s/broken.mustache"):format(dir, dir))
  t.eq(code, 1)
  t.ok(err:find("broken.mustache:2: '{{#open}}' is never closed", 1, true), err)
end)

os.execute("rm -rf " .. dir)
t.finish()
