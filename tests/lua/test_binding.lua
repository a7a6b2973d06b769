-- The Lua binding: tensors, views, arithmetic, safetensors, errors as Lua
-- errors, and explicit freeing. Run by ctest through the `orrery` command.
local orrery = require "orrery"
local failures, checks = 0, 0

local function check(cond, what)
  checks = checks + 1
  if not cond then
    failures = failures + 1
    io.stderr:write("FAIL: " .. what .. "\n" .. debug.traceback() .. "\n")
  end
end

local function fails_with(fn, needle, what)
  local ok, err = pcall(fn)
  check(not ok and tostring(err):find(needle, 1, true) ~= nil,
    what .. " (got: " .. tostring(err) .. ")")
end

-- creation, shape, 0-based element access
local t = orrery.from_table({ { 1, 2, 3 }, { 4, 5, 6 } })
check(t:dim() == 2 and t:size(0) == 2 and t:size(-1) == 3, "shape of from_table")
check(t:dtype() == "f32" and t:device() == "cpu", "dtype and device")
check(t:get(1, 2) == 6 and t:get(4) == 5, "0-based get")
check(tostring(t) == "tensor f32[2,3] {1, 2, 3, 4, 5, 6}", "short tostring: " .. tostring(t))
local z = orrery.zeros({ 100, 100 }, "bf16")
check(tostring(z):find("tensor bf16[100,100]  min 0", 1, true) ~= nil, "summary tostring: " .. tostring(z))
fails_with(function() orrery.zeros({ 2 }, "f8") end, "unknown dtype 'f8'", "bad dtype")
fails_with(function() orrery.zeros({ 2, -3 }) end, "invalid shape [2,-3]", "bad shape")
fails_with(function() orrery.from_table({ { 1, 2 }, { 3 } }) end, "ragged data", "ragged table")

-- views share storage
local tt = t:transpose(0, 1)
check(tt:get(2, 1) == 6 and not tt:is_contiguous(), "transpose view")
tt:contiguous():free()
local col = t:select(1, 1)
check(col:totable()[2] == 5, "select")
fails_with(function() t:narrow(1, 2, 5) end, "outside dim 1 of size 3", "narrow out of range")
fails_with(function() t:reshape({ 4, 2 }) end, "cannot reshape f32[2,3] to [4,2]", "bad reshape")
check(#t:reshape({ 3, -1 }):shape() == 2, "reshape with -1")

-- clone converts dtype
local b = t:clone("bf16")
check(b:dtype() == "bf16" and b:get(5) == 6, "clone to bf16")

-- Philox through Lua: same seed, same numbers
local r1, r2 = orrery.randn({ 1000 }, 42), orrery.randn({ 1000 }, 42)
local same = true
for i = 0, 999 do same = same and r1:get(i) == r2:get(i) end
check(same, "same seed gives the same noise")
check(math.abs(r1:mean()) < 0.15, "normal mean near 0")

-- safetensors round trip with metadata
local path = os.tmpname()
orrery.save(path, { a = t, b = b }, { note = "hello" })
local loaded, meta = orrery.load(path)
check(loaded.a:get(3) == 4 and loaded.b:dtype() == "bf16" and meta.note == "hello", "safetensors round trip")
os.remove(path)
fails_with(function() orrery.load("/nonexistent/x.safetensors") end, "/nonexistent/x.safetensors", "missing file")

-- explicit free, and use after free is an error, not a crash
local before = orrery.memory().in_use
local big = orrery.empty({ 1000, 1000 })
check(orrery.memory().in_use - before == 4000000, "accounting sees the bytes")
big:free()
check(orrery.memory().in_use == before, "free returns them")
fails_with(function() big:numel() end, "tensor was freed", "use after free")

if failures > 0 then
  io.stderr:write(("test_binding: %d of %d checks failed\n"):format(failures, checks))
  os.exit(1)
end
print(("test_binding: all %d checks passed"):format(checks))
