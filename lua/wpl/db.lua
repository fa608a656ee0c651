-- wpl.db: wpl's own database (sites, published posts, media, history), opened once per
-- runtime and migrated to the current schema. Recipes may use it through wpl.store too.
local store = require "wpl.store"

local M = {}

-- Schema versions, in order. Never edit a step that has shipped: add a new one.
M.migrations = {
  -- 1: the seed's two tables, kept with their meaning, plus what real use needs
  [[
  CREATE TABLE wordpress_sites (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL DEFAULT 'default',
    name TEXT NOT NULL,
    site_url TEXT NOT NULL,
    site_name TEXT,
    username TEXT,
    app_password BLOB,                   -- crypto.seal'ed; NULL once removed
    seo TEXT NOT NULL DEFAULT 'auto',
    is_active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (user_id, site_url),
    UNIQUE (user_id, name)
  );
  CREATE TABLE wordpress_posts (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL DEFAULT 'default',
    site_id INTEGER NOT NULL REFERENCES wordpress_sites (id),
    wp_post_id INTEGER,                  -- NULL while a create is in flight
    type TEXT NOT NULL DEFAULT 'post',
    source_key TEXT NOT NULL,
    slug TEXT,
    title TEXT,
    status TEXT,
    link TEXT,
    content_hash TEXT,
    state TEXT NOT NULL DEFAULT 'settled'
      CHECK (state IN ('pending', 'settled', 'trashed', 'deleted')),
    published_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (site_id, type, source_key)
  );
  CREATE INDEX wordpress_posts_wp_id ON wordpress_posts (site_id, wp_post_id);
  CREATE TABLE media (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES wordpress_sites (id),
    source_hash TEXT NOT NULL,           -- source bytes + the transformation applied
    wp_media_id INTEGER NOT NULL,
    url TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (site_id, source_hash)
  );
  CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL DEFAULT 'default',
    site_id INTEGER REFERENCES wordpress_sites (id),
    post_id INTEGER REFERENCES wordpress_posts (id),
    wp_post_id INTEGER,
    action TEXT NOT NULL,                -- created, updated, adopted, status_changed, trashed, deleted, failed
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
    title TEXT,
    detail TEXT,
    at TEXT NOT NULL
  );
  CREATE INDEX history_site_at ON history (site_id, at);
  ]],
}

local opened = {} -- path -> db, per runtime (this module is per runtime)

-- db.open([path]) -> db | nil, err: the database at path (default: store.default_path),
-- migrated. The same db is returned for the same path.
function M.open(path)
  local key = path or "(default)"
  if opened[key] then return opened[key] end
  local db, err = store.open(path)
  if not db then return nil, err end
  local ok
  ok, err = db:migrate(M.migrations)
  if not ok then
    db:close()
    return nil, err
  end
  opened[key] = db
  return db
end

-- db.rows(db, sql, ...) -> array of rows | nil, err
function M.rows(db, sql, ...)
  local iter, state, init, closing = db:query(sql, ...)
  if not iter then return nil, state end
  local rows = {}
  for row in iter, state, init, closing do rows[#rows + 1] = row end
  return rows
end

-- An ISO 8601 UTC timestamp with milliseconds, as stored in every *_at column.
function M.now()
  local time = require "wpl.time"
  local t = time.now()
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. (".%03dZ"):format(math.floor((t % 1) * 1000))
end

return M
