-- schedule.lua — one value for any per-step or per-frame parameter
-- (guidance, sigmas, control weights, prompt weights):
--
--   schedule(7.5)                              a constant
--   schedule("0:(7.0), 20:(3.0)")              keyframes, as Deforum writes them
--   schedule("0:(7), 20:(3)", "smooth")        ... interpolated linear (default),
--                                              step (hold) or smooth (monotone cubic)
--   schedule({7, 6, 5, 4})                     one value per step (the last holds)
--   schedule(function(step, t) return 7 - 4 * t end)
--
-- Steps (or frames) are 0-based. A schedule is read over `count` points:
-- s:at(step, count); t = step / (count - 1) runs from 0 to 1. Keyframe
-- values may be Lua expressions, with Deforum's variable names: t is the
-- step (or frame) index, n the count, u = t / (n - 1), and math's functions
-- (sin, cos, exp, pi, ...) are in scope: "0:(7 + sin(t / 5))". Before the
-- first key the first value holds, after the last the last.
--
-- Malformed strings fail loudly when parsed, naming the column.
local M = {}

local Schedule = { __name = "schedule" }
Schedule.__index = Schedule
M.Schedule = Schedule

local interps = { linear = true, step = true, smooth = true }

local function fail(spec, col, what, level)
  error(("schedule: %s at column %d in \"%s\""):format(what, col, spec), level + 1)
end

-- Keyframes "K:(V), K:(V), ...": an array of {key = number, text = V,
-- column = where V starts}. Parentheses inside V must balance.
function M.parse_keys(spec, level)
  level = (level or 1) + 1
  local keys, pos, n = {}, 1, #spec
  local function skip() pos = spec:find("[^%s]", pos) or n + 1 end
  skip()
  if pos > n then fail(spec, 1, "no keyframes", level) end
  while pos <= n do
    local key = spec:match("^%-?%d+%.?%d*", pos)
    if not key then fail(spec, pos, "expected a step number", level) end
    local key_col = pos
    pos = pos + #key
    skip()
    if spec:sub(pos, pos) ~= ":" then fail(spec, pos, "expected ':' after the key " .. key, level) end
    pos = pos + 1
    skip()
    if spec:sub(pos, pos) ~= "(" then fail(spec, pos, "expected '(' to open the value of key " .. key, level) end
    local open, depth, stop = pos, 0, nil
    for i = pos, n do
      local c = spec:sub(i, i)
      if c == "(" then depth = depth + 1 elseif c == ")" then depth = depth - 1 end
      if depth == 0 then
        stop = i
        break
      end
    end
    if not stop then fail(spec, open, "unclosed '(' in the value of key " .. key, level) end
    local k = tonumber(key)
    if k < 0 or k % 1 ~= 0 then fail(spec, key_col, "the key " .. key .. " is not a step (0, 1, 2, ...)", level) end
    for _, prev in ipairs(keys) do
      if prev.key == k then fail(spec, key_col, "the key " .. key .. " appears twice", level) end
    end
    keys[#keys + 1] = { key = k, text = spec:sub(open + 1, stop - 1), column = open + 1 }
    pos = stop + 1
    skip()
    if pos <= n then
      if spec:sub(pos, pos) ~= "," then fail(spec, pos, "expected ',' between keyframes", level) end
      pos = pos + 1
      skip()
      if pos > n then fail(spec, pos, "a keyframe is missing after ','", level) end
    end
  end
  table.sort(keys, function(a, b) return a.key < b.key end)
  return keys
end

-- The environment of keyframe expressions: math, and the variables set per call.
local function expression(spec, key, level)
  local v = tonumber(key.text)
  if v then return function() return v end end
  local env = setmetatable({}, { __index = math })
  local fn, err = loadstring("return (" .. key.text .. ")", "=schedule")
  if not fn then
    fail(spec, key.column, ("the value '%s' is not a Lua expression (%s)"):format(key.text, err:gsub("^schedule:%d+: ", "")),
      level + 1)
  end
  setfenv(fn, env)
  return function(step, count)
    env.t, env.n, env.u = step, count, count and count > 1 and step / (count - 1) or 0
    env.step = step
    local ok, x = pcall(fn)
    if not ok or type(x) ~= "number" then
      error(("schedule \"%s\": the value '%s' at step %d %s"):format(spec, key.text, step,
        ok and "is a " .. type(x) .. ", not a number" or "failed: " .. tostring(x):gsub("^schedule:%d+: ", "")), 0)
    end
    return x
  end
end

-- Fritsch-Carlson style slope at key j: zero at a local extremum, the
-- weighted harmonic mean of the neighbouring secants elsewhere, so the
-- curve never overshoots its keys.
local function slope(xs, ys, j)
  local n = #xs
  if n < 2 then return 0 end
  if j == 1 then return (ys[2] - ys[1]) / (xs[2] - xs[1]) end
  if j == n then return (ys[n] - ys[n - 1]) / (xs[n] - xs[n - 1]) end
  local h0, h1 = xs[j] - xs[j - 1], xs[j + 1] - xs[j]
  local d0, d1 = (ys[j] - ys[j - 1]) / h0, (ys[j + 1] - ys[j]) / h1
  if d0 * d1 <= 0 then return 0 end
  return 3 * (h0 + h1) / ((2 * h1 + h0) / d0 + (h1 + 2 * h0) / d1)
end

local function keyframe_at(self, step, count)
  local keys = self.keys
  if step <= keys[1].key then return keys[1].value(step, count) end
  if step >= keys[#keys].key then return keys[#keys].value(step, count) end
  local j = 1
  while keys[j + 1].key <= step do j = j + 1 end
  local a, b = keys[j], keys[j + 1]
  if self.interp == "step" or step == a.key then return a.value(step, count) end
  local w = (step - a.key) / (b.key - a.key)
  local ya, yb = a.value(step, count), b.value(step, count)
  if self.interp == "linear" then return ya + (yb - ya) * w end
  -- smooth: cubic Hermite through the keys with monotone slopes
  local lo, hi = math.max(1, j - 1), math.min(#keys, j + 2)
  local xs, ys = {}, {}
  for i = lo, hi do
    xs[#xs + 1] = keys[i].key
    ys[#ys + 1] = keys[i].value(step, count)
  end
  local ja = j - lo + 1
  local h = b.key - a.key
  local ma, mb = slope(xs, ys, ja) * h, slope(xs, ys, ja + 1) * h
  if (yb - ya) * ma < 0 then ma = 0 end
  if (yb - ya) * mb < 0 then mb = 0 end
  local w2, w3 = w * w, w * w * w
  return (2 * w3 - 3 * w2 + 1) * ya + (w3 - 2 * w2 + w) * ma + (-2 * w3 + 3 * w2) * yb + (w3 - w2) * mb
end

-- spec: a number, keyframe string, array, function(step, t) or schedule;
-- interp: "linear" (default), "step" or "smooth" (keyframes only).
function M.new(spec, interp, level)
  level = (level or 1) + 1
  if getmetatable(spec) == Schedule then return spec end
  interp = interp or "linear"
  if not interps[interp] then
    error(("schedule: interp must be linear, step or smooth, got '%s'"):format(tostring(interp)), level)
  end
  local self = setmetatable({ spec = spec, interp = interp }, Schedule)
  local kind = type(spec)
  if kind == "number" then
    self.kind = "constant"
  elseif kind == "string" then
    self.kind = "keyframes"
    self.keys = M.parse_keys(spec, level)
    for _, k in ipairs(self.keys) do k.value = expression(spec, k, level) end
  elseif kind == "table" then
    if #spec == 0 then error("schedule: an array schedule needs at least one value", level) end
    for i = 1, #spec do
      if type(spec[i]) ~= "number" then
        error(("schedule: an array schedule holds numbers, but item %d is a %s"):format(i, type(spec[i])), level)
      end
    end
    self.kind = "array"
  elseif kind == "function" then
    self.kind = "function"
  else
    error("schedule: expected a number, a keyframe string, an array or a function, got " .. kind, level)
  end
  return self
end

-- The value at `step` (0-based) of a run read over `count` points.
function Schedule:at(step, count)
  local kind = self.kind
  if kind == "constant" then return self.spec end
  if kind == "array" then return self.spec[math.min(step + 1, #self.spec)] end
  if kind == "keyframes" then return keyframe_at(self, step, count) end
  local t = count and count > 1 and step / (count - 1) or 0
  local v = self.spec(step, t)
  if type(v) ~= "number" then
    error(("schedule: the function returned a %s at step %d, not a number"):format(type(v), step), 0)
  end
  return v
end

-- The values at steps 0 .. count-1, as a Lua array.
function Schedule:values(count)
  local out = {}
  for i = 0, count - 1 do out[i + 1] = self:at(i, count) end
  return out
end

function Schedule:is_constant() return self.kind == "constant" end

function Schedule:__tostring()
  if self.kind == "constant" then return ("schedule %g"):format(self.spec) end
  if self.kind == "keyframes" then return ("schedule \"%s\" (%s)"):format(self.spec, self.interp) end
  if self.kind == "array" then return ("schedule of %d values"):format(#self.spec) end
  return "schedule (Lua function)"
end

-- A record for output metadata: the spec as text, or nil for a function
-- (which cannot be stored; the values then are).
function Schedule:describe(count)
  if self.kind == "constant" then return tostring(self.spec) end
  if self.kind == "keyframes" then
    return self.interp == "linear" and self.spec or self.spec .. " @" .. self.interp
  end
  local vals = {}
  for i, v in ipairs(self:values(count)) do vals[i] = ("%.17g"):format(v) end
  return "[" .. table.concat(vals, ",") .. "]"
end

-- The inverse of describe: a number, "K:(V), ... @interp" or "[v,v,...]".
function M.from_description(text)
  local n = tonumber(text)
  if n then return M.new(n) end
  if text:sub(1, 1) == "[" then
    local vals = {}
    for v in text:sub(2, -2):gmatch("[^,]+") do vals[#vals + 1] = tonumber(v) end
    return M.new(vals)
  end
  local spec, interp = text:match("^(.-)%s*@(%a+)$")
  return M.new(spec or text, interp)
end

-- An SVG plot of the schedule over count points (see orrery.plot).
function Schedule:plot(count, opts)
  opts = opts or {}
  local plot = require "orrery.plot"
  local ys = self:values(count)
  local xs = {}
  for i = 1, count do xs[i] = i - 1 end
  return plot.lines {
    title = opts.title or tostring(self), xlabel = opts.xlabel or "step", ylabel = opts.ylabel,
    series = { { x = xs, y = ys, label = opts.label } }, log_y = opts.log_y, width = opts.width, height = opts.height,
  }
end

setmetatable(M, { __call = function(_, spec, interp) return M.new(spec, interp, 2) end })

return M
