-- notebook.lua — literate Lua notebooks run into one self-contained HTML
-- report: `orrery notebook run FILE.lua [-o OUT.html]`.
--
-- A notebook is a Lua file. Lines starting with `---` are Markdown prose
-- (headings, paragraphs, lists, `code`, **bold**, *italic*, [links](url));
-- the lines between them are code cells, run in order in one environment
-- with `orrery` loaded. What a cell prints is captured under it, and
--   show(x)    puts x in the report: an image tensor (u8 [H,W,C], a video
--              [T,H,W,C] as a contact sheet, or float [3,H,W]/[3,T,H,W] in
--              [-1,1]) as an inline PNG, SVG text as a picture, a schedule
--              as its plot, anything else printed readably
--   plot{...}  an SVG line plot (orrery.plot.lines) shown at once
-- The first failing cell stops the run; the report shows its error and
-- the command exits 1.
local bit = require "bit"
local pretty = require "orrery.pretty"
local plot = require "orrery.plot"

local M = {}
local escape = plot.escape

---------------------------------------------------------------------------
-- reading a notebook into cells

-- {kind = "prose"|"code", text = ..., line = first line}
function M.parse(source)
  local cells, current = {}, nil
  local n = 0
  for line in (source .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    local prose = line:match("^%-%-%-%s?(.*)$")
    local kind = prose and "prose" or "code"
    if not current or current.kind ~= kind then
      current = { kind = kind, lines = {}, line = n }
      cells[#cells + 1] = current
    end
    current.lines[#current.lines + 1] = prose or line
  end
  local out = {}
  for _, c in ipairs(cells) do
    local first = 1
    while c.lines[first] and not c.lines[first]:find("%S") do first = first + 1 end
    local text = table.concat(c.lines, "\n", first):gsub("%s+$", "")
    if text ~= "" then out[#out + 1] = { kind = c.kind, text = text, line = c.line + first - 1 } end
  end
  return out, n
end

---------------------------------------------------------------------------
-- a small Markdown

local function inline(s)
  s = escape(s)
  s = s:gsub("`([^`]+)`", "<code>%1</code>")
  s = s:gsub("%*%*(.-)%*%*", "<strong>%1</strong>")
  s = s:gsub("%*([^%*%s][^%*]-)%*", "<em>%1</em>")
  s = s:gsub("%[([^%]]+)%]%(([^%)%s]+)%)", '<a href="%2">%1</a>')
  return s
end

function M.markdown(text)
  local out, para, list = {}, {}, nil
  local function flush()
    if #para > 0 then out[#out + 1] = "<p>" .. inline(table.concat(para, " ")) .. "</p>" end
    para = {}
    if list then
      out[#out + 1] = "<ul>" .. table.concat(list) .. "</ul>"
      list = nil
    end
  end
  for line in (text .. "\n"):gmatch("(.-)\n") do
    local hashes, heading = line:match("^(#+)%s+(.*)$")
    local item = line:match("^%s*[-*]%s+(.*)$")
    if hashes then
      flush()
      local level = math.min(#hashes, 4)
      out[#out + 1] = ("<h%d>%s</h%d>"):format(level, inline(heading), level)
    elseif item then
      if #para > 0 then
        local keep = list
        list = nil
        flush()
        list = keep
      end
      list = list or {}
      list[#list + 1] = "<li>" .. inline(item) .. "</li>"
    elseif line:match("^%s*$") then
      flush()
    elseif list and line:match("^%s+") then
      list[#list] = list[#list]:gsub("</li>$", " " .. inline(line:match("^%s*(.*)$")) .. "</li>")
    else
      if list then flush() end
      para[#para + 1] = line
    end
  end
  flush()
  return table.concat(out, "\n")
end

---------------------------------------------------------------------------
-- pictures

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.base64(data)
  local out, n = {}, #data
  for i = 1, n, 3 do
    local a, b, c = data:byte(i, i + 2)
    local v = bit.bor(bit.lshift(a, 16), bit.lshift(b or 0, 8), c or 0)
    local function ch(shift) local k = bit.band(bit.rshift(v, shift), 63) + 1 return b64chars:sub(k, k) end
    out[#out + 1] = ch(18) .. ch(12) .. (b and ch(6) or "=") .. (c and ch(0) or "=")
  end
  return table.concat(out)
end

local function png_data_uri(image)
  local media = require "orrery.media"
  local path = os.tmpname()
  local ok, err = pcall(media.write_png, path .. ".png", image)
  os.remove(path)
  if not ok then error(err, 0) end
  local f = assert(io.open(path .. ".png", "rb"))
  local bytes = f:read("*a")
  f:close()
  os.remove(path .. ".png")
  return "data:image/png;base64," .. M.base64(bytes)
end

-- An image tensor as <img>: frames become a contact sheet.
local function image_html(t)
  local media = require "orrery.media"
  local shape = t:shape()
  local img, made = t, false
  if t:dtype() ~= "u8" and t:dtype() ~= "i32" then
    if #shape == 4 or #shape == 5 then
      img, made = media.contact_sheet(t), true
    elseif #shape ~= 3 then
      error(("show: a float picture is [3,H,W] or [3,T,H,W], got [%s]"):format(table.concat(shape, ",")), 0)
    end
  elseif #shape == 4 then
    img, made = media.contact_sheet(t), true
  end
  local uri = png_data_uri(img)
  local s = img:shape()
  if made then img:free() end
  local w = s[2] or s[3]
  local scale = w < 256 and math.floor(256 / w) or 1
  return ('<img src="%s" width="%d" style="image-rendering: pixelated" alt="%s">'):format(uri, w * scale,
    escape(tostring(t)))
end

---------------------------------------------------------------------------
-- running

local function render_value(x)
  local tensor = require "orrery.tensor"
  local schedule = require "orrery.schedule"
  if type(x) == "string" and x:match("^%s*<svg") then return '<div class="figure">' .. x .. "</div>" end
  if tensor.is_tensor(x) and not x:is_freed() then
    local s = x:shape()
    local last = s[#s]
    local picture = (x:dtype() == "u8" and (#s == 3 or #s == 4) and (last == 1 or last == 3 or last == 4))
      or (x:dtype() ~= "u8" and (#s == 3 or #s == 4) and s[1] == 3)
    if picture then return '<div class="figure">' .. image_html(x) .. "</div>" end
  end
  if getmetatable(x) == schedule.Schedule then
    return '<div class="figure">' .. x:plot(x.kind == "array" and #x.spec or 36) .. "</div>"
  end
  return "<pre class=\"out\">" .. escape(pretty.format(x)) .. "</pre>"
end

-- Runs the cells; returns the cells with their outputs and whether all ran.
function M.run(source, name)
  local cells, line_count = M.parse(source)
  local env = setmetatable({}, { __index = _G })
  env.orrery = require "orrery"
  env._G = env
  local sink -- the output list of the running cell
  local text = {}
  local function emit_text(s) text[#text + 1] = s end
  local function flush_text()
    if #text > 0 then
      sink[#sink + 1] = "<pre class=\"out\">" .. escape(table.concat(text)) .. "</pre>"
      text = {}
    end
  end
  env.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    emit_text(table.concat(parts, "\t") .. "\n")
  end
  env.io = setmetatable({ write = function(...)
    for i = 1, select("#", ...) do emit_text(tostring((select(i, ...)))) end
  end }, { __index = io })
  env.show = function(...)
    for i = 1, select("#", ...) do
      flush_text()
      sink[#sink + 1] = render_value((select(i, ...)))
    end
  end
  env.plot = function(opts) env.show(plot.lines(opts)) end

  -- The code cells run as one chunk, so that their locals carry on from
  -- cell to cell; each cell first tells which one it is, and prose lines
  -- become blank ones, so error lines are those of the file.
  local lines, code_cells = {}, {}
  for i = 1, line_count do lines[i] = "" end
  for _, cell in ipairs(cells) do
    if cell.kind == "code" then
      cell.outputs = {}
      code_cells[#code_cells + 1] = cell
      local at = cell.line
      for line in (cell.text .. "\n"):gmatch("(.-)\n") do
        lines[at] = at == cell.line and ("__orrery_cell(%d); %s"):format(#code_cells, line) or line
        at = at + 1
      end
    end
  end
  local running
  env.__orrery_cell = function(k)
    if sink then flush_text() end
    running = code_cells[k]
    sink = running.outputs
  end
  local chunk, err = loadstring(table.concat(lines, "\n"), "@" .. name)
  local ok = chunk ~= nil
  if chunk then
    setfenv(chunk, env)
    ok, err = xpcall(chunk, debug.traceback)
  end
  if sink then flush_text() end
  if not ok then
    -- the notebook runner's own frames say nothing to the reader
    running = running or code_cells[1] or cells[#cells]
    running.error = tostring(err):gsub("\n%s*%[C%]: in function 'xpcall'.*$", "")
  end
  return cells, ok
end

local style = [[
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 52em; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.5; }
pre { padding: 0.6em 0.8em; overflow-x: auto; font-size: 0.88em; border-radius: 4px; }
pre.code { background: #f4f4f8; border-left: 3px solid #88a; }
pre.out { background: #fff; border-left: 3px solid #ccc; color: #333; }
pre.error { background: #fff0f0; border-left: 3px solid #d33; color: #900; }
code { background: #f0f0f4; padding: 0 0.2em; }
.figure { margin: 0.6em 0; }
footer { color: #888; font-size: 0.8em; margin-top: 3em; }
]]

function M.html(cells, title, ok)
  local out = { "<!DOCTYPE html>", '<html><head><meta charset="utf-8">', "<title>" .. escape(title) .. "</title>",
    "<style>" .. style .. "</style></head><body>" }
  for _, cell in ipairs(cells) do
    if cell.kind == "prose" then
      out[#out + 1] = M.markdown(cell.text)
    else
      out[#out + 1] = '<pre class="code">' .. escape(cell.text) .. "</pre>"
      for _, o in ipairs(cell.outputs or {}) do out[#out + 1] = o end
      if cell.error then out[#out + 1] = '<pre class="error">' .. escape(cell.error) .. "</pre>" end
    end
  end
  out[#out + 1] = ("<footer>%s: %s by orrery notebook</footer>"):format(escape(title), ok and "ran" or "FAILED")
  out[#out + 1] = "</body></html>"
  return table.concat(out, "\n")
end

-- Runs a notebook file and writes its report; returns true, or false, the
-- error and whether a report was written.
function M.render(path, out_path)
  local f, err = io.open(path, "rb")
  if not f then return false, "orrery notebook: " .. err, false end
  local source = f:read("*a")
  f:close()
  local cells, ok = M.run(source, path)
  local title = path:match("([^/]+)%.lua$") or path
  local html = M.html(cells, title, ok)
  local tmp = out_path .. ".tmp"
  local o, werr = io.open(tmp, "wb")
  if not o then return false, "orrery notebook: " .. werr, false end
  o:write(html)
  o:close()
  local renamed, rerr = os.rename(tmp, out_path)
  if not renamed then return false, "orrery notebook: " .. rerr, false end
  if not ok then
    for _, c in ipairs(cells) do
      if c.error then return false, c.error, true end
    end
  end
  return true
end

local usage = [[
usage: orrery notebook run FILE.lua [-o OUT.html]

Runs a literate Lua notebook (lines starting with --- are Markdown prose,
the rest is code run in order with `orrery` loaded) and writes a
self-contained HTML report: the prose, the code, what each cell printed and
the pictures it showed (show(x), plot{...}). OUT defaults to FILE with .html.
Exits 1 when a cell fails (the report shows the error).
]]

-- `orrery notebook ...` (lua/cli.c hands over its arguments).
function M.main(args)
  local sub, file, out = args[1], nil, nil
  if sub == "--help" or sub == "-h" or sub == "help" or sub == nil then
    io.write(usage)
    if sub == nil then os.exit(2) end
    return
  end
  if sub ~= "run" then
    io.stderr:write(("orrery notebook: unknown action '%s'\n%s"):format(sub, usage))
    os.exit(2)
  end
  local i = 2
  while args[i] do
    if args[i] == "-o" and args[i + 1] then
      out = args[i + 1]
      i = i + 2
    elseif args[i]:sub(1, 1) == "-" or file then
      io.stderr:write(("orrery notebook: unexpected '%s'\n%s"):format(args[i], usage))
      os.exit(2)
    else
      file = args[i]
      i = i + 1
    end
  end
  if not file then
    io.stderr:write(usage)
    os.exit(2)
  end
  out = out or file:gsub("%.lua$", "") .. ".html"
  local ok, err, wrote = M.render(file, out)
  if not ok then
    io.stderr:write(err, "\n")
    if wrote then io.stderr:write(("orrery notebook: %s failed; the report is in %s\n"):format(file, out)) end
    os.exit(1)
  end
  io.write(("wrote %s\n"):format(out))
end

return M
