-- Fuzz target: template compile and render (with partials, lists, nested tables).
local template = require "wpl.template"
local data = {a = 1, b = "<b>", list = {1, "two", {x = 3}}, nested = {deep = {v = "x"}}, f = false, e = {}}
return function(s)
  local t = template.compile(s, {name = "fuzz", partials = {p = "{{a}}{{> q}}", q = "{{b}}"}})
  if t then t:render(data) end
end
