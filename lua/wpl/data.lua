-- wpl.data: reads the rows a recipe publishes from a CSV or JSON file.
--
--   local rows = assert(data.load("posts.csv"))     -- or posts.json: an array of objects
local fs = require "wpl.fs"
local csv = require "wpl.csv"
local json = require "wpl.json"
local errors = require "wpl.error"

local M = {}

-- data.load(path) -> rows | nil, err. JSON: an array of objects (or {"items": [...]}).
-- CSV: a header row names the fields.
function M.load(path)
  local ext = fs.extension(path)
  if ext == "csv" then return csv.read(path) end
  local text, err = fs.read(path)
  if not text then return nil, err end
  if ext ~= "json" and text:match("^%s*[%[{]") == nil then return csv.parse(text, {source = path}) end
  local value
  value, err = json.decode(text)
  if value == nil then return nil, errors.new{code = "invalid_data", message = path .. ": " .. tostring(err.message)} end
  if type(value) == "table" and type(value.items) == "table" then value = value.items end
  if type(value) ~= "table" or (next(value) ~= nil and value[1] == nil) then
    return nil, errors.new{code = "invalid_data", message = path .. ": expected an array of objects"}
  end
  for i, row in ipairs(value) do
    if type(row) ~= "table" then
      return nil, errors.new{code = "invalid_data", message = ("%s: item %d is not an object"):format(path, i)}
    end
  end
  return value
end

-- data.list(value) -> array: a list field from JSON (an array) or CSV ("a, b" or "a;b|c").
function M.list(value)
  if value == nil or value == json.null or value == "" then return {} end
  if type(value) == "table" then return value end
  local items = {}
  for item in tostring(value):gmatch("[^,;|]+") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then items[#items + 1] = item end
  end
  return items
end

return M
