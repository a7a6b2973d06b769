-- check.lua — the tiny runner of the Lua tests: named cases, checks that
-- print what failed with the line, and a closing "N passed, N failed" line
-- (exit status 1 on any failure).
--
--   local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
--   T.case("views share storage", function() T.ok(cond, "what") end)
--   T.done()
local M = { passed = 0, failed = 0, name = (arg and arg[0] or "test"):match("([^/]+)%.lua$") }

local current

local function where()
  local info = debug.getinfo(4, "Sl")
  return info and ("%s:%d"):format(info.short_src, info.currentline) or "?"
end

local function fail(what)
  current.failures = current.failures + 1
  io.stderr:write(("FAIL %s: %s (%s)\n"):format(current.name, what, where()))
end

function M.ok(cond, what)
  if not cond then fail(what or "expected true") end
  return cond
end

function M.eq(got, want, what)
  if got ~= want then fail(("%s: got %s, want %s"):format(what or "values differ", tostring(got), tostring(want))) end
end

function M.near(got, want, tol, what)
  if type(got) ~= "number" or math.abs(got - want) > tol then
    fail(("%s: got %s, want %s within %g"):format(what or "not close", tostring(got), tostring(want), tol))
  end
end

-- fn must raise an error whose message contains `needle` (plain text).
function M.fails(fn, needle, what)
  local ok, err = pcall(fn)
  if ok then
    fail((what or "expected an error") .. ": no error")
  elseif not tostring(err):find(needle, 1, true) then
    fail(("%s: the error '%s' does not say '%s'"):format(what or "wrong error", tostring(err), needle))
  end
end

function M.case(name, fn)
  current = { name = name, failures = 0 }
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    current.failures = current.failures + 1
    io.stderr:write(("FAIL %s: raised %s\n"):format(name, tostring(err)))
  end
  if current.failures == 0 then M.passed = M.passed + 1 else M.failed = M.failed + 1 end
end

function M.done()
  print(("%s: %d passed, %d failed"):format(M.name, M.passed, M.failed))
  collectgarbage()
  os.exit(M.failed == 0 and 0 or 1)
end

-- A fresh temporary file name ending in `ext` (nothing is created).
function M.tmpname(ext)
  local p = os.tmpname()
  os.remove(p)
  return p .. (ext or "")
end

-- Whether tensors a and b hold the same values (every `step`-th element).
function M.same(a, b, step)
  if a:numel() ~= b:numel() then return false end
  for i = 0, a:numel() - 1, step or 1 do
    if a:get(i) ~= b:get(i) then return false end
  end
  return true
end

return M
