-- plot.lua — small self-contained SVG line plots (schedules, sigma curves,
-- losses) for notebooks and reports; no fonts or scripts outside the file.
--
--   plot.lines{series = {{x = xs, y = ys, label = "guidance"}}, title = ..., log_y = true}
--
-- returns the SVG text. Missing x means 0, 1, 2, ...
local M = {}

local colors = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b" }

local function escape(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end
M.escape = escape

-- About `count` round tick values covering [lo, hi].
local function ticks(lo, hi, count)
  if hi <= lo then return { lo } end
  local raw = (hi - lo) / count
  local mag = 10 ^ math.floor(math.log10(raw))
  local step = mag
  for _, f in ipairs { 1, 2, 5, 10 } do
    if f * mag >= raw then
      step = f * mag
      break
    end
  end
  local out = {}
  for v = math.ceil(lo / step) * step, hi + step * 1e-9, step do out[#out + 1] = v end
  return out
end

local function label(v)
  if v ~= 0 and (math.abs(v) >= 1e5 or math.abs(v) < 1e-3) then return ("%.0e"):format(v) end
  return ("%.4g"):format(v)
end

function M.lines(opts)
  local W, H = opts.width or 480, opts.height or 260
  local left, right, top, bottom = 56, 16, opts.title and 28 or 12, 40
  local series = opts.series or {}
  if #series == 0 then error("plot.lines: no series to plot", 2) end
  local log_y = opts.log_y
  local xmin, xmax, ymin, ymax = math.huge, -math.huge, math.huge, -math.huge
  for si, s in ipairs(series) do
    if type(s.y) ~= "table" or #s.y == 0 then error(("plot.lines: series %d has no y values"):format(si), 2) end
    for i, y in ipairs(s.y) do
      local x = s.x and s.x[i] or i - 1
      if log_y then
        if y <= 0 then error(("plot.lines: log_y needs positive values, series %d has %g"):format(si, y), 2) end
        y = math.log10(y)
      end
      xmin, xmax = math.min(xmin, x), math.max(xmax, x)
      ymin, ymax = math.min(ymin, y), math.max(ymax, y)
    end
  end
  if opts.ymin then ymin = log_y and math.log10(opts.ymin) or opts.ymin end
  if opts.ymax then ymax = log_y and math.log10(opts.ymax) or opts.ymax end
  if ymax - ymin < 1e-12 then ymin, ymax = ymin - 1, ymax + 1 end
  if xmax - xmin < 1e-12 then xmin, xmax = xmin - 1, xmax + 1 end
  local pw, ph = W - left - right, H - top - bottom
  local function px(x) return left + (x - xmin) / (xmax - xmin) * pw end
  local function py(y) return top + (1 - (y - ymin) / (ymax - ymin)) * ph end

  local out = {}
  local function add(fmt, ...) out[#out + 1] = fmt:format(...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
    .. 'font-family="sans-serif" font-size="11">', W, H, W, H)
  add('<rect width="%d" height="%d" fill="white"/>', W, H)
  if opts.title then add('<text x="%d" y="18" text-anchor="middle" font-size="13">%s</text>', W / 2, escape(opts.title)) end
  for _, v in ipairs(ticks(ymin, ymax, 5)) do
    local y = py(v)
    add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>', left, y, left + pw, y)
    add('<text x="%.1f" y="%.1f" text-anchor="end">%s</text>', left - 4, y + 4, label(log_y and 10 ^ v or v))
  end
  for _, v in ipairs(ticks(xmin, xmax, 8)) do
    local x = px(v)
    add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>', x, top, x, top + ph)
    add('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>', x, top + ph + 14, label(v))
  end
  add('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>', left, top, pw, ph)
  if opts.xlabel then add('<text x="%.1f" y="%d" text-anchor="middle">%s</text>', left + pw / 2, H - 6, escape(opts.xlabel)) end
  if opts.ylabel then
    add('<text x="12" y="%.1f" text-anchor="middle" transform="rotate(-90 12 %.1f)">%s</text>', top + ph / 2,
      top + ph / 2, escape(opts.ylabel))
  end
  for si, s in ipairs(series) do
    local pts = {}
    for i, y in ipairs(s.y) do
      local x = s.x and s.x[i] or i - 1
      pts[#pts + 1] = ("%.1f,%.1f"):format(px(x), py(log_y and math.log10(y) or y))
    end
    local color = s.color or colors[(si - 1) % #colors + 1]
    add('<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>', color, table.concat(pts, " "))
    if #s.y <= 60 then
      for _, p in ipairs(pts) do
        local x, y = p:match("([^,]+),(.+)")
        add('<circle cx="%s" cy="%s" r="2" fill="%s"/>', x, y, color)
      end
    end
    if s.label then
      add('<text x="%d" y="%d" fill="%s">%s</text>', left + pw - 8, top + 14 * si, color, escape(s.label))
      out[#out] = out[#out]:gsub('<text x="(%d+)"', '<text text-anchor="end" x="%1"')
    end
  end
  add("</svg>")
  return table.concat(out, "\n")
end

return M
