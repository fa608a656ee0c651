-- wpl.csv: CSV (RFC 4180) into rows of tables.
--
--   local rows = assert(csv.read("posts.csv"))            -- header row -> keys
--   for _, row in ipairs(rows) do print(row.title) end
--
-- Quoted fields may hold separators, doubled quotes ("") and line breaks; CRLF and LF line
-- ends both work; a UTF-8 BOM is skipped. Errors name the line.
local fs = require "wpl.fs"
local errors = require "wpl.error"

local M = {}

local function fail(source, line, message)
  return nil, errors.new{code = "invalid_csv", message = ("%s:%d: %s"):format(source, line, message), line = line}
end

-- csv.parse(text, {header = true, separator = ",", source = "name for errors"})
--   -> rows | nil, err. With header (default) each row is a table keyed by the header's
--   names; without, an array of fields. Empty lines are skipped.
function M.parse(text, opts)
  opts = opts or {}
  if type(text) ~= "string" then error("csv.parse: text must be a string", 2) end
  local sep = opts.separator or ","
  if #sep ~= 1 or sep == '"' or sep == "\n" then error("csv.parse: separator must be one character", 2) end
  local source = opts.source or "csv"
  local pos, len, line = 1, #text, 1
  if text:sub(1, 3) == "\239\187\191" then pos = 4 end
  local records = {}
  local record, field_start_line = {}, 1
  while pos <= len + 1 do
    local c = text:sub(pos, pos)
    local value
    field_start_line = line
    if c == '"' then
      local parts = {}
      pos = pos + 1
      while true do
        local q = text:find('"', pos, true)
        if not q then return fail(source, field_start_line, "unterminated quoted field") end
        local chunk = text:sub(pos, q - 1)
        local _, breaks = chunk:gsub("\n", "")
        line = line + breaks
        parts[#parts + 1] = chunk
        if text:sub(q + 1, q + 1) == '"' then
          parts[#parts + 1] = '"'
          pos = q + 2
        else
          pos = q + 1
          break
        end
      end
      value = table.concat(parts)
      local after = text:sub(pos, pos)
      if after ~= sep and after ~= "\n" and after ~= "\r" and after ~= "" then
        return fail(source, line, "unexpected text after a quoted field")
      end
    else
      local stop = pos
      while stop <= len do
        local ch = text:sub(stop, stop)
        if ch == sep or ch == "\n" or ch == "\r" then break end
        if ch == '"' then return fail(source, line, "a quote inside an unquoted field (quote the whole field)") end
        stop = stop + 1
      end
      value = text:sub(pos, stop - 1)
      pos = stop
    end
    record[#record + 1] = value
    local ch = text:sub(pos, pos)
    if ch == sep then
      pos = pos + 1
    else -- end of record: \r\n, \n, \r or end of text
      if ch == "\r" then pos = pos + 1 end
      if text:sub(pos, pos) == "\n" then pos = pos + 1 end
      if not (#record == 1 and record[1] == "") then
        record.line = field_start_line
        records[#records + 1] = record
      end
      record = {}
      line = line + 1
      if pos > len then break end
    end
  end
  if opts.header == false then return records end
  local header = table.remove(records, 1)
  if not header then return {} end
  local seen = {}
  for i, name in ipairs(header) do
    name = name:gsub("^%s+", ""):gsub("%s+$", "")
    if name == "" then return fail(source, 1, ("column %d has no name in the header row"):format(i)) end
    if seen[name] then return fail(source, 1, ("column name '%s' appears twice"):format(name)) end
    seen[name] = true
    header[i] = name
  end
  local rows = {}
  for _, r in ipairs(records) do
    if #r ~= #header then
      return fail(source, r.line, ("%d fields where the header has %d"):format(#r, #header))
    end
    local row = {}
    for i, name in ipairs(header) do row[name] = r[i] end
    rows[#rows + 1] = row
  end
  return rows, header
end

-- csv.read(path, opts) -> rows, header | nil, err
function M.read(path, opts)
  local text, err = fs.read(path)
  if not text then return nil, err end
  local o = {source = path}
  for k, v in pairs(opts or {}) do o[k] = v end
  return M.parse(text, o)
end

return M
