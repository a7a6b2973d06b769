--- # A tour of orrery from Lua
---
--- `require "orrery"` gives one table. Dims, steps and frames are **0-based**, as in the C core and in
--- PyTorch; shapes are Lua arrays in PyTorch order `{B, C, T, H, W}`. Every failure in C becomes a Lua
--- error carrying the core's message. (In a notebook `orrery` is already loaded.)
---
--- ## Tensors
--- Tensors are strided views over storage the core owns. They print as a summary, never as megabytes
--- of numbers.
local t = orrery.randn({ 2, 3, 4 }, 42)   -- Philox noise: seed 42 gives these numbers everywhere
print(t)
print(t:shape()[3], t:dtype(), t:device())
local row = t:select(0, 1):narrow(1, 0, 2) -- views: O(1), sharing storage
print(row, row:is_contiguous())
print((t * 2 + 1):mean(), t:sum(2))

--- Ops write new float32 tensors; reductions over everything give numbers, over a dim a tensor.
local x = orrery.tensor { { 1, 2 }, { 3, 4 } }
print(orrery.matmul(x, x), x:softmax(1), x:max(0))

--- ## Errors carry the core's message
local ok, err = pcall(function() return x:reshape({ 3, 2 }) end)
print(ok, err)

--- ## Who frees what
--- `t:free()` releases a tensor now; `orrery.scope(fn)` frees everything `fn` made except what it returns;
--- the garbage collector is a backstop that hears about the bytes the core holds.
local before = orrery.memory().in_use
local kept = orrery.scope(function()
  local scratch = orrery.zeros({ 256, 256 })  -- freed when the scope ends
  return scratch + 1                           -- returned: kept
end)
print(orrery.memory().in_use - before, "bytes still held, for", kept)
kept:free()

--- ## Pictures
--- `show` puts an image in the report: u8 `[H,W,3]`, frames `[T,H,W,3]` (as a contact sheet), or a float
--- picture `[3,H,W]` in [-1, 1].
local h, w = 48, 64
local ys = orrery.linspace(-1, 1, h):reshape({ 1, h, 1 }):expand({ 1, h, w })
local xs = orrery.linspace(-1, 1, w):reshape({ 1, 1, w }):expand({ 1, h, w })
show(orrery.cat({ xs, ys, (xs * ys * 3):sin() }, 0))

--- ## A generation in a few lines
--- The built-in model has random weights (structured noise, not a world); `small = true` makes it tiny.
--- A guidance schedule and a per-step hook written in Lua steer the sampler.
local stds = {}
local r = orrery.text2world {
  model = orrery.default_model { small = true }, prompt = "a tour", steps = 8, seed = 1,
  guidance = "0:(7), 7:(2)", progress = false,
  on_step = function(s) stds[#stds + 1] = s.x0:std() end,
}
print(r.video, r.params.guidance)
show(r.video)
plot { title = "std of the x0 estimate per step", xlabel = "step", series = { { y = stds } } }
