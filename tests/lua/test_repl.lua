-- The REPL as a new user meets it, driven through a pseudo-terminal: it
-- starts, completes names and methods with Tab, prints results readably,
-- survives errors and Ctrl-C, continues unfinished statements, and recalls
-- the history of an earlier session with the Up key.
local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "check.lua")
local ffi = require "ffi"

local function cdef(s) pcall(ffi.cdef, s) end
cdef "struct orr_test_pollfd { int fd; short events; short revents; };"
cdef "int poll(struct orr_test_pollfd *fds, unsigned long nfds, int timeout);"
cdef "int forkpty(int *amaster, char *name, void *termp, void *winp);"
cdef "int execve(const char *path, char *const argv[], char *const envp[]);"
cdef "long read(int fd, void *buf, size_t count);"
cdef "long write(int fd, const void *buf, size_t count);"
cdef "long readlink(const char *path, char *buf, size_t size);"
cdef "int waitpid(int pid, int *status, int options);"
cdef "int kill(int pid, int sig);"
cdef "int close(int fd);"
cdef "void _exit(int status);"

local now = require("orrery.core").now
local libc = ffi.C
if not pcall(function() return libc.forkpty end) then libc = ffi.load("util") end

local function self_exe()
  local buf = ffi.new("char[4096]")
  local n = ffi.C.readlink("/proc/self/exe", buf, 4096)
  assert(n > 0, "cannot read /proc/self/exe")
  return ffi.string(buf, n)
end

local exe = self_exe()
local home = os.tmpname()
os.remove(home)
os.execute("mkdir -p " .. home)

-- A session of the REPL on a pty.
local Session = {}
Session.__index = Session

local function spawn()
  local path = ffi.new("char[?]", #exe + 1, exe)
  local argv = ffi.new("char*[2]") -- NULL-terminated (one initializer would fill both)
  argv[0] = path
  local env_strings = { "HOME=" .. home, "TERM=xterm", "PATH=/usr/bin:/bin", "ORRERY_HISTORY=" .. home .. "/history" }
  -- a sanitizer build passes its options on to the REPL it starts
  if os.getenv("ASAN_OPTIONS") then env_strings[#env_strings + 1] = "ASAN_OPTIONS=" .. os.getenv("ASAN_OPTIONS") end
  local envp = ffi.new("char*[?]", #env_strings + 1)
  local anchors = {}
  for i, s in ipairs(env_strings) do
    anchors[i] = ffi.new("char[?]", #s + 1, s)
    envp[i - 1] = anchors[i]
  end
  local master = ffi.new("int[1]")
  local pid = libc.forkpty(master, nil, nil, nil)
  assert(pid >= 0, "forkpty failed")
  if pid == 0 then
    ffi.C.execve(path, argv, envp)
    ffi.C._exit(127)
  end
  return setmetatable({ fd = master[0], pid = pid, all = "", cursor = 1 }, Session)
end

-- The output with terminal escapes and carriage returns taken out.
local function clean(s)
  return (s:gsub("\27%[[%d;?]*[%a@]", ""):gsub("\27[%(%)][%w]", ""):gsub("\27[=>]", "")
    :gsub("[%z\1-\9\11-\31]", ""))
end

function Session:pump(ms)
  local pfd = ffi.new("struct orr_test_pollfd[1]")
  pfd[0].fd, pfd[0].events = self.fd, 1
  local buf = ffi.new("char[4096]")
  if ffi.C.poll(pfd, 1, ms) > 0 then
    local n = ffi.C.read(self.fd, buf, 4096)
    if n > 0 then
      local s = ffi.string(buf, n)
      self.all = self.all .. s
      return true
    end
    self.closed = true
  end
  return false
end

-- Waits (up to 10 s) until the output after what earlier expects matched
-- shows `text`.
function Session:expect(text, what)
  local deadline = now() + 10
  while true do
    local c = clean(self.all)
    local _, stop = c:find(text, self.cursor, true)
    if stop then
      self.cursor = stop + 1
      return true
    end
    if self.closed or now() > deadline then
      T.ok(false, ("%s: no '%s' in the output:\n%s"):format(what or "expect", text, c:sub(self.cursor)))
      self.cursor = #c + 1
      return false
    end
    self:pump(100)
  end
end

-- Reads whatever comes for `seconds`.
function Session:wait(seconds)
  local stop = now() + seconds
  while now() < stop do
    if self.closed then ffi.C.poll(nil, 0, 50) else self:pump(50) end
  end
end

function Session:send(s) ffi.C.write(self.fd, s, #s) end

-- Ctrl-D once the prompt is up: a key sent while the terminal is still
-- between modes can be lost, as it can for a very fast typist.
function Session:finish()
  self:expect("> ", "a prompt to leave from")
  self:wait(0.3)
  self:send("\4")
  local status = ffi.new("int[1]")
  local stop = now() + 10
  while now() < stop do
    self:wait(0.1)
    if ffi.C.waitpid(self.pid, status, 1) == self.pid then
      ffi.C.close(self.fd)
      return status[0]
    end
  end
  io.stderr:write("the REPL did not leave; its last output:\n", clean(self.all):sub(-300), "\n")
  ffi.C.kill(self.pid, 9)
  ffi.C.waitpid(self.pid, status, 0)
  ffi.C.close(self.fd)
  return -1
end

local s = spawn()

T.case("it starts with a banner and a prompt", function()
  s:expect("Lua with `orrery` loaded", "banner")
  s:expect("> ", "prompt")
end)

T.case("results print readably", function()
  s:send("t = orrery.randn({2, 3}, 42)\r")
  s:send("t\r")
  s:expect("tensor f32[2,3] {", "a small tensor with its values")
  s:send("orrery.zeros({300, 300})\r")
  s:expect("tensor f32[300,300]  min 0  max 0  mean 0", "a big tensor as a summary")
  s:send("{a = 1, b = {2, 'x'}}\r")
  s:expect('{a = 1, b = {2, "x"}}', "a table as a constructor")
  s:send("_ \r")
  s:expect('{a = 1, b = {2, "x"}}', "_ holds the last result")
end)

T.case("Tab completes functions and methods", function()
  s:send("orrery.linsp\t")
  s:expect("orrery.linspace(", "a function completes with its parenthesis")
  s:send("0, 1, 3)\r")
  s:expect("tensor f32[3] {0, 0.5, 1}", "the completed call runs")
  s:send("t:resh\t")
  s:expect("t:reshape(", "a method completes")
  s:send("{3, 2}):shape()\r")
  s:expect("{3, 2}", "the completed method runs")
  s:send("orrery.sched\t")
  s:expect("orrery.schedule", "a lazily loaded module completes")
  s:send("(\"0:(7), 10:(3)\"):at(5, 11)\r")
  s:expect("5", "schedules from the prompt")
end)

T.case("errors never end the session", function()
  s:send("orrery.zeros({2, -1})\r")
  s:expect("error: ", "an error from C")
  s:expect("invalid shape [2,-1]", "with the core's message")
  s:send("x = = 1\r")
  s:expect("error: ", "a syntax error")
  s:send("nil + 1\r")
  s:expect("attempt to perform arithmetic on a nil value", "a runtime error")
  s:send("1 + 1\r")
  s:expect("2", "the session goes on")
end)

T.case("unfinished statements continue", function()
  s:send("for i = 1, 2 do\r")
  s:expect(">> ", "a continuation prompt")
  s:send("print(i * 10)\r")
  s:send("end\r")
  s:expect("20", "the loop ran")
end)

T.case("Ctrl-C stops running code, not the session", function()
  s:send("while true do end\r")
  s:expect("while true do end", "the line echoes")
  s:wait(0.5)
  s:send("\3")
  s:expect("interrupted", "the loop is interrupted")
  s:send("abc\3")
  s:expect("> ", "Ctrl-C at the prompt drops the line")
  s:send("40 + 2\r")
  s:expect("42", "the session goes on")
end)

T.case("Ctrl-D leaves", function()
  T.eq(s:finish(), 0, "exit status 0")
end)

T.case("history is kept across sessions", function()
  local f = io.open(home .. "/history")
  T.ok(f ~= nil, "the history file was written")
  if f then f:close() end
  local s2 = spawn()
  s2:expect("> ", "a second session")
  s2:wait(0.3)
  s2:send("\27[A\r")
  s2:expect("42", "Up recalls the last line of the first session")
  T.eq(s2:finish(), 0, "exit status 0")
end)

os.execute("rm -rf " .. home)
T.done()
