-- wpl.markdown against the real local WordPress: a post made of the block markup of a
-- Markdown document that uses every supported element is stored unchanged and parses, on
-- the server, into exactly the expected blocks with nothing left outside a block.
local t = require "testing"
local md = require "wpl.markdown"

-- A tiny real image, written by PHP's GD (the testbed has php-gd).
local function png_bytes()
  local path = os.tmpname()
  assert(os.execute(("php -r '$i=imagecreatetruecolor(40,30); imagefilledrectangle($i,0,0,39,29,imagecolorallocate($i,200,80,20)); imagepng($i, $argv[1]);' %s"):format(t.shell_quote(path))))
  local f = assert(io.open(path, "rb"))
  local bytes = f:read("a")
  f:close()
  os.remove(path)
  return bytes
end

local DOCUMENT = table.concat({
  "---",
  "slug: markdown-blocks",
  "tags: [markdown]",
  "---",
  "# Every Markdown element",
  "",
  "Intro with *em*, **strong**, `code [x]`, ~~strike~~, a [link](https://wordpress.org \"WP\"),",
  "an autolink https://example.com and an inline ![dot](photo.png) image.",
  "",
  "## A level two heading",
  "",
  "### A level three heading",
  "",
  "- plain item",
  "- [x] task item",
  "  - nested item",
  "",
  "3. third",
  "4. fourth",
  "",
  "> A quoted paragraph.",
  ">",
  "> Another one.",
  "",
  "```lua",
  "print(\"<b>\" .. \"[gallery]\")",
  "```",
  "",
  "| Left | Center | Right |",
  "|:-----|:------:|------:|",
  "| 1    | **2**  | 3     |",
  "",
  "---",
  "",
  "![A photo](photo.png \"Photo title\")",
  "",
  "<div class=\"raw\">Raw <em>HTML</em></div>",
  "",
}, "\n")

t.test("every element is stored as valid blocks and parsed back by WordPress", function()
  local site = t.site()
  local parsed = assert(md.parse(DOCUMENT))
  t.eq(parsed.title, "Every Markdown element")
  t.eq(#parsed.images, 1)
  t.eq(parsed.images[1].src, "photo.png")

  local item = assert(site:upload_media{data = png_bytes(), filename = "x.png", alt_text = parsed.images[1].alt})
  local content = assert(md.render(parsed, {images = {["photo.png"] = {url = item.source_url, id = item.id}}}))
  t.ok(content:find(("<!-- wp:image {\"id\":%d,\"sizeSlug\":\"large\"} -->"):format(item.id), 1, true), content)

  local post = assert(site:create_post{title = t.unique(parsed.title .. " "), content = content, status = "draft"})
  t.eq(post.content.raw, content, "WordPress stores the markup unchanged")

  local result = assert(site:request("GET", "/wpl-test/v1/parse-blocks", {query = {post = post.id}}))
  t.eq(#result.invalid, 0, "no content outside block comments")
  t.eq(table.concat(result.names, " "), table.concat({
    "core/paragraph", "core/heading", "core/heading", "core/list", "core/list", "core/quote",
    "core/code", "core/table", "core/separator", "core/image", "core/html",
  }, " "))
  local b = {} -- the named blocks; the others are the blank lines between them
  for _, block in ipairs(result.blocks) do
    if type(block.blockName) == "string" then
      b[#b + 1] = block
    else
      t.ok(not block.innerHTML:find("%S"), "only whitespace between blocks")
    end
  end
  t.eq(next(b[2].attrs), nil, "an h2 has no attributes (level 2 is the default)")
  t.eq(b[3].attrs.level, 3)
  t.eq(b[4].innerBlocks, 2, "list items are inner list-item blocks")
  t.eq(b[5].attrs.ordered, true)
  t.eq(b[5].attrs.start, 3)
  t.eq(b[6].innerBlocks, 2, "the quote's paragraphs are inner blocks")
  t.eq(b[10].attrs.id, item.id)
  t.eq(b[10].attrs.sizeSlug, "large")

  -- leaf blocks: the HTML between the delimiters is what the editor's save() writes
  t.eq(b[2].innerHTML, "\n<h2>A level two heading</h2>\n")
  t.eq(b[7].innerHTML, "\n<pre class=\"wp-block-code\"><code>print(\"&lt;b&gt;\" .. \"&#91;gallery]\")</code></pre>\n")
  t.eq(b[9].innerHTML, "\n<hr class=\"wp-block-separator has-alpha-channel-opacity\"/>\n")
  t.eq(b[10].innerHTML, ("\n<figure class=\"wp-block-image size-large\"><img src=\"%s\" alt=\"A photo\" class=\"wp-image-%d\" title=\"Photo title\"/></figure>\n")
       :format(item.source_url, item.id))
  t.eq(b[11].innerHTML, "\n<div class=\"raw\">Raw <em>HTML</em></div>\n")
  t.ok(b[1].innerHTML:find("<img src=\"" .. item.source_url .. "\" alt=\"dot\" class=\"wp-image-" .. item.id .. "\">", 1, true),
       "the inline image points at the upload")

  -- rendered by WordPress: the blocks are consumed, the shortcode in the code block is not run
  local rendered = post.content.rendered
  t.ok(not rendered:find("<!-- wp:", 1, true), "do_blocks consumed the delimiters")
  t.ok(rendered:find("[gallery]", 1, true) or rendered:find("&#91;gallery]", 1, true), "shortcode left as text")
  t.ok(rendered:find("<table>", 1, true) and rendered:find("wp-block-quote", 1, true))
end)

t.test("the html format is plain HTML that WordPress keeps as classic content", function()
  local site = t.site()
  local html = assert(md.render("Para\n\n- a\n- b", {format = "html"}))
  local post = assert(site:create_post{title = t.unique("Markdown html "), content = html, status = "draft"})
  t.eq(post.content.raw, html)
  local result = assert(site:request("GET", "/wpl-test/v1/parse-blocks", {query = {post = post.id}}))
  t.eq(#result.names, 0, "no blocks: classic content")
end)

t.finish()
