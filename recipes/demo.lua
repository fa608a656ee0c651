-- demo.lua: publishes the sample posts in recipes/demo/ (Markdown with front matter, images,
-- categories and tags) and prints their URLs. It is markdown_site.lua run on that folder, so
-- running it again changes nothing, and editing a file there updates its post.
--
--   WPL_URL=https://example.com WPL_USER=admin WPL_APP_PASSWORD='xxxx xxxx ...' wpl run recipes/demo.lua
--   wpl run recipes/demo.lua --site blog
--
-- (tests/run.sh demo does this for a throwaway local WordPress.)
local here = arg[0]:match("^(.*)/[^/]*$") or "."
local args = {[0] = here .. "/markdown_site.lua", "--set", "dir=" .. here .. "/demo", "--set", "namespace=wpl-demo",
              "--set", "links=all"}
for _, a in ipairs(arg) do args[#args + 1] = a end
arg = args
dofile(arg[0])
