-- wpl.media: sizing for the web, EXIF orientation, metadata removal, alpha, animated GIFs,
-- output names, errors; on images generated here (tests/media/fixtures.lua).
local t = require "testing"
local media = require "wpl.media"
local wpl = t.shell_quote(assert(..., "pass the path of the wpl binary"))
local source_dir = assert(os.getenv("WPL_SOURCE_DIR"), "WPL_SOURCE_DIR unset")
package.path = source_dir .. "/tests/media/?.lua;" .. package.path
local fx = require "fixtures"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. t.shell_quote(dir)))

local function write(name, data)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  return data
end

-- The colour at (x, y) of an image.
local function pixel(img, x, y)
  local data, c = img:pixels(), img.channels
  local i = (y * img.width + x) * c + 1
  return data:byte(i, i + c - 1)
end

local function near(actual, expected, what, tolerance)
  for k = 1, #expected do
    if math.abs(actual[k] - expected[k]) > (tolerance or 40) then
      error(string.format("%s: expected about {%s}, got {%s}", what, table.concat(expected, ","),
                          table.concat(actual, ",")), 2)
    end
  end
end

local function contains(data, text) return data:find(text, 1, true) ~= nil end

-- Fixtures shared by several tests.
local quadrants_jpeg = assert(fx.quadrants(64, 32):encode{format = "jpeg", quality = 95})
local rotated_jpeg = fx.with_metadata(quadrants_jpeg, 6, {order = "MM"})
local rotated_path = write("rotated.jpg", rotated_jpeg)

t.test("info reads the header: size as displayed, format, channels, orientation", function()
  local info = assert(media.info(rotated_path))
  t.eq(info.format, "jpeg")
  t.eq(info.mime, "image/jpeg")
  t.eq(info.orientation, 6)
  t.eq(info.width, 32, "width after orientation")
  t.eq(info.height, 64)
  t.eq(info.channels, 3)
  t.eq(info.alpha, false)
  t.eq(info.animated, false)
  t.eq(info.progressive, false)
  local little = assert(media.info_bytes(fx.with_metadata(quadrants_jpeg, 8, {order = "II"})))
  t.eq(little.orientation, 8, "little-endian EXIF")
  local png = assert(media.info_bytes(assert(fx.quadrants(10, 5):encode{format = "png"})))
  t.eq(png.format, "png"); t.eq(png.width, 10); t.eq(png.height, 5); t.eq(png.channels, 3)
end)

t.test("EXIF orientation 6 comes out upright, with every metadata segment gone", function()
  local out = assert(media.optimize(rotated_path, {max_size = 2048}))
  t.eq(out.changed, true)
  t.eq(out.width, 32); t.eq(out.height, 64)
  for _, secret in ipairs({"Exif", "wpl-test-camera", "GPSLatitude", "47.37", "xap/1.0", "shot at home"}) do
    t.ok(not contains(out.data, secret), "output still contains " .. secret)
  end
  local info = assert(media.info_bytes(out.data))
  t.eq(info.orientation, 1)
  t.eq(info.width, 32); t.eq(info.height, 64)
  -- rotated 90 degrees clockwise: the stored bottom-left (blue) is now top-left
  local img = assert(media.load_bytes(out.data))
  near({pixel(img, 8, 16)}, fx.BLUE, "top-left")
  near({pixel(img, 24, 16)}, fx.RED, "top-right")
  near({pixel(img, 8, 48)}, fx.WHITE, "bottom-left")
  near({pixel(img, 24, 48)}, fx.GREEN, "bottom-right")
end)

t.test("load applies the orientation too (unless orient = false)", function()
  local img = assert(media.load(rotated_path))
  t.eq(img.width, 32); t.eq(img.height, 64); t.eq(img.channels, 3)
  near({pixel(img, 8, 16)}, fx.BLUE, "top-left")
  local stored = assert(media.load(rotated_path, {orient = false}))
  t.eq(stored.width, 64); t.eq(stored.height, 32)
  near({pixel(stored, 8, 8)}, fx.RED, "stored top-left")
  for orientation, corner in pairs({[2] = fx.GREEN, [3] = fx.WHITE, [4] = fx.BLUE, [5] = fx.RED,
                                    [7] = fx.WHITE, [8] = fx.GREEN}) do
    local o = assert(media.load_bytes(fx.with_metadata(quadrants_jpeg, orientation)))
    near({pixel(o, 4, 4)}, corner, "top-left with orientation " .. orientation)
  end
end)

t.test("fits inside the maximum size keeping the aspect ratio, never upscales", function()
  local jpeg = assert(fx.gradient(601, 401):encode{quality = 90})
  local out = assert(media.optimize_bytes(jpeg, "photo.jpg", {max_size = 300}))
  t.eq(out.width, 300); t.eq(out.height, 200)
  local info = assert(media.info_bytes(out.data))
  t.eq(info.width, 300); t.eq(info.height, 200)
  out = assert(media.optimize_bytes(jpeg, "photo.jpg", {max_width = 1000, max_height = 100}))
  t.eq(out.width, 150); t.eq(out.height, 100)
  out = assert(media.optimize_bytes(jpeg, "photo.jpg", {max_size = 4000}))
  t.eq(out.width, 601, "not upscaled"); t.eq(out.height, 401)
  -- a big JPEG goes through the DCT-scaled decode
  local big = assert(fx.gradient(800, 600):encode{quality = 85})
  out = assert(media.optimize_bytes(big, "big.jpg", {max_size = 190})) -- decoded at 1/4, then resized
  t.eq(out.width, 190); t.eq(out.height, 143)
  local small = assert(media.load_bytes(out.data))
  local reference = assert(assert(media.load_bytes(big)):resize{max_width = 190})
  near({pixel(small, 100, 70)}, {pixel(reference, 100, 70)}, "scaled decode matches a full resize", 12)
end)

-- Peak signal-to-noise ratio of two images of the same size, in dB.
local function psnr(a, b)
  local pa, pb = a:pixels(), b:pixels()
  assert(#pa == #pb, "different sizes")
  local sum = 0
  for i = 1, #pa do
    local d = pa:byte(i) - pb:byte(i)
    sum = sum + d * d
  end
  if sum == 0 then return math.huge end
  return 10 * math.log(255 * 255 / (sum / #pa), 10)
end

t.test("progressive JPEGs shrink as well as baseline ones (1/8, 1/4 and 1/2 scaled decodes)", function()
  for _, channels in ipairs({3, 1}) do
    local img = fx.gradient(320, 240)
    if channels == 1 then img = media.from_pixels(320, 240, 1, fx.pixels(320, 240, 1, function(x, y)
      return x * 150 // 320 + y * 80 // 240 + (x * 7919 + y * 104729) % 23 end)) end
    local progressive = assert(img:encode{quality = 90, progressive = true})
    t.eq(assert(media.info_bytes(progressive)).progressive, true)
    local full = assert(media.load_bytes(progressive))
    for _, size in ipairs({30, 75, 150}) do
      local out = assert(media.optimize_bytes(progressive, "p.jpg", {max_size = size, quality = 95}))
      local reference = assert(media.load_bytes(assert(assert(full:resize{max_width = size}):encode{quality = 95})))
      local got = assert(media.load_bytes(out.data))
      t.eq(got.width, size); t.eq(got.channels, channels)
      local db = psnr(got, reference)
      t.ok(db > 35, string.format("%d channels at %d px: %.1f dB from a full decode and resize", channels, size, db))
    end
  end
end)

t.test("a large progressive JPEG decodes the same on helper threads as on one CPU", function()
  local w, h = 1600, 1000
  local row = fx.pixels(w, 1, 3, function(x) return (x * 37) % 251, (x * x) % 241, (x * 11 + 40) % 256 end)
  local rows = {}
  for y = 0, h - 1 do
    local shift = (y * 7) % w * 3
    rows[#rows + 1] = row:sub(shift + 1) .. row:sub(1, shift)
  end
  local progressive = assert(media.from_pixels(w, h, 3, table.concat(rows)):encode{quality = 95, progressive = true})
  t.ok(#progressive > 1024 * 1024, "large enough for helper threads: " .. #progressive)
  local out = assert(media.optimize_bytes(progressive, "big.jpg", {max_size = 400}))
  t.eq(out.width, 400); t.eq(out.height, 250)
  -- the same on one CPU (no helper threads), in another process
  local input, output = write("big.jpg", progressive), dir .. "/big-one-cpu.jpg"
  local script = write("one-cpu.lua", [[
    local out = assert(require("wpl.media").optimize(arg[1], {max_size = 400}))
    local f = assert(io.open(arg[2], "wb")); f:write(out.data); f:close()
  ]])
  local code, _, err = t.run("taskset -c 0 " .. wpl .. " run " .. t.shell_quote(script) .. " " .. t.shell_quote(input)
                             .. " " .. t.shell_quote(output))
  t.eq(code, 0, err)
  t.eq(read(output) == out.data, true, "identical output")
end)

t.test("img:resize: max sizes, exact boxes, cover crops the centre", function()
  local img = fx.gradient(300, 100)
  local r = assert(img:resize{max_width = 150})
  t.eq(r.width, 150); t.eq(r.height, 50)
  r = assert(img:resize{max_width = 600, max_height = 600})
  t.eq(r.width, 300, "max sizes never upscale")
  r = assert(img:resize{width = 600})
  t.eq(r.width, 600); t.eq(r.height, 200)
  r = assert(img:resize{width = 100, height = 100})
  t.eq(r.width, 100); t.eq(r.height, 33)
  local stripes = media.from_pixels(300, 100, 3, fx.pixels(300, 100, 3, function(x)
    local c = x < 100 and fx.RED or x < 200 and fx.GREEN or fx.BLUE
    return c[1], c[2], c[3]
  end))
  r = assert(stripes:resize{width = 50, height = 50, fit = "cover"})
  t.eq(r.width, 50); t.eq(r.height, 50)
  near({pixel(r, 2, 25)}, fx.GREEN, "cover keeps the centre", 8)
  near({pixel(r, 47, 25)}, fx.GREEN, "cover keeps the centre", 8)
  t.eq(tostring(r), "wpl.media.image (50x50, 3 channels)")
end)

t.test("alpha stays PNG, and is flattened on the background only for JPEG", function()
  local rgba = media.from_pixels(40, 40, 4, fx.pixels(40, 40, 4, function(x, y)
    return 200, 40, 40, x < 20 and 0 or 255
  end))
  local png = assert(rgba:encode{format = "png"})
  local out = assert(media.optimize_bytes(png, "logo.png", {max_size = 20}))
  t.eq(out.mime, "image/png"); t.eq(out.filename, "logo.png")
  local img = assert(media.load_bytes(out.data))
  t.eq(img.channels, 4); t.eq(img.width, 20)
  t.eq(select(4, pixel(img, 2, 10)), 0, "transparent stays transparent")
  t.eq(select(4, pixel(img, 17, 10)), 255)
  near({pixel(img, 17, 10)}, {200, 40, 40}, "no dark fringe from transparent pixels", 3)

  out = assert(media.optimize_bytes(png, "logo.png", {format = "jpeg", background = "#0000ff"}))
  t.eq(out.mime, "image/jpeg"); t.eq(out.filename, "logo.jpg")
  img = assert(media.load_bytes(out.data))
  t.eq(img.channels, 3)
  near({pixel(img, 5, 20)}, {0, 0, 255}, "transparent becomes the background")
  near({pixel(img, 35, 20)}, {200, 40, 40}, "opaque stays")

  out = assert(media.optimize_bytes(png, "logo.png", {format = "webp"}))
  t.eq(out.mime, "image/webp"); t.eq(out.filename, "logo.webp")
  img = assert(media.load_bytes(out.data))
  t.eq(img.channels, 4)
  t.ok(select(4, pixel(img, 2, 10)) < 10, "WebP keeps alpha")
end)

t.test("original bytes kept when nothing needs resizing and re-encoding is not smaller", function()
  local small = assert(fx.gradient(120, 80):encode{quality = 40})
  local out = assert(media.optimize_bytes(small, "small.jpg", {quality = 95}))
  t.eq(out.changed, false)
  t.eq(out.data == small, true, "the very bytes")
  t.eq(out.bytes_in, #small); t.eq(out.bytes_out, #small)
  t.eq(out.width, 120); t.eq(out.height, 80)
  -- with metadata: the original without its metadata segments, bit for bit otherwise
  local tagged = fx.with_metadata(small, 1)
  out = assert(media.optimize_bytes(tagged, "small.jpg", {quality = 95}))
  t.eq(out.changed, true)
  t.eq(out.data == small, true, "metadata removed losslessly")
  -- re-encoding that is smaller wins
  local heavy = assert(fx.gradient(120, 80):encode{quality = 100})
  out = assert(media.optimize_bytes(heavy, "heavy.jpg", {quality = 60}))
  t.eq(out.changed, true)
  t.ok(out.bytes_out < #heavy, "smaller")
  -- PNG: text and eXIf chunks dropped, pixels untouched
  local png = assert(fx.gradient(30, 20):encode{format = "png"})
  out = assert(media.optimize_bytes(fx.png_with_text(png), "g.png"))
  t.ok(not contains(out.data, "Location") and not contains(out.data, "eXIf"), "PNG metadata gone")
  t.eq(assert(media.load_bytes(out.data)):pixels(), assert(media.load_bytes(png)):pixels())
end)

t.test("animated GIFs are published unchanged; still GIFs are converted when resized", function()
  local a = fx.gif_frame(8, 6, function(x, y) return (x * 16 + y) % 256 end)
  local b = fx.gif_frame(8, 6, function(x, y) return (y * 16 + x) % 256 end)
  local animated = fx.gif(8, 6, {a, b})
  local info = assert(media.info_bytes(animated))
  t.eq(info.animated, true); t.eq(info.format, "gif"); t.eq(info.width, 8)
  local path = write("anim.gif", animated)
  local out = assert(media.optimize(path, {max_size = 4}))
  t.eq(out.changed, false)
  t.eq(out.data == animated, true)
  t.eq(out.mime, "image/gif"); t.eq(out.filename, "anim.gif")
  t.eq(out.width, 8); t.eq(out.height, 6)

  local still = fx.gif(8, 6, {a}, 0)
  info = assert(media.info_bytes(still))
  t.eq(info.animated, false); t.eq(info.channels, 4, "transparency")
  out = assert(media.optimize_bytes(still, "still.gif", {max_size = 4}))
  t.eq(out.mime, "image/png"); t.eq(out.filename, "still.png"); t.eq(out.width, 4)
  local img = assert(media.load_bytes(still))
  t.eq(select(4, pixel(img, 0, 0)), 0, "index 0 is transparent")
  near({pixel(img, 1, 0)}, {16, 239, 128}, "palette colour", 0)
end)

t.test("BMP and WebP sources", function()
  local bmp = fx.bmp(20, 10, function(x, y) return x * 10, y * 20, 77 end)
  local img = assert(media.load_bytes(bmp))
  t.eq(img.width, 20); t.eq(img.height, 10)
  near({pixel(img, 3, 4)}, {30, 80, 77}, "BMP pixel", 0)
  local out = assert(media.optimize_bytes(bmp, "scan.bmp"))
  t.eq(out.mime, "image/png"); t.eq(out.filename, "scan.png")
  local webp = assert(fx.gradient(64, 48):encode{format = "webp", quality = 90})
  t.eq(assert(media.info_bytes(webp)).format, "webp")
  out = assert(media.optimize_bytes(webp, "pic.webp", {max_size = 32}))
  t.eq(out.mime, "image/webp"); t.eq(out.width, 32); t.eq(out.height, 24)
  local lossless = assert(fx.gradient(16, 16):encode{format = "webp", lossless = true})
  t.eq(assert(media.load_bytes(lossless)):pixels(), fx.gradient(16, 16):pixels(), "lossless WebP")
end)

t.test("the output name keeps the base name with the right extension", function()
  local jpeg = assert(fx.gradient(40, 30):encode{})
  local png = assert(fx.gradient(40, 30):encode{format = "png"})
  local cases = {
    {jpeg, "/some/dir/Holiday Photo.JPG", nil, "Holiday Photo.JPG"},
    {jpeg, "shot.jpeg", nil, "shot.jpeg"},
    {jpeg, "shot.jpeg", "png", "shot.png"},
    {png, "diagram.png", "jpeg", "diagram.jpg"},
    {png, "noext", "webp", "noext.webp"},
    {jpeg, "archive.tar.jpg", nil, "archive.tar.jpg"},
    {jpeg, ".hidden", nil, ".hidden.jpg"},
  }
  for _, c in ipairs(cases) do
    local out = assert(media.optimize_bytes(c[1], c[2], {format = c[3], max_size = 20}))
    t.eq(out.filename, c[4], c[2])
  end
  t.eq(assert(media.optimize_bytes(jpeg, nil, {max_size = 20})).filename, "image.jpg")
  local path = write("tmpXYZ-upload.jpeg", jpeg)
  t.eq(assert(media.optimize(path, {max_size = 20})).filename, "tmpXYZ-upload.jpeg")
end)

t.test("ICC profiles are kept (colour, not private data)", function()
  local tagged = fx.with_metadata(quadrants_jpeg, 1, {icc = true})
  local out = assert(media.optimize_bytes(tagged, "p3.jpg", {max_size = 16}))
  t.ok(contains(out.data, "ICC_PROFILE") and contains(out.data, fx.ICC), "ICC profile in the JPEG")
  t.ok(not contains(out.data, "wpl-test-camera"), "EXIF gone")
  out = assert(media.optimize_bytes(tagged, "p3.jpg", {max_size = 16, format = "webp"}))
  t.ok(contains(out.data, "ICCP"), "ICC profile in the WebP")
  t.ok(assert(media.optimize_bytes(tagged, "p3.jpg", {max_size = 16, format = "png"})),
       "PNG leaves an invalid profile out quietly")
end)

t.test("encode: formats, quality, progressive", function()
  local img = fx.gradient(200, 150)
  local low, high = assert(img:encode{quality = 30}), assert(img:encode{quality = 95})
  t.ok(#low < #high, "quality changes the size")
  local progressive = assert(img:encode{quality = 80, progressive = true})
  t.eq(assert(media.info_bytes(progressive)).progressive, true)
  local back = assert(media.load_bytes(progressive))
  t.eq(back.width, 200)
  t.eq(assert(media.info_bytes(assert(img:encode{format = "png"}))).format, "png")
  t.eq(assert(media.info_bytes(assert(img:encode{format = "webp"}))).format, "webp")
  local gray = media.from_pixels(4, 2, 1, "\0\50\100\150\200\250\255\10")
  t.eq(assert(media.load_bytes(assert(gray:encode{format = "png"}))):pixels(), gray:pixels(), "gray PNG")
  t.eq(assert(media.load_bytes(assert(gray:encode{format = "jpeg"}))).channels, 1, "gray JPEG")
  local gray_alpha = media.from_pixels(2, 1, 2, "\100\0\200\255")
  local flat = assert(media.load_bytes(assert(gray_alpha:encode{format = "jpeg", background = {0, 0, 0}})))
  t.eq(flat.channels, 1)
end)

t.test("a truncated or corrupt file gives an error naming the file", function()
  local jpeg = assert(fx.gradient(256, 256):encode{quality = 90})
  local path = write("cut.jpg", jpeg:sub(1, #jpeg * 6 // 10))
  local out, err = media.optimize(path)
  t.eq(out, nil)
  t.eq(err.code, "corrupt_image")
  t.ok(contains(err.message, path), "message names the file: " .. err.message)
  t.eq(err.file, path)
  t.ok(contains(tostring(err), "corrupt JPEG"), tostring(err))
  local img, lerr = media.load(path)
  t.eq(img, nil); t.eq(lerr.code, "corrupt_image")
  -- only the end marker missing is still a truncated file
  _, err = media.optimize_bytes(jpeg:sub(1, -3), "no-eoi.jpg")
  t.eq(err and err.code, "corrupt_image")
  local png = assert(fx.gradient(64, 64):encode{format = "png"})
  _, err = media.optimize_bytes(png:sub(1, #png // 2), "cut.png")
  t.eq(err.code, "corrupt_image")
  t.ok(contains(err.message, "cut.png"), err.message)
  _, err = media.optimize_bytes(png:sub(1, 20), "header.png")
  t.eq(err.code, "corrupt_image")
  _, err = media.optimize_bytes("", "empty.jpg")
  t.eq(err.code, "corrupt_image")
  _, err = media.optimize(dir .. "/missing.jpg")
  t.eq(err.code, "read")
  t.ok(contains(err.message, "missing.jpg"), err.message)
end)

t.test("unsupported formats are named", function()
  local _, err = media.optimize_bytes("II*\0" .. string.rep("\0", 100), "scan.tiff")
  t.eq(err.code, "unsupported_format")
  t.ok(contains(err.message, "TIFF") and contains(err.message, "scan.tiff"), err.message)
  _, err = media.info_bytes("\0\0\0\24ftypheic" .. string.rep("\0", 20))
  t.eq(err.code, "unsupported_format")
  t.ok(contains(err.message, "HEIF"), err.message)
  _, err = media.load_bytes("hello, world")
  t.eq(err.code, "unsupported_format")
end)

t.test("the pixel limit is checked from the header, before decoding", function()
  local _, err = media.optimize_bytes(fx.png_header_only(20000, 20000), "huge.png")
  t.eq(err.code, "too_large")
  t.ok(contains(err.message, "huge.png") and contains(err.message, "400.0 megapixels"), err.message)
  -- a JPEG that claims 60000 x 60000 but holds a few bytes of data: too large, not corrupt
  local claims = fx.patch_jpeg_size(quadrants_jpeg, 60000, 60000)
  _, err = media.load_bytes(claims)
  t.eq(err.code, "too_large")
  _, err = media.info_bytes(claims) -- info itself does not judge
  t.eq(err, nil)
  _, err = media.optimize_bytes(quadrants_jpeg, "q.jpg", {max_pixels = 1000})
  t.eq(err.code, "too_large")
  _, err = media.load_bytes(quadrants_jpeg, {max_pixels = 2048})
  t.eq(err, nil)
  _, err = media.optimize(write("anim-big.gif", fx.gif(100, 100, {{0}, {1}})), {max_pixels = 100})
  t.eq(err.code, "too_large", "animated images too")
end)

t.test("programmer mistakes raise", function()
  local img = fx.gradient(10, 10)
  t.raises(function() media.optimize_bytes("x", "x", {quality = 0}) end, "'quality' must be an integer from 1 to 100")
  t.raises(function() media.optimize_bytes("x", "x", {max_sise = 10}) end, "unknown option max_sise")
  t.raises(function() media.optimize_bytes("x", "x", {format = "gif"}) end, "'format' must be")
  t.raises(function() media.optimize_bytes("x", "x", {background = "white"}) end, "'background'")
  t.raises(function() img:resize{} end, "give max_width/max_height or width/height")
  t.raises(function() img:resize{width = 5, fit = "cover"} end, "needs both")
  t.raises(function() img:encode{format = "auto"} end, "'format' must be")
  t.raises(function() media.from_pixels(2, 2, 3, "short") end, "width * height * channels")
  t.raises(function() media.load({}) end, "string expected")
  img:close()
  img:close() -- idempotent
  t.raises(function() return img.width end, "closed")
  t.raises(function() img:encode{} end, "closed")
  t.eq(tostring(img), "wpl.media.image (closed)")
  do
    local scoped <close> = fx.gradient(4, 4)
    t.eq(scoped.width, 4)
  end
end)

t.test("in sandbox mode only files under the allowed folders are read", function()
  local recipe = write("sandboxed.lua", [[
    local media = require "wpl.media"
    print(assert(media.info(arg[1])).width)
    print(select(2, pcall(media.optimize, arg[2])))
  ]])
  local outside = os.tmpname()
  local f = assert(io.open(outside, "wb"))
  f:write(quadrants_jpeg)
  f:close()
  local code, out = t.run(wpl .. " --sandbox run " .. t.shell_quote(recipe) .. " " .. t.shell_quote(rotated_path)
                          .. " " .. t.shell_quote(outside))
  os.remove(outside)
  t.eq(code, 0)
  t.ok(out:find("^32\n"), "inside: " .. out)
  t.ok(out:find("outside the allowed folders", 1, true), "outside: " .. out)
end)

t.test("fuzz regression inputs and seeds decode or fail cleanly", function()
  local n = 0
  for _, sub in ipairs({"tests/fuzz/regressions/image", "tests/fuzz/corpus/image"}) do
    local p = io.popen("ls -1 " .. t.shell_quote(source_dir .. "/" .. sub) .. " 2>/dev/null")
    for name in p:lines() do
      local data = read(source_dir .. "/" .. sub .. "/" .. name)
      for _, call in ipairs({
        function() return media.info_bytes(data) end,
        function() return media.load_bytes(data, {max_pixels = 4000000}) end,
        function() return media.optimize_bytes(data, name, {max_size = 64, max_pixels = 4000000}) end,
        function() return media.optimize_bytes(data, name, {max_size = 5, max_pixels = 4000000}) end,
      }) do
        local ok, v, err = pcall(call)
        t.ok(ok, name .. " raised: " .. tostring(v))
        t.ok(v ~= nil or (type(err) == "table" and err.code), name .. ": neither a result nor an error")
      end
      n = n + 1
    end
    p:close()
  end
  t.ok(n > 0, "no fuzz inputs found")
end)

os.execute("rm -rf " .. t.shell_quote(dir))
t.finish()
