-- Media through wpl.wp against the real local WordPress: one request per upload with its
-- metadata, types from magic bytes, safe names, and featured images.
local t = require "testing"
local http = require "wpl.http"

-- A tiny real image, written by PHP's GD (the testbed has php-gd).
local function make_png(path)
  assert(os.execute(("php -r '$i=imagecreatetruecolor(40,30); imagefilledrectangle($i,0,0,39,29,imagecolorallocate($i,20,120,200)); imagepng($i, $argv[1]);' %s"):format(t.shell_quote(path))))
end

t.test("upload with alt text, caption, title and parent in one request", function()
  local site = t.site()
  local post = assert(site:create_post{title = t.unique("Media parent ")})
  local path = os.tmpname() .. ".png"
  make_png(path)
  local alt = t.unique("alt-")
  local log = t.access_log_since(alt)
  local item = assert(site:upload_media{path = path, alt_text = alt, caption = "A caption", title = "A title", post = post.id})
  os.remove(path)
  t.eq(item.mime_type, "image/png")
  t.eq(item.alt_text, alt)
  t.eq(item.caption.raw, "A caption")
  t.eq(item.title.raw, "A title")
  t.eq(item.post, post.id)
  t.eq(#log(), 1, "a single request carried the metadata")
  local res = assert(http.request{url = item.source_url})
  t.eq(res.status, 200)
  t.eq(res.headers["content-type"], "image/png")
end)

t.test("the type comes from the bytes, the name is made safe", function()
  local site = t.site()
  local path = os.tmpname()
  make_png(path)
  local f = assert(io.open(path, "rb"))
  local bytes = f:read("a")
  f:close()
  os.remove(path)
  local item = assert(site:upload_media{data = bytes, filename = "Café \"Noël\"; x.jpg"})
  t.eq(item.mime_type, "image/png", "PNG bytes named .jpg")
  t.ok(item.source_url:match("/Caf%-No%-l%-x[%w-]*%.png$"), item.source_url)
end)

t.test("a disallowed file type is a clear error, not retried", function()
  local site = t.site()
  local _, err = site:upload_media{data = "#!/bin/sh\necho hi\n", filename = "run.sh", mime = "application/x-sh"}
  t.ok(err.code == "rest_upload_sideload_error" or err.code == "rest_upload_file_type" or err.code == "rest_upload_invalid_type", err.code)
  t.ok(err.message:find("refused", 1, true) or err.message:find("not allowed", 1, true), err.message)
  _, err = site:upload_media{path = "/nonexistent/photo.jpg"}
  t.eq(err.code, "read")
end)

t.test("featured_image uploads and attaches in one call; the image is on the post", function()
  local site = t.site()
  local path = os.tmpname() .. ".png"
  make_png(path)
  local post = assert(site:create_post{title = t.unique("Featured "), status = "publish", featured_image = path})
  os.remove(path)
  t.ok(post.featured_media > 0)
  local item = assert(site:request("GET", "/wp/v2/media/" .. post.featured_media))
  t.eq(item.media_type, "image")
  local page = assert(http.request{url = post.link})
  t.eq(page.status, 200)
  t.ok(page.body:find(item.source_url:match("[^/]+$"):gsub("%.png$", ""), 1, true), "the theme shows the featured image")
end)

t.finish()
