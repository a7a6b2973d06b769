/* test_util.h — the few checks the C tests share. A test fails through its
 * exit status: main returns test_finish(), non-zero after any failed CHECK. */
#ifndef ORR_TEST_UTIL_H
#define ORR_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orrery.h"

static int test_failures = 0;
static int test_checks = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        test_checks++;                                                                 \
        if (!(cond)) {                                                                 \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

/* A call that must succeed; prints orr_last_error() when it does not. */
#define CHECK_OK(call)                                                                 \
    do {                                                                               \
        test_checks++;                                                                 \
        orr_status st_ = (call);                                                       \
        if (st_ != ORR_OK) {                                                           \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call,        \
                    orr_status_name(st_), orr_last_error());                           \
        }                                                                              \
    } while (0)

/* A call that must fail with `status` and a message containing `needle`. */
#define CHECK_FAILS(call, status, needle)                                              \
    do {                                                                               \
        test_checks++;                                                                 \
        orr_status st_ = (call);                                                       \
        if (st_ != (status) || !strstr(orr_last_error(), (needle))) {                  \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: %s -> %s \"%s\", wanted %s with \"%s\"\n",          \
                    __FILE__, __LINE__, #call, orr_status_name(st_), orr_last_error(), \
                    orr_status_name(status), (needle));                                \
        }                                                                              \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        test_checks++;                                                                 \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= (tol))) {                                               \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, |diff| > %g\n", __FILE__,    \
                    __LINE__, #a, a_, #b, b_, (double)(tol));                          \
        }                                                                              \
    } while (0)

/* Max |a-b| over two float arrays, and the max |b| (for relative errors). */
static inline double test_max_abs_diff(const float *a, const float *b, long n, double *max_ref) {
    double m = 0, r = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
        if (fabs(b[i]) > r) r = fabs(b[i]);
    }
    if (max_ref) *max_ref = r;
    return m;
}

/* Checks that two float arrays agree within rel_tol of the larger magnitude
 * of b (at least abs_floor), naming `what` when they do not. */
#define CHECK_CLOSE(what, a, b, n, rel_tol)                                            \
    do {                                                                               \
        test_checks++;                                                                 \
        double ref_, d_ = test_max_abs_diff((a), (b), (long)(n), &ref_);               \
        double lim_ = (rel_tol) * (ref_ > 1.0 ? ref_ : 1.0);                           \
        if (!(d_ <= lim_)) {                                                           \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: %s: max abs diff %.3g > %.3g (max |ref| %.3g)\n",  \
                    __FILE__, __LINE__, (what), d_, lim_, ref_);                       \
        }                                                                              \
    } while (0)

/* Deterministic test data in [-1, 1) without the library's RNG. */
static inline void test_fill(float *x, long n, unsigned seed) {
    unsigned s = seed * 2654435761u + 12345u;
    for (long i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) * (1.0 / 8388608.0) - 1.0);
    }
}

/* A tensor of `dtype` holding test_fill values scaled by `scale`. */
static inline orr_tensor *test_tensor_filled(orr_dtype dtype, int ndim, const int64_t *shape, unsigned seed, float scale) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, dtype, ndim, shape));
    if (!t) return NULL;
    long n = (long)orr_tensor_numel(t);
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    test_fill(v, n, seed);
    for (long i = 0; i < n; i++) orr_tensor_set(t, i, v[i] * scale);
    free(v);
    return t;
}

static inline int test_finish(const char *name) {
    if (test_failures) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, test_failures, test_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, test_checks);
    return 0;
}

/* The status of an op given a tensor marked cuda among cpu ones: mixed
 * devices where a GPU is usable, else a device this machine cannot run. */
#define MIXED_DEVICE_STATUS (orr_cuda_available() ? ORR_ERR_ARGUMENT : ORR_ERR_UNSUPPORTED)

#endif
