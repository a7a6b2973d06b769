-- orrery — the Lua face of liborrery: `require "orrery"` returns this table.
--
-- Conventions (they hold everywhere): dims, element indices, steps and
-- frames are 0-based, as in the C core and in PyTorch, whose code is
-- orrery's specification; shapes are Lua arrays {B, C, T, H, W}. Every
-- failure in C becomes a Lua error carrying the core's message. Objects that
-- hold C memory (tensors, models) have an explicit :free(); orrery.scope
-- frees what a function made; the garbage collector is only a backstop
-- (see orrery/tensor.lua).
--
-- Each concept lives in its own module, and this table gathers them:
--   orrery.tensor    tensors, views, ops, ownership    orrery.models    tokenizers, DiTs, the registry
--   orrery.schedule  keyframe strings, arrays, fns     orrery.sample    samplers, hooks, progress
--   orrery.prompt    prompts, the embedding cache      orrery.text2world  generation, outputs, rerun
--   orrery.media     PNG and video, metadata           orrery.plot      SVG plots
--   orrery.notebook  literate notebooks to HTML        orrery.repl      the interactive prompt
--   orrery.view      the SDL viewer                    orrery.transfer  Transfer1: controls, weights, specs
--   orrery.scene     a procedural scene with its depth and segmentation videos
--   orrery.control   control weight maps over space and time: shapes, keyframes, masks, arithmetic
local ffi = require "ffi"
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local C, check = core.C, core.check

local M = { C = C, check = check, Tensor = tensor.Tensor }

for _, name in ipairs {
  "empty", "zeros", "ones", "full", "tensor", "from_table", "arange", "linspace", "rng", "randn", "rand", "cat",
  "matmul", "linear", "layer_norm", "rms_norm", "group_norm", "attention", "maximum", "minimum", "is_tensor",
  "scope", "memory", "memory_limit", "gc_step", "cuda_available",
} do
  M[name] = tensor[name]
end

-- safetensors: load returns {name = tensor, ...} (zero-copy views of the
-- mapped file) and the metadata table.
function M.load(path)
  if type(path) ~= "string" then core.arg_error("load", "path", "a file name", type(path)) end
  local st = ffi.new("orr_safetensors*[1]")
  check(C.orr_st_open(path, st), 2)
  local f, tensors, meta = st[0], {}, {}
  for i = 0, tonumber(C.orr_st_count(f)) - 1 do
    local name = ffi.string(C.orr_st_name(f, i))
    local out = ffi.new("orr_tensor*[1]")
    local status = C.orr_st_get(f, name, out)
    if status ~= C.ORR_OK then
      C.orr_st_close(f)
      check(status, 2)
    end
    tensors[name] = tensor.wrap(out[0], false)
  end
  for i = 0, tonumber(C.orr_st_metadata_count(f)) - 1 do
    local key = ffi.string(C.orr_st_metadata_key(f, i))
    meta[key] = ffi.string(C.orr_st_metadata(f, key))
  end
  C.orr_st_close(f)
  return tensors, meta
end

function M.save(path, tensors, meta)
  if type(path) ~= "string" then core.arg_error("save", "path", "a file name", type(path)) end
  if type(tensors) ~= "table" then core.arg_error("save", "tensors", "a table {name = tensor}", type(tensors)) end
  local names = {}
  for name in pairs(tensors) do names[#names + 1] = name end
  table.sort(names)
  local n = #names
  local cnames = ffi.new("const char*[?]", math.max(n, 1))
  local cts = ffi.new("const orr_tensor*[?]", math.max(n, 1))
  for i, name in ipairs(names) do
    cnames[i - 1] = name
    cts[i - 1] = tensor.handle(tensors[name], "save: tensors." .. name)
  end
  local keys, vals = {}, {}
  for k, v in pairs(meta or {}) do
    keys[#keys + 1] = k
    vals[#vals + 1] = tostring(v)
  end
  local m = #keys
  local ck = ffi.new("const char*[?]", math.max(m, 1), keys)
  local cv = ffi.new("const char*[?]", math.max(m, 1), vals)
  check(C.orr_st_save(path, n, cnames, cts, m, ck, cv), 2)
end

-- Runs a golden fixture directory; returns true on PASS, or false and the message.
function M.verify(dir, opts)
  opts = opts or {}
  local p = ffi.new("orr_verify_params")
  C.orr_verify_params_init(p)
  if opts.tolerance then p.tolerance = opts.tolerance end
  if opts.intermediates ~= nil then p.intermediates = opts.intermediates end
  if opts.verbose ~= nil then p.verbose = opts.verbose end
  local status = C.orr_verify_dir(dir, p, opts.quiet and nil or io.stdout)
  if status == C.ORR_OK then return true end
  return false, ffi.string(C.orr_last_error())
end

function M.threads(n)
  if n then
    if type(n) ~= "number" or n < 1 then core.arg_error("threads", "n", "a positive count", tostring(n)) end
    C.orr_set_num_threads(n)
  end
  return C.orr_get_num_threads()
end

-- The concept modules, loaded on first use so that `require "orrery"` stays
-- instant; the REPL's completion lists them from here. orrery.schedule,
-- orrery.sample and orrery.text2world are modules that can be called.
M.modules = { "tensor", "models", "schedule", "sample", "prompt", "text2world", "transfer", "control", "scene", "media",
  "plot", "notebook", "repl", "view" }
local exported = {
  models = { "load_tokenizer", "random_tokenizer", "load_dit", "random_dit", "load_model", "checkpoint" },
  sample = { karras = "karras", sigmas = "sigmas" },
  prompt = { embedding_cache = "cache", prompts = "prompts", random_encoder = "random_encoder" },
  text2world = { rerun = "rerun", default_model = "default_model" },
  media = { "read_png", "write_png", "load_video", "save_video", "read_metadata", "contact_sheet" },
}
local lazy = {}
for mod, names in pairs(exported) do
  for k, v in pairs(names) do
    if type(k) == "number" then lazy[v] = { mod, v } else lazy[k] = { mod, v } end
  end
end
for _, mod in ipairs(M.modules) do lazy[mod] = { mod } end

setmetatable(M, {
  __index = function(t, key)
    local where = lazy[key]
    if not where then return nil end
    local mod = require("orrery." .. where[1])
    local v = where[2] and mod[where[2]] or mod
    rawset(t, key, v)
    return v
  end,
})

-- Every name the table offers, loaded or not (for completion and help).
function M.names()
  local out = {}
  for k in pairs(M) do out[#out + 1] = k end
  for k in pairs(lazy) do
    if rawget(M, k) == nil then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

return M
