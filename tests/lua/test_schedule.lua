-- Schedules: keyframe strings with each interpolation, expressions, arrays,
-- functions, loud parse errors with the column, and the text form outputs
-- store.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local orrery = require "orrery"
local schedule = orrery.schedule

T.case("keyframes, linear", function()
  local s = schedule "0:(7.0), 20:(3.0)"
  T.eq(s:at(0, 21), 7, "first key")
  T.eq(s:at(10, 21), 5, "halfway")
  T.eq(s:at(20, 21), 3, "last key")
  T.eq(s:at(35, 36), 3, "the last value holds")
  T.eq(schedule("5:(1), 10:(2)"):at(0, 11), 1, "the first value holds before the first key")
  T.eq(schedule("20:(3), 0:(7)"):at(10, 21), 5, "keys in any order")
end)

T.case("step and smooth", function()
  local st = schedule("0:(1), 5:(2)", "step")
  T.eq(st:at(4, 8), 1, "step holds")
  T.eq(st:at(5, 8), 2, "until the next key")
  local sm = schedule("0:(0), 10:(10), 20:(0)", "smooth")
  local v = sm:values(21)
  T.eq(v[11], 10, "passes through the keys")
  T.eq(v[6], 6.25, "a Hermite midpoint (slope 0 at the peak)")
  for i = 1, 21 do T.ok(v[i] >= 0 and v[i] <= 10, "never overshoots: " .. v[i]) end
  for i = 2, 11 do T.ok(v[i] >= v[i - 1], "monotone between monotone keys") end
  T.fails(function() schedule("0:(1)", "cubic") end, "interp must be linear, step or smooth, got 'cubic'", "bad interp")
end)

T.case("expressions, arrays and functions", function()
  T.eq(schedule("0:(t * 2)"):at(3, 10), 6, "t is the step (Deforum)")
  T.eq(schedule("0:(u)"):at(5, 11), 0.5, "u is the fraction")
  T.near(schedule("0:(sin(pi / 2))"):at(0, 1), 1, 1e-12, "math in scope")
  local a = schedule { 7, 6, 5 }
  T.eq(a:at(1), 6, "arrays are 0-based by step")
  T.eq(a:at(9), 5, "the last holds")
  local f = schedule(function(step, t) return step + t end)
  T.eq(f:at(5, 11), 5.5, "functions get (step, t)")
  T.eq(schedule(4):at(3, 10), 4, "a constant")
  T.ok(schedule(4):is_constant(), "constant")
end)

T.case("errors name the column", function()
  T.fails(function() schedule "0(7)" end, "expected ':' after the key 0 at column 2", "missing colon")
  T.fails(function() schedule "0:(7" end, "unclosed '(' in the value of key 0 at column 3", "unclosed")
  T.fails(function() schedule "0:(7) 5:(3)" end, "expected ',' between keyframes at column 7", "missing comma")
  T.fails(function() schedule "0:(1), 0:(2)" end, "the key 0 appears twice", "duplicate key")
  T.fails(function() schedule "1.5:(1)" end, "is not a step", "fractional key")
  T.fails(function() schedule "0:(foo bar)" end, "is not a Lua expression", "bad expression")
  T.fails(function() schedule("0:(nope)"):at(0, 1) end, "the value 'nope' at step 0 is a nil, not a number", "nil value")
  T.fails(function() schedule(function() return "x" end):at(0, 1) end, "returned a string at step 0", "bad function")
  T.fails(function() schedule {} end, "needs at least one value", "empty array")
  T.fails(function() schedule(true) end, "expected a number, a keyframe string", "wrong type")
end)

T.case("the stored form reads back", function()
  for _, s in ipairs { schedule(7), schedule("0:(7), 9:(2)", "smooth"), schedule { 1, 2, 3 },
    schedule(function(i) return 10 - i end) } do
    local back = schedule.from_description(s:describe(10))
    for i = 0, 9 do T.near(back:at(i, 10), s:at(i, 10), 1e-12, tostring(s) .. " at " .. i) end
  end
end)

T.case("plots", function()
  local svg = schedule("0:(7), 20:(3)"):plot(21)
  T.ok(svg:match("^<svg") and svg:find("polyline", 1, true), "an SVG with a line")
  T.fails(function() orrery.plot.lines { series = { { y = { 1, 0 } } }, log_y = true } end, "log_y needs positive values",
    "log of zero")
end)

T.done()
