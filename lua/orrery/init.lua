-- orrery — the Lua face of liborrery, bound with LuaJIT's FFI.
--
-- Conventions: like the C core, tensor dims and element indices are
-- 0-based (as in PyTorch, whose code is orrery's specification); shapes are
-- Lua arrays {B, C, T, H, W}. Every failure in C becomes a Lua error carrying
-- the core's message. Tensors own C memory: call t:free() when done with a
-- large one; the garbage collector is only a backstop.
local ffi = require "ffi"
assert(ffi.abi("gc64"), "orrery needs a LuaJIT built with GC64")
ffi.cdef(require "orrery.cdef")

-- Inside the `orrery` command the library is linked in; elsewhere load it.
local C = pcall(function() return ffi.C.orr_last_error end) and ffi.C or ffi.load("orrery")

local M = { C = C }

local function check(status, level)
  if status ~= C.ORR_OK then
    error(ffi.string(C.orr_last_error()), (level or 1) + 1)
  end
end
M.check = check

local dtypes = {}
for _, name in ipairs { "f32", "f64", "bf16", "f16", "i64", "i32", "i16", "i8", "u8", "bool" } do
  local out = ffi.new("orr_dtype[1]")
  check(C.orr_dtype_from_name(name, out))
  dtypes[name] = out[0]
end

local function dtype_of(name)
  local d = dtypes[name or "f32"]
  if not d then error("unknown dtype '" .. tostring(name) .. "'", 3) end
  return d
end

local function shape_array(shape)
  if type(shape) ~= "table" then error("a shape is a table of sizes, got " .. type(shape), 3) end
  local n = #shape
  if n > C.ORR_MAX_DIMS then error(("a shape has at most %d dims, got %d"):format(C.ORR_MAX_DIMS, n), 3) end
  return ffi.new("int64_t[?]", math.max(n, 1), shape), n
end

-- Tensor: a Lua table holding the C handle, so that use after free() is a
-- clear error instead of a dangling pointer.
local Tensor = {}
Tensor.__index = Tensor
M.Tensor = Tensor

local function wrap(ptr)
  return setmetatable({ ptr = ffi.gc(ptr, C.orr_tensor_free) }, Tensor)
end

local function handle(t)
  if getmetatable(t) ~= Tensor then error("expected a tensor, got " .. type(t), 3) end
  if t.ptr == nil then error("tensor was freed", 3) end
  return t.ptr
end

local function new_tensor(shape, dtype, zero)
  local dims, n = shape_array(shape)
  local out = ffi.new("orr_tensor*[1]")
  check((zero and C.orr_tensor_zeros or C.orr_tensor_empty)(out, dtype_of(dtype), n, dims), 3)
  return wrap(out[0])
end

function M.empty(shape, dtype) return new_tensor(shape, dtype, false) end
function M.zeros(shape, dtype) return new_tensor(shape, dtype, true) end

function M.full(shape, value, dtype)
  local t = new_tensor(shape, dtype, false)
  check(C.orr_fill(t.ptr, value))
  return t
end

-- Nested Lua arrays to a tensor: M.from_table({{1, 2}, {3, 4}}).
function M.from_table(data, dtype)
  local shape, level = {}, data
  while type(level) == "table" do
    shape[#shape + 1] = #level
    level = level[1]
  end
  local t = new_tensor(shape, dtype, false)
  local flat = 0
  local function walk(x, depth)
    if depth > #shape then
      C.orr_tensor_set(t.ptr, flat, x)
      flat = flat + 1
      return
    end
    if type(x) ~= "table" or #x ~= shape[depth] then
      error(("from_table: ragged data at depth %d"):format(depth), 3)
    end
    for i = 1, #x do walk(x[i], depth + 1) end
  end
  walk(data, 1)
  return t
end

-- Random tensors through the Philox generator: the same seed gives the same
-- numbers on every backend. `rng` may be a seed or an orrery.rng().
function M.rng(seed)
  local r = ffi.new("orr_rng")
  C.orr_rng_init(r, seed or 0)
  return r
end

local function as_rng(r) return type(r) == "cdata" and r or M.rng(r) end

function M.randn(shape, rng, dtype)
  local t = new_tensor(shape, dtype, false)
  check(C.orr_rng_normal(as_rng(rng), t.ptr, 0, 1))
  return t
end

function M.rand(shape, rng, dtype)
  local t = new_tensor(shape, dtype, false)
  check(C.orr_rng_uniform(as_rng(rng), t.ptr))
  return t
end

function Tensor:free()
  local p = self.ptr
  if p ~= nil then
    ffi.gc(p, nil)
    C.orr_tensor_free(p)
    self.ptr = nil
  end
end

function Tensor:dim() return handle(self).ndim end
function Tensor:dtype() return ffi.string(C.orr_dtype_name(handle(self).dtype)) end
function Tensor:device() return ffi.string(C.orr_device_name(handle(self).device)) end
function Tensor:numel() return tonumber(C.orr_tensor_numel(handle(self))) end
function Tensor:is_contiguous() return C.orr_tensor_is_contiguous(handle(self)) end

function Tensor:shape()
  local p, s = handle(self), {}
  for d = 0, p.ndim - 1 do s[d + 1] = tonumber(p.shape[d]) end
  return s
end

function Tensor:size(dim)
  local p = handle(self)
  if dim < 0 then dim = dim + p.ndim end
  if dim < 0 or dim >= p.ndim then error(("size: dim %d is out of range for %d dims"):format(dim, p.ndim), 2) end
  return tonumber(p.shape[dim])
end

-- Element by 0-based flat index (row-major), or by one index per dim.
function Tensor:get(...)
  local p, idx = handle(self), { ... }
  local flat = idx[1]
  if #idx > 1 then
    if #idx ~= p.ndim then error(("get: %d indices for %d dims"):format(#idx, p.ndim), 2) end
    flat = 0
    for d = 0, p.ndim - 1 do
      local i = idx[d + 1]
      if i < 0 or i >= p.shape[d] then error(("get: index %d is outside dim %d of size %d"):format(i, d, tonumber(p.shape[d])), 2) end
      flat = flat * tonumber(p.shape[d]) + i
    end
  end
  if flat < 0 or flat >= self:numel() then error(("get: flat index %d is outside %d elements"):format(flat, self:numel()), 2) end
  return C.orr_tensor_get(p, flat)
end

function Tensor:set(flat, value)
  local p = handle(self)
  if flat < 0 or flat >= self:numel() then error(("set: flat index %d is outside %d elements"):format(flat, self:numel()), 2) end
  C.orr_tensor_set(p, flat, value)
end

function Tensor:totable()
  local p, shape, flat = handle(self), self:shape(), 0
  local function build(depth)
    local out = {}
    for i = 1, shape[depth] or 1 do
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

-- Views (O(1), sharing storage).
local function view_call(fn, ...)
  local out = ffi.new("orr_tensor*[1]")
  check(fn(out, ...), 3)
  return wrap(out[0])
end

function Tensor:narrow(dim, start, length) return view_call(C.orr_tensor_narrow, handle(self), dim, start, length) end
function Tensor:select(dim, index) return view_call(C.orr_tensor_select, handle(self), dim, index) end
function Tensor:transpose(d0, d1) return view_call(C.orr_tensor_transpose, handle(self), d0, d1) end
function Tensor:unsqueeze(dim) return view_call(C.orr_tensor_unsqueeze, handle(self), dim) end
function Tensor:squeeze(dim) return view_call(C.orr_tensor_squeeze, handle(self), dim) end
function Tensor:contiguous() return view_call(C.orr_tensor_contiguous, handle(self)) end

function Tensor:permute(order)
  local p = handle(self)
  if #order ~= p.ndim then error(("permute: %d dims in the order for a %d-dim tensor"):format(#order, p.ndim), 2) end
  return view_call(C.orr_tensor_permute, p, ffi.new("int[?]", #order, order))
end

function Tensor:reshape(shape)
  local dims, n = shape_array(shape)
  return view_call(C.orr_tensor_reshape, handle(self), n, dims)
end

function Tensor:expand(shape)
  local dims, n = shape_array(shape)
  return view_call(C.orr_tensor_expand, handle(self), n, dims)
end

function Tensor:clone(dtype)
  local p = handle(self)
  return view_call(C.orr_tensor_clone, p, dtype and dtype_of(dtype) or p.dtype)
end
Tensor.to = Tensor.clone

-- Element-wise arithmetic allocates its result with the broadcast shape.
local function broadcast_shape(a, b)
  local sa, sb, out = a:shape(), b:shape(), {}
  local n = math.max(#sa, #sb)
  for i = 1, n do
    local x, y = sa[#sa - n + i] or 1, sb[#sb - n + i] or 1
    if x ~= y and x ~= 1 and y ~= 1 then
      error(("cannot broadcast %s[%s] with %s[%s]"):format(a:dtype(), table.concat(sa, ","), b:dtype(),
        table.concat(sb, ",")), 4)
    end
    out[i] = x == 1 and y or x
  end
  return out
end

local binary_ops = { add = C.ORR_ADD, sub = C.ORR_SUB, mul = C.ORR_MUL, div = C.ORR_DIV }

local function arith(op, a, b)
  if type(a) == "number" and op ~= "sub" and op ~= "div" then a, b = b, a end
  if type(b) == "number" then
    if type(a) == "number" then error("arith: neither operand is a tensor", 3) end
    local out = M.empty(a:shape(), "f32")
    local scale, shift = 1, 0
    if op == "add" then shift = b elseif op == "sub" then shift = -b
    elseif op == "mul" then scale = b else scale = 1 / b end
    check(C.orr_affine(out.ptr, handle(a), scale, shift), 3)
    return out
  end
  if type(a) == "number" then a = M.full({}, a) end
  local out = M.empty(broadcast_shape(a, b), "f32")
  check(C.orr_binary(out.ptr, handle(a), handle(b), binary_ops[op]), 3)
  return out
end

Tensor.__add = function(a, b) return arith("add", a, b) end
Tensor.__sub = function(a, b) return arith("sub", a, b) end
Tensor.__mul = function(a, b) return arith("mul", a, b) end
Tensor.__div = function(a, b) return arith("div", a, b) end
Tensor.__unm = function(a) return arith("mul", a, -1) end

local function reduce_all(t, op)
  local out = ffi.new("double[1]")
  check(C.orr_reduce_all(handle(t), op, out), 3)
  return out[0]
end

function Tensor:sum() return reduce_all(self, C.ORR_SUM) end
function Tensor:mean() return reduce_all(self, C.ORR_MEAN) end
function Tensor:max() return reduce_all(self, C.ORR_AMAX) end
function Tensor:min() return reduce_all(self, C.ORR_AMIN) end

-- A short summary, never megabytes of numbers.
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
  return s .. ("  min %.4g  max %.4g  mean %.4g"):format(self:min(), self:max(), self:mean())
end

-- safetensors: load returns {name = tensor, ...} (zero-copy views of the
-- mapped file) and the metadata table.
function M.load(path)
  local st = ffi.new("orr_safetensors*[1]")
  check(C.orr_st_open(path, st), 2)
  local f, tensors, meta = st[0], {}, {}
  for i = 0, tonumber(C.orr_st_count(f)) - 1 do
    local name = ffi.string(C.orr_st_name(f, i))
    local out = ffi.new("orr_tensor*[1]")
    local status = C.orr_st_get(f, name, out)
    if status ~= C.ORR_OK then
      C.orr_st_close(f)
      check(status, 2)
    end
    tensors[name] = wrap(out[0])
  end
  for i = 0, tonumber(C.orr_st_metadata_count(f)) - 1 do
    local key = ffi.string(C.orr_st_metadata_key(f, i))
    meta[key] = ffi.string(C.orr_st_metadata(f, key))
  end
  C.orr_st_close(f)
  return tensors, meta
end

function M.save(path, tensors, meta)
  local names = {}
  for name in pairs(tensors) do names[#names + 1] = name end
  table.sort(names)
  local n = #names
  local cnames = ffi.new("const char*[?]", math.max(n, 1))
  local cts = ffi.new("const orr_tensor*[?]", math.max(n, 1))
  for i, name in ipairs(names) do
    cnames[i - 1] = name
    cts[i - 1] = handle(tensors[name])
  end
  local keys, vals = {}, {}
  for k, v in pairs(meta or {}) do
    keys[#keys + 1] = k
    vals[#vals + 1] = tostring(v)
  end
  local m = #keys
  local ck = ffi.new("const char*[?]", math.max(m, 1), keys)
  local cv = ffi.new("const char*[?]", math.max(m, 1), vals)
  check(C.orr_st_save(path, n, cnames, cts, m, ck, cv), 2)
end

-- Runs a golden fixture directory; returns true on PASS, or false and the message.
function M.verify(dir, opts)
  opts = opts or {}
  local p = ffi.new("orr_verify_params")
  C.orr_verify_params_init(p)
  if opts.tolerance then p.tolerance = opts.tolerance end
  if opts.intermediates ~= nil then p.intermediates = opts.intermediates end
  if opts.verbose ~= nil then p.verbose = opts.verbose end
  local status = C.orr_verify_dir(dir, p, opts.quiet and nil or io.stdout)
  if status == C.ORR_OK then return true end
  return false, ffi.string(C.orr_last_error())
end

function M.threads(n)
  if n then C.orr_set_num_threads(n) end
  return C.orr_get_num_threads()
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

return M
