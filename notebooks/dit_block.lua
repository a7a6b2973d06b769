--- # How a DiT block computes
---
--- A Cosmos-Predict1 `GeneralDIT` block is three sub-blocks, `FA-CA-MLP`: full self-attention over all
--- video tokens, cross-attention to the text, and an MLP. Each is wrapped in **adaptive layer norm**: the
--- timestep embedding produces a shift, a scale and a gate per sub-block, and the sub-block computes
---
--- `x = x + gate * f(layer_norm(x) * (1 + scale) + shift)`
---
--- Below, one block by hand with orrery's tensor ops on small random weights, then the real network's
--- stages from a traced forward.
local D, heads, L, tokens = 32, 4, 6, 24      -- width, heads, text length, video tokens (T*H*W/patches)
local rng = orrery.rng(7)
local function weight(n, k) return orrery.randn({ n, k }, rng) * (1 / math.sqrt(k)) end
local x = orrery.randn({ 1, tokens, D }, rng)
local text = orrery.randn({ 1, L, D }, rng)
local t_emb = orrery.randn({ 1, D }, rng)

--- ## Modulation from the timestep
--- One linear layer maps the (SiLU'd) timestep embedding to 9 vectors: shift, scale, gate for each of the
--- three sub-blocks.
local mod = orrery.linear(t_emb:silu(), weight(9 * D, D)):reshape({ 9, D })
local function chunk(i) return mod:select(0, i):reshape({ 1, 1, D }) end
local function modulate(h, i) return orrery.layer_norm(h, nil, nil, 1e-6) * (chunk(i + 1) + 1) + chunk(i) end

--- ## Attention, head by head
local function attention(q_in, kv_in, wq, wk, wv, wo)
  local function split(h, w) -- [1, S, D] -> [1, heads, S, D/heads]
    local y = orrery.linear(h, w)
    local s = y:shape()
    return y:reshape({ 1, s[2], heads, D / heads }):permute({ 0, 2, 1, 3 }):contiguous()
  end
  local q, k, v = split(q_in, wq), split(kv_in, wk), split(kv_in, wv)
  local o = orrery.attention(q, k, v)                  -- softmax(q k^T / sqrt(d)) v, never a full score matrix
  local s = o:shape()
  return orrery.linear(o:permute({ 0, 2, 1, 3 }):contiguous():reshape({ 1, s[3], D }), wo)
end

local function step(h, i, f)
  local out = h + chunk(i + 2) * f(modulate(h, i))
  print(("after sub-block %d: rms %.4f"):format(i / 3, math.sqrt((out * out):mean())))
  return out
end

local h = x
h = step(h, 0, function(u) return attention(u, u, weight(D, D), weight(D, D), weight(D, D), weight(D, D)) end)
h = step(h, 3, function(u) return attention(u, text, weight(D, D), weight(D, D), weight(D, D), weight(D, D)) end)
h = step(h, 6, function(u) return orrery.linear(orrery.linear(u, weight(4 * D, D)):gelu(), weight(D, 4 * D)) end)
print(h)

--- ## The real network, traced
--- `dit:forward{..., trace = true}` returns every stage under its official module name: the patch
--- embedder, the RoPE angles, the timestep embedder, each block, the final layer.
local m = orrery.default_model { small = true }
local dit = orrery.random_dit(m.dit_network, m.dit_config, 3)
print(dit)
local out, trace, order = dit:forward {
  x = orrery.randn({ 1, 16, 2, 8, 8 }, 1), timesteps = orrery.tensor { 0.25 },
  text = orrery.randn({ 1, 8, 16 }, 2), fps = orrery.tensor { 24 }, trace = true,
}
local names, rms = {}, {}
for _, name in ipairs(order) do
  local v = trace[name]
  print(("%-20s %s"):format(name, v))
  if name:match("^blocks") then
    names[#names + 1] = name
    rms[#rms + 1] = math.sqrt((v * v):mean())
  end
end
plot { title = "rms of the block outputs", xlabel = "block", series = { { y = rms } } }
