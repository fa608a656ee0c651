-- wpl.catmap: maps source category names to WordPress categories through a table that
-- users edit: many names to one, "Parent/Child" targets, a default for names not in the
-- table, and a report of what was not mapped.
--
--   local map = catmap.new({["tech"] = "Technology", ["ml"] = "Technology/AI", ["ai"] = "Technology/AI"},
--                          {default = "Misc"})
--   map:map({"Tech", "cooking"})   -> {"Technology", "Misc"}   (and "cooking" is reported)
--
-- Source names match case-insensitively, after decoding HTML entities and folding spaces.
-- A target of false drops the name on purpose (not reported).
local html = require "wpl.html"

local M = {}
local Map = {}
Map.__index = Map

local function normal(name)
  return (html.decode(tostring(name)):lower():gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

-- catmap.new(table, {default = "Name" | nil}) -> map
function M.new(mapping, opts)
  if type(mapping) ~= "table" then error("catmap.new: the mapping must be a table", 2) end
  opts = opts or {}
  local rules = {}
  for source, target in pairs(mapping) do
    if type(source) ~= "string" or (target ~= false and type(target) ~= "string") then
      error(("catmap.new: map names to category names or paths (or false), got %s = %s"):format(tostring(source), tostring(target)), 2)
    end
    rules[normal(source)] = target
  end
  -- names that already are targets (a post already in "Technology") map to themselves
  for _, target in pairs(mapping) do
    if target then
      local leaf = target:match("([^/]+)$")
      if rules[normal(target)] == nil then rules[normal(target)] = target end
      if leaf and rules[normal(leaf)] == nil then rules[normal(leaf)] = target end
    end
  end
  if opts.default and rules[normal(opts.default)] == nil then rules[normal(opts.default)] = opts.default end
  return setmetatable({rules = rules, default = opts.default, unmapped = {}}, Map)
end

-- catmap.load(path, opts) -> map | nil, err: a Lua file that returns the mapping table, and
-- optionally sets `default` in it (mapping.default = "Misc" is the default, not a name).
function M.load(path, opts)
  local chunk, err = loadfile(path, "t", {})
  if not chunk then return nil, err end
  local ok, mapping = pcall(chunk)
  if not ok then return nil, mapping end
  if type(mapping) ~= "table" then return nil, path .. " must return a table of source name = target" end
  opts = opts or {}
  local default = mapping.default
  mapping.default = nil
  return M.new(mapping, {default = opts.default or default})
end

-- map:map(names) -> targets (deduplicated, in order). Unmapped names go to the default, if
-- any, and are counted for map:report().
function Map:map(names)
  local targets, seen = {}, {}
  for _, name in ipairs(names or {}) do
    local target = self.rules[normal(name)]
    if target == nil then
      self.unmapped[name] = (self.unmapped[name] or 0) + 1
      target = self.default
    end
    if target and not seen[target] then
      seen[target] = true
      targets[#targets + 1] = target
    end
  end
  return targets
end

-- map:report() -> {{name=, count=}, ...} of names not in the table, most frequent first.
function Map:report()
  local list = {}
  for name, count in pairs(self.unmapped) do list[#list + 1] = {name = name, count = count} end
  table.sort(list, function(a, b) return a.count > b.count or (a.count == b.count and a.name < b.name) end)
  return list
end

return M
