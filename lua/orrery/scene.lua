-- scene.lua — a procedural scene together with its depth and segmentation
-- videos, made from tensor ops. Demos, notebooks and tests of the control
-- pipeline need control videos, and orrery ships no depth or segmentation
-- model and downloads nothing.
--
--   local s = orrery.scene { frames = 33, height = 256, width = 256 }
--   s.rgb, s.depth, s.seg       -- u8 frames [T,H,W,3]
--
-- A ball rolls from left to right over a checkered floor under a sky. The
-- depth video is inverse depth scaled to 0..255 (near is bright), as Depth
-- Anything's videos are; the segmentation paints each object one flat
-- colour (s.colors: sky, floor, ball).
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local media = require "orrery.media"

local M = {}

M.colors = { sky = { 70, 130, 180 }, floor = { 128, 64, 128 }, ball = { 220, 20, 60 } }

local HORIZON = 0.4 -- the horizon's height, as a fraction of the frame from the top

-- A soft step from 0 to 1 across 0, about `width` wide.
local function step(t, width) return (t * (4 / width)):sigmoid() end

local function put(video, f, channels, scale)
  for c = 0, 2 do video:select(0, c):select(0, f):copy(channels[c + 1] * scale - 1) end
end

function M.make(opts)
  opts = opts or {}
  local T, H, W = opts.frames or 33, opts.height or 256, opts.width or 256
  for k, v in pairs { frames = T, height = H, width = W } do
    if type(v) ~= "number" or v < 1 or v % 1 ~= 0 then
      core.arg_error("scene", k, "a positive whole number", core.describe_value(v), 2)
    end
  end
  local out = {}
  tensor.scope(function()
    local ys = tensor.linspace(0, 1, H):reshape({ H, 1 }):expand({ H, W })
    local xs = tensor.linspace(0, 1, W):reshape({ 1, W }):expand({ H, W })
    local below = (ys - HORIZON):relu()
    local floor = step(ys - HORIZON, 0.01)
    -- the floor's inverse depth grows linearly below the horizon; its
    -- checkers are squares on the ground plane seen in perspective (values
    -- past [-1, 1] are clipped by media.from_model)
    local floor_near = below / (1 - HORIZON)
    local u, v = (xs - 0.5) / (below + 0.02), 1 / (below + 0.02)
    local checker = step(((u * 2.5):sin() * (v * 0.6):sin()), 0.05)
    local rgb, depth, seg = tensor.empty({ 3, T, H, W }), tensor.empty({ 3, T, H, W }), tensor.empty({ 3, T, H, W })
    local radius, cy, aspect = 0.13, 0.68, W / H
    for f = 0, T - 1 do
      local cx = 0.2 + 0.6 * (T > 1 and f / (T - 1) or 0)
      local dx, dy = (xs - cx) * aspect, ys - cy
      local inside = (dx * dx + dy * dy) * -1 + radius * radius
      local ball = step(inside, 0.002)
      local bulge = inside:relu():sqrt()
      local near = ball * ((cy + radius - HORIZON) / (1 - HORIZON) + bulge) + (1 - ball) * floor_near * floor
      put(depth, f, { near, near, near }, 2)
      local shade = checker * 0.5 + 0.3
      local sky = 1 - floor
      local lit = bulge * 3 + 0.4
      local r = sky * (0.45 - ys * 0.3) + floor * shade * 0.9
      local g = sky * (0.6 - ys * 0.3) + floor * shade
      local b = sky * (0.95 - ys * 0.2) + floor * shade * 0.8
      put(rgb, f, { r * (1 - ball) + ball * lit, g * (1 - ball) + ball * lit * 0.25, b * (1 - ball) + ball * lit * 0.2 },
        2)
      local colors = {}
      for c = 1, 3 do
        colors[c] = (sky * M.colors.sky[c] + floor * M.colors.floor[c]) * (1 - ball) + ball * M.colors.ball[c]
      end
      put(seg, f, colors, 2 / 255)
    end
    out.rgb = media.from_model(rgb):keep()
    out.depth = media.from_model(depth):keep()
    out.seg = media.from_model(seg):keep()
  end)
  out.frames, out.height, out.width = T, H, W
  return out
end

setmetatable(M, { __call = function(_, opts) return M.make(opts) end })

return M
