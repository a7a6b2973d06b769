-- repl.lua — the interactive prompt of `orrery` with no arguments: each line
-- is tried as an expression first, so `t:shape()` prints its value.
local M = {}

local function show(ok, ...)
  if not ok then
    print("error: " .. tostring((...)))
    return
  end
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "table" and getmetatable(v) == nil then
      local parts = {}
      for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. " = " .. tostring(x) end
      print("{" .. table.concat(parts, ", ") .. "}")
    else
      print(tostring(v))
    end
  end
end

function M.run()
  orrery = require "orrery"
  io.write("orrery — Lua with `orrery` loaded; Ctrl-D to leave\n")
  while true do
    io.write("> ")
    io.flush()
    local line = io.read("*l")
    if not line then io.write("\n") return end
    local chunk = loadstring("return " .. line, "=stdin")
    if not chunk then
      local err
      chunk, err = loadstring(line, "=stdin")
      if not chunk then print("error: " .. err) end
    end
    if chunk then show(pcall(chunk)) end
  end
end

return M
