-- wpl.wp pieces that need no WordPress: URL rules, type sniffing, file names, entities; and
-- (FAKE SERVER, tests/fake/server.py) a WordPress older than 5.6 without /batch/v1, an HTML
-- error page with status 200, and a site that is not WordPress.
local t = require "testing"
local wp = require "wpl.wp"
local media = require "wpl.wp.media"
local html = require "wpl.html"

t.test("site URLs are normalised", function()
  t.eq(wp.normalize_url("example.com"), "https://example.com")
  t.eq(wp.normalize_url("  https://Example.com/blog///  "), "https://example.com/blog")
  t.eq(wp.normalize_url("https://example.com:8443/wp/wp-json/"), "https://example.com:8443/wp")
  t.eq(wp.normalize_url("http://localhost:8080/"), "http://localhost:8080")
  t.eq(wp.normalize_url("http://127.0.0.1:8080"), "http://127.0.0.1:8080")
  t.eq(wp.normalize_url("http://example.com", true), "http://example.com")
end)

t.test("unsafe or impossible site URLs are refused", function()
  local _, err = wp.normalize_url("http://example.com")
  t.eq(err.code, "insecure_url")
  t.ok(err.message:find("allow_insecure", 1, true))
  _, err = wp.normalize_url("ftp://example.com")
  t.eq(err.code, "invalid_url")
  _, err = wp.normalize_url("file:///etc/passwd")
  t.eq(err.code, "invalid_url")
  _, err = wp.normalize_url("https://admin:pw@example.com")
  t.eq(err.code, "invalid_url")
  _, err = wp.normalize_url("")
  t.eq(err.code, "invalid_url")
  _, err = wp.connect{url = "http://example.org"}
  t.eq(err.code, "insecure_url")
end)

t.test("programmer errors raise", function()
  t.raises(function() wp.connect{url = "http://127.0.0.1:1", seo = "bogus"} end, "seo must be")
  t.raises(function() wp.connect{url = "http://127.0.0.1:1", user = 5} end, "user must be a string")
end)

t.test("file types are sniffed from magic bytes", function()
  t.eq(media.sniff("\255\216\255\224\0\16JFIF"), "image/jpeg")
  t.eq(media.sniff("\137PNG\r\n\26\n...."), "image/png")
  t.eq(media.sniff("GIF89a...."), "image/gif")
  t.eq(media.sniff("RIFF\0\0\0\0WEBPVP8 "), "image/webp")
  t.eq(media.sniff("%PDF-1.7"), "application/pdf")
  t.eq(media.sniff("hello"), nil)
end)

t.test("upload file names become safe ASCII with the right extension", function()
  t.eq(media.safe_filename("/tmp/Fête à Noël.JPG", "image/jpeg"), "F-te-No-l.jpg")
  t.eq(media.safe_filename("photo.png", "image/jpeg"), "photo.jpg")
  t.eq(media.safe_filename('a"b;c.jpeg', "image/jpeg"), "a-b-c.jpeg")
  t.eq(media.safe_filename("日本.gif", "image/gif"), "upload.gif")
  t.eq(media.safe_filename("../../etc/passwd", nil), "passwd")
  t.eq(media.safe_filename("noext", "image/png"), "noext.png")
end)

t.test("HTML entities decode", function()
  t.eq(html.decode("News &amp; Events"), "News & Events")
  t.eq(html.decode("Rock &#8217;n&#x2019; Roll &hellip;"), "Rock ’n’ Roll …")
  t.eq(html.decode("&bogus; &#0; &amp"), "&bogus; &#0; &amp")
  t.eq(html.escape([[<a href="x">&'</a>]]), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;")
  t.eq(html.text("<p>Hello <b>you</b>&nbsp;!</p>"), "Hello you\u{a0}!")
end)

local base, stop = t.fake_server(60)

t.test("a site without /batch/v1 gets single requests, in order (FAKE: WordPress < 5.6)", function()
  local site = assert(wp.connect{url = base .. "/oldwp"})
  t.eq(site.rest_base, base .. "/oldwp/wp-json")
  local results = assert(site:batch{
    {method = "POST", path = "/wp/v2/posts", body = {title = "one"}},
    {method = "POST", path = "/wp/v2/posts", body = {title = "two"}},
    {method = "POST", path = "/wp/v2/nothing", body = {}},
  })
  t.eq(#results, 3)
  t.ok(results[1].ok and results[2].ok)
  t.eq(results[1].body.title.raw, "one")
  t.eq(results[2].body.title.raw, "two")
  t.ok(results[2].body.id ~= results[1].body.id, "two posts (sent concurrently, so in any order)")
  t.eq(results[3].ok, false)
  t.eq(results[3].error.code, "rest_no_route")
end)

t.test("an HTML page with status 200 is an error quoting it (FAKE)", function()
  local site = assert(wp.connect{url = base .. "/oldwp"})
  local data, err = site:request("GET", "/wpl-fake/html200")
  t.eq(data, nil)
  t.eq(err.code, "not_json")
  t.ok(err.message:find("Error establishing a database connection", 1, true), err.message)
end)

t.test("a site that is not WordPress is named as such (FAKE)", function()
  local site, err = wp.connect{url = base .. "/plain"}
  t.eq(site, nil)
  t.eq(err.code, "not_wordpress")
  t.ok(err.message:find("does not look like a WordPress site", 1, true))
  _, err = wp.connect{url = "http://127.0.0.1:9"}
  t.eq(err.code, "connect")
end)

stop()
t.finish()
