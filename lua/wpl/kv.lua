-- wpl.kv: a key/value store per namespace in a wpl.store database, for recipes to remember
-- things between runs. Usually reached through store.kv(db, namespace).
--
--   local seen = assert(store.kv(db, "my-recipe"))
--   if not seen:get(url) then ...; assert(seen:set(url, {published = id})) end
--
-- Values are anything wpl.json encodes and come back decoded. Keys are strings. Failures
-- of the database return nil, err (a wpl.error); bad arguments raise.
local json = require "wpl.json"

local M = {}
local KV = {}
KV.__index = KV

local SCHEMA = [[
CREATE TABLE IF NOT EXISTS kv (
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (namespace, key)
)]]

local UPSERT = [[
INSERT INTO kv (namespace, key, value, updated_at)
VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at]]

local function check_key(key)
  if type(key) ~= "string" then error("kv: key must be a string, got " .. type(key), 3) end
end

-- M.new(db, namespace) -> kv | nil, err. Creates the kv table on first use.
function M.new(db, namespace)
  if type(namespace) ~= "string" or namespace == "" then
    error("kv: namespace must be a non-empty string", 2)
  end
  local ok, err = db:exec(SCHEMA)
  if not ok then return nil, err end
  return setmetatable({db = db, namespace = namespace}, KV)
end

-- kv:get(key) -> value | nil (no such key) | nil, err
function KV:get(key)
  check_key(key)
  local row, err = self.db:first("SELECT value FROM kv WHERE namespace = ? AND key = ?", self.namespace, key)
  if not row then return nil, err end
  return json.decode(row.value)
end

-- kv:set(key, value) -> true | nil, err. A nil value deletes the key.
function KV:set(key, value)
  check_key(key)
  if value == nil then return self:delete(key) end
  local ok, err = self.db:exec(UPSERT, self.namespace, key, json.encode(value))
  if not ok then return nil, err end
  return true
end

-- kv:delete(key) -> true | nil, err (deleting a missing key is not an error)
function KV:delete(key)
  check_key(key)
  local ok, err = self.db:exec("DELETE FROM kv WHERE namespace = ? AND key = ?", self.namespace, key)
  if not ok then return nil, err end
  return true
end

-- kv:keys() -> sorted array of the namespace's keys | nil, err
function KV:keys()
  local next_row, rows = self.db:query("SELECT key FROM kv WHERE namespace = ? ORDER BY key", self.namespace)
  if not next_row then return nil, rows end
  local keys = {}
  for row in next_row, rows, nil, rows do keys[#keys + 1] = row.key end
  return keys
end

return M
