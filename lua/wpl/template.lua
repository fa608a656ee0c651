-- wpl.template: mustache-style templates for posts.
--
--   local tpl = assert(template.compile("<h2>{{title}}</h2>{{#tags}}<i>{{.}}</i>{{/tags}}"))
--   local html = assert(tpl:render{title = "Fish & Chips", tags = {"food", "uk"}})
--
--   {{name}}       HTML-escaped value (dotted names walk tables: {{author.name}}; {{.}} is the
--                  current item)
--   {{{name}}}     the value as it is (also {{& name}})
--   {{#name}}..{{/name}}  rendered for each item of a list, once for a true value or a table
--                  (which becomes the current context), never for false/nil/empty list
--   {{^name}}..{{/name}}  rendered only when name is false, nil or an empty list
--   {{> partial}}  another template: from opts.partials, else a file beside the template
--   {{! comment }}
--
-- Templates compile once and are cached (by text, and by path and modification time). Errors
-- name the template and the line.
local html = require "wpl.html"
local fs = require "wpl.fs"
local errors = require "wpl.error"

local M = {}
local Template = {}
Template.__index = Template

local MAX_CACHE = 256
local cache, cache_size = {}, 0 -- source text .. "\0" .. name -> template

local function template_error(name, line, message)
  return errors.new{code = "template_error", message = ("%s:%d: %s"):format(name, line, message),
                    template = name, line = line}
end

local function line_at(source, pos)
  local _, n = source:sub(1, pos - 1):gsub("\n", "")
  return n + 1
end

-- Parses source into a tree of nodes: strings, and {kind=, name=, line=, children=}.
local function parse(source, name)
  local root = {children = {}}
  local stack = {root}
  local pos = 1
  while true do
    local open = source:find("{{", pos, true)
    local top = stack[#stack]
    if not open then
      if pos <= #source then top.children[#top.children + 1] = source:sub(pos) end
      break
    end
    if open > pos then top.children[#top.children + 1] = source:sub(pos, open - 1) end
    local line = line_at(source, open)
    local triple = source:sub(open, open + 2) == "{{{"
    local close_tag = triple and "}}}" or "}}"
    local close = source:find(close_tag, open + (triple and 3 or 2), true)
    if not close then return nil, template_error(name, line, "'{{' is never closed") end
    local inner = source:sub(open + (triple and 3 or 2), close - 1)
    pos = close + #close_tag
    local sigil, rest = inner:match("^%s*([#^/>!&]?)%s*(.-)%s*$")
    if triple then sigil = "&" end
    if sigil ~= "!" and rest == "" then return nil, template_error(name, line, "empty tag") end
    if sigil ~= "!" and not rest:match("^[%w_%.%-]+$") then
      return nil, template_error(name, line, ("invalid name '%s'"):format(rest))
    end
    -- a section, comment or partial tag alone on its line leaves no blank line behind
    if sigil == "#" or sigil == "^" or sigil == "/" or sigil == "!" or sigil == ">" then
      local line_begin = open
      while line_begin > 1 and source:sub(line_begin - 1, line_begin - 1) ~= "\n" do line_begin = line_begin - 1 end
      local prefix = source:sub(line_begin, open - 1)
      local eol = source:find("\n", pos, true)
      local suffix = source:sub(pos, (eol or #source + 1) - 1)
      if prefix:match("^[ \t]*$") and suffix:match("^[ \t]*\r?$") then
        local last = top.children[#top.children]
        if #prefix > 0 and type(last) == "string" then
          top.children[#top.children] = last:sub(1, #last - #prefix)
        end
        pos = (eol or #source) + 1
      end
    end
    if sigil == "#" or sigil == "^" then
      local node = {kind = sigil == "#" and "section" or "inverted", name = rest, line = line, children = {}}
      top.children[#top.children + 1] = node
      stack[#stack + 1] = node
    elseif sigil == "/" then
      if top == root then return nil, template_error(name, line, ("'{{/%s}}' closes nothing"):format(rest)) end
      if top.name ~= rest then
        return nil, template_error(name, line, ("'{{/%s}}' closes '{{#%s}}' (line %d)"):format(rest, top.name, top.line))
      end
      stack[#stack] = nil
    elseif sigil == ">" then
      top.children[#top.children + 1] = {kind = "partial", name = rest, line = line}
    elseif sigil ~= "!" then
      top.children[#top.children + 1] = {kind = sigil == "&" and "raw" or "var", name = rest, line = line}
    end
  end
  if #stack > 1 then
    local open = stack[#stack]
    return nil, template_error(name, open.line, ("'{{#%s}}' is never closed"):format(open.name))
  end
  return root.children
end

-- Looks a (dotted) name up through the context stack, innermost first.
local function lookup(contexts, name)
  if name == "." then return contexts[#contexts] end
  local first, rest = name:match("^([^%.]+)%.?(.*)$")
  local value
  for i = #contexts, 1, -1 do
    local ctx = contexts[i]
    if type(ctx) == "table" and ctx[first] ~= nil then
      value = ctx[first]
      break
    end
  end
  for part in rest:gmatch("[^%.]+") do
    if type(value) ~= "table" then return nil end
    value = value[part]
  end
  if type(value) == "function" then value = value(contexts[#contexts]) end
  return value
end

local function is_list(v)
  return type(v) == "table" and (v[1] ~= nil or next(v) == nil)
end

local function to_text(v)
  if v == nil or v == false then return "" end
  if math.type(v) == "float" and v == math.floor(v) and v > -1e15 and v < 1e15 then
    return string.format("%d", v)
  end
  return tostring(v)
end

function Template:_render_nodes(nodes, contexts, out, depth)
  if depth > 64 then error(template_error(self.name, 1, "partials or sections nested deeper than 64 levels"), 0) end
  for _, node in ipairs(nodes) do
    if type(node) == "string" then
      out[#out + 1] = node
    elseif node.kind == "var" then
      out[#out + 1] = html.escape(to_text(lookup(contexts, node.name)))
    elseif node.kind == "raw" then
      out[#out + 1] = to_text(lookup(contexts, node.name))
    elseif node.kind == "section" then
      local v = lookup(contexts, node.name)
      if is_list(v) then
        for _, item in ipairs(v) do
          contexts[#contexts + 1] = item
          self:_render_nodes(node.children, contexts, out, depth + 1)
          contexts[#contexts] = nil
        end
      elseif v then
        contexts[#contexts + 1] = v
        self:_render_nodes(node.children, contexts, out, depth + 1)
        contexts[#contexts] = nil
      end
    elseif node.kind == "inverted" then
      local v = lookup(contexts, node.name)
      if not v or (is_list(v) and v[1] == nil) then
        self:_render_nodes(node.children, contexts, out, depth + 1)
      end
    elseif node.kind == "partial" then
      local partial, err = self:_partial(node.name)
      if not partial then error(template_error(self.name, node.line, err), 0) end
      partial:_render_nodes(partial.nodes, contexts, out, depth + 1)
    end
  end
end

function Template:_partial(pname)
  local given = self.partials and self.partials[pname]
  if getmetatable(given) == Template then return given end
  if type(given) == "string" then
    local t, err = M.compile(given, {name = pname, partials = self.partials, dir = self.dir})
    if not t then return nil, tostring(err) end
    return t
  end
  if self.dir then
    for _, ext in ipairs({".mustache", ".html", ""}) do
      local path = fs.join(self.dir, pname .. ext)
      if fs.exists(path) then
        local t, err = M.load(path, {partials = self.partials})
        if not t then return nil, tostring(err) end
        return t
      end
    end
  end
  return nil, ("partial '%s' not found"):format(pname)
end

-- tpl:render(data) -> text | nil, err
function Template:render(data)
  local out = {}
  local ok, err = pcall(self._render_nodes, self, self.nodes, {data}, out, 0)
  if not ok then
    if errors.is(err) then return nil, err end
    error(err, 0)
  end
  return table.concat(out)
end

-- template.compile(source, {name = "for errors", partials = {name = text|template}, dir =})
--   -> template | nil, err
function M.compile(source, opts)
  opts = opts or {}
  if type(source) ~= "string" then error("template.compile: source must be a string", 2) end
  local name = opts.name or "template"
  local key = source .. "\0" .. name .. "\0" .. tostring(opts.dir)
  local cached = not opts.partials and cache[key]
  if cached then return cached end
  local nodes, err = parse(source, name)
  if not nodes then return nil, err end
  local t = setmetatable({nodes = nodes, name = name, partials = opts.partials, dir = opts.dir}, Template)
  if not opts.partials then
    if cache_size >= MAX_CACHE then cache, cache_size = {}, 0 end
    cache[key], cache_size = t, cache_size + 1
  end
  return t
end

local file_cache = {} -- path -> {mtime=, template=}

-- template.load(path, {partials =}) -> template | nil, err. Partials default to files in the
-- same folder ({{> header}} -> header.mustache).
function M.load(path, opts)
  opts = opts or {}
  local mtime, err = fs.mtime(path)
  if not mtime then return nil, err end
  local hit = file_cache[path]
  if hit and hit.mtime == mtime and not opts.partials then return hit.template end
  local source
  source, err = fs.read(path)
  if not source then return nil, err end
  local t
  t, err = M.compile(source, {name = path, partials = opts.partials, dir = fs.dirname(path)})
  if not t then return nil, err end
  if not opts.partials then file_cache[path] = {mtime = mtime, template = t} end
  return t
end

-- template.render(source, data, opts) -> text | nil, err
function M.render(source, data, opts)
  local t, err = M.compile(source, opts)
  if not t then return nil, err end
  return t:render(data)
end

return M
