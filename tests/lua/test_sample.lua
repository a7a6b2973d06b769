-- Sampling from Lua on a tiny random DiT: every sampler, guidance as a
-- schedule, per-step hooks that see x0, change the guidance and stop the
-- run, previews, cancel, custom sigmas, errors from hooks and the core.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local orrery = require "orrery"

local model = orrery.default_model { small = true }
local dit = orrery.random_dit(model.dit_network, model.dit_config, 3)
local text = orrery.randn({ 1, 4, 16 }, 1)
local shape = { 1, 16, 2, 4, 4 }

local function run(opts)
  opts.text, opts.shape, opts.progress = opts.text or text, opts.shape or shape, opts.progress or false
  opts.steps = opts.steps or 4
  return orrery.sample(dit, opts)
end

T.case("every sampler runs and is deterministic", function()
  for _, kind in ipairs(orrery.sample.samplers) do
    local a, rec = run { sampler = kind, seed = 5 }
    local b = run { sampler = kind, seed = 5 }
    T.ok(T.same(a, b), kind .. ": same seed, same latent")
    T.eq(rec.sampler, kind, "recorded sampler")
    T.eq(a:count_nonfinite(), 0, kind .. ": finite")
  end
  T.ok(not T.same(run { seed = 1 }, (run { seed = 2 })), "another seed, another latent")
end)

T.case("guidance schedules", function()
  local a = run { seed = 3, guidance = 5 }
  T.ok(T.same(a, (run { seed = 3, guidance = "0:(5), 4:(5)" })), "a flat schedule equals the number")
  T.ok(T.same(a, (run { seed = 3, guidance = function() return 5 end })), "so does a function")
  T.ok(not T.same(a, (run { seed = 3, guidance = "0:(5), 4:(1)" })), "a falling schedule changes the result")
  local seen = {}
  run { seed = 3, guidance = { 9, 8, 7, 6, 5 }, on_step = function(s) seen[s.step] = s.guidance end }
  T.eq(seen[0], 9, "the hook sees step 0's guidance")
  T.eq(seen[3], 6, "and step 3's")
end)

T.case("hooks see each step and can steer", function()
  local steps, sigmas = {}, {}
  local _, rec = run { seed = 4, on_step = function(s)
    steps[#steps + 1] = s.step
    sigmas[#sigmas + 1] = s.sigma
    T.ok(orrery.is_tensor(s.x0) and s.x0:size(1) == 16, "x0 is the latent-shaped estimate")
    T.eq(s.steps, 4, "steps")
    T.ok(orrery.is_tensor(s.x) and s.x:size(1) == 16, "x is the state after the step")
    if s.step == s.steps - 1 then
      local d = s.x - s.x0
      T.eq((d * d):max(), 0, "the last Euler step lands on its estimate")
      d:free()
    end
  end }
  T.eq(#steps, 4, "one call per step")
  T.eq(steps[1], 0, "0-based steps")
  T.ok(sigmas[1] > sigmas[2], "sigma falls")
  local kept
  run { seed = 4, on_step = function(s) kept = s.x0 end }
  T.fails(function() kept:numel() end, "tensor was freed", "x0 is only valid during the call")

  local used = {}
  _, rec = run { seed = 4, guidance = 7, on_step = function(s)
    used[s.step] = s.guidance
    if s.step == 1 then s:set_guidance(2) end
  end }
  T.eq(used[1], 7, "the step that changed it ran with the old value")
  T.eq(used[2], 2, "later steps use the new one")
  T.eq(rec.guidance, "[7,7,2,2,2]", "the record holds what each step used")

  local stopped, srec = run { seed = 4, on_step = function(s) if s.step == 1 then return "stop" end end }
  T.eq(srec.stopped_at, 1, "stopped at step 1")
  T.eq(stopped:count_nonfinite(), 0, "the result is that step's estimate")
end)

T.case("previews, progress and cancel", function()
  local previews = {}
  run { seed = 1, steps = 5, preview_every = 2, preview = function(step) previews[#previews + 1] = step end }
  T.eq(table.concat(previews, ","), "0,2,4", "every 2nd step and the last")
  local lines = {}
  run { seed = 1, progress = function(p) lines[#lines + 1] = require("orrery.progress").line(p) end }
  T.eq(#lines, 4, "progress per step")
  T.ok(lines[4]:find("4/4", 1, true) ~= nil, "the bar counts steps: " .. lines[4])
  local polls = 0
  T.fails(function() run { cancel = function() polls = polls + 1 return polls > 2 end } end, "cancelled before step 2",
    "cancel stops with the core's message")
end)

T.case("sigmas", function()
  local k = orrery.karras(4, 80, 0.002, 7)
  T.eq(#k, 5, "steps + 1 sigmas")
  T.near(k[1], 80, 1e-4, "from sigma_max")
  T.eq(k[5], 0, "to 0")
  local a = run { seed = 2, sigmas = k }
  T.ok(T.same(a, (run { seed = 2, sigma_max = 80, sigma_min = 0.002 })), "given sigmas equal the Karras options")
  local _, rec = run { seed = 2, sigmas = "0:(60), 4:(0)" }
  T.ok(rec.sigmas ~= nil, "custom sigmas are recorded")
  T.fails(function() run { sigmas = { 1, 2, 1, 0, 0 } } end, "the schedule is not decreasing", "the core checks them")
end)

T.case("errors", function()
  T.fails(function() run { on_step = function() error("my hook broke") end } end, "my hook broke", "hook errors surface")
  T.fails(function() run { guidance = function() return "x" end } end, "returned a string at step 0", "bad guidance")
  T.fails(function() run { shape = { 1, 15, 2, 4, 4 } } end, "the latent has 15 channels but the network takes 16",
    "the core's shape message")
  T.fails(function() run { sampler = "ddim" } end, "sampler must be one of euler, heun, res_2ab, dpmpp_2m, got 'ddim'",
    "unknown sampler")
  T.fails(function() run { stepz = 3 } end, "unknown option 'stepz'", "typo in an option")
  T.fails(function() run { steps = "many" } end, "steps must be a number", "wrong type")
  T.fails(function() run { on_step = 3 } end, "on_step must be a function", "hook not a function")
  T.fails(function() orrery.sample(dit, { shape = shape }) end, "text must be a tensor", "no text")
  T.fails(function() orrery.sample({}, { text = text, shape = shape }) end, "expected a DiT", "not a DiT")
  local after = run { seed = 9 }
  T.eq(after:count_nonfinite(), 0, "runs still work after failures")
end)

T.done()
