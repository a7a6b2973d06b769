-- Control maps: every constructor at hand-checked pixels, keyframes and
-- their interpolations, soft edges that fall monotonically across the edge,
-- moving shapes, masks from pictures and frames, segments, Lua functions,
-- arithmetic, the .pt round trip (through orrery's checkpoint reader, the
-- transfer spec's weight reader and, where present, torch itself), and the
-- errors that name the function, the argument or the map.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local orrery = require "orrery"
local control = orrery.control
local ffi = require "ffi"
local C = orrery.C

local tmp = T.tmpname
-- The rendered map as a Lua array of one row: frame f, row y.
local function row(m, T_, H, W, f, y)
  local t = control.render(m, T_, H, W)
  local out = {}
  for x = 0, W - 1 do out[x + 1] = t:get(f, y, x) end
  t:free()
  return out
end

local function near_all(got, want, tol, what)
  T.eq(#got, #want, what .. ": length")
  for i = 1, #want do T.near(got[i], want[i], tol, ("%s [%d]"):format(what, i - 1)) end
end

-- max |a - b| of two renders
local function diff(a, b, T_, H, W)
  local x, y = control.render(a, T_, H, W), control.render(b, T_, H, W)
  local d = (x - y):abs():max()
  x:free()
  y:free()
  return d
end

T.case("constants, numbers and coordinates", function()
  local t = control.render(control.constant(0.3), 2, 3, 4)
  T.eq(table.concat(t:shape(), ","), "2,3,4", "shape [T,H,W]")
  T.eq(t:dtype(), "f32", "f32")
  T.near(t:min(), 0.3, 1e-7, "constant min")
  T.near(t:max(), 0.3, 1e-7, "constant max")
  T.near(control.render(0.5, 1, 2, 2):get(0), 0.5, 0, "a number renders as a constant")
  near_all(row(control.x, 1, 1, 4, 0, 0), { 0.125, 0.375, 0.625, 0.875 }, 1e-7, "x at pixel centres")
  local y = control.render(control.y, 1, 4, 1)
  T.near(y:get(0, 3, 0), 0.875, 1e-7, "y runs down")
  local tt = control.render(control.t, 5, 1, 1)
  T.eq(tt:get(4, 0, 0), 4, "t is the frame")
  local u = control.render(control.u, 5, 1, 1)
  T.eq(u:get(1, 0, 0), 0.25, "u = t / (T - 1)")
  T.eq(control.render(control.u, 1, 1, 1):get(0), 0, "u of one frame")
  T.ok(control.is_map(control.x) and not control.is_map({}) and not control.is_map(3), "is_map")
  T.ok(tostring(control.ellipse { center = { 0.5, 0.5 }, radius = 0.2 }):find("ellipse{center = (0.5, 0.5)", 1, true),
    "maps print what they are")
end)

T.case("keyframes", function()
  local function values(m, n)
    local t = control.render(m, n, 1, 1)
    local out = {}
    for f = 0, n - 1 do out[f + 1] = t:get(f, 0, 0) end
    return out
  end
  near_all(values(control.keyframes { [0] = 1, [4] = 0 }, 6), { 1, 0.75, 0.5, 0.25, 0, 0 }, 1e-7, "linear")
  near_all(values(control.keyframes({ [0] = 1, [4] = 0 }, "smooth"), 5), { 1, 0.84375, 0.5, 0.15625, 0 }, 1e-7,
    "smooth is smoothstep")
  near_all(values(control.keyframes { [0] = 1, [4] = 0, interp = "hold" }, 6), { 1, 1, 1, 1, 0, 0 }, 0, "hold")
  near_all(values(control.keyframes { [2] = 1, [3] = 5 }, 5), { 1, 1, 1, 5, 5 }, 0, "held before and after")
  near_all(values(control.keyframes({ [0] = 0, [1] = 1 }, { time = "normalized" }), 5), { 0, 0.25, 0.5, 0.75, 1 },
    1e-7, "normalized time")
  near_all(values(control.keyframes { [0] = 0, [0.5] = 1, [1] = 0, time = "normalized" }, 5), { 0, 0.5, 1, 0.5, 0 },
    1e-7, "normalized keys in the table")
  near_all(values(control.keyframes "0:(1), 4:(0)", 5), { 1, 0.75, 0.5, 0.25, 0 }, 1e-7, "a schedule string")
  near_all(values(control.keyframes("0:(1), 2:(0)", "hold"), 3), { 1, 1, 0 }, 0, "schedule strings hold too")
  near_all(values(control.curve(function(t, u) return t + u end), 3), { 0, 1.5, 3 }, 1e-7, "curve(fn(t, u))")
  near_all(values(control.curve(orrery.schedule { 3, 2 }), 3), { 3, 2, 2 }, 0, "curve(schedule)")

  T.fails(function() control.keyframes { [-1] = 1 } end, "control.keyframes: the key -1 is not a frame", "negative key")
  T.fails(function() control.keyframes({ [2] = 1 }, { time = "normalized" }) end, "a time from 0 to 1", "key past 1")
  T.fails(function() control.keyframes({ [0] = 1 }, "cubic") end, "interp must be linear, smooth or hold, got 'cubic'",
    "bad interp")
  T.fails(function() control.keyframes {} end, "control.keyframes: no keyframes", "empty")
  T.fails(function() control.keyframes { [0] = 1, [5] = { 1, 2 } } end, "has 2 numbers where key 0 has one number",
    "mixed widths")
  T.fails(function() control.keyframes { [0] = "x" } end, "the value at key 0 must be a number, got 'x'", "bad value")
  T.fails(function() control.render(control.keyframes { [0] = { 0, 0 } }, 2, 2, 2) end, "not a map", "pairs as a map")
end)

T.case("rectangles: hard and soft edges", function()
  local box = control.rectangle { box = { 0.25, 0.25, 0.75, 0.75 } }
  local t = control.render(box, 1, 8, 8)
  T.eq(t:get(0, 2, 2), 1, "centre (0.3125, 0.3125) is inside")
  T.eq(t:get(0, 1, 2), 0, "(0.3125, 0.1875) is outside")
  T.eq(t:get(0, 5, 5), 1, "(0.6875, 0.6875) is inside")
  T.eq(t:get(0, 6, 4), 0, "(0.5625, 0.8125) is outside")
  T.eq(t:sum(), 16, "4 x 4 pixels")
  T.near(diff(box, control.rectangle { center = { 0.5, 0.5 }, size = 0.5 }, 1, 8, 8), 0, 0, "box = center and size")

  -- feathered: 0.5 - (signed distance) / feather, across the left edge at x = 0.25
  local soft = control.rectangle { box = { 0.25, 0, 0.75, 1 }, feather = 0.2 }
  local r = row(soft, 1, 1, 40, 0, 0)
  T.near(r[9], 0.3125, 1e-6, "x = 0.2125 is 0.0375 outside")
  T.near(r[12], 0.6875, 1e-6, "x = 0.2875 is 0.0375 inside")
  T.eq(r[1], 0, "far outside")
  T.eq(r[21], 1, "deep inside")
  for x = 2, 20 do T.ok(r[x] >= r[x - 1], "rises monotonically across the edge at " .. x) end
  for x = 22, 40 do T.ok(r[x] <= r[x - 1], "falls monotonically across the edge at " .. x) end
end)

T.case("ellipses and circles", function()
  local t = control.render(control.ellipse { center = { 0.5, 0.5 }, radius = 0.25 }, 1, 8, 8)
  T.eq(t:get(0, 3, 2), 1, "(0.3125, 0.4375) is inside (|p/r| = 0.79)")
  T.eq(t:get(0, 2, 2), 0, "(0.3125, 0.3125) is outside (|p/r| = 1.06)")
  T.eq(t:sum(), 12, "12 pixels")
  -- soft: exact distances on the axes
  local c = row(control.ellipse { center = { 0.5, 0.5 }, radius = 0.25, feather = 0.1 }, 1, 1, 40, 0, 0)
  T.near(c[31], 0.375, 1e-5, "circle: x = 0.7625 is 0.0125 outside")
  local e = row(control.ellipse { center = { 0.5, 0.5 }, radius = { 0.4, 0.2 }, feather = 0.1 }, 1, 1, 40, 0, 0)
  T.near(e[37], 0.375, 1e-5, "ellipse: x = 0.9125 is 0.0125 past rx")
  T.eq(e[21], 1, "the centre")
  for x = 22, 40 do T.ok(e[x] <= e[x - 1], "falls monotonically outward at " .. x) end
  local col = control.render(control.ellipse { center = { 0.5, 0.5 }, radius = { 0.4, 0.2 }, feather = 0.1 }, 1, 40, 1)
  T.near(col:get(0, 27, 0), 0.625, 1e-5, "ellipse: y = 0.6875 is 0.0125 inside ry")
end)

T.case("polygons", function()
  local square = { { 0.25, 0.25 }, { 0.75, 0.25 }, { 0.75, 0.75 }, { 0.25, 0.75 } }
  local box = control.rectangle { box = { 0.25, 0.25, 0.75, 0.75 } }
  T.eq(diff(control.polygon { points = square }, box, 1, 8, 8), 0, "a square is its rectangle")
  T.near(diff(control.polygon { points = square, feather = 0.1 },
    control.rectangle { box = { 0.25, 0.25, 0.75, 0.75 }, feather = 0.1 }, 1, 16, 24), 0, 1e-5,
    "feathered too: both are exact distances")
  -- an L: the notch at the top right is outside
  local L = control.render(control.polygon { points = { { 0, 0 }, { 0.5, 0 }, { 0.5, 0.5 }, { 1, 0.5 }, { 1, 1 }, { 0, 1 } } },
    1, 4, 4)
  T.eq(L:get(0, 0, 0), 1, "the L's top left")
  T.eq(L:get(0, 0, 3), 0, "the notch")
  T.eq(L:get(0, 3, 3), 1, "the L's bottom right")
  T.eq(L:sum(), 12, "three quarters")
  local tri = control.render(control.polygon { points = { { 0.1, 0.1 }, { 0.9, 0.1 }, { 0.5, 0.9 } } }, 1, 8, 8)
  T.eq(tri:get(0, 1, 1), 1, "inside the triangle near its corner")
  T.eq(tri:get(0, 6, 1), 0, "outside, beside its tip")
  T.fails(function() control.polygon { points = { { 0, 0 }, { 1, 1 } } } end,
    "control.polygon: points must be an array of at least 3 points", "two points")
  T.fails(function() control.polygon { points = { { 0, 0 }, { 1, 1 }, { 0 } } } end, "points[3] must be a point {x, y}",
    "a bad point")
end)

T.case("gradients", function()
  near_all(row(control.gradient { from = { 0, 0 }, to = { 1, 0 } }, 1, 1, 4, 0, 0), { 0.125, 0.375, 0.625, 0.875 },
    1e-6, "along x")
  near_all(row(control.gradient { from = { 0.25, 0 }, to = { 0.75, 0 }, values = { 1, 0.5 } }, 1, 1, 4, 0, 0),
    { 1, 0.875, 0.625, 0.5 }, 1e-6, "clamped ends, values")
  local d = control.render(control.gradient { from = { 0, 0 }, to = { 1, 1 } }, 1, 4, 4)
  T.near(d:get(0, 1, 2), 0.5, 1e-6, "diagonal: (x + y) / 2")
  near_all(row(control.radial { center = { 0.5, 0.5 }, radius = 0.5 }, 1, 1, 4, 0, 0), { 0.25, 0.75, 0.75, 0.25 },
    1e-6, "radial")
  near_all(row(control.radial { center = { 0.5, 0.5 }, radius = 0.5, inner = 0.5 }, 1, 1, 4, 0, 0), { 0.5, 1, 1, 0.5 },
    1e-6, "radial with an inner radius")
  T.fails(function() control.gradient { from = { 0.5, 0.5 }, to = { 0.5, 0.5 } } end, "from and to are the same point",
    "no direction")
  T.fails(function() control.radial { center = { 0.5, 0.5 }, radius = 0.5, inner = 1 } end, "inner is 1; it must be below 1",
    "inner")
end)

T.case("moving shapes", function()
  local moving = control.rectangle { center = control.keyframes { [0] = { 0.25, 0.5 }, [3] = { 0.75, 0.5 } },
    size = { 0.25, 0.5 } }
  local t = control.render(moving, 4, 4, 8)
  local function cols(f)
    local out = {}
    for x = 0, 7 do if t:get(f, 2, x) == 1 then out[#out + 1] = x end end
    return table.concat(out, ",")
  end
  T.eq(cols(0), "1,2", "frame 0 at x = 0.25")
  T.eq(cols(1), "2,3", "frame 1 at x = 0.4167")
  T.eq(cols(3), "5,6", "frame 3 at x = 0.75")
  -- each frame is the static shape at that frame's parameters
  local growing = control.ellipse { center = { 0.5, 0.5 }, radius = control.curve(function(f) return 0.1 + 0.1 * f end),
    feather = 0.05 }
  local g = control.render(growing, 3, 12, 16)
  local still = control.render(control.ellipse { center = { 0.5, 0.5 }, radius = 0.3, feather = 0.05 }, 1, 12, 16)
  T.near((g:narrow(0, 2, 1) - still):abs():max(), 0, 1e-6, "frame 2 is the radius-0.3 ellipse")
  local slid = control.polygon { points = { { 0, 0 }, { 0.5, 0 }, { 0.5, 0.5 }, { 0, 0.5 } },
    offset = { control.keyframes { [0] = 0, [1] = 0.5 }, 0.25 } }
  T.eq(diff(slid * control.keyframes { [0] = 0, [1] = 1, interp = "hold" },
    control.rectangle { box = { 0.5, 0.25, 1, 0.75 } } * control.keyframes { [0] = 0, [1] = 1, interp = "hold" },
    2, 8, 8), 0, "a polygon's offset moves it")
  T.fails(function() control.render(control.ellipse { center = { 0.5, 0.5 }, radius = control.keyframes { [0] = 0.2, [2] = -0.1 } }, 3, 4, 4) end,
    "radius is -0.1 at frame 2; it must be > 0", "a radius that goes negative")
end)

T.case("arithmetic", function()
  local m = (control.x + 1) * 2 - control.y / 2
  local t = control.render(m, 1, 2, 4)
  T.near(t:get(0, 1, 3), (0.875 + 1) * 2 - 0.75 / 2, 1e-6, "(x + 1) * 2 - y / 2")
  T.near(control.render(-control.x + 1, 1, 1, 4):get(0, 0, 0), 0.875, 1e-6, "unary minus")
  T.near(control.render(control.invert(control.x), 1, 1, 4):get(0, 0, 3), 0.125, 1e-6, "invert")
  near_all(row(control.clamp(control.x * 2 - 0.5), 1, 1, 4, 0, 0), { 0, 0.25, 0.75, 1 }, 1e-6, "clamp to [0, 1]")
  near_all(row(control.clamp(control.x * 4, nil, 2), 1, 1, 4, 0, 0), { 0.5, 1.5, 2, 2 }, 1e-6, "clamp above only")
  near_all(row(control.max(control.x, 0.5, control.invert(control.x)), 1, 1, 4, 0, 0), { 0.875, 0.625, 0.625, 0.875 },
    1e-6, "max of three")
  near_all(row(control.min(control.x, 0.5), 1, 1, 4, 0, 0), { 0.125, 0.375, 0.5, 0.5 }, 1e-6, "min")
  local folded = control.constant(2) * 3 + 1
  T.eq(folded._value, 7, "numbers fold")
  -- a spatial map times a temporal curve: each frame the map scaled by the curve
  local spot = control.ellipse { center = { 0.5, 0.5 }, radius = 0.3, feather = 0.1 }
  local fade = control.keyframes { [0] = 1, [2] = 0 }
  local p, s = control.render(spot * fade, 3, 6, 8), control.render(spot, 1, 6, 8)
  T.near((p:narrow(0, 1, 1) - s * 0.5):abs():max(), 0, 1e-7, "frame 1 is the map at half weight")
  T.eq(p:narrow(0, 2, 1):max(), 0, "frame 2 is zero")
  T.near(control.render(0.2 + control.x * 0, 1, 1, 1):get(0), 0.2, 1e-7, "numbers on the left")
  T.fails(function() return control.x + "a" end, "control.add: b must be a map, a number, a tensor or a schedule, got 'a'",
    "a string operand")
  T.fails(function() control.max(control.x) end, "control.max: give at least two maps or numbers, got 1", "max of one")
  T.fails(function() control.clamp(control.x, 1, 0) end, "lo 1 is above hi 0", "clamp bounds")
end)

T.case("masks from pictures and frames", function()
  local grey = orrery.zeros({ 2, 4, 1 }, "u8")
  for i = 0, 7 do grey:set(i, i * 30) end
  local path = tmp(".png")
  orrery.write_png(path, grey)
  local m = control.render(control.mask(path), 3, 2, 4)
  T.near(m:get(2, 1, 3), 210 / 255, 1e-6, "grey levels / 255, every frame")
  T.near(m:get(0, 0, 1), 30 / 255, 1e-6, "pixel (0, 1)")
  local th = control.render(control.mask(path, { threshold = 0.5 }), 1, 2, 4)
  T.eq(th:sum(), 3, "150, 180 and 210 pass 0.5 (127.5)")
  T.eq(th:get(0, 1, 0), 0, "120 / 255 does not")
  local big = control.render(control.mask(path), 1, 4, 8)
  T.near(big:get(0, 0, 0), 0, 1e-6, "bilinear at twice the size: the corner")
  T.near(big:get(0, 0, 1), 7.5 / 255, 1e-6, "a quarter of the way to the next pixel")
  os.remove(path)

  local rgb = orrery.zeros({ 1, 2, 3 }, "u8")
  rgb:set(0, 0, 0, 255) -- red
  rgb:set(0, 1, 1, 255) -- green
  local rgba = orrery.zeros({ 1, 2, 4 }, "u8")
  rgba:set(0, 1, 3, 255)
  T.near(control.render(control.mask(rgb), 1, 1, 2):get(0, 0, 0), 0.299, 1e-6, "luma of red")
  T.near(control.render(control.mask(rgb), 1, 1, 2):get(0, 0, 1), 0.587, 1e-6, "luma of green")
  T.eq(control.render(control.mask(rgb, { channel = "g" }), 1, 1, 2):get(0, 0, 1), 1, "one channel")
  T.eq(control.render(control.mask(rgba, { channel = "alpha" }), 1, 1, 2):get(0, 0, 1), 1, "alpha")
  T.fails(function() control.mask(rgb, { channel = "alpha" }) end, "channel 'alpha' needs a picture with alpha", "no alpha")

  local frames = orrery.zeros({ 2, 2, 2, 3 }, "u8")
  frames:select(0, 1):fill(255)
  local v = control.render(control.mask(frames), 2, 2, 2)
  T.eq(v:get(0, 0, 0), 0, "frame 0 of the frames")
  T.near(v:get(1, 1, 1), 1, 1e-6, "frame 1 of the frames")
  local plane = orrery.tensor { { 0.5, 2 } }
  T.eq(control.render(control.mask(plane), 1, 1, 2):get(0, 0, 1), 2, "a float [H,W] tensor is taken as it is")
  T.eq(control.render(control.x * plane, 1, 1, 2):get(0, 0, 1), 1.5, "tensors in arithmetic (the map first)")
  T.fails(function() control.mask(orrery.zeros({ 2, 2, 2, 2 })) end, "is not a map [T,H,W] or [H,W]", "a 4-D float")
  T.fails(function() control.mask("/nonexistent.png") end, "/nonexistent.png", "a missing file")
  T.fails(function() control.mask(grey, { thresh = 1 }) end,
    "control.mask: unknown option 'thresh' (the options are channel, count, fps, start, threshold)", "a misspelt option")

  if orrery.media.has_video() then
    local vpath = tmp("_%05d.png")
    local clip = orrery.zeros({ 3, 8, 8, 3 }, "u8")
    clip:select(0, 2):fill(200)
    orrery.media.save_video(vpath, clip, { fps = 24 })
    local vm = control.render(control.mask(vpath, { threshold = 0.5 }), 3, 8, 8)
    T.eq(vm:narrow(0, 0, 2):max(), 0, "video frames 0 and 1 are dark")
    T.eq(vm:narrow(0, 2, 1):min(), 1, "video frame 2 passes")
    for i = 0, 2 do os.remove(vpath:format(i)) end
    for i = 1, 3 do os.remove(vpath:format(i)) end
  else
    print("test_control: built without FFmpeg, video masks not checked")
  end
end)

T.case("segments by colour and id", function()
  local seg = orrery.zeros({ 2, 3, 3 }, "u8")
  seg:select(1, 1):select(1, 0):fill(200) -- column 1 is (200, 0, 0)
  seg:set(1, 2, 0, 200)
  seg:set(1, 2, 2, 3) -- (200, 0, 3): within a tolerance of 3
  local path = tmp(".png")
  orrery.write_png(path, seg)
  local m = control.render(control.segment(path, { color = { 200, 0, 0 } }), 1, 2, 3)
  T.eq(m:sum(), 2, "exact colour: column 1")
  T.eq(m:get(0, 1, 1), 1, "pixel (1, 1)")
  T.eq(control.render(control.segment(path, { color = { 200, 0, 0 }, tolerance = 3 }), 1, 2, 3):sum(), 3, "tolerance")
  T.eq(control.render(control.segment(path, { color = { { 200, 0, 0 }, { 0, 0, 0 } } }), 1, 2, 3):sum(), 5,
    "a list of colours")
  os.remove(path)

  local ids = orrery.tensor({ { 1, 2, 3 }, { 3, 3, 7 } }, "u8")
  local s = control.render(control.segment(ids, { id = 3 }), 1, 2, 3)
  T.eq(s:sum(), 3, "id 3")
  T.eq(s:get(0, 0, 2), 1, "pixel (0, 2)")
  T.eq(control.render(control.segment(ids, { id = { 1, 7 } }), 1, 2, 3):sum(), 2, "a list of ids")
  local deep = orrery.tensor({ { 1000, 60000 } }, "i32"):reshape({ 1, 2, 1 })
  T.eq(control.render(control.segment(deep, { id = 60000 }), 1, 1, 2):get(0, 0, 1), 1, "16-bit ids")
  T.fails(function() control.segment(ids, { color = { 1, 2, 3 } }) end, "color needs an RGB segmentation", "colour of ids")
  T.fails(function() control.segment(ids, {}) end, "give id = n (or a list) or color = {r, g, b}", "neither")
  T.fails(function() control.segment(ids, { id = 1, color = { 1, 2, 3 } }) end, "one of them", "both")
end)

T.case("Lua functions of (t, y, x)", function()
  local f = control.fn(function(t, y, x) return t * 10 + y + x end)
  local r = control.render(f, 2, 2, 4)
  T.near(r:get(1, 1, 2), 10 + 0.75 + 0.625, 1e-6, "t, y, x at pixel centres")
  local static = control.render(control.fn(function(t, y, x) return t + x end, { static = true }), 3, 1, 2)
  T.near(static:get(2, 0, 1), 0.75, 1e-7, "static: t = 0 for every frame")
  local small = control.render(control.fn(function(_, _, x) return x end, { size = { 1, 2 } }), 1, 1, 4)
  T.near(small:get(0, 0, 0), 0.25, 1e-6, "at a smaller size, resized (edge held)")
  T.near(small:get(0, 0, 1), 0.375, 1e-6, "resized bilinearly")
  T.fails(function() control.render(control.fn(function() end), 1, 2, 2) end,
    "control.fn: the function returned a nil at t = 0, y = 0.25, x = 0.25; it must return a number", "nil")
  T.fails(function() control.fn(3) end, "control.fn: f must be a function(t, y, x), got 3", "not a function")
end)

T.case("render errors name the map and the size", function()
  T.fails(function() control.render(control.constant(-0.2), 1, 2, 2, "edge") end,
    "control map 'edge' has negative values (min -0.2); weights must be >= 0", "negative")
  T.fails(function() control.render(control.x - 0.5, 1, 2, 2) end, "control map has negative values (min -0.25)",
    "negative, unnamed")
  T.fails(function() control.render(control.x / 0 - control.x / 0, 1, 1, 1) end, "has 1 NaN or infinite values",
    "NaN")
  T.fails(function() control.render(control.x, 0, 4, 4) end,
    "control.render: T is 0; a map's size is T frames, H and W pixels, whole numbers >= 1", "T = 0")
  T.fails(function() control.render(control.x, 2, 4.5, 4) end, "control.render: H is 4.5", "fractional H")
  T.fails(function() control.render(control.x, 2, 4) end, "control.render: W is nil", "missing W")
  T.fails(function() control.render({}, 1, 1, 1) end, "control.render: map must be a map, a number", "not a map")
  T.fails(function() control.ellipse { center = { 0.5, 0.5 } } end, "control.ellipse: needs center = {x, y} and radius",
    "no radius")
  T.fails(function() control.ellipse { center = { 0.5, 0.5 }, radius = 0 } end, "control.ellipse: radius is 0; it must be > 0",
    "zero radius")
  T.fails(function() control.ellipse { center = 0.5, radius = 0.1 } end,
    "control.ellipse: center must be {x, y}: 2 numbers or curves, got 0.5", "a bad center")
  T.fails(function() control.ellipse { center = { 0.5, 0.5 }, radius = 0.1, feather = -1 } end,
    "control.ellipse: feather is -1; it must be >= 0", "negative feather")
  T.fails(function() control.rectangle { box = { 0.5, 0, 0.25, 1 } } end, "has x1 < x0", "an inverted box")
  T.fails(function() control.rectangle { center = { 0.5, 0.5 } } end, "needs center = {x, y} and size = {w, h}", "no size")
  T.fails(function() control.rectangle { centre = { 0.5, 0.5 } } end, "control.rectangle: unknown option 'centre'",
    "a misspelt option")
  T.fails(function() control.rectangle() end, "control.rectangle: the options must be a table, got nil", "no options")
end)

T.case("errors point at the caller's line", function()
  local here = "test_control.lua:"
  T.fails(function() control.render(control.x, 1, 0, 1) end, here, "render")
  T.fails(function() control.x:render(1, 0, 1) end, here, "the render method")
  T.fails(function() control.render(control.fn(function() end), 1, 1, 1) end, here, "an error while rendering")
  T.fails(function() return control.x * "a" end, here, "an operator")
  T.fails(function() control.max(1) end, here, "max")
  T.fails(function() control.x:save("/nonexistent/w.pt", 1, 1, 1) end, here, "the save method")
  T.fails(function() control.preview(control.x) end, here, "preview")
end)

T.case("save: the .pt the official spec reads", function()
  local m = control.ellipse { center = { 0.5, 0.5 }, radius = { 0.3, 0.4 }, feather = 0.1 } *
      control.keyframes { [0] = 1, [4] = 0.25 }
  local want = control.render(m, 5, 12, 16)
  local path = tmp("_edge.pt")
  control.save(m, path, 5, 12, 16)
  local tensors, meta = orrery.checkpoint(path)
  local back = tensors.tensor
  T.ok(back ~= nil, "one tensor, as torch.save(tensor) names it")
  T.eq(meta.format, "torch", "a torch.save zip")
  T.eq(table.concat(back:shape(), ","), "5,12,16", "[T,H,W]")
  T.eq(back:dtype(), "f32", "float32")
  T.eq((back - want):abs():max(), 0, "the rendered values")

  -- the transfer spec's own reader: control_weight as a map file
  local json = ('{"edge": {"control_weight": "%s"}}'):format(path)
  local spec = ffi.new("orr_transfer_spec*[1]")
  orrery.check(C.orr_transfer_spec_parse(spec, json, #json, "spec"))
  local s = ffi.gc(spec[0], C.orr_transfer_spec_free)
  T.ok(C.orr_transfer_spec_has_maps(s), "the spec sees a map")
  local w = orrery.empty({ 1, 5, 12, 16 })
  orrery.check(C.orr_transfer_spec_weights(s, w.ptr, false))
  T.near((w:select(0, 0) - want):abs():max(), 0, 1e-6, "read back by orr_transfer_spec_weights")

  local python = nil
  for _, exe in ipairs { "python3", "/usr/bin/python3" } do
    if not python and os.execute(exe .. " -c 'import torch' >/dev/null 2>&1") == 0 then python = exe end
  end
  if python then
    local cmd = ("%s -c 'import torch; t = torch.load(\"%s\"); print(tuple(t.shape), t.dtype, \"%%.6f\" %% t.sum().item())'")
        :format(python, path)
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    T.eq(out:match("^%((.-)%)"), "5, 12, 16", "torch.load: the shape")
    T.ok(out:find("torch.float32", 1, true), "torch.load: float32")
    T.near(tonumber(out:match("(%S+)%s*$")), want:sum(), 1e-3, "torch.load: the values")
  else
    print("test_control: no python3 with torch, torch.load not checked")
  end
  os.remove(path)

  local st = tmp(".safetensors")
  control.save(m, st, 5, 12, 16)
  T.eq((orrery.load(st).control_weight - want):abs():max(), 0, "safetensors")
  os.remove(st)

  T.fails(function() control.save(m, "/nonexistent/dir/w.pt", 5, 12, 16) end, "cannot create", "an unwritable path")
  T.fails(function() control.save(m, path, 5, 0, 16) end, "control.save: H is 0", "a bad size")
  T.fails(function() control.save(control.constant(-1), path, 1, 1, 1) end,
    ("control map '%s' has negative values"):format(path:match("[^/]*$")), "a negative map names the file")
  T.fails(function() control.save(m, nil, 1, 1, 1) end, "control.save: path must be a file name, got nil", "no path")
  T.ok(io.open(path) == nil, "nothing written on failure")
end)

T.case("preview", function()
  local frames = orrery.zeros({ 2, 8, 8, 3 }, "u8")
  -- a display (a desktop, xvfb-run) plays this script; without one, false and the reason
  local script, shot = tmp(".txt"), tmp(".png")
  local f = io.open(script, "w")
  f:write(("wait 5\nscreenshot %s\nquit\n"):format(shot))
  f:close()
  local ok, why = control.preview({ edge = control.x, depth = control.y }, frames, { title = "test", script = script })
  if ok then
    local image = orrery.read_png(shot)
    T.ok(image:numel() > 0, "the window showed the two panes")
    os.remove(shot)
  else
    T.eq(ok, false, "false without a display")
    T.ok(type(why) == "string" and #why > 0, "and the reason")
  end
  os.remove(script)
  T.fails(function() control.preview({ edge = control.constant(-1) }, frames) end,
    "control map 'edge' has negative values", "negative maps fail before the window")
  T.fails(function() control.preview({ edge = control.x }, { depth = frames }) end, "no control video for 'edge'",
    "a missing video")
  T.fails(function() control.preview(control.x, frames, { colour = 1 }) end, "control.preview: unknown option 'colour'",
    "a bad option")
  T.fails(function() control.preview(control.x) end, "give the control video", "no video")
end)

T.case("a moving map at the official size", function()
  local m = control.ellipse { center = control.keyframes { [0] = { 0.3, 0.5 }, [120] = { 0.7, 0.5 } },
    radius = { 0.2, 0.3 }, feather = 0.05 } * control.keyframes { [0] = 1, [120] = 0 } + 0.1 * control.x
  local t = control.render(m, 121, 704, 1280)
  T.eq(table.concat(t:shape(), ","), "121,704,1280", "the official map size")
  -- frame 0: the ellipse is centred at x = 0.3 at full weight; frame 120: faded out
  T.near(t:get(0, 352, 384), 1 + 0.1 * (384.5 / 1280), 1e-5, "inside the ellipse at frame 0")
  T.near(t:get(120, 352, 896), 0.1 * (896.5 / 1280), 1e-5, "faded out at the last frame")
  t:free()
end)

T.done()
