-- wpl.html: escaping and entity decoding (WordPress returns term names and titles with
-- HTML entities: "News &amp; Events", "Rock &#8217;n&#8217; Roll").
local M = {}

local named = {
  amp = "&", lt = "<", gt = ">", quot = '"', apos = "'", nbsp = "\u{a0}",
  ndash = "\u{2013}", mdash = "\u{2014}", lsquo = "\u{2018}", rsquo = "\u{2019}",
  ldquo = "\u{201c}", rdquo = "\u{201d}", hellip = "\u{2026}", copy = "\u{a9}", reg = "\u{ae}",
  trade = "\u{2122}", euro = "\u{20ac}", laquo = "\u{ab}", raquo = "\u{bb}", middot = "\u{b7}",
  times = "\u{d7}", deg = "\u{b0}", eacute = "é", egrave = "è", agrave = "à", uuml = "ü",
  ouml = "ö", auml = "ä", szlig = "ß", ccedil = "ç",
}

local function codepoint(n)
  if not n or n <= 0 or n > 0x10FFFF or (n >= 0xD800 and n <= 0xDFFF) then return nil end
  return utf8.char(n)
end

-- Decodes named (a common set), decimal and hex character references; unknown ones stay.
function M.decode(s)
  if type(s) ~= "string" or not s:find("&", 1, true) then return s end
  return (s:gsub("&(#?[xX]?)(%w+);", function(kind, body)
    if kind == "" then return named[body] end
    if kind == "#" then return codepoint(tonumber(body, 10)) end
    return codepoint(tonumber(body, 16))
  end))
end

local escapes = {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;"}

-- Escapes text for HTML content and attribute values.
function M.escape(s)
  return (tostring(s):gsub("[&<>\"']", escapes))
end

local BLOCK_TAGS = {p = true, br = true, div = true, li = true, ul = true, ol = true, tr = true, td = true,
                    th = true, h1 = true, h2 = true, h3 = true, h4 = true, h5 = true, h6 = true,
                    blockquote = true, pre = true, hr = true, title = true, body = true, head = true}

-- Text of an HTML fragment: tags dropped (block tags leave a space), entities decoded,
-- white space folded.
function M.text(s)
  s = tostring(s):gsub("<%s*/?%s*(%w*)[^>]*>", function(tag) return BLOCK_TAGS[tag:lower()] and " " or "" end)
  return (M.decode(s):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

return M
