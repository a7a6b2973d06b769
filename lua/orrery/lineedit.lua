-- lineedit.lua — line editing for the REPL through libedit (BSD licence),
-- bound with the FFI from its readline-compatible API: cursor keys, history
-- kept in a file across runs, and tab completion by a Lua function.
--
-- When libedit is missing or stdin is not a terminal, lines come from
-- io.read and nothing is echoed, so a REPL fed from a pipe prints only its
-- results.
local ffi = require "ffi"

local M = {}

local function cdef(decl) pcall(ffi.cdef, decl) end -- one declaration may exist already
cdef "int isatty(int fd);"
cdef "void *malloc(size_t size);"
cdef "void free(void *ptr);"
cdef [[
char *readline(const char *prompt);
int add_history(const char *line);
void using_history(void);
void stifle_history(int max);
int read_history(const char *file);
int write_history(const char *file);
typedef char **orr_rl_completion_fn(const char *text, int start, int end);
extern orr_rl_completion_fn *rl_attempted_completion_function;
extern const char *rl_basic_word_break_characters;
extern int rl_completion_append_character;
extern int rl_attempted_completion_over;
extern const char *rl_readline_name;
extern char *rl_line_buffer;
]]

local function load_libedit()
  for _, name in ipairs { "edit", "libedit.so.2" } do
    local ok, lib = pcall(ffi.load, name)
    if ok then return lib end
  end
end

-- A C array of malloc'd strings, as readline frees them: the common prefix
-- first (what replaces the word), then the matches, then NULL.
local function c_matches(matches)
  local function cstr(s)
    local p = ffi.cast("char*", ffi.C.malloc(#s + 1))
    ffi.copy(p, s)
    return p
  end
  local prefix = matches[1]
  for i = 2, #matches do
    local m, j = matches[i], 0
    while j < #prefix and j < #m and prefix:byte(j + 1) == m:byte(j + 1) do j = j + 1 end
    prefix = prefix:sub(1, j)
  end
  local list = #matches == 1 and {} or matches
  local arr = ffi.cast("char**", ffi.C.malloc(ffi.sizeof("char*") * (#list + 2)))
  arr[0] = cstr(prefix)
  for i, m in ipairs(list) do arr[i] = cstr(m) end
  arr[#list + 1] = nil
  return arr
end

-- opts: history (a file name or nil), complete (function(word, line) ->
-- array of candidates for `word`, the text before the cursor back to a
-- word break), word_breaks (characters that end a word).
function M.new(opts)
  opts = opts or {}
  local self = { interactive = ffi.C.isatty(0) ~= 0 }
  local lib = self.interactive and load_libedit() or nil

  if not lib then
    function self.read(prompt)
      if self.interactive then
        io.write(prompt)
        io.flush()
      end
      return io.read("*l")
    end
    function self.remember() end
    function self.close() end
    return self
  end

  -- the strings the library keeps pointers to must outlive it
  self.anchors = { name = "orrery", breaks = opts.word_breaks or " \t\n\"'`@$><=;|&{(,+-*/%^~#[]" }
  lib.rl_readline_name = self.anchors.name
  lib.rl_basic_word_break_characters = self.anchors.breaks
  lib.using_history()
  lib.stifle_history(opts.history_size or 2000)
  if opts.history then lib.read_history(opts.history) end

  if opts.complete then
    self.completer = ffi.cast("orr_rl_completion_fn*", function(text, start, stop)
      lib.rl_attempted_completion_over = 1
      lib.rl_completion_append_character = 0
      -- an error here must not cross readline's C frames
      local ok, matches = pcall(opts.complete, ffi.string(text), ffi.string(lib.rl_line_buffer, start))
      if not ok or type(matches) ~= "table" or #matches == 0 then return nil end
      return c_matches(matches)
    end)
    lib.rl_attempted_completion_function = self.completer
  end

  -- the FFI call must stay interpreted: readline calls back into Lua
  function self.read(prompt)
    local p = lib.readline(prompt)
    if p == nil then return nil end
    local line = ffi.string(p)
    ffi.C.free(p)
    return line
  end
  jit.off(self.read)

  function self.remember(line)
    if not line:find("%S") then return end
    lib.add_history(line)
    -- written at once, so the history survives a killed session
    if opts.history then lib.write_history(opts.history) end
  end

  function self.close()
    lib.rl_attempted_completion_function = nil
    if self.completer then self.completer:free() end
    self.completer = nil
  end

  return self
end

return M
