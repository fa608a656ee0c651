-- Fuzz target: CSV with a header row, and without one.
local csv = require "wpl.csv"
return function(s)
  csv.parse(s)
  csv.parse(s, {header = false, separator = ";"})
end
