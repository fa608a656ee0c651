-- Test images built at test time: EXIF/XMP/ICC segments spliced into JPEGs, PNG chunks, GIF
-- (animated or not) and BMP files written byte by byte, so that every case is small,
-- deterministic and independent of any other image tool. Pixels come from
-- media.from_pixels and media's own encoders.
local media = require "wpl.media"
local M = {}

local function u16be(v) return string.pack(">I2", v) end
local function u16le(v) return string.pack("<I2", v) end

-- Raw RGB(A) pixels from fn(x, y) -> r, g, b[, a].
function M.pixels(width, height, channels, fn)
  local parts = {}
  for y = 0, height - 1 do
    for x = 0, width - 1 do
      local r, g, b, a = fn(x, y)
      if channels == 1 then parts[#parts + 1] = string.char(r)
      elseif channels == 3 then parts[#parts + 1] = string.char(r, g, b)
      else parts[#parts + 1] = string.char(r, g, b, a) end
    end
  end
  return table.concat(parts)
end

M.RED, M.GREEN, M.BLUE, M.WHITE = {230, 20, 20}, {20, 200, 20}, {20, 20, 230}, {250, 250, 250}

-- w x h with four coloured quadrants: top-left red, top-right green, bottom-left blue,
-- bottom-right white.
function M.quadrants(width, height)
  return media.from_pixels(width, height, 3, M.pixels(width, height, 3, function(x, y)
    local c = y < height // 2 and (x < width // 2 and M.RED or M.GREEN) or (x < width // 2 and M.BLUE or M.WHITE)
    return c[1], c[2], c[3]
  end))
end

-- A smooth photo-like gradient with some texture (so that JPEG sizes depend on quality).
function M.gradient(width, height)
  return media.from_pixels(width, height, 3, M.pixels(width, height, 3, function(x, y)
    local n = (x * 7919 + y * 104729) % 23
    return (x * 255 // width + n) % 256, (y * 255 // height) % 256, ((x + y) * 3 + n * 5) % 256
  end))
end

-- A TIFF structure for EXIF: IFD0 with Orientation, Make and a GPS IFD (47.37 N, 8.54 E).
-- order: "II" (little-endian) or "MM" (big-endian).
function M.tiff(orientation, order)
  local le = order ~= "MM"
  local function p16(v) return string.pack(le and "<I2" or ">I2", v) end
  local function p32(v) return string.pack(le and "<I4" or ">I4", v) end
  local function entry(tag, type, count, value) return p16(tag) .. p16(type) .. p32(count) .. value end
  local make = "wpl-test-camera\0"
  -- layout: header(8) | IFD0 at 8: count(2) + 3 entries(36) + next(4) = 42 -> 50 | make | GPS IFD | rationals
  local make_at = 8 + 2 + 3 * 12 + 4
  local gps_at = make_at + #make
  local gps_entries = 4
  local rationals_at = gps_at + 2 + gps_entries * 12 + 4
  local ifd0 = p16(3)
    .. entry(0x010F, 2, #make, p32(make_at))
    .. entry(0x0112, 3, 1, p16(orientation) .. p16(0))
    .. entry(0x8825, 4, 1, p32(gps_at))
    .. p32(0)
  local gps = p16(gps_entries)
    .. entry(0x0001, 2, 2, "N\0\0\0")
    .. entry(0x0002, 5, 3, p32(rationals_at))
    .. entry(0x0003, 2, 2, "E\0\0\0")
    .. entry(0x0004, 5, 3, p32(rationals_at + 24))
    .. p32(0)
  local rationals = p32(47) .. p32(1) .. p32(22) .. p32(1) .. p32(1234) .. p32(100)
    .. p32(8) .. p32(1) .. p32(32) .. p32(1) .. p32(5678) .. p32(100)
  return (le and "II*\0" or "MM\0*") .. p32(8) .. ifd0 .. make .. gps .. rationals
end

local function segment(marker, body) return "\xFF" .. string.char(marker) .. u16be(#body + 2) .. body end

M.XMP = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="47,22.34N" '
  .. 'exif:GPSLongitude="8,32.57E"/></x:xmpmeta>'
M.ICC = "fake-icc-profile:" .. string.rep("0123456789", 20)

-- Inserts segments right after SOI: EXIF (with orientation and GPS), XMP, a comment, and an
-- ICC profile when icc is true.
function M.with_metadata(jpeg, orientation, opts)
  opts = opts or {}
  assert(jpeg:sub(1, 2) == "\xFF\xD8")
  local segments = {
    segment(0xE1, "Exif\0\0" .. M.tiff(orientation or 1, opts.order)),
    segment(0xE1, "http://ns.adobe.com/xap/1.0/\0" .. M.XMP),
    segment(0xFE, "shot at home, 47.37 N 8.54 E"),
  }
  if opts.icc then segments[#segments + 1] = segment(0xE2, "ICC_PROFILE\0\1\1" .. M.ICC) end
  return "\xFF\xD8" .. table.concat(segments) .. jpeg:sub(3)
end

-- Changes the size recorded in a JPEG's SOF header (the data stays what it was).
function M.patch_jpeg_size(jpeg, width, height)
  local i = 3
  while i < #jpeg do
    local marker = jpeg:byte(i + 1)
    local len = string.unpack(">I2", jpeg, i + 2)
    if marker == 0xC0 or marker == 0xC2 then
      return jpeg:sub(1, i + 4) .. u16be(height) .. u16be(width) .. jpeg:sub(i + 9)
    end
    i = i + 2 + len
  end
  error("no SOF")
end

-- ---------------------------------------------------------------- PNG

local crc_table = {}
for n = 0, 255 do
  local c = n
  for _ = 1, 8 do c = (c & 1) ~= 0 and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  crc_table[n] = c
end
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

function M.png_chunk(type, data)
  return string.pack(">I4", #data) .. type .. data .. string.pack(">I4", crc32(type .. data))
end

-- Only a signature and IHDR: enough for a header check, nothing to decode.
function M.png_header_only(width, height)
  return "\x89PNG\r\n\x1a\n" .. M.png_chunk("IHDR", string.pack(">I4I4BBBBB", width, height, 8, 6, 0, 0, 0))
end

-- Inserts chunks (tEXt with a location, eXIf) after IHDR.
function M.png_with_text(png)
  local ihdr_end = 8 + 25
  return png:sub(1, ihdr_end) .. M.png_chunk("tEXt", "Location\0" .. "47.37 N 8.54 E")
    .. M.png_chunk("eXIf", M.tiff(1, "MM")) .. png:sub(ihdr_end + 1)
end

-- ---------------------------------------------------------------- GIF

-- LZW with 8-bit codes and a clear code before the table would grow: valid, uncompressed.
local function lzw(indices)
  local bits, nbits, out = 0, 0, {}
  local function put(code)
    bits = bits | (code << nbits)
    nbits = nbits + 9
    while nbits >= 8 do
      out[#out + 1] = string.char(bits & 0xFF)
      bits = bits >> 8
      nbits = nbits - 8
    end
  end
  for i, v in ipairs(indices) do
    if (i - 1) % 250 == 0 then put(256) end
    put(v)
  end
  put(257)
  if nbits > 0 then out[#out + 1] = string.char(bits & 0xFF) end
  local data, blocks = table.concat(out), {}
  for i = 1, #data, 255 do
    local chunk = data:sub(i, i + 254)
    blocks[#blocks + 1] = string.char(#chunk) .. chunk
  end
  return "\8" .. table.concat(blocks) .. "\0"
end

-- A GIF of frames (each a list of palette indices, width * height) with a 256-colour palette
-- where index i is (i, 255 - i, 128); transparent_index makes that index transparent.
function M.gif(width, height, frames, transparent_index)
  local palette = {}
  for i = 0, 255 do palette[#palette + 1] = string.char(i, 255 - i, 128) end
  local parts = {"GIF89a", u16le(width), u16le(height), "\xF7\0\0", table.concat(palette)}
  if #frames > 1 then parts[#parts + 1] = "\x21\xFF\x0BNETSCAPE2.0\x03\x01\0\0\0" end
  for _, frame in ipairs(frames) do
    local flags = transparent_index and 1 or 0
    parts[#parts + 1] = "\x21\xF9\x04" .. string.char(flags) .. u16le(10) .. string.char(transparent_index or 0) .. "\0"
    parts[#parts + 1] = "\x2C" .. u16le(0) .. u16le(0) .. u16le(width) .. u16le(height) .. "\0"
    parts[#parts + 1] = lzw(frame)
  end
  parts[#parts + 1] = "\x3B"
  return table.concat(parts)
end

function M.gif_frame(width, height, fn)
  local t = {}
  for y = 0, height - 1 do for x = 0, width - 1 do t[#t + 1] = fn(x, y) end end
  return t
end

-- ---------------------------------------------------------------- BMP

function M.bmp(width, height, fn)
  local row_size = (width * 3 + 3) // 4 * 4
  local rows = {}
  for y = height - 1, 0, -1 do -- bottom-up
    local row = {}
    for x = 0, width - 1 do
      local r, g, b = fn(x, y)
      row[#row + 1] = string.char(b, g, r)
    end
    rows[#rows + 1] = table.concat(row) .. string.rep("\0", row_size - width * 3)
  end
  local pixels = table.concat(rows)
  return "BM" .. string.pack("<I4I2I2I4", 54 + #pixels, 0, 0, 54)
    .. string.pack("<I4i4i4I2I2I4I4i4i4I4I4", 40, width, height, 1, 24, 0, #pixels, 2835, 2835, 0, 0) .. pixels
end

return M
