-- sample.lua — sampling a latent with a DiT, every option of the C
-- samplers from one Lua table, with a progress bar and per-step hooks in Lua.
--
--   local latent, record = orrery.sample(dit, {
--     text = emb, neg_text = neg,            -- [B, L, D] embeddings
--     shape = {1, 16, 2, 16, 16},            -- [B, C, T, H, W] of the latent
--     sampler = "euler", steps = 35, seed = 1,
--     guidance = "0:(7), 20:(3)",            -- a number or any schedule
--     on_step = function(s)                  -- after every step
--       print(s.step, s.sigma, s.x0:std())
--       if s.step == 10 then s:set_guidance(2) end   -- later steps use 2
--       if s.sigma < 0.5 then return "stop" end      -- ends with this x0
--     end,
--   })
--
-- Options (defaults are the official code's, from orr_sampler_params_init):
--   sampler     "euler" (the official loop), "heun", "res_2ab", "dpmpp_2m"
--   steps, sigma_max, sigma_min, rho, sigma_data
--   sigmas      steps+1 values (array or schedule) instead of Karras'
--   guidance    number, keyframe string, array or function(step, t);
--               read over steps+1 points (the last for a final clean step)
--   seed, init_noise, init_latent (video-to-video), bf16
--   text, neg_text, text_lengths, neg_text_lengths, fps, padding_mask
--   condition_latent, condition_frames, augment_sigma, augment_noise,
--   input_frames_guidance (Video2World)
--   out         the latent tensor to write (else `shape` makes one)
--   progress    true (a bar on stderr; the default), false, or function(p)
--   preview     function(step, x0), every `preview_every` steps and the last
--   on_step     function(s) after each step: s.step (0-based), s.steps,
--               s.sigma, s.sigma_next, s.guidance, s.x0 (the denoised
--               estimate) and s.x (the state after the step, at
--               sigma_next), both valid during the call: clone to keep;
--               s:set_guidance(g), s:stop() or returning "stop"/false
--   cancel      function() -> true to stop with an error
--
-- The hooks run on the calling thread, between steps. An error in one
-- stops the run and is raised from orrery.sample. Ctrl-C in the REPL stops
-- a run too. Returns the latent and a record of the parameters (what an
-- output stores so that it can be run again).
local ffi = require "ffi"
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local schedule = require "orrery.schedule"
local models = require "orrery.models"
local progress = require "orrery.progress"
local C, check = core.C, core.check

local M = {}

local kinds = { euler = C.ORR_SAMPLER_EULER, heun = C.ORR_SAMPLER_HEUN, res_2ab = C.ORR_SAMPLER_RES_2AB,
  dpmpp_2m = C.ORR_SAMPLER_DPMPP_2M }
M.samplers = { "euler", "heun", "res_2ab", "dpmpp_2m" }

-- Ctrl-C in the `orrery` command (lua/cli.c): absent in other hosts.
pcall(ffi.cdef, "int orr_cli_catch_interrupts(int mode); int orr_cli_interrupted(void);")
local in_cli = pcall(function() return ffi.C.orr_cli_interrupted end)
local cli_interrupted = in_cli and ffi.C.orr_cli_interrupted or nil

local function kind_of(name, level)
  local k = kinds[name or "euler"]
  if not k then
    error(("sample: sampler must be one of euler, heun, res_2ab, dpmpp_2m, got '%s'"):format(tostring(name)), level + 1)
  end
  return k
end

local options = {
  text = true, neg_text = true, text_lengths = true, neg_text_lengths = true, fps = true, padding_mask = true,
  condition_latent = true, condition_frames = true, augment_sigma = true, augment_noise = true,
  input_frames_guidance = true, out = true, shape = true, sampler = true, steps = true, sigma_max = true,
  sigma_min = true, rho = true, sigmas = true, sigma_data = true, guidance = true, seed = true, init_noise = true,
  init_latent = true, bf16 = true, progress = true, preview = true, preview_every = true, on_step = true,
  cancel = true,
}

local function check_options(opts, level)
  for k in pairs(opts) do
    if not options[k] then error(("sample: unknown option '%s'"):format(tostring(k)), level + 1) end
  end
end

-- The sampler params of opts (without callbacks); `anchors` keeps alive
-- what the struct points to.
local function sampler_params(opts, anchors, level)
  local p = ffi.new("orr_sampler_params")
  C.orr_sampler_params_init(p, kind_of(opts.sampler, level + 1))
  for _, k in ipairs { "steps", "sigma_max", "sigma_min", "rho", "sigma_data", "seed" } do
    local v = opts[k]
    if v ~= nil then
      if type(v) ~= "number" then
        error(("sample: %s must be a number, got %s"):format(k, core.describe_value(v)), level + 1)
      end
      p[k] = v
    end
  end
  if opts.bf16 ~= nil then p.bf16 = opts.bf16 and true or false end
  if opts.sigmas ~= nil then
    local s = schedule.new(opts.sigmas, nil, level + 1)
    local values = s:values(p.steps + 1)
    anchors.sigmas = ffi.new("double[?]", #values, values)
    anchors.sigma_values = values
    p.sigmas = anchors.sigmas
  end
  if opts.init_noise then p.init_noise = tensor.handle(opts.init_noise, "sample: init_noise", level + 1) end
  if opts.init_latent then p.init_latent = tensor.handle(opts.init_latent, "sample: init_latent", level + 1) end
  return p
end

-- The sigmas a set of options gives: steps+1 numbers.
function M.sigmas(opts)
  opts = opts or {}
  local p = sampler_params(opts, {}, 2)
  local buf = ffi.new("double[?]", p.steps + 1)
  check(C.orr_sampler_sigmas(p, buf, p.steps + 1), 2)
  local out = {}
  for i = 0, p.steps do out[i + 1] = buf[i] end
  return out
end

-- Karras et al.'s schedule: steps+1 sigmas ending in 0.
function M.karras(steps, sigma_max, sigma_min, rho)
  return M.sigmas { steps = steps, sigma_max = sigma_max, sigma_min = sigma_min, rho = rho }
end

local function cond_struct(opts, anchors, level)
  local c = ffi.new("orr_diffusion_cond")
  C.orr_diffusion_cond_init(c)
  c.text = tensor.handle(opts.text, "sample: text", level + 1)
  if opts.neg_text then c.neg_text = tensor.handle(opts.neg_text, "sample: neg_text", level + 1) end
  for _, k in ipairs { "text_lengths", "neg_text_lengths" } do
    if opts[k] then
      anchors[k] = ffi.new("int[?]", #opts[k], opts[k])
      c[k] = anchors[k]
    end
  end
  if opts.fps then c.fps = opts.fps end
  if opts.padding_mask then c.padding_mask = tensor.handle(opts.padding_mask, "sample: padding_mask", level + 1) end
  if opts.condition_latent then
    c.condition_latent = tensor.handle(opts.condition_latent, "sample: condition_latent", level + 1)
  end
  if opts.condition_frames then c.condition_frames = opts.condition_frames end
  if opts.augment_sigma then c.augment_sigma = opts.augment_sigma end
  if opts.augment_noise then c.augment_noise = tensor.handle(opts.augment_noise, "sample: augment_noise", level + 1) end
  if opts.input_frames_guidance ~= nil then c.input_frames_guidance = opts.input_frames_guidance and true or false end
  return c
end

---------------------------------------------------------------------------
-- callbacks: made once, dispatching to the run in progress, so that runs
-- never exhaust LuaJIT's callback slots. Nothing may raise through the C
-- sampler's frames: errors are kept and end the run at the next poll.

local runs = {} -- stack of the runs in progress (a hook may sample too)

local function current() return runs[#runs] end

local function guard(run, fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok and not run.err then
    run.err = err
    run.abort = true
  end
  return ok, err
end

local step_state = {}
step_state.__index = step_state
function step_state:stop() self.run.stop_requested = true end
function step_state:set_guidance(g)
  if type(g) ~= "number" then error("set_guidance: the guidance must be a number, got " .. type(g), 2) end
  self.run.guidance_override = g
end

local callbacks = {
  progress = ffi.cast("orr_progress_fn", function(_, p)
    local run = current()
    if not run or not run.progress then return end
    guard(run, run.progress, { step = p.step, steps = p.steps, sigma = p.sigma, sigma_next = p.sigma_next,
      seconds_per_step = p.seconds_per_step, eta_seconds = p.eta_seconds })
  end),
  preview = ffi.cast("orr_preview_fn", function(_, step, x, x0)
    local run = current()
    if not run or run.abort then return end
    guard(run, function()
      local function borrow(t)
        local out = ffi.new("orr_tensor*[1]")
        check(C.orr_tensor_view(out, t))
        return tensor.wrap(out[0], false)
      end
      -- x and x0 live only during this call: the views are freed right after
      local view, state = borrow(x0), borrow(x)
      local ok, err = pcall(function()
        if run.on_step then
          local s = setmetatable({ run = run, step = step, steps = run.steps, sigma = run.sigmas[step + 1],
            sigma_next = run.sigmas[step + 2], guidance = run.guidance_used[step], x = state, x0 = view },
            step_state)
          local r = run.on_step(s)
          if r == "stop" or r == false then run.stop_requested = true end
          if run.stop_requested then
            run.stopped_at = step
            run.result = view:clone():keep()
          end
        end
        if run.preview and (step % run.preview_every == 0 or step == run.steps - 1) then run.preview(step, view) end
      end)
      view:free()
      state:free()
      if not ok then error(err, 0) end
    end)
  end),
  cancel = ffi.cast("orr_cancel_fn", function(_)
    local run = current()
    if not run then return false end
    if run.abort or run.stop_requested then return true end
    if cli_interrupted and cli_interrupted() ~= 0 then
      run.interrupted = true
      return true
    end
    if run.cancel then
      local ok, r = guard(run, run.cancel)
      return not ok or r == true
    end
    return false
  end),
  guidance = ffi.cast("orr_guidance_fn", function(_, i, sigma)
    local run = current()
    if not run then return 7 end
    local g = run.guidance_override
    if not g then
      local ok, v = guard(run, run.guidance.at, run.guidance, i, run.steps + 1)
      g = ok and v or run.base_guidance
    end
    run.guidance_used[i] = g
    return g
  end),
}

local function latent_out(opts, level)
  if opts.out then return tensor.handle(opts.out, "sample: out", level + 1) and opts.out, false end
  if type(opts.shape) ~= "table" then
    error("sample: give the latent's shape {B, C, T, H, W} as shape, or a tensor as out", level + 1)
  end
  return tensor.empty(opts.shape), true
end

-- The C sampler calls back into Lua: the call stays interpreted, and while
-- it runs a REPL's Ctrl-C is only noted (and seen by the cancel callback),
-- never raised inside a callback, through the sampler's frames.
local function run_sampler(dit_ptr, out_ptr, cond, p)
  local mode = in_cli and ffi.C.orr_cli_catch_interrupts(2)
  local status = C.orr_dit_sample(dit_ptr, out_ptr, cond, p)
  if mode then ffi.C.orr_cli_catch_interrupts(mode) end
  return status
end
jit.off(run_sampler)

-- Samples a latent; see the options at the top of this file.
function M.run(dit, opts)
  local d = models.dit_handle(dit)
  if type(opts) ~= "table" then core.arg_error("sample", "opts", "a table of options", type(opts)) end
  check_options(opts, 2)
  local anchors = {}
  local p = sampler_params(opts, anchors, 2)
  local cond = cond_struct(opts, anchors, 2)
  local guidance = schedule.new(opts.guidance or p.guidance, nil, 2)
  local steps = p.steps

  local sig = ffi.new("double[?]", steps + 1)
  check(C.orr_sampler_sigmas(p, sig, steps + 1), 2)
  local sigmas = {}
  for i = 0, steps do sigmas[i + 1] = sig[i] end

  for _, k in ipairs { "on_step", "preview", "cancel" } do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then
      error(("sample: %s must be a function, got %s"):format(k, type(opts[k])), 2)
    end
  end
  local bar, close_bar = opts.progress, nil
  if bar == nil or bar == true then bar, close_bar = progress.bar() end
  if bar and type(bar) ~= "function" then error("sample: progress must be true, false or a function", 2) end

  local run = {
    steps = steps, sigmas = sigmas, guidance = guidance, base_guidance = p.guidance, guidance_used = {},
    on_step = opts.on_step, preview = opts.preview, preview_every = math.max(1, opts.preview_every or 1),
    cancel = opts.cancel, progress = bar or nil,
  }
  if guidance:is_constant() and not opts.on_step then
    p.guidance = guidance.spec
  else
    p.guidance_fn = callbacks.guidance
  end
  if run.on_step or run.preview then
    p.preview = callbacks.preview
    p.preview_every = 1
  end
  p.progress = callbacks.progress
  p.cancel = callbacks.cancel

  local out, made = latent_out(opts, 2)
  runs[#runs + 1] = run
  local t0 = core.now()
  local status = run_sampler(d, out.ptr, cond, p)
  runs[#runs] = nil
  if close_bar then close_bar() end
  local seconds = core.now() - t0

  local record = {
    sampler = opts.sampler or "euler", steps = steps, seed = tonumber(p.seed), sigma_max = p.sigma_max,
    sigma_min = p.sigma_min, rho = p.rho, sigma_data = p.sigma_data, bf16 = p.bf16,
    guidance = guidance:describe(steps + 1), sigmas = anchors.sigma_values and
        schedule.new(anchors.sigma_values):describe(steps + 1) or nil,
    shape = out:shape(), seconds = seconds,
  }
  if run.guidance_override then
    -- a hook changed the guidance: record what each step used
    local used, last = {}, nil
    for i = 0, steps do
      last = run.guidance_used[i] or (last and run.guidance_override) or guidance:at(i, steps + 1)
      used[i + 1] = last
    end
    record.guidance = schedule.new(used):describe(steps + 1)
  end
  if status == C.ORR_OK then return out, record end
  local message = ffi.string(C.orr_last_error())
  if run.stop_requested and status == C.ORR_ERR_CANCELLED and not run.err then
    -- stopped by a hook: the sample is the denoised estimate of that step
    record.stopped_at = run.stopped_at
    check(C.orr_copy(out.ptr, run.result.ptr), 2)
    run.result:free()
    return out, record
  end
  if run.result then run.result:free() end
  if made then out:free() end
  if run.err then error(tostring(run.err), 2) end
  if run.interrupted then error(message .. " (interrupted)", 2) end
  error(message, 2)
end

setmetatable(M, { __call = function(_, dit, opts) return M.run(dit, opts) end })

return M
