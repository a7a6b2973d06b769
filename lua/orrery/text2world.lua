-- text2world.lua — a Text2World generation as the official pipeline runs it:
-- Philox noise, the DiT under the EDM sampler with classifier-free guidance,
-- the tokenizer's decoder, and a video file with the parameters in its
-- metadata. Until orrery has a T5 encoder, the text embedding is given (or,
-- for the default model, drawn at random).
local ffi = require "ffi"
local orrery = require "orrery"
local C, check = orrery.C, orrery.check

local M = {}

local function out_ptr(ctype) return ffi.new(ctype .. "*[1]") end

-- A terminal progress line: step, sigma, seconds per step, ETA.
local function progress_printer()
  return ffi.cast("orr_progress_fn", function(_, p)
    io.stderr:write(("\rstep %2d/%d  sigma %8.4f  %.2f s/step  ETA %4.1f s "):format(p.step + 1, p.steps,
      p.sigma, p.seconds_per_step, p.eta_seconds))
    if p.step + 1 == p.steps then io.stderr:write("\n") end
  end)
end

-- opts: model (a table like orrery.default_model), out (path), seed, steps,
-- guidance, text (an orrery tensor [1, L, D]; default random).
function M.generate(opts)
  local model = opts.model or require "orrery.default_model"
  local seed = opts.seed or model.seed
  local steps = opts.steps or 35
  local guidance = opts.guidance or 7

  local dit_out, tok_out = out_ptr("orr_dit"), out_ptr("orr_tokenizer")
  check(C.orr_dit_create_random(dit_out, model.dit_network, model.dit_config, model.seed))
  local dit = ffi.gc(dit_out[0], C.orr_dit_free)
  check(C.orr_tokenizer_create_random(tok_out, model.tokenizer_config, model.seed + 1))
  local tok = ffi.gc(tok_out[0], C.orr_tokenizer_free)

  local info = ffi.new("orr_dit_info")
  check(C.orr_dit_get_info(dit, info))
  local pixel_shape = ffi.new("int64_t[5]", { 1, 3, model.frames, model.height, model.width })
  local latent_shape = ffi.new("int64_t[5]")
  check(C.orr_tokenizer_latent_shape(tok, 5, pixel_shape, latent_shape))
  local latent = orrery.empty({ 1, info.latent_channels, tonumber(latent_shape[2]), tonumber(latent_shape[3]),
    tonumber(latent_shape[4]) })
  local text = opts.text or orrery.randn({ 1, model.text_length, info.crossattn_channels }, seed + 2)

  local cond = ffi.new("orr_diffusion_cond")
  C.orr_diffusion_cond_init(cond)
  cond.text = text.ptr
  cond.fps = model.fps
  local p = ffi.new("orr_sampler_params")
  C.orr_sampler_params_init(p, C.ORR_SAMPLER_EULER)
  p.steps, p.guidance, p.seed = steps, guidance, seed
  local progress = progress_printer()
  p.progress = progress
  local t0 = os.clock()
  local status = C.orr_dit_sample(dit, latent.ptr, cond, p)
  progress:free()
  check(status)

  local pixels = orrery.empty({ 1, 3, model.frames, model.height, model.width })
  check(C.orr_tokenizer_decode(tok, pixels.ptr, latent.ptr))
  local frames = orrery.empty({ model.frames, model.height, model.width, 3 }, "u8")
  check(C.orr_frames_from_model(frames.ptr, pixels:select(0, 0).ptr))
  local seconds = os.clock() - t0

  local meta = out_ptr("orr_metadata")
  check(C.orr_metadata_create(meta))
  local m = ffi.gc(meta[0], C.orr_metadata_free)
  local params = {
    model = "orrery default (random weights)", seed = seed, sampler = "euler", steps = steps,
    guidance = guidance, sigma_max = p.sigma_max, sigma_min = p.sigma_min,
  }
  for k, v in pairs(params) do check(C.orr_metadata_set(m, "orrery_" .. k, tostring(v))) end
  local wp = ffi.new("orr_video_write_params")
  C.orr_video_write_params_init(wp)
  wp.fps = model.fps
  local path = opts.out or "orrery-demo.mp4"
  check(C.orr_video_save(path, frames.ptr, wp, m))
  latent:free()
  pixels:free()
  return { path = path, frames = model.frames, width = model.width, height = model.height, seconds = seconds }
end

return M
