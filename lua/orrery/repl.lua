-- repl.lua — the interactive prompt of `orrery` with no arguments.
--
-- Each input is tried as an expression first, so `t:shape()` prints its
-- value; what does not end a statement continues on a `>>` line. Results
-- print readably (tensors as a summary) and the first lands in `_`. Every
-- error is printed and the session goes on; Ctrl-C stops the running code
-- (and a running sampler) and comes back to the prompt. Line editing,
-- history in ~/.orrery_history (or $ORRERY_HISTORY) and tab completion
-- come from libedit when stdin is a terminal.
local ffi = require "ffi"
local pretty = require "orrery.pretty"
local complete = require "orrery.complete"
local lineedit = require "orrery.lineedit"

local M = {}

-- The `orrery` command's Ctrl-C handling (lua/cli.c); absent when this
-- module runs in another host.
pcall(ffi.cdef, "int orr_cli_catch_interrupts(int mode); int orr_cli_interrupted(void);")
local has_interrupts = pcall(function() return ffi.C.orr_cli_catch_interrupts end)

local tour = [[
orrery: tensors, models, samplers and schedules from Lua. Dims, steps and
frames are 0-based. Try (Tab completes names; results print as summaries):

  t = orrery.randn({2, 3}, 42)          -- Philox noise, seed 42
  t:shape(), t:mean(), (t * 2 + 1):max()
  s = orrery.schedule("0:(7), 20:(3)")  -- a keyframe schedule; s:at(10)
  m = orrery.default_model{frames = 9, height = 32, width = 32, small = true}
  r = orrery.text2world{model = m, steps = 4, guidance = s, out = "a.mp4"}
  orrery.rerun("a.mp4")                 -- the same video from its metadata

help(x) describes a value; orrery.memory() shows what the core holds;
t:free() releases a tensor now, orrery.scope(fn) everything fn made.
]]

-- help() prints the tour; help(x) describes x and lists its methods.
function M.help(x)
  if x == nil then
    io.write(tour)
    return
  end
  io.write(pretty.format(x), "\n")
  local names = {}
  for _, c in ipairs(complete.candidates("x:", { x = x })) do names[#names + 1] = c:sub(3):gsub("%($", "") end
  if #names == 0 and type(x) == "table" then
    for _, c in ipairs(complete.candidates("x.", { x = x })) do names[#names + 1] = c:sub(3):gsub("%($", "") end
  end
  if #names > 0 then io.write("  ", table.concat(names, "  "), "\n") end
end

local function is_incomplete(err)
  return err:find("<eof>", 1, true) ~= nil
end

-- Compiles one input: as an expression when it is one, else as statements.
-- Returns the chunk, or nil and the error (incomplete = true when more
-- lines could finish it).
function M.compile(code)
  -- select() keeps the call in `code` from being a tail call, so that
  -- error positions name the input line rather than the REPL
  local chunk = loadstring("return select(1, " .. code .. "\n)", "=stdin")
  if chunk then return chunk end
  local err
  chunk, err = loadstring(code, "=stdin")
  if chunk then return chunk end
  return nil, err, is_incomplete(err)
end

local function pack(...) return { n = select("#", ...), ... } end

-- The message only: a position inside orrery's own modules says nothing to
-- the reader (the message names the function already).
local function message(err)
  if type(err) ~= "string" then return pretty.format(err) end
  return (err:gsub("^[^\n]-/orrery/[%w_]+%.lua:%d+: ", ""))
end

-- Runs compiled code and returns true and the text to print, or false and
-- the error message.
local function catch_interrupts(mode)
  if has_interrupts then ffi.C.orr_cli_catch_interrupts(mode) end
end

local function interrupted()
  return has_interrupts and ffi.C.orr_cli_interrupted() ~= 0
end

function M.eval(chunk)
  catch_interrupts(1)
  local r = pack(xpcall(chunk, message))
  catch_interrupts(2)
  if not r[1] then return false, tostring(r[2]) end
  if r.n > 1 then rawset(_G, "_", r[2]) end
  if r.n == 1 then return true, nil end
  return true, pretty.format_all(unpack(r, 2, r.n))
end

local function history_file()
  local path = os.getenv("ORRERY_HISTORY")
  if path then return path ~= "" and path or nil end
  local home = os.getenv("HOME")
  return home and home .. "/.orrery_history" or nil
end

function M.run()
  -- compiled loops never see the Ctrl-C hook; what the prompt runs is small
  -- (the work happens in C), so interpreting it costs little. jit.on()
  -- brings the compiler back.
  jit.off()
  rawset(_G, "orrery", require "orrery")
  rawset(_G, "help", M.help)
  local editor = lineedit.new {
    history = history_file(),
    complete = function(word) return complete.candidates(word, _G) end,
  }
  if editor.interactive then
    io.write("orrery — Lua with `orrery` loaded. help() for a tour, Tab to complete, Ctrl-D to leave.\n")
  end
  local buffer
  catch_interrupts(2)
  while true do
    local line = editor.read(buffer and ">> " or "> ")
    if not line and interrupted() then
      -- Ctrl-C at the prompt drops what was typed
      catch_interrupts(2)
      buffer = nil
      io.write("\n")
    elseif not line then
      if editor.interactive then io.write("\n") end
      break
    end
    if not line then goto continue end
    editor.remember(line)
    local code = buffer and buffer .. "\n" .. line or line
    local chunk, err, incomplete = M.compile(code)
    if chunk then
      buffer = nil
      local ok, text = M.eval(chunk)
      if not ok then
        io.write("error: ", text, "\n")
      elseif text then
        io.write(text, "\n")
      end
    elseif incomplete then
      buffer = code
    else
      buffer = nil
      io.write("error: ", err, "\n")
    end
    io.flush()
    ::continue::
  end
  catch_interrupts(0)
  editor.close()
end

return M
