-- Fuzz target: front matter, GFM, block and HTML output with image URLs rewritten.
local md = require "wpl.markdown"
return function(s)
  md.to_html(s)
  local doc = md.parse(s, {format = "blocks"})
  if doc then
    local map = {}
    for i, img in ipairs(doc.images) do map[img.src] = {url = "https://x/" .. i, id = i} end
    md.render(doc, {format = "blocks", images = map})
    md.render(doc, {format = "html"})
  end
end
