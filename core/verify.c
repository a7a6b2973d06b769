/* verify.c — `orrery verify DIR`: run a golden fixture's network and compare
 * what it computes with what the official code computed. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "verify_networks.h"

#define MAX_NETWORKS 64

static struct {
    const char *name;
    orr_verify_fn fn;
} networks[MAX_NETWORKS];
static int n_networks;
static bool builtins_registered;

static void register_builtins(void) {
    if (builtins_registered) return;
    builtins_registered = true;
    orr_verify_register_builtin_networks();
}

orr_status orr_verify_register(const char *network, orr_verify_fn fn) {
    if (!network || !fn) return orr_error(ORR_ERR_ARGUMENT, "verify: NULL network name or runner");
    for (int i = 0; i < n_networks; i++)
        if (strcmp(networks[i].name, network) == 0) return networks[i].fn = fn, ORR_OK;
    if (n_networks == MAX_NETWORKS)
        return orr_error(ORR_ERR_MEMORY, "verify: more than %d networks registered", MAX_NETWORKS);
    networks[n_networks].name = network;
    networks[n_networks++].fn = fn;
    return ORR_OK;
}

int orr_verify_network_count(void) {
    register_builtins();
    return n_networks;
}

const char *orr_verify_network_name(int index) {
    register_builtins();
    return index >= 0 && index < n_networks ? networks[index].name : NULL;
}

void orr_verify_params_init(orr_verify_params *p) {
    p->tolerance = 1e-4;
    p->intermediates = true;
    p->verbose = true;
}

/* The fixture's network: `network` metadata, or the function named in
 * `call`/`functions` (sampler and preprocessor fixtures), up to its '('. */
static bool fixture_network(const orr_safetensors *const *files, int n, char *buf, size_t size) {
    static const char *keys[] = {"network", "call", "functions"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        for (int f = 0; f < n; f++) {
            const char *v = files[f] ? orr_st_metadata(files[f], keys[k]) : NULL;
            if (!v) continue;
            size_t len = strcspn(v, "(");
            while (len > 0 && v[len - 1] == ' ') len--;
            if (len >= size) len = size - 1;
            memcpy(buf, v, len);
            buf[len] = '\0';
            return true;
        }
    return false;
}

typedef struct comparison {
    double max_abs, max_ref, rel;
    int64_t mismatched; /* integer tensors: elements that differ */
    bool exact, shape_ok, pass;
} comparison;

static bool is_integer(orr_dtype d) { return d == ORR_I64 || d == ORR_I32 || d == ORR_I16 || d == ORR_I8 || d == ORR_U8 || d == ORR_BOOL; }

static comparison compare(const orr_tensor *got, const orr_tensor *want, double tolerance, double allowed) {
    comparison c = {0};
    c.exact = is_integer(want->dtype);
    c.shape_ok = orr_tensor_same_shape(got, want);
    if (!c.shape_ok) return c;
    int64_t n = orr_tensor_numel(want);
    for (int64_t i = 0; i < n; i++) {
        double g = orr_tensor_get(got, i), w = orr_tensor_get(want, i);
        double d = fabs(g - w);
        if (isnan(d)) d = INFINITY;
        if (d > c.max_abs) c.max_abs = d;
        if (fabs(w) > c.max_ref) c.max_ref = fabs(w);
        if (c.exact && g != w) c.mismatched++;
    }
    c.rel = c.max_abs / (c.max_ref > 0 ? c.max_ref : 1.0);
    c.pass = c.exact ? c.mismatched == 0 : c.rel <= tolerance;
    if (allowed > 0 && c.max_abs <= allowed) c.pass = true;
    return c;
}

/* Compares every tensor of `expected` that the run produced; returns the
 * number of failures and counts the ones the run did not produce. */
static int compare_file(FILE *report, const char *kind, const orr_safetensors *expected, const orr_tensor_list *results,
                        const orr_verify_params *p, bool missing_fails, int *missing) {
    int failures = 0;
    for (int64_t i = 0; i < orr_st_count(expected); i++) {
        const char *name = orr_st_name(expected, i);
        orr_tensor *got = orr_tensor_list_find(results, name), *want = NULL;
        if (!got) {
            (*missing)++;
            if (missing_fails) {
                failures++;
                if (report) fprintf(report, "  %-13s %-40s FAIL  not computed\n", kind, name);
            }
            continue;
        }
        if (orr_st_get(expected, name, &want)) {
            failures++;
            if (report) fprintf(report, "  %-13s %-40s FAIL  %s\n", kind, name, orr_last_error());
            continue;
        }
        double allowed = orr_tensor_list_allowance(results, name);
        comparison c = compare(got, want, p->tolerance, allowed);
        char gs[200], ws[200];
        if (!c.shape_ok) {
            if (report)
                fprintf(report, "  %-13s %-40s FAIL  shape %s, expected %s\n", kind, name,
                        orr_tensor_describe(got, gs, sizeof gs), orr_tensor_describe(want, ws, sizeof ws));
        } else if (report && (p->verbose || !c.pass)) {
            if (c.exact)
                fprintf(report, "  %-13s %-40s %s  %lld of %lld elements differ, by at most %g%s\n", kind, name,
                        c.pass ? "ok  " : "FAIL", (long long)c.mismatched, (long long)orr_tensor_numel(want),
                        c.max_abs, allowed > 0 ? " (the protocol allows it)" : "");
            else
                fprintf(report, "  %-13s %-40s %s  max abs %.3e  max |ref| %.3e  rel %.3e\n", kind, name,
                        c.pass ? "ok  " : "FAIL", c.max_abs, c.max_ref, c.rel);
        }
        failures += !c.pass;
        orr_tensor_free(want);
    }
    return failures;
}

static bool file_exists(const char *path) {
    struct stat s;
    return stat(path, &s) == 0;
}

orr_status orr_verify_dir(const char *dir, const orr_verify_params *params, void *report_file) {
    FILE *report = report_file;
    orr_verify_params defaults;
    if (!params) {
        orr_verify_params_init(&defaults);
        params = &defaults;
    }
    if (!dir) return orr_error(ORR_ERR_ARGUMENT, "verify: directory is NULL");
    register_builtins();

    static const char *names[4] = {"weights", "inputs", "outputs", "intermediates"};
    orr_safetensors *files[4] = {NULL, NULL, NULL, NULL};
    orr_status st = ORR_OK;
    char path[4096];
    for (int f = 0; f < 4 && !st; f++) {
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, names[f]);
        /* weights are absent where a fixture's function has none (preprocessors) */
        if ((f == 0 || f == 3) && !file_exists(path)) continue;
        if (!file_exists(path)) {
            st = orr_error(ORR_ERR_NOT_FOUND, "verify: %s has no %s.safetensors", dir, names[f]);
            break;
        }
        st = orr_st_open(path, &files[f]);
    }
    char network[256];
    orr_verify_fn fn = NULL;
    if (!st && !fixture_network((const orr_safetensors *const *)files, 4, network, sizeof network))
        st = orr_error(ORR_ERR_FORMAT, "verify: %s names no network in its metadata ('network' or 'call')", dir);
    for (int i = 0; !st && i < n_networks; i++)
        if (strcmp(networks[i].name, network) == 0) fn = networks[i].fn;
    if (!st && !fn) {
        char known[1024] = "";
        for (int i = 0; i < n_networks; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, networks[i].name, sizeof known - strlen(known) - 1);
        }
        st = orr_error(ORR_ERR_NOT_FOUND, "verify: no runner for network '%s' (known: %s)", network,
                       n_networks ? known : "none");
    }

    orr_tensor_list *results = NULL;
    if (!st) st = orr_tensor_list_create(&results);
    if (!st) {
        orr_fixture fixture = {dir, files[0], files[1], files[2], files[3]};
        if (report) fprintf(report, "verify %s (%s)\n", dir, network);
        st = fn(&fixture, results);
        if (st) orr_error_context(st, "verify: %s failed: ", network);
    }
    if (!st) {
        int missing_out = 0, missing_mid = 0;
        int failures = compare_file(report, "output", files[2], results, params, true, &missing_out);
        if (files[3] && params->intermediates)
            failures += compare_file(report, "intermediate", files[3], results, params, false, &missing_mid);
        if (report) {
            if (missing_mid) fprintf(report, "  (%d intermediates not produced by this runner)\n", missing_mid);
            fprintf(report, "%s %s: %d tensor%s out of tolerance %.1e\n", failures ? "FAIL" : "PASS", dir, failures,
                    failures == 1 ? "" : "s", params->tolerance);
        }
        if (failures) st = orr_error(ORR_ERR_MISMATCH, "verify: %d tensors of %s out of tolerance", failures, dir);
    } else if (report) {
        fprintf(report, "FAIL %s: %s\n", dir, orr_last_error());
    }
    orr_tensor_list_free(results);
    for (int f = 0; f < 4; f++) orr_st_close(files[f]);
    return st;
}
