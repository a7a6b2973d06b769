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
