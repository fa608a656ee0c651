-- wpl.cli: the `wpl site ...` and `wpl history` commands (the C host calls main()).
local sites = require "wpl.sites"
local db_module = require "wpl.db"
local store = require "wpl.store"
local json = require "wpl.json"
local term = require "wpl.term"
local errors = require "wpl.error"

local M = {}

local USAGE = [[
usage: wpl site add NAME URL USER [--seo yoast|rankmath|meta:KEY|excerpt|auto] [--no-test]
                                  [--password-stdin] [--allow-insecure]
       wpl site list [--json]
       wpl site test NAME
       wpl site remove NAME
       wpl history [--site NAME] [--limit N] [--json]

The application password is read from $WPL_APP_PASSWORD, from standard input with
--password-stdin, or asked for on the terminal; never from the command line.]]

local function usage(message)
  error(errors.new{code = "usage", message = message .. "\n" .. USAGE, traceback = false, exit_code = 2}, 0)
end

local function fail(err)
  error(errors.new{code = "failed", message = tostring(err), traceback = false, exit_code = 1}, 0)
end

-- Splits args into positional values and --flags (with values for the named ones).
local function parse(args, with_value)
  local positional, flags = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^%-%-([%w-]+)=(.*)$")
    name = name or a:match("^%-%-([%w-]+)$")
    if name then
      if with_value[name] then
        local v = inline or args[i + 1]
        if v == nil then usage("--" .. name .. " needs a value") end
        if not inline then i = i + 1 end
        flags[name] = v
      elseif with_value[name] == false then
        flags[name] = true
      else
        usage("unknown option '" .. a .. "'")
      end
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  return positional, flags
end

local function read_password(flags)
  if flags["password-stdin"] then
    local line = io.read("l")
    if not line or line == "" then fail("--password-stdin: nothing on standard input") end
    return (line:gsub("\r$", ""))
  end
  local env = os.getenv("WPL_APP_PASSWORD")
  if env and env ~= "" then return env end
  if term.isatty(0) then
    local pw, err = term.read_secret("Application password: ")
    if not pw then fail(err) end
    return pw
  end
  usage("no application password: set WPL_APP_PASSWORD, pass --password-stdin, or run on a terminal")
end

local function describe_rights(info)
  local can = {}
  if info.can.publish_posts then can[#can + 1] = "publish posts" end
  if info.can.upload_files then can[#can + 1] = "upload files" end
  if info.can.manage_categories then can[#can + 1] = "manage categories" end
  local rights = #can > 0 and ("may " .. table.concat(can, ", ")) or "may not publish, upload or manage categories"
  return ("%s (%s): %s"):format(info.user.username, table.concat(info.roles, ", "), rights)
end

local function site_add(args)
  local pos, flags = parse(args, {seo = true, ["no-test"] = false, ["password-stdin"] = false, ["allow-insecure"] = false})
  if #pos ~= 3 then usage("site add takes NAME URL USER") end
  local row, info = sites.add{name = pos[1], url = pos[2], user = pos[3], app_password = read_password(flags),
                              seo = flags.seo, test = not flags["no-test"], allow_insecure = flags["allow-insecure"]}
  if not row then fail(info) end
  print(("added '%s': %s"):format(row.name, row.site_url))
  if info then
    print(("  %s, user %s"):format(info.site_name or "?", describe_rights(info)))
    if not info.can.publish_posts then print("  warning: this user cannot publish posts") end
  else
    print("  (not tested: --no-test)")
  end
end

local function site_list(args)
  local _, flags = parse(args, {json = false})
  local rows, err = sites.list()
  if not rows then fail(err) end
  if flags.json then
    for _, r in ipairs(rows) do
      r.is_active, r.has_password = r.is_active == 1, r.has_password == 1
    end
    print(json.encode(json.array(rows)))
    return
  end
  if #rows == 0 then
    print("no sites yet: wpl site add NAME URL USER")
    return
  end
  print(("%-16s %-40s %-12s %-8s %s"):format("NAME", "URL", "USER", "SEO", "STATE"))
  for _, r in ipairs(rows) do
    print(("%-16s %-40s %-12s %-8s %s"):format(r.name, r.site_url, r.username or "-", r.seo,
      r.is_active == 1 and "active" or "removed"))
  end
end

local function site_test(args)
  local pos = parse(args, {})
  if #pos ~= 1 then usage("site test takes NAME") end
  local site, err = sites.connect(pos[1])
  if not site then fail(err) end
  local ok, info = site:test()
  if not ok then fail(info) end
  print(("ok: %s at %s"):format(info.site_name or "?", site.url))
  print("  user " .. describe_rights(info))
end

local function site_remove(args)
  local pos = parse(args, {})
  if #pos ~= 1 then usage("site remove takes NAME") end
  local ok, err = sites.remove(pos[1])
  if not ok then fail(err) end
  print(("removed '%s': its credentials are gone, its history stays"):format(pos[1]))
end

local function history(args)
  local _, flags = parse(args, {site = true, limit = true, json = false})
  local limit = math.tointeger(tonumber(flags.limit or "50"))
  if not limit or limit < 1 then usage("--limit takes a positive number") end
  local db, err = db_module.open()
  if not db then fail(err) end
  local sql = [[SELECT h.at, s.name AS site, h.action, h.outcome, h.wp_post_id, h.title, h.detail
                FROM history h LEFT JOIN wordpress_sites s ON s.id = h.site_id
                WHERE h.user_id = ? AND (? IS NULL OR s.name = ?) ORDER BY h.id DESC LIMIT ?]]
  local rows
  rows, err = db_module.rows(db, sql, store.user_id(), flags.site, flags.site, limit)
  if not rows then fail(err) end
  if flags.site and #rows == 0 and not sites.get(flags.site) then fail(select(2, sites.get(flags.site))) end
  if flags.json then
    print(json.encode(json.array(rows)))
    return
  end
  if #rows == 0 then
    print("no history yet")
    return
  end
  for i = #rows, 1, -1 do
    local r = rows[i]
    print(("%s  %-10s %-14s %-5s %7s  %s%s"):format(r.at, r.site or "-", r.action, r.outcome,
      r.wp_post_id and tostring(r.wp_post_id) or "-", r.title or "", r.detail and ("  (" .. r.detail .. ")") or ""))
  end
end

local SITE_COMMANDS = {add = site_add, list = site_list, test = site_test, remove = site_remove}

function M.main(command, ...)
  local args = {...}
  if command == "history" then return history(args) end
  local sub = table.remove(args, 1)
  local fn = SITE_COMMANDS[sub]
  if not fn then usage(sub and ("unknown site command '" .. sub .. "'") or "site needs a command") end
  return fn(args)
end

return M
