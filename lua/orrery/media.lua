-- media.lua — pictures and videos in and out, with their text metadata as
-- Lua tables (where generation parameters travel).
--
-- Frames in memory are u8 [T,H,W,3] (an image [H,W,C]); the networks take
-- float [3,T,H,W] in [-1,1]: to_model / from_model convert. Writers also
-- take the float layout directly.
local ffi = require "ffi"
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local C, check = core.C, core.check

local M = {}

local function new_metadata(meta, level)
  local out = ffi.new("orr_metadata*[1]")
  check(C.orr_metadata_create(out), level + 1)
  local m = ffi.gc(out[0], C.orr_metadata_free)
  if meta then
    local keys = {}
    for k in pairs(meta) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do check(C.orr_metadata_set(m, k, tostring(meta[k])), level + 1) end
  end
  return m
end

local function metadata_table(m)
  local out = {}
  for i = 0, tonumber(C.orr_metadata_count(m)) - 1 do
    out[ffi.string(C.orr_metadata_key(m, i))] = ffi.string(C.orr_metadata_value(m, i))
  end
  return out
end

-- float [3,T,H,W] (or [1,3,T,H,W]) in [-1,1] -> u8 frames [T,H,W,3].
function M.from_model(x)
  local s = tensor.Tensor.shape(x)
  local v = x
  if #s == 5 then
    if s[1] ~= 1 then error(("from_model: x is [%s]; give one video (B = 1)"):format(table.concat(s, ",")), 2) end
    v = x:select(0, 0)
    s = v:shape()
  end
  if #s ~= 4 then error(("from_model: x must be [3,T,H,W], got [%s]"):format(table.concat(s, ",")), 2) end
  local out = tensor.empty({ s[2], s[3], s[4], s[1] }, "u8")
  local status = C.orr_frames_from_model(out.ptr, v.ptr)
  if v ~= x then v:free() end
  if status ~= C.ORR_OK then
    out:free()
    check(status, 2)
  end
  return out
end

-- u8 frames [T,H,W,3] -> float [3,T,H,W] in [-1,1].
function M.to_model(frames)
  local s = tensor.Tensor.shape(frames)
  if #s ~= 4 then error(("to_model: frames must be [T,H,W,C], got [%s]"):format(table.concat(s, ",")), 2) end
  local out = tensor.empty({ s[4], s[1], s[2], s[3] })
  check(C.orr_frames_to_model(out.ptr, frames.ptr), 2)
  return out
end

local function as_frames(x, fn, level)
  tensor.handle(x, fn .. ": frames", level + 1)
  if x:dtype() == "u8" then return x, false end
  return M.from_model(x), true
end

-- PNG: returns the image [H,W,C] (u8, or i32 for 16-bit files) and its text chunks.
function M.read_png(path)
  if type(path) ~= "string" then core.arg_error("read_png", "path", "a file name", type(path)) end
  local m = new_metadata(nil, 2)
  local out = ffi.new("orr_tensor*[1]")
  check(C.orr_png_read(path, out, m), 2)
  return tensor.adopt(out[0]), metadata_table(m)
end

-- image: u8/i32 [H,W,C] or [H,W], or a float picture [3,H,W] in [-1,1].
function M.write_png(path, image, meta)
  if type(path) ~= "string" then core.arg_error("write_png", "path", "a file name", type(path)) end
  local img, made = image, false
  if tensor.handle(image, "write_png: image") and image:dtype() ~= "u8" and image:dtype() ~= "i32" then
    local s = image:shape()
    if #s ~= 3 then error(("write_png: a float image must be [3,H,W], got [%s]"):format(table.concat(s, ",")), 2) end
    local video = image:unsqueeze(1)
    local frames = M.from_model(video)
    video:free()
    img, made = frames:select(0, 0), true
    frames:free()
  end
  local status = C.orr_png_write(path, img.ptr, new_metadata(meta, 2))
  if made then img:free() end
  check(status, 2)
end

local function read_params(opts)
  local p = ffi.new("orr_video_read_params")
  C.orr_video_read_params_init(p)
  for _, k in ipairs { "width", "height", "default_fps", "start", "count", "fps" } do
    if opts and opts[k] ~= nil then p[k] = opts[k] end
  end
  if opts and opts.fit then p.fit = opts.fit == "stretch" and C.ORR_FIT_STRETCH or C.ORR_FIT_COVER end
  return p
end

local function info_table(i)
  return {
    width = tonumber(i.width), height = tonumber(i.height), source_width = tonumber(i.source_width),
    source_height = tonumber(i.source_height), frames = tonumber(i.frames), fps = i.fps, duration = i.duration,
    codec = ffi.string(i.codec), format = ffi.string(i.format),
  }
end

-- A video (or "frames/%05d.png" sequence): frames u8 [T,H,W,3], its info
-- and its metadata. opts: width, height, fit ("cover"/"stretch"), start,
-- count, fps, default_fps.
function M.load_video(path, opts)
  if type(path) ~= "string" then core.arg_error("load_video", "path", "a file name", type(path)) end
  local out, info, m = ffi.new("orr_tensor*[1]"), ffi.new("orr_video_info"), new_metadata(nil, 2)
  check(C.orr_video_load(path, read_params(opts), out, info, m), 2)
  return tensor.adopt(out[0]), info_table(info), metadata_table(m)
end

-- frames: u8 [T,H,W,3] or float [3,T,H,W] in [-1,1]. opts: fps, codec,
-- crf, qscale, preset. meta: {key = value} stored in the container.
function M.save_video(path, frames, opts, meta)
  if type(path) ~= "string" then core.arg_error("save_video", "path", "a file name", type(path)) end
  local f, made = as_frames(frames, "save_video", 2)
  local p = ffi.new("orr_video_write_params")
  C.orr_video_write_params_init(p)
  opts = opts or {}
  local anchors = {}
  if opts.fps then p.fps = opts.fps end
  if opts.crf then p.crf = opts.crf end
  if opts.qscale then p.qscale = opts.qscale end
  if opts.codec then anchors.codec = opts.codec; p.codec = opts.codec end
  if opts.preset then anchors.preset = opts.preset; p.preset = opts.preset end
  local status = C.orr_video_save(path, f.ptr, p, new_metadata(meta, 2))
  if made then f:free() end
  check(status, 2)
end

-- A video's info (size, frames, fps, codec) without decoding it all.
function M.probe(path)
  if type(path) ~= "string" then core.arg_error("probe", "path", "a file name", type(path)) end
  local r, info = ffi.new("orr_video_reader*[1]"), ffi.new("orr_video_info")
  check(C.orr_video_open(path, nil, r), 2)
  C.orr_video_get_info(r[0], info)
  C.orr_video_close(r[0])
  return info_table(info)
end

-- The text metadata of a PNG or a video file.
function M.read_metadata(path)
  if type(path) ~= "string" then core.arg_error("read_metadata", "path", "a file name", type(path)) end
  if path:lower():match("%.png$") then
    local img, meta = M.read_png(path)
    img:free()
    return meta
  end
  local r = ffi.new("orr_video_reader*[1]")
  check(C.orr_video_open(path, nil, r), 2)
  local meta = metadata_table(C.orr_video_metadata(r[0]))
  C.orr_video_close(r[0])
  return meta
end

-- Frames [T,H,W,C] (u8, or float [3,T,H,W]) laid out in a grid as one
-- image [rows*H, cols*W, C], every `step`-th frame; for reports.
function M.contact_sheet(frames, opts)
  opts = opts or {}
  local f, made = as_frames(frames, "contact_sheet", 2)
  local s = f:shape()
  local step = opts.step or math.max(1, math.ceil(s[1] / (opts.max_frames or 8)))
  local picked = {}
  for i = 0, s[1] - 1, step do picked[#picked + 1] = i end
  local cols = math.min(#picked, opts.cols or 4)
  local rows = math.ceil(#picked / cols)
  local sheet = tensor.zeros({ rows * s[2], cols * s[3], s[4] }, "u8")
  for n, i in ipairs(picked) do
    local r, c = math.floor((n - 1) / cols), (n - 1) % cols
    local band = sheet:narrow(0, r * s[2], s[2])
    local cell = band:narrow(1, c * s[3], s[3])
    local frame = f:select(0, i)
    cell:copy(frame)
    frame:free()
    cell:free()
    band:free()
  end
  if made then f:free() end
  return sheet
end

-- Whether this orrery can write videos (it is built with FFmpeg).
function M.has_video()
  local t = tensor.zeros({ 1, 8, 8, 3 }, "u8")
  local path = os.tmpname()
  os.remove(path)
  local status = C.orr_video_save(path .. ".mp4", t.ptr, nil, nil)
  local message = ffi.string(C.orr_last_error())
  os.remove(path .. ".mp4")
  t:free()
  return status == C.ORR_OK or not message:find("without FFmpeg", 1, true)
end

return M
