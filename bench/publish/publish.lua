-- The wpl contender of bench/publish: publishes the generated workload with publish.many.
--
--   WPL_DB=$(mktemp) wpl run bench/publish/publish.lua WORKLOAD.json PREFIX [CONCURRENCY]
--
-- The site comes from WPL_TEST_URL / WPL_TEST_USER / WPL_TEST_APP_PASSWORD (what
-- `tests/wordpress/wp-testbed env` prints). Titles, keys and term names are prefixed with
-- PREFIX, so each contender makes its own posts, 8 categories and 20 tags. Featured images
-- are optimised by wpl itself (wpl.media) when the build has that module. Prints one line:
-- created=N updated=N unchanged=N failed=N optimise=yes|no seconds=S; exits 1 on failures.
local wp = require "wpl.wp"
local publish = require "wpl.publish"
local json = require "wpl.json"
local fs = require "wpl.fs"
local http = require "wpl.http"
local time = require "wpl.time"

local workload_path, prefix, concurrency = ...
assert(workload_path and prefix, "usage: wpl run publish.lua WORKLOAD.json PREFIX [CONCURRENCY]")
http.limit(math.tointeger(tonumber(concurrency or "4")) or 4)

local workload = assert(json.decode(assert(fs.read(workload_path))))
local site = assert(wp.connect{url = assert(os.getenv("WPL_TEST_URL"), "WPL_TEST_URL is not set"),
                               user = os.getenv("WPL_TEST_USER") or "admin",
                               app_password = assert(os.getenv("WPL_TEST_APP_PASSWORD"), "WPL_TEST_APP_PASSWORD is not set")})

local function prefixed(list)
  local out = {}
  for i, name in ipairs(list) do out[i] = prefix .. " " .. name end
  return out
end

local items = {}
for i, p in ipairs(workload.posts) do
  items[i] = {key = prefix .. "/" .. i, title = prefix .. " " .. p.title, content = p.content, status = "publish",
              excerpt = p.excerpt, meta_description = p.meta_description,
              categories = prefixed(p.categories), tags = prefixed(p.tags),
              featured_image = p.featured_image,
              image_options = p.featured_image and {alt_text = p.image_alt} or nil}
end

local optimise = pcall(require, "wpl.media") and "yes" or "no"
local started = time.monotonic()
local results, counts = publish.many(site, items)
local seconds = time.monotonic() - started
for i, r in ipairs(results) do
  if r.action == "failed" then io.stderr:write(("item %d: %s\n"):format(i, tostring(r.error))) end
end
print(("created=%d updated=%d unchanged=%d failed=%d optimise=%s seconds=%.3f"):format(
  counts.created, counts.updated, counts.unchanged, counts.failed, optimise, seconds))
if counts.failed > 0 then os.exit(1) end
