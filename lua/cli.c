/* cli.c — the `orrery` command: subcommands over liborrery. */
#include <signal.h>
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
    "  convert IN OUT  write a .pt, .jit or diffusers file as safetensors (official names)\n"
    "  models [DIR]    list the released models; check a checkpoints folder\n"
    "  notebook run FILE.lua [-o OUT.html]  run a literate notebook into an HTML report\n"
    "  view FILE...    show videos in the viewer: synchronised panes, overlays (view --help)\n"
    "  transfer SPEC   run a Cosmos-Transfer1 control spec (JSON, as-is) (transfer --help)\n"
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

static const char *convert_usage =
    "usage: orrery convert [--bf16] [--extra-state] [--prefix P] [--names auto|official|diffusers-dit|diffusers-vae]\n"
    "                      IN OUT\n"
    "\n"
    "Writes the tensors of IN (a torch.save .pt, a TorchScript .jit, or safetensors such as\n"
    "diffusers weights) to OUT as safetensors under the official names; nothing in IN is\n"
    "executed. --bf16 stores floating-point tensors as bf16; --extra-state keeps the\n"
    "TransformerEngine _extra_state entries; --prefix P keeps only the tensors named P...,\n"
    "without P (--prefix ema/ for a {model, ema} training checkpoint); --names picks the\n"
    "layout of IN's names (default: detected).\n";

static int cmd_convert(int argc, char **argv) {
    static const char *const layouts[] = {"auto", "official", "diffusers-dit", "diffusers-vae"};
    orr_convert_params p;
    orr_convert_params_init(&p);
    const char *paths[2];
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--bf16") == 0) {
            p.bf16 = true;
        } else if (strcmp(argv[i], "--extra-state") == 0) {
            p.extra_state = true;
        } else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            p.prefix = argv[++i];
        } else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            int k = 0;
            while (k < 4 && strcmp(v, layouts[k]) != 0) k++;
            if (k == 4) {
                fprintf(stderr, "orrery convert: --names wants auto, official, diffusers-dit or diffusers-vae, not '%s'\n", v);
                return 2;
            }
            p.names = (orr_name_map)k;
        } else if (strcmp(argv[i], "--help") == 0) {
            fputs(convert_usage, stdout);
            return 0;
        } else if (argv[i][0] == '-' || n == 2) {
            fprintf(stderr, "orrery convert: unexpected '%s'\n%s", argv[i], convert_usage);
            return 2;
        } else {
            paths[n++] = argv[i];
        }
    }
    if (n != 2) {
        fputs(convert_usage, stderr);
        return 2;
    }
    orr_safetensors *st;
    if (orr_ckpt_convert(paths[0], paths[1], &p) != ORR_OK || orr_st_open(paths[1], &st) != ORR_OK) {
        fprintf(stderr, "orrery convert: %s\n", orr_last_error());
        return 1;
    }
    printf("%s: %lld tensors from %s (%s names)\n", paths[1], (long long)orr_st_count(st), paths[0],
           orr_st_metadata(st, "source_names"));
    orr_st_close(st);
    return 0;
}

static const char *models_usage =
    "usage: orrery models [DIR [NAME...]]\n"
    "\n"
    "Lists the released Cosmos models orrery knows. With DIR, a folder laid out like the\n"
    "official checkpoints/ (DIR/<name>/<file> or DIR/nvidia/<name>/<file>), says which are\n"
    "complete there; with NAMEs, checks those file by file: each file present, readable,\n"
    "and holding the tensors its config implies. Exits 1 when a named model is incomplete.\n";

static int cmd_models(int argc, char **argv) {
    if (argc > 0 && strcmp(argv[0], "--help") == 0) {
        fputs(models_usage, stdout);
        return 0;
    }
    if (argc >= 2) {
        int failed = 0;
        for (int i = 1; i < argc; i++) failed += orr_model_check(argv[0], argv[i], stdout) != ORR_OK;
        return failed ? 1 : 0;
    }
    for (int i = 0; i < orr_model_count(); i++) {
        const orr_model_info *m = orr_model_at(i);
        char params[32] = "", path[4096];
        if (m->parameters)
            snprintf(params, sizeof params, m->parameters >= 1000000000 ? "%.2f B" : "%.1f M",
                     m->parameters / (m->parameters >= 1000000000 ? 1e9 : 1e6));
        printf("%-34s %-15s %-32s %9s", m->name, m->kind, m->network, params);
        if (argc == 1)
            printf("  %s", orr_model_path(argv[0], m->name, m->files[0].name, path, sizeof path) != ORR_OK ? "absent"
                           : orr_model_check(argv[0], m->name, NULL) == ORR_OK                          ? "complete"
                                                                                                          : "incomplete");
        putchar('\n');
    }
    return 0;
}

static int cmd_networks(void) {
    for (int i = 0; i < orr_verify_network_count(); i++) printf("%s\n", orr_verify_network_name(i));
    return 0;
}

/* Ctrl-C in the REPL. While it evaluates (mode 1): stop the running Lua
 * code at its next call or instruction count (as LuaJIT's own prompt does)
 * instead of killing the session. Mode 2 only notes it, for
 * orr_cli_interrupted(): at the prompt (which then drops the line), and
 * around C calls that call back into Lua (the sampler polls it from its
 * cancel callback), where an error must not be raised through C frames. A
 * second Ctrl-C before the first was seen kills the process, for C code
 * that never returns. Mode 0 restores the default. */
static volatile sig_atomic_t interrupted, interrupt_mode;
static lua_State *interrupt_state;

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

static void on_interrupt(int sig) {
    if (interrupted) {
        /* a second Ctrl-C while C code runs on: leave as the default would */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupted = 1;
    if (interrupt_mode == 1 && interrupt_state)
        lua_sethook(interrupt_state, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

int orr_cli_catch_interrupts(int mode) {
    int previous = interrupt_mode;
    interrupted = 0;
    interrupt_mode = mode;
    if (interrupt_state) lua_sethook(interrupt_state, NULL, 0, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mode ? on_interrupt : SIG_DFL; /* no SA_RESTART: a waiting read returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    return previous;
}

int orr_cli_interrupted(void) { return interrupted; }

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

    interrupt_state = L;
    lua_pushcfunction(L, traceback);
    int loaded = script ? luaL_loadfile(L, script)
             : code     ? luaL_loadbuffer(L, code, strlen(code), "=(command line)")
                        : luaL_loadstring(L, "require('orrery.repl').run()");
    int rc = loaded ? loaded : lua_pcall(L, 0, 0, -2);
    if (rc) fprintf(stderr, "orrery: %s\n", lua_tostring(L, -1));
    interrupt_state = NULL;
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
    if (strcmp(cmd, "notebook") == 0)
        return run_lua(NULL, "require('orrery.notebook').main(arg)", argc - 2, argv + 2);
    if (strcmp(cmd, "networks") == 0) return cmd_networks();
    if (strcmp(cmd, "view") == 0) return run_lua(NULL, "os.exit(require('orrery.view').main(arg))", argc - 2, argv + 2);
    if (strcmp(cmd, "transfer") == 0)
        return run_lua(NULL, "os.exit(require('orrery.transfer').main(arg))", argc - 2, argv + 2);
    if (strcmp(cmd, "convert") == 0) return cmd_convert(argc - 2, argv + 2);
    if (strcmp(cmd, "models") == 0) return cmd_models(argc - 2, argv + 2);
    if (strcmp(cmd, "help") == 0) {
        const char *topic = argc > 2 ? argv[2] : "";
        if (strcmp(topic, "view") == 0 || strcmp(topic, "transfer") == 0)
            return run_lua(NULL, "io.write(require('orrery.' .. arg[1]).usage)", 1, argv + 2);
        fputs(strcmp(topic, "verify") == 0    ? verify_usage
              : strcmp(topic, "convert") == 0 ? convert_usage
              : strcmp(topic, "models") == 0  ? models_usage
                                              : usage,
              stdout);
        return 0;
    }
    fprintf(stderr, "orrery: unknown command '%s'\n%s", cmd, usage);
    return 2;
}
