-- view.lua — the viewer (viewer/, SDL2) from Lua. Panes and frames are
-- numbered from 0, as the window shows them.
--
--   orrery.view("input.mp4", "generated.mp4")            -- side by side, until closed
--   orrery.view { "input.mp4", r.video,                  -- files, frame tensors, pane tables
--                 { difference = { 0, 1 }, gain = 4 },
--                 overlay = { pane = 1, weights = w, min = 0, max = 1 },
--                 loop = true, speed = 1, layout = "grid", title = "run 7" }
--
--   local v = orrery.view.open { title = "sweep" }       -- or step by step
--   v:add "a.mp4"; v:add { frames = t, label = "depth", fps = 24 }
--   v:run(); v:close()
--
--   local r = orrery.view.generate { prompt = "...", steps = 35, out = "a.mp4" }
--
-- generate() runs orr_world_generate on a worker thread and shows the
-- latest x0 estimate as it goes (d: a full decode, c: cancel). Nothing in
-- Lua runs on that thread, so its guidance and sigmas may be schedules but
-- not Lua functions, and its networks must not be used elsewhere meanwhile.
--
-- With no display the window is not opened: show() prints why and returns
-- false and the message; generate() runs all the same and writes its files.
-- The keys are in viewer/README.md, and on `?` in the window.
local ffi = require "ffi"
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local C, check = core.C, core.check

local M = {}

pcall(ffi.cdef, "int orr_cli_interrupted(void);")
local cli_interrupted = pcall(function() return ffi.C.orr_cli_interrupted end) and ffi.C.orr_cli_interrupted or nil

-- Whether this build has the viewer (cmake -DORR_VIEWER=ON and SDL2).
function M.available()
  return (pcall(function() return C.orr_viewer_open end))
end

local layouts = { auto = C.ORR_LAYOUT_AUTO, row = C.ORR_LAYOUT_ROW, column = C.ORR_LAYOUT_COLUMN,
  grid = C.ORR_LAYOUT_GRID }
local layout_names = { [tonumber(C.ORR_LAYOUT_AUTO)] = "auto", [tonumber(C.ORR_LAYOUT_ROW)] = "row",
  [tonumber(C.ORR_LAYOUT_COLUMN)] = "column", [tonumber(C.ORR_LAYOUT_GRID)] = "grid" }

local viewer_options = { title = "string", width = "number", height = "number", fullscreen = "boolean",
  loop = "boolean", speed = "number", layout = "string", screenshot_dir = "string", script = "string" }

---------------------------------------------------------------------------
-- a viewer

local Viewer = { __name = "viewer" }
Viewer.__index = Viewer
M.Viewer = Viewer

local function vhandle(self)
  if getmetatable(self) ~= Viewer then error("expected a viewer, got " .. core.describe_value(self), 3) end
  if self.ptr == nil then error("viewer was closed", 3) end
  return self.ptr
end

-- Opens a viewer. opts: title, width, height, fullscreen, loop, speed,
-- layout ("auto", "row", "column", "grid"), screenshot_dir, script (a key
-- script file played by :run()). Returns the viewer, or nil and the reason
-- when there is no display.
function M.open(opts)
  opts = opts or {}
  if not M.available() then
    return nil, "view: this orrery was built without the viewer (cmake -DORR_VIEWER=ON needs SDL2)"
  end
  local p = ffi.new("orr_viewer_params")
  C.orr_viewer_params_init(p)
  local anchors = {}
  for k, want in pairs(viewer_options) do
    local v = opts[k]
    if v ~= nil then
      if type(v) ~= want then core.arg_error("view", k, "a " .. want, core.describe_value(v), 2) end
      if k == "layout" then
        if not layouts[v] then core.arg_error("view", "layout", "auto, row, column or grid", core.describe_value(v), 2) end
        p.layout = layouts[v]
      elseif want == "string" then
        anchors[k] = v
        p[k] = v
      else
        p[k] = v
      end
    end
  end
  local out = ffi.new("orr_viewer*[1]")
  local status = C.orr_viewer_open(p, out)
  if status == C.ORR_ERR_UNSUPPORTED then return nil, ffi.string(C.orr_last_error()) end
  check(status, 2)
  return setmetatable({ ptr = ffi.gc(out[0], C.orr_viewer_close), default_fps = opts.fps }, Viewer)
end

function Viewer:close()
  local p = self.ptr
  if p ~= nil then
    ffi.gc(p, nil)
    C.orr_viewer_close(p)
    self.ptr = nil
  end
end

-- Adds a pane and returns its number: a video file name, a frame tensor
-- (u8 [T,H,W,C] or [H,W,C], or float [3,T,H,W] / [B,3,T,H,W] in [-1,1]),
-- or a table: { video = path | frames = tensor | difference = {a, b}
-- | job = <orr_world_job*>, label, fps, gain, overlay = {weights, min, max} }.
function Viewer:add(spec)
  local h = vhandle(self)
  if type(spec) == "string" then spec = { video = spec } end
  if tensor.is_tensor(spec) then spec = { frames = spec } end
  if type(spec) ~= "table" then
    core.arg_error("view", "a pane", "a file name, a tensor or a table", core.describe_value(spec), 2)
  end
  local label, index = spec.label, ffi.new("int[1]")
  if spec.video then
    check(C.orr_viewer_add_video(h, label, spec.video, index), 2)
  elseif spec.frames then
    check(C.orr_viewer_add_frames(h, label, tensor.handle(spec.frames, "view: frames", 2),
      spec.fps or self.default_fps or 24, index), 2)
  elseif spec.difference then
    local d = spec.difference
    if type(d) ~= "table" or type(d[1]) ~= "number" or type(d[2]) ~= "number" then
      core.arg_error("view", "difference", "two pane numbers {a, b}", core.describe_value(d), 2)
    end
    check(C.orr_viewer_add_difference(h, label, d[1], d[2], spec.gain or 4, index), 2)
  elseif spec.job then
    check(C.orr_viewer_add_job(h, label, spec.job, index), 2)
  else
    error("view: a pane table needs video, frames, difference or job", 2)
  end
  if spec.overlay then
    local o = spec.overlay
    self:overlay(index[0], o.weights or o[1], o.min, o.max)
  end
  return index[0]
end

-- A weight map [T,H,W] or [H,W] as a heatmap over `pane`, coloured from
-- min to max (default: the data's range).
function Viewer:overlay(pane, weights, min, max)
  if type(pane) ~= "number" then core.arg_error("view", "overlay pane", "a pane number", core.describe_value(pane), 2) end
  check(C.orr_viewer_set_overlay(vhandle(self), pane, tensor.handle(weights, "view: overlay weights", 2), min or 0,
    max or 0), 2)
end

-- Runs the window until it is closed (playing opts.script first).
function Viewer:run() check(C.orr_viewer_run(vhandle(self)), 2) end

-- One turn (input, playback by `seconds`, or the wall clock when nil, and
-- drawing); returns whether the window is still open.
function Viewer:update(seconds)
  local open = ffi.new("bool[1]")
  check(C.orr_viewer_update(vhandle(self), seconds or -1, open), 2)
  return open[0]
end

-- A key script line: "key space", "click 100 200", "wait 30", ...
function Viewer:command(line) check(C.orr_viewer_command(vhandle(self), line), 2) end
function Viewer:screenshot(path) check(C.orr_viewer_screenshot(vhandle(self), path), 2) end
function Viewer:seek(frame) check(C.orr_viewer_seek(vhandle(self), frame), 2) end

-- Where a pane's image lies: {x, y, width, height} in window pixels.
function Viewer:pane_rect(pane)
  local r = ffi.new("int[4]")
  check(C.orr_viewer_pane_rect(vhandle(self), pane, r), 2)
  return { r[0], r[1], r[2], r[3] }
end

function Viewer:state()
  local s = ffi.new("orr_viewer_state")
  C.orr_viewer_get_state(vhandle(self), s)
  local out = {
    timeline = { s.timeline[0], s.timeline[1], s.timeline[2], s.timeline[3] },
    layout = layout_names[tonumber(s.layout)], frame = tonumber(s.frame), frames = tonumber(s.frames),
    cursor = s.cursor_pane >= 0 and { pane = s.cursor_pane, u = s.cursor_u, v = s.cursor_v,
      weight = s.cursor_on_weight and s.cursor_weight or nil } or nil,
  }
  for _, k in ipairs { "open", "playing", "loop", "fullscreen", "help", "overlays", "fps", "time", "speed", "zoom",
    "pan_x", "pan_y", "panes", "width", "height" } do
    out[k] = s[k]
  end
  return out
end

function Viewer:__tostring()
  if self.ptr == nil then return "viewer (closed)" end
  local s = self:state()
  return ("viewer: %d panes, frame %d of %d"):format(s.panes, s.frame, s.frames)
end

---------------------------------------------------------------------------
-- show: panes and options in one call

local pane_keys = { video = true, frames = true, difference = true, job = true }

local function is_pane_table(t)
  for k in pairs(pane_keys) do
    if t[k] ~= nil then return true end
  end
  return false
end

local function add_overlays(v, overlay)
  if overlay == nil then return end
  if overlay.weights or overlay.pane then overlay = { overlay } end
  for _, o in ipairs(overlay) do v:overlay(o.pane or 0, o.weights, o.min, o.max) end
end

-- orrery.view(pane, pane, ...) or orrery.view{pane, ..., option = ...}:
-- opens a window, runs it until it is closed, and returns true; without a
-- display it prints why and returns false and the message.
function M.show(...)
  local spec = { ... }
  if select("#", ...) == 1 and type(spec[1]) == "table" and not tensor.is_tensor(spec[1]) and
      not is_pane_table(spec[1]) then
    spec = spec[1]
  end
  for k in pairs(spec) do
    if type(k) ~= "number" and not viewer_options[k] and k ~= "overlay" and k ~= "fps" then
      error(("view: unknown option '%s'"):format(tostring(k)), 2)
    end
  end
  local v, why = M.open(spec)
  if not v then
    io.stderr:write(why, "\n")
    return false, why
  end
  local ok, err = pcall(function()
    for _, pane in ipairs(spec) do v:add(pane) end
    add_overlays(v, spec.overlay)
    v:run()
  end)
  v:close()
  if not ok then error(err, 2) end
  return true
end

---------------------------------------------------------------------------
-- generate: a generation on a worker thread, watched live

local kinds = { euler = C.ORR_SAMPLER_EULER, heun = C.ORR_SAMPLER_HEUN, res_2ab = C.ORR_SAMPLER_RES_2AB,
  dpmpp_2m = C.ORR_SAMPLER_DPMPP_2M }

local generate_options = { model = true, prompt = true, negative_prompt = true, text = true, neg_text = true,
  encoder = true, cache = true, seed = true, sampler = true, steps = true, sigma_max = true, sigma_min = true,
  rho = true, sigma_data = true, sigmas = true, guidance = true, bf16 = true, frames = true, height = true,
  width = true, fps = true, input = true, input_frames = true, out = true, label = true, panes = true,
  overlay = true }

-- The world params of opts; `anchors` keeps alive what they point to.
local function world_params(opts, model, nets, anchors)
  local schedule = require "orrery.schedule"
  local p = ffi.new("orr_world_params")
  C.orr_world_params_init(p)
  p.frames = opts.frames or model.frames or 121
  p.height = opts.height or model.height or 704
  p.width = opts.width or model.width or 1280
  p.cond.fps = opts.fps or model.fps or 24
  p.input_frames = opts.input_frames or 1
  if nets.latent_mean then
    p.latent_mean = tensor.handle(nets.latent_mean, "view.generate: latent_mean", 3)
    p.latent_std = tensor.handle(nets.latent_std, "view.generate: latent_std", 3)
  end
  local kind = kinds[opts.sampler or "euler"]
  if not kind then
    error(("view.generate: sampler must be one of euler, heun, res_2ab, dpmpp_2m, got '%s'"):format(
      tostring(opts.sampler)), 3)
  end
  C.orr_sampler_params_init(p.sampler, kind)
  local s = p.sampler
  s.seed = opts.seed or model.seed or 0
  for _, k in ipairs { "steps", "sigma_max", "sigma_min", "rho", "sigma_data" } do
    if opts[k] ~= nil then
      if type(opts[k]) ~= "number" then core.arg_error("view.generate", k, "a number", core.describe_value(opts[k]), 3) end
      s[k] = opts[k]
    end
  end
  if opts.bf16 ~= nil then s.bf16 = opts.bf16 and true or false end
  local count = s.steps + 1
  if opts.sigmas ~= nil then
    local values = schedule.new(opts.sigmas, nil, 3):values(count)
    anchors.sigmas = ffi.new("double[?]", #values, values)
    s.sigmas = anchors.sigmas
  end
  local guidance = schedule.new(opts.guidance or s.guidance, nil, 3)
  if guidance:is_constant() then
    s.guidance = guidance.spec
  else
    -- evaluated now: the worker cannot call the schedule
    anchors.guidance = ffi.new("double[?]", count)
    for i = 0, count - 1 do anchors.guidance[i] = guidance:at(i, count) end
    s.guidance_fn = C.orr_guidance_from_table
    s.guidance_user = anchors.guidance
  end
  return p, guidance:describe(count)
end

-- The text embeddings of opts, as text2world finds them.
local function embeddings(opts, model, nets)
  local text, neg_text = opts.text, opts.neg_text
  if text then return text, neg_text end
  local t2w, prompt = require "orrery.text2world", require "orrery.prompt"
  local encoder = opts.encoder or model.encoder or prompt.random_encoder {
    length = model.text_length or 512, dim = nets.dit:info().crossattn_channels, seed = model.seed or 0 }
  local cache = opts.cache or t2w.cache_for(encoder)
  text = cache:get(opts.prompt or "")
  if not neg_text and opts.negative_prompt then neg_text = cache:get(opts.negative_prompt) end
  return text, neg_text, encoder
end

local function wait_on_terminal(job)
  local bar = require("orrery.progress").bar()
  local s, last = ffi.new("orr_world_job_state"), -1
  repeat
    C.orr_world_job_poll(job, s, 0.25)
    if s.progress.step > last then
      last = s.progress.step
      bar { step = s.progress.step, steps = s.progress.steps, sigma = s.progress.sigma,
        sigma_next = s.progress.sigma_next, seconds_per_step = s.progress.seconds_per_step,
        eta_seconds = s.progress.eta_seconds }
    end
    if cli_interrupted and cli_interrupted() ~= 0 then C.orr_world_job_cancel(job) end
  until s.done
end

-- A Text2World generation (Video2World with `input`, frames u8 [T,H,W,3]
-- or a file name) on a worker thread, shown live beside opts.panes while it
-- runs and as a video once done; closing the window leaves it running (its
-- progress then shows on the terminal). opts: model, prompt /
-- negative_prompt or text / neg_text, encoder, seed, sampler, steps,
-- sigma_max, sigma_min, rho, sigma_data, sigmas, guidance (a number or a
-- schedule), bf16, frames, height, width, fps, input, input_frames, out (a
-- video file to write), label, panes, overlay, and the viewer's options.
-- Returns { video = u8 [T,H,W,3], timings = {encode, sample, decode},
-- seconds, path }.
function M.generate(opts)
  if type(opts) ~= "table" then core.arg_error("view.generate", "opts", "a table of options", type(opts), 2) end
  for k in pairs(opts) do
    if not generate_options[k] and not viewer_options[k] then
      error(("view.generate: unknown option '%s'"):format(tostring(k)), 2)
    end
  end
  local t2w, media, models = require "orrery.text2world", require "orrery.media", require "orrery.models"
  local model = opts.model or t2w.default_model()
  local nets = t2w.build(model)
  local t0 = core.now()
  return tensor.scope(function()
    local anchors = {}
    local p, guidance = world_params(opts, model, nets, anchors)
    local text, neg_text, encoder = embeddings(opts, model, nets)
    local input_frames, input
    if opts.input then
      input_frames = type(opts.input) == "string" and media.load_video(opts.input) or opts.input
      input = media.to_model(input_frames):unsqueeze(0)
    end
    local video = tensor.empty({ 1, 3, p.frames, p.height, p.width }, "u8")
    local out = ffi.new("orr_world_job*[1]")
    check(C.orr_world_job_start(out, models.dit_handle(nets.dit), nets.tokenizer.ptr, video.ptr,
      tensor.handle(text, "view.generate: text", 3), neg_text and tensor.handle(neg_text, "view.generate: neg_text", 3),
      input and input.ptr, p), 3)
    local job = out[0]

    -- the job reads the tensors above until it is freed: free it first, whatever happens
    local ok, err = pcall(function()
      local v, why = M.open(opts)
      if not v then
        io.stderr:write(why, "\n")
      else
        local shown, shown_err = pcall(function()
          if input_frames then v:add { frames = input_frames, label = "input", fps = p.cond.fps } end
          for _, pane in ipairs(opts.panes or {}) do v:add(pane) end
          v:add { job = job, label = opts.label or "generated" }
          add_overlays(v, opts.overlay)
          v:run()
        end)
        v:close()
        if not shown then error(shown_err, 0) end
      end
      wait_on_terminal(job)
    end)
    if not ok then C.orr_world_job_cancel(job) end
    local timings = ffi.new("orr_world_timings")
    local status = C.orr_world_job_wait(job, timings)
    local message = status ~= C.ORR_OK and ffi.string(C.orr_last_error()) or nil
    C.orr_world_job_free(job)
    if not ok then error(err, 3) end
    if message then error(message, 3) end
    assert(anchors and text and video)

    local frames = video:select(0, 0):permute { 1, 2, 3, 0 }:contiguous()
    local result = { video = frames, seconds = core.now() - t0, timings = { encode = timings.encode_seconds,
      sample = timings.sample_seconds, decode = timings.decode_seconds } }
    if opts.out then
      local s = p.sampler
      local meta = { orrery_seed = tostring(tonumber(s.seed)), orrery_sampler = opts.sampler or "euler",
        orrery_steps = tostring(s.steps), orrery_guidance = guidance, orrery_frames = tostring(p.frames),
        orrery_height = tostring(p.height), orrery_width = tostring(p.width), orrery_fps = tostring(p.cond.fps),
        orrery_prompt = not opts.text and (opts.prompt or "") or nil, orrery_encoder = encoder and encoder.name,
        orrery_model = model.name or (model.dit and "loaded" or "default") }
      media.save_video(opts.out, frames, { fps = p.cond.fps }, meta)
      result.path = opts.out
    end
    return result
  end)
end

---------------------------------------------------------------------------
-- `orrery view FILE...` (lua/cli.c runs os.exit(require("orrery.view").main(arg)))

M.usage = [[
usage: orrery view [options] FILE...

Shows videos side by side, synchronised (press ? in the window for the keys).
FILE is a video (mp4, webm, mov, mkv, gif, ...), an image sequence
("frames/%05d.png") or a PNG image. Panes are numbered from 0.

  --diff A,B           add a pane with |A - B| (x4) of panes A and B
  --overlay FILE[@P]   a weight map as a heatmap over pane P (default 0):
                       a .safetensors tensor [T,H,W] or [H,W] (FILE:NAME picks
                       one), or a gray PNG or video (values 0..255)
  --range MIN,MAX      the overlay's colour range (default: its data's)
  --layout L           auto, row, column or grid
  --speed X            playback speed (default 1)
  --no-loop            stop at the end instead of looping
  --fullscreen         start fullscreen
  --size WxH           window size (default: the videos' size, within the screen)
  --script FILE        play a key script first (see viewer/README.md)
  --screenshots DIR    where the s key writes PNGs (default: .)
]]

-- A PNG as a pane's frames: 16-bit images (depth) scaled to 8 bits.
local function png_frames(path)
  local image = require("orrery.media").read_png(path)
  if image:dtype() == "u8" then return image end
  local scaled = image * (255 / 65535)
  return scaled:clone("u8")
end

-- FILE[:NAME] of a .safetensors, or a gray image or video: [T,H,W] or [H,W].
local function overlay_weights(spec)
  local media = require "orrery.media"
  local path, name = spec:match("^(.-%.safetensors):(.+)$")
  path = path or spec
  if path:match("%.safetensors$") then
    local tensors = require("orrery").load(path)
    if name then
      if not tensors[name] then error(("view: %s holds no tensor '%s'"):format(path, name), 0) end
      return tensors[name]
    end
    local names = {}
    for k in pairs(tensors) do names[#names + 1] = k end
    if #names ~= 1 then
      table.sort(names)
      error(("view: %s holds %d tensors; name one as %s:NAME (%s)"):format(path, #names, path,
        table.concat(names, ", ")), 0)
    end
    return tensors[names[1]]
  end
  local frames = path:lower():match("%.png$") and png_frames(path) or media.load_video(path)
  return frames:select(frames:dim() - 1, 0)
end

local function numbers(text, option, example)
  local a, b = (text or ""):match("^%s*(%-?[%d.]+)%s*[,x]%s*(%-?[%d.]+)%s*$")
  if not a then error(("view: %s wants two numbers like %s, got '%s'"):format(option, example, tostring(text)), 0) end
  return tonumber(a), tonumber(b)
end

-- The command: returns its exit status (0 shown, 1 failed, 2 bad usage),
-- having printed what went wrong.
function M.main(args)
  local opts, files, diffs, overlays, range = {}, {}, {}, {}, nil
  local i = 1
  local function value(option)
    i = i + 1
    if args[i] == nil then error(("view: %s wants a value"):format(option), 0) end
    return args[i]
  end
  local parsed, usage_error = pcall(function()
    while args[i] do
      local a = args[i]
      if a == "--help" or a == "-h" then
        opts.help = true
      elseif a == "--diff" then
        diffs[#diffs + 1] = { numbers(value(a), a, "0,1") }
      elseif a == "--overlay" then
        local spec = value(a)
        local file, pane = spec:match("^(.*)@(%d+)$")
        overlays[#overlays + 1] = { file = file or spec, pane = tonumber(pane) or 0 }
      elseif a == "--range" then
        range = { numbers(value(a), a, "0,1") }
      elseif a == "--layout" then
        opts.layout = value(a)
        if not layouts[opts.layout] then error("view: --layout is auto, row, column or grid", 0) end
      elseif a == "--speed" then
        opts.speed = tonumber(value(a))
        if not opts.speed or opts.speed <= 0 then error("view: --speed wants a positive number", 0) end
      elseif a == "--no-loop" then
        opts.loop = false
      elseif a == "--fullscreen" then
        opts.fullscreen = true
      elseif a == "--size" then
        opts.width, opts.height = numbers(value(a), a, "1280x720")
      elseif a == "--script" then
        opts.script = value(a)
      elseif a == "--screenshots" then
        opts.screenshot_dir = value(a)
      elseif a:sub(1, 2) == "--" then
        error(("view: unknown option '%s'"):format(a), 0)
      else
        files[#files + 1] = a
      end
      i = i + 1
    end
    if #files == 0 and not opts.help then error("view: no file to show", 0) end
  end)
  if opts.help then
    io.write(M.usage)
    return 0
  end
  if not parsed then
    io.stderr:write(tostring(usage_error), "\n", M.usage)
    return 2
  end
  local v, why = M.open(opts)
  if not v then
    io.stderr:write(why, "\n")
    return 1
  end
  local ok, err = pcall(function()
    for _, f in ipairs(files) do
      if f:lower():match("%.png$") and not f:find("%", 1, true) then
        v:add { frames = png_frames(f), label = f:match("[^/]*$") }
      else
        v:add(f)
      end
    end
    for _, d in ipairs(diffs) do v:add { difference = d } end
    for _, o in ipairs(overlays) do
      v:overlay(o.pane, overlay_weights(o.file), range and range[1], range and range[2])
    end
    v:run()
  end)
  v:close()
  if not ok then
    io.stderr:write("orrery view: ", (tostring(err):gsub("^[^:]*%.lua:%d+: ", "")), "\n")
    return 1
  end
  return 0
end

setmetatable(M, { __call = function(_, ...) return M.show(...) end })

return M
