-- wpl.markdown: front matter (YAML 1.2 core schema), GFM to HTML, and the WordPress 6.1
-- block markup of every node type, byte for byte.
local t = require "testing"
local md = require "wpl.markdown"
local json = require "wpl.json"
local errors = require "wpl.error"

local function blocks(text, opts)
  opts = opts or {}
  return assert(md.render(text, opts))
end

------------------------------------------------------------------------ front matter

t.test("front matter: the usual post fields with their types", function()
  local meta, body = assert(md.front_matter(table.concat({
    "---",
    "title: \"Hello: World\"",
    "date: 2024-05-01",
    "slug: hello-world",
    "status: draft",
    "categories:",
    "  - News",
    "  - Tech",
    "tags: [lua, wordpress]",
    "excerpt: >",
    "  A short",
    "  summary.",
    "featured_image: images/cover.png",
    "meta_description: 'Described: here'",
    "seo:",
    "  noindex: false",
    "  nested: {depth: 2}",
    "sticky: true",
    "menu_order: 3",
    "rating: 4.5",
    "custom_thing: anything else",
    "---",
    "Body text",
    "",
  }, "\n")))
  t.eq(meta.title, "Hello: World")
  t.eq(meta.date, "2024-05-01", "dates stay strings")
  t.eq(meta.slug, "hello-world")
  t.eq(meta.status, "draft")
  t.eq(#meta.categories, 2)
  t.eq(meta.categories[2], "Tech")
  t.eq(meta.tags[1], "lua")
  t.eq(meta.excerpt, "A short summary.\n")
  t.eq(meta.featured_image, "images/cover.png")
  t.eq(meta.meta_description, "Described: here")
  t.eq(meta.seo.noindex, false)
  t.eq(meta.seo.nested.depth, 2)
  t.eq(meta.sticky, true)
  t.eq(math.type(meta.menu_order), "integer")
  t.eq(meta.menu_order, 3)
  t.eq(math.type(meta.rating), "float")
  t.eq(meta.rating, 4.5)
  t.eq(meta.custom_thing, "anything else")
  t.eq(body, "Body text\n")
end)

t.test("front matter: YAML 1.2 core schema scalars", function()
  local meta = assert(md.front_matter(table.concat({
    "---",
    "yes_word: yes", "no_word: no", "on_word: on", "upper: TRUE", "capital: False",
    "quoted_true: 'true'", "quoted_number: \"42\"", "null_word: null", "tilde: ~", "empty:",
    "hex: 0x1F", "octal: 0o17", "negative: -12", "plus: +7", "exp: 1e3", "dot: .5",
    "inf: .inf", "minus_inf: -.Inf", "nan: .nan", "big: 123456789012345678901234567890",
    "str_tag: !!str 12", "int_tag: !!int \"12\"", "float_tag: !!float 3", "version: 1.10.2",
    "list_with_null: [a, null, b]", "time: 12:30",
    "---", "",
  }, "\n")))
  t.eq(meta.yes_word, "yes")
  t.eq(meta.no_word, "no")
  t.eq(meta.on_word, "on")
  t.eq(meta.upper, true)
  t.eq(meta.capital, false)
  t.eq(meta.quoted_true, "true")
  t.eq(meta.quoted_number, "42")
  t.eq(meta.null_word, nil, "a null value leaves the key out")
  t.eq(meta.tilde, nil)
  t.eq(meta.empty, nil)
  t.eq(meta.hex, 31)
  t.eq(meta.octal, 15)
  t.eq(meta.negative, -12)
  t.eq(meta.plus, 7)
  t.eq(meta.exp, 1000.0)
  t.eq(math.type(meta.exp), "float")
  t.eq(meta.dot, 0.5)
  t.eq(meta.inf, math.huge)
  t.eq(meta.minus_inf, -math.huge)
  t.ok(meta.nan ~= meta.nan, "nan")
  t.eq(meta.big, "123456789012345678901234567890", "too big for 64 bits: kept as text")
  t.eq(meta.str_tag, "12")
  t.eq(meta.int_tag, 12)
  t.eq(math.type(meta.float_tag), "float")
  t.eq(meta.version, "1.10.2")
  t.eq(#meta.list_with_null, 3)
  t.eq(meta.list_with_null[2], json.null, "null inside a list is json.null")
  t.eq(meta.time, "12:30")
end)

t.test("front matter: none, empty, BOM, CRLF and the ... closer", function()
  local meta, body = assert(md.front_matter("# Just Markdown\n\n---\nnot: yaml\n---\n"))
  t.eq(next(meta), nil)
  t.eq(body, "# Just Markdown\n\n---\nnot: yaml\n---\n", "front matter only at the very start")
  meta, body = assert(md.front_matter("---\n---\nx"))
  t.eq(next(meta), nil)
  t.eq(body, "x")
  meta, body = assert(md.front_matter("\239\187\191---\r\ntitle: BOM\r\n...\r\nbody\r\n"))
  t.eq(meta.title, "BOM")
  t.eq(body, "body\r\n")
  meta, body = assert(md.front_matter("---  \nk: v\n---"))
  t.eq(meta.k, "v")
  t.eq(body, "")
  meta, body = assert(md.front_matter("---"))
  t.eq(next(meta), nil, "a lone --- without a newline is a thematic break")
  t.eq(body, "---")
end)

t.test("front matter: invalid YAML is an error with the document's line and column", function()
  local meta, err = md.front_matter("---\ntitle: ok\ntags: [a, b\nslug: x\n---\nbody")
  t.eq(meta, nil)
  t.ok(errors.is(err))
  t.eq(err.code, "invalid_front_matter")
  t.eq(err.line, 4)
  t.eq(err.column, 5)
  t.eq(err.message, "invalid front matter at line 4, column 5: did not find expected ',' or ']' " ..
       "(while parsing a flow sequence at line 3)")

  _, err = md.front_matter("---\ntitle: a\n  bad: indent\n---\n")
  t.eq(err.code, "invalid_front_matter")
  t.eq(err.line, 3)
  t.eq(err.column, 6)
  t.eq(err.message, "invalid front matter at line 3, column 6: mapping values are not allowed in this context")

  _, err = md.front_matter("---\ntitle: a\ntitle: b\n---\n")
  t.eq(err.code, "invalid_front_matter")
  t.ok(err.message:find("duplicate key title", 1, true), err.message)
  t.eq(err.line, 3)

  _, err = md.front_matter("---\n- a\n- b\n---\n")
  t.ok(err.message:find("must be a mapping", 1, true), err.message)

  _, err = md.front_matter("---\ntitle: never closed\n")
  t.eq(err.code, "invalid_front_matter")
  t.eq(err.line, 1)
  t.ok(err.message:find("no --- or ... line closes", 1, true), err.message)

  _, err = md.front_matter("---\nn: !!int abc\n---\n")
  t.ok(err.message:find("is not a valid !!int", 1, true), err.message)

  _, err = md.front_matter("---\n? [a, b]\n: complex\n---\n")
  t.ok(err.message:find("a key must be a plain value", 1, true), err.message)

  local ok, perr = md.parse("---\nx: [\n---\n# T\n")
  t.eq(ok, nil)
  t.eq(perr.code, "invalid_front_matter", "parse() reports it too")
end)

t.test("front matter: anchors and aliases; an alias bomb is capped", function()
  local meta = assert(md.front_matter("---\nbase: &b {size: 3, tags: [x]}\ncopy: *b\nname: &n Ann\nagain: *n\n---\n"))
  t.eq(meta.copy.size, 3)
  t.eq(meta.copy, meta.base, "an alias is the anchored value itself")
  t.eq(meta.again, "Ann")

  local _, err = md.front_matter("---\na: *nowhere\n---\n")
  t.ok(err.message:find("unknown alias *nowhere", 1, true), err.message)
  _, err = md.front_matter("---\na: &a [1, *a]\n---\n")
  t.ok(err.message:find("unknown alias *a", 1, true), "a recursive alias is refused")

  local lines = {"---", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"}
  for i = 1, 9 do
    local p = "*a" .. (i - 1)
    lines[#lines + 1] = ("a%d: &a%d [%s]"):format(i, i, (p .. ", "):rep(9) .. p)
  end
  lines[#lines + 1] = "---"
  _, err = md.front_matter(table.concat(lines, "\n") .. "\n")
  t.eq(err.code, "invalid_front_matter")
  t.ok(err.message:find("more than 100000 values", 1, true), err.message)

  local deep = "---\nk: " .. ("["):rep(300) .. ("]"):rep(300) .. "\n---\n"
  _, err = md.front_matter(deep)
  t.ok(err.message:find("nested deeper than", 1, true), err.message)
end)

------------------------------------------------------------------------ to_html

t.test("to_html: GFM tables, strikethrough, autolinks, task lists; raw HTML passes", function()
  local html = assert(md.to_html("| a | b |\n|---|:-:|\n| 1 | 2 |\n\n~~gone~~ www.example.com\n\n- [x] done\n- [ ] todo\n\n<div>raw</div>\n"))
  t.eq(html, table.concat({
    "<table>", "<thead>", "<tr>", "<th>a</th>", "<th align=\"center\">b</th>", "</tr>", "</thead>",
    "<tbody>", "<tr>", "<td>1</td>", "<td align=\"center\">2</td>", "</tr>", "</tbody>", "</table>",
    "<p><del>gone</del> <a href=\"http://www.example.com\">www.example.com</a></p>",
    "<ul>", "<li><input type=\"checkbox\" checked=\"\" disabled=\"\" /> done</li>",
    "<li><input type=\"checkbox\" disabled=\"\" /> todo</li>", "</ul>", "<div>raw</div>", "",
  }, "\n"))
  t.eq(assert(md.to_html("<div>raw</div>\n\n[x](javascript:alert(1))", {safe = true})),
       "<!-- raw HTML omitted -->\n<p><a href=\"\">x</a></p>\n")
  t.eq(assert(md.to_html("\"Quotes\" -- and...", {smart = true})), "<p>\226\128\156Quotes\226\128\157 \226\128\147 and\226\128\166</p>\n")
  t.eq(assert(md.to_html("bad \255\254 bytes")), "<p>bad \255\254 bytes</p>\n", "invalid UTF-8 passes through")
end)

------------------------------------------------------------------------ block markup

t.test("blocks: paragraph with inline formatting", function()
  t.eq(blocks("Some *em*, **strong**, `co[de]`, ~~old~~, [link](https://x.org/?a=1&b=2 \"T\") and a\nsoft break  \nhard."),
       "<!-- wp:paragraph -->\n<p>Some <em>em</em>, <strong>strong</strong>, <code>co&#91;de]</code>, <s>old</s>, " ..
       "<a href=\"https://x.org/?a=1&amp;b=2\" title=\"T\">link</a> and a soft break<br>hard.</p>\n<!-- /wp:paragraph -->")
  t.eq(blocks("a\u{a0}b \"q\" & 1 < 2"), "<!-- wp:paragraph -->\n<p>a&nbsp;b \"q\" &amp; 1 &lt; 2</p>\n<!-- /wp:paragraph -->",
       "escaped as the editor's rich text writes it")
  t.eq(blocks("A https://auto.example/path link"),
       "<!-- wp:paragraph -->\n<p>A <a href=\"https://auto.example/path\">https://auto.example/path</a> link</p>\n<!-- /wp:paragraph -->")
end)

t.test("blocks: headings (level 2 is the default, no attributes)", function()
  t.eq(blocks("## Two"), "<!-- wp:heading -->\n<h2>Two</h2>\n<!-- /wp:heading -->")
  t.eq(blocks("### Three *x*"), "<!-- wp:heading {\"level\":3} -->\n<h3>Three <em>x</em></h3>\n<!-- /wp:heading -->")
  t.eq(blocks("Six\n---", {}), "<!-- wp:heading -->\n<h2>Six</h2>\n<!-- /wp:heading -->", "setext")
  t.eq(blocks("###### Six"), "<!-- wp:heading {\"level\":6} -->\n<h6>Six</h6>\n<!-- /wp:heading -->")
end)

t.test("blocks: lists are list blocks of list-item blocks, nested lists inner blocks", function()
  t.eq(blocks("- one\n- two\n  - nested"), table.concat({
    "<!-- wp:list -->",
    "<ul><!-- wp:list-item -->",
    "<li>one</li>",
    "<!-- /wp:list-item -->",
    "",
    "<!-- wp:list-item -->",
    "<li>two<!-- wp:list -->",
    "<ul><!-- wp:list-item -->",
    "<li>nested</li>",
    "<!-- /wp:list-item --></ul>",
    "<!-- /wp:list --></li>",
    "<!-- /wp:list-item --></ul>",
    "<!-- /wp:list -->",
  }, "\n"))
  t.eq(blocks("1. a\n2. b"), "<!-- wp:list {\"ordered\":true} -->\n<ol><!-- wp:list-item -->\n<li>a</li>\n" ..
       "<!-- /wp:list-item -->\n\n<!-- wp:list-item -->\n<li>b</li>\n<!-- /wp:list-item --></ol>\n<!-- /wp:list -->")
  t.eq(blocks("3. c"), "<!-- wp:list {\"ordered\":true,\"start\":3} -->\n<ol start=\"3\"><!-- wp:list-item -->\n" ..
       "<li>c</li>\n<!-- /wp:list-item --></ol>\n<!-- /wp:list -->")
  t.eq(blocks("0. z"), "<!-- wp:list {\"ordered\":true,\"start\":0} -->\n<ol start=\"0\"><!-- wp:list-item -->\n" ..
       "<li>z</li>\n<!-- /wp:list-item --></ol>\n<!-- /wp:list -->")
end)

t.test("blocks: task lists, loose items and block content inside an item", function()
  t.eq(blocks("- [x] done\n- [ ] todo"), "<!-- wp:list -->\n<ul><!-- wp:list-item -->\n<li>\226\152\145 done</li>\n" ..
       "<!-- /wp:list-item -->\n\n<!-- wp:list-item -->\n<li>\226\152\144 todo</li>\n<!-- /wp:list-item --></ul>\n<!-- /wp:list -->")
  t.eq(blocks("- first\n\n  second\n\n  ```\n  x < y\n  ```"),
       "<!-- wp:list -->\n<ul><!-- wp:list-item -->\n<li>first<br><br>second<pre><code>x &lt; y</code></pre></li>\n" ..
       "<!-- /wp:list-item --></ul>\n<!-- /wp:list -->")
end)

t.test("blocks: quote holds inner blocks", function()
  t.eq(blocks("> one\n>\n> ## two"), table.concat({
    "<!-- wp:quote -->",
    "<blockquote class=\"wp-block-quote\"><!-- wp:paragraph -->",
    "<p>one</p>",
    "<!-- /wp:paragraph -->",
    "",
    "<!-- wp:heading -->",
    "<h2>two</h2>",
    "<!-- /wp:heading --></blockquote>",
    "<!-- /wp:quote -->",
  }, "\n"))
end)

t.test("blocks: code is escaped, shortcodes and lone URLs defused", function()
  t.eq(blocks("```lua\nif a < b and c then print(\"[gallery]\") end\n  https://youtu.be/x  \n```"),
       "<!-- wp:code -->\n<pre class=\"wp-block-code\"><code>if a &lt; b and c then print(\"&#91;gallery]\") end\n" ..
       "  https:&#47;&#47;youtu.be/x  </code></pre>\n<!-- /wp:code -->")
  t.eq(blocks("    indented & code"),
       "<!-- wp:code -->\n<pre class=\"wp-block-code\"><code>indented &amp; code</code></pre>\n<!-- /wp:code -->")
end)

t.test("blocks: table in a figure, alignment as WordPress writes it", function()
  t.eq(blocks("| A | *B* | C |\n|:--|:-:|--:|\n| 1 | 2 | 3 |"),
       "<!-- wp:table -->\n<figure class=\"wp-block-table\"><table><thead><tr>" ..
       "<th class=\"has-text-align-left\" data-align=\"left\">A</th>" ..
       "<th class=\"has-text-align-center\" data-align=\"center\"><em>B</em></th>" ..
       "<th class=\"has-text-align-right\" data-align=\"right\">C</th></tr></thead><tbody><tr>" ..
       "<td class=\"has-text-align-left\" data-align=\"left\">1</td>" ..
       "<td class=\"has-text-align-center\" data-align=\"center\">2</td>" ..
       "<td class=\"has-text-align-right\" data-align=\"right\">3</td></tr></tbody></table></figure>\n<!-- /wp:table -->")
  t.eq(blocks("| h |\n|---|"), "<!-- wp:table -->\n<figure class=\"wp-block-table\"><table><thead><tr><th>h</th></tr>" ..
       "</thead></table></figure>\n<!-- /wp:table -->", "no empty tbody")
end)

t.test("blocks: separator and raw HTML", function()
  t.eq(blocks("***"), "<!-- wp:separator -->\n<hr class=\"wp-block-separator has-alpha-channel-opacity\"/>\n<!-- /wp:separator -->")
  t.eq(blocks("<div class=\"x\">\n<b>raw</b>\n</div>"), "<!-- wp:html -->\n<div class=\"x\">\n<b>raw</b>\n</div>\n<!-- /wp:html -->")
  t.eq(blocks("<div>raw</div>\n\nkept <b>inline</b>", {safe = true}),
       "<!-- wp:paragraph -->\n<p>kept inline</p>\n<!-- /wp:paragraph -->", "safe drops raw HTML")
end)

t.test("blocks: images become image blocks; URLs and ids come from the map", function()
  local images = {["img/a.png"] = {url = "https://wp.test/up/a.png", id = 42}, ["b.jpg"] = "https://cdn.test/b.jpg"}
  t.eq(blocks("![An *alt*](img/a.png \"Tip\")", {images = images}),
       "<!-- wp:image {\"id\":42,\"sizeSlug\":\"large\"} -->\n<figure class=\"wp-block-image size-large\">" ..
       "<img src=\"https://wp.test/up/a.png\" alt=\"An alt\" class=\"wp-image-42\" title=\"Tip\"/></figure>\n<!-- /wp:image -->")
  t.eq(blocks("![b](b.jpg)", {images = images}),
       "<!-- wp:image -->\n<figure class=\"wp-block-image\"><img src=\"https://cdn.test/b.jpg\" alt=\"b\"/></figure>\n<!-- /wp:image -->")
  t.eq(blocks("[![c](c.gif)](https://example.com)"),
       "<!-- wp:image {\"linkDestination\":\"custom\"} -->\n<figure class=\"wp-block-image\"><a href=\"https://example.com\">" ..
       "<img src=\"c.gif\" alt=\"c\"/></a></figure>\n<!-- /wp:image -->", "not in the map: the src stays")
  t.eq(blocks("[![c](c.gif)](javascript:alert(1))", {safe = true}),
       "<!-- wp:image -->\n<figure class=\"wp-block-image\"><img src=\"c.gif\" alt=\"c\"/></figure>\n<!-- /wp:image -->",
       "a dangerous link is dropped in safe mode")
  t.eq(blocks("Text ![a](img/a.png) inline", {images = images}),
       "<!-- wp:paragraph -->\n<p>Text <img src=\"https://wp.test/up/a.png\" alt=\"a\" class=\"wp-image-42\"> inline</p>\n<!-- /wp:paragraph -->")
  t.eq(blocks("![a](img/a.png)", {images = images, image_size = "full"}),
       "<!-- wp:image {\"id\":42,\"sizeSlug\":\"full\"} -->\n<figure class=\"wp-block-image size-full\">" ..
       "<img src=\"https://wp.test/up/a.png\" alt=\"a\" class=\"wp-image-42\"/></figure>\n<!-- /wp:image -->")
end)

t.test("blocks are joined by a blank line; html format drops the delimiters", function()
  local text = "# T\n\nPara\n\n- x\n\n> q"
  t.eq(blocks(text), "<!-- wp:heading {\"level\":1} -->\n<h1>T</h1>\n<!-- /wp:heading -->\n\n" ..
       "<!-- wp:paragraph -->\n<p>Para</p>\n<!-- /wp:paragraph -->\n\n" ..
       "<!-- wp:list -->\n<ul><!-- wp:list-item -->\n<li>x</li>\n<!-- /wp:list-item --></ul>\n<!-- /wp:list -->\n\n" ..
       "<!-- wp:quote -->\n<blockquote class=\"wp-block-quote\"><!-- wp:paragraph -->\n<p>q</p>\n" ..
       "<!-- /wp:paragraph --></blockquote>\n<!-- /wp:quote -->")
  t.eq(blocks(text, {format = "html"}),
       "<h1>T</h1>\n<p>Para</p>\n<ul><li>x</li></ul>\n<blockquote class=\"wp-block-quote\"><p>q</p></blockquote>")
  t.eq(blocks(""), "")
end)

------------------------------------------------------------------------ parse

t.test("parse: meta, title from the first H1 (removed), images, html and blocks", function()
  local doc = table.concat({
    "---", "slug: a-post", "tags: [x]", "---",
    "Intro ![one](one.png \"First\")", "",
    "# The *Title*", "",
    "![two](two.png)", "",
    "![one again](one.png)", "",
    "# Second H1 stays",
  }, "\n")
  local p = assert(md.parse(doc, {format = "blocks", images = {["two.png"] = {url = "https://w/two.png", id = 5}}}))
  t.eq(p.meta.slug, "a-post")
  t.eq(p.title, "The Title")
  t.eq(p.body, "Intro ![one](one.png \"First\")\n\n\n![two](two.png)\n\n![one again](one.png)\n\n# Second H1 stays")
  t.eq(#p.images, 2, "each src once")
  t.eq(p.images[1].src, "one.png")
  t.eq(p.images[1].alt, "one")
  t.eq(p.images[1].title, "First")
  t.eq(p.images[2].src, "two.png")
  t.eq(p.images[2].title, nil)
  t.ok(not p.html:find("The <em>Title</em>", 1, true), "the title H1 is not in the content")
  t.ok(p.html:find("<h1>Second H1 stays</h1>", 1, true))
  t.ok(p.blocks:find("<!-- wp:image {\"id\":5,\"sizeSlug\":\"large\"} -->", 1, true))
  t.eq(assert(md.render(p, {images = {["two.png"] = {url = "https://w/two.png", id = 5}}})), p.blocks,
       "render(parsed) is what parse made")
  t.eq(assert(md.render(p, {format = "html"})), assert(md.parse(doc)).html)
end)

t.test("parse: meta.title wins and the H1 stays; title_from_h1 = false", function()
  local p = assert(md.parse("---\ntitle: From meta\n---\n# Heading\n\ntext\n"))
  t.eq(p.title, "From meta")
  t.eq(p.html, "<h1>Heading</h1>\n<p>text</p>")
  t.eq(p.blocks, nil, "blocks only with format = \"blocks\"")
  p = assert(md.parse("# Heading\ntext", {title_from_h1 = false}))
  t.eq(p.title, nil)
  t.eq(p.body, "# Heading\ntext")
  p = assert(md.parse("Setext title\n============\ntext"))
  t.eq(p.title, "Setext title")
  t.eq(p.body, "text")
  p = assert(md.parse("---\ntitle: 1984\n---\n"))
  t.eq(p.title, "1984")
  p = assert(md.parse("# \"Smart\" -- title", {smart = true}))
  t.eq(p.title, "\226\128\156Smart\226\128\157 \226\128\147 title")
end)

------------------------------------------------------------------------ limits and misuse

t.test("inputs above 16 MiB are refused; deep nesting does not crash", function()
  local huge = ("x"):rep(md.max_input + 1)
  for _, fn in ipairs{md.to_html, md.front_matter, md.parse, md.render} do
    local v, err = fn(huge)
    t.eq(v, nil)
    t.eq(err.code, "too_large")
    t.ok(err.message:find("16 MiB", 1, true), err.message)
  end
  local quotes = assert(md.render((">"):rep(50000) .. " deep"))
  t.ok(quotes:find("<p>deep</p>", 1, true))
  local emphasis = assert(md.render(("*a "):rep(20000) .. ("b* "):rep(20000), {format = "html"}))
  t.ok(#emphasis > 0)
  local lists = assert(md.render(("- "):rep(5000) .. "x"))
  t.ok(lists:find("<li>x</li>", 1, true))
end)

t.test("misuse raises", function()
  t.raises(function() md.render("x", {image_urls = {}}) end, "unknown option 'image_urls'")
  t.raises(function() md.render("x", {format = "xml"}) end, "option 'format' must be")
  t.raises(function() md.render("x", {safe = "yes"}) end, "option 'safe' must be a boolean")
  t.raises(function() md.render("x", {images = "a.png"}) end, "option 'images' must be a table")
  t.raises(function() md.render("![a](a.png)", {images = {["a.png"] = 3}}) end, "images[a.png] must be")
  t.raises(function() md.render("![a](a.png)", {images = {["a.png"] = {id = "7"}}}) end, "positive integer")
  t.raises(function() md.render("x", {image_size = "Big Size"}) end, "option 'image_size'")
  t.raises(function() md.render({}) end, "string 'body'")
  t.raises(function() md.parse(nil) end, "string expected")
  t.raises(function() md.to_html("x", {format = "blocks"}) end, "unknown option 'format'")
end)

t.finish()
