-- Models from Lua: random tokenizers and DiTs, their info, encode/decode
-- shapes, a traced forward, the registry, checkpoints, and wrong arguments.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local orrery = require "orrery"
local models = orrery.models

local model = orrery.default_model { small = true }

T.case("tokenizer", function()
  local tok = orrery.random_tokenizer(model.tokenizer_config, 1)
  local info = tok:info()
  T.eq(info.kind, "CV", "kind")
  T.eq(info.temporal_compression, 8, "temporal compression")
  T.ok(tostring(tok):find("tokenizer CV 8x8x8", 1, true), "summary: " .. tostring(tok))
  local ls = tok:latent_shape { 1, 3, 9, 32, 48 }
  T.eq(table.concat(ls, ","), "1,16,2,4,6", "latent shape")
  T.eq(table.concat(tok:pixel_shape(ls), ","), "1,3,9,32,48", "and back")
  local pixels = orrery.rand({ 1, 3, 9, 32, 48 }, 2) * 2 - 1
  local latent = tok:encode(pixels)
  T.eq(table.concat(latent:shape(), ","), "1,16,2,4,6", "encode")
  local back = tok:decode(latent)
  T.eq(table.concat(back:shape(), ","), "1,3,9,32,48", "decode")
  T.fails(function() tok:latent_shape { 1, 3, 10, 32, 48 } end, "", "invalid frame count")
  T.fails(function() tok:encode(orrery.zeros({ 1, 3, 10, 32, 48 })) end, "", "encode of an invalid size")
  T.eq(tok:device(), "cpu", "on the cpu")
  T.eq(tok:to("cpu"), tok, "moving where it is")
  T.fails(function() tok:to("cpu", { dtype = "bf16" }) end, "", "the cpu path takes f32 weights only")
  if not orrery.cuda_available() then T.fails(function() tok:to("cuda") end, "cuda", "no device here") end
  tok:free()
  T.fails(function() tok:info() end, "tokenizer was freed", "use after free")
end)

T.case("DiT", function()
  local dit = orrery.random_dit(model.dit_network, model.dit_config, 3)
  local info = dit:info()
  T.eq(info.num_blocks, 4, "blocks")
  T.eq(info.model_channels, 32, "width")
  T.ok(info.parameters > 0, "parameter count")
  T.ok(tostring(dit):find("dit GeneralDIT: 4 blocks of width 32", 1, true), "summary: " .. tostring(dit))
  local x = orrery.randn({ 1, 16, 2, 4, 4 }, 1)
  local out, trace, order = dit:forward { x = x, timesteps = orrery.tensor { 0.5 }, text = orrery.randn({ 1, 4, 16 }, 2),
    fps = orrery.tensor { 24 }, trace = true }
  T.eq(table.concat(out:shape(), ","), "1,16,2,4,4", "output shape")
  T.ok(#order > 4 and trace["x_embedder"] ~= nil and trace["final_layer"] ~= nil, "the stages are traced")
  T.ok(trace["blocks.block0"]:numel() > 0, "block outputs")
  T.fails(function() dit:forward { x = x } end, "forward: inputs.timesteps must be a tensor", "a missing input")
  T.fails(function() dit:forward { x = orrery.zeros({ 1, 3, 2, 4, 4 }), timesteps = orrery.tensor { 1 },
    text = orrery.zeros({ 1, 4, 16 }) } end, "", "wrong channels")
  T.fails(function() dit:weights() end, "a random DiT has no file", "weights of a random DiT")
  T.fails(function() orrery.random_dit("NoSuchDIT", model.dit_config, 1) end, "NoSuchDIT", "unknown network")
  T.fails(function() orrery.random_dit("GeneralDIT", "{not json", 1) end, "", "bad JSON")
  T.fails(function() orrery.load_dit("/nonexistent.safetensors") end, "/nonexistent.safetensors", "missing file")
end)

T.case("DiT placement and memory estimate", function()
  local dit = orrery.random_dit(model.dit_network, model.dit_config, 3)
  local inputs = { x = orrery.randn({ 1, 16, 2, 4, 4 }, 1), timesteps = orrery.tensor { 0.5 },
    text = orrery.randn({ 1, 4, 16 }, 2), fps = orrery.tensor { 24 } }
  local f32 = dit:forward(inputs)
  local e = dit:memory_estimate({ 2, 16, 2, 4, 4 }, 4)
  T.ok(e.weights > 0 and e.activations > 0, "weights and activations counted")
  T.eq(e.total, e.weights + e.activations + e.caches + e.workspace, "the total adds up")
  T.eq(e.pinned_weights, 0, "resident: nothing pinned")
  local half = dit:memory_estimate({ 2, 16, 2, 4, 4 }, 4, "cpu", { dtype = "bf16" })
  T.ok(half.weights < e.weights, "bf16 matrices take less")
  T.eq(dit:to("cpu", { dtype = "bf16" }):device(), "cpu", "converted in place")
  local bf16 = dit:forward(inputs)
  T.near((bf16 - f32):abs():max(), 0, 0.05 * f32:abs():max(), "bf16 weights: close to f32")
  T.fails(function() dit:to("gpu") end, 'device must be "cpu" or "cuda"', "unknown device")
  T.fails(function() dit:to("cpu", { memory = "swapped" }) end, 'memory must be "resident" or "streamed"', "unknown mode")
  T.fails(function() dit:memory_estimate({ 1, 16 }) end, "x_shape", "short shape")
  if not orrery.cuda_available() then
    T.fails(function() dit:to("cuda") end, "cuda", "no device here")
  end
end)

T.case("configs as Lua tables", function()
  T.eq(models.json_config({ a = 1, b = { 2, 3 }, c = "x", d = true }), '{"a": 1, "b": [2, 3], "c": "x", "d": true}',
    "JSON from a table")
  local dit = orrery.random_dit("GeneralDIT", { in_channels = 16, out_channels = 16, model_channels = 32,
    num_blocks = 1, num_heads = 2, crossattn_emb_channels = 8, max_img_h = 8, max_img_w = 8, max_frames = 4,
    patch_spatial = 2, patch_temporal = 1, pos_emb_cls = "rope3d" }, 1)
  T.eq(dit:info().num_blocks, 1, "a table config")
end)

T.case("registry and checkpoints", function()
  local list = models.list()
  T.ok(#list > 4, "released models are listed")
  local m = models.find("Cosmos-Predict1-7B-Text2World")
  T.eq(m.network, "GeneralDIT", "find")
  T.eq(m.requires, "Cosmos-Tokenize1-CV8x8x8-720p", "its tokenizer")
  T.eq(models.find("nope"), nil, "unknown names give nil")
  local ok, why = models.check("/nonexistent", "Cosmos-Predict1-7B-Text2World")
  T.ok(not ok and why:find("model.pt", 1, true), "check names the missing file: " .. tostring(why))
  T.fails(function() orrery.load_model("/tmp", "nope") end, "unknown model 'nope'", "load an unknown model")
  local path = os.tmpname()
  orrery.save(path, { w = orrery.ones({ 2, 2 }) }, { note = "x" })
  local tensors, meta = orrery.checkpoint(path)
  T.eq(tensors.w:sum(), 4, "checkpoint reads safetensors")
  T.eq(meta.format, "safetensors", "and says its format")
  os.remove(path)
end)

T.done()
