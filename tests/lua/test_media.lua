-- Media from Lua: PNG round trips with metadata, float pictures, contact
-- sheets, and videos with their metadata where FFmpeg is built in.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local orrery = require "orrery"
local media = orrery.media

local tmp = T.tmpname
T.case("PNG with text", function()
  local img = orrery.zeros({ 4, 5, 3 }, "u8")
  img:set(1, 2, 0, 200)
  local path = tmp(".png")
  orrery.write_png(path, img, { orrery_seed = 7, note = "hello" })
  local back, meta = orrery.read_png(path)
  T.eq(back:get(1, 2, 0), 200, "pixels")
  T.eq(meta.orrery_seed, "7", "metadata as strings")
  T.eq(orrery.read_metadata(path).note, "hello", "read_metadata of a PNG")
  local float = orrery.full({ 3, 4, 5 }, 1)
  orrery.write_png(path, float)
  T.eq(orrery.read_png(path):get(0), 255, "float [3,H,W] in [-1,1] is converted")
  os.remove(path)
  T.fails(function() orrery.write_png(path, orrery.zeros({ 4, 5 })) end, "a float image must be [3,H,W]", "bad float shape")
  T.fails(function() orrery.read_png("/nonexistent.png") end, "/nonexistent.png", "missing file")
end)

T.case("model layout and contact sheets", function()
  local frames = orrery.zeros({ 5, 4, 6, 3 }, "u8")
  frames:select(0, 3):fill(255)
  local x = media.to_model(frames)
  T.eq(table.concat(x:shape(), ","), "3,5,4,6", "to_model")
  T.eq(x:get(0, 3, 0, 0), 1, "255 -> 1")
  local back = media.from_model(x)
  T.eq(back:get(3, 0, 0, 0), 255, "and back")
  local sheet = orrery.contact_sheet(frames, { cols = 3 })
  T.eq(table.concat(sheet:shape(), ","), "8,18,3", "2 rows of 3")
  T.eq(sheet:get(4, 0, 0), 255, "frame 3 is row 1, column 0")
  T.fails(function() media.from_model(orrery.zeros({ 2, 3, 1, 4, 4 })) end, "give one video (B = 1)", "a batch")
end)

T.case("video with metadata", function()
  if not media.has_video() then
    print("test_media: built without FFmpeg, video not checked")
    return
  end
  local frames = orrery.rand({ 3, 5, 16, 16 }, 1) * 2 - 1
  local path = tmp(".mp4")
  orrery.save_video(path, frames, { fps = 12 }, { orrery_prompt = "a test" })
  local back, info, meta = orrery.load_video(path)
  T.eq(table.concat(back:shape(), ","), "5,16,16,3", "frames")
  T.near(info.fps, 12, 1e-6, "fps")
  T.eq(meta.orrery_prompt, "a test", "metadata travels")
  T.eq(orrery.read_metadata(path).orrery_prompt, "a test", "read_metadata of a video")
  os.remove(path)
end)

T.done()
