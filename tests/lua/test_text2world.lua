-- The main job's pipeline end to end on a very small model: noise, sampler,
-- decoder, video file; the same seed gives the same video, the video's
-- metadata holds the parameters, and rerun makes it again, hooks and all.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local orrery = require "orrery"

local model = orrery.default_model { small = true }
local has_video = orrery.media.has_video()

local tmp = T.tmpname
T.case("a few lines: guidance schedule and a Lua hook", function()
  local sigmas = {}
  local r = orrery.text2world {
    model = model, prompt = "a robot arm", negative_prompt = "blurry", steps = 4, seed = 5,
    guidance = "0:(7), 3:(3)", progress = false,
    on_step = function(s) sigmas[#sigmas + 1] = s.sigma end,
  }
  T.eq(table.concat(r.video:shape(), ","), "9,32,48,3", "u8 frames [T,H,W,3]")
  T.eq(#sigmas, 4, "the hook ran every step")
  T.eq(r.params.guidance, "0:(7), 3:(3)", "the schedule is recorded")
  T.eq(r.params.prompt, "a robot arm", "and the prompt")
  local again = orrery.text2world { model = model, prompt = "a robot arm", negative_prompt = "blurry", steps = 4,
    seed = 5, guidance = "0:(7), 3:(3)", progress = false }
  T.ok(T.same(r.video, again.video, 7), "same seed, same video")
  local other = orrery.text2world { model = model, prompt = "a robot leg", steps = 4, seed = 5, progress = false }
  T.ok(not T.same(r.video, other.video, 7), "another prompt, another video")
end)

T.case("the file carries its parameters and reruns", function()
  if not has_video then
    print("test_text2world: built without FFmpeg, files not checked")
    return
  end
  local path = tmp(".mp4")
  local r = orrery.text2world { model = model, prompt = "waves", steps = 3, seed = 9, out = path, progress = false,
    guidance = function(step) return 7 - step end }
  local _, info = orrery.load_video(path)
  T.eq(info.frames, 9, "frames")
  T.eq(info.width, 48, "width")
  T.near(info.fps, 24, 1e-6, "fps")
  local p = orrery.text2world.params_of(path)
  T.eq(p.seed, 9, "seed in the metadata")
  T.eq(p.guidance, "[7,6,5,4]", "a function schedule is stored as its values")
  local again = orrery.rerun(path, { progress = false })
  T.ok(T.same(r.video, again.video, 7), "rerun gives the same video")
  T.eq(again.path, path:gsub("%.mp4$", "-rerun.mp4"), "beside the original")
  local changed = orrery.rerun(path, { seed = 10, progress = false, out = again.path })
  T.ok(not T.same(r.video, changed.video, 7), "overrides apply")

  local stopped = orrery.text2world { model = model, steps = 4, seed = 2, out = path, progress = false,
    on_step = function(s)
      if s.step == 1 then s:set_guidance(2) end
      if s.step == 2 then return "stop" end
    end }
  local replay = orrery.rerun(path, { progress = false })
  T.ok(T.same(stopped.video, replay.video, 7), "a steered, stopped run reruns the same")
  T.eq(replay.params.stopped_at, 2, "stopped at step 2")
  os.remove(path)
  os.remove(again.path)
  T.fails(function() orrery.rerun("/nonexistent.mp4") end, "/nonexistent.mp4", "missing file")
end)

T.case("wrong arguments", function()
  T.fails(function() orrery.text2world(3) end, "opts must be a table", "not a table")
  T.fails(function() orrery.text2world { model = model, prompt = 3, progress = false } end, "prompt must be a string",
    "prompt not a string")
  T.fails(function() orrery.text2world { model = model, frames = 10, progress = false } end, "", "invalid frame count")
end)

T.done()
