-- The main job: a Text2World generation with the built-in default model
-- (random weights: see lua/orrery/default_model.lua), written to a video.
-- usage: orrery scripts/demo.lua [OUT.mp4] [SEED]
local text2world = require "orrery.text2world"
local result = text2world.generate { out = arg[1] or "orrery-demo.mp4", seed = tonumber(arg[2]) }
print(("wrote %s: %d frames of %dx%d in %.1f s of CPU time (random weights: structured noise, not a world)")
  :format(result.path, result.frames, result.width, result.height, result.seconds))
