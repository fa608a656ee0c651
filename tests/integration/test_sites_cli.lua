-- `wpl site add/list/test/remove` and `wpl history` end to end against the real local
-- WordPress; the password never reaches the database in clear, and a wrong key is named.
local t = require "testing"
local json = require "wpl.json"
local fs = require "wpl.fs"
local env = t.wordpress()
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))

-- Every call gets its own database and key file.
local home = os.tmpname()
os.remove(home)
assert(fs.mkdir(home))
local base_env = ("WPL_DB=%s/wpl.db XDG_CONFIG_HOME=%s/config WPL_KEY= "):format(home, home)
local function cli(args, stdin)
  local cmd = base_env .. wpl .. " " .. args
  if stdin then cmd = "printf '%s\\n' " .. t.shell_quote(stdin) .. " | " .. cmd end
  return t.run(cmd)
end

t.test("site add reads the password from stdin, tests it and reports the rights", function()
  local code, out, err = cli(("site add blog %s %s --password-stdin"):format(env.url, env.user), env.app_password)
  t.eq(code, 0, err)
  t.ok(out:find("added 'blog': " .. env.url, 1, true), out)
  t.ok(out:find("may publish posts, upload files, manage categories", 1, true), out)
  local mode = assert(fs.stat(home .. "/wpl.db")).mode
  t.eq(mode, tonumber("600", 8), "database created 0600")
  t.eq(assert(fs.stat(home .. "/config/wpl/key")).mode, tonumber("600", 8), "key file created 0600")
end)

t.test("the database never holds the plain password", function()
  for _, suffix in ipairs({"", "-wal"}) do
    local bytes = fs.read(home .. "/wpl.db" .. suffix)
    if bytes then t.ok(not bytes:find(env.app_password, 1, true), "password in wpl.db" .. suffix) end
  end
end)

t.test("a wrong password is refused and nothing is stored", function()
  local code, _, err = cli(("site add broken %s %s --password-stdin"):format(env.url, env.user), "nope nope nope nope")
  t.eq(code, 1)
  t.ok(err:find("credentials_rejected", 1, true) or err:find("did not accept", 1, true), err)
  local _, out = cli("site list")
  t.ok(not out:find("broken", 1, true))
end)

t.test("list (text and JSON) never shows passwords; test works", function()
  local code, out = cli("site list")
  t.eq(code, 0)
  t.ok(out:find("blog", 1, true) and out:find(env.url, 1, true))
  local _, js = cli("site list --json")
  local rows = json.decode(js)
  t.eq(rows[1].name, "blog")
  t.eq(rows[1].has_password, true)
  t.eq(rows[1].app_password, nil)
  t.ok(not js:find(env.app_password, 1, true))
  local tcode, tout = cli("-v site test blog")
  t.eq(tcode, 0)
  t.ok(tout:find("ok: WPL Test Site", 1, true), tout)
end)

t.test("re-adding updates the site in place (same id, history kept)", function()
  local _, before = cli("site list --json")
  local code = cli(("site add blog %s/ %s --password-stdin --seo yoast --no-test"):format(env.url, env.user), env.app_password)
  t.eq(code, 0)
  local _, after = cli("site list --json")
  t.eq(json.decode(after)[1].id, json.decode(before)[1].id)
  t.eq(json.decode(after)[1].seo, "yoast")
end)

t.test("a recipe opens a registered site by name; history records what it did", function()
  local recipe = home .. "/r.lua"
  assert(fs.write(recipe, [[
    local wp, publish = require "wpl.wp", require "wpl.publish"
    local site = assert(wp.connect("blog"))
    print(assert(publish.post(site, {title = ..., status = "draft"})).action)
  ]]))
  local title = t.unique("From registry ")
  local code, out, err = t.run(base_env .. wpl .. " run " .. recipe .. " " .. t.shell_quote(title))
  t.eq(code, 0, err)
  t.eq(out, "created\n")
  local hcode, hout = cli("history --site blog --limit 5")
  t.eq(hcode, 0)
  t.ok(hout:find("created", 1, true) and hout:find(title, 1, true), hout)
  local _, hjson = cli("history --json --limit 1")
  t.eq(json.decode(hjson)[1].title, title)
end)

t.test("a wrong key is a clear error, not garbage", function()
  local wrong = ("ab"):rep(32)
  local recipe = home .. "/k.lua"
  assert(fs.write(recipe, 'local wp = require "wpl.wp"; assert(wp.connect("blog"))'))
  local code, _, err = t.run(base_env:gsub("WPL_KEY= ", "WPL_KEY=" .. wrong .. " ") .. wpl .. " run " .. recipe)
  t.eq(code, 1)
  t.ok(err:find("cannot decrypt the password of site 'blog'", 1, true), err)
end)

t.test("remove drops the credentials, keeps the history", function()
  local code, out = cli("site remove blog")
  t.eq(code, 0)
  t.ok(out:find("removed 'blog'", 1, true))
  local _, js = cli("site list --json")
  t.eq(json.decode(js)[1].has_password, false)
  local _, hout = cli("history --site blog")
  t.ok(hout:find("created", 1, true), "history stays")
  local _, _, err = cli("site test blog")
  t.ok(err:find("was removed", 1, true), err)
end)

t.test("usage errors exit 2", function()
  t.eq((cli("site")), 2)
  t.eq((cli("site add only-name")), 2)
  t.eq((cli("site frob")), 2)
  t.eq((cli("history --limit zero")), 2)
  local code, _, err = cli(("site add x %s %s"):format(env.url, env.user))
  t.eq(code, 2, "no password source")
  t.ok(err:find("WPL_APP_PASSWORD", 1, true))
end)

os.execute("rm -rf " .. home)
t.finish()
