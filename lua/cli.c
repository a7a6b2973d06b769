/* cli.c — the `orrery` command: subcommands over liborrery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "orrery.h"

static const char *usage =
    "usage: orrery [options] [SCRIPT.lua [ARGS...] | -e CODE | COMMAND ...]\n"
    "\n"
    "  SCRIPT.lua      run a Lua script (ARGS in the global `arg`, 1-based)\n"
    "  -e CODE         run a Lua chunk\n"
    "  (nothing)       an interactive Lua prompt with `orrery` loaded\n"
    "\n"
    "commands:\n"
    "  verify DIR...   run golden fixtures (weights/inputs/outputs.safetensors) and compare\n"
    "  networks        list the networks `verify` can run\n"
    "  help [COMMAND]  show help\n"
    "\n"
    "options for every command:\n"
    "  --threads N     CPU threads (default: all cores, or ORR_NUM_THREADS)\n";

static const char *verify_usage =
    "usage: orrery verify [--tolerance X] [--no-intermediates] [--quiet] DIR...\n"
    "\n"
    "Runs the network named in each fixture's metadata on its inputs and weights and\n"
    "compares with the official outputs (and intermediates): max abs error relative to\n"
    "the largest expected magnitude must be <= X (default 1e-4); integer tensors must\n"
    "match exactly. Exits 0 when every fixture passes, 1 otherwise.\n";

static int cmd_verify(int argc, char **argv) {
    orr_verify_params p;
    orr_verify_params_init(&p);
    int dirs = 0, failed = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--tolerance") == 0 && i + 1 < argc) {
            char *end;
            p.tolerance = strtod(argv[++i], &end);
            if (*end || p.tolerance <= 0) {
                fprintf(stderr, "orrery verify: --tolerance wants a positive number, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--no-intermediates") == 0) {
            p.intermediates = false;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            p.verbose = false;
        } else if (strcmp(argv[i], "--help") == 0) {
            fputs(verify_usage, stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "orrery verify: unknown option '%s'\n%s", argv[i], verify_usage);
            return 2;
        }
    }
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-') {
            if (strcmp(argv[i], "--tolerance") == 0) i++;
            continue;
        }
        dirs++;
        if (orr_verify_dir(argv[i], &p, stdout) != ORR_OK) failed++;
    }
    if (!dirs) {
        fputs(verify_usage, stderr);
        return 2;
    }
    if (dirs > 1) printf("%d of %d fixtures passed\n", dirs - failed, dirs);
    return failed ? 1 : 0;
}

static int cmd_networks(void) {
    for (int i = 0; i < orr_verify_network_count(); i++) printf("%s\n", orr_verify_network_name(i));
    return 0;
}

/* Runs Lua code from a file or a string with the binding's search path set,
 * printing the error and its traceback when it fails. */
static int traceback(lua_State *L) {
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

static int run_lua(const char *script, const char *code, int argc, char **argv) {
    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "orrery: cannot create a Lua state\n");
        return 1;
    }
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    /* the binding's sources, then the FFI declarations generated at build time */
    lua_pushstring(L, ORR_LUA_SOURCE_DIR "/?.lua;" ORR_LUA_SOURCE_DIR "/?/init.lua;" ORR_LUA_BUILD_DIR "/?.lua");
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    lua_createtable(L, argc, 1);
    lua_pushstring(L, script ? script : "-e");
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, traceback);
    int loaded = script ? luaL_loadfile(L, script)
             : code     ? luaL_loadbuffer(L, code, strlen(code), "=(command line)")
                        : luaL_loadstring(L, "require('orrery.repl').run()");
    int rc = loaded ? loaded : lua_pcall(L, 0, 0, -2);
    if (rc) fprintf(stderr, "orrery: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return rc ? 1 : 0;
}

/* Takes the global options out of argv; returns the new argc or -1. */
static int parse_global_options(int argc, char **argv) {
    int out = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0) {
            int n = i + 1 < argc ? atoi(argv[i + 1]) : 0;
            if (n < 1) {
                fprintf(stderr, "orrery: --threads wants a positive integer\n");
                return -1;
            }
            orr_set_num_threads(n);
            i++;
        } else {
            argv[out++] = argv[i];
        }
    }
    return out;
}

int main(int argc, char **argv) {
    argc = parse_global_options(argc, argv);
    if (argc < 0) return 2;
    if (argc < 2) return run_lua(NULL, NULL, 0, NULL);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "-e") == 0) {
        if (argc < 3) {
            fprintf(stderr, "orrery: -e wants a chunk of Lua code\n");
            return 2;
        }
        return run_lua(NULL, argv[2], argc - 3, argv + 3);
    }
    size_t len = strlen(cmd);
    if (len > 4 && strcmp(cmd + len - 4, ".lua") == 0) return run_lua(cmd, NULL, argc - 2, argv + 2);
    if (strcmp(cmd, "verify") == 0) return cmd_verify(argc - 2, argv + 2);
    if (strcmp(cmd, "networks") == 0) return cmd_networks();
    if (strcmp(cmd, "help") == 0) {
        fputs(argc > 2 && strcmp(argv[2], "verify") == 0 ? verify_usage : usage, stdout);
        return 0;
    }
    fprintf(stderr, "orrery: unknown command '%s'\n%s", cmd, usage);
    return 2;
}
