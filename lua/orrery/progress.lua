-- progress.lua — the sampler's progress on the terminal: a bar redrawn in
-- place with the step, sigma, seconds per step, ETA and the core's memory.
-- When stderr is not a terminal (a log, a test) it writes one line at the
-- end instead of redrawing.
local ffi = require "ffi"
local tensor = require "orrery.tensor"

pcall(ffi.cdef, "int isatty(int fd);")

local M = {}

local function clock(seconds)
  seconds = math.max(0, math.floor(seconds + 0.5))
  if seconds >= 3600 then return ("%d:%02d:%02d"):format(seconds / 3600, seconds / 60 % 60, seconds % 60) end
  return ("%d:%02d"):format(seconds / 60, seconds % 60)
end
M.clock = clock

local function bytes(n)
  if n >= 2 ^ 30 then return ("%.1f GB"):format(n / 2 ^ 30) end
  return ("%.0f MB"):format(n / 2 ^ 20)
end

-- One line for a progress record {step, steps, sigma, sigma_next,
-- seconds_per_step, eta_seconds} (step is the 0-based step just done).
function M.line(p, width)
  width = width or 24
  local done = p.step + 1
  local filled = math.floor(width * done / p.steps + 0.5)
  return ("[%s%s] %d/%d  sigma %.4g  %.2f s/step  ETA %s  %s"):format(("#"):rep(filled), ("-"):rep(width - filled),
    done, p.steps, p.sigma, p.seconds_per_step, clock(p.eta_seconds), bytes(tensor.memory().in_use))
end

-- A function(progress) that draws on `out` (default io.stderr), and a
-- function that ends a line left unfinished by a run that failed.
function M.bar(opts)
  opts = opts or {}
  local out = opts.out or io.stderr
  local live = opts.live
  if live == nil then live = out == io.stderr and ffi.C.isatty(2) ~= 0 end
  local label = opts.label and opts.label .. " " or ""
  local open = false
  local function update(p)
    local last = p.step + 1 == p.steps
    if live then
      out:write("\r", label, M.line(p), "\027[K", last and "\n" or "")
      out:flush()
      open = not last
    elseif last then
      out:write(("%s%d steps in %.1f s (%.2f s/step)\n"):format(label, p.steps, p.seconds_per_step * p.steps,
        p.seconds_per_step))
    end
  end
  local function close()
    if open then out:write("\n") end
    open = false
  end
  return update, close
end

return M
