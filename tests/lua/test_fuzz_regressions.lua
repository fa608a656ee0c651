-- Every input the fuzzers once tripped on (tests/fuzz/regressions/TARGET) goes again through
-- the same target (tests/fuzz/targets/TARGET.lua), in every build: no crash (ASan in the
-- sanitizer build), no broken invariant.
local t = require "testing"
local fs = require "wpl.fs"
local source = assert(os.getenv("WPL_SOURCE_DIR"), "WPL_SOURCE_DIR unset")

for _, target in ipairs({"json", "template", "markdown", "csv", "http_response"}) do
  t.test("fuzz regressions: " .. target, function()
    local run = dofile(("%s/tests/fuzz/targets/%s.lua"):format(source, target))
    local inputs = {}
    for _, folder in ipairs({"regressions", "corpus"}) do
      local dir = ("%s/tests/fuzz/%s/%s"):format(source, folder, target)
      for _, name in ipairs(assert(fs.list(dir))) do inputs[#inputs + 1] = dir .. "/" .. name end
    end
    t.ok(#inputs > 0, "inputs to replay")
    for _, path in ipairs(inputs) do
      local ok, err = pcall(run, assert(fs.read(path)))
      t.ok(ok or not tostring(err):find("INVARIANT", 1, true), path .. ": " .. tostring(err))
    end
  end)
end

t.finish()
