-- Terms (categories, tags, custom taxonomies): get or create by name or "Parent/Child" path.
--
-- The first lookup in a taxonomy loads all its terms once (100 per page) into a per-site
-- cache; names match case-insensitively after decoding HTML entities ("News &amp; Events").
-- Creating a term that exists already (400 term_exists) counts as success.
local json = require "wpl.json"
local html = require "wpl.html"
local tasks = require "wpl.tasks"

local M = {}

local HIERARCHICAL = {categories = true}

local function key_of(parent, name)
  return parent .. "\0" .. html.decode(name):lower():gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
end

local function cache_of(site, taxonomy)
  local c = site.cache.terms[taxonomy]
  if not c then
    c = {loaded = false, ids = {}}
    site.cache.terms[taxonomy] = c
  end
  return c
end

local function load_all(site, taxonomy, cache)
  local route = "/wp/v2/" .. taxonomy
  local page, pages = 1, 1
  repeat
    local data, res = site:request("GET", route, {query = {per_page = 100, page = page, hide_empty = "false",
                                                         _fields = "id,name,parent", orderby = "id"}})
    if not data then return nil, res end
    for _, t in ipairs(data) do cache.ids[key_of(math.tointeger(t.parent) or 0, t.name)] = math.tointeger(t.id) end
    pages = tonumber(res.headers["x-wp-totalpages"]) or page
    page = page + 1
  until page > pages
  cache.loaded = true
  return true
end

local function create(site, taxonomy, name, parent)
  local body = {name = name}
  if HIERARCHICAL[taxonomy] and parent ~= 0 then body.parent = parent end
  local term, err = site:request("POST", "/wp/v2/" .. taxonomy, {body = body, idempotent = false})
  if term then return math.tointeger(term.id) end
  if err.code == "term_exists" and err.data and math.tointeger(err.data.term_id) then
    return math.tointeger(err.data.term_id)
  end
  if err.outcome_unknown then -- it may exist now: ask by name
    local found = site:request("GET", "/wp/v2/" .. taxonomy, {query = {search = name, per_page = 100, _fields = "id,name,parent"}})
    for _, t in ipairs(found or {}) do
      if key_of(math.tointeger(t.parent) or 0, t.name) == key_of(parent, name) then return math.tointeger(t.id) end
    end
  end
  err.message = ("could not create %s '%s': %s"):format(taxonomy == "categories" and "category" or
                                                        taxonomy == "tags" and "tag" or "term", name, err.message)
  return nil, err
end

-- Runs fn once per key at a time: concurrent callers (tasks) with the same key wait for the
-- first one's result instead of repeating the request (two tasks, one new term).
local function single_flight(site, key, fn)
  local flights = site.cache.flights
  local running = flights[key]
  if running then return running:wait() end
  local done = tasks.event()
  flights[key] = done
  local ok, a, b = pcall(fn)
  flights[key] = nil
  if not ok then
    done:set(nil, a)
    error(a, 0)
  end
  done:set(a, b)
  return a, b
end

-- resolve(site, taxonomy, name_or_path_or_id) -> id | nil, err
function M.resolve(site, taxonomy, value)
  if math.type(value) == "integer" then return value end
  if type(value) == "number" and math.tointeger(value) then return math.tointeger(value) end
  if type(value) ~= "string" or value:match("^%s*$") then
    error(("%s: a term is a name, a 'Parent/Child' path or an id, got %s"):format(taxonomy, tostring(value)), 3)
  end
  local cache = cache_of(site, taxonomy)
  if not cache.loaded then
    local ok, err = single_flight(site, "load\0" .. taxonomy, function() return load_all(site, taxonomy, cache) end)
    if not ok then return nil, err end
  end
  local segments = {}
  if HIERARCHICAL[taxonomy] then
    for seg in value:gmatch("[^/]+") do
      seg = seg:gsub("^%s+", ""):gsub("%s+$", "")
      if seg ~= "" then segments[#segments + 1] = seg end
    end
  else
    segments[1] = value:gsub("^%s+", ""):gsub("%s+$", "")
  end
  local parent = 0
  for _, name in ipairs(segments) do
    local key = key_of(parent, name)
    local id = cache.ids[key]
    if not id then
      local err
      id, err = single_flight(site, "create\0" .. taxonomy .. "\0" .. key,
                              function() return create(site, taxonomy, name, parent) end)
      if not id then return nil, err end
      cache.ids[key] = id
    end
    parent = id
  end
  return parent
end

-- resolve_list(site, taxonomy, list) -> {ids} | nil, err (duplicates dropped, order kept)
function M.resolve_list(site, taxonomy, list)
  if type(list) ~= "table" then list = {list} end
  local ids, seen = {}, {}
  for _, v in ipairs(list) do
    local id, err = M.resolve(site, taxonomy, v)
    if not id then return nil, err end
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
  return json.array(ids)
end

return M
