--- # Control maps with orrery.control
---
--- Cosmos-Transfer1 weighs each control (edges, blur, depth, segmentation, ...) by a **weight map**
--- `[T, H, W]`: how strongly that control holds at each frame and pixel. `orrery.control` describes such
--- maps in a few lines (constants, keyframes, shapes with soft edges, gradients, masks from pictures,
--- videos and segmentations, Lua functions) and combines them with arithmetic. A map is only a
--- description until it is rendered at a size: `control.render(map, T, H, W)` gives the f32 tensor,
--- `control.save` writes the `.pt` the official spec's `"control_weight"` reads.
---
--- Coordinates: `x` and `y` run from 0 to 1 across the frame (x right, y down), at pixel centres; time
--- is the frame `t = 0 .. T-1`, and `u = t / (T-1)` runs from 0 to 1 over the clip.
local control = orrery.control
local T, H, W = 17, 72, 128
local scene = orrery.scene { frames = T, height = H, width = W }
show(scene.rgb)

--- A small helper for the pictures below: weights from 0 to 1 as black → red → yellow, laid over the
--- scene's frames (or alone).
local function heat(w, frames)
  local r, g = orrery.minimum(w * 2, 1), (w * 2 - 1):relu()
  local rgb = orrery.cat({ r:unsqueeze(0), g:unsqueeze(0), (w * 0):unsqueeze(0) }, 0) * 2 - 1
  if frames then rgb = rgb * 0.65 + orrery.media.to_model(frames) * 0.35 end
  return rgb
end

--- ## Curves over time
--- `control.keyframes` takes `{[frame] = value}` and interpolates `linear` (the default), `smooth`
--- (smoothstep, flat at every key) or `hold`; with `time = "normalized"` the keys are fractions of the
--- clip. A curve is a map too: it renders as `[T, 1, 1]`.
local curves = {
  linear = control.keyframes { [0] = 1, [8] = 0.2, [16] = 0.6 },
  smooth = control.keyframes({ [0] = 1, [8] = 0.2, [16] = 0.6 }, "smooth"),
  hold = control.keyframes({ [0] = 1, [8] = 0.2, [16] = 0.6 }, "hold"),
  normalized = control.keyframes({ [0] = 0, [0.5] = 1, [1] = 0 }, { time = "normalized" }),
}
local series = {}
for _, name in ipairs { "linear", "smooth", "hold", "normalized" } do
  local values = control.render(curves[name], T, 1, 1):reshape({ T })
  series[#series + 1] = { y = values:totable(), label = name }
end
plot { title = "keyframes", xlabel = "frame", series = series }

--- ## Shapes with soft edges
--- Rectangles, ellipses and polygons are 1 inside and 0 outside; `feather` is the width of the ramp
--- across the edge, centred on it, in the frame's units.
local shapes = control.max(
  control.rectangle { box = { 0.05, 0.1, 0.3, 0.5 }, feather = 0.05 },
  control.ellipse { center = { 0.5, 0.3 }, radius = { 0.12, 0.2 }, feather = 0.1 },
  control.polygon { points = { { 0.7, 0.1 }, { 0.95, 0.2 }, { 0.9, 0.6 }, { 0.75, 0.45 } } },
  control.radial { center = { 0.25, 0.8 }, radius = { 0.15, 0.2 }, inner = 0.3 },
  control.gradient { from = { 0.55, 0 }, to = { 1, 0 } } * control.rectangle { box = { 0.55, 0.7, 1, 0.95 } })
print(shapes)
show(heat(control.render(shapes, 1, H, W)))

--- ## Shapes that move
--- Any point or size may be keyframed (keyframes of pairs), a `control.curve(function(t, u) ...)`, or an
--- `orrery.schedule`. This ellipse follows the scene's ball (which rolls from x = 0.2 to 0.8 at height
--- 0.68) and breathes as it goes; each frame is computed at that frame's parameters.
local follow = control.ellipse {
  center = control.keyframes { [0] = { 0.2, 0.68 }, [T - 1] = { 0.8, 0.68 } },
  radius = { control.curve(function(t, u) return 0.12 + 0.04 * math.sin(u * 6.28) end), 0.25 },
  feather = 0.08,
}
show(heat(control.render(follow, T, H, W), scene.rgb))

--- ## Masks from pictures, videos and segmentations
--- `control.mask` reads grey levels (a PNG, a video, frames or a tensor; `threshold` makes them 0 or 1);
--- `control.segment` is 1 where a segmentation holds a colour or an id. The scene's segmentation paints
--- the ball crimson; its edges are blended, hence the tolerance (the sum of the channels' differences).
local ball = control.segment(scene.seg, { color = orrery.scene.colors.ball, tolerance = 60 })
local near = control.mask(scene.depth, { threshold = 0.6 })
show(heat(control.render(control.max(ball, near * 0.5), T, H, W), scene.rgb))

--- ## A Lua function of (t, y, x)
--- For anything else: one call per pixel and frame, in LuaJIT. Plain arithmetic compiles into the loop
--- (a full 121×704×1280 map, 109M calls, in about half a second); functions that allocate cost far more.
--- `static = true` calls it for one frame, `size = {h, w}` at a smaller size.
local ripples = control.fn(function(t, y, x)
  local dx, dy = x - 0.5, (y - 0.5) * H / W
  return 0.5 + 0.5 * math.cos(math.sqrt(dx * dx + dy * dy) * 60 - t * 0.8)
end)
show(heat(control.render(ripples, T, H, W)))

--- ## Arithmetic: two controls
--- Maps and numbers combine with `+ - * /`, `control.min`, `max`, `clamp` and `invert`. The usual
--- recipe: edge control that fades out over the clip, and depth control only inside an ellipse
--- around the ball. The Transfer pipeline renders each at the control video's size and normalises
--- them where they sum past 1, as the official code does.
local edge = control.keyframes { [0] = 1, [T - 1] = 0 } * control.invert(follow * 0.5)
local depth = follow * 0.8 + 0.1
print("edge:  ", edge)
print("depth: ", depth)
local ew, dw = control.render(edge, T, H, W), control.render(depth, T, H, W)
print(ew)
print(dw)
show(heat(ew, scene.rgb))
show(heat(dw, scene.rgb))

--- ## Saving for the official spec
--- `control.save` renders the map and writes it as `torch.save` would (a `[T,H,W]` float32 tensor in a
--- zip); the official spec names it as the control's `"control_weight"`. orrery's own checkpoint
--- reader (and the transfer spec's) reads it back.
local path = os.tmpname() .. "_edge_weights.pt"
control.save(edge, path, T, H, W)
local tensors, meta = orrery.checkpoint(path)
print(meta.format, meta.archive_prefix, tensors.tensor)
print(('{"edge": {"control_weight": "%s"}, "depth": {"input_control": "depth.mp4", "control_weight": 0.5}}')
  :format(path))
print("max difference to the render:", (tensors.tensor - ew):abs():max())
os.remove(path)

--- ## Previewing before generating
--- `control.preview({ edge = edge, depth = depth }, "input.mp4")` opens the viewer with one pane per
--- control, each map as a heatmap over the control video (the cursor reads the weight under it). It
--- renders the maps first, so a map with negative values fails here, before any compute is spent:
print(pcall(control.render, edge - 0.5, T, H, W, "edge"))
