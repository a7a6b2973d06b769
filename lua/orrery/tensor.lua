-- tensor.lua — tensors: a Lua table holding the C handle, so that use after
-- free() is a clear error instead of a dangling pointer.
--
-- Conventions: like the C core, dims and element indices are 0-based (as in
-- PyTorch, whose code is orrery's specification); shapes are Lua arrays
-- {B, C, T, H, W}. Arithmetic and ops allocate their result (float32).
--
-- Ownership, in the order to reach for them:
--  1. t:free() releases the tensor's C memory now (views keep the storage
--     alive until they are freed too); using a freed tensor is an error.
--  2. orrery.scope(fn, ...) runs fn and frees every tensor created inside
--     it that fn does not return (returned tensors, also inside a returned
--     plain table, move to the enclosing scope); t:keep() exempts one.
--  3. The garbage collector is the backstop. It is told about the bytes the
--     core holds: whenever the core's count of bytes in use has doubled
--     since the last collection (and grown by at least gc_step), a full
--     collection runs; orrery.memory_limit(bytes) also runs one when an
--     allocation would pass a soft limit.
local ffi = require "ffi"
local core = require "orrery.core"
local C, check = core.C, core.check

local M = {}

local Tensor = { __name = "tensor" }
Tensor.__index = Tensor
M.Tensor = Tensor

---------------------------------------------------------------------------
-- dtypes and shapes

local dtypes = {}
for _, name in ipairs { "f32", "f64", "bf16", "f16", "i64", "i32", "i16", "i8", "u8", "bool" } do
  local out = ffi.new("orr_dtype[1]")
  check(C.orr_dtype_from_name(name, out))
  dtypes[name] = out[0]
end
M.dtypes = { "f32", "f64", "bf16", "f16", "i64", "i32", "i16", "i8", "u8", "bool" }

local function dtype_of(name, level)
  local d = dtypes[name or "f32"]
  if not d then
    -- the core also knows the long names ("float32", "bfloat16", ...)
    local out = ffi.new("orr_dtype[1]")
    if type(name) == "string" and C.orr_dtype_from_name(name, out) == C.ORR_OK then return out[0] end
    error("unknown dtype '" .. tostring(name) .. "'", (level or 2) + 1)
  end
  return d
end
M.dtype_of = dtype_of

local function shape_array(shape, level)
  if type(shape) ~= "table" then error("a shape is a table of sizes, got " .. type(shape), (level or 2) + 1) end
  local n = #shape
  if n > C.ORR_MAX_DIMS then
    error(("a shape has at most %d dims, got %d"):format(C.ORR_MAX_DIMS, n), (level or 2) + 1)
  end
  for i = 1, n do
    if type(shape[i]) ~= "number" then
      error(("a shape holds numbers, but size %d is a %s"):format(i - 1, type(shape[i])), (level or 2) + 1)
    end
  end
  return ffi.new("int64_t[?]", math.max(n, 1), shape), n
end
M.shape_array = shape_array

---------------------------------------------------------------------------
-- ownership: scopes and the collector

local scopes = {} -- stack of sets {tensor = true}
local gc = { step = 64 * 2 ^ 20, last = 0 }
local stats = ffi.new("orr_mem_stats")

-- Device tensors count too: their memory is only returned when Lua
-- collects the tensors that hold it.
local function bytes_in_use()
  C.orr_mem_get_stats(C.ORR_CPU, stats)
  local n = tonumber(stats.bytes_in_use)
  C.orr_mem_get_stats(C.ORR_CUDA, stats)
  return n + tonumber(stats.bytes_in_use)
end

-- Called after every allocation made from Lua.
local function collect_if_due()
  local now = bytes_in_use()
  if now - gc.last > math.max(gc.step, gc.last) then
    collectgarbage()
    gc.last = bytes_in_use()
  end
end

local function wrap(ptr, fresh)
  local t = setmetatable({ ptr = ffi.gc(ptr, C.orr_tensor_free) }, Tensor)
  local top = scopes[#scopes]
  if top then top[t] = true end
  if fresh then collect_if_due() end
  return t
end
M.wrap = wrap

-- Adopts a tensor handle the caller owns (from a C call that returns one).
function M.adopt(ptr) return wrap(ptr, true) end

-- the shape of a handle, for ops whose output matches their input
local function shape_of(p)
  local s = {}
  for d = 0, p.ndim - 1 do s[d + 1] = tonumber(p.shape[d]) end
  return s
end

local function handle(t, name, level)
  if getmetatable(t) ~= Tensor then
    error(("%s must be a tensor, got %s"):format(name or "argument", core.describe_value(t)), (level or 2) + 1)
  end
  if t.ptr == nil then error((name and name .. ": " or "") .. "tensor was freed", (level or 2) + 1) end
  return t.ptr
end
M.handle = handle

function M.is_tensor(v) return getmetatable(v) == Tensor end

function Tensor:free()
  local p = self.ptr
  if p ~= nil then
    ffi.gc(p, nil)
    C.orr_tensor_free(p)
    self.ptr = nil
  end
end

-- Exempts the tensor from every enclosing scope.
function Tensor:keep()
  for i = 1, #scopes do scopes[i][self] = nil end
  return self
end

local function adopt_results(keep, parent, ...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if getmetatable(v) == Tensor then
      keep[v] = true
    elseif type(v) == "table" and getmetatable(v) == nil then
      for _, x in pairs(v) do
        if getmetatable(x) == Tensor then keep[x] = true end
      end
    end
  end
  if parent then
    for t in pairs(keep) do parent[t] = true end
  end
end

function M.scope(fn, ...)
  local frame = {}
  scopes[#scopes + 1] = frame
  local results = { pcall(fn, ...) }
  local n = table.maxn(results)
  scopes[#scopes] = nil
  local keep = {}
  if results[1] then adopt_results(keep, scopes[#scopes], unpack(results, 2, n)) end
  for t in pairs(frame) do
    if not keep[t] then t:free() end
  end
  if not results[1] then error(results[2], 0) end
  return unpack(results, 2, n)
end

-- The pressure hook runs on the thread that allocates; orrery's CPU code
-- allocates only on the calling thread, which is the Lua thread.
local pressure_cb
function M.memory_limit(bytes)
  if bytes and bytes > 0 and not pressure_cb then
    pressure_cb = ffi.cast("orr_pressure_fn", function() collectgarbage() end)
    C.orr_mem_set_pressure_hook(pressure_cb, nil)
  end
  C.orr_mem_set_limit(C.ORR_CPU, bytes or 0)
end

-- Bytes the core holds on a device ("cpu" by default).
function M.memory(device)
  local s = ffi.new("orr_mem_stats")
  C.orr_mem_get_stats(device == "cuda" and C.ORR_CUDA or C.ORR_CPU, s)
  return {
    in_use = tonumber(s.bytes_in_use), peak = tonumber(s.bytes_peak), mapped = tonumber(s.bytes_mapped),
    allocations = tonumber(s.allocations), limit = tonumber(s.limit),
  }
end

function M.gc_step(bytes)
  if bytes then gc.step = bytes end
  return gc.step
end

---------------------------------------------------------------------------
-- creation

local function new_tensor(shape, dtype, zero, level)
  local dims, n = shape_array(shape, level + 1)
  local out = ffi.new("orr_tensor*[1]")
  check((zero and C.orr_tensor_zeros or C.orr_tensor_empty)(out, dtype_of(dtype, level + 1), n, dims), level + 1)
  return wrap(out[0], true)
end

function M.empty(shape, dtype) return new_tensor(shape, dtype, false, 2) end
function M.zeros(shape, dtype) return new_tensor(shape, dtype, true, 2) end

function M.full(shape, value, dtype)
  local t = new_tensor(shape, dtype, false, 2)
  check(C.orr_fill(t.ptr, value), 2)
  return t
end

function M.ones(shape, dtype) return M.full(shape, 1, dtype) end

-- Nested Lua arrays to a tensor: from_table({{1, 2}, {3, 4}}).
function M.from_table(data, dtype)
  if type(data) == "number" then return M.full({}, data, dtype) end
  if type(data) ~= "table" then core.arg_error("from_table", "data", "a number or nested arrays", type(data)) end
  local shape, level = {}, data
  while type(level) == "table" do
    shape[#shape + 1] = #level
    level = level[1]
  end
  local t = new_tensor(shape, dtype, false, 2)
  local flat = 0
  local function walk(x, depth)
    if depth > #shape then
      if type(x) ~= "number" and type(x) ~= "boolean" then
        t:free()
        error(("from_table: element %d is a %s, not a number"):format(flat, type(x)), 4 + depth)
      end
      C.orr_tensor_set(t.ptr, flat, x == true and 1 or x == false and 0 or x)
      flat = flat + 1
      return
    end
    if type(x) ~= "table" or #x ~= shape[depth] then
      t:free()
      error(("from_table: ragged data at depth %d"):format(depth), 4 + depth)
    end
    for i = 1, #x do walk(x[i], depth + 1) end
  end
  walk(data, 1)
  return t
end
M.tensor = M.from_table

-- 0, 1, ..., n-1 (or start, start+step, ... below stop).
function M.arange(start, stop, step, dtype)
  if not stop then start, stop = 0, start end
  step = step or 1
  if step == 0 then error("arange: step must not be 0", 2) end
  local n = math.max(0, math.ceil((stop - start) / step))
  local t = new_tensor({ n }, dtype, false, 2)
  for i = 0, n - 1 do C.orr_tensor_set(t.ptr, i, start + i * step) end
  return t
end

-- n values evenly from a to b, both included.
function M.linspace(a, b, n, dtype)
  if type(n) ~= "number" or n < 1 then core.arg_error("linspace", "n", "a positive count", tostring(n)) end
  local t = new_tensor({ n }, dtype, false, 2)
  for i = 0, n - 1 do C.orr_tensor_set(t.ptr, i, n == 1 and a or a + (b - a) * i / (n - 1)) end
  return t
end

-- Random tensors through the Philox generator: the same seed gives the same
-- numbers on every backend. `rng` may be a seed or an orrery.rng().
function M.rng(seed)
  local r = ffi.new("orr_rng")
  C.orr_rng_init(r, seed or 0)
  return r
end

local function as_rng(r)
  if type(r) == "cdata" then return r end
  if r ~= nil and type(r) ~= "number" then core.arg_error("randn", "rng", "a seed or an orrery.rng()", type(r), 3) end
  return M.rng(r)
end

function M.randn(shape, rng, dtype)
  local t = new_tensor(shape, dtype, false, 2)
  check(C.orr_rng_normal(as_rng(rng), t.ptr, 0, 1), 2)
  return t
end

function M.rand(shape, rng, dtype)
  local t = new_tensor(shape, dtype, false, 2)
  check(C.orr_rng_uniform(as_rng(rng), t.ptr), 2)
  return t
end

---------------------------------------------------------------------------
-- properties and elements

function Tensor:dim() return handle(self).ndim end
function Tensor:dtype() return ffi.string(C.orr_dtype_name(handle(self).dtype)) end
function Tensor:device() return ffi.string(C.orr_device_name(handle(self).device)) end
function Tensor:numel() return tonumber(C.orr_tensor_numel(handle(self))) end
function Tensor:nbytes() return tonumber(C.orr_tensor_nbytes(handle(self))) end
function Tensor:is_contiguous() return C.orr_tensor_is_contiguous(handle(self)) end
function Tensor:is_freed() return self.ptr == nil end

function Tensor:shape()
  local p, s = handle(self), {}
  for d = 0, p.ndim - 1 do s[d + 1] = tonumber(p.shape[d]) end
  return s
end

function Tensor:strides()
  local p, s = handle(self), {}
  for d = 0, p.ndim - 1 do s[d + 1] = tonumber(p.stride[d]) end
  return s
end

function Tensor:size(dim)
  local p = handle(self)
  if dim == nil then return self:shape() end
  if dim < 0 then dim = dim + p.ndim end
  if dim < 0 or dim >= p.ndim then error(("size: dim %d is out of range for %d dims"):format(dim, p.ndim), 2) end
  return tonumber(p.shape[dim])
end

local function flat_index(self, fn, idx, n)
  local p = self.ptr
  local flat = idx[1]
  if n ~= 1 then
    if n ~= p.ndim then error(("%s: %d indices for %d dims"):format(fn, n, p.ndim), 3) end
    flat = 0
    for d = 0, n - 1 do
      local i, size = idx[d + 1], tonumber(p.shape[d])
      if type(i) ~= "number" then error(("%s: index %d is a %s, not a number"):format(fn, d, type(i)), 3) end
      if i < 0 then i = i + size end
      if i < 0 or i >= size then error(("%s: index %d is outside dim %d of size %d"):format(fn, i, d, size), 3) end
      flat = flat * size + i
    end
  end
  if type(flat) ~= "number" then error(fn .. ": the index must be a number, got " .. type(flat), 3) end
  local count = tonumber(C.orr_tensor_numel(p))
  if flat < 0 or flat >= count then error(("%s: flat index %d is outside %d elements"):format(fn, flat, count), 3) end
  return flat
end

-- Element by 0-based flat index (row-major), or by one index per dim.
function Tensor:get(...)
  handle(self)
  local idx = { ... }
  return C.orr_tensor_get(self.ptr, flat_index(self, "get", idx, select("#", ...)))
end

-- t:set(flat, value) or t:set(i, j, ..., value)
function Tensor:set(...)
  handle(self)
  local idx, n = { ... }, select("#", ...)
  local value = idx[n]
  if type(value) ~= "number" then error("set: the value must be a number, got " .. type(value), 2) end
  C.orr_tensor_set(self.ptr, flat_index(self, "set", idx, n - 1), value)
end

-- The single value of a one-element tensor.
function Tensor:item()
  local n = self:numel()
  if n ~= 1 then error(("item: the tensor has %d elements, not 1"):format(n), 2) end
  return C.orr_tensor_get(self.ptr, 0)
end

function Tensor:totable()
  local p, shape, flat = handle(self), self:shape(), 0
  local function build(depth)
    local out = {}
    for i = 1, shape[depth] do
      if depth >= #shape then
        out[i] = C.orr_tensor_get(p, flat)
        flat = flat + 1
      else
        out[i] = build(depth + 1)
      end
    end
    return out
  end
  if #shape == 0 then return C.orr_tensor_get(p, 0) end
  return build(1)
end

---------------------------------------------------------------------------
-- views (O(1), sharing storage)

local function view_call(fn, ...)
  local out = ffi.new("orr_tensor*[1]")
  check(fn(out, ...), 3)
  return wrap(out[0], false)
end

function Tensor:view() return view_call(C.orr_tensor_view, handle(self)) end
function Tensor:narrow(dim, start, length) return view_call(C.orr_tensor_narrow, handle(self), dim, start, length) end
function Tensor:select(dim, index) return view_call(C.orr_tensor_select, handle(self), dim, index) end
function Tensor:transpose(d0, d1) return view_call(C.orr_tensor_transpose, handle(self), d0, d1) end
function Tensor:unsqueeze(dim) return view_call(C.orr_tensor_unsqueeze, handle(self), dim) end
function Tensor:squeeze(dim) return view_call(C.orr_tensor_squeeze, handle(self), dim) end

function Tensor:permute(order)
  local p = handle(self)
  if type(order) ~= "table" or #order ~= p.ndim then
    error(("permute: the order must list %d dims, got %s"):format(p.ndim,
      type(order) == "table" and #order .. " dims" or type(order)), 2)
  end
  return view_call(C.orr_tensor_permute, p, ffi.new("int[?]", #order, order))
end

function Tensor:view_as(shape)
  local dims, n = shape_array(shape)
  return view_call(C.orr_tensor_view_as, handle(self), n, dims)
end

function Tensor:expand(shape)
  local dims, n = shape_array(shape)
  return view_call(C.orr_tensor_expand, handle(self), n, dims)
end

-- These copy when the strides demand it, so their result may own memory.
local function maybe_copy_call(fn, ...)
  local out = ffi.new("orr_tensor*[1]")
  check(fn(out, ...), 3)
  return wrap(out[0], true)
end

function Tensor:reshape(shape)
  local dims, n = shape_array(shape)
  return maybe_copy_call(C.orr_tensor_reshape, handle(self), n, dims)
end

function Tensor:contiguous() return maybe_copy_call(C.orr_tensor_contiguous, handle(self)) end

function Tensor:clone(dtype)
  local p = handle(self)
  return maybe_copy_call(C.orr_tensor_clone, p, dtype and dtype_of(dtype) or p.dtype)
end

-- Devices: t:to("cuda") / t:to("cpu") move (the tensor itself when it is
-- there already; a contiguous copy otherwise); t:to(dtype) converts.
local devices = { cpu = C.ORR_CPU, cuda = C.ORR_CUDA }
function Tensor:to(target)
  local device = devices[target]
  if device == nil then return self:clone(target) end
  local p = handle(self)
  if p.device == device then return self end
  return maybe_copy_call(C.orr_tensor_to, p, device)
end
function Tensor:cuda() return self:to("cuda") end
function Tensor:cpu() return self:to("cpu") end

-- True when this orrery has CUDA and a usable device.
function M.cuda_available() return C.orr_cuda_available() end
function Tensor:float() return self:clone("f32") end

---------------------------------------------------------------------------
-- in place

function Tensor:fill(value)
  check(C.orr_fill(handle(self), value), 2)
  return self
end

-- Copies src into self (dtype conversion, broadcasting src to self's shape).
function Tensor:copy(src)
  check(C.orr_copy(handle(self), handle(src, "copy: src")), 2)
  return self
end

---------------------------------------------------------------------------
-- element-wise arithmetic (results are float32 with the broadcast shape)

local function broadcast_shape(a, b, level)
  local sa, sb, out = a:shape(), b:shape(), {}
  local n = math.max(#sa, #sb)
  for i = 1, n do
    local x, y = sa[#sa - n + i] or 1, sb[#sb - n + i] or 1
    if x ~= y and x ~= 1 and y ~= 1 then
      error(("cannot broadcast %s[%s] with %s[%s]"):format(a:dtype(), table.concat(sa, ","), b:dtype(),
        table.concat(sb, ",")), level + 1)
    end
    out[i] = x == 1 and y or x
  end
  return out
end

local binary_ops = { add = C.ORR_ADD, sub = C.ORR_SUB, mul = C.ORR_MUL, div = C.ORR_DIV, max = C.ORR_MAX, min = C.ORR_MIN }

local function binary(op, a, b)
  local level = 3
  if type(a) == "number" and type(b) == "number" then error(op .. ": neither operand is a tensor", level) end
  local scalar_a = type(a) == "number"
  if scalar_a and (op == "add" or op == "mul") then a, b, scalar_a = b, a, false end
  if type(b) == "number" and (op == "add" or op == "sub" or op == "mul" or op == "div") then
    local out = M.empty(shape_of(handle(a, op .. ": a", level)), "f32")
    local scale, shift = 1, 0
    if op == "add" then shift = b elseif op == "sub" then shift = -b
    elseif op == "mul" then scale = b else scale = 1 / b end
    check(C.orr_affine(out.ptr, a.ptr, scale, shift), level)
    return out
  end
  if type(a) == "number" then a = M.full({}, a) end
  if type(b) == "number" then b = M.full({}, b) end
  handle(a, op .. ": a", level)
  handle(b, op .. ": b", level)
  local out = M.empty(broadcast_shape(a, b, level), "f32")
  check(C.orr_binary(out.ptr, a.ptr, b.ptr, binary_ops[op]), level)
  return out
end

Tensor.__add = function(a, b) return binary("add", a, b) end
Tensor.__sub = function(a, b) return binary("sub", a, b) end
Tensor.__mul = function(a, b) return binary("mul", a, b) end
Tensor.__div = function(a, b) return binary("div", a, b) end
Tensor.__unm = function(a) return binary("mul", a, -1) end
function Tensor:add(b) return binary("add", self, b) end
function Tensor:sub(b) return binary("sub", self, b) end
function Tensor:mul(b) return binary("mul", self, b) end
function Tensor:div(b) return binary("div", self, b) end
function M.maximum(a, b) return binary("max", a, b) end
function M.minimum(a, b) return binary("min", a, b) end


-- out = a*scale + shift
function Tensor:affine(scale, shift)
  local out = M.empty(shape_of(handle(self)), "f32")
  check(C.orr_affine(out.ptr, self.ptr, scale or 1, shift or 0), 2)
  return out
end

local unary_ops = {
  neg = C.ORR_NEG, abs = C.ORR_ABS, exp = C.ORR_EXP, log = C.ORR_LOG, sqrt = C.ORR_SQRT, rsqrt = C.ORR_RSQRT,
  tanh = C.ORR_TANH, sigmoid = C.ORR_SIGMOID, silu = C.ORR_SILU, gelu = C.ORR_GELU_TANH, gelu_erf = C.ORR_GELU_ERF,
  relu = C.ORR_RELU, sin = C.ORR_SIN, cos = C.ORR_COS,
}
for name, op in pairs(unary_ops) do
  Tensor[name] = function(self)
    local out = M.empty(shape_of(handle(self, name)), "f32")
    check(C.orr_unary(out.ptr, self.ptr, op), 2)
    return out
  end
end

---------------------------------------------------------------------------
-- reductions: over everything (a number) or over one dim (a tensor)

local reduce_ops = { sum = C.ORR_SUM, mean = C.ORR_MEAN, max = C.ORR_AMAX, min = C.ORR_AMIN }
for name, op in pairs(reduce_ops) do
  Tensor[name] = function(self, dim, keepdim)
    local p = handle(self, name)
    if dim == nil then
      local out = ffi.new("double[1]")
      check(C.orr_reduce_all(p, op, out), 2)
      return out[0]
    end
    if dim < 0 then dim = dim + p.ndim end
    if dim < 0 or dim >= p.ndim then error(("%s: dim %d is out of range for %d dims"):format(name, dim, p.ndim), 2) end
    local shape = {}
    for d = 0, p.ndim - 1 do
      if d ~= dim then shape[#shape + 1] = tonumber(p.shape[d]) elseif keepdim then shape[#shape + 1] = 1 end
    end
    local out = M.empty(shape, "f32")
    check(C.orr_reduce(out.ptr, p, dim, op), 2)
    return out
  end
end

function Tensor:std()
  local mean = self:mean()
  local d = self - mean
  local sq = d * d
  local v = sq:mean()
  d:free()
  sq:free()
  return math.sqrt(v)
end

function Tensor:count_nonfinite()
  local out = ffi.new("int64_t[1]")
  check(C.orr_count_nonfinite(handle(self), out), 2)
  return tonumber(out[0])
end

---------------------------------------------------------------------------
-- ops that build a new tensor

function Tensor:softmax(dim)
  local out = M.empty(shape_of(handle(self, "softmax")), "f32")
  check(C.orr_softmax(out.ptr, self.ptr, dim or -1), 2)
  return out
end

-- cat({a, b, ...}, dim): joins along dim (default 0).
function M.cat(parts, dim)
  dim = dim or 0
  if type(parts) ~= "table" or #parts == 0 then core.arg_error("cat", "parts", "a non-empty array of tensors", type(parts)) end
  local ptrs = ffi.new("const orr_tensor*[?]", #parts)
  local shape = nil
  for i, t in ipairs(parts) do
    ptrs[i - 1] = handle(t, ("cat: parts[%d]"):format(i))
    local s = t:shape()
    local d = dim < 0 and dim + #s or dim
    if not shape then
      shape = s
    else
      shape[d + 1] = (shape[d + 1] or 0) + (s[d + 1] or 0)
    end
  end
  local out = M.empty(shape, "f32")
  check(C.orr_concat(out.ptr, ptrs, #parts, dim), 2)
  return out
end

-- pad({before0, after0, before1, after1, ...}, mode, value): every dim.
function Tensor:pad(pads, mode, value)
  local p = handle(self, "pad")
  if type(pads) ~= "table" or #pads ~= 2 * p.ndim then
    error(("pad: pads needs %d numbers (before, after per dim), got %s"):format(2 * p.ndim,
      type(pads) == "table" and #pads or type(pads)), 2)
  end
  local modes = { constant = C.ORR_PAD_CONSTANT, replicate = C.ORR_PAD_REPLICATE, reflect = C.ORR_PAD_REFLECT }
  local m = modes[mode or "constant"]
  if not m then error("pad: mode must be constant, replicate or reflect, got '" .. tostring(mode) .. "'", 2) end
  local shape = self:shape()
  for d = 1, #shape do shape[d] = shape[d] + pads[2 * d - 1] + pads[2 * d] end
  local out = M.empty(shape, "f32")
  check(C.orr_pad(out.ptr, p, ffi.new("int64_t[?]", #pads, pads), m, value or 0), 2)
  return out
end

function Tensor:repeat_interleave(dim, repeats)
  local shape = shape_of(handle(self, "repeat_interleave"))
  local d = dim < 0 and dim + #shape or dim
  if shape[d + 1] then shape[d + 1] = shape[d + 1] * repeats end
  local out = M.empty(shape, "f32")
  check(C.orr_repeat_interleave(out.ptr, self.ptr, dim, repeats), 2)
  return out
end

-- c[..., M, N] = a[..., M, K] · b[..., K, N]
function M.matmul(a, b)
  local sa, sb = shape_of(handle(a, "matmul: a")), shape_of(handle(b, "matmul: b"))
  if #sa < 2 or #sb < 2 then error("matmul: a and b need at least 2 dims", 2) end
  local batch_a, batch_b = { unpack(sa, 1, #sa - 2) }, { unpack(sb, 1, #sb - 2) }
  local n, shape = math.max(#batch_a, #batch_b), {}
  for i = 1, n do
    local x, y = batch_a[#batch_a - n + i] or 1, batch_b[#batch_b - n + i] or 1
    shape[i] = x == 1 and y or x
  end
  shape[n + 1], shape[n + 2] = sa[#sa - 1], sb[#sb]
  local out = M.empty(shape, "f32")
  check(C.orr_matmul(out.ptr, a.ptr, b.ptr), 2)
  return out
end
Tensor.matmul = M.matmul

-- nn.Linear: y[..., N] = x[..., K] · w[N, K]^T + b[N]
function M.linear(x, w, b)
  local shape = shape_of(handle(x, "linear: x"))
  shape[#shape] = tonumber(handle(w, "linear: w").shape[0])
  local out = M.empty(shape, "f32")
  check(C.orr_linear(out.ptr, x.ptr, w.ptr, b and handle(b, "linear: b") or nil), 2)
  return out
end

local function opt_handle(t, name) return t and handle(t, name, 3) or nil end

function M.layer_norm(x, w, b, eps)
  local out = M.empty(shape_of(handle(x, "layer_norm: x")), "f32")
  check(C.orr_layer_norm(out.ptr, x.ptr, opt_handle(w, "layer_norm: w"), opt_handle(b, "layer_norm: b"), eps or 1e-5), 2)
  return out
end

function M.rms_norm(x, w, eps)
  local out = M.empty(shape_of(handle(x, "rms_norm: x")), "f32")
  check(C.orr_rms_norm(out.ptr, x.ptr, opt_handle(w, "rms_norm: w"), eps or 1e-6), 2)
  return out
end

function M.group_norm(x, groups, w, b, eps)
  local out = M.empty(shape_of(handle(x, "group_norm: x")), "f32")
  check(C.orr_group_norm(out.ptr, x.ptr, groups, opt_handle(w, "group_norm: w"), opt_handle(b, "group_norm: b"),
    eps or 1e-6), 2)
  return out
end

-- q [B,H,Sq,D], k [B,Hk,Sk,D], v [B,Hk,Sk,Dv]; opts: mask, scale (default
-- 1/sqrt(D)), causal.
function M.attention(q, k, v, opts)
  opts = opts or {}
  local sq, sv = shape_of(handle(q, "attention: q")), shape_of(handle(v, "attention: v"))
  handle(k, "attention: k")
  local shape = { sq[1], sq[2], sq[3], sv[4] }
  local out = M.empty(shape, "f32")
  check(C.orr_attention(out.ptr, q.ptr, k.ptr, v.ptr, opt_handle(opts.mask, "attention: mask"),
    opts.scale or 1 / math.sqrt(sq[4] or 1), opts.causal or false), 2)
  return out
end

-- Resizes the trailing spatial dims to `size` ({H, W} or {T, H, W}).
function Tensor:resize(size, mode, align_corners)
  local modes = { nearest = C.ORR_RESIZE_NEAREST, bilinear = C.ORR_RESIZE_BILINEAR, bicubic = C.ORR_RESIZE_BICUBIC,
    trilinear = C.ORR_RESIZE_TRILINEAR }
  local m = modes[mode or "bilinear"]
  if not m then error("resize: mode must be nearest, bilinear, bicubic or trilinear, got '" .. tostring(mode) .. "'", 2) end
  local shape = shape_of(handle(self, "resize"))
  for i = 1, #size do shape[#shape - #size + i] = size[i] end
  local out = M.empty(shape, "f32")
  check(C.orr_resize(out.ptr, self.ptr, m, align_corners or false), 2)
  return out
end

---------------------------------------------------------------------------
-- printing: a short summary, never megabytes of numbers

function Tensor:__tostring()
  if self.ptr == nil then return "tensor (freed)" end
  local buf = ffi.new("char[256]")
  local s = "tensor " .. ffi.string(C.orr_tensor_describe(self.ptr, buf, 256))
  local n = self:numel()
  if n == 0 then return s .. " (empty)" end
  if n <= 8 then
    local vals = {}
    for i = 0, n - 1 do vals[#vals + 1] = ("%.6g"):format(C.orr_tensor_get(self.ptr, i)) end
    return s .. " {" .. table.concat(vals, ", ") .. "}"
  end
  local bad = self:count_nonfinite()
  if bad > 0 then return s .. ("  %d NaN/Inf of %d"):format(bad, n) end
  return s .. ("  min %.4g  max %.4g  mean %.4g"):format(self:min(), self:max(), self:mean())
end

return M
