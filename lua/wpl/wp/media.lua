-- Media uploads: the file is sent as the raw request body (streamed from disk), its type
-- sniffed from the first bytes, its name made safe, and alt text, caption, title and parent
-- post set in the same request.
local M = {}

local EXT_MIME = {
  jpg = "image/jpeg", jpeg = "image/jpeg", png = "image/png", gif = "image/gif", webp = "image/webp",
  avif = "image/avif", svg = "image/svg+xml", pdf = "application/pdf", mp4 = "video/mp4",
  mp3 = "audio/mpeg", txt = "text/plain", csv = "text/csv", zip = "application/zip",
  doc = "application/msword", docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
local MIME_EXT = {["image/jpeg"] = "jpg", ["image/png"] = "png", ["image/gif"] = "gif", ["image/webp"] = "webp",
                  ["image/avif"] = "avif", ["application/pdf"] = "pdf"}

-- The type of a file from its first bytes, or nil.
function M.sniff(head)
  if head:sub(1, 3) == "\255\216\255" then return "image/jpeg" end
  if head:sub(1, 8) == "\137PNG\r\n\26\n" then return "image/png" end
  if head:sub(1, 6) == "GIF87a" or head:sub(1, 6) == "GIF89a" then return "image/gif" end
  if head:sub(1, 4) == "RIFF" and head:sub(9, 12) == "WEBP" then return "image/webp" end
  if head:sub(5, 12) == "ftypavif" then return "image/avif" end
  if head:sub(1, 5) == "%PDF-" then return "application/pdf" end
  return nil
end

-- A file name WordPress and every web server accept: ASCII letters, digits, '-', '_' and
-- one '.', with the extension that matches the type.
function M.safe_filename(name, mime)
  name = (name or ""):match("([^/\\]*)$")
  local base, ext = name:match("^(.*)%.([%w]+)$")
  if not base then base, ext = name, nil end
  base = base:gsub("[\128-\255]+", "-"):gsub("[^%w%-_]+", "-"):gsub("%-+", "-"):gsub("^[-_]+", ""):gsub("[-_]+$", "")
  if base == "" then base = "upload" end
  local wanted = mime and MIME_EXT[mime]
  ext = ext and ext:lower()
  if wanted and not (ext == wanted or (wanted == "jpg" and ext == "jpeg")) then ext = wanted end
  return base:sub(1, 120) .. (ext and "." .. ext or "")
end

local function read_head(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local head = f:read(32) or ""
  f:close()
  return head
end

local IMAGE_TYPES = {["image/jpeg"] = true, ["image/png"] = true, ["image/webp"] = true, ["image/gif"] = true}

-- Runs wpl.media.optimize on an image unless optimize = false (per call, else per site): sized
-- for the web, metadata (GPS!) dropped. Returns {data=, filename=, mime=}; nil when it is not
-- an image we transform; nil, err when the image is damaged or too large: then nothing is
-- uploaded, rather than the original with its metadata.
local function optimized(site, opts, mime)
  local optimize = opts.optimize
  if optimize == nil then optimize = site.optimize_images end
  if optimize == false or not IMAGE_TYPES[mime] then return nil end
  local ok, images = pcall(require, "wpl.media")
  if not ok then return nil end
  local settings = {max_size = opts.max_size, quality = opts.quality, format = opts.format}
  local out, err
  if opts.path then
    out, err = images.optimize(opts.path, settings)
  else
    out, err = images.optimize_bytes(opts.data, opts.filename or "upload", settings)
  end
  if not out then return nil, err end
  return out
end

-- upload(site, {path= | data=, filename=, mime=, alt_text=, caption=, title=, post=, description=,
--               optimize=, max_size=, quality=, format=})
function M.upload(site, opts)
  local new_error = require("wpl.wp").new_error
  if (opts.path == nil) == (opts.data == nil) then error("upload_media: give either path or data", 3) end
  local head, source_name
  if opts.path then
    local err
    head, err = read_head(opts.path)
    if not head then return nil, new_error("read", "cannot read image " .. tostring(opts.path) .. ": " .. err) end
    source_name = opts.path
  else
    if type(opts.data) ~= "string" then error("upload_media: data must be a string", 3) end
    head = opts.data:sub(1, 32)
    source_name = opts.filename
  end
  local ext = (opts.filename or source_name or ""):match("%.(%w+)$")
  local mime = opts.mime or M.sniff(head) or (ext and EXT_MIME[ext:lower()])
  if not mime then
    return nil, new_error("unknown_type", ("cannot tell the type of %s: give mime = ..."):format(source_name or "the data"))
  end
  local data, path = opts.data, opts.path
  local out, oerr = optimized(site, opts, mime)
  if oerr then return nil, oerr end
  if out then
    data, path, mime = out.data, nil, out.mime
    source_name = opts.filename or out.filename or source_name
  end
  local filename = M.safe_filename(opts.filename or source_name, mime)
  local query = {alt_text = opts.alt_text, caption = opts.caption, title = opts.title,
                 description = opts.description, post = opts.post}
  local item, err = site:request("POST", "/wp/v2/media", {
    body_file = path, body = data, content_type = mime, query = query, idempotent = false,
    headers = {["Content-Disposition"] = ('attachment; filename="%s"'):format(filename)},
    timeout = opts.timeout or math.max(site.timeout, 120),
  })
  if not item then
    if err.code == "rest_upload_sideload_error" or err.code == "rest_upload_file_type" then
      err.message = ("WordPress refused %s (%s): %s"):format(filename, mime, err.message)
    end
    return nil, err
  end
  return item
end

return M
