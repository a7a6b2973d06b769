-- Transfer1 from Lua on the small built-in model: two controls (one made by
-- the edge preprocessor, one given) with a number and a map for weights,
-- deterministic per seed; the branches' residuals from a traced forward;
-- the official spec read as-is; and the errors, each naming what is wrong.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local orrery = require "orrery"
local transfer = orrery.transfer

local model = transfer.default_model { small = true }
local scene = orrery.scene { frames = model.frames, height = model.height, width = model.width }

local tmp = T.tmpname
-- depth inside the left half only, full strength
local left = orrery.zeros({ model.frames, model.height, model.width })
left:narrow(2, 0, model.width / 2):fill(1)

local function run(seed, weight)
  return transfer {
    model = model, input = scene.rgb, prompt = "a rainy street", steps = 2, seed = seed, progress = false,
    controls = { edge = { weight = 0.8, preset = "low" }, depth = { input = scene.depth, weight = weight or left } },
  }
end

T.case("two controls, a number and a map; the same seed gives the same video", function()
  local a, b, c = run(3), run(3), run(4)
  T.eq(table.concat(a.video:shape(), ","), ("%d,%d,%d,3"):format(model.frames, model.height, model.width), "video shape")
  T.eq(a.video:dtype(), "u8", "video dtype")
  T.ok(T.same(a.video, b.video, 5), "same seed, same video")
  T.ok(not T.same(a.video, c.video, 5), "another seed, another video")
  -- edge made from the input by Canny: 0 or 255 only
  local edges = a.controls.edge
  T.ok(edges:max() == 255 and edges:min() == 0, "edge control is a binary map")
  T.ok(T.same(a.controls.depth, scene.depth, 5), "depth control is the given video")
  -- normalised as the official: where 0.8 + 1 > 1 both are divided by 1.8
  local we, wd = a.weights.edge, a.weights.depth
  T.near(we:get(0, 0, 0), 0.8 / 1.8, 4e-3, "edge weight on the left")
  T.near(wd:get(0, 0, 0), 1 / 1.8, 4e-3, "depth weight on the left")
  T.near(we:get(0, 0, model.width - 1), 0.8, 4e-3, "edge weight on the right")
  T.near(wd:get(0, 0, model.width - 1), 0, 1e-6, "no depth on the right")
  T.eq(a.params.controls, "edge,depth", "branch order recorded")
end)

T.case("weights as numbers only, and a weight map of [H,W]", function()
  local r = run(3, 0.1)
  T.near(r.weights.depth, 0.1, 1e-3, "a number stays a number")
  T.near(r.weights.edge, 0.8, 4e-3, "sum under 1: not rescaled")
  local hw = run(3, left:select(0, 0))
  T.near(hw.weights.depth:get(model.frames - 1, 0, 0), 1 / 1.8, 4e-3, "[H,W] holds for every frame")
end)

T.case("a weight map from a .pt file", function()
  local path = T.tmpname(".pt")
  orrery.control.save(orrery.control.constant(0.25), path, model.frames, model.height, model.width)
  local r = run(3, path)
  os.remove(path)
  T.near(r.weights.depth:get(model.frames - 1, 0, 0), 0.25 / 1.05, 4e-3, "the file's values, normalised with edge 0.8")
  local two = T.tmpname(".safetensors")
  orrery.save(two, { a = left, b = left })
  T.fails(function() run(3, two) end, "holds 2 tensors; a weight map is one [T,H,W]", "a file of two tensors")
  os.remove(two)
end)

T.case("the branches' residuals are visible in a traced forward", function()
  local nets = transfer.build(model, { "edge", "depth" })
  local info = nets.transfer:info()
  T.eq(#info.controls, 2, "two branches")
  T.eq(info.controls[1].kind, "edge", "first branch")
  T.eq(info.controls[2].blocks, model.control_blocks, "blocks per branch")
  local B, t, h, w = 1, 2, 4, 6
  local x = orrery.randn({ B, 16, t, h, w }, 1)
  local out, trace = nets.transfer:forward {
    x = x, timesteps = orrery.tensor { 0.3 }, text = orrery.randn({ 1, 4, info.crossattn_channels }, 2),
    condition_mask = orrery.zeros({ B, 1, t, h, w }), padding_mask = orrery.zeros({ B, 1, h * 8, w * 8 }),
    fps = orrery.tensor { 24 },
    latent_hint = orrery.randn({ B, 2, 16, t, h, w }, 3), control_weight = orrery.tensor { 0.5, 0.25 }, trace = true,
  }
  T.eq(table.concat(out:shape(), ","), table.concat(x:shape(), ","), "output shape")
  T.ok(trace["branch0.residual.block0"] and trace["branch1.residual.block1"], "per-branch residuals")
  T.ok(trace["x_ctrl.block0"], "the summed residual of block 0")
  local sum = trace["branch0.residual.block0"] + trace["branch1.residual.block0"]
  T.near((sum - trace["x_ctrl.block0"]):abs():max(), 0, 1e-5, "x_ctrl is the branches' sum")
end)

T.case("official networks from a safetensors file", function()
  -- the transfer_ctrl fixture's weights (tests/data/transfer)
  local path = arg[0]:match("^(.-)[^/]*$") .. "../data/transfer/weights.safetensors"
  local _, meta = orrery.load(path)
  local nets = transfer.load { base = path, base_config = meta.base_config, control_config = meta.ctrl_config,
    controls = { { "edge", path, "net.hint_encoders.0." }, { "vis", path, "net.hint_encoders.1." } },
    tokenizer = orrery.models.random_tokenizer(orrery.transfer.default_model { small = true }.tokenizer_config, 1) }
  local info = nets.transfer:info()
  T.eq(#info.controls, 2, "both branches")
  T.eq(info.controls[1].kind .. "," .. info.controls[2].kind, "edge,vis", "in the order given")
  T.ok(tostring(nets.transfer):find("controls edge", 1, true), "summary: " .. tostring(nets.transfer))
  T.fails(function() transfer.build(nets, { "vis", "edge" }) end, "controls are {edge, vis}", "branch order")
  T.fails(function() transfer.load { base = path, base_config = meta.base_config, control_config = meta.ctrl_config,
    controls = { { "edge", path, "net.hint_encoders.7." } } } end, "", "a missing branch")
  T.fails(function() transfer.load { base = "/nonexistent.safetensors" } end, "/nonexistent.safetensors", "no file")
end)

T.case("the official spec as-is", function()
  local path = tmp(".json")
  local f = assert(io.open(path, "w"))
  f:write([[{
    "prompt": "a street at night", "negative_prompt": "blurry", "seed": 9, "num_steps": 2, "guidance": 3,
    "input_video_path": "in.mp4", "sigma_max": 60, "canny_threshold": "high",
    "video_save_folder": "out", "video_save_name": "night",
    "edge": {"control_weight": 0.6},
    "depth": {"input_control": "depth.mp4", "control_weight": "map.pt"}
  }]])
  f:close()
  local o = transfer.spec_options(path)
  os.remove(path)
  T.eq(o.prompt, "a street at night", "prompt")
  T.eq(o.seed, 9, "seed")
  T.eq(o.steps, 2, "steps")
  T.eq(o.guidance, 3, "guidance")
  T.eq(o.sigma_max, 60, "sigma_max")
  T.eq(o.input, "in.mp4", "input video")
  T.eq(o.out, "out/night.mp4", "output path")
  T.eq(o.controls[1].kind, "edge", "controls in the spec's order")
  T.eq(o.controls[1].preset, "high", "canny preset")
  T.near(o.controls[1].weight, 0.6, 1e-12, "number weight")
  T.eq(o.controls[2].weight, "map.pt", "map weight")
  T.eq(o.controls[2].input, "depth.mp4", "control input")

  if not orrery.media.has_video() then return end
  local dir = tmp("")
  os.execute("mkdir -p " .. dir)
  orrery.media.save_video(dir .. "/in.mp4", scene.rgb, { crf = 0 })
  local spec = ([[{"input_video_path": "%s/in.mp4", "num_steps": 1, "seed": 2,
    "vis": {"control_weight": 0.5}, "edge": {"control_weight": 1.0}}]]):format(dir)
  local r = transfer.run_spec(spec, { model = model, out = dir .. "/out.mp4", progress = false })
  T.eq(r.params.controls, "vis,edge", "spec order kept")
  local back = orrery.media.load_video(dir .. "/out.mp4")
  T.eq(back:size(0), model.frames, "frames written")
  os.execute("rm -rf " .. dir)
end)

T.case("the command's exit status", function()
  T.eq(transfer.main { "--bogus" }, 2, "unknown option")
  T.eq(transfer.main { "--steps", "x", "a.json" }, 2, "a bad number")
  T.eq(transfer.main { "/nonexistent/spec.json", "--small" }, 1, "a missing spec")
  T.eq(transfer.main { "--help" }, 0, "help")
end)

T.case("errors name what is wrong", function()
  local function go(controls, extra)
    local opts = { model = model, input = scene.rgb, steps = 1, progress = false, controls = controls }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return function() transfer(opts) end
  end
  T.fails(go { flow = { weight = 1 } }, "unknown control 'flow'", "unknown modality")
  T.fails(go { depth = { weight = 1 } }, "'depth' needs its control video as input", "depth without a video")
  T.fails(go { edge = { weight = -0.5 } }, "'edge'.weight is -0.5; a control weight must be >= 0", "negative number")
  T.fails(go { edge = { weight = left - 2 } }, "'edge'.weight has values down to -2", "negative map")
  T.fails(go { edge = { weight = orrery.zeros({ 2 }) } }, "'edge'.weight is [2]; a weight map is [T,H,W] or [H,W]",
    "map of the wrong rank")
  T.fails(go { edge = { wieght = 1 } }, "'edge': unknown key 'wieght'", "misspelt key")
  T.fails(go({ edge = 1 }, { stpes = 3 }), "unknown option 'stpes'", "misspelt option")
  T.fails(go { edge = { preset = "extreme" } }, "'edge'.preset", "unknown preset")
  T.fails(go { depth = { input = orrery.scene { frames = 3, height = 16, width = 16 }.depth } },
    "'depth' control video is 16x16", "control of the wrong size")
  T.fails(go {}, "no control given", "no control")
  T.fails(function() transfer.spec_options('{"edge": {"control_weight": -1}}') end, "'edge'.'control_weight'",
    "spec: negative weight")
  T.fails(function() transfer.spec_options('{"flow": {"control_weight": 1}, "input_video_path": "a.mp4"}') end,
    "'flow'", "spec: unknown modality")
  T.fails(function() transfer.spec_options('{"depth": {"control_weight": 1}, "input_video_path": "a.mp4"}') end,
    "depth", "spec: depth without input_control")
end)

T.done()
