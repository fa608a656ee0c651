-- Posts, pages and custom post types through wpl.wp against the real local WordPress:
-- every field, the full life cycle, listing across pages, and the SEO meta description.
local t = require "testing"
local json = require "wpl.json"

t.test("create, get, update, trash and delete a post with every common field", function()
  local site = t.site()
  local title = t.unique("Full post ")
  local post = assert(site:create_post{
    title = title, content = "<p>Body</p>", excerpt = "Short", status = "publish",
    slug = t.unique("full-post-"), sticky = true, format = "aside", comment_status = "closed",
    ping_status = "closed", author = 1, categories = {"Posts Test"}, tags = {"one", "two"},
  })
  t.eq(math.type(post.id), "integer")
  t.eq(post.title.raw, title)
  t.eq(post.content.raw, "<p>Body</p>")
  t.eq(post.excerpt.raw, "Short")
  t.eq(post.status, "publish")
  t.eq(post.sticky, true)
  t.eq(post.format, "aside")
  t.eq(post.comment_status, "closed")
  t.eq(post.author, 1)
  t.eq(#post.categories, 1)
  t.eq(#post.tags, 2)
  t.ok(post.link:find(post.slug, 1, true), "link uses the slug")

  local got = assert(site:get_post(post.id))
  t.eq(got.id, post.id)
  local updated = assert(site:update_post(post.id, {title = title .. " (edited)", status = "draft", tags = {}}))
  t.eq(updated.title.raw, title .. " (edited)")
  t.eq(updated.status, "draft")
  t.eq(#updated.tags, 0, "an empty tag list is sent as [] and clears the tags")

  local trashed = assert(site:delete_post(post.id))
  t.eq(trashed.status, "trash")
  local deleted = assert(site:delete_post(post.id, {force = true}))
  t.eq(deleted.deleted, true)
  local _, err = site:get_post(post.id)
  t.eq(err.code, "rest_post_invalid_id")
end)

t.test("scheduled posts: status future with a date", function()
  local site = t.site()
  local post = assert(site:create_post{title = t.unique("Future "), status = "future", date = "2099-01-02T03:04:05"})
  t.eq(post.status, "future")
  t.eq(post.date, "2099-01-02T03:04:05")
  local gmt = assert(site:create_post{title = t.unique("Future GMT "), status = "future", date_gmt = "2098-05-06T07:08:09"})
  t.eq(gmt.date_gmt, "2098-05-06T07:08:09")
end)

t.test("private and pending statuses, pages and custom post types", function()
  local site = t.site()
  t.eq(assert(site:create_post{title = t.unique("Private "), status = "private"}).status, "private")
  t.eq(assert(site:create_post{title = t.unique("Pending "), status = "pending"}).status, "pending")
  local page = assert(site:create_post{type = "page", title = t.unique("A page "), status = "publish", content = "<p>p</p>"})
  t.eq(page.type, "page")
  t.eq(assert(site:get_post(page.id, {type = "page"})).id, page.id)
  local block = assert(site:create_post{type = "wp_block", title = t.unique("Reusable "), content = "<!-- wp:paragraph --><p>x</p><!-- /wp:paragraph -->", status = "publish"})
  t.eq(block.type, "wp_block")
  local _, err = site:create_post{type = "no_such_type", title = "x"}
  t.eq(err.code, "unknown_post_type")
end)

t.test("site:posts follows every page", function()
  local site = t.site()
  local marker = t.unique("Paged")
  local created = {}
  local requests = {}
  for i = 1, 7 do requests[i] = {method = "POST", path = "/wp/v2/posts", body = {title = marker .. " " .. i, status = "draft"}} end
  for _, r in ipairs(assert(site:batch(requests))) do
    t.ok(r.ok, "batch item")
    created[r.body.id] = true
  end
  local seen, count = {}, 0
  for p in site:posts{search = marker, status = "any", per_page = 3} do
    t.ok(created[p.id], "only our posts")
    t.ok(not seen[p.id], "no post twice")
    seen[p.id] = true
    count = count + 1
  end
  t.eq(count, 7, "three pages of 3, 3 and 1")
  local none = 0
  for _ in site:posts{search = t.unique("nothing-matches-")} do none = none + 1 end
  t.eq(none, 0)
end)

t.test("a listing error is raised from the iterator", function()
  local site = t.site()
  local err = t.raises(function() for _ in site:posts{status = "sideways"} do end end)
  t.eq(err.code, "rest_invalid_param")
end)

t.test("the Yoast meta description is stored and read back", function()
  local site = t.site{seo = "yoast"}
  local post = assert(site:create_post{title = t.unique("SEO "), content = "x", meta_description = "Described for Yoast"})
  t.eq(post.meta._yoast_wpseo_metadesc, "Described for Yoast")
  t.eq(assert(site:get_post(post.id)).meta._yoast_wpseo_metadesc, "Described for Yoast")
  local updated = assert(site:update_post(post.id, {meta_description = "Changed"}))
  t.eq(updated.meta._yoast_wpseo_metadesc, "Changed")
end)

t.test("seo = auto finds the registered Yoast key", function()
  local site = t.site()
  t.eq(site:_seo_target(), "yoast")
  local post = assert(site:create_post{title = t.unique("SEO auto "), meta_description = "Auto"})
  t.eq(post.meta._yoast_wpseo_metadesc, "Auto")
end)

t.test("a meta key WordPress drops is reported (warning, or error when strict)", function()
  local site = t.site{seo = "rankmath"}
  local post = assert(site:create_post{title = t.unique("Rank Math "), meta_description = "Lost"})
  t.eq(post.meta.rank_math_description, nil)
  local strict = t.site{seo = "rankmath", strict = true}
  local _, err = strict:create_post{title = t.unique("Rank Math strict "), meta_description = "Lost"}
  t.eq(err.code, "meta_dropped")
  t.ok(err.message:find("rank_math_description", 1, true))
end)

t.test("seo = excerpt and meta:KEY", function()
  local post = assert(t.site{seo = "excerpt"}:create_post{title = t.unique("Excerpt SEO "), meta_description = "As excerpt"})
  t.eq(post.excerpt.raw, "As excerpt")
  post = assert(t.site{seo = "meta:_yoast_wpseo_metadesc"}:create_post{title = t.unique("Meta key "), meta_description = "Via key"})
  t.eq(post.meta._yoast_wpseo_metadesc, "Via key")
end)

t.test("batch: results in order, invalid items reported, the rest land", function()
  local site = t.site()
  local limit = assert(site:_batch_limit())
  t.eq(limit, 25, "read from OPTIONS /batch/v1")
  local requests = {}
  local marker = t.unique("Batch")
  for i = 1, 30 do
    local status = (i == 5 or i == 27) and "sideways" or "draft"
    requests[i] = {method = "POST", path = "/wp/v2/posts", body = {title = marker .. " " .. i, status = status}}
  end
  local log = t.access_log_since("/wp-json/batch/v1")
  local results = assert(site:batch(requests))
  t.eq(#results, 30)
  for i, r in ipairs(results) do
    if i == 5 or i == 27 then
      t.eq(r.ok, false, "item " .. i)
      t.eq(r.error.code, "rest_invalid_param")
    else
      t.eq(r.ok, true, "item " .. i)
      t.eq(r.body.title.raw, marker .. " " .. i, "in order")
    end
  end
  local batches = 0
  for _, line in ipairs(log()) do
    if line:match("^POST /wp%-json/batch/v1") then batches = batches + 1 end
  end
  t.ok(batches >= 2, "split into 25 + 5")
  t.raises(function() site:batch{{method = "GET", path = "/wp/v2/posts"}} end, "method must be")
end)

t.test("meta values and empty meta are sent as objects", function()
  local post = assert(t.site():create_post{title = t.unique("Meta obj "), meta = {}})
  t.ok(json.encode(post.meta) ~= nil)
end)

t.finish()
