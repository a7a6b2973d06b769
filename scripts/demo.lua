-- The main job: a Text2World generation with the built-in default model
-- (random weights: see lua/orrery/default_model.lua), written to a video and
-- shown in the viewer when there is a display.
-- usage: orrery scripts/demo.lua [OUT.mp4] [SEED]
local orrery = require "orrery"
local result = orrery.text2world { out = arg[1] or "orrery-demo.mp4", seed = tonumber(arg[2]) }
local t, h, w = result.video:size(0), result.video:size(1), result.video:size(2)
print(("wrote %s: %d frames of %dx%d in %.1f s (random weights: structured noise, not a world)")
  :format(result.path, t, w, h, result.seconds))
local view = require "orrery.view"
local function set(name) return (os.getenv(name) or "") ~= "" end
if view.available() and (set("DISPLAY") or set("WAYLAND_DISPLAY")) then
  view(result.path)
else
  print("no display: open the video with any player, or `build/orrery view " .. result.path .. "`")
end
