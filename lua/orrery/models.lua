-- models.lua — the networks: Cosmos tokenizers and diffusion transformers
-- (DiTs) loaded from files or made with random weights, the released-model
-- registry, and read-only access to official checkpoints (.pt, .jit,
-- safetensors).
--
-- A model holds C memory (its weights are mapped from the file where they
-- can be): m:free() releases it now; the collector does it otherwise.
-- Models print a one-line summary and answer m:info() with a table.
local ffi = require "ffi"
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local C, check = core.C, core.check

local M = {}

local function json_config(config, fn)
  if config == nil or type(config) == "string" then return config end
  if type(config) == "table" then
    -- a flat or nested Lua table written as JSON (numbers, strings, booleans, arrays, objects)
    local function enc(v)
      local t = type(v)
      if t == "number" then return ("%.17g"):format(v) end
      if t == "boolean" then return tostring(v) end
      if t == "string" then return ("%q"):format(v) end
      if t == "table" then
        if #v > 0 or next(v) == nil then
          local parts = {}
          for i = 1, #v do parts[i] = enc(v[i]) end
          return "[" .. table.concat(parts, ", ") .. "]"
        end
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = k end
        table.sort(keys)
        local parts = {}
        for _, k in ipairs(keys) do parts[#parts + 1] = ("%q: %s"):format(k, enc(v[k])) end
        return "{" .. table.concat(parts, ", ") .. "}"
      end
      error(fn .. ": config holds a " .. t .. ", which JSON cannot", 4)
    end
    return enc(config)
  end
  core.arg_error(fn, "config", "a JSON string or a table", type(config), 3)
end
M.json_config = json_config

---------------------------------------------------------------------------
-- tokenizers

local Tokenizer, tok_handle = core.object_class("tokenizer", "tokenizer", C.orr_tokenizer_free)
M.Tokenizer = Tokenizer

local tokenizer_kinds = { [0] = "CV", "DV", "CI", "DI" }

local function wrap_tokenizer(p, source) return Tokenizer.wrap(p, { source = source }) end

-- opts: path (both halves, or the encoder), decoder (a separate decoder
-- file), config (JSON or table; default the files' `config` metadata).
function M.load_tokenizer(opts)
  if type(opts) == "string" then opts = { path = opts } end
  if type(opts) ~= "table" or type(opts.path) ~= "string" then
    core.arg_error("load_tokenizer", "opts.path", "a file name", type(opts) == "table" and type(opts.path) or type(opts))
  end
  local out = ffi.new("orr_tokenizer*[1]")
  check(C.orr_tokenizer_load(out, json_config(opts.config, "load_tokenizer"), opts.path, opts.decoder), 2)
  return wrap_tokenizer(out[0], opts.path)
end

-- Both halves with PyTorch's default initialisation drawn from Philox `seed`.
function M.random_tokenizer(config, seed)
  local out = ffi.new("orr_tokenizer*[1]")
  check(C.orr_tokenizer_create_random(out, json_config(config, "random_tokenizer"), seed or 0), 2)
  return wrap_tokenizer(out[0], "random")
end

function Tokenizer:info()
  local i = ffi.new("orr_tokenizer_info")
  C.orr_tokenizer_get_info(tok_handle(self), i)
  return {
    kind = tokenizer_kinds[tonumber(i.kind)], pixel_channels = i.pixel_channels, latent_channels = i.latent_channels,
    spatial_compression = i.spatial_compression, temporal_compression = i.temporal_compression,
    codebook_size = tonumber(i.codebook_size), has_encoder = i.has_encoder, has_decoder = i.has_decoder,
    parameters = tonumber(i.n_params),
  }
end

function Tokenizer:__tostring()
  if self.ptr == nil then return "tokenizer (freed)" end
  local i = self:info()
  return ("tokenizer %s %dx%dx%d, %d latent channels, %.1f M parameters (%s)"):format(i.kind, i.temporal_compression,
    i.spatial_compression, i.spatial_compression, i.latent_channels, i.parameters / 1e6, self.source)
end

local function convert_shape(self, fn, cfn, shape)
  local dims, n = tensor.shape_array(shape, 3)
  local out = ffi.new("int64_t[?]", math.max(n, 1))
  check(cfn(tok_handle(self), n, dims, out), 3)
  local s = {}
  for i = 0, n - 1 do s[i + 1] = tonumber(out[i]) end
  return s
end

-- {B,3,T,H,W} -> the latent's shape, and back.
function Tokenizer:latent_shape(pixel_shape) return convert_shape(self, "latent_shape", C.orr_tokenizer_latent_shape, pixel_shape) end
function Tokenizer:pixel_shape(latent_shape) return convert_shape(self, "pixel_shape", C.orr_tokenizer_pixel_shape, latent_shape) end

-- pixels [B,3,T,H,W] in [-1,1] -> latent (CV/CI), or codes and indices (DV/DI).
function Tokenizer:encode(pixels)
  local p = tensor.handle(pixels, "encode: pixels")
  local latent = tensor.empty(self:latent_shape(tensor.Tensor.shape(pixels)))
  local info, indices = self:info(), nil
  if info.kind == "DV" or info.kind == "DI" then
    local s = latent:shape()
    table.remove(s, 2)
    indices = tensor.empty(s, "i64")
  end
  check(C.orr_tokenizer_encode(self.ptr, latent.ptr, indices and indices.ptr or nil, p), 2)
  return latent, indices
end

function Tokenizer:decode(latent)
  local l = tensor.handle(latent, "decode: latent")
  local pixels = tensor.empty(self:pixel_shape(tensor.Tensor.shape(latent)))
  check(C.orr_tokenizer_decode(tok_handle(self), pixels.ptr, l), 2)
  return pixels
end

function Tokenizer:decode_indices(indices)
  local idx = tensor.handle(indices, "decode_indices: indices")
  local s = tensor.Tensor.shape(indices)
  table.insert(s, 2, self:info().latent_channels)
  local pixels = tensor.empty(self:pixel_shape(s))
  check(C.orr_tokenizer_decode_indices(tok_handle(self), pixels.ptr, idx), 2)
  return pixels
end

-- The tokenizer params from a Lua table (absent keys keep the official defaults).
local function tokenizer_params(opts)
  local p = ffi.new("orr_tokenizer_params")
  C.orr_tokenizer_params_init(p)
  for _, k in ipairs { "temporal_window", "spatial_align", "temporal_align", "tile", "tile_overlap", "memory_budget" } do
    if opts and opts[k] ~= nil then p[k] = opts[k] end
  end
  return p
end

-- The official forward on pixels of any size (windows, padding, cropping).
function Tokenizer:autoencode(pixels, opts)
  local p = tensor.handle(pixels, "autoencode: pixels")
  local out = tensor.empty(tensor.Tensor.shape(pixels))
  check(C.orr_tokenizer_autoencode(tok_handle(self), out.ptr, p, tokenizer_params(opts)), 2)
  return out
end

-- Decoding in overlapping tiles within opts.memory_budget bytes (or opts.tile).
function Tokenizer:decode_tiled(latent, opts)
  local l = tensor.handle(latent, "decode_tiled: latent")
  local pixels = tensor.empty(self:pixel_shape(tensor.Tensor.shape(latent)))
  check(C.orr_tokenizer_decode_tiled(tok_handle(self), pixels.ptr, l, tokenizer_params(opts)), 2)
  return pixels
end

function Tokenizer:plan_decode(latent_shape, opts)
  local dims, n = tensor.shape_array(latent_shape)
  local plan = ffi.new("orr_tokenizer_plan")
  check(C.orr_tokenizer_plan_decode(tok_handle(self), n, dims, tokenizer_params(opts), plan), 2)
  local out = {}
  for _, k in ipairs { "tile_h", "tile_w", "tiles_y", "tiles_x", "overlap", "peak_tile_bytes", "output_bytes", "weight_bytes" } do
    out[k] = tonumber(plan[k])
  end
  return out
end

---------------------------------------------------------------------------
-- diffusion transformers

local DiT, dit_handle = core.object_class("dit", "DiT", C.orr_dit_free)
M.DiT = DiT
M.dit_handle = dit_handle

-- opts: path (safetensors with the official names, "net." prefix or not),
-- network ("GeneralDIT" default, or "VideoExtendGeneralDIT"), config (JSON
-- or table; default the file's `config` metadata).
function M.load_dit(opts)
  if type(opts) == "string" then opts = { path = opts } end
  if type(opts) ~= "table" or type(opts.path) ~= "string" then
    core.arg_error("load_dit", "opts.path", "a safetensors file name", type(opts) == "table" and type(opts.path) or type(opts))
  end
  local st = ffi.new("orr_safetensors*[1]")
  check(C.orr_st_open(opts.path, st), 2)
  local f = st[0]
  local config = json_config(opts.config, "load_dit") or core.str(C.orr_st_metadata(f, "config"))
  local network = opts.network or core.str(C.orr_st_metadata(f, "network")) or "GeneralDIT"
  if not config then
    C.orr_st_close(f)
    error(("load_dit: no config given and %s has no 'config' metadata"):format(opts.path), 2)
  end
  local out = ffi.new("orr_dit*[1]")
  local status = C.orr_dit_load(out, network, config, f)
  C.orr_st_close(f) -- the weights keep their mapping alive
  check(status, 2)
  return DiT.wrap(out[0], { network = network, config = config, source = opts.path })
end

-- The network with random weights (std 0.02 from Philox `seed`).
function M.random_dit(network, config, seed)
  local cfg = json_config(config, "random_dit")
  local out = ffi.new("orr_dit*[1]")
  check(C.orr_dit_create_random(out, network or "GeneralDIT", cfg, seed or 0), 2)
  return DiT.wrap(out[0], { network = network or "GeneralDIT", config = cfg, source = "random", seed = seed or 0 })
end

function DiT:info()
  local i = ffi.new("orr_dit_info")
  check(C.orr_dit_get_info(dit_handle(self), i), 2)
  local out = {}
  for _, k in ipairs { "latent_channels", "out_channels", "model_channels", "num_blocks", "num_heads", "head_dim",
    "patch_spatial", "patch_temporal", "crossattn_channels", "max_t", "max_h", "max_w" } do
    out[k] = tonumber(i[k])
  end
  out.video_conditioned = i.video_conditioned
  out.parameters = tonumber(i.parameters)
  out.network = self.network
  return out
end

function DiT:__tostring()
  if self.ptr == nil then return "dit (freed)" end
  local i = self:info()
  local params = i.parameters >= 1e9 and ("%.2f B"):format(i.parameters / 1e9) or ("%.1f M"):format(i.parameters / 1e6)
  return ("dit %s: %d blocks of width %d (%d heads), text width %d, %s parameters (%s)"):format(self.network,
    i.num_blocks, i.model_channels, i.num_heads, i.crossattn_channels, params, self.source)
end

local devices = { cpu = C.ORR_CPU, cuda = C.ORR_CUDA }
local memory_modes = { resident = C.ORR_DIT_RESIDENT, streamed = C.ORR_DIT_STREAMED }

local function placement(fn, device, opts, level)
  local d = devices[device or "cpu"]
  if d == nil then error(("%s: device must be \"cpu\" or \"cuda\", got %s"):format(fn, core.describe_value(device)), level + 1) end
  opts = opts or {}
  local mode = memory_modes[opts.memory or "resident"]
  if mode == nil then
    error(("%s: memory must be \"resident\" or \"streamed\", got %s"):format(fn, core.describe_value(opts.memory)), level + 1)
  end
  return d, tensor.dtype_of(opts.dtype or "f32", level + 1), mode
end

-- Moves the weights: dit:to("cuda", {dtype = "bf16", memory = "streamed"})
-- (streamed: the blocks stay in pinned host memory and are copied one
-- block ahead of use, for GPUs too small for the model). Returns dit.
function DiT:to(device, opts)
  local d, dtype, mode = placement("to", device, opts, 2)
  check(C.orr_dit_to_device(dit_handle(self), d, dtype, mode), 2)
  return self
end

-- "cpu" or "cuda": where the weights are.
function DiT:device() return C.orr_dit_device(dit_handle(self)) == C.ORR_CUDA and "cuda" or "cpu" end

-- Moves a tokenizer's weights: tok:to("cuda", {dtype = "bf16"}) (the conv
-- weights' dtype; f32 only on the cpu). Encode and decode then run there,
-- taking and giving tensors on either device. Returns tok.
function Tokenizer:to(device, opts)
  local d, dtype = placement("to", device, opts, 2)
  check(C.orr_tokenizer_to_device(tok_handle(self), d, dtype), 2)
  return self
end

-- "cpu" or "cuda": where the tokenizer's weights are.
function Tokenizer:device() return C.orr_tokenizer_device(tok_handle(self)) == C.ORR_CUDA and "cuda" or "cpu" end

-- What a forward needs in memory (bytes: weights, pinned_weights,
-- activations, caches, workspace, total) for a network input of
-- x_shape {B, C, T, H, W} (B = 2 with guidance) and text_len tokens, were
-- the weights placed as dit:to(device, opts) places them.
function DiT:memory_estimate(x_shape, text_len, device, opts)
  local d, dtype, mode = placement("memory_estimate", device, opts, 2)
  if type(x_shape) ~= "table" or #x_shape ~= 5 then
    core.arg_error("memory_estimate", "x_shape", "{B, C, T, H, W}", core.describe_value(x_shape))
  end
  local m = ffi.new("orr_dit_memory")
  check(C.orr_dit_memory_estimate(dit_handle(self), d, dtype, mode, ffi.new("int64_t[5]", x_shape), text_len or 512,
    m), 2)
  local out = {}
  for _, k in ipairs { "weights", "pinned_weights", "activations", "caches", "workspace", "total" } do
    out[k] = tonumber(m[k])
  end
  return out
end

-- The weights as tensors by name (zero-copy views of the file), for a DiT
-- loaded from a file.
function DiT:weights()
  if self.source == "random" then error("weights: a random DiT has no file; save one with orrery.save", 2) end
  return (require "orrery").load(self.source)
end

-- The orr_dit_inputs of a Lua table (x, timesteps, text, fps,
-- padding_mask, condition_mask), for `fn`'s messages.
function M.dit_inputs(inputs, fn, level)
  local ins = ffi.new("orr_dit_inputs")
  ins.x = tensor.handle(inputs.x, fn .. ": inputs.x", level + 1)
  ins.timesteps = tensor.handle(inputs.timesteps, fn .. ": inputs.timesteps", level + 1)
  ins.crossattn_emb = tensor.handle(inputs.text or inputs.crossattn_emb, fn .. ": inputs.text", level + 1)
  for _, k in ipairs { "fps", "padding_mask", "condition_mask" } do
    if inputs[k] then ins[k] = tensor.handle(inputs[k], fn .. ": inputs." .. k, level + 1) end
  end
  return ins
end

-- A forward into a new tensor of `shape`: `call(out_ptr, list)` runs the
-- network, with a fresh tensor list when `traced` (else NULL). Returns out
-- and, when traced, {name = tensor} and the names in order (views that
-- outlive the list). Raises the core's error (out freed) on failure.
function M.run_forward(shape, traced, call, level)
  local out = tensor.empty(shape)
  local list, status
  if traced then
    local l = ffi.new("orr_tensor_list*[1]")
    status = C.orr_tensor_list_create(l)
    if status == C.ORR_OK then list = ffi.gc(l[0], C.orr_tensor_list_free) end
  end
  if status == nil or status == C.ORR_OK then status = call(out.ptr, list) end
  local trace, order = {}, {}
  for i = 0, list and status == C.ORR_OK and tonumber(C.orr_tensor_list_count(list)) - 1 or -1 do
    local v = ffi.new("orr_tensor*[1]")
    status = C.orr_tensor_view(v, C.orr_tensor_list_get(list, i))
    if status ~= C.ORR_OK then break end
    local name = ffi.string(C.orr_tensor_list_name(list, i))
    trace[name] = tensor.wrap(v[0], false)
    order[#order + 1] = name
  end
  if list then
    ffi.gc(list, nil)
    C.orr_tensor_list_free(list)
  end
  if status ~= C.ORR_OK then
    out:free()
    check(status, level + 1)
  end
  if not traced then return out end
  return out, trace, order
end

-- One forward as the official network runs it. inputs: x [B,C,T,H,W]
-- (c_in-scaled), timesteps [B] (c_noise), text [B,L,D], fps [B] (optional),
-- padding_mask, condition_mask (optional). With trace = true, also returns
-- {stage name = tensor} of every stage.
function DiT:forward(inputs)
  local p = dit_handle(self)
  if type(inputs) ~= "table" then core.arg_error("forward", "inputs", "a table", type(inputs)) end
  local ins = M.dit_inputs(inputs, "forward", 2)
  local shape = tensor.Tensor.shape(inputs.x)
  shape[2] = self:info().out_channels
  return M.run_forward(shape, inputs.trace, function(out, list) return C.orr_dit_forward(p, out, ins, list) end, 2)
end

-- Sampling, with every option of the C samplers: see orrery/sample.lua.
function DiT:sample(opts) return require("orrery.sample").run(self, opts) end

---------------------------------------------------------------------------
-- the released models and their files

local function model_record(m)
  local files = {}
  for i = 0, m.n_files - 1 do
    files[#files + 1] = { name = core.str(m.files[i].name), holds = core.str(m.files[i].holds),
      optional = m.files[i].optional }
  end
  return {
    name = core.str(m.name), kind = core.str(m.kind), network = core.str(m.network),
    config = core.str(m.config_json), parameters = tonumber(m.parameters), requires = core.str(m.requires),
    files = files,
  }
end

-- Every released Cosmos model orrery knows, as tables.
function M.list()
  local out = {}
  for i = 0, C.orr_model_count() - 1 do out[#out + 1] = model_record(C.orr_model_at(i)) end
  return out
end

function M.find(name)
  local m = C.orr_model_find(name)
  return m ~= nil and model_record(m) or nil
end

-- The path of `file` of model `name` under a checkpoints folder.
function M.path(dir, name, file)
  local buf = ffi.new("char[4096]")
  check(C.orr_model_path(dir, name, file, buf, 4096), 2)
  return ffi.string(buf)
end

-- true, or false and the core's message naming the first missing file or tensor.
function M.check(dir, name)
  if C.orr_model_check(dir, name, nil) == C.ORR_OK then return true end
  return false, ffi.string(C.orr_last_error())
end

-- A safetensors file beside an official one (model.pt -> model.safetensors),
-- which `orrery convert` writes.
local function converted(dir, name, file)
  local path = M.path(dir, name, file)
  local st = path:gsub("%.[%w]+$", ".safetensors")
  local f = io.open(st, "rb")
  if not f then
    error(("load_model: %s needs converting once: orrery convert %s %s"):format(path, path, st), 3)
  end
  f:close()
  return st
end

-- A released diffusion model from a checkpoints folder: {dit, tokenizer,
-- latent_mean, latent_std, info}. The DiT and tokenizer weights are read
-- from the safetensors files `orrery convert` makes beside the official ones.
function M.load_model(dir, name)
  local info = M.find(name)
  if not info then error(("load_model: unknown model '%s' (orrery.models.list() names them)"):format(tostring(name)), 2) end
  if info.kind ~= "diffusion" then error(("load_model: %s is a %s model, not a diffusion one"):format(name, info.kind), 2) end
  local dit = M.load_dit { path = converted(dir, name, "model.pt"), network = info.network, config = info.config }
  local tinfo = M.find(info.requires)
  local tok = M.load_tokenizer { path = converted(dir, info.requires, "encoder.jit"),
    decoder = converted(dir, info.requires, "decoder.jit"), config = tinfo.config }
  local stats = M.checkpoint(M.path(dir, info.requires, "mean_std.pt"))
  return { dit = dit, tokenizer = tok, latent_mean = stats["0"], latent_std = stats["1"], info = info, name = name }
end

-- The tensors of any file orrery reads (torch.save .pt, TorchScript .jit,
-- safetensors) by name, zero-copy, plus the file's facts as a table.
function M.checkpoint(path)
  if type(path) ~= "string" then core.arg_error("checkpoint", "path", "a file name", type(path)) end
  local out = ffi.new("orr_checkpoint*[1]")
  check(C.orr_ckpt_open(path, out), 2)
  local ck = out[0]
  local tensors, meta = {}, {}
  for i = 0, tonumber(C.orr_ckpt_count(ck)) - 1 do
    local name = ffi.string(C.orr_ckpt_name(ck, i))
    local t = ffi.new("orr_tensor*[1]")
    local status = C.orr_ckpt_get(ck, name, t)
    if status ~= C.ORR_OK then
      C.orr_ckpt_close(ck)
      check(status, 2)
    end
    tensors[name] = tensor.wrap(t[0], false)
  end
  for i = 0, tonumber(C.orr_ckpt_metadata_count(ck)) - 1 do
    local key = ffi.string(C.orr_ckpt_metadata_key(ck, i))
    meta[key] = ffi.string(C.orr_ckpt_metadata(ck, key))
  end
  C.orr_ckpt_close(ck)
  return tensors, meta
end

return M
