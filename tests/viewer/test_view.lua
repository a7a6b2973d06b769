-- The viewer from Lua (run on a display: tests/viewer/with_xvfb.sh): panes,
-- key script commands, state and screenshots read back; view.generate with
-- its live pane against text2world; and what happens without a display.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "../lua/check.lua")
local ffi = require "ffi"
local orrery = require "orrery"
local view = require "orrery.view"
local media = require "orrery.media"
local text2world = require "orrery.text2world"

if not view.available() or (os.getenv("DISPLAY") or "") == "" then
  print("test_view: skipped (no viewer in this build, or no display)")
  os.exit(77)
end
pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite); int unsetenv(const char *name);")

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)

-- 12 frames of 48x64; frame t is filled with (10t, 255 - 10t, 40)
local function colour(t) return { 10 * t, 255 - 10 * t, 40 } end
local frames = orrery.empty({ 12, 48, 64, 3 }, "u8")
do
  local p = ffi.cast("uint8_t*", frames.ptr.data)
  for t = 0, 11 do
    local c = colour(t)
    for i = 0, 48 * 64 - 1 do
      for j = 0, 2 do p[(t * 48 * 64 + i) * 3 + j] = c[j + 1] end
    end
  end
end
local video = dir .. "/solid.mp4"
media.save_video(video, frames, { fps = 24 })

local function pixel(img, x, y)
  return { img:get(y, x, 0), img:get(y, x, 1), img:get(y, x, 2) }
end

local function near(a, b, tol)
  for j = 1, 3 do
    if math.abs(a[j] - b[j]) > tol then return false end
  end
  return true
end

local function centre(v, pane)
  local r = v:pane_rect(pane)
  return r[1] + math.floor(r[3] / 2), r[2] + math.floor(r[4] / 2)
end

T.case("panes, keys and the screen", function()
  local v = assert(view.open { width = 800, height = 480, screenshot_dir = dir, layout = "row" })
  T.eq(v:add(video), 0, "the file's pane")
  T.eq(v:add { frames = frames, label = "exact", fps = 24 }, 1, "the tensor's pane")
  T.eq(v:add { difference = { 0, 1 }, gain = 4 }, 2, "the difference")
  local w = orrery.full({ 6, 8 }, 0.25)
  v:overlay(1, w, 0, 1)
  T.ok(v:update(0), "open")
  local s = v:state()
  T.eq(s.frames, 12, "timeline frames")
  T.eq(s.layout, "row", "layout")
  T.eq(s.width, 800, "width")
  v:command("key Right")
  v:command("key Right")
  v:command("key o") -- overlays off, to see the frame itself
  local path = dir .. "/step.png"
  v:command("screenshot " .. path)
  T.eq(v:state().frame, 2, "two steps")
  local img = media.read_png(path)
  T.eq(img:size(1), 800, "screenshot width")
  local x, y = centre(v, 1)
  T.ok(near(pixel(img, x, y), colour(2), 0), "the exact pane shows frame 2")
  x, y = centre(v, 0)
  T.ok(near(pixel(img, x, y), colour(2), 8), "the mp4 pane shows frame 2")
  v:command(("move %d %d"):format(centre(v, 1)))
  v:command("wait 1")
  s = v:state()
  T.ok(s.cursor and s.cursor.pane == 1 and s.cursor.weight == 0.25, "the weight under the cursor")
  v:command("key space")
  v:command("wait 12") -- 0.2 s at 24 fps
  T.eq(v:state().frame, 2 + 4, "played")
  v:command("quit")
  T.ok(not v:update(0), "closed")
  v:close()
  T.fails(function() v:state() end, "viewer was closed")
end)

T.case("options and panes are checked", function()
  T.fails(function() view.open { layout = "diagonal" } end, "layout must be auto, row, column or grid")
  T.fails(function() view.show { video, bogus = 1 } end, "unknown option 'bogus'")
  local v = assert(view.open())
  T.fails(function() v:add { difference = { 0, 5 } } end, "pane a is 0; the viewer has no panes yet")
  T.fails(function() v:add(42) end, "a pane must be a file name, a tensor or a table")
  T.fails(function() v:command("dance") end, "cannot read 'dance'")
  v:close()
end)

T.case("generate: a live pane, the same video as text2world", function()
  local script = dir .. "/quit.txt"
  local f = assert(io.open(script, "w"))
  f:write("wait 3\nkey d\nwait 3\nquit\n")
  f:close()
  local model = text2world.default_model { small = true }
  local out = dir .. "/generated.mp4"
  local r = view.generate { model = model, steps = 3, seed = 5, guidance = "0:(7), 2:(3)", prompt = "a test",
    script = script, out = out, panes = { video } }
  T.eq(table.concat(r.video:shape(), ","), "9,32,48,3", "the video's shape")
  T.ok(r.timings.sample > 0 and r.timings.decode > 0, "timings")
  local back, info = media.load_video(out)
  T.eq(info.frames, 9, "the file's frames")
  back:free()
  -- the same run through the Lua sampler (its guidance schedule called
  -- back per step, where the worker read a table) and the official decode
  -- (latent / sigma_data: no latent statistics here); only the uint8
  -- conversion may differ by a level.
  local nets = text2world.build(model)
  local text = text2world.cache_for(require("orrery.prompt").random_encoder {
    length = model.text_length, dim = nets.dit:info().crossattn_channels, seed = model.seed }):get("a test")
  local latent = orrery.sample(nets.dit, { text = text, shape = { 1, 16, 2, 4, 6 }, steps = 3, seed = 5,
    guidance = "0:(7), 2:(3)", fps = 24, progress = false })
  local ref = media.from_model(nets.tokenizer:decode(latent * 2))
  local d = r.video - ref
  T.ok(math.max(d:max(), -d:min()) <= 1, "generate matches the Lua sampler within one level")
end)

T.case("a transfer's controls under their weight maps", function()
  local transfer = orrery.transfer
  local model = transfer.default_model { small = true }
  local scene = orrery.scene { frames = model.frames, height = model.height, width = model.width }
  local spot = orrery.control.ellipse { center = { 0.5, 0.5 }, radius = 0.3, feather = 0 }
  local r = transfer { model = model, input = scene.rgb, steps = 1, progress = false,
    controls = { edge = { weight = 1 }, depth = { input = scene.depth, weight = spot } } }
  local script, shot = dir .. "/transfer.txt", dir .. "/transfer.png"
  local f = assert(io.open(script, "w"))
  f:write("wait 2\nscreenshot " .. shot .. "\nquit\n")
  f:close()
  T.ok(transfer.show(r, { script = script, width = 600, height = 400, layout = "row" }), "shown")
  local img = media.read_png(shot)
  T.eq(img:size(1), 600, "screenshot width")
  -- the depth pane (the middle third): its centre is inside the ellipse and
  -- tinted by the heatmap, its corner is outside and keeps the frame's grey
  local y = 200
  local inside, outside = pixel(img, 300, y), pixel(img, 210, y)
  T.ok(not near(inside, { inside[1], inside[1], inside[1] }, 8), "the weighted part is tinted")
  T.ok(near(outside, { outside[1], outside[1], outside[1] }, 8), "the unweighted part stays grey")
end)

T.case("without a display", function()
  local display = os.getenv("DISPLAY")
  ffi.C.unsetenv("DISPLAY")
  local ok, why = view.show(video)
  T.ok(ok == false and why:find("no display", 1, true), "show says why")
  local r = view.generate { model = text2world.default_model { small = true }, steps = 2 }
  T.eq(r.video:size(0), 9, "generate still runs")
  ffi.C.setenv("DISPLAY", display, 1)
end)

os.execute("rm -rf " .. dir)
T.done()
