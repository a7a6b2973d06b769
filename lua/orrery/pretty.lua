-- pretty.lua — values as a reader wants to see them at a prompt or in a
-- notebook: tensors and models by their own summary, tables as short Lua
-- constructors (nested two levels, at most 24 items each), strings quoted,
-- functions with where they were defined.
local M = {}

local MAX_ITEMS, MAX_DEPTH = 24, 2

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

local function sorted_keys(t)
  local keys, n = {}, #t
  for k in pairs(t) do
    if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  return keys, n
end

local format

local function format_table(t, depth, seen)
  if seen[t] then return "{...}" end
  if depth > MAX_DEPTH then return "{...}" end
  seen[t] = true
  local parts, keys, n = {}, sorted_keys(t)
  for i = 1, math.min(n, MAX_ITEMS) do parts[#parts + 1] = format(t[i], depth + 1, seen) end
  for _, k in ipairs(keys) do
    if #parts >= MAX_ITEMS then break end
    local key = is_identifier(k) and k or "[" .. format(k, depth + 1, seen) .. "]"
    parts[#parts + 1] = key .. " = " .. format(t[k], depth + 1, seen)
  end
  local total = n + #keys
  if total > #parts then parts[#parts + 1] = ("... (%d more)"):format(total - #parts) end
  seen[t] = nil
  return "{" .. table.concat(parts, ", ") .. "}"
end

function format(v, depth, seen)
  local kind = type(v)
  if kind == "string" then
    local most = depth and depth > 1 and 60 or 200 -- inside a table a string is one item of many
    if #v > most then v = v:sub(1, most - 3) .. "..." end
    return ("%q"):format(v):gsub("\\\n", "\\n")
  elseif kind == "number" then
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
    return ("%.14g"):format(v)
  elseif kind == "function" then
    local info = debug.getinfo(v, "S")
    if info.what == "C" then return "function (builtin)" end
    return ("function (%s:%d)"):format(info.short_src, info.linedefined)
  elseif kind == "table" then
    local mt = getmetatable(v)
    if mt and mt.__tostring then return tostring(v) end
    return format_table(v, depth or 1, seen or {})
  end
  return tostring(v)
end

-- One value as text.
function M.format(v) return format(v, 1, {}) end

-- Several values (a chunk's results), tab-separated as print does.
function M.format_all(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = M.format((select(i, ...))) end
  return table.concat(parts, "\t")
end

return M
