-- Notebooks: every notebooks/*.lua renders to a self-contained HTML report
-- through `orrery notebook run` (prose, code, output, inline pictures), a
-- failing cell fails the command and shows in the report, and the parts
-- (cells, Markdown, base64) behave.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local ffi = require "ffi"
local notebook = require "orrery.notebook"

pcall(ffi.cdef, "long readlink(const char *path, char *buf, size_t size);")
local buf = ffi.new("char[4096]")
local exe = ffi.string(buf, ffi.C.readlink("/proc/self/exe", buf, 4096))
local root = arg[0]:match("^(.-)tests/lua/[^/]*$")
if root == "" then root = "./" end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local tmp = T.tmpname
-- The exit status of `orrery notebook ARGS` (os.execute gives the wait status).
local function run_cli(args)
  local status = os.execute(("%q notebook %s >/dev/null 2>&1"):format(exe, args))
  return math.floor(status / 256)
end

T.case("cells and Markdown", function()
  local cells = notebook.parse("--- # Title\n---\n--- text\nlocal x = 1\n\nprint(x)\n--- more\n")
  T.eq(#cells, 3, "prose, code, prose")
  T.eq(cells[2].kind, "code", "code in between")
  T.eq(cells[2].line, 4, "the line a cell starts at")
  T.eq(notebook.markdown("# A *b*"), "<h1>A <em>b</em></h1>", "heading")
  T.ok(notebook.markdown("- one\n- two `x`"):find("<ul><li>one</li><li>two <code>x</code></li></ul>", 1, true),
    "list")
  T.eq(notebook.markdown("a < b"), "<p>a &lt; b</p>", "escaped")
  T.eq(notebook.base64("Man"), "TWFu", "base64")
  T.eq(notebook.base64("Ma"), "TWE=", "base64 padding")
end)

T.case("locals carry across cells and output is captured per cell", function()
  local cells, ok = notebook.run("local x = 20\n--- between\nprint(x + 1)\nio.write('w')\nshow({1, 2})\n", "inline")
  T.ok(ok, "ran")
  T.eq(cells[3].outputs[1], '<pre class="out">21\nw</pre>', "printed text")
  T.eq(cells[3].outputs[2], '<pre class="out">{1, 2}</pre>', "a shown value")
end)

T.case("a failing cell", function()
  local path, out = tmp(".lua"), tmp(".html")
  local f = io.open(path, "w")
  f:write("--- # Broken\nprint('before')\n--- next\nerror('this cell breaks')\n")
  f:close()
  T.eq(run_cli(("run %q -o %q"):format(path, out)), 1, "exit status 1")
  local html = read(out) or ""
  T.ok(html:find("this cell breaks", 1, true), "the error is in the report")
  T.ok(html:find(path:match("[^/]+$") .. ":4:", 1, true), "with the file's line number")
  T.ok(html:find("before", 1, true), "earlier output too")
  os.remove(path)
  os.remove(out)
  T.eq(run_cli("run /nonexistent.lua"), 1, "a missing file")
  T.eq(run_cli("bake x.lua"), 2, "an unknown action")
  T.eq(run_cli("--help"), 0, "help")
end)

T.case("every shipped notebook renders", function()
  local names = {}
  local p = io.popen(("ls %snotebooks/*.lua"):format(root))
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  T.ok(#names >= 4, "at least the four notebooks: " .. #names)
  for _, path in ipairs(names) do
    local out = tmp(".html")
    T.eq(run_cli(("run %q -o %q"):format(path, out)), 0, path .. " runs")
    local html = read(out) or ""
    T.ok(html:find("<h1>", 1, true) and html:find('<pre class="code">', 1, true), path .. ": prose and code")
    T.ok(html:find("data:image/png;base64,", 1, true) or html:find("<svg", 1, true), path .. ": a picture")
    T.ok(not html:find('class="error"', 1, true), path .. ": no error")
    T.ok(not html:find('src="http', 1, true) and not html:find('<script', 1, true), path .. ": self-contained")
    os.remove(out)
  end
end)

T.done()
