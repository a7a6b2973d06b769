--- # Writing a sampling schedule
---
--- Any per-step value (guidance, sigmas, control weights) is a **schedule**: a number, a keyframe
--- string as Deforum writes them, an array, or a Lua function of `(step, t)` where `t` runs from 0 to 1.
--- Malformed strings fail when parsed, naming the column.
local g = orrery.schedule("0:(7.0), 10:(3.0), 20:(5)")
print(g, g:at(5, 21))
print(pcall(orrery.schedule, "0:(7.0), 10(3.0)"))

--- ## Interpolation
--- `linear` joins the keys with straight lines, `step` holds each key, `smooth` is a monotone cubic that
--- never overshoots them.
local series = {}
for _, mode in ipairs { "linear", "step", "smooth" } do
  series[#series + 1] = { y = orrery.schedule("0:(7), 8:(2), 16:(6), 24:(6)", mode):values(25), label = mode }
end
plot { title = "0:(7), 8:(2), 16:(6), 24:(6)", xlabel = "step", ylabel = "guidance", series = series }

--- Values may be expressions: `t` is the step, `u` the fraction of the run, `n` the count.
show(orrery.schedule("0:(5 + 2 * cos(u * 2 * pi))"))

--- ## Sigmas
--- The samplers walk a decreasing noise schedule. The official one is Karras' (rho 7); any schedule
--- of `steps + 1` values can replace it.
local steps = 12
local karras = orrery.karras(steps, 80, 0.002, 7)
local linear_log = orrery.schedule(function(i, t) return i == steps and 0 or 80 * (0.002 / 80) ^ t end):values(steps + 1)
local function positive(v) local o = {} for i = 1, #v - 1 do o[i] = v[i] end return o end
plot { title = "sigma per step", log_y = true, xlabel = "step",
  series = { { y = positive(karras), label = "karras rho 7" }, { y = positive(linear_log), label = "log-linear" } } }

--- ## Using them
--- Sampling a tiny random model with each schedule and a hook that records how far the denoised
--- estimate moves each step.
local m = orrery.default_model { small = true }
local dit = orrery.random_dit(m.dit_network, m.dit_config, 3)
local text = orrery.randn({ 1, 8, 16 }, 1)
local curves = {}
for name, sig in pairs { karras = karras, ["log-linear"] = linear_log } do
  local prev, moves = nil, {}
  orrery.sample(dit, { text = text, shape = { 1, 16, 2, 8, 8 }, steps = steps, seed = 1, sigmas = sig,
    guidance = "0:(7), 11:(3)", progress = false,
    on_step = function(s)
      if prev then moves[#moves + 1] = (s.x0 - prev):abs():mean() prev:free() end
      prev = s.x0:clone()
    end })
  prev:free()
  curves[#curves + 1] = { y = moves, label = name }
end
plot { title = "mean |x0 change| per step", xlabel = "step", series = curves }
