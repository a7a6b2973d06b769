-- control.lua — control weight maps over space and time: how strongly each
-- Cosmos-Transfer1 control holds at each frame and pixel (orrery.transfer
-- takes them, and the official spec's "control_weight" reads them as .pt).
--
--   local control = orrery.control
--   local fade = control.keyframes { [0] = 1, [60] = 0 }                  -- over time
--   local spot = control.ellipse { center = { 0.5, 0.5 }, radius = { 0.3, 0.4 }, feather = 0.05 }
--   local w = control.clamp(0.2 + spot * fade)                           -- arithmetic makes maps
--   local t = control.render(w, 121, 704, 1280)                          -- f32 [T,H,W]
--   control.save(w, "edge_weights.pt", 121, 704, 1280)                   -- for "control_weight"
--   control.preview({ edge = w, depth = spot }, "input.mp4")             -- heatmaps in the viewer
--
-- Coordinates: x and y run from 0 to 1 across the frame (x to the right, y
-- down), taken at pixel centres: column c of W is x = (c + 0.5) / W. Time is
-- the frame t = 0 .. T-1; u = t / (T-1) runs from 0 to 1 over the clip
-- (control.u, and keyframes with time = "normalized"). Lengths (sizes, radii,
-- feather) are in the same units: fractions of the width along x, of the
-- height along y.
--
-- A map is a description: nothing is computed until it is rendered at a size.
-- Rendering runs orrery's tensor ops over whole frames: what does not change
-- over time is computed once as [1,H,W], a moving shape once per frame,
-- curves as [T,1,1], and they broadcast when they meet. Function maps
-- (control.fn) are the exception: one Lua call per pixel and frame.
--
-- Constructors (parameters marked ~ may move: a number, keyframes, a
-- control.curve, an orrery.schedule or a function(t, u); a point or size
-- {a, b} takes one per component, or keyframes of pairs):
--   control.constant(v)                 v everywhere (numbers in arithmetic become this)
--   control.keyframes{[0]=1, [60]=0}    a curve over time; interp "linear", "smooth" (smoothstep)
--                                       or "hold"; time "frames" or "normalized"; values may be
--                                       pairs {x, y} for moving parameters; a string is an
--                                       orrery.schedule ("0:(1), 60:(0)", whose "smooth" is
--                                       its monotone cubic)
--   control.curve(fn)                   fn(t, u) -> value per frame (or a schedule)
--   control.x, control.y, control.t, control.u      the coordinates themselves, as maps
--   control.rectangle{center~, size~ | box = {x0, y0, x1, y1}, feather}
--   control.ellipse{center~, radius~, feather}      radius: r or {rx, ry}
--   control.polygon{points = {{x, y}, ...}, offset~, feather}
--   control.gradient{from~, to~, values = {0, 1}}   linear from one point to another
--   control.radial{center~, radius~, inner = 0}     1 inside `inner` (a fraction of radius), 0 past radius
--   control.mask(png | video | tensor, {threshold, channel})     grey levels (or 0/1 past a threshold)
--   control.segment(png | video | tensor, {id | color, tolerance})   1 where the segment is
--   control.fn(function(t, y, x) ... end, {static, size})       per pixel, in Lua
--   + - * / between maps and numbers (or tensors [T,H,W] / [H,W], taken as control.mask
--   takes them, on the right of a map: on the left the tensor's own operators answer);
--   control.min, max, clamp, invert (1 - m)
-- Soft edges: `feather` is the width of the ramp from 1 to 0 across a shape's
-- edge, centred on it; 0 is a hard edge.
--
-- control.render(map, T, H, W) -> f32 [T,H,W]; control.save(map, path, T, H,
-- W) writes the .pt torch.save writes (or .safetensors); control.preview(maps,
-- video, opts) shows them in the viewer. Every value must end up >= 0.
local ffi = require "ffi"
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local C, check = core.C, core.check

local M = {}

local Map = { __name = "control map" }
Map.__index = Map
M.Map = Map

local function is_map(v) return getmetatable(v) == Map end
M.is_map = is_map

local function fmt(v) return ("%g"):format(v) end

local function new_map(desc, eval, fields)
  local m = fields or {}
  m._desc, m._eval = desc, eval
  return setmetatable(m, Map)
end

local function is_schedule(v)
  return type(v) == "table" and getmetatable(v) == require("orrery.schedule").Schedule
end

---------------------------------------------------------------------------
-- tensors: every eval returns a fresh f32 tensor its caller owns, of shape
-- [1|T, 1|H, 1|W]; big intermediates are updated in place (out = a: the
-- element-wise kernels read each element before they write it).

local function scalar(v) return tensor.full({}, v) end

local function inplace_binary(a, b, op)
  check(C.orr_binary(a.ptr, a.ptr, b.ptr, op), 2)
  return a
end

local function inplace_affine(a, scale, shift)
  check(C.orr_affine(a.ptr, a.ptr, scale, shift), 2)
  return a
end

local function inplace_clamp(a, lo, hi)
  if lo then
    local s = scalar(lo)
    inplace_binary(a, s, C.ORR_MAX)
    s:free()
  end
  if hi then
    local s = scalar(hi)
    inplace_binary(a, s, C.ORR_MIN)
    s:free()
  end
  return a
end

-- A [n] Lua array of frame values as a [T,1,1] tensor.
local function column(values)
  local t = tensor.empty({ #values, 1, 1 })
  local p = ffi.cast("float*", t.ptr.data)
  for i = 1, #values do p[i - 1] = values[i] end
  return t
end

-- The pixel centres over n pixels, laid along dim `dim` (0-based) of a 3-D tensor.
local function centres(n, dim)
  local shape = { 1, 1, 1 }
  shape[dim + 1] = n
  local t = tensor.empty(shape)
  local p = ffi.cast("float*", t.ptr.data)
  for i = 0, n - 1 do p[i] = (i + 0.5) / n end
  return t
end

-- A signed distance (> 0 outside) to a shape's value: 1 inside, 0 outside,
-- a linear ramp `feather` wide centred on the edge (in place).
local HARD = 1e-6
local function soft_edge(sd, feather)
  return inplace_clamp(inplace_affine(sd, -1 / math.max(feather, HARD), 0.5), 0, 1)
end

local function same_shape(t, shape)
  local s = t:shape()
  return s[1] == shape[1] and s[2] == shape[2] and s[3] == shape[3]
end

local function broadcast3(a, b)
  local sa, sb, out = a:shape(), b:shape(), {}
  for i = 1, 3 do out[i] = math.max(sa[i], sb[i]) end
  return out
end

---------------------------------------------------------------------------
-- argument checks: messages name the function and the argument

local function arg_fail(fn, name, want, got, level)
  error(("control.%s: %s must be %s, got %s"):format(fn, name, want, core.describe_value(got)), level + 1)
end

local function number_arg(fn, name, v, level, lo, lo_open)
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    arg_fail(fn, name, "a number", v, level + 1)
  end
  if lo and (v < lo or (lo_open and v == lo)) then
    error(("control.%s: %s is %s; it must be %s %s"):format(fn, name, fmt(v), lo_open and ">" or ">=", fmt(lo)),
      level + 1)
  end
  return v
end

---------------------------------------------------------------------------
-- parameters that may move: {animated, at(f, T) -> number | array, text}

local function scalar_param(fn, name, v, level, lo, lo_open)
  if type(v) == "number" then
    number_arg(fn, name, v, level + 1, lo, lo_open)
    return { at = function() return v end, text = fmt(v) }
  end
  local at
  if is_map(v) and v._curve then
    if v._width then
      error(("control.%s: %s is a curve of %d-value keyframes; it needs one number per frame"):format(fn, name,
        v._width), level + 1)
    end
    at = v._curve
  elseif is_schedule(v) then
    at = function(f, T) return v:at(f, T) end
  elseif type(v) == "function" then
    at = function(f, T)
      local x = v(f, T > 1 and f / (T - 1) or 0)
      if type(x) ~= "number" then
        error(("control.%s: the function for %s returned a %s at frame %d, not a number"):format(fn, name, type(x), f), 0)
      end
      return x
    end
  else
    arg_fail(fn, name, "a number, keyframes, a curve or a function(t, u)", v, level + 1)
  end
  local checked = function(f, T)
    local x = at(f, T)
    if x ~= x then error(("control.%s: %s is not a number at frame %d"):format(fn, name, f), 0) end
    if lo and (x < lo or (lo_open and x == lo)) then
      error(("control.%s: %s is %s at frame %d; it must be %s %s"):format(fn, name, fmt(x), f,
        lo_open and ">" or ">=", fmt(lo)), 0)
    end
    return x
  end
  return { animated = true, at = checked, text = is_map(v) and v._desc or tostring(v) }
end

-- n numbers: an array of scalar parameters, keyframes of n-value arrays, or
-- (when `same` allows) one scalar parameter for all n.
local function vector_param(fn, name, v, n, level, lo, lo_open, same)
  if is_map(v) and v._curve and v._width then
    if v._width ~= n then
      error(("control.%s: %s takes keyframes of %d values, got %d"):format(fn, name, n, v._width), level + 1)
    end
    local curve = v._curve
    return { animated = true, text = v._desc, at = function(f, T)
      local x = curve(f, T)
      for i = 1, n do
        if lo and (x[i] < lo or (lo_open and x[i] == lo)) then
          error(("control.%s: %s[%d] is %s at frame %d; it must be %s %s"):format(fn, name, i, fmt(x[i]), f,
            lo_open and ">" or ">=", fmt(lo)), 0)
        end
      end
      return x
    end }
  end
  if same and (type(v) ~= "table" or is_map(v) or is_schedule(v)) then
    local p = scalar_param(fn, name, v, level + 1, lo, lo_open)
    return { animated = p.animated, text = p.text, at = function(f, T)
      local x, out = p.at(f, T), {}
      for i = 1, n do out[i] = x end
      return out
    end }
  end
  if type(v) ~= "table" or is_map(v) or is_schedule(v) or #v ~= n then
    arg_fail(fn, name, ("{%s}: %d numbers or curves"):format(n == 2 and "x, y" or "...", n), v, level + 1)
  end
  local parts, animated, texts = {}, false, {}
  for i = 1, n do
    parts[i] = scalar_param(fn, ("%s[%d]"):format(name, i), v[i], level + 1, lo, lo_open)
    animated = animated or parts[i].animated
    texts[i] = parts[i].text
  end
  return { animated = animated, text = "(" .. table.concat(texts, ", ") .. ")", at = function(f, T)
    local out = {}
    for i = 1, n do out[i] = parts[i].at(f, T) end
    return out
  end }
end

local function check_options(fn, opts, known, level)
  if type(opts) ~= "table" or is_map(opts) then arg_fail(fn, "the options", "a table", opts, level + 1) end
  for k in pairs(opts) do
    if not known[k] then
      local names = {}
      for name in pairs(known) do names[#names + 1] = name end
      table.sort(names)
      error(("control.%s: unknown option '%s' (the options are %s)"):format(fn, tostring(k), table.concat(names, ", ")),
        level + 1)
    end
  end
end

---------------------------------------------------------------------------
-- constants, curves and coordinates

function M.constant(v)
  number_arg("constant", "v", v, 2)
  return new_map(fmt(v), function() return tensor.full({ 1, 1, 1 }, v) end, { _value = v })
end

-- A curve over time: curve(f, T) gives frame f's value (a number, or an
-- array of `width` numbers for a moving parameter).
local function curve_map(desc, curve, width)
  return new_map(desc, function(_, ctx)
    if width then
      error(("control.render: %s has %d-value keyframes: it is a parameter (center = ..., radius = ...), not a map")
        :format(desc, width), 0)
    end
    local values = {}
    for f = 0, ctx.T - 1 do values[f + 1] = curve(f, ctx.T) end
    return column(values)
  end, { _curve = curve, _width = width })
end

local interps = { linear = true, smooth = true, hold = true }
local times = { frames = true, normalized = true }

-- keyframes({[frame] = value, ...}, interp | {interp, time}); the table may
-- also hold interp = and time = itself. A string goes to orrery.schedule.
function M.keyframes(keys, opts)
  if type(keys) == "string" then
    if opts ~= nil and type(opts) ~= "string" then arg_fail("keyframes", "interp", "a string", opts, 2) end
    local interp = opts == "hold" and "step" or opts
    local s = require("orrery.schedule").new(keys, interp, 2)
    return curve_map(tostring(s), function(f, T) return s:at(f, T) end)
  end
  if type(keys) ~= "table" or is_map(keys) then
    arg_fail("keyframes", "keys", "a table {[frame] = value, ...} or a keyframe string", keys, 2)
  end
  if type(opts) == "string" then opts = { interp = opts } end
  opts = opts or {}
  check_options("keyframes", opts, { interp = true, time = true }, 2)
  local interp = opts.interp or keys.interp or "linear"
  local time = opts.time or keys.time or "frames"
  if not interps[interp] then arg_fail("keyframes", "interp", "linear, smooth or hold", interp, 2) end
  if not times[time] then arg_fail("keyframes", "time", "frames or normalized", time, 2) end
  local list = {}
  for k, v in pairs(keys) do
    if k ~= "interp" and k ~= "time" then
      if type(k) ~= "number" or k ~= k or k < 0 or (time == "normalized" and k > 1) then
        error(("control.keyframes: the key %s is not %s"):format(core.describe_value(k),
          time == "frames" and "a frame (0, 1, 2, ...)" or "a time from 0 to 1 (time = \"normalized\")"), 2)
      end
      list[#list + 1] = { key = k, value = v }
    end
  end
  if #list == 0 then error("control.keyframes: no keyframes", 2) end
  table.sort(list, function(a, b) return a.key < b.key end)
  local function count(v) return type(v) == "table" and #v .. " numbers" or "one number" end
  local width = type(list[1].value) == "table" and #list[1].value or nil
  for _, k in ipairs(list) do
    local v = k.value
    if type(v) == "table" then
      if #v == 0 then arg_fail("keyframes", "the value at key " .. fmt(k.key), "a number or an array of numbers", v, 2) end
      for i = 1, #v do number_arg("keyframes", ("the value at key %s, item %d"):format(fmt(k.key), i), v[i], 2) end
    else
      number_arg("keyframes", "the value at key " .. fmt(k.key), v, 2)
    end
    if (type(v) == "table" and #v or nil) ~= width then
      error(("control.keyframes: the value at key %s has %s where key %s has %s"):format(fmt(k.key), count(v),
        fmt(list[1].key), count(list[1].value)), 2)
    end
  end

  local function mix(a, b, w)
    if not width then return a + (b - a) * w end
    local out = {}
    for i = 1, width do out[i] = a[i] + (b[i] - a[i]) * w end
    return out
  end
  local function curve(f, T)
    local pos = time == "frames" and f or (T > 1 and f / (T - 1) or 0)
    if pos <= list[1].key then return list[1].value end
    if pos >= list[#list].key then return list[#list].value end
    local j = 1
    while list[j + 1].key <= pos do j = j + 1 end
    local a, b = list[j], list[j + 1]
    if interp == "hold" then return a.value end
    local w = (pos - a.key) / (b.key - a.key)
    if interp == "smooth" then w = w * w * (3 - 2 * w) end
    return mix(a.value, b.value, w)
  end
  local parts = {}
  for i, k in ipairs(list) do
    local v = k.value
    if width then
      local xs = {}
      for n = 1, width do xs[n] = fmt(v[n]) end
      v = "{" .. table.concat(xs, ", ") .. "}"
    else
      v = fmt(v)
    end
    parts[i] = fmt(k.key) .. ": " .. v
  end
  local desc = ("keyframes{%s}%s%s"):format(table.concat(parts, ", "), interp == "linear" and "" or " " .. interp,
    time == "frames" and "" or " (normalized time)")
  return curve_map(desc, curve, width)
end

-- curve(function(t, u) ... end) or curve(schedule): a value per frame.
function M.curve(spec)
  if is_schedule(spec) then return curve_map(tostring(spec), function(f, T) return spec:at(f, T) end) end
  if type(spec) ~= "function" then arg_fail("curve", "spec", "a function(t, u) or an orrery.schedule", spec, 2) end
  local p = scalar_param("curve", "the function", spec, 2)
  return curve_map("curve(function)", p.at)
end

M.t = curve_map("t", function(f) return f end)
M.u = curve_map("u", function(f, T) return T > 1 and f / (T - 1) or 0 end)
M.x = new_map("x", function(_, ctx) return centres(ctx.W, 2) end)
M.y = new_map("y", function(_, ctx) return centres(ctx.H, 1) end)

---------------------------------------------------------------------------
-- arithmetic

local function as_map(v, fn, name, level)
  if is_map(v) then return v end
  if type(v) == "number" then
    number_arg(fn, name, v, level + 1)
    return M.constant(v)
  end
  if tensor.is_tensor(v) then return M.mask(v) end
  if is_schedule(v) then return M.curve(v) end
  arg_fail(fn, name, "a map, a number, a tensor or a schedule", v, level + 1)
end

local binary_ops = { ["+"] = C.ORR_ADD, ["-"] = C.ORR_SUB, ["*"] = C.ORR_MUL, ["/"] = C.ORR_DIV,
  max = C.ORR_MAX, min = C.ORR_MIN }

local function binary(op, a, b, fn, level)
  a, b = as_map(a, fn, "a", level + 1), as_map(b, fn, "b", level + 1)
  if a._value and b._value then
    local x, y = a._value, b._value
    local v = op == "+" and x + y or op == "-" and x - y or op == "*" and x * y or op == "/" and x / y or
        op == "max" and math.max(x, y) or math.min(x, y)
    if v == v and v ~= math.huge and v ~= -math.huge then return M.constant(v) end
  end
  local desc = (op == "max" or op == "min") and ("%s(%s, %s)"):format(op, a._desc, b._desc) or
      ("(%s %s %s)"):format(a._desc, op, b._desc)
  local code = binary_ops[op]
  return new_map(desc, function(_, ctx)
    local x = a:_eval(ctx)
    local y = b:_eval(ctx)
    local shape = broadcast3(x, y)
    -- the result goes where an operand of its full shape already is
    if same_shape(x, shape) then
      check(C.orr_binary(x.ptr, x.ptr, y.ptr, code))
      y:free()
      return x
    end
    if same_shape(y, shape) then
      check(C.orr_binary(y.ptr, x.ptr, y.ptr, code))
      x:free()
      return y
    end
    local out = tensor.empty(shape)
    check(C.orr_binary(out.ptr, x.ptr, y.ptr, code))
    x:free()
    y:free()
    return out
  end)
end

-- (No tail calls where errors are raised below: error levels count frames.)
Map.__add = function(a, b)
  local m = binary("+", a, b, "add", 2)
  return m
end
Map.__sub = function(a, b)
  local m = binary("-", a, b, "sub", 2)
  return m
end
Map.__mul = function(a, b)
  local m = binary("*", a, b, "mul", 2)
  return m
end
Map.__div = function(a, b)
  local m = binary("/", a, b, "div", 2)
  return m
end
Map.__unm = function(a)
  local m = binary("*", a, -1, "unm", 2)
  return m
end
Map.__tostring = function(m) return "control map " .. m._desc end

local function fold(op, fn, ...)
  local n = select("#", ...)
  if n < 2 then error(("control.%s: give at least two maps or numbers, got %d"):format(fn, n), 3) end
  local acc = select(1, ...)
  for i = 2, n do acc = binary(op, acc, (select(i, ...)), fn, 3) end
  return acc
end

function M.max(...)
  local m = fold("max", "max", ...)
  return m
end

function M.min(...)
  local m = fold("min", "min", ...)
  return m
end

-- lo <= m <= hi (default 0 and 1); nil leaves that side open.
function M.clamp(m, lo, hi)
  m = as_map(m, "clamp", "m", 2)
  if lo == nil and hi == nil then lo, hi = 0, 1 end
  if lo ~= nil then number_arg("clamp", "lo", lo, 2) end
  if hi ~= nil then number_arg("clamp", "hi", hi, 2) end
  if lo and hi and lo > hi then
    error(("control.clamp: lo %s is above hi %s"):format(fmt(lo), fmt(hi)), 2)
  end
  return new_map(("clamp(%s, %s, %s)"):format(m._desc, lo and fmt(lo) or "-", hi and fmt(hi) or "-"), function(_, ctx)
    return inplace_clamp(m:_eval(ctx), lo, hi)
  end)
end

function M.invert(m)
  m = as_map(m, "invert", "m", 2)
  return new_map(("(1 - %s)"):format(m._desc), function(_, ctx) return inplace_affine(m:_eval(ctx), -1, 1) end)
end

---------------------------------------------------------------------------
-- shapes and gradients: a field over [1,H,W] for one frame's parameters,
-- computed once when nothing moves, else once per frame

local function field_map(desc, params, field)
  local animated = false
  for _, p in pairs(params) do animated = animated or p.animated end
  local function values(f, T)
    local v = {}
    for k, p in pairs(params) do v[k] = p.at(f, T) end
    return v
  end
  return new_map(desc, function(_, ctx)
    if not animated then return tensor.scope(field, ctx, values(0, ctx.T)) end
    local out = tensor.empty({ ctx.T, ctx.H, ctx.W })
    for f = 0, ctx.T - 1 do
      tensor.scope(function()
        out:narrow(0, f, 1):copy(field(ctx, values(f, ctx.T)))
      end)
    end
    return out
  end)
end

local function feather_of(fn, opts)
  return number_arg(fn, "feather", opts.feather or 0, 3, 0)
end

-- Signed distance to an axis-aligned box (exact, so feathered corners round).
local function box_field(ctx, p)
  local qx = (ctx.X - p.center[1]):abs():affine(1, -p.size[1] / 2) -- [1,1,W]
  local qy = (ctx.Y - p.center[2]):abs():affine(1, -p.size[2] / 2) -- [1,H,1]
  local ox, oy = qx:relu(), qy:relu()
  local outside = (ox * ox + oy * oy):sqrt()
  local inside = tensor.minimum(tensor.maximum(qx, qy), 0)
  return soft_edge(inplace_binary(outside, inside, C.ORR_ADD), p.feather)
end

function M.rectangle(opts)
  check_options("rectangle", opts, { center = true, size = true, box = true, feather = true }, 2)
  local feather = feather_of("rectangle", opts)
  local params = { feather = { at = function() return feather end } }
  if opts.box ~= nil then
    if opts.center ~= nil or opts.size ~= nil then
      error("control.rectangle: give box = {x0, y0, x1, y1} or center and size, not both", 2)
    end
    local b = opts.box
    if type(b) ~= "table" or #b ~= 4 then arg_fail("rectangle", "box", "{x0, y0, x1, y1}", b, 2) end
    for i = 1, 4 do number_arg("rectangle", ("box[%d]"):format(i), b[i], 2) end
    if b[3] < b[1] or b[4] < b[2] then
      error(("control.rectangle: box {%s, %s, %s, %s} has x1 < x0 or y1 < y0"):format(fmt(b[1]), fmt(b[2]),
        fmt(b[3]), fmt(b[4])), 2)
    end
    local c, s = { (b[1] + b[3]) / 2, (b[2] + b[4]) / 2 }, { b[3] - b[1], b[4] - b[2] }
    params.center = { at = function() return c end }
    params.size = { at = function() return s end }
  else
    if opts.center == nil or opts.size == nil then
      error("control.rectangle: needs center = {x, y} and size = {w, h} (or box = {x0, y0, x1, y1})", 2)
    end
    params.center = vector_param("rectangle", "center", opts.center, 2, 2)
    params.size = vector_param("rectangle", "size", opts.size, 2, 2, 0, false, true)
  end
  local desc = opts.box and ("rectangle{box = {%s}}"):format(table.concat(opts.box, ", ")) or
      ("rectangle{center = %s, size = %s}"):format(params.center.text, params.size.text)
  return field_map(desc .. (feather > 0 and " feather " .. fmt(feather) or ""), params, box_field)
end

-- An ellipse's distance, approximated to first order (exact for circles):
-- (k0 - 1) / |grad k0| with k0 = |p / r|, |grad k0| = |p / r^2| / k0 held
-- between 1/max(r) and 1/min(r) (its range; also where p = 0).
local function ellipse_field(ctx, p)
  local rx, ry = p.radius[1], p.radius[2]
  local nx = (ctx.X - p.center[1]) / rx
  local ny = (ctx.Y - p.center[2]) / ry
  local nx2, ny2 = nx * nx, ny * ny
  local k0 = (nx2 + ny2):sqrt()
  local k1 = (nx2 / (rx * rx) + ny2 / (ry * ry)):sqrt()
  local g = inplace_clamp(k1 / tensor.maximum(k0, 1e-12), 1 / math.max(rx, ry), 1 / math.min(rx, ry))
  local sd = inplace_binary(inplace_affine(k0, 1, -1), g, C.ORR_DIV)
  return soft_edge(sd, p.feather)
end

function M.ellipse(opts)
  check_options("ellipse", opts, { center = true, radius = true, feather = true }, 2)
  if opts.center == nil or opts.radius == nil then
    error("control.ellipse: needs center = {x, y} and radius = r or {rx, ry}", 2)
  end
  local feather = feather_of("ellipse", opts)
  local params = {
    center = vector_param("ellipse", "center", opts.center, 2, 2),
    radius = vector_param("ellipse", "radius", opts.radius, 2, 2, 0, true, true),
    feather = { at = function() return feather end },
  }
  return field_map(("ellipse{center = %s, radius = %s}%s"):format(params.center.text, params.radius.text,
    feather > 0 and " feather " .. fmt(feather) or ""), params, ellipse_field)
end

-- Pixels whose centre is inside (even-odd), row by row: u8 [1,H,W].
local function polygon_inside(ctx, pts)
  local H, W = ctx.H, ctx.W
  local mask = tensor.zeros({ 1, H, W }, "u8")
  local base = ffi.cast("uint8_t*", mask.ptr.data)
  local n = #pts
  for r = 0, H - 1 do
    local y, xs = (r + 0.5) / H, {}
    for i = 1, n do
      local a, b = pts[i], pts[i % n + 1]
      if (a[2] > y) ~= (b[2] > y) then xs[#xs + 1] = a[1] + (y - a[2]) * (b[1] - a[1]) / (b[2] - a[2]) end
    end
    table.sort(xs)
    for i = 1, #xs - 1, 2 do
      local c0 = math.max(0, math.ceil(xs[i] * W - 0.5))
      local c1 = math.min(W, math.ceil(xs[i + 1] * W - 0.5))
      if c1 > c0 then ffi.fill(base + r * W + c0, c1 - c0, 1) end
    end
  end
  return mask
end

local function polygon_field(ctx, p)
  local pts, dx, dy = {}, p.offset[1], p.offset[2]
  for i, q in ipairs(p.points) do pts[i] = { q[1] + dx, q[2] + dy } end
  local inside = polygon_inside(ctx, pts)
  if p.feather <= 0 then return inside:float() end
  -- distance to the nearest edge, signed by the inside test
  local d2
  for i = 1, #pts do
    local a, b = pts[i], pts[i % #pts + 1]
    local d = tensor.scope(function()
      local ex, ey = b[1] - a[1], b[2] - a[2]
      local ee = ex * ex + ey * ey
      local wx, wy = ctx.X - a[1], ctx.Y - a[2] -- [1,1,W], [1,H,1]
      if ee == 0 then return wx * wx + wy * wy end
      local h = inplace_clamp(wx * (ex / ee) + wy * (ey / ee), 0, 1) -- the nearest point's place on the edge
      local px, py = wx - h * ex, wy - h * ey
      return px * px + py * py
    end)
    if d2 then
      local nearest = tensor.minimum(d2, d)
      d2:free()
      d:free()
      d2 = nearest
    else
      d2 = d
    end
  end
  local sign = inplace_affine(inside:float(), -2, 1) -- +1 outside, -1 inside
  return soft_edge(d2:sqrt() * sign, p.feather)
end

function M.polygon(opts)
  check_options("polygon", opts, { points = true, offset = true, feather = true }, 2)
  local pts = opts.points
  if type(pts) ~= "table" or #pts < 3 then
    arg_fail("polygon", "points", "an array of at least 3 points {x, y}",
      type(pts) == "table" and #pts .. " points" or pts, 2)
  end
  local copy, texts = {}, {}
  for i, q in ipairs(pts) do
    if type(q) ~= "table" or #q ~= 2 then arg_fail("polygon", ("points[%d]"):format(i), "a point {x, y}", q, 2) end
    number_arg("polygon", ("points[%d][1]"):format(i), q[1], 2)
    number_arg("polygon", ("points[%d][2]"):format(i), q[2], 2)
    copy[i] = { q[1], q[2] }
    texts[i] = ("(%s, %s)"):format(fmt(q[1]), fmt(q[2]))
  end
  local feather = feather_of("polygon", opts)
  local params = {
    points = { at = function() return copy end },
    offset = vector_param("polygon", "offset", opts.offset or { 0, 0 }, 2, 2),
    feather = { at = function() return feather end },
  }
  return field_map(("polygon{%s}%s%s"):format(table.concat(texts, ", "),
    opts.offset and " offset " .. params.offset.text or "", feather > 0 and " feather " .. fmt(feather) or ""),
    params, polygon_field)
end

local function gradient_field(ctx, p)
  local ex, ey = p.to[1] - p.from[1], p.to[2] - p.from[2]
  local ee = ex * ex + ey * ey
  if ee == 0 then error("control.gradient: from and to are the same point", 0) end
  local s = (ctx.X - p.from[1]) * (ex / ee) + (ctx.Y - p.from[2]) * (ey / ee)
  return inplace_affine(inplace_clamp(s, 0, 1), p.values[2] - p.values[1], p.values[1])
end

function M.gradient(opts)
  check_options("gradient", opts, { from = true, to = true, values = true }, 2)
  if opts.from == nil or opts.to == nil then error("control.gradient: needs from = {x, y} and to = {x, y}", 2) end
  local params = {
    from = vector_param("gradient", "from", opts.from, 2, 2),
    to = vector_param("gradient", "to", opts.to, 2, 2),
    values = vector_param("gradient", "values", opts.values or { 0, 1 }, 2, 2),
  }
  if not params.from.animated and not params.to.animated then
    local a, b = params.from.at(0, 1), params.to.at(0, 1)
    if a[1] == b[1] and a[2] == b[2] then error("control.gradient: from and to are the same point", 2) end
  end
  return field_map(("gradient{from = %s, to = %s%s}"):format(params.from.text, params.to.text,
    opts.values and ", values = " .. params.values.text or ""), params, gradient_field)
end

local function radial_field(ctx, p)
  local nx = (ctx.X - p.center[1]) / p.radius[1]
  local ny = (ctx.Y - p.center[2]) / p.radius[2]
  local k = (nx * nx + ny * ny):sqrt()
  local span = 1 - p.inner
  return inplace_clamp(inplace_affine(k, -1 / span, 1 / span), 0, 1)
end

function M.radial(opts)
  check_options("radial", opts, { center = true, radius = true, inner = true }, 2)
  if opts.center == nil or opts.radius == nil then
    error("control.radial: needs center = {x, y} and radius = r or {rx, ry}", 2)
  end
  local inner = number_arg("radial", "inner", opts.inner or 0, 2, 0)
  if inner >= 1 then error(("control.radial: inner is %s; it must be below 1 (a fraction of radius)"):format(fmt(inner)), 2) end
  local params = {
    center = vector_param("radial", "center", opts.center, 2, 2),
    radius = vector_param("radial", "radius", opts.radius, 2, 2, 0, true, true),
    inner = { at = function() return inner end },
  }
  return field_map(("radial{center = %s, radius = %s%s}"):format(params.center.text, params.radius.text,
    inner > 0 and ", inner = " .. fmt(inner) or ""), params, radial_field)
end

---------------------------------------------------------------------------
-- masks from pictures, videos and tensors: a plane [T0,H0,W0] at the
-- source's size, resized to the render size as the official resizes weight
-- maps (trilinear, align_corners false; a picture holds for every frame)

-- A PNG file, not a sequence of them ("frames/%05d.png" is a video).
local function is_picture(path) return path:lower():match("%.png$") and not path:find("%", 1, true) end

-- The source as u8/i32 frames [T,H,W,C] (static: one picture) or a float
-- plane [T,H,W] (values as they are).
local function read_source(fn, src, opts, level)
  local media = require "orrery.media"
  if type(src) == "string" then
    if is_picture(src) then
      local image = media.read_png(src)
      local frames = image:unsqueeze(0)
      image:free()
      return frames, true, src
    end
    local frames = media.load_video(src, { start = opts.start, count = opts.count, fps = opts.fps })
    return frames, false, src
  end
  if not tensor.is_tensor(src) then arg_fail(fn, "source", "a PNG or video file, or a tensor", src, level + 1) end
  local s, d = src:shape(), src:dtype()
  local what = ("a tensor %s[%s]"):format(d, table.concat(s, ","))
  if d == "u8" or d == "i32" then
    -- [H,W,C] with C <= 4 is a picture; [T,H,W] wider than 4 is one-channel frames
    if #s == 3 and s[3] <= 4 then return src:unsqueeze(0), true, what end
    if #s == 3 then return src:unsqueeze(3), false, what end
    if #s == 4 and s[4] <= 4 then return src, false, what end
    if #s == 2 then return src:unsqueeze(0):unsqueeze(3), true, what end
    error(("control.%s: %s is not a picture [H,W,C], frames [T,H,W,C], [T,H,W] or [H,W]"):format(fn, what), level + 1)
  end
  if #s == 2 then return src:unsqueeze(0), true, what end
  if #s == 3 then return src, false, what end
  error(("control.%s: %s is not a map [T,H,W] or [H,W]"):format(fn, what), level + 1)
end

local function is_frames(t) return t:dim() == 4 end

-- One channel of frames as f32 [T,H,W] (a view's copy).
local function channel_of(frames, c) return frames:select(3, c):float() end

local channels = { luma = true, r = 0, g = 1, b = 2, alpha = true }

local function grey(fn, frames, channel, level)
  local nc = frames:size(3)
  local full = frames:dtype() == "i32" and 65535 or 255
  local plane
  if channel == "alpha" then
    if nc ~= 2 and nc ~= 4 then
      error(("control.%s: channel 'alpha' needs a picture with alpha, this one has %d channels"):format(fn, nc),
        level + 1)
    end
    plane = channel_of(frames, nc - 1)
  elseif channel == "luma" then
    if nc >= 3 then
      -- ITU-R BT.601 luma
      plane = inplace_affine(channel_of(frames, 0), 0.299, 0)
      for c, k in ipairs { 0.587, 0.114 } do
        local x = inplace_affine(channel_of(frames, c), k, 0)
        inplace_binary(plane, x, C.ORR_ADD)
        x:free()
      end
    else
      plane = channel_of(frames, 0)
    end
  else
    if channels[channel] >= nc then
      error(("control.%s: channel '%s' is not in a picture of %d channels"):format(fn, channel, nc), level + 1)
    end
    plane = channel_of(frames, channels[channel])
  end
  return inplace_affine(plane, 1 / full, 0)
end

-- |plane - v| as a new f32 tensor.
local function absdiff(plane, v)
  local x = inplace_affine(plane:clone("f32"), 1, -v)
  check(C.orr_unary(x.ptr, x.ptr, C.ORR_ABS), 2)
  return x
end

-- A map over a plane [T0,H0,W0] (static: the same for every frame).
local function plane_map(desc, plane, static)
  plane:keep()
  return new_map(desc, function(_, ctx)
    local s = plane:shape()
    local T = static and 1 or ctx.T
    if s[1] == T and s[2] == ctx.H and s[3] == ctx.W then return plane:clone("f32") end
    local x = plane:view_as({ 1, 1, s[1], s[2], s[3] })
    local out = x:resize({ T, ctx.H, ctx.W }, "trilinear")
    x:free()
    local r = out:view_as({ T, ctx.H, ctx.W })
    out:free()
    return r
  end)
end

-- mask(source, {threshold, channel, start, count, fps}): grey levels in
-- [0, 1] of a PNG, a video or u8 frames (a float tensor's values as they
-- are), or 1 where they pass `threshold` and 0 elsewhere.
function M.mask(src, opts)
  opts = opts or {}
  check_options("mask", opts, { threshold = true, channel = true, start = true, count = true, fps = true }, 2)
  local channel = opts.channel or "luma"
  if channels[channel] == nil then arg_fail("mask", "channel", "luma, r, g, b or alpha", channel, 2) end
  if opts.threshold ~= nil then number_arg("mask", "threshold", opts.threshold, 2) end
  local source, static, what = read_source("mask", src, opts, 2)
  local plane = is_frames(source) and grey("mask", source, channel, 2) or source:float()
  if type(src) == "string" then source:free() end
  if opts.threshold then
    -- 1 above the threshold: (v - thr) scaled past any step between levels
    inplace_clamp(inplace_affine(plane, 1e9, -1e9 * opts.threshold), 0, 1)
  end
  return plane_map(("mask(%s%s)"):format(what, opts.threshold and ", > " .. fmt(opts.threshold) or ""), plane, static)
end

-- segment(source, {id = n | {n, ...}, color = {r, g, b} | {{r, g, b}, ...},
-- tolerance}): 1 where a segmentation picture or video holds one of the ids
-- (its first channel: gray, 16-bit or grey-coded) or colours (within
-- `tolerance`, the sum of the three channels' differences: compressed
-- videos need some), 0 elsewhere.
function M.segment(src, opts)
  if type(opts) ~= "table" then arg_fail("segment", "the options", "a table {id = ...} or {color = ...}", opts, 2) end
  check_options("segment", opts, { id = true, color = true, tolerance = true, start = true, count = true, fps = true }, 2)
  if (opts.id == nil) == (opts.color == nil) then
    error("control.segment: give id = n (or a list) or color = {r, g, b} (or a list), one of them", 2)
  end
  local tol = number_arg("segment", "tolerance", opts.tolerance or 0, 2, 0)
  local source, static, what = read_source("segment", src, opts, 2)
  local targets = opts.id or opts.color
  if opts.id ~= nil and type(targets) ~= "table" then targets = { targets } end
  if opts.color ~= nil and type(targets) == "table" and type(targets[1]) == "number" then targets = { targets } end
  if type(targets) ~= "table" or #targets == 0 then
    arg_fail("segment", opts.id and "id" or "color", opts.id and "a number or a list" or "{r, g, b} or a list of them",
      targets, 2)
  end
  local frames = is_frames(source) and source or source:unsqueeze(3)
  local planes = {}
  if opts.id then
    planes[1] = channel_of(frames, 0)
  else
    if frames:size(3) < 3 then
      error(("control.segment: color needs an RGB segmentation, %s has %d channel(s); use id"):format(what,
        frames:size(3)), 2)
    end
    for c = 0, 2 do planes[c + 1] = channel_of(frames, c) end
  end
  local out
  for i, target in ipairs(targets) do
    local d
    if opts.id then
      number_arg("segment", ("id[%d]"):format(i), target, 2)
      d = absdiff(planes[1], target)
    else
      if type(target) ~= "table" or #target ~= 3 then arg_fail("segment", ("color[%d]"):format(i), "{r, g, b}", target, 2) end
      for c = 1, 3 do
        number_arg("segment", ("color[%d][%d]"):format(i, c), target[c], 2)
        local x = absdiff(planes[c], target[c])
        if d then
          inplace_binary(d, x, C.ORR_ADD)
          x:free()
        else
          d = x
        end
      end
    end
    -- integer differences: 1 within the tolerance, 0 from tolerance + 1 on
    local eq = inplace_clamp(inplace_affine(d, -1, 1 + tol), 0, 1)
    out = out and inplace_binary(out, eq, C.ORR_MAX) or eq
    if out ~= eq then eq:free() end
  end
  for _, p in ipairs(planes) do p:free() end
  if type(src) == "string" then source:free() end
  local list = {}
  for i, target in ipairs(targets) do
    list[i] = type(target) == "table" and "{" .. table.concat(target, ",") .. "}" or fmt(target)
  end
  return plane_map(("segment(%s, %s %s)"):format(what, opts.id and "id" or "color", table.concat(list, " | ")), out,
    static)
end

-- fn(function(t, y, x) ... end, {static, size}): the function at every
-- pixel centre of every frame, in Lua: T*H*W calls (121x704x1280 is 109M:
-- 0.4 s for arithmetic that LuaJIT compiles into the loop, seconds to
-- minutes for functions that allocate or call C). static = true calls it
-- for one frame (t = 0) that holds for all; size = {h, w} at a smaller
-- size, resized bilinearly.
function M.fn(f, opts)
  if type(f) ~= "function" then arg_fail("fn", "f", "a function(t, y, x)", f, 2) end
  opts = opts or {}
  check_options("fn", opts, { static = true, size = true }, 2)
  local size = opts.size
  if size ~= nil then
    if type(size) ~= "table" or #size ~= 2 then arg_fail("fn", "size", "{h, w}", size, 2) end
    for i = 1, 2 do
      if type(size[i]) ~= "number" or size[i] < 1 or size[i] % 1 ~= 0 then
        arg_fail("fn", ("size[%d]"):format(i), "a whole number of pixels >= 1", size[i], 2)
      end
    end
  end
  local static = opts.static and true or false
  return new_map(("fn(function%s%s)"):format(static and ", static" or "",
    size and (", at %dx%d"):format(size[1], size[2]) or ""), function(_, ctx)
    local T, H, W = static and 1 or ctx.T, size and size[1] or ctx.H, size and size[2] or ctx.W
    local out = tensor.empty({ T, H, W })
    local p = ffi.cast("float*", out.ptr.data)
    local i = 0
    for t = 0, T - 1 do
      for r = 0, H - 1 do
        local y = (r + 0.5) / H
        for c = 0, W - 1 do
          local x = (c + 0.5) / W
          local v = f(t, y, x)
          if type(v) ~= "number" then
            out:free()
            error(("control.fn: the function returned a %s at t = %d, y = %g, x = %g; it must return a number")
              :format(type(v), t, y, x), 0)
          end
          p[i] = v
          i = i + 1
        end
      end
    end
    if H == ctx.H and W == ctx.W then return out end
    local x = out:view_as({ T, 1, H, W })
    local big = x:resize({ ctx.H, ctx.W }, "bilinear")
    local r = big:view_as({ T, ctx.H, ctx.W })
    x:free()
    out:free()
    big:free()
    return r
  end)
end

---------------------------------------------------------------------------
-- render, save, preview

local function size_arg(fn, name, v, level)
  if type(v) ~= "number" or v ~= v or v < 1 or v % 1 ~= 0 or v == math.huge then
    error(("control.%s: %s is %s; a map's size is T frames, H and W pixels, whole numbers >= 1"):format(fn, name,
      core.describe_value(v)), level + 1)
  end
  return v
end

local function render(fn, m, T, H, W, name, level)
  size_arg(fn, "T", T, level + 1)
  size_arg(fn, "H", H, level + 1)
  size_arg(fn, "W", W, level + 1)
  m = as_map(m, fn, "map", level + 1)
  local ctx = { T = T, H = H, W = W, X = centres(W, 2), Y = centres(H, 1) }
  local ok, result = pcall(m._eval, m, ctx)
  ctx.X:free()
  ctx.Y:free()
  if not ok then error(result, level + 1) end
  local out = result
  if not same_shape(result, { T, H, W }) then
    out = tensor.empty({ T, H, W })
    out:copy(result)
    result:free()
  end
  local label = name and ("control map '%s'"):format(name) or "control map"
  local bad = out:count_nonfinite()
  if bad > 0 then
    out:free()
    error(("%s has %d NaN or infinite values (a division by zero?); weights must be numbers >= 0"):format(label, bad),
      level + 1)
  end
  local lo = out:min()
  if lo < 0 then
    out:free()
    error(("%s has negative values (min %.3g); weights must be >= 0"):format(label, lo), level + 1)
  end
  return out
end

-- The map as f32 [T,H,W]; `name` (optional) names it in errors.
function M.render(m, T, H, W, name)
  local out = render("render", m, T, H, W, name, 2)
  return out
end

-- Writes the map as the .pt the official spec's "control_weight" reads (a
-- torch.save'd [T,H,W] float tensor), or as .safetensors (one tensor,
-- "control_weight") when the path says so.
local function save(m, path, T, H, W, level)
  if type(path) ~= "string" or path == "" then arg_fail("save", "path", "a file name", path, level + 1) end
  local t = render("save", m, T, H, W, path:match("([^/]*)$"), level + 1)
  local status
  if path:lower():match("%.safetensors$") then
    local names = ffi.new("const char*[1]", { "control_weight" })
    local ts = ffi.new("const orr_tensor*[1]", { t.ptr })
    status = C.orr_st_save(path, 1, names, ts, 0, nil, nil)
  else
    status = C.orr_torch_save_tensor(t.ptr, path)
  end
  t:free()
  check(status, level + 1)
end

function M.save(m, path, T, H, W) save(m, path, T, H, W, 2) end

local kind_order = { vis = 1, edge = 2, depth = 3, seg = 4, keypoint = 5, upscale = 6, hdmap = 7, lidar = 8 }

local function frames_of(v, what, level)
  if type(v) == "string" then
    if is_picture(v) then return require("orrery.media").read_png(v):unsqueeze(0) end
    return (require("orrery.media").load_video(v))
  end
  if tensor.is_tensor(v) then
    local s = v:shape()
    if v:dtype() == "u8" and #s == 4 then return v end
    if v:dtype() == "u8" and #s == 3 then return v:unsqueeze(0) end
    if #s == 4 and s[1] == 3 then return require("orrery.media").from_model(v) end
  end
  error(("control.preview: %s must be a video or PNG file, u8 frames [T,H,W,3] or a float video [3,T,H,W], got %s")
    :format(what, core.describe_value(v)), level + 1)
end

local preview_options = { size = true, min = true, max = true, title = true, width = true, height = true,
  fullscreen = true, loop = true, speed = true, layout = true, screenshot_dir = true, script = true, fps = true }

-- preview(map | {edge = map, depth = map, ...}, video | {edge = video, ...}, opts):
-- each map as a heatmap over its control video, one pane per control (in
-- the official order), rendered at the video's frames and size (opts.size =
-- {T, H, W} instead; large frames are rendered at most 360 pixels high: the
-- network sees the map at 1/16 anyway). opts.min, opts.max: the colour range
-- (0 and the largest weight, at least 1); the viewer's options (title,
-- layout, loop, script, ...). Returns true once the window is closed, or
-- false and the reason without a display, as orrery.view.
local function preview(maps, video, opts, level)
  opts = opts or {}
  check_options("preview", opts, preview_options, level + 1)
  if is_map(maps) or type(maps) == "number" or tensor.is_tensor(maps) or is_schedule(maps) then
    maps = { map = maps }
  end
  if type(maps) ~= "table" or next(maps) == nil then
    arg_fail("preview", "maps", "a map or a table {edge = map, depth = map, ...}", maps, level + 1)
  end
  if video == nil then error("control.preview: give the control video to show the maps over", level + 1) end
  local names = {}
  for k in pairs(maps) do names[#names + 1] = k end
  table.sort(names, function(a, b)
    local ra, rb = kind_order[a] or 99, kind_order[b] or 99
    if ra ~= rb then return ra < rb end
    return tostring(a) < tostring(b)
  end)
  local per_kind = type(video) == "table" and not tensor.is_tensor(video)
  local panes, loaded = {}, {}
  for _, name in ipairs(names) do
    local v = video
    if per_kind then v = video[name] end
    if v == nil then error(("control.preview: no control video for '%s'"):format(name), level + 1) end
    loaded[v] = loaded[v] or frames_of(v, per_kind and ("video." .. name) or "video", level + 1)
    local frames = loaded[v]
    local s = frames:shape()
    local T, H, W = s[1], s[2], s[3]
    if opts.size then
      if type(opts.size) ~= "table" or #opts.size ~= 3 then arg_fail("preview", "size", "{T, H, W}", opts.size, level + 1) end
      T, H, W = opts.size[1], opts.size[2], opts.size[3]
    elseif H > 360 then
      local k = math.ceil(H / 360)
      H, W = math.ceil(H / k), math.ceil(W / k)
    end
    local w = render("preview", maps[name], T, H, W, name, level + 1)
    local hi = opts.max or math.max(1, w:max())
    panes[#panes + 1] = { frames = frames, label = tostring(name),
      overlay = { weights = w, min = opts.min or 0, max = hi } }
  end
  local spec = { title = opts.title or "control maps: " .. table.concat(names, ", "),
    loop = opts.loop == nil and true or opts.loop }
  for k in pairs(preview_options) do
    if k ~= "size" and k ~= "min" and k ~= "max" and spec[k] == nil then spec[k] = opts[k] end
  end
  for i, p in ipairs(panes) do spec[i] = p end
  local ok, why = require("orrery.view").show(spec)
  for _, p in ipairs(panes) do p.overlay.weights:free() end
  return ok, why
end

function M.preview(maps, video, opts)
  local ok, why = preview(maps, video, opts, 2)
  return ok, why
end

function Map:render(T, H, W, name)
  local out = render("render", self, T, H, W, name, 2)
  return out
end

function Map:save(path, T, H, W) save(self, path, T, H, W, 2) end

function Map:preview(video, opts)
  local ok, why = preview(self, video, opts, 2)
  return ok, why
end

return M
