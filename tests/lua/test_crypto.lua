-- wpl.crypto: sealing, random bytes, hashes, key encoding and the user's key file.
local t = require "testing"
local crypto = require "wpl.crypto"
local log = require "wpl.log"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))

local function mode_of(path)
  local code, out = t.run("stat -c %a " .. t.shell_quote(path))
  t.eq(code, 0, "stat " .. path)
  return (out:gsub("%s+$", ""))
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

t.test("seal and open round trip", function()
  local key = crypto.random(32)
  for _, plain in ipairs({"", "x", "hello, world", ("\0\1\2\255"):rep(1000)}) do
    local sealed = crypto.seal(plain, key)
    t.eq(#sealed, 24 + 16 + #plain, "nonce + MAC + text")
    t.eq(crypto.open(sealed, key), plain)
  end
  t.ok(crypto.seal("same", key) ~= crypto.seal("same", key), "a fresh nonce every time")
end)

t.test("a wrong key or damaged data gives decrypt_failed", function()
  local key, other = crypto.random(32), crypto.random(32)
  local sealed = crypto.seal("secret", key)
  local plain, err = crypto.open(sealed, other)
  t.eq(plain, nil)
  t.eq(err.code, "decrypt_failed")
  t.ok(err.message:find("key is wrong or the data is damaged", 1, true), err.message)
  local flipped = sealed:sub(1, -2) .. string.char(sealed:byte(-1) ~ 1)
  t.eq(select(2, crypto.open(flipped, key)).code, "decrypt_failed")
  t.eq(select(2, crypto.open(sealed:sub(1, 30), key)).code, "decrypt_failed", "too short")
  t.eq(select(2, crypto.open("", key)).code, "decrypt_failed")
end)

t.test("keys must be 32 bytes", function()
  t.raises(function() crypto.seal("x", "short") end, "a key is 32 bytes, got 5")
  t.raises(function() crypto.open("x", ("k"):rep(33)) end, "a key is 32 bytes, got 33")
  t.raises(function() crypto.key_to_hex("") end, "a key is 32 bytes")
end)

t.test("random bytes", function()
  t.eq(crypto.random(0), "")
  t.eq(#crypto.random(1000), 1000)
  t.ok(crypto.random(16) ~= crypto.random(16))
  t.raises(function() crypto.random(-1) end, "between 0 and")
  t.raises(function() crypto.random(1 << 21) end, "between 0 and")
end)

t.test("hash is BLAKE2b-256 in hex", function()
  t.eq(crypto.hash(""), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
  t.eq(crypto.hash("abc"), "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
  t.eq(#crypto.hash(("x"):rep(100000)), 64)
end)

t.test("keys to and from hex", function()
  local key = crypto.random(32)
  local hex = crypto.key_to_hex(key)
  t.ok(hex:match("^%x+$") and #hex == 64, hex)
  t.eq(crypto.key_from_hex(hex), key)
  t.eq(crypto.key_from_hex(hex:upper()), key)
  for _, bad in ipairs({"", hex:sub(2), hex .. "00", hex:sub(2) .. "g", " " .. hex:sub(2)}) do
    local k, err = crypto.key_from_hex(bad)
    t.eq(k, nil)
    t.eq(err.code, "invalid_key")
    t.ok(err.message:find("64 hexadecimal characters", 1, true), err.message)
  end
end)

t.test("the key file is created 0600 in a 0700 folder, then reused", function()
  local path = dir .. "/config/wpl/key"
  local key = assert(crypto.load_key{path = path})
  t.eq(#key, 32)
  t.eq(mode_of(path), "600")
  t.eq(mode_of(dir .. "/config"), "700")
  t.eq(mode_of(dir .. "/config/wpl"), "700")
  t.eq(read_file(path), crypto.key_to_hex(key) .. "\n")
  t.eq(assert(crypto.load_key{path = path}), key, "the same key next time")
  t.eq(log.redact("key " .. crypto.key_to_hex(key)), "key [REDACTED]", "the loaded key never reaches a log")
end)

t.test("a key file others can read is refused, naming the file and the fix", function()
  local path = dir .. "/loose/key"
  assert(crypto.load_key{path = path})
  assert(os.execute("chmod 644 " .. t.shell_quote(path)))
  local key, err = crypto.load_key{path = path}
  t.eq(key, nil)
  t.eq(err.code, "key_permissions")
  t.ok(err.message:find(path, 1, true), err.message)
  t.ok(err.message:find("mode 0644", 1, true), err.message)
  t.ok(err.message:find("chmod 600 '" .. path .. "'", 1, true), err.message)
  assert(os.execute("chmod 640 " .. t.shell_quote(path)))
  t.eq(select(2, crypto.load_key{path = path}).code, "key_permissions", "group bits too")
  assert(os.execute("chmod 600 " .. t.shell_quote(path)))
  assert(crypto.load_key{path = path})
end)

t.test("malformed and missing key files", function()
  local path = dir .. "/bad-key"
  local f = assert(io.open(path, "w"))
  f:write("not a key\n")
  f:close()
  assert(os.execute("chmod 600 " .. t.shell_quote(path)))
  local key, err = crypto.load_key{path = path}
  t.eq(key, nil)
  t.eq(err.code, "invalid_key")
  t.ok(err.message:find("key file '" .. path .. "' is malformed", 1, true), err.message)
  key, err = crypto.load_key{path = dir .. "/absent", create = false}
  t.eq(key, nil)
  t.eq(err.code, "key_missing")
  t.eq(io.open(dir .. "/absent"), nil, "create = false creates nothing")
  t.eq(select(2, crypto.load_key{path = dir}).code, "key_file", "a folder is not a key file")
  t.raises(function() crypto.load_key{paht = "x"} end, "bad option 'paht'")
end)

t.test("WPL_KEY, then XDG_CONFIG_HOME, then HOME", function()
  local script = dir .. "/load_key.lua"
  local f = assert(io.open(script, "w"))
  f:write([[
    local crypto = require "wpl.crypto"
    local key, err = crypto.load_key()
    print(key and crypto.key_to_hex(key) or err.code)
  ]])
  f:close()
  local run = " " .. wpl .. " run " .. script
  local hex = crypto.key_to_hex(crypto.random(32))
  local code, out, stderr = t.run("WPL_KEY=" .. hex .. run)
  t.eq(code, 0, stderr)
  t.eq(out, hex .. "\n")
  code, out = t.run("WPL_KEY=' " .. hex:upper() .. "\n'" .. run)
  t.eq(out, hex .. "\n", "blanks around the key are ignored")
  code, out = t.run("WPL_KEY=" .. hex:sub(3) .. run)
  t.eq(out, "invalid_key\n")

  code, out = t.run("env -u WPL_KEY XDG_CONFIG_HOME=" .. dir .. "/xdg" .. run)
  t.eq(out, read_file(dir .. "/xdg/wpl/key"), "created under XDG_CONFIG_HOME")
  code, out = t.run("env -u WPL_KEY -u XDG_CONFIG_HOME HOME=" .. dir .. "/home" .. run)
  t.eq(out, read_file(dir .. "/home/.config/wpl/key"), "created under ~/.config")
  t.eq(mode_of(dir .. "/home/.config/wpl/key"), "600")
end)

os.execute("rm -rf " .. dir)
t.finish()
