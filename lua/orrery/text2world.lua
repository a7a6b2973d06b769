-- text2world.lua — a Text2World generation as the official pipeline runs
-- it: Philox noise, the DiT under a sampler with classifier-free guidance,
-- the tokenizer's decoder, and a video whose metadata holds every parameter,
-- so that rerun(file) makes the same video again.
--
--   local r = orrery.text2world {
--     model = orrery.default_model { small = true },   -- or loaded networks
--     prompt = "a robot arm stacks blocks", negative_prompt = "blurry",
--     steps = 20, seed = 7, guidance = "0:(7), 12:(3)",
--     on_step = function(s) ... end,                   -- see orrery/sample.lua
--     out = "robot.mp4",
--   }
--   r.video (u8 [T,H,W,3]), r.latent, r.params, r.path, r.seconds
--
-- A model is either a table like orrery/default_model.lua (networks built
-- with random weights from its configs and seed, kept for reuse), or
-- {dit = ..., tokenizer = ..., latent_mean = ..., latent_std = ...} from
-- orrery.load_model. Until orrery has a T5 encoder, prompts are encoded by
-- the model's `encoder` (default: orrery.prompt.random_encoder, a stand-in).
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local models = require "orrery.models"
local sample = require "orrery.sample"
local schedule = require "orrery.schedule"
local prompt = require "orrery.prompt"
local media = require "orrery.media"
local C, check = core.C, core.check

local M = {}

-- The built-in model (random weights), with overrides; small = true gives
-- a model that runs in a fraction of a second, for tests and notebooks.
function M.default_model(overrides)
  local model = {}
  for k, v in pairs(require "orrery.default_model") do model[k] = v end
  overrides = overrides or {}
  if overrides.small then
    model.dit_config = model.dit_config:gsub('"model_channels": %d+', '"model_channels": 32')
      :gsub('"crossattn_emb_channels": %d+', '"crossattn_emb_channels": 16')
    model.tokenizer_config = model.tokenizer_config:gsub('"channels": %d+', '"channels": 4')
    model.frames, model.height, model.width, model.name = 9, 32, 48, "default-small"
  end
  for k, v in pairs(overrides) do
    if k ~= "small" then model[k] = v end
  end
  return model
end

local built = setmetatable({}, { __mode = "v" })

-- The networks of a model table: {dit, tokenizer, ...}.
function M.build(model)
  if type(model) ~= "table" then core.arg_error("text2world", "model", "a model table", type(model), 3) end
  if model.dit then return model end
  local key = table.concat({ model.dit_network, model.dit_config, model.tokenizer_config, model.seed }, "\0")
  local nets = built[key]
  if not nets then
    nets = {
      dit = models.random_dit(model.dit_network, model.dit_config, model.seed),
      tokenizer = models.random_tokenizer(model.tokenizer_config, model.seed + 1),
    }
    built[key] = nets
  end
  return nets
end

local caches = {}

-- The embedding cache of an encoder (one per encoder, kept for the session).
function M.cache_for(encoder)
  local c = caches[encoder.name]
  if not c then
    c = prompt.cache(encoder)
    caches[encoder.name] = c
  end
  return c
end

local function encoder_for(model, dit_info)
  if model.encoder then return model.encoder end
  return prompt.random_encoder { length = model.text_length or 512, dim = dit_info.crossattn_channels,
    seed = model.seed or 0 }
end

-- The encoder a recorded name stands for.
local function encoder_from_name(name)
  local l, d, s = name:match("^random:(%d+):(%d+):(%d+)$")
  if l then return prompt.random_encoder { length = tonumber(l), dim = tonumber(d), seed = tonumber(s) } end
  local path = name:match("^file:(.+)$")
  if path then return prompt.file_encoder(path) end
  error(("rerun: the encoder '%s' cannot be made again here; pass encoder = ..."):format(name), 3)
end

local sampler_keys = { "sampler", "steps", "sigma_max", "sigma_min", "rho", "sigmas", "sigma_data", "guidance",
  "init_noise", "init_latent", "bf16", "progress", "preview", "preview_every", "on_step", "cancel" }

-- opts: model, prompt / negative_prompt (strings) or text / neg_text
-- (embeddings), encoder, cache, seed, every sampler option, frames,
-- height, width, fps, out (a video path), stop_at (end at that step with
-- its denoised estimate, as a hook returning "stop" does).
function M.generate(opts)
  if type(opts) ~= "table" then core.arg_error("text2world", "opts", "a table of options", type(opts)) end
  local model = opts.model or M.default_model()
  local nets = M.build(model)
  local dit, tok = nets.dit, nets.tokenizer
  local info = dit:info()
  local frames, height, width = opts.frames or model.frames or 121, opts.height or model.height or 704,
      opts.width or model.width or 1280
  local fps = opts.fps or model.fps or 24
  local seed = opts.seed or model.seed or 0
  local t0 = core.now()

  return tensor.scope(function()
    local lshape = tok:latent_shape { 1, 3, frames, height, width }
    lshape[2] = info.latent_channels

    local encoder = opts.encoder or encoder_for(model, info)
    local cache = opts.cache or M.cache_for(encoder)
    local text, neg_text = opts.text, opts.neg_text
    if not text then
      if opts.prompt ~= nil and type(opts.prompt) ~= "string" then
        core.arg_error("text2world", "prompt", "a string (one text for the whole clip)", core.describe_value(opts.prompt), 3)
      end
      text = cache:get(opts.prompt or "")
    end
    if not neg_text and opts.negative_prompt then neg_text = cache:get(opts.negative_prompt) end

    local sopts = { text = text, neg_text = neg_text, shape = lshape, fps = fps, seed = seed }
    for _, k in ipairs(sampler_keys) do sopts[k] = opts[k] end
    if opts.stop_at then
      local user_hook = opts.on_step
      sopts.on_step = function(s)
        local r = user_hook and user_hook(s)
        if s.step >= opts.stop_at then return "stop" end
        return r
      end
    end
    local latent, record = sample.run(dit, sopts)
    if nets.latent_mean then
      local denorm = tensor.empty(latent:shape())
      check(C.orr_tokenizer_denormalize_latent(denorm.ptr, latent.ptr, nets.latent_mean.ptr, nets.latent_std.ptr,
        record.sigma_data), 3)
      latent = denorm
    else
      -- the official decode divides by sigma_data even without statistics
      latent = latent / record.sigma_data
    end
    local pixels = tok:decode(latent)
    local video = media.from_model(pixels)

    local params = {
      version = 1, seed = seed, sampler = record.sampler, steps = record.steps, guidance = record.guidance,
      sigmas = record.sigmas, sigma_max = record.sigma_max, sigma_min = record.sigma_min, rho = record.rho,
      sigma_data = record.sigma_data, bf16 = record.bf16, stopped_at = record.stopped_at,
      frames = frames, height = height, width = width, fps = fps,
      prompt = not opts.text and (opts.prompt or "") or nil, negative_prompt = not opts.neg_text and opts.negative_prompt or nil,
      encoder = not opts.text and encoder.name or nil,
      model = model.name or (model.dit and "loaded" or "default"), checkpoints = model.checkpoints,
      dit_network = not model.dit and model.dit_network or nil, dit_config = not model.dit and model.dit_config or nil,
      tokenizer_config = not model.dit and model.tokenizer_config or nil, model_seed = not model.dit and model.seed or nil,
    }
    local result = { video = video, latent = latent, params = params, frames = frames, width = width, height = height }
    if opts.out then
      local meta = {}
      for k, v in pairs(params) do meta["orrery_" .. k] = tostring(v) end
      media.save_video(opts.out, video, { fps = fps }, meta)
      result.path = opts.out
    end
    result.seconds = core.now() - t0
    return result
  end)
end

local number_params = { version = true, seed = true, steps = true, sigma_max = true, sigma_min = true, rho = true,
  sigma_data = true, stopped_at = true, frames = true, height = true, width = true, fps = true, model_seed = true }

-- The generation parameters a file's metadata holds (nil when it has none).
function M.params_of(path)
  local meta = media.read_metadata(path)
  local params = {}
  for k, v in pairs(meta) do
    local name = k:lower():match("^orrery_(.+)$")
    if name then
      if number_params[name] then
        params[name] = tonumber(v)
      elseif v == "true" or v == "false" then
        params[name] = v == "true"
      else
        params[name] = v
      end
    end
  end
  if not params.version then return nil end
  return params
end

-- Makes a recorded output again: the same model, prompt, seed, sampler,
-- schedule and guidance. overrides replace any option (out defaults to
-- NAME-rerun.EXT beside the file; model must be given for loaded networks).
function M.rerun(path, overrides)
  if type(path) ~= "string" then core.arg_error("rerun", "path", "a file name", type(path)) end
  local p = M.params_of(path)
  if not p then error(("rerun: %s holds no orrery parameters"):format(path), 2) end
  overrides = overrides or {}
  local opts = {
    seed = p.seed, sampler = p.sampler, steps = p.steps, sigma_max = p.sigma_max, sigma_min = p.sigma_min,
    rho = p.rho, sigma_data = p.sigma_data, bf16 = p.bf16, frames = p.frames, height = p.height, width = p.width,
    fps = p.fps, prompt = p.prompt, negative_prompt = p.negative_prompt, stop_at = p.stopped_at,
    guidance = p.guidance and schedule.from_description(p.guidance),
    sigmas = p.sigmas and schedule.from_description(p.sigmas),
  }
  if not overrides.model then
    if p.dit_config then
      opts.model = { name = p.model, dit_network = p.dit_network, dit_config = p.dit_config,
        tokenizer_config = p.tokenizer_config, seed = p.model_seed, frames = p.frames, height = p.height,
        width = p.width, fps = p.fps }
    elseif p.checkpoints then
      opts.model = models.load_model(p.checkpoints, p.model)
    else
      error(("rerun: %s was made with networks loaded by the script; pass model = ..."):format(path), 2)
    end
  end
  if p.prompt == nil and not overrides.text then
    error(("rerun: %s was made from embeddings given as tensors; pass text = ..."):format(path), 2)
  end
  if p.encoder and not overrides.encoder then opts.encoder = encoder_from_name(p.encoder) end
  opts.out = path:gsub("(%.[%w]+)$", "-rerun%1")
  for k, v in pairs(overrides) do opts[k] = v end
  return M.generate(opts)
end

setmetatable(M, { __call = function(_, opts) return M.generate(opts) end })

return M
