/* cli.c — the `orrery` command: subcommands over liborrery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery.h"

static const char *usage =
    "usage: orrery <command> [options]\n"
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
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "verify") == 0) return cmd_verify(argc - 2, argv + 2);
    if (strcmp(cmd, "networks") == 0) return cmd_networks();
    if (strcmp(cmd, "help") == 0) {
        fputs(argc > 2 && strcmp(argv[2], "verify") == 0 ? verify_usage : usage, stdout);
        return 0;
    }
    fprintf(stderr, "orrery: unknown command '%s'\n%s", cmd, usage);
    return 2;
}
