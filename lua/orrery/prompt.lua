-- prompt.lua — prompts as the samplers take them: text turned into
-- embeddings [1, L, D] by an encoder, through a cache keyed by content so
-- that a prompt repeated across runs, sweeps and frames is encoded once;
-- and prompt schedules over frames (or steps).
--
-- orrery has no T5 encoder yet, so an encoder is one of:
--   random_encoder{length = L, dim = D, seed = s}  a stand-in: each text
--       maps to fixed Philox noise drawn from a hash of it
--   file_encoder(path)  embeddings computed elsewhere (the official T5),
--       saved as safetensors with each prompt's text as its tensor name
--   {name = "...", encode = function(text) return tensor end}  your own
local bit = require "bit"
local core = require "orrery.core"
local tensor = require "orrery.tensor"
local schedule = require "orrery.schedule"

local M = {}

-- FNV-1a, 64-bit, as 16 hex digits: the content key of a text.
function M.hash(text)
  local h = 0xcbf29ce484222325ULL
  for i = 1, #text do h = bit.bxor(h, text:byte(i)) * 0x100000001b3ULL end
  return bit.tohex(h, 16)
end

function M.random_encoder(opts)
  opts = opts or {}
  local length, dim, seed = opts.length or 512, opts.dim or 1024, opts.seed or 0
  return {
    name = ("random:%d:%d:%d"):format(length, dim, seed),
    encode = function(text)
      -- 48 bits of the hash: a seed a double holds exactly
      return tensor.randn({ 1, length, dim }, tonumber(M.hash(text):sub(1, 12), 16) + seed)
    end,
  }
end

function M.file_encoder(path)
  local tensors = require("orrery").load(path)
  return {
    name = "file:" .. path,
    encode = function(text)
      local t = tensors[text]
      if not t then error(("file_encoder: %s holds no embedding for the prompt \"%s\""):format(path, text), 0) end
      return t:clone()
    end,
  }
end

local function check_encoder(e, level)
  if type(e) ~= "table" or type(e.encode) ~= "function" or type(e.name) ~= "string" then
    error("prompt: an encoder is a table {name = string, encode = function(text)}", level + 1)
  end
end

---------------------------------------------------------------------------
-- the embedding cache

local Cache = { __name = "embedding cache" }
Cache.__index = Cache
M.Cache = Cache

-- opts.dir: also keep embeddings on disk (<dir>/<hash>.safetensors), so
-- later sessions reuse them.
function M.cache(encoder, opts)
  check_encoder(encoder, 2)
  opts = opts or {}
  return setmetatable({ encoder = encoder, dir = opts.dir, entries = {}, hits = 0, misses = 0 }, Cache)
end

function Cache:key(text) return M.hash(self.encoder.name .. "\0" .. text) end

-- The embedding of `text`, owned by the cache (do not free it; clone to keep).
function Cache:get(text)
  if type(text) ~= "string" then core.arg_error("cache:get", "text", "a string", type(text)) end
  local key = self:key(text)
  local t = self.entries[key]
  if t then
    self.hits = self.hits + 1
    return t
  end
  self.misses = self.misses + 1
  local file = self.dir and ("%s/%s.safetensors"):format(self.dir, key)
  local f = file and io.open(file, "rb")
  if f then
    f:close()
    t = require("orrery").load(file).embedding
  else
    t = self.encoder.encode(text)
    if not tensor.is_tensor(t) then
      error(("cache:get: the encoder %s returned a %s, not a tensor"):format(self.encoder.name, type(t)), 2)
    end
    if file then require("orrery").save(file, { embedding = t }, { text = text, encoder = self.encoder.name }) end
  end
  t:keep()
  self.entries[key] = t
  return t
end

function Cache:clear()
  for _, t in pairs(self.entries) do t:free() end
  self.entries = {}
end

function Cache:__tostring()
  local n = 0
  for _ in pairs(self.entries) do n = n + 1 end
  return ("embedding cache of %s: %d entries, %d hits, %d misses"):format(self.encoder.name, n, self.hits, self.misses)
end

---------------------------------------------------------------------------
-- prompt schedules

local Prompts = { __name = "prompts" }
Prompts.__index = Prompts
M.Prompts = Prompts

-- spec: "a city", "0:(a city), 60:(a city at night)" (keys are frames or
-- steps), or {[0] = "a city", [60] = "a city at night"}. With blend = true,
-- the embedding between two keys mixes them linearly; else each holds to
-- the next key.
function M.prompts(spec, opts)
  opts = opts or {}
  local keys = {}
  if type(spec) == "string" and spec:match("^%s*%d+%s*:%s*%(") then
    for _, k in ipairs(schedule.parse_keys(spec, 2)) do keys[#keys + 1] = { key = k.key, text = k.text } end
  elseif type(spec) == "string" then
    keys[1] = { key = 0, text = spec }
  elseif type(spec) == "table" then
    for k, v in pairs(spec) do
      if type(k) ~= "number" or k < 0 or k % 1 ~= 0 or type(v) ~= "string" then
        error("prompts: a table maps frames (0, 1, ...) to prompt strings", 2)
      end
      keys[#keys + 1] = { key = k, text = v }
    end
    table.sort(keys, function(a, b) return a.key < b.key end)
  else
    core.arg_error("prompts", "spec", "a string or a table {frame = prompt}", type(spec))
  end
  if #keys == 0 then error("prompts: no prompt given", 2) end
  return setmetatable({ keys = keys, blend = opts.blend or false, spec = spec }, Prompts)
end

-- The prompts in force at `frame` with their weights: {{text, weight}, ...}.
function Prompts:weights_at(frame)
  local keys = self.keys
  if frame <= keys[1].key then return { { keys[1].text, 1 } } end
  for j = #keys, 1, -1 do
    if keys[j].key <= frame then
      local a, b = keys[j], keys[j + 1]
      if not b or not self.blend or frame == a.key then return { { a.text, 1 } } end
      local w = (frame - a.key) / (b.key - a.key)
      return { { a.text, 1 - w }, { b.text, w } }
    end
  end
end

-- The text in force at `frame` (the earlier key when blending).
function Prompts:at(frame) return self:weights_at(frame)[1][1] end

-- The embedding at `frame` through `cache`: a new tensor (free it) when
-- two prompts mix, else the cache's own.
function Prompts:embedding_at(frame, cache)
  local parts = self:weights_at(frame)
  if #parts == 1 then return cache:get(parts[1][1]) end
  local a = cache:get(parts[1][1]) * parts[1][2]
  local b = cache:get(parts[2][1]) * parts[2][2]
  local mixed = a + b
  a:free()
  b:free()
  return mixed
end

function Prompts:is_constant() return #self.keys == 1 end

function Prompts:__tostring()
  local parts = {}
  for _, k in ipairs(self.keys) do parts[#parts + 1] = ("%d:(%s)"):format(k.key, k.text) end
  return "prompts " .. table.concat(parts, ", ") .. (self.blend and " (blended)" or "")
end

return M
