-- demo.lua: publishes three illustrated sample posts, with categories, tags, excerpts and
-- featured images, and prints their URLs. Safe to run again: posts are matched by slug and
-- updated instead of duplicated.
--
--   WPL_URL=https://example.com WPL_USER=admin WPL_APP_PASSWORD='xxxx xxxx ...' wpl run recipes/demo.lua
--
-- (tests/run.sh demo sets these for a throwaway local WordPress.)
local wp = require "wpl.wp"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local function need(name)
  local v = os.getenv(name)
  if not v or v == "" then error(name .. " is not set (see the comment at the top of demo.lua)", 0) end
  return v
end

local site = assert(wp.connect{url = need("WPL_URL"), user = need("WPL_USER"), app_password = need("WPL_APP_PASSWORD")})
assert(site:test())

local posts = {
  {slug = "wpl-demo-harbour", title = "A morning at the harbour", image = "harbour.jpg",
   categories = {"Travel/Coast"}, tags = {"sea", "mornings"},
   excerpt = "Fishing boats, gulls and the first coffee of the day.",
   content = [[<p>The tide was out when we arrived, and the boats leaned on their keels like tired horses.</p>
<p>By eight the first crates of the day's catch were on the quay, and the café by the lighthouse had opened its shutters.</p>]]},
  {slug = "wpl-demo-meadow", title = "Wildflowers in the high meadow", image = "meadow.jpg",
   categories = {"Travel/Mountains"}, tags = {"hiking", "flowers"},
   excerpt = "A two-hour climb for a field of colour.",
   content = [[<p>Past the last farm the path steepens, and then, suddenly, the meadow opens up.</p>
<ul><li>Gentians</li><li>Alpine asters</li><li>Edelweiss, if you know where to look</li></ul>]]},
  {slug = "wpl-demo-sunset", title = "Why sunsets are red", image = "sunset.jpg",
   categories = {"Science"}, tags = {"light", "sky"},
   excerpt = "Rayleigh scattering, explained over a glass of wine.",
   content = [[<p>Sunlight crosses far more air at dusk. Blue light scatters away on the long path, and what reaches us is the red end of the spectrum.</p>]]},
}

for _, p in ipairs(posts) do
  local fields = {title = p.title, slug = p.slug, content = p.content, excerpt = p.excerpt, status = "publish",
                  categories = p.categories, tags = p.tags, meta_description = p.excerpt}
  local existing
  for found in site:posts{slug = p.slug, status = "any"} do existing = found end
  local post, err
  if existing then
    post, err = site:update_post(existing.id, fields)
  else
    fields.featured_image = here .. "/demo/" .. p.image
    post, err = site:create_post(fields)
  end
  if not post then error(("could not publish %q: %s"):format(p.title, tostring(err)), 0) end
  print(("%s  %s"):format(existing and "updated" or "created", post.link))
end
