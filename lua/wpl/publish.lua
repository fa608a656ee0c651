-- wpl.publish: publishing that is safe to run twice.
--
--   local r = assert(publish.post(site, {key = "posts/hello.md", title = "Hello", content = "..."}))
--   print(r.action, r.id, r.link)      -- "created", then "unchanged" on the next run
--
-- Identity is the item's key (default: its slug, itself derived from the title) per site and
-- post type. A known key with the same content hash sends nothing; a changed one updates the
-- post; an unknown key whose slug WordPress already has adopts that post instead of making a
-- duplicate. Before every create an intent row is committed and it is settled afterwards, so a
-- run killed at any moment and started again reconciles by slug and still leaves one post per
-- item. Images go through the media table: each is uploaded once per site.
local db_module = require "wpl.db"
local sites = require "wpl.sites"
local crypto = require "wpl.crypto"
local json = require "wpl.json"
local fs = require "wpl.fs"
local log = require "wpl.log"
local errors = require "wpl.error"
local tasks = require "wpl.tasks"
local http = require "wpl.http"

local M = {}

local ALL_STATUSES = {"publish", "future", "draft", "pending", "private", "trash"}
-- A pending intent younger than this may belong to a create the server is still running.
local RECENT_INTENT_SECONDS = 30

local ACCENTS = {
  ["à"] = "a", ["á"] = "a", ["â"] = "a", ["ã"] = "a", ["ä"] = "a", ["å"] = "a", ["æ"] = "ae", ["ç"] = "c",
  ["è"] = "e", ["é"] = "e", ["ê"] = "e", ["ë"] = "e", ["ì"] = "i", ["í"] = "i", ["î"] = "i", ["ï"] = "i",
  ["ñ"] = "n", ["ò"] = "o", ["ó"] = "o", ["ô"] = "o", ["õ"] = "o", ["ö"] = "o", ["ø"] = "o", ["ù"] = "u",
  ["ú"] = "u", ["û"] = "u", ["ü"] = "u", ["ý"] = "y", ["ÿ"] = "y", ["ß"] = "ss", ["œ"] = "oe",
}

-- "Crème Brûlée!" -> "creme-brulee": lower-case ASCII words joined by '-'.
function M.slugify(text)
  local s = tostring(text or ""):lower():gsub("&[%w#]+;", " ")
  s = s:gsub("[\195\197][\128-\191]", function(c) return ACCENTS[c:lower()] or ACCENTS[c] or "-" end)
  s = s:gsub("[\128-\255]+", "-"):gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  return s:sub(1, 190):gsub("%-+$", "")
end

local function fail(code, message, extra)
  local e = extra or {}
  e.code, e.message = code, message
  return nil, errors.new(e)
end

local function history(db, site_id, post_row_id, wp_id, action, outcome, title, detail)
  if http.dry_run() then return end -- nothing happened
  local ok, err = db:exec([[INSERT INTO history (user_id, site_id, post_id, wp_post_id, action, outcome, title, detail, at)
                            VALUES ((SELECT user_id FROM wordpress_sites WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?)]],
                          site_id, site_id, post_row_id, wp_id, action, outcome, title, detail, db_module.now())
  if not ok then log.warn("could not record history", {error = tostring(err)}) end
end

------------------------------------------------------------------------ images

-- The settings an image is transformed with before upload; part of its identity.
local function image_transform(site, opts)
  local optimize = opts.optimize
  if optimize == nil then optimize = site.optimize_images end
  if optimize == false then return {optimize = false} end
  return {optimize = true, max_size = opts.max_size or 2048, quality = opts.quality or 82, format = opts.format or "auto"}
end

-- The media row for an image's identity (a hash of its source and the transformation), or a
-- fresh upload recorded under it.
local function image_once(site, source_hash, upload)
  local db, err = db_module.open()
  if not db then return nil, err end
  local site_id
  site_id, err = sites.id_for(site)
  if not site_id then return nil, err end
  local row = db:first("SELECT wp_media_id, url FROM media WHERE site_id = ? AND source_hash = ?", site_id, source_hash)
  if row then return {id = row.wp_media_id, url = row.url, uploaded = false, source_hash = source_hash} end
  local item
  item, err = upload()
  if not item then return nil, err end
  if not item.dry_run then
    local ok
    ok, err = db:exec([[INSERT INTO media (site_id, source_hash, wp_media_id, url, created_at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (site_id, source_hash) DO NOTHING]],
                      site_id, source_hash, item.id, item.source_url, db_module.now())
    if not ok then return nil, err end
  end
  return {id = item.id, url = item.source_url, uploaded = true, source_hash = source_hash}
end

-- publish.image(site, path, opts) -> {id=, url=, uploaded = bool, source_hash=} | nil, err
-- Uploads an image file once per site: its identity is its bytes and the transformation.
-- opts: optimize, max_size, quality, format, alt_text, caption, title.
function M.image(site, path, opts)
  opts = opts or {}
  local transform = image_transform(site, opts)
  local source_hash, err = crypto.hash_file(path, "\0" .. json.encode(transform))
  if not source_hash then return nil, err end
  return image_once(site, source_hash, function()
    return site:upload_media{path = path, optimize = transform.optimize, max_size = transform.max_size,
                             quality = transform.quality, format = transform.format,
                             alt_text = opts.alt_text, caption = opts.caption, title = opts.title}
  end)
end

-- publish.remote_image(site, url, opts) -> like publish.image, for an image on the web: it
-- is downloaded (at most opts.max_bytes, default 20 MiB) only the first time; its identity is
-- its URL.
function M.remote_image(site, url, opts)
  opts = opts or {}
  local transform = image_transform(site, opts)
  return image_once(site, crypto.hash("url:" .. url .. "\0" .. json.encode(transform)), function()
    local res, err = http.request{url = url, max_size = opts.max_bytes or 20 * 1024 * 1024, timeout = 60}
    if not res then return nil, err end
    if res.status ~= 200 then
      return nil, errors.new{code = "download_failed", message = ("%s answered HTTP %d"):format(url, res.status), status = res.status}
    end
    local name = url:match("([^/?#]+)%f[?#%z]") or "image"
    local item, uerr = site:upload_media{data = res.body, filename = name, optimize = transform.optimize,
                                         max_size = transform.max_size, quality = transform.quality,
                                         format = transform.format, alt_text = opts.alt_text}
    return item, uerr
  end)
end

------------------------------------------------------------------------ posts

-- The posts of this type with the given slug, in any status. WordPress renames the slug of
-- a trashed post to "slug__trashed", so that one is asked for too (exact matches first).
local function find_by_slug(site, post_type, slug)
  local route, err = site:_collection(post_type)
  if not route then return nil, err end
  local found
  found, err = site:request("GET", route, {query = {slug = {slug, slug .. "__trashed"}, status = ALL_STATUSES,
                                                    context = "edit", per_page = 100}})
  if not found then return nil, err end
  table.sort(found, function(a, b) return (a.slug == slug and 0 or 1) < (b.slug == slug and 0 or 1) end)
  return found
end

-- An unclaimed post with this slug to adopt, or the first free slug to create with.
local function claim_slug(site, db, site_id, post_type, key, slug)
  for attempt = 1, 50 do
    local candidate = attempt == 1 and slug or (slug .. "-" .. attempt)
    local found, err = find_by_slug(site, post_type, candidate)
    if not found then return nil, nil, err end
    local post = found[1]
    if not post then return nil, candidate end
    local owner = db:first("SELECT source_key FROM wordpress_posts WHERE site_id = ? AND type = ? AND wp_post_id = ?",
                           site_id, post_type, post.id)
    if not owner or owner.source_key == key then return post, candidate end
  end
  return nil, nil, errors.new{code = "slug_exhausted", message = "no free slug for " .. slug}
end

-- What the history records: a post found by the slug of our own unfinished create was created
-- by us (in the interrupted run); one found otherwise was adopted.
local function history_action(action, found_after_interruption, adopted)
  if found_after_interruption then return "created" end
  if adopted then return "adopted" end
  return action
end

local function settle(db, row_id, post, hash, state)
  return db:exec([[UPDATE wordpress_posts SET wp_post_id = ?, slug = ?, title = ?, status = ?, link = ?, content_hash = ?,
                     state = ?, published_at = CASE WHEN ? = 'publish' THEN coalesce(published_at, ?) ELSE published_at END,
                     updated_at = ? WHERE id = ?]],
                   post.id, post.slug, type(post.title) == "table" and post.title.raw or post.title, post.status, post.link,
                   hash, state or "settled", post.status, db_module.now(), db_module.now(), row_id)
end

local function age_seconds(iso)
  local y, mo, d, h, mi, s = tostring(iso):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  if not y then return math.huge end
  local t = os.time{year = y, month = mo, day = d, hour = h, min = mi, sec = s}
  local utc_offset = os.time() - os.time(os.date("!*t"))
  return os.time() - (t + utc_offset)
end

-- publish.post(site, item) -> {id=, link=, action = "created"|"updated"|"unchanged"} | nil, err
-- item: the fields of site:create_post plus key (see the top of this file). One item of
-- publish.many, with the same rules.
function M.post(site, item)
  if type(item) ~= "table" then error("publish.post: item must be a table", 2) end
  if type(item.key or item.slug or (item.title and M.slugify(item.title) ~= "" and item.title)) ~= "string" then
    error("publish.post: the item needs a key, a slug or a title that gives one", 2)
  end
  local result = M.many(site, {item})[1]
  if result.action == "failed" then return nil, result.error end
  return result
end

-- The row of an item given by key or WordPress id.
local function find_row(db, site_id, key_or_id, post_type)
  if math.type(key_or_id) == "integer" then
    return db:first("SELECT * FROM wordpress_posts WHERE site_id = ? AND wp_post_id = ?", site_id, key_or_id)
  end
  return db:first("SELECT * FROM wordpress_posts WHERE site_id = ? AND type = ? AND source_key = ?",
                  site_id, post_type or "post", key_or_id)
end

-- The database, the site's row id, the item's row (if known) and its WordPress id.
local function locate(site, key_or_id, post_type)
  local db = assert(db_module.open())
  local site_id = assert(sites.id_for(site))
  local row = find_row(db, site_id, key_or_id, post_type)
  local wp_id = row and row.wp_post_id or (math.type(key_or_id) == "integer" and key_or_id)
  if not wp_id then return fail("unknown_item", ("no published item '%s' on this site"):format(tostring(key_or_id))) end
  return {db = db, site_id = site_id, row = row, wp_id = wp_id, type = row and row.type or post_type}
end

-- publish.set_status(site, key_or_id, status, {type=}) -> {id=, status=} | nil, err
function M.set_status(site, key_or_id, status, opts)
  local it, err = locate(site, key_or_id, (opts or {}).type)
  if not it then return nil, err end
  local row = it.row
  local post
  post, err = site:update_post(it.wp_id, {status = status, type = it.type})
  if not post then
    history(it.db, it.site_id, row and row.id, it.wp_id, "failed", "error", row and row.title, tostring(err))
    return nil, err
  end
  if row then
    it.db:exec("UPDATE wordpress_posts SET status = ?, state = 'settled', updated_at = ? WHERE id = ?",
               post.status, db_module.now(), row.id)
  end
  history(it.db, it.site_id, row and row.id, it.wp_id, "status_changed", "ok", row and row.title, "to " .. tostring(post.status))
  return {id = it.wp_id, status = post.status}
end

-- publish.delete(site, key_or_id, {force = bool, type=}) -> true | nil, err. Trashing keeps
-- the record (marked trashed); force deletes the post for good (marked deleted).
function M.delete(site, key_or_id, opts)
  opts = opts or {}
  local it, err = locate(site, key_or_id, opts.type)
  if not it then return nil, err end
  local row = it.row
  local _
  _, err = site:delete_post(it.wp_id, {force = opts.force, type = it.type})
  if err then
    history(it.db, it.site_id, row and row.id, it.wp_id, "failed", "error", row and row.title, tostring(err))
    return nil, err
  end
  local state = opts.force and "deleted" or "trashed"
  if row then
    it.db:exec("UPDATE wordpress_posts SET state = ?, status = ?, updated_at = ? WHERE id = ?",
               state, opts.force and "deleted" or "trash", db_module.now(), row.id)
  end
  history(it.db, it.site_id, row and row.id, it.wp_id, state, "ok", row and row.title, nil)
  return true
end

------------------------------------------------------------------------ many at once

local ANSWER_FIELDS = "_fields=id,slug,link,status,title,meta,type"

local function terms_of(items)
  local jobs, seen = {}, {}
  for _, item in ipairs(items) do
    for _, tax in ipairs({"categories", "tags"}) do
      local list = item[tax]
      if type(list) ~= "table" then list = {list} end
      for _, name in ipairs(list) do
        local k = tax .. "\0" .. tostring(name)
        if type(name) == "string" and not seen[k] then
          seen[k] = true
          jobs[#jobs + 1] = {taxonomy = tax, name = name}
        end
      end
    end
  end
  return jobs
end

local function chunked(list, size)
  local chunks = {}
  for first = 1, #list, size do
    local c = {}
    for i = first, math.min(first + size - 1, #list) do c[#c + 1] = list[i] end
    chunks[#chunks + 1] = c
  end
  return chunks
end

-- publish.many(site, items, {on_item = function(result)}) -> results, counts
-- Publishes a set with the rules of publish.post, as fast as the server allows: terms are
-- resolved once for the whole set, each distinct image is uploaded once (in parallel),
-- unknown slugs are looked up 50 at a time, and creates and updates go through /batch/v1
-- (several batches in flight). results[i] = {key=, id=, link=, action=, error=} in the
-- order of items; an item that fails does not stop the others.
function M.many(site, items, opts)
  opts = opts or {}
  local db = assert(db_module.open())
  local site_id = assert(sites.id_for(site))
  local results, counts = {}, {created = 0, updated = 0, unchanged = 0, failed = 0}
  local function done(i, result)
    results[i] = result
    counts[result.action] = counts[result.action] + 1
    if opts.on_item then opts.on_item(result, items[i], i) end
  end
  local function failed(i, entry, err)
    history(db, site_id, entry and entry.row_id, entry and entry.wp_id, "failed", "error", entry and entry.title, tostring(err))
    done(i, {key = entry and entry.key, action = "failed", error = err})
  end

  -- identities
  local entries, keys_seen = {}, {}
  for i, item in ipairs(items) do
    local slug = item.slug or M.slugify(item.title)
    local key = item.key or slug
    if type(key) ~= "string" or key == "" then
      failed(i, nil, errors.new{code = "invalid_item", message = ("item %d needs a key, a slug or a title"):format(i)})
    else
      local post_type = item.type or "post"
      if slug == "" then slug = "post-" .. crypto.hash(key):sub(1, 12) end
      local e = {index = i, item = item, key = key, slug = slug, type = post_type,
                 title = type(item.title) == "string" and item.title or key}
      if keys_seen[post_type .. "\0" .. key] then
        failed(i, e, errors.new{code = "duplicate_key", message = ("key '%s' appears twice in the set"):format(key)})
      else
        keys_seen[post_type .. "\0" .. key] = true
        entries[#entries + 1] = e
      end
    end
  end

  -- terms, once for the whole set (site:category/tag cache and single-flight)
  local term_errors = {}
  tasks.map(terms_of(items), function(job)
    local id, err = site:term(job.taxonomy, job.name)
    if not id then term_errors[job.taxonomy .. "\0" .. job.name] = err end
  end)

  -- images, each distinct one once, in parallel
  local images, image_list = {}, {}
  for _, e in ipairs(entries) do
    local path = e.item.featured_image
    if type(path) == "string" and images[path] == nil then
      images[path] = false
      image_list[#image_list + 1] = {path = path, options = e.item.image_options}
    end
  end
  local uploading = tasks.spawn(tasks.map, image_list, function(img)
    local image, err = M.image(site, img.path, img.options)
    images[img.path] = image or {error = err}
  end)

  -- Everything after terms and images, for a subset of the entries: fields and hashes, what
  -- is known locally, slug lookups, intents, the batches and settling.
  local function publish_entries(subset)
    -- fields, hashes and what is known locally
    local unknown = {}
    for _, e in ipairs(subset) do
      local fields, hashed = {}, {}
      for k, v in pairs(e.item) do
        if k ~= "key" and k ~= "image_options" then fields[k], hashed[k] = v, v end
      end
      local problem
      for _, tax in ipairs({"categories", "tags"}) do
        local list = type(fields[tax]) == "table" and fields[tax] or {fields[tax]}
        for _, name in ipairs(list) do problem = problem or term_errors[tax .. "\0" .. tostring(name)] end
      end
      if type(fields.featured_image) == "string" then
        local image = images[fields.featured_image]
        if image.error then problem = problem or image.error
        else fields.featured_image, hashed.featured_image = image.id, image.source_hash end
      end
      if problem then
        e.finished = true
        failed(e.index, e, problem)
      else
        e.fields, e.hash = fields, crypto.hash(json.encode(hashed))
        local row = db:first("SELECT * FROM wordpress_posts WHERE site_id = ? AND type = ? AND source_key = ?", site_id, e.type, e.key)
        e.row_id = row and row.id
        if row and row.wp_post_id and row.state ~= "pending" and row.state ~= "deleted" then
          e.wp_id = row.wp_post_id
          if row.content_hash == e.hash and row.state == "settled" then
            e.finished = true -- nothing to send
            done(e.index, {key = e.key, id = row.wp_post_id, link = row.link, action = "unchanged"})
          else
            e.fields.slug = e.fields.slug or row.slug
            e.action = "updated"
          end
        else
          if row and row.slug then e.slug = row.slug end
          e.recent_intent = row and row.state == "pending" and age_seconds(row.created_at) < RECENT_INTENT_SECONDS
          e.interrupted = row and row.state == "pending"
          unknown[#unknown + 1] = e
        end
      end
    end

    -- unknown keys: adopt what WordPress has under the slug, else create with a free slug
    for _, e in ipairs(unknown) do
      if e.recent_intent then tasks.sleep(1) break end
    end
    local by_type = {}
    for _, e in ipairs(unknown) do
      by_type[e.type] = by_type[e.type] or {}
      table.insert(by_type[e.type], e)
    end
    for post_type, list in pairs(by_type) do
      local route = site:_collection(post_type)
      local found_by_slug = {}
      tasks.map(chunked(list, 50), function(chunk)
        local slugs = {}
        for _, e in ipairs(chunk) do
          slugs[#slugs + 1] = e.slug
          slugs[#slugs + 1] = e.slug .. "__trashed"
        end
        local found = site:request("GET", route, {query = {slug = slugs, status = ALL_STATUSES, context = "edit", per_page = 100}})
        for _, p in ipairs(found or {}) do
          local base = p.slug:gsub("__trashed$", "")
          if not found_by_slug[base] or p.slug == base then found_by_slug[base] = p end
        end
      end)
      for _, e in ipairs(list) do
        local post = found_by_slug[e.slug]
        local owner = post and db:first("SELECT source_key FROM wordpress_posts WHERE site_id = ? AND type = ? AND wp_post_id = ?",
                                        site_id, post_type, post.id)
        if post and (not owner or owner.source_key == e.key) then
          e.wp_id, e.action, e.adopted = post.id, "updated", true
          e.fields.slug = e.slug
        elseif post then -- taken by another item: find a free one, one by one (rare)
          local adopt, free_slug, err = claim_slug(site, db, site_id, post_type, e.key, e.slug)
          if adopt then e.wp_id, e.action, e.adopted = adopt.id, "updated", true
          elseif free_slug then e.action = "created"
          else e.finished = true; failed(e.index, e, err) end
          e.fields.slug = free_slug
        else
          e.action, e.fields.slug = "created", e.slug
        end
      end
    end

    -- intent rows before anything is sent (one transaction); none in a dry run
    local now = db_module.now()
    local dry_run = http.dry_run()
    local to_send = {}
    assert(db:transaction(function()
      for _, e in ipairs(subset) do
        if not e.finished and e.action then
          if not dry_run and (e.action == "created" or not e.row_id) then
            if e.row_id then
              assert(db:exec("UPDATE wordpress_posts SET slug = ?, state = 'pending', updated_at = ? WHERE id = ?", e.fields.slug, now, e.row_id))
            else
              local _, id = assert(db:exec([[INSERT INTO wordpress_posts (user_id, site_id, type, source_key, slug, title, state, created_at, updated_at)
                                       VALUES ((SELECT user_id FROM wordpress_sites WHERE id = ?), ?, ?, ?, ?, ?, 'pending', ?, ?)]],
                                     site_id, site_id, e.type, e.key, e.fields.slug, e.title, now, now))
              e.row_id = id
            end
          end
          to_send[#to_send + 1] = e
        end
      end
    end))

    -- the requests: REST bodies (terms and images are ids by now)
    local requests, sendable = {}, {}
    for _, e in ipairs(to_send) do
      local route = site:_collection(e.type)
      local body, meta_key, meta_value = site:_post_body(e.fields)
      if not body then
        failed(e.index, e, meta_key)
      else
        e.meta_key, e.meta_value = meta_key, meta_value
        sendable[#sendable + 1] = e
        -- only the fields settling needs: WordPress then does not render the content again
        requests[#requests + 1] = {method = "POST", body = body,
                                   path = (e.wp_id and (route .. "/" .. e.wp_id) or route) .. "?context=edit&" .. ANSWER_FIELDS}
      end
    end
    local answers = #requests > 0 and assert(site:batch(requests)) or {}
    for n, e in ipairs(sendable) do
      local answer = answers[n]
      local post = answer and answer.ok and answer.body
      local ok, merr = true, nil
      if post then ok, merr = site:_check_meta(post, e.meta_key, e.meta_value) end
      if post and ok then
        if not post.dry_run then assert(settle(db, e.row_id, post, e.hash)) end
        history(db, site_id, e.row_id, post.id, history_action(e.action, e.wp_id and e.interrupted, e.adopted), "ok", e.title,
                e.interrupted and e.wp_id and "found after an interrupted run" or nil)
        done(e.index, {key = e.key, id = post.id, link = post.link, action = e.action})
      else
        failed(e.index, e, merr or (answer and answer.error) or "no answer")
      end
    end
  end

  -- posts without images go out while the images are optimised and uploaded
  local plain, illustrated = {}, {}
  for _, e in ipairs(entries) do
    table.insert(type(e.item.featured_image) == "string" and illustrated or plain, e)
  end
  tasks.wait(tasks.spawn(publish_entries, plain), uploading)
  publish_entries(illustrated)
  return results, counts
end

-- publish.known(site, post_type) -> rows of the items published to site (for pruning)
function M.known(site, post_type)
  local db = assert(db_module.open())
  local site_id = assert(sites.id_for(site))
  return assert(db_module.rows(db, "SELECT * FROM wordpress_posts WHERE site_id = ? AND type = ? ORDER BY id",
                               site_id, post_type or "post"))
end

return M
