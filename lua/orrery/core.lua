-- core.lua — the FFI face of liborrery: the declarations of orrery.h
-- (generated at build time, so they never drift from the header), the
-- library handle, and the one rule for failures: a status other than
-- ORR_OK becomes a Lua error carrying the core's own message.
local ffi = require "ffi"
assert(ffi.abi("gc64"), "orrery needs a LuaJIT built with GC64")
ffi.cdef(require "orrery.cdef")

-- Inside the `orrery` command the library is linked in; elsewhere load it.
local C = pcall(function() return ffi.C.orr_last_error end) and ffi.C or ffi.load("orrery")

local M = { C = C }

-- `level` counts from the caller of check, as error() does, so that the
-- message points at the user's line rather than at the binding.
function M.check(status, level)
  if status ~= C.ORR_OK then
    error(ffi.string(C.orr_last_error()), (level or 1) + 1)
  end
end

-- A C string or nil.
function M.str(p)
  if p == nil then return nil end
  return ffi.string(p)
end

-- Argument checking for the Lua API: errors name the function and the
-- argument, like the core's messages.
function M.arg_error(fn, name, want, got, level)
  error(("%s: %s must be %s, got %s"):format(fn, name, want, got), (level or 2) + 1)
end

function M.describe_value(v)
  if type(v) == "string" then return ("'%s'"):format(#v > 40 and v:sub(1, 37) .. "..." or v) end
  if type(v) == "table" and getmetatable(v) and getmetatable(v).__name then return getmetatable(v).__name end
  return type(v) == "number" and tostring(v) or type(v)
end

-- A Lua class over a C object that `free_fn` frees: objects are tables
-- {ptr = ..., fields} with :free() (the garbage collector is a backstop).
-- Returns the class and handle(self), which checks the argument is one of
-- them and not freed (errors name `what`, at the caller's caller).
function M.object_class(name, what, free_fn)
  local cls = { __name = name }
  cls.__index = cls
  function cls.wrap(p, fields)
    fields = fields or {}
    fields.ptr = ffi.gc(p, free_fn)
    return setmetatable(fields, cls)
  end
  function cls:free()
    if self.ptr ~= nil then
      ffi.gc(self.ptr, nil)
      free_fn(self.ptr)
      self.ptr = nil
    end
  end
  local function handle(self)
    if getmetatable(self) ~= cls then error(("expected a %s, got %s"):format(what, M.describe_value(self)), 3) end
    if self.ptr == nil then error(what .. " was freed", 3) end
    return self.ptr
  end
  return cls, handle
end

pcall(ffi.cdef, "struct orr_lua_timespec { long tv_sec, tv_nsec; };"
  .. "int clock_gettime(int clock, struct orr_lua_timespec *ts);")
local ts = ffi.new("struct orr_lua_timespec")

-- Wall-clock seconds from an arbitrary start (CLOCK_MONOTONIC), for timings:
-- os.clock counts the CPU time of every thread.
function M.now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

return M
