-- wpl.wp: a WordPress REST API client.
--
--   local site = assert(wp.connect{url = "example.com", user = "admin", app_password = "..."})
--   local post = assert(site:create_post{title = "Hello", content = "<p>Hi</p>", categories = {"News"}})
--
-- Every call that can fail returns nil, err; err is a wpl.error table {code=, message=,
-- status=, data=, retryable=} where code is WordPress's own (rest_invalid_param, term_exists,
-- ...) or the transport's (timeout, connect, tls, ...). Requests are retried with backoff on
-- connection errors, 429, 502, 503 and 504, but a create whose outcome is unknown is never
-- sent twice.
local http = require "wpl.http"
local json = require "wpl.json"
local log = require "wpl.log"
local errors = require "wpl.error"
local time = require "wpl.time"
local tasks = require "wpl.tasks"
local urls = require "wpl.url"
local html = require "wpl.html"
local terms = require "wpl.wp.terms"
local media = require "wpl.wp.media"

local M = {}
local Site = {}
Site.__index = Site
M.Site = Site

local function new_error(code, message, fields)
  local e = fields or {}
  e.code, e.message = code, message
  if e.retryable == nil then e.retryable = false end
  return errors.new(e)
end
M.new_error = new_error

local function check_opts(fn, v, pos)
  if v ~= nil and type(v) ~= "table" then
    error(("bad argument #%d to '%s' (table expected, got %s)"):format(pos, fn, type(v)), 3)
  end
  return v or {}
end

------------------------------------------------------------------------ responses

-- Decodes a response body that should be JSON. Tolerates a UTF-8 BOM and PHP notices or
-- other junk before the JSON (with a warning); an HTML page gives an error quoting it.
local function decode_body(res, what)
  local body = res.body
  if body == "" then return nil end
  local data = json.decode(body)
  if data ~= nil then return data end
  local start = body:sub(1, 3) == "\239\187\191" and 4 or nil
  local candidates = {start}
  for pos in body:gmatch("()[\n>][%[{]") do
    candidates[#candidates + 1] = pos + 1
    if #candidates > 8 then break end
  end
  for _, pos in ipairs(candidates) do
    data = json.decode(body:sub(pos))
    if data ~= nil then
      log.warn("ignored text before the JSON answer (a PHP notice or a BOM?)",
               {url = what, junk = html.text(body:sub(1, math.min(pos - 1, 200)))})
      return data
    end
  end
  local ctype = res.headers["content-type"] or "?"
  local first = html.text(body:match("<title>(.-)</title>") or body):sub(1, 160)
  return nil, new_error("not_json",
    ("%s answered HTTP %d with %s instead of JSON: %q"):format(what, res.status, ctype, first),
    {status = res.status})
end

M.decode_body = decode_body -- decode_body(response, what) -> data | nil, err (for tests and fuzzing)

-- Turns a WordPress error body {code, message, data} into a wpl error.
local function wordpress_error(res, data, what)
  local status = res.status
  if type(data) ~= "table" or type(data.code) ~= "string" then
    local _, err = decode_body(res, what)
    return err or new_error("http_" .. status, ("%s answered HTTP %d"):format(what, status), {status = status})
  end
  local message = html.decode(data.message or data.code)
  local details = type(data.data) == "table" and data.data or {}
  if type(details.params) == "table" then -- rest_invalid_param: name each parameter
    local names = {}
    for name, why in pairs(details.params) do names[#names + 1] = name .. ": " .. tostring(why) end
    table.sort(names)
    if #names > 0 then message = message .. " (" .. table.concat(names, "; ") .. ")" end
  end
  return new_error(data.code, message, {status = status, data = details,
                                        retryable = status == 429 or status == 503})
end

------------------------------------------------------------------------ retries

local DEFAULT_RETRY = {attempts = 4, max_time = 60, base_delay = 0.5, max_delay = 8}
local RETRY_STATUS = {[429] = true, [502] = true, [503] = true, [504] = true}
-- Statuses that mean the server did not act on the request: safe to send again even when
-- the request creates something. 502/504 come from a proxy that may have passed it on.
local NOT_PROCESSED = {[429] = true, [503] = true}

local function retry_after_seconds(value)
  if not value then return nil end
  local secs = tonumber(value)
  if secs then return math.max(0, secs) end
  -- an HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT"
  local d, mon, y, h, mi, s = value:match("%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+) GMT")
  if not d then return nil end
  local months = {Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12}
  local t = {year = tonumber(y), month = months[mon] or 1, day = tonumber(d), hour = tonumber(h), min = tonumber(mi), sec = tonumber(s)}
  local utc_offset = os.time() - os.time(os.date("!*t"))
  return math.max(0, os.time(t) + utc_offset - time.now())
end

------------------------------------------------------------------------ connecting

-- "example.com/blog/" -> "https://example.com/blog"; nil, err when it cannot be a site URL.
function M.normalize_url(raw, allow_insecure)
  if type(raw) ~= "string" or raw:match("^%s*$") then
    return nil, new_error("invalid_url", "the site URL is empty")
  end
  local s = raw:gsub("^%s+", ""):gsub("%s+$", "")
  if not s:match("^%a[%w+.-]*://") then s = "https://" .. s end
  local u, why = urls.parse(s)
  if not u then return nil, new_error("invalid_url", why) end
  if u.scheme ~= "http" and u.scheme ~= "https" then
    return nil, new_error("invalid_url", ("only http and https site URLs are supported, not %s://"):format(u.scheme))
  end
  if u.userinfo then
    return nil, new_error("invalid_url", "put the user name and password in user/app_password, not in the URL")
  end
  if u.scheme == "http" and not urls.is_loopback(u.host) and not allow_insecure then
    return nil, new_error("insecure_url",
      ("refusing plain http:// for %s: Basic auth over HTTP gives the password away; use https:// or pass allow_insecure = true"):format(u.host))
  end
  local path = u.path:gsub("/+$", ""):gsub("/wp%-json$", ""):gsub("/wp%-admin$", "")
  return u.scheme .. "://" .. u.host .. (u.port and ":" .. u.port or "") .. path
end

-- Finds the REST API root: the Link rel="https://api.w.org/" header of the home page,
-- else /wp-json/, else ?rest_route= (pretty permalinks off).
function Site:_discover()
  local tried = {}
  local function looks_like_index(res)
    if not res or res.status ~= 200 then return nil end
    local data = json.decode(res.body)
    return type(data) == "table" and type(data.namespaces) == "table" and data or nil
  end
  local home, err = self:_http{method = "GET", url = self.url .. "/", max_size = 16 * 1024 * 1024}
  if not home then return nil, err end
  local link = home.headers["link"]
  local root = link and link:match('<([^>]+)>%s*;%s*rel="https://api%.w%.org/"')
  local candidates = {}
  if root then candidates[1] = root end
  candidates[#candidates + 1] = self.url .. "/wp-json/"
  candidates[#candidates + 1] = self.url .. "/?rest_route=/"
  for _, candidate in ipairs(candidates) do
    if not tried[candidate] then
      tried[candidate] = true
      local res, rerr = self:_http{method = "GET", url = candidate, max_size = 16 * 1024 * 1024}
      if not res then return nil, rerr end
      local index = looks_like_index(res)
      if index then
        self.index = index
        local base, route = candidate:match("^(.-)%?rest_route=(.*)$")
        if base then
          self.rest_base, self.rest_route = base, true
        else
          self.rest_base, self.rest_route = candidate:gsub("/+$", ""), false
        end
        return true
      end
      local body = json.decode(res.body)
      if type(body) == "table" and (res.status == 401 or res.status == 403) and body.code then
        return nil, new_error("rest_disabled",
          ("the REST API of %s refuses requests (%s: %s); a security plugin may have disabled it"):format(
            self.url, body.code, html.decode(body.message or "")), {status = res.status})
      end
    end
  end
  return nil, new_error("not_wordpress",
    ("%s does not look like a WordPress site: no REST API found (HTTP %d at %s)"):format(
      self.url, home.status, home.url))
end

-- wp.connect{url=, user=, app_password=, allow_insecure=, seo=, strict=, timeout=, retry=,
--            headers=, optimize_images=, max_response=}   (headers: sent with every request;
--            max_response: the largest answer accepted, default 16 MiB)
-- or wp.connect("name", {more options}) for a site registered with `wpl site add`.
function M.connect(opts, extra)
  if type(opts) == "string" then
    return require("wpl.sites").connect(opts, extra)
  end
  opts = check_opts("connect", opts, 1)
  local url, err = M.normalize_url(opts.url, opts.allow_insecure)
  if not url then return nil, err end
  if opts.user ~= nil and type(opts.user) ~= "string" then error("wp.connect: user must be a string", 2) end
  if opts.app_password ~= nil and type(opts.app_password) ~= "string" then
    error("wp.connect: app_password must be a string", 2)
  end
  local seo = opts.seo or "auto"
  if not (seo == "auto" or seo == "yoast" or seo == "rankmath" or seo == "excerpt" or seo == "none"
          or seo:match("^meta:[%w_%-]+$")) then
    error("wp.connect: seo must be auto, yoast, rankmath, excerpt, none or meta:KEY, not " .. tostring(seo), 2)
  end
  local site = setmetatable({
    url = url, user = opts.user, seo = seo, strict = opts.strict and true or false,
    timeout = opts.timeout or 60, name = opts.name, headers = opts.headers or {},
    max_response = opts.max_response or 16 * 1024 * 1024,
    optimize_images = opts.optimize_images,
    retry = setmetatable(opts.retry or {}, {__index = DEFAULT_RETRY}),
    cache = {terms = {}, types = {}, flights = {}},
  }, Site)
  if opts.app_password then
    -- WordPress shows application passwords in groups of four; spaces are optional
    site.auth = {user = opts.user or error("wp.connect: app_password needs user", 2), password = opts.app_password}
    log.secret(opts.app_password)
    log.secret((opts.app_password:gsub("%s", "")))
  end
  local ok, derr = site:_discover()
  if not ok then return nil, derr end
  return site
end

------------------------------------------------------------------------ requests

-- One HTTP exchange with retries. opts: the http.request table; idempotent = false for
-- requests that create something (never re-sent when the server may have acted on them).
function Site:_http(req, idempotent)
  if idempotent == nil then idempotent = req.method == "GET" or req.method == "HEAD" end
  req.auth = req.auth or self.auth
  req.timeout = req.timeout or self.timeout
  local policy = self.retry
  local started = time.monotonic()
  local attempt = 0
  while true do
    attempt = attempt + 1
    local res, err = http.request(req)
    local retry, wait = false, nil
    if res then
      if not RETRY_STATUS[res.status] then return res end
      retry = idempotent or NOT_PROCESSED[res.status]
      wait = retry_after_seconds(res.headers["retry-after"])
    else
      retry = err.retryable and (idempotent or not err.request_sent)
    end
    local delay = wait or math.min(policy.max_delay, policy.base_delay * 2 ^ (attempt - 1)) * (0.5 + math.random() / 2)
    local spent = time.monotonic() - started
    if not retry or attempt >= policy.attempts or spent + delay > policy.max_time then
      if res then
        if not idempotent and not NOT_PROCESSED[res.status] then
          local e = wordpress_error(res, json.decode(res.body), req.method .. " " .. req.url)
          e.outcome_unknown = true
          return nil, e
        end
        return res
      end
      if not idempotent and err.request_sent then err.outcome_unknown = true end
      err.attempts = attempt
      return nil, err
    end
    log.warn("retrying", {method = req.method, url = req.url, attempt = attempt, delay = string.format("%.2fs", delay),
                          reason = res and ("HTTP " .. res.status) or err.code})
    tasks.sleep(delay) -- inside a task, the others go on meanwhile
  end
end

-- The URL and query of a REST route ("/wp/v2/posts") on this site.
function Site:_route_url(route, query)
  query = query or {}
  if self.rest_route then
    local q = {}
    for k, v in pairs(query) do q[k] = v end
    q.rest_route = route
    return self.rest_base, q
  end
  return self.rest_base .. route, query
end

-- One line that says what a write would do, for --dry-run.
local function dry_run_summary(route, opts)
  local body = type(opts.body) == "table" and opts.body or {}
  if route == "/batch/v1" and type(body.requests) == "table" then
    return ("batch of %d requests"):format(#body.requests)
  end
  local title = body.title or body.name or (opts.query and (opts.query.title or opts.query.alt_text))
  if type(title) == "table" then title = title.raw end
  local file = opts.headers and opts.headers["Content-Disposition"]
  file = file and file:match('filename="([^"]*)"')
  if title then return ("%q"):format(tostring(title)) end
  if file then return "upload " .. file end
  return nil
end

-- What a write would have answered, made up locally for --dry-run: the request's own body
-- with a negative id, so that a recipe can go on (and print what it would have done).
function Site:_dry_run_answer(method, route, opts)
  self._dry_run_ids = (self._dry_run_ids or 0) + 1
  local function echo(path, body, n)
    local data = {}
    for k, v in pairs(type(body) == "table" and body or {}) do data[k] = v end
    local existing = math.tointeger(path:match("/(%d+)$"))
    data.id = existing or -n
    for _, field in ipairs({"title", "content", "excerpt"}) do
      if type(data[field]) == "string" then data[field] = {raw = data[field], rendered = data[field]} end
    end
    data.link = self.url .. "/?p=" .. data.id .. "&dry-run"
    data.source_url = data.link
    data.status = data.status or "draft"
    data.dry_run = true
    return data
  end
  if route == "/batch/v1" and type(opts.body) == "table" then
    local responses = {}
    for i, r in ipairs(opts.body.requests or {}) do
      self._dry_run_ids = self._dry_run_ids + 1
      responses[i] = {status = 201, body = echo(r.path, r.body, self._dry_run_ids)}
    end
    return {responses = responses}
  end
  if method == "DELETE" then return {deleted = true, dry_run = true, previous = {id = math.tointeger(route:match("/(%d+)$"))}} end
  return echo(route, opts.body, self._dry_run_ids)
end

-- site:request(method, route, {query=, body=, headers=, body_file=, content_type=, timeout=,
--                             idempotent=}) -> data, response | nil, err
-- body: a table (sent as JSON) or a string. route: "/wp/v2/posts" or any plugin's route.
function Site:request(method, route, opts)
  if type(method) ~= "string" or not method:match("^%u+$") then
    error("site:request: method must be an upper-case HTTP method, got " .. tostring(method), 2)
  end
  if type(route) ~= "string" or route:sub(1, 1) ~= "/" then
    error("site:request: route must start with '/', got " .. tostring(route), 2)
  end
  opts = check_opts("request", opts, 3)
  local url, query = self:_route_url(route, opts.query)
  local headers = {}
  for k, v in pairs(self.headers) do headers[k] = v end
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  local body = opts.body
  if type(body) == "table" then
    body = json.encode(body)
    headers["Content-Type"] = "application/json"
  elseif opts.content_type then
    headers["Content-Type"] = opts.content_type
  end
  headers["Accept"] = headers["Accept"] or "application/json"
  local what = method .. " " .. route
  local res, err = self:_http({method = method, url = url, query = query, headers = headers, body = body,
                               body_file = opts.body_file, timeout = opts.timeout,
                               max_size = opts.max_size or self.max_response,
                               dry_run_summary = dry_run_summary(route, opts)},
                              opts.idempotent)
  if not res then return nil, err end
  if res.dry_run then return self:_dry_run_answer(method, route, opts), res end
  local data, perr = decode_body(res, what)
  if res.status >= 400 then return nil, wordpress_error(res, data, what) end
  if perr then return nil, perr end
  if res.status >= 300 then
    return nil, new_error("http_" .. res.status, ("%s answered HTTP %d"):format(what, res.status), {status = res.status})
  end
  return data, res
end

------------------------------------------------------------------------ connection test

-- site:test() -> true, info | nil, err. info: {user=, roles=, can={...}, site_name=, namespaces=}
function Site:test()
  local me, err = self:request("GET", "/wp/v2/users/me", {query = {context = "edit"}})
  if not me then
    if err.status == 401 and not self.auth then
      err.message = "no credentials given: pass user and app_password to wp.connect"
    elseif err.status == 401 then
      local auth_info = self.index and self.index.authentication
      if type(auth_info) ~= "table" or not auth_info["application-passwords"] then
        err.code = "app_passwords_unavailable"
        err.message = ("%s does not offer application passwords: WordPress enables them only over HTTPS "
          .. "or with WP_ENVIRONMENT_TYPE 'local', and a plugin may have disabled them"):format(self.url)
      else
        err.code = "credentials_rejected"
        err.message = ("WordPress did not accept the login of '%s' at %s. Either the application password "
          .. "is wrong or revoked (create one under Users > Profile > Application Passwords), or a proxy or "
          .. "the web server strips the Authorization header (Apache with CGI/FastCGI: add "
          .. "'SetEnvIf Authorization \"(.*)\" HTTP_AUTHORIZATION=$1' to .htaccess)"):format(self.user, self.url)
      end
    end
    return nil, err
  end
  local caps = me.capabilities or {}
  local info = {
    user = {id = me.id, username = me.username, name = me.name, email = me.email},
    roles = me.roles or {},
    can = {publish_posts = caps.publish_posts == true, upload_files = caps.upload_files == true,
           manage_categories = caps.manage_categories == true, edit_posts = caps.edit_posts == true,
           edit_others_posts = caps.edit_others_posts == true},
    site_name = self.index and html.decode(self.index.name),
    namespaces = self.index and self.index.namespaces or {},
    url = self.url, api_root = self.rest_base, pretty_permalinks = not self.rest_route,
  }
  return true, info
end

------------------------------------------------------------------------ posts

-- The collection route of a post type ("post" -> /wp/v2/posts, custom types from /types).
function Site:_collection(post_type)
  if post_type == nil or post_type == "post" then return "/wp/v2/posts" end
  if post_type == "page" then return "/wp/v2/pages" end
  if post_type == "attachment" or post_type == "media" then return "/wp/v2/media" end
  local cached = self.cache.types[post_type]
  if cached then return cached end
  local types, err = self:request("GET", "/wp/v2/types")
  if not types then return nil, err end
  for name, t in pairs(types) do
    self.cache.types[name] = "/" .. (t.rest_namespace or "wp/v2") .. "/" .. (t.rest_base or name)
  end
  return self.cache.types[post_type] or nil,
         new_error("unknown_post_type", ("post type '%s' does not exist or is not shown in the REST API"):format(post_type))
end

-- Where the meta description goes for this site; "auto" looks at the registered meta keys.
function Site:_seo_target()
  if self.seo ~= "auto" then return self.seo end
  if self._seo_detected then return self._seo_detected end
  local schema = self:request("OPTIONS", "/wp/v2/posts")
  local meta = schema and schema.schema and schema.schema.properties and schema.schema.properties.meta
  local keys = meta and meta.properties or {}
  if keys._yoast_wpseo_metadesc then self._seo_detected = "yoast"
  elseif keys.rank_math_description then self._seo_detected = "rankmath"
  else self._seo_detected = "excerpt" end
  return self._seo_detected
end

local SEO_META_KEY = {yoast = "_yoast_wpseo_metadesc", rankmath = "rank_math_description"}

-- Keys that are ours, not REST fields.
local LOCAL_FIELDS = {type = true, featured_image = true, meta_description = true, categories = true,
                      tags = true, optimize_images = true}

-- Builds the REST body of a post from wpl's fields: terms by name, images by path, SEO.
-- Returns body, meta_check (key, value) | nil, err.
function Site:_post_body(fields)
  local body = {}
  for k, v in pairs(fields) do
    if not LOCAL_FIELDS[k] then body[k] = v end
  end
  for _, tax in ipairs({"categories", "tags"}) do
    if fields[tax] ~= nil then
      local ids, err = terms.resolve_list(self, tax, fields[tax])
      if not ids then return nil, err end
      body[tax] = json.array(ids)
    end
  end
  if fields.featured_image ~= nil then
    local image = fields.featured_image
    if math.type(image) == "integer" then
      body.featured_media = image
    else
      local uploaded, err = self:upload_media(type(image) == "table" and image or
        {path = image, optimize = fields.optimize_images})
      if not uploaded then return nil, err end
      body.featured_media = uploaded.id
    end
  end
  local check_key, check_value
  if fields.meta_description ~= nil then
    local target = self:_seo_target()
    local key = SEO_META_KEY[target] or target:match("^meta:(.+)$")
    if key then
      local meta = json.object()
      for k, v in pairs(fields.meta or {}) do meta[k] = v end
      meta[key] = fields.meta_description
      body.meta = meta
      check_key, check_value = key, fields.meta_description
    elseif target == "excerpt" then
      if body.excerpt == nil then body.excerpt = fields.meta_description end
    end
  end
  if type(body.meta) == "table" and next(body.meta) == nil then body.meta = json.object() end
  return body, check_key, check_value
end

-- WordPress drops unregistered meta keys without a word: say so.
function Site:_check_meta(post, key, value)
  if not key then return true end
  local stored = type(post.meta) == "table" and post.meta[key]
  if stored == value then return true end
  local msg = ("the meta description was not stored: WordPress dropped meta key '%s' (is the SEO plugin active, "
    .. "and the key registered for the REST API?)"):format(key)
  if self.strict then return nil, new_error("meta_dropped", msg, {data = {key = key, post = post.id}}) end
  log.warn(msg, {post = post.id})
  return true
end

local function ascii_slug(title)
  if type(title) ~= "string" or title:find("[\128-\255]") then return nil end
  local slug = title:lower():gsub("&[%w#]+;", ""):gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  return slug ~= "" and slug:sub(1, 190) or nil
end

-- After a create whose outcome is unknown: the post if it arrived after all.
function Site:_find_created(route, body)
  local query = {status = "any", context = "edit", per_page = 10}
  if body.slug then query.slug = body.slug
  elseif type(body.title) == "string" then query.search = body.title
  else return nil end
  local found = self:request("GET", route, {query = query})
  for _, p in ipairs(found or {}) do
    local title = type(p.title) == "table" and (p.title.raw or html.decode(p.title.rendered))
    if (body.slug and p.slug == body.slug) or (not body.slug and title == body.title) then return p end
  end
  return nil
end

-- site:create_post{title=, content=, excerpt=, status=, slug=, date=, categories=, tags=,
--                  featured_image=, meta_description=, meta=, type=, ...} -> post | nil, err
function Site:create_post(fields)
  fields = check_opts("create_post", fields, 2)
  local route, err = self:_collection(fields.type)
  if not route then return nil, err end
  local body, key, value = self:_post_body(fields)
  if not body then return nil, key end
  if body.slug == nil then body.slug = ascii_slug(body.title) end
  local post, perr = self:request("POST", route, {body = body, query = {context = "edit"}, idempotent = false})
  if not post and perr.outcome_unknown then
    local found = self:_find_created(route, body)
    if found then
      log.warn("the create request failed after it was sent, but the post was created", {id = found.id, error = perr.code})
      post = found
    end
  end
  if not post then return nil, perr end
  local ok, merr = self:_check_meta(post, key, value)
  if not ok then return nil, merr end
  return post
end

local function check_id(fn, id)
  local n = math.tointeger(id)
  if not n or n <= 0 then error(("%s: id must be a positive integer, got %s"):format(fn, tostring(id)), 3) end
  return n
end

-- site:update_post(id, fields) -> post | nil, err
function Site:update_post(id, fields)
  id = check_id("update_post", id)
  fields = check_opts("update_post", fields, 3)
  local route, err = self:_collection(fields.type)
  if not route then return nil, err end
  local body, key, value = self:_post_body(fields)
  if not body then return nil, key end
  local post, perr = self:request("POST", route .. "/" .. id, {body = body, query = {context = "edit"}, idempotent = true})
  if not post then return nil, perr end
  local ok, merr = self:_check_meta(post, key, value)
  if not ok then return nil, merr end
  return post
end

-- site:get_post(id, {type=, context=}) -> post | nil, err (code rest_post_invalid_id when missing)
function Site:get_post(id, opts)
  id = check_id("get_post", id)
  opts = check_opts("get_post", opts, 3)
  local route, err = self:_collection(opts.type)
  if not route then return nil, err end
  local post, perr = self:request("GET", route .. "/" .. id, {query = {context = opts.context or "edit"}})
  if not post then return nil, perr end
  return post
end

-- site:delete_post(id, {force = true, type=}): moves to the trash, or deletes for good with
-- force. -> post (the trashed post, or {deleted = true, previous = post}) | nil, err
function Site:delete_post(id, opts)
  id = check_id("delete_post", id)
  opts = check_opts("delete_post", opts, 3)
  local route, err = self:_collection(opts.type)
  if not route then return nil, err end
  local result, derr = self:request("DELETE", route .. "/" .. id, {query = {force = opts.force and "true" or nil}})
  if not result then return nil, derr end
  return result
end

-- for post in site:posts{status=, search=, type=, per_page=, ...} do ... end
-- Follows every page (X-WP-TotalPages). Raises the error if a page cannot be fetched.
function Site:posts(query)
  query = check_opts("posts", query, 2)
  local q = {}
  for k, v in pairs(query) do q[k] = v end
  local route = assert(self:_collection(q.type))
  q.type = nil
  q.per_page = q.per_page or 100
  q.context = q.context or "edit"
  local page, total_pages, items, i = 0, nil, {}, 0
  return function()
    i = i + 1
    if items[i] ~= nil then return items[i] end
    if total_pages and page >= total_pages then return nil end
    page = page + 1
    q.page = page
    local data, res = self:request("GET", route, {query = q})
    if not data then error(res, 2) end
    total_pages = tonumber(res.headers["x-wp-totalpages"]) or page
    items, i = data, 1
    return items[1]
  end
end

------------------------------------------------------------------------ terms and media

-- site:category("Parent/Child") -> id | nil, err (created when missing, hierarchy included)
function Site:category(name_or_path) return terms.resolve(self, "categories", name_or_path) end
-- site:tag("name") -> id | nil, err
function Site:tag(name) return terms.resolve(self, "tags", name) end
-- site:term(taxonomy_rest_base, name) for custom taxonomies
function Site:term(taxonomy, name) return terms.resolve(self, taxonomy, name) end

-- site:upload_media{path= | data=, filename=, mime=, alt_text=, caption=, title=, post=,
--                   description=, optimize=} -> media | nil, err
function Site:upload_media(opts) return media.upload(self, check_opts("upload_media", opts, 2)) end

------------------------------------------------------------------------ batch

-- The most requests /batch/v1 takes at once, or false when the site has no batch endpoint.
function Site:_batch_limit()
  if self._batch_max ~= nil then return self._batch_max end
  local info, err = self:request("OPTIONS", "/batch/v1")
  if not info then
    if err.status == 404 or err.code == "rest_no_route" then
      self._batch_max = false
      return false
    end
    return nil, err
  end
  local max = 25
  local ep = info.endpoints and info.endpoints[1]
  local req = ep and ep.args and ep.args.requests
  if req and math.tointeger(req.maxItems) then max = math.tointeger(req.maxItems) end
  self._batch_max = max
  return max
end

local BATCH_METHODS = {POST = true, PUT = true, PATCH = true, DELETE = true}

local function batch_result(status, body)
  if status >= 200 and status < 300 then return {status = status, body = body, ok = true} end
  local err
  if type(body) == "table" and body.code then
    err = wordpress_error({status = status, headers = {}, body = ""}, body, "batch item")
  else
    err = new_error("http_" .. status, "batch item answered HTTP " .. status, {status = status})
  end
  return {status = status, body = body, ok = false, error = err}
end

-- site:batch{{method=, path=, body=, headers=}, ...} -> results | nil, err
-- One result {status=, body=, ok=, error=} per request, in order. Uses /batch/v1 in chunks
-- of the site's limit, several chunks in flight at once, or concurrent single requests where
-- the site has no batch endpoint. A chunk that fails as a whole (say, a timeout) gives each of
-- its requests that error (with outcome_unknown when it may have been applied).
function Site:batch(requests)
  requests = check_opts("batch", requests, 2)
  for i, r in ipairs(requests) do
    if not BATCH_METHODS[r.method] then
      error(("site:batch: request %d: method must be POST, PUT, PATCH or DELETE"):format(i), 2)
    end
    if type(r.path) ~= "string" or r.path:sub(1, 1) ~= "/" then
      error(("site:batch: request %d: path must be a route starting with '/'"):format(i), 2)
    end
  end
  local limit, err = self:_batch_limit()
  if limit == nil then return nil, err end
  local results = {}
  if limit == false then
    tasks.map(requests, function(r, i)
      local path, q = r.path:match("^([^?]*)%??(.*)$")
      local query = {}
      for k, v in q:gmatch("([^&=]+)=([^&]*)") do query[k] = v end
      local data, rerr = self:request(r.method, path, {body = r.body, headers = r.headers, query = query})
      results[i] = data and {status = 200, body = data, ok = true}
                   or {status = rerr.status or 0, ok = false, error = rerr, body = nil}
    end)
    return results
  end
  local chunks = {}
  for first = 1, #requests, limit do
    local list = {}
    for i = first, math.min(first + limit - 1, #requests) do
      local r = requests[i]
      list[#list + 1] = {method = r.method, path = r.path, body = r.body, headers = r.headers}
    end
    chunks[#chunks + 1] = {first = first, requests = list}
  end
  tasks.map(chunks, function(chunk)
    local data, berr = self:request("POST", "/batch/v1", {body = {validation = "normal", requests = chunk.requests},
                                                           idempotent = false})
    local responses = data and data.responses or {}
    for j = 1, #chunk.requests do
      local item = responses[j]
      if not data then
        results[chunk.first + j - 1] = {status = berr.status or 0, ok = false, error = berr}
      elseif not item then
        results[chunk.first + j - 1] = batch_result(0, nil)
      else
        -- a failed validation comes back as {body = {code=...}, status = 400}
        local status = item.status or (item.body and item.body.data and item.body.data.status) or 200
        results[chunk.first + j - 1] = batch_result(math.tointeger(status) or 0, item.body)
      end
    end
  end)
  return results
end

return M
