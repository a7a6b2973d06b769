--- # Authoring a control map
---
--- Cosmos-Transfer steers generation with control videos (edges, blur, depth, segmentation), each
--- weighted by a **spatiotemporal weight map** `[T, H, W]`: how strongly the control holds at each frame
--- and pixel. Both are plain tensors, made here with orrery's ops from a synthetic scene.
local T, H, W = 8, 48, 64

--- ## A scene
--- A bright disc moving left to right over a gradient: frames `[T, H, W, 3]` in u8.
local ys = orrery.linspace(-1, 1, H):reshape({ H, 1 }):expand({ H, W })
local xs = orrery.linspace(-1.33, 1.33, W):reshape({ 1, W }):expand({ H, W })
local video = orrery.zeros({ 3, T, H, W })
for f = 0, T - 1 do
  local cx = -0.9 + 1.8 * f / (T - 1)
  local dx, dy = xs - cx, ys * 1
  local disc = (((dx * dx + dy * dy) * -40 + 4):sigmoid()) * 2 - 1    -- ~1 inside, ~-1 outside
  local frame = video:select(1, f)
  frame:select(0, 0):copy(orrery.maximum(disc, xs * 0.3))
  frame:select(0, 1):copy(orrery.maximum(disc, ys * 0.3))
  frame:select(0, 2):copy(disc)
end
show(video)

--- ## An edge control
--- Sobel filters as a 2-D convolution over the grey frames; the magnitude, scaled to [-1, 1].
local grey = video:mean(0):unsqueeze(1)                      -- [T, 1, H, W]: frames as a batch
local sobel = orrery.tensor { { { { -1, 0, 1 }, { -2, 0, 2 }, { -1, 0, 1 } } },
                              { { { -1, -2, -1 }, { 0, 0, 0 }, { 1, 2, 1 } } } }   -- [2, 1, 3, 3]
local grad = orrery.zeros({ T, 2, H, W })
local p = require("ffi").new("orr_conv_params")
orrery.C.orr_conv_params_init(p)
p.padding[1], p.padding[2] = 1, 1
orrery.check(orrery.C.orr_conv2d(grad.ptr, grey.ptr, sobel.ptr, nil, p))
local gx, gy = grad:select(1, 0), grad:select(1, 1)
local edges = (gx * gx + gy * gy):sqrt()
edges = edges / edges:max() * 2 - 1
show(orrery.cat({ edges:unsqueeze(0), edges:unsqueeze(0), edges:unsqueeze(0) }, 0))

--- ## A blur control
--- Down to a quarter and back up, bilinear: the low frequencies only.
local frames = video:transpose(0, 1):contiguous()            -- [T, 3, H, W]
local blurred = frames:resize({ H / 4, W / 4 }, "bilinear"):resize({ H, W }, "bilinear")
show(blurred:transpose(0, 1))

--- ## The weight map
--- Edges hold on the left half and fade in over time; the ramp across the image is a product of a
--- spatial profile and a keyframed temporal schedule.
local over_time = orrery.schedule("0:(0.2), 4:(1.0), 7:(1.0)", "smooth"):values(T)
local spatial = (xs * -6):sigmoid()                           -- 1 on the left, 0 on the right
local weights = orrery.zeros({ T, H, W })
for f = 0, T - 1 do weights:select(0, f):copy(spatial * over_time[f + 1]) end
print(weights)
plot { title = "edge weight over time (left edge)", xlabel = "frame", series = { { y = over_time } } }
show(orrery.cat({ weights:unsqueeze(0) * 2 - 1, weights:unsqueeze(0) * 0 - 1, weights:unsqueeze(0) * -2 + 1 }, 0))
