-- Prompts: the embedding cache encodes each text once (in memory and on
-- disk), prompt schedules over frames, and the encoders' errors.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local orrery = require "orrery"
local prompt = orrery.prompt

T.case("the cache encodes each text once", function()
  local calls = 0
  local inner = prompt.random_encoder { length = 4, dim = 8, seed = 1 }
  local counting = { name = inner.name, encode = function(text) calls = calls + 1 return inner.encode(text) end }
  local cache = prompt.cache(counting)
  local a = cache:get("a red car")
  local b = cache:get("a red car")
  T.ok(a == b, "the same tensor for the same text")
  cache:get("a blue car")
  T.eq(calls, 2, "encoded once per text")
  T.eq(cache.hits, 1, "hits")
  T.eq(cache.misses, 2, "misses")
  T.eq(table.concat(a:shape(), ","), "1,4,8", "[1, L, D]")
  local c = prompt.cache(prompt.random_encoder { length = 4, dim = 8, seed = 1 }):get("a red car")
  T.eq(c:get(5), a:get(5), "a random encoder is a function of the text")
  T.ok(cache:get("another"):get(0) ~= a:get(0), "other texts, other embeddings")
  orrery.scope(function() cache:get("made in a scope") end)
  T.ok(not cache:get("made in a scope"):is_freed(), "cached embeddings outlive scopes")
  T.ok(tostring(cache):find("4 entries", 1, true), tostring(cache))
  cache:clear()
  T.ok(a:is_freed(), "clear frees them")
end)

T.case("the cache on disk", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  local calls = 0
  local enc = { name = "counting", encode = function() calls = calls + 1 return orrery.ones({ 1, 2, 3 }) end }
  prompt.cache(enc, { dir = dir }):get("x")
  local again = prompt.cache(enc, { dir = dir }):get("x")
  T.eq(calls, 1, "a second session reads the file")
  T.eq(again:sum(), 6, "the stored embedding")
  os.execute("rm -rf " .. dir)
end)

T.case("prompt schedules", function()
  local p = prompt.prompts "0:(a city), 60:(a city at night)"
  T.eq(p:at(0), "a city", "first")
  T.eq(p:at(59), "a city", "holds")
  T.eq(p:at(60), "a city at night", "switches")
  local b = prompt.prompts({ [0] = "day", [10] = "night" }, { blend = true })
  local w = b:weights_at(5)
  T.eq(w[1][1], "day", "blend from")
  T.near(w[2][2], 0.5, 1e-12, "blend weight")
  local cache = prompt.cache(prompt.random_encoder { length = 2, dim = 4 })
  local mixed = b:embedding_at(5, cache)
  T.near(mixed:get(0), 0.5 * cache:get("day"):get(0) + 0.5 * cache:get("night"):get(0), 1e-6, "a linear mix")
  T.ok(prompt.prompts("just one"):is_constant(), "a plain string")
  T.fails(function() prompt.prompts "0:(a, 5:(b)" end, "unclosed '('", "parse errors")
  T.fails(function() prompt.prompts { [-1] = "x" } end, "maps frames (0, 1, ...) to prompt strings", "bad table")
end)

T.case("encoder errors", function()
  T.fails(function() prompt.cache({}) end, "an encoder is a table {name = string, encode = function(text)}", "not an encoder")
  local bad = prompt.cache { name = "bad", encode = function() return 3 end }
  T.fails(function() bad:get("x") end, "returned a number, not a tensor", "encoder result")
  T.fails(function() bad:get(5) end, "text must be a string", "not a string")
  local path = os.tmpname()
  orrery.save(path, { ["a cat"] = orrery.zeros({ 1, 2, 2 }) })
  local fe = prompt.file_encoder(path)
  T.eq(fe.encode("a cat"):numel(), 4, "file encoder")
  T.fails(function() fe.encode("a dog") end, "holds no embedding for the prompt \"a dog\"", "missing prompt")
  os.remove(path)
end)

T.done()
