-- transfer.lua — Cosmos-Transfer1 from Lua: a world generated under control
-- videos (edges, blur, depth, segmentation, ...), each weighted by a number
-- or a map over space and time (orrery.control), as the official
-- transfer.py runs it; and the official JSON control spec as-is.
--
--   local control = orrery.control
--   local r = orrery.transfer {
--     input = "street.mp4",                      -- the RGB video (edge and vis are made from it)
--     controls = {
--       edge  = { weight = control.keyframes { [0] = 1, [32] = 0 } },            -- fades out
--       depth = { input = "depth.mp4", weight = control.ellipse { center = { 0.5, 0.5 }, radius = { 0.3, 0.4 } } },
--     },
--     prompt = "a rainy night", steps = 35, seed = 1, out = "night.mp4",
--   }
--   r.video (u8 [T,H,W,3]), r.controls / r.weights ({kind = frames / [T,H,W]}), r.params, r.path
--   orrery.transfer.show(r)                      -- the controls under their weight maps, and the result
--   orrery.transfer.run_spec("spec.json", { steps = 10 })   -- the official spec, overrides on top
--
-- Options: model (M.default_model() or M.load{...}), input (a path or u8
-- frames [T,H,W,3]), controls ({kind = {input, weight, preset}}, run in
-- the official order vis, edge, depth, seg, keypoint, upscale, hdmap,
-- lidar; or an array of {kind = ..., ...} to choose the order), prompt,
-- negative_prompt, seed, steps, guidance, sigma_max (70: how far from the
-- input the start is; 80 and no input: pure noise), frames, fps,
-- chunk_frames, bf16_weights, progress, out. Until orrery has a T5
-- encoder, prompts go through the model's stand-in encoder, as in
-- orrery.text2world.
local ffi = require "ffi"
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local models = require "orrery.models"
local media = require "orrery.media"
local progress = require "orrery.progress"
local text2world = require "orrery.text2world"
local C, check = core.C, core.check

local M = {}

M.kinds = { "vis", "edge", "depth", "seg", "keypoint", "upscale", "hdmap", "lidar" }
local kind_rank = {}
for i, k in ipairs(M.kinds) do kind_rank[k] = i end

local function fail(fmt, ...) error("transfer: " .. fmt:format(...), 0) end

local function kind_enum(name)
  local k = ffi.new("orr_control_kind[1]")
  if C.orr_control_kind_from_name(name, k) ~= C.ORR_OK then
    fail("unknown control '%s' (the controls are %s)", tostring(name), table.concat(M.kinds, ", "))
  end
  return k[0]
end

---------------------------------------------------------------------------
-- the network: a base Video2World DiT and one branch per control

local Transfer, handle = core.object_class("transfer", "transfer network", C.orr_transfer_free)
M.Transfer = Transfer

function Transfer:info()
  local i = ffi.new("orr_transfer_info")
  check(C.orr_transfer_get_info(handle(self), i), 2)
  local out = { parameters = tonumber(i.parameters), controls = {}, model_channels = tonumber(i.base.model_channels),
    num_blocks = tonumber(i.base.num_blocks), latent_channels = tonumber(i.base.latent_channels),
    crossattn_channels = tonumber(i.base.crossattn_channels) }
  for b = 0, i.controls - 1 do
    out.controls[b + 1] = { kind = ffi.string(C.orr_control_kind_name(i.kind[b])), blocks = tonumber(i.control_blocks[b]),
      hint_channels = tonumber(i.hint_channels[b]), parameters = tonumber(i.control_parameters[b]) }
  end
  return out
end

function Transfer:__tostring()
  if self.ptr == nil then return "transfer (freed)" end
  local i = self:info()
  local branches = {}
  for _, c in ipairs(i.controls) do branches[#branches + 1] = ("%s (%d blocks)"):format(c.kind, c.blocks) end
  return ("transfer: base of %d blocks of width %d, controls %s, %.1f M parameters"):format(i.num_blocks,
    i.model_channels, #branches > 0 and table.concat(branches, ", ") or "none", i.parameters / 1e6)
end

-- One forward as the official network runs it: the DiT's inputs (see
-- DiT:forward; condition_mask required) and latent_hint [B,N,C,T,H,W],
-- control_weight (nil, [N] or [N,B,1,t,h,w] over the token grid). With
-- trace = true also returns every stage by name, the branches' residuals
-- among them ("branch<i>.residual.block<k>", "x_ctrl.block<k>").
function Transfer:forward(inputs)
  local p = handle(self)
  if type(inputs) ~= "table" then core.arg_error("forward", "inputs", "a table", type(inputs)) end
  local ins = ffi.new("orr_transfer_inputs")
  ins.net = models.dit_inputs(inputs, "forward", 2)
  ins.latent_hint = tensor.handle(inputs.latent_hint, "forward: inputs.latent_hint", 2)
  if inputs.control_weight then
    ins.control_weight = tensor.handle(inputs.control_weight, "forward: inputs.control_weight", 2)
  end
  local shape = tensor.Tensor.shape(inputs.x)
  shape[2] = self:info().latent_channels
  return models.run_forward(shape, inputs.trace, function(out, list)
    return C.orr_transfer_forward(p, out, ins, list)
  end, 2)
end

---------------------------------------------------------------------------
-- models

-- The built-in model: orrery's default model (RANDOM weights, see
-- orrery/default_model.lua) as a Video2World base, whose control branches
-- copy its first `control_blocks` blocks, as the official 7B's copy 3 of 28.
-- small = true: a model that runs in a fraction of a second.
function M.default_model(overrides)
  overrides = overrides or {}
  local base = text2world.default_model { small = overrides.small }
  local model = {
    name = base.name == "default-small" and "transfer-default-small" or "transfer-default",
    seed = base.seed, text_length = base.text_length, fps = base.fps,
    frames = base.frames, height = base.height, width = base.width,
    chunk_frames = base.frames,
    -- the condition mask is the Video2World base's extra input channel
    base_config = base.dit_config:gsub('"in_channels": 16', '"in_channels": 17'),
    tokenizer_config = base.tokenizer_config,
    control_blocks = 2,
  }
  for k, v in pairs(overrides) do
    if k ~= "small" then model[k] = v end
  end
  return model
end

local function branch_config(model)
  return (model.base_config:gsub("}%s*$", (', "num_control_blocks": %d}'):format(model.control_blocks)))
end

local built = setmetatable({}, { __mode = "v" })

-- The networks of a model table for these control kinds (in order):
-- {transfer, tokenizer, ...}. Random models are built once per kind list;
-- each branch's weights depend only on the model's seed and its kind.
function M.build(model, kinds)
  if type(model) ~= "table" then core.arg_error("transfer", "model", "a model table", type(model), 3) end
  if model.transfer then
    local have = model.transfer:info().controls
    for i, k in ipairs(kinds) do
      if not have[i] or have[i].kind ~= k then
        local names = {}
        for _, c in ipairs(have) do names[#names + 1] = c.kind end
        fail("the loaded network's controls are {%s}; this run wants {%s} in that order", table.concat(names, ", "),
          table.concat(kinds, ", "))
      end
    end
    return model
  end
  local key = table.concat({ model.base_config, model.tokenizer_config, model.seed, model.control_blocks,
    table.concat(kinds, ",") }, "\0")
  local nets = built[key]
  if not nets then
    local out = ffi.new("orr_transfer*[1]")
    check(C.orr_transfer_create_random(out, model.base_config, model.seed), 3)
    local tr = Transfer.wrap(out[0], { source = "random" })
    local config = branch_config(model)
    for _, k in ipairs(kinds) do
      local kind = kind_enum(k)
      check(C.orr_transfer_add_control_random(tr.ptr, kind, config, model.seed + 100 + tonumber(kind)), 3)
    end
    nets = { transfer = tr, tokenizer = models.random_tokenizer(model.tokenizer_config, model.seed + 1) }
    built[key] = nets
  end
  return nets
end

-- Official networks from safetensors files (orrery convert makes them from
-- the released .pt): opts.base (base_model), opts.base_config (the
-- VideoExtendGeneralDIT arguments; default: the file's `config`
-- metadata), opts.controls ({kind = path} or an array of {kind, path,
-- prefix} in the order they will run; prefix: where the branch's names lie,
-- "net." in a released <kind>_control.pt, "net.hint_encoders.<i>." in a
-- multi-control state dict), opts.control_config (default: the base's with
-- num_control_blocks 3, as the released branches), opts.tokenizer (a
-- Tokenizer or the options of orrery.models.load_tokenizer).
function M.load(opts)
  if type(opts) ~= "table" or type(opts.base) ~= "string" then
    core.arg_error("transfer.load", "opts.base", "a safetensors file name", type(opts) == "table" and type(opts.base)
      or type(opts))
  end
  local st = ffi.new("orr_safetensors*[1]")
  check(C.orr_st_open(opts.base, st), 2)
  local config = models.json_config(opts.base_config, "transfer.load") or core.str(C.orr_st_metadata(st[0], "config"))
  if not config then
    C.orr_st_close(st[0])
    error(("transfer.load: no base_config given and %s has no 'config' metadata"):format(opts.base), 2)
  end
  local out = ffi.new("orr_transfer*[1]")
  local status = C.orr_transfer_create(out, config, st[0])
  C.orr_st_close(st[0]) -- the weights keep their mapping alive
  check(status, 2)
  local tr = Transfer.wrap(out[0], { source = opts.base })
  local controls = {}
  for k, path in pairs(opts.controls or {}) do
    if type(k) == "number" then controls[k] = { kind = path[1], path = path[2], prefix = path[3] } end
  end
  if #controls == 0 then
    for k, path in pairs(opts.controls or {}) do controls[#controls + 1] = { kind = k, path = path } end
    table.sort(controls, function(a, b) return (kind_rank[a.kind] or 99) < (kind_rank[b.kind] or 99) end)
  end
  local control_config = models.json_config(opts.control_config, "transfer.load") or
      branch_config { base_config = config, control_blocks = 3 }
  for _, c in ipairs(controls) do
    local kind = kind_enum(c.kind)
    check(C.orr_st_open(c.path, st), 2)
    status = C.orr_transfer_add_control(tr.ptr, kind, control_config, st[0], c.prefix)
    C.orr_st_close(st[0])
    check(status, 2)
  end
  local tok = opts.tokenizer
  if type(tok) ~= "table" or getmetatable(tok) ~= models.Tokenizer then tok = models.load_tokenizer(tok) end
  return { transfer = tr, tokenizer = tok, name = opts.name or "loaded" }
end

---------------------------------------------------------------------------
-- controls and their weights

-- The frame sizes (W, H) of the official pipeline: a video is stretched to
-- the one nearest its aspect ratio (read_and_resize_input).
M.resolutions = { { 960, 960 }, { 960, 704 }, { 704, 960 }, { 1280, 704 }, { 704, 1280 } }

function M.resolution(width, height)
  local best, best_gap = nil, math.huge
  for _, r in ipairs(M.resolutions) do
    local gap = math.abs(r[1] / r[2] - width / height)
    if gap < best_gap then best, best_gap = r, gap end
  end
  return best[1], best[2]
end

-- u8 frames [T,H,W,3] of a path or a tensor (float [3,T,H,W] in [-1,1]
-- too). Files are read at `size` (the model's), else stretched to the
-- official resolution nearest their aspect ratio; at most `count` frames.
local function frames_of(x, what, size, count)
  if type(x) == "string" then
    if x:lower():match("%.png$") then return (media.read_png(x)):unsqueeze(0):clone("u8") end
    local width, height = size.width, size.height
    if not width then
      local info = media.probe(x)
      width, height = M.resolution(info.width, info.height)
    end
    return (media.load_video(x, { width = width, height = height, fit = "stretch", count = count }))
  end
  if tensor.is_tensor(x) then
    if x:dtype() == "u8" then return x end
    return media.from_model(x)
  end
  fail("%s must be a video path or frames, got %s", what, core.describe_value(x))
end

-- frames [T,H,W,3] -> u8 [3,T,H,W], contiguous, for the preprocessors.
local function planar(frames) return frames:permute({ 3, 0, 1, 2 }):clone("u8") end

local function preset_enum(name, kind)
  local p = ffi.new("orr_control_preset[1]")
  if C.orr_control_preset_from_name(name or "medium", p) ~= C.ORR_OK then
    fail("'%s'.preset: %s", kind, ffi.string(C.orr_last_error()))
  end
  return p[0]
end

-- The control video of one control: its own input, or made from the RGB
-- input by the preprocessor (edge, vis); u8 frames [T,H,W,3].
local function control_frames(c, input, size, count)
  if c.input then
    return frames_of(c.input, ("'%s'.input"):format(c.kind), size, count)
  end
  if c.kind ~= "edge" and c.kind ~= "vis" then
    fail("'%s' needs its control video as input: orrery has no %s model to make it from the RGB video", c.kind,
      c.kind == "depth" and "depth (DepthAnything)" or c.kind == "seg" and "segmentation (SAM2)" or c.kind)
  end
  if not input then fail("'%s' has no input and there is no input video to make it from", c.kind) end
  local video = planar(input)
  local out = tensor.empty(video:shape(), "u8")
  local fn = c.kind == "edge" and C.orr_control_edge or C.orr_control_vis
  check(fn(out.ptr, video.ptr, preset_enum(c.preset, c.kind)), 3)
  return out:permute({ 1, 2, 3, 0 }):clone("u8")
end

-- A control's weight as a [T,H,W] or [H,W] tensor, or a number.
local function weight_of(c, T, H, W)
  local w = c.weight
  if w == nil then return 0.5 end -- the official default
  if type(w) == "number" then
    if w < 0 or w ~= w then fail("'%s'.weight is %s; a control weight must be >= 0", c.kind, tostring(w)) end
    return w
  end
  if type(w) == "table" and not tensor.is_tensor(w) then
    local control = require "orrery.control"
    if control.is_map(w) then return control.render(w, T, H, W, c.kind) end
  end
  if type(w) == "string" then
    local tensors, names = models.checkpoint(w), {}
    for name in pairs(tensors) do names[#names + 1] = name end
    if #names ~= 1 then
      fail("'%s'.weight: %s holds %d tensors; a weight map is one [T,H,W]", c.kind, w, #names)
    end
    w = tensors[names[1]]
  end
  if not tensor.is_tensor(w) then
    fail("'%s'.weight must be a number, a map (orrery.control), a tensor or a .pt file, got %s", c.kind,
      core.describe_value(w))
  end
  local dims = w:dim()
  if dims ~= 2 and dims ~= 3 then
    fail("'%s'.weight is [%s]; a weight map is [T,H,W] or [H,W]", c.kind, table.concat(w:shape(), ","))
  end
  local lo = w:min()
  if lo < 0 or lo ~= lo then
    fail("'%s'.weight has values down to %g; control weights must be >= 0", c.kind, lo)
  end
  return w
end

-- The normalised weights the pipeline takes: [N] or [N,T,H,W] (clamped,
-- rescaled where they sum past 1, as the official).
local function normalized_weights(controls, T, H, W, bf16)
  local n, any_map = #controls, false
  local ws = ffi.new("orr_control_weight[?]", n)
  local anchors = {}
  for i, c in ipairs(controls) do
    local w = weight_of(c, T, H, W)
    if type(w) == "number" then
      ws[i - 1].value = w
    else
      anchors[#anchors + 1] = w
      ws[i - 1].map = w.ptr
      any_map = true
    end
  end
  local out = tensor.empty(any_map and { n, T, H, W } or { n })
  check(C.orr_control_weights_normalize(out.ptr, n, ws, bf16), 3)
  return out
end

---------------------------------------------------------------------------
-- generation

local function control_list(controls)
  if type(controls) ~= "table" then fail("controls must be a table {edge = {...}, ...}, got %s", type(controls)) end
  local list = {}
  if #controls > 0 then
    for i, c in ipairs(controls) do
      if type(c) ~= "table" or type(c.kind) ~= "string" then fail("controls[%d] must be a table with a kind", i) end
      list[i] = c
    end
  else
    for k, c in pairs(controls) do
      if type(c) == "number" then c = { weight = c } end
      if type(c) ~= "table" then fail("controls.%s must be a table {input, weight, preset}, got %s", tostring(k), type(c)) end
      local entry = { kind = k }
      for key, v in pairs(c) do entry[key] = v end
      list[#list + 1] = entry
    end
    table.sort(list, function(a, b) return (kind_rank[a.kind] or 99) < (kind_rank[b.kind] or 99) end)
  end
  if #list == 0 then fail("no control given (one of %s)", table.concat(M.kinds, ", ")) end
  local seen = {}
  for _, c in ipairs(list) do
    kind_enum(c.kind)
    if seen[c.kind] then fail("'%s' is given twice", c.kind) end
    seen[c.kind] = true
    for key in pairs(c) do
      if key ~= "kind" and key ~= "input" and key ~= "weight" and key ~= "preset" then
        fail("'%s': unknown key '%s' (input, weight, preset)", c.kind, tostring(key))
      end
    end
  end
  return list
end

local options = { model = true, input = true, controls = true, prompt = true, negative_prompt = true, text = true,
  neg_text = true, encoder = true, seed = true, steps = true, guidance = true, sigma_max = true, frames = true,
  fps = true, chunk_frames = true, bf16_weights = true, progress = true, out = true }

local bar -- the progress function of the run in progress
local progress_cb = ffi.cast("orr_progress_fn", function(_, p)
  if bar then
    pcall(bar, { step = p.step, steps = p.steps, sigma = p.sigma, sigma_next = p.sigma_next,
      seconds_per_step = p.seconds_per_step, eta_seconds = p.eta_seconds })
  end
end)

-- The pipeline calls back into Lua for progress: keep the call interpreted.
local function run_pipeline(...) return C.orr_transfer_generate(...) end
jit.off(run_pipeline)

function M.generate(opts)
  if type(opts) ~= "table" then core.arg_error("transfer", "opts", "a table of options", type(opts)) end
  for k in pairs(opts) do
    if not options[k] then fail("unknown option '%s'", tostring(k)) end
  end
  local model = opts.model or M.default_model()
  local controls = control_list(opts.controls or {})
  local kinds = {}
  for i, c in ipairs(controls) do kinds[i] = c.kind end
  local nets = M.build(model, kinds)
  local info = nets.transfer:info()
  local t0 = core.now()

  return tensor.scope(function()
    local size = { width = model.width, height = model.height }
    local input = opts.input and frames_of(opts.input, "input", size, opts.frames)
    local frames = {}
    for i, c in ipairs(controls) do
      frames[i] = control_frames(c, input, size, opts.frames)
    end
    local reference = input or frames[1]
    local T, H, W = reference:size(0), reference:size(1), reference:size(2)
    if opts.frames then T = math.min(T, opts.frames) end
    local function cut(f, what)
      if f:size(1) ~= H or f:size(2) ~= W then
        fail("%s is %dx%d; the %s is %dx%d", what, f:size(2), f:size(1), input and "input video" or "first control",
          W, H)
      end
      if f:size(0) < T then fail("%s has %d frames; the video has %d", what, f:size(0), T) end
      return f:narrow(0, 0, T)
    end
    if input then input = cut(input, "input") end
    local stacked = tensor.empty({ 1, #controls, 3, T, H, W })
    for i, f in ipairs(frames) do
      frames[i] = cut(f, ("'%s' control video"):format(controls[i].kind))
      stacked:select(0, 0):select(0, i - 1):copy(media.to_model(frames[i]))
    end
    local weights = normalized_weights(controls, T, H, W, opts.bf16_weights ~= false)

    local encoder = opts.encoder or model.encoder or require("orrery.prompt").random_encoder {
      length = model.text_length or 512, dim = info.crossattn_channels, seed = model.seed or 0 }
    local cache = text2world.cache_for(encoder)
    local text = opts.text or cache:get(opts.prompt or "")
    local neg_text = opts.neg_text or (opts.negative_prompt and cache:get(opts.negative_prompt))

    local p = ffi.new("orr_transfer_params")
    C.orr_transfer_params_init(p)
    p.chunk_frames = opts.chunk_frames or model.chunk_frames or 121
    if opts.sigma_max then p.sigma_max = opts.sigma_max end
    p.bf16_weights = opts.bf16_weights ~= false
    p.cond.base.fps = opts.fps or model.fps or 24
    if nets.latent_mean then
      p.latent_mean, p.latent_std = nets.latent_mean.ptr, nets.latent_std.ptr
    end
    for _, k in ipairs { "steps", "guidance", "seed" } do
      if opts[k] ~= nil then
        if type(opts[k]) ~= "number" then fail("%s must be a number, got %s", k, core.describe_value(opts[k])) end
        p.sampler[k] = opts[k]
      end
    end
    p.sampler.progress = progress_cb

    local video = tensor.empty({ 1, 3, T, H, W }, "u8")
    local start = input and media.to_model(input):unsqueeze(0)
    local close
    if opts.progress ~= false then
      if type(opts.progress) == "function" then bar = opts.progress else bar, close = progress.bar { label = "transfer" } end
    end
    local timings = ffi.new("orr_world_timings")
    local status = run_pipeline(nets.transfer.ptr, nets.tokenizer.ptr, video.ptr, stacked.ptr, start and start.ptr,
      text.ptr, neg_text and neg_text.ptr, weights.ptr, p, timings)
    bar = nil
    if close then close() end
    check(status, 2)

    local result = { video = video:select(0, 0):permute({ 1, 2, 3, 0 }):clone("u8"):keep(), controls = {},
      weights = {}, frames = T, height = H, width = W }
    for i, c in ipairs(controls) do
      result.controls[c.kind] = frames[i]:clone("u8"):keep()
      result.weights[c.kind] = weights:dim() == 1 and weights:get(i - 1) or weights:select(0, i - 1):clone():keep()
    end
    local params = { version = 1, pipeline = "transfer", seed = tonumber(p.sampler.seed), steps = p.sampler.steps,
      guidance = p.sampler.guidance, sigma_max = input and p.sigma_max or 80, frames = T, height = H, width = W,
      fps = p.cond.base.fps, chunk_frames = p.chunk_frames, prompt = not opts.text and (opts.prompt or "") or nil,
      negative_prompt = not opts.neg_text and opts.negative_prompt or nil, model = model.name or "loaded",
      controls = table.concat(kinds, ","), encoder = not opts.text and encoder.name or nil }
    result.params = params
    if opts.out then
      local meta = {}
      for k, v in pairs(params) do meta["orrery_" .. k] = tostring(v) end
      media.save_video(opts.out, result.video, { fps = params.fps }, meta)
      result.path = opts.out
    end
    result.timings = { encode = timings.encode_seconds, sample = timings.sample_seconds,
      decode = timings.decode_seconds }
    result.seconds = core.now() - t0
    return result
  end)
end

-- Shows a result in the viewer: each control video under its weight map
-- (a heatmap, 0 to 1) and the generated video. opts: the viewer's options
-- (title, layout, script, ...). Without a display, returns false and the
-- reason, as orrery.view does.
function M.show(result, opts)
  if type(result) ~= "table" or not result.video then
    core.arg_error("transfer.show", "result", "the result of orrery.transfer", core.describe_value(result))
  end
  local view = require "orrery.view"
  local spec, overlays = { title = "orrery transfer", layout = "grid" }, {}
  for k, v in pairs(opts or {}) do spec[k] = v end
  for _, kind in ipairs(M.kinds) do
    local f = result.controls[kind]
    if f then
      spec[#spec + 1] = { frames = f, label = kind }
      local w = result.weights[kind]
      if tensor.is_tensor(w) then overlays[#overlays + 1] = { pane = #spec - 1, weights = w, min = 0, max = 1 } end
    end
  end
  spec[#spec + 1] = { frames = result.video, label = "generated" }
  spec.overlay = overlays
  return view.show(spec)
end

---------------------------------------------------------------------------
-- the official control spec

local function spec_handle(spec, level)
  local out = ffi.new("orr_transfer_spec*[1]")
  if type(spec) == "string" and not spec:match("^%s*{") then
    check(C.orr_transfer_spec_read(out, spec), level + 1)
  elseif type(spec) == "string" then
    check(C.orr_transfer_spec_parse(out, spec, #spec, "spec"), level + 1)
  else
    core.arg_error("transfer.run_spec", "spec", "a spec file or its JSON text", core.describe_value(spec), level + 1)
  end
  return ffi.gc(out[0], C.orr_transfer_spec_free)
end

-- A path the spec names: as given (the official reads it from the working
-- directory), else beside the spec file.
local function spec_path(path, spec_file)
  local f = io.open(path, "rb")
  if f then
    f:close()
    return path
  end
  local dir = type(spec_file) == "string" and spec_file:match("^(.*)/[^/]*$")
  if dir and not path:match("^/") then
    local beside = dir .. "/" .. path
    f = io.open(beside, "rb")
    if f then
      f:close()
      return beside
    end
  end
  return path
end

-- The generate() options of an official spec (a file or its JSON text):
-- every control with its input and weight (a number or a .pt map), the
-- prompt, seed, steps, guidance, sigma_max, fps and input video; the
-- output path from video_save_folder / video_save_name.
function M.spec_options(spec)
  local s = spec_handle(spec, 2)
  check(C.orr_transfer_spec_validate(s), 2)
  local a = ffi.new("orr_transfer_args")
  check(C.orr_transfer_spec_args(s, a), 2)
  local opts = { prompt = core.str(a.prompt), negative_prompt = core.str(a.negative_prompt), seed = tonumber(a.seed),
    steps = a.num_steps, guidance = a.guidance, fps = a.fps, controls = {} }
  if a.input_video_path ~= nil then
    opts.input = spec_path(ffi.string(a.input_video_path), spec)
    opts.sigma_max = a.sigma_max
  end
  local c = ffi.new("orr_control_spec")
  for i = 0, C.orr_transfer_spec_controls(s) - 1 do
    check(C.orr_transfer_spec_control(s, i, c), 2)
    local kind = ffi.string(C.orr_control_kind_name(c.kind))
    local entry = { kind = kind, weight = c.control_weight }
    if c.control_weight_path ~= nil then entry.weight = spec_path(ffi.string(c.control_weight_path), spec) end
    if c.input_control ~= nil then entry.input = spec_path(ffi.string(c.input_control), spec) end
    if kind == "edge" then entry.preset = ffi.string(C.orr_control_preset_name(a.canny_threshold)) end
    if kind == "vis" then entry.preset = ffi.string(C.orr_control_preset_name(a.blur_strength)) end
    opts.controls[i + 1] = entry
  end
  local folder = C.orr_transfer_spec_get(s, "video_save_folder")
  local name = C.orr_transfer_spec_get(s, "video_save_name")
  local function unquote(v) return v ~= nil and ffi.string(v):match('^"(.*)"$') or nil end
  opts.out = (unquote(folder) or "outputs") .. "/" .. (unquote(name) or "output") .. ".mp4"
  return opts
end

-- Runs an official spec; overrides replace any option (model, steps, out, ...).
function M.run_spec(spec, overrides)
  local opts = M.spec_options(spec)
  for k, v in pairs(overrides or {}) do opts[k] = v end
  if opts.out then
    local dir = opts.out:match("^(.*)/[^/]*$")
    if dir and dir ~= "" then os.execute(("mkdir -p '%s'"):format(dir:gsub("'", "'\\''"))) end
  end
  return M.generate(opts)
end

M.usage = [[
usage: orrery transfer SPEC.json [options]

Runs a Cosmos-Transfer1 control spec (the JSON transfer.py --controlnet_specs
reads, as-is) with the built-in model (random weights: the result shows the
pipeline, not a world).

  --out FILE      the video to write (default: the spec's video_save_folder/
                  video_save_name.mp4, else outputs/output.mp4)
  --steps N       sampler steps (default: the spec's num_steps, else 35)
  --frames N      use the first N frames only
  --seed N        the noise seed (default: the spec's seed, else 1)
  --small         the small built-in model (a second or two)
  --view          show the controls under their weight maps and the result
  --help          this text
]]

-- The command: returns its exit status (0 done, 1 failed, 2 bad usage).
function M.main(args)
  local spec, overrides, small, show = nil, {}, false, false
  local i = 1
  while args[i] do
    local a = args[i]
    local function value()
      i = i + 1
      if args[i] == nil then
        io.stderr:write(("transfer: %s wants a value\n"):format(a))
        return nil
      end
      return args[i]
    end
    if a == "--help" or a == "-h" then
      io.write(M.usage)
      return 0
    elseif a == "--out" then
      overrides.out = value()
      if not overrides.out then return 2 end
    elseif a == "--steps" or a == "--frames" or a == "--seed" then
      local n = tonumber(value() or "")
      if not n or n < 0 or n % 1 ~= 0 then
        io.stderr:write(("transfer: %s wants a whole number\n"):format(a))
        return 2
      end
      overrides[a:sub(3)] = n
    elseif a == "--small" then
      small = true
    elseif a == "--view" then
      show = true
    elseif a:sub(1, 2) == "--" then
      io.stderr:write(("transfer: unknown option '%s'\n%s"):format(a, M.usage))
      return 2
    elseif spec then
      io.stderr:write("transfer: one spec at a time\n")
      return 2
    else
      spec = a
    end
    i = i + 1
  end
  if not spec then
    io.stderr:write(M.usage)
    return 2
  end
  overrides.model = M.default_model { small = small }
  local ok, r = pcall(M.run_spec, spec, overrides)
  if not ok then
    io.stderr:write((tostring(r):gsub("^[^\n]-%.lua:%d+: ", "")), "\n")
    return 1
  end
  print(("wrote %s: %d frames of %dx%d in %.1f s (built-in model, random weights)"):format(r.path, r.frames,
    r.width, r.height, r.seconds))
  if show then M.show(r) end
  return 0
end

setmetatable(M, { __call = function(_, opts) return M.generate(opts) end })

return M
