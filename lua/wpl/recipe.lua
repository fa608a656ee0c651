-- wpl.recipe: what every recipe needs: declared parameters filled from the command line
-- (--set key=value, --site NAME, --dry-run, --json, --concurrency N, --help), the site to
-- publish to, a progress display and a closing summary.
--
--   local recipe = require "wpl.recipe"
--   local p = recipe.params{
--     description = "Publishes one post per row of a CSV file.",
--     site = true,                                    -- this recipe needs --site
--     {name = "data", type = "path", required = true, help = "CSV or JSON file"},
--     {name = "status", type = "choice", choices = {"draft", "publish"}, default = "draft"},
--   }
--   local run = recipe.run{total = #rows, label = "posts"}
--   run:item("created", "My title", {id = 12, link = "..."})
--   run:finish()        -- prints the summary; fails (exit 1) when an item failed
local http = require "wpl.http"
local json = require "wpl.json"
local log = require "wpl.log"
local time = require "wpl.time"
local fs = require "wpl.fs"
local errors = require "wpl.error"

local M = {}

-- Ends the recipe with a message and exit status 1, without a traceback (an expected
-- failure, already explained).
function M.fail(message)
  error(errors.new{code = "recipe_failed", message = message, traceback = false}, 0)
end

local function usage_error(message)
  error(errors.new{code = "usage", message = message .. "\n(see --help for this recipe's parameters)",
                   traceback = false, exit_code = 2}, 0)
end

local TRUE = {["true"] = true, yes = true, ["1"] = true, on = true}
local FALSE = {["false"] = true, no = true, ["0"] = true, off = true}

local function convert(spec, raw)
  local t = spec.type or "string"
  if t == "string" then return raw end
  if t == "number" then
    return tonumber(raw) or usage_error(("%s must be a number, not '%s'"):format(spec.name, raw))
  end
  if t == "integer" then
    return math.tointeger(tonumber(raw)) or usage_error(("%s must be a whole number, not '%s'"):format(spec.name, raw))
  end
  if t == "boolean" then
    local v = raw:lower()
    if TRUE[v] then return true end
    if FALSE[v] then return false end
    usage_error(("%s must be true or false, not '%s'"):format(spec.name, raw))
  end
  if t == "path" then
    if spec.must_exist ~= false and not fs.exists(raw) then
      usage_error(("%s: '%s' does not exist"):format(spec.name, raw))
    end
    return raw
  end
  if t == "list" then
    local items = {}
    for item in raw:gmatch("[^,]+") do items[#items + 1] = item:match("^%s*(.-)%s*$") end
    return items
  end
  if t == "choice" then
    for _, c in ipairs(spec.choices or {}) do if c == raw then return raw end end
    usage_error(("%s must be one of %s, not '%s'"):format(spec.name, table.concat(spec.choices or {}, ", "), raw))
  end
  error(("recipe.params: parameter '%s' has unknown type '%s'"):format(spec.name, tostring(t)), 3)
end

local function show_default(spec)
  local d = spec.default
  if d == nil then return spec.required and "required" or "optional" end
  if type(d) == "table" then d = table.concat(d, ",") end
  return "default " .. tostring(d)
end

function M.help_text(decl, script)
  local lines = {}
  if decl.description then lines[#lines + 1] = decl.description .. "\n" end
  lines[#lines + 1] = ("usage: wpl run %s [--set NAME=VALUE ...]%s [--dry-run] [--json] [--concurrency N]")
    :format(script or "RECIPE", decl.site and " --site NAME" or "")
  if #decl > 0 then
    lines[#lines + 1] = "\nparameters:"
    for _, spec in ipairs(decl) do
      local kind = spec.type or "string"
      if kind == "choice" then kind = table.concat(spec.choices or {}, "|") end
      lines[#lines + 1] = ("  %-22s %s (%s, %s)"):format(spec.name, spec.help or "", kind, show_default(spec))
    end
  end
  lines[#lines + 1] = "\noptions:"
  if decl.site then
    lines[#lines + 1] = "  --site NAME            the registered site to publish to (wpl site add); or set"
    lines[#lines + 1] = "                         WPL_URL, WPL_USER and WPL_APP_PASSWORD"
  end
  lines[#lines + 1] = "  --dry-run              send no write request: print what would be written"
  lines[#lines + 1] = "  --json                 print the summary as JSON"
  lines[#lines + 1] = "  --concurrency N        requests in flight at once (default 4)"
  return table.concat(lines, "\n")
end

-- The site for --site NAME, or from WPL_URL / WPL_USER / WPL_APP_PASSWORD.
function M.connect_site(name)
  local wp = require "wpl.wp"
  local site, err
  if name then
    site, err = wp.connect(name)
  elseif os.getenv("WPL_URL") then
    site, err = wp.connect{url = os.getenv("WPL_URL"), user = os.getenv("WPL_USER"),
                           app_password = os.getenv("WPL_APP_PASSWORD")}
  else
    usage_error("which site? pass --site NAME (a site added with 'wpl site add') or set WPL_URL, WPL_USER and WPL_APP_PASSWORD")
  end
  if not site then M.fail("cannot connect to the site: " .. tostring(err)) end
  return site
end

-- recipe.params(declaration [, argv]) -> values. Reads the recipe's arguments (the global
-- `arg` by default). values.site is the connected site when the declaration has site = true;
-- values.dry_run, values.json and values.args (the positional arguments) are set too.
function M.params(decl, argv)
  argv = argv or arg or {}
  local by_name = {}
  for _, spec in ipairs(decl) do
    if type(spec.name) ~= "string" then error("recipe.params: every parameter needs a name", 2) end
    by_name[spec.name] = spec
  end
  local values = {args = {}}
  local site_name
  local i = 1
  local function value_of(flag)
    i = i + 1
    if argv[i] == nil then usage_error(flag .. " needs a value") end
    return argv[i]
  end
  while argv[i] ~= nil do
    local a = argv[i]
    local set = a == "--set" and value_of(a) or a:match("^%-%-set=(.*)$")
    if set then
      local k, v = set:match("^([%w_%-]+)=(.*)$")
      if not k then usage_error("--set takes NAME=VALUE, got '" .. set .. "'") end
      local spec = by_name[k]
      if not spec then usage_error(("this recipe has no parameter '%s'"):format(k)) end
      values[k] = convert(spec, v)
    elseif a == "--site" or a:match("^%-%-site=") then
      site_name = a:match("^%-%-site=(.*)$") or value_of(a)
    elseif a == "--dry-run" then
      values.dry_run = true
    elseif a == "--json" then
      values.json = true
    elseif a == "--concurrency" or a:match("^%-%-concurrency=") then
      local n = math.tointeger(tonumber(a:match("^%-%-concurrency=(.*)$") or value_of(a)))
      if not n or n < 1 or n > 256 then usage_error("--concurrency takes a number from 1 to 256") end
      http.limit(n)
    elseif a == "--help" or a == "-h" then
      print(M.help_text(decl, arg and arg[0]))
      error(errors.new{code = "help", message = "", traceback = false, exit_code = 0}, 0)
    elseif a:sub(1, 2) == "--" then
      usage_error("unknown option '" .. a .. "'")
    else
      values.args[#values.args + 1] = a
    end
    i = i + 1
  end
  for _, spec in ipairs(decl) do
    if values[spec.name] == nil then
      if spec.required then usage_error(("missing --set %s=..."):format(spec.name)) end
      values[spec.name] = spec.default
    end
  end
  if values.dry_run then http.dry_run(true) end
  values.dry_run = http.dry_run()
  if decl.site then values.site = M.connect_site(site_name) end
  return values
end

------------------------------------------------------------------------ progress and summary

local Run = {}
Run.__index = Run

local OUTCOMES = {created = true, updated = true, unchanged = true, failed = true, skipped = true, trashed = true}

-- recipe.run{total = n, label = "posts", json = bool} -> run
function M.run(opts)
  opts = opts or {}
  return setmetatable({
    total = opts.total, label = opts.label or "items", json = opts.json,
    counts = {created = 0, updated = 0, unchanged = 0, failed = 0, skipped = 0, trashed = 0},
    items = {}, done = 0, started = time.monotonic(), bar = log.is_terminal() and not opts.json,
    last_draw = 0,
  }, Run)
end

local function format_seconds(s)
  if s >= 3600 then return ("%dh%02dm"):format(s // 3600, (s % 3600) // 60) end
  if s >= 60 then return ("%dm%02ds"):format(s // 60, s % 60) end
  return ("%ds"):format(math.floor(s + 0.5))
end

function Run:_draw(final)
  local now = time.monotonic()
  if not final and now - self.last_draw < 0.1 then return end
  self.last_draw = now
  local elapsed = math.max(now - self.started, 1e-3)
  local rate = self.done / elapsed
  local line
  if self.total and self.total > 0 then
    local width = 24
    local filled = math.floor(width * self.done / self.total)
    local eta = rate > 0 and (self.total - self.done) / rate or 0
    line = ("[%s%s] %d/%d %s  %.1f/s  ETA %s"):format(("="):rep(filled), (" "):rep(width - filled),
      self.done, self.total, self.label, rate, format_seconds(eta))
  else
    line = ("%d %s  %.1f/s"):format(self.done, self.label, rate)
  end
  io.stderr:write("\r\27[K" .. line .. (final and "\n" or ""))
  io.stderr:flush()
end

-- run:item(outcome, name, {id=, link=, error=}): records one item's outcome.
function Run:item(outcome, name, info)
  if not OUTCOMES[outcome] then error("run:item: outcome must be created, updated, unchanged, trashed, skipped or failed", 2) end
  info = info or {}
  self.counts[outcome] = self.counts[outcome] + 1
  self.done = self.done + 1
  self.items[#self.items + 1] = {name = name, action = outcome, id = info.id, link = info.link,
                                 error = info.error and tostring(info.error) or nil}
  if outcome == "failed" then
    if self.bar then io.stderr:write("\r\27[K") end
    log.error(("%s failed: %s"):format(tostring(name), tostring(info.error)))
  elseif not self.bar then
    local progress = self.total and ("%d/%d"):format(self.done, self.total) or tostring(self.done)
    log.info(("%s %s"):format(outcome, tostring(name)), {progress = progress, link = info.link})
  end
  if self.bar then self:_draw(false) end
end

-- run:finish([{fail = false}]) -> counts. Prints the summary (JSON with --json), then
-- fails the recipe (exit status 1) when any item failed, unless fail = false.
function Run:finish(opts)
  if self.bar and self.done > 0 then self:_draw(true) end
  local c = self.counts
  local elapsed = time.monotonic() - self.started
  if self.json then
    print(json.encode({created = c.created, updated = c.updated, unchanged = c.unchanged, failed = c.failed,
                       skipped = c.skipped, trashed = c.trashed, dry_run = http.dry_run(),
                       seconds = math.floor(elapsed * 1000) / 1000, items = json.array(self.items)}))
  else
    local parts = {("created %d, updated %d, unchanged %d, failed %d"):format(c.created, c.updated, c.unchanged, c.failed)}
    if c.trashed > 0 then parts[#parts + 1] = ("trashed %d"):format(c.trashed) end
    if c.skipped > 0 then parts[#parts + 1] = ("skipped %d"):format(c.skipped) end
    print(("%s%s (%d %s in %.1f s)"):format(http.dry_run() and "dry run: " or "", table.concat(parts, ", "),
      self.done, self.label, elapsed))
  end
  if c.failed > 0 and not (opts and opts.fail == false) then
    M.fail(("%d of %d %s failed (see above)"):format(c.failed, self.done, self.label))
  end
  return c
end

return M
