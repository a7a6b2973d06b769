-- complete.lua — tab completion of Lua names for the REPL: globals and
-- keywords, fields after `a.b.`, methods after `t:` (through the __index
-- chain, so tensors and models offer their methods), and the modules of
-- `orrery` before they are loaded. Only names are walked; nothing is called.
local M = {}

local keywords = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local", "nil",
  "not", "or", "repeat", "return", "then", "true", "until", "while",
}

local function index(v, key)
  if type(v) ~= "table" then
    local mt = getmetatable(v)
    local idx = mt and mt.__index
    return type(idx) == "table" and idx[key] or nil
  end
  local ok, x = pcall(function() return v[key] end)
  return ok and x or nil
end

-- Every key reachable from v with `.` (fields) or `:` (methods only).
local function keys_of(v, methods_only, out)
  local seen = {}
  local function add(k, x)
    if type(k) == "string" and k:match("^[%a_][%w_]*$") and not k:match("^__") and not seen[k] then
      if not methods_only or type(x) == "function" then
        seen[k] = true
        out[#out + 1] = { name = k, value = x }
      end
    end
  end
  local depth = 0
  while v ~= nil and depth < 8 do
    if type(v) == "table" then
      for k, x in pairs(v) do add(k, x) end
      if type(rawget(v, "names")) == "function" and v == package.loaded.orrery then
        for _, k in ipairs(v.names()) do add(k, index(v, k)) end
      end
    end
    local mt = getmetatable(v)
    local idx = mt and mt.__index
    v = type(idx) == "table" and idx or nil
    depth = depth + 1
  end
  return out
end

-- Candidates for `word` (the text before the cursor back to a word break).
function M.candidates(word, env)
  env = env or _G
  local path, sep, partial = word:match("^(.*)([%.:])([%w_]*)$")
  local found = {}
  if not path then
    partial = word
    for _, k in ipairs(keywords) do found[#found + 1] = { name = k, keyword = true } end
    keys_of(env, false, found)
    if env ~= _G then keys_of(_G, false, found) end
  else
    if path == "" or path:find("[^%w_%.]") then return {} end
    local v = env
    for part in path:gmatch("[^%.]+") do
      v = index(v, part)
      if v == nil then return {} end
    end
    keys_of(v, sep == ":", found)
  end
  local out, seen = {}, {}
  for _, f in ipairs(found) do
    if f.name:sub(1, #partial) == partial and not seen[f.name] then
      seen[f.name] = true
      local text = (path and path .. sep or "") .. f.name
      if type(f.value) == "function" then text = text .. "(" end
      out[#out + 1] = text
    end
  end
  table.sort(out)
  return out
end

return M
