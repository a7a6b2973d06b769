-- Cosmos-Transfer1 with two controls weighted over space and time: the edges
-- of the input hold at first and fade out, depth holds only inside an
-- ellipse. Built-in model (random weights: the result shows the pipeline).
-- usage: orrery scripts/transfer.lua [OUT.mp4] [STEPS]
local orrery = require "orrery"
local control, model = orrery.control, orrery.transfer.default_model()
local scene = orrery.scene { frames = model.frames, height = model.height, width = model.width }
local r = orrery.transfer {
  model = model, input = scene.rgb, prompt = "a red ball rolls across a tiled plaza at dusk",
  steps = tonumber(arg[2]) or 35, out = arg[1] or "orrery-transfer.mp4",
  controls = {
    edge = { weight = control.keyframes { [0] = 1, [model.frames - 1] = 0 } },
    depth = { input = scene.depth, weight = control.ellipse { center = { 0.5, 0.65 }, radius = { 0.3, 0.25 },
      feather = 0.08 } },
  },
}
print(("wrote %s in %.1f s"):format(r.path, r.seconds))
orrery.transfer.show(r)
