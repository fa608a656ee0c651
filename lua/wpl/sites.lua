-- wpl.sites: the registry of WordPress sites, with application passwords encrypted at rest.
--
--   sites.add{name = "blog", url = "https://example.com", user = "admin", app_password = "..."}
--   local site = assert(sites.connect("blog"))      -- also wp.connect("blog")
--
-- Passwords are sealed with libsodium (crypto_secretbox) under the key from $WPL_KEY or
-- ~/.config/wpl/key; the database never holds them in clear. Sites belong to a local owner
-- (store.user_id(): "default" unless an embedding host sets one).
local db_module = require "wpl.db"
local store = require "wpl.store"
local crypto = require "wpl.crypto"
local errors = require "wpl.error"
local wp = require "wpl.wp"

local M = {}

local PUBLIC_COLUMNS = "id, name, site_url, site_name, username, seo, is_active, created_at, updated_at, " ..
                       "app_password IS NOT NULL AS has_password"

local function fail(code, message) return nil, errors.new{code = code, message = message} end

local function check_name(name)
  if type(name) ~= "string" or not name:match("^[%w][%w._-]*$") or #name > 64 then
    return fail("invalid_name", ("site names are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got %q")
      :format(tostring(name)))
  end
  return true
end

local function open_db()
  return db_module.open()
end

-- sites.get(name) -> row (never the password) | nil, err
function M.get(name)
  local db, err = open_db()
  if not db then return nil, err end
  local row
  row, err = db:first("SELECT " .. PUBLIC_COLUMNS .. " FROM wordpress_sites WHERE user_id = ? AND name = ?",
                      store.user_id(), name)
  if row then return row end
  if err then return nil, err end
  return fail("unknown_site", ("no site named '%s' (wpl site list shows the registered ones)"):format(tostring(name)))
end

-- sites.list() -> rows (active sites first, by name; never passwords)
function M.list()
  local db, err = open_db()
  if not db then return nil, err end
  return db_module.rows(db, "SELECT " .. PUBLIC_COLUMNS ..
                            " FROM wordpress_sites WHERE user_id = ? ORDER BY is_active DESC, name", store.user_id())
end

-- sites.add{name=, url=, user=, app_password=, seo=, test = true} -> row, info | nil, err
-- Tests the connection first (info: what site:test() reports) unless test = false. Adding a
-- name or URL again updates that site in place: its id, and so its history, stays.
function M.add(opts)
  local ok, err = check_name(opts.name)
  if not ok then return nil, err end
  if type(opts.app_password) ~= "string" or opts.app_password == "" then
    return fail("missing_password", "an application password is needed (Users > Profile > Application Passwords)")
  end
  local url
  url, err = wp.normalize_url(opts.url, opts.allow_insecure)
  if not url then return nil, err end
  local info, site_name = nil, nil
  if opts.test ~= false then
    local site
    site, err = wp.connect{url = url, user = opts.user, app_password = opts.app_password, allow_insecure = opts.allow_insecure}
    if not site then return nil, err end
    ok, info = site:test()
    if not ok then return nil, info end
    site_name = info.site_name
  end
  local key
  key, err = crypto.load_key()
  if not key then return nil, err end
  local db
  db, err = open_db()
  if not db then return nil, err end
  local user_id = store.user_id()
  local now = db_module.now()
  local tx_ok
  tx_ok, ok, err = pcall(db.transaction, db, function()
    local by_name = db:first("SELECT id, site_url FROM wordpress_sites WHERE user_id = ? AND name = ?", user_id, opts.name)
    local by_url = db:first("SELECT id, name FROM wordpress_sites WHERE user_id = ? AND site_url = ?", user_id, url)
    if by_name and by_url and by_name.id ~= by_url.id then
      error(errors.new{code = "site_conflict", message = ("'%s' is registered as %s, and %s as '%s': remove one first")
        :format(opts.name, by_name.site_url, url, by_url.name)}, 0)
    end
    local sealed = store.blob(crypto.seal(opts.app_password, key))
    local existing = by_name or by_url
    if existing then
      assert(db:exec([[UPDATE wordpress_sites SET name = ?, site_url = ?, site_name = coalesce(?, site_name),
                         username = ?, app_password = ?, seo = ?, is_active = 1, updated_at = ? WHERE id = ?]],
                     opts.name, url, site_name, opts.user, sealed, opts.seo or "auto", now, existing.id))
    else
      assert(db:exec([[INSERT INTO wordpress_sites (user_id, name, site_url, site_name, username, app_password, seo,
                         is_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)]],
                     user_id, opts.name, url, site_name, opts.user, sealed, opts.seo or "auto", now, now))
    end
  end)
  if not tx_ok then
    if errors.is(ok) then return nil, ok end -- raised inside: the conflict above, or a write error
    error(ok, 0)
  end
  if not ok then return nil, err end
  local row
  row, err = M.get(opts.name)
  if not row then return nil, err end
  return row, info
end

-- sites.remove(name) -> true | nil, err. Drops the credentials and marks the site inactive;
-- its published posts and history stay.
function M.remove(name)
  local row, err = M.get(name)
  if not row then return nil, err end
  local db = assert(open_db())
  local ok
  ok, err = db:exec("UPDATE wordpress_sites SET app_password = NULL, is_active = 0, updated_at = ? WHERE id = ?",
                    db_module.now(), row.id)
  if not ok then return nil, err end
  return true
end

-- sites.connect(name, extra_opts) -> wp site | nil, err
function M.connect(name, extra)
  local db, err = open_db()
  if not db then return nil, err end
  local row
  row, err = db:first("SELECT * FROM wordpress_sites WHERE user_id = ? AND name = ?", store.user_id(), name)
  if not row then
    if err then return nil, err end
    return fail("unknown_site", ("no site named '%s' (wpl site list shows the registered ones)"):format(tostring(name)))
  end
  if not row.app_password then
    return fail("site_removed", ("site '%s' was removed; add it again with wpl site add"):format(name))
  end
  local key
  key, err = crypto.load_key{create = false}
  if not key then return nil, err end
  local password
  password, err = crypto.open(row.app_password, key)
  if not password then
    return fail("wrong_key", ("cannot decrypt the password of site '%s': the key ($WPL_KEY or ~/.config/wpl/key) is not the one it was stored with"):format(name))
  end
  local opts = {url = row.site_url, user = row.username, app_password = password, seo = row.seo, name = row.name}
  for k, v in pairs(extra or {}) do opts[k] = v end
  local site
  site, err = wp.connect(opts)
  if not site then return nil, err end
  site.site_id = row.id
  return site
end

-- The site's row id, registering a site that was connected by URL (without its password).
function M.id_for(site)
  if site.site_id then return site.site_id end
  local db, err = open_db()
  if not db then return nil, err end
  local user_id = store.user_id()
  local row = db:first("SELECT id FROM wordpress_sites WHERE user_id = ? AND site_url = ?", user_id, site.url)
  if not row then
    local now = db_module.now()
    local name = site.url:gsub("^https?://", ""):gsub("[^%w._-]", "-")
    local exists = db:first("SELECT 1 AS x FROM wordpress_sites WHERE user_id = ? AND name = ?", user_id, name)
    if exists then name = name .. "-" .. tostring(os.time()) end
    local inserted, insert_err = db:exec([[INSERT INTO wordpress_sites (user_id, name, site_url, username, seo, is_active,
                                     created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)
                                    ON CONFLICT (user_id, site_url) DO NOTHING]],
                                  user_id, name, site.url, site.user, site.seo, now, now)
    if not inserted then return nil, insert_err end
    row = db:first("SELECT id FROM wordpress_sites WHERE user_id = ? AND site_url = ?", user_id, site.url)
  end
  site.site_id = row.id
  return row.id
end

return M
