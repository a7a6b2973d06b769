-- The main job's pipeline end to end on a very small model: noise, sampler,
-- decoder, video file; the video reads back with the frames and size asked
-- for, and the same seed gives the same video.
local ffi = require "ffi"
local orrery = require "orrery"
local text2world = require "orrery.text2world"
local C = orrery.C

local model = {}
for k, v in pairs(require "orrery.default_model") do model[k] = v end
model.dit_config = model.dit_config:gsub('"model_channels": %d+', '"model_channels": 32')
  :gsub('"crossattn_emb_channels": %d+', '"crossattn_emb_channels": 16')
model.tokenizer_config = model.tokenizer_config:gsub('"channels": %d+', '"channels": 4')
model.frames, model.height, model.width = 9, 32, 48

local function read_back(path)
  local t, info = ffi.new("orr_tensor*[1]"), ffi.new("orr_video_info")
  orrery.check(C.orr_video_load(path, nil, t, info, nil))
  local frames = setmetatable({ ptr = ffi.gc(t[0], C.orr_tensor_free) }, orrery.Tensor)
  return frames, info
end

local a, b = os.tmpname() .. ".mp4", os.tmpname() .. ".mp4"
local result = text2world.generate { model = model, out = a, steps = 3, seed = 5 }
text2world.generate { model = model, out = b, steps = 3, seed = 5 }
local fa, info = read_back(a)
local fb = read_back(b)
local ok = result.path == a and tonumber(info.frames) == 9 and tonumber(info.width) == 48
  and tonumber(info.height) == 32 and math.abs(info.fps - 24) < 1e-6
local same = fa:numel() == fb:numel()
for i = 0, fa:numel() - 1, 97 do same = same and fa:get(i) == fb:get(i) end
os.remove(a)
os.remove(b)
if not (ok and same) then
  io.stderr:write(("test_text2world: frames %d, %dx%d at %g fps, same seed same video: %s\n"):format(
    tonumber(info.frames), tonumber(info.width), tonumber(info.height), info.fps, tostring(same)))
  os.exit(1)
end
print("test_text2world: passed")
