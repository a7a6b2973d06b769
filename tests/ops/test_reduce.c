/* test_reduce.c — reduction, count and softmax kernels (fast vs reference)
 * and the tensor ops orr_reduce, orr_reduce_all, orr_count_nonfinite and
 * orr_softmax. */
#include "elementwise.h"
#include "test_util.h"

static void test_reduce_kernels(void) {
    static const int64_t cases[][3] = {{1, 1, 1}, {3, 17, 1}, {5, 1001, 1}, {2, 7, 300}, {4, 33, 5}, {1, 40003, 1},
                                       {3, 0, 4}, {2, 513, 257}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t outer = cases[c][0], n = cases[c][1], inner = cases[c][2];
        const long total = (long)(outer * n * inner), m = (long)(outer * inner);
        float *a = malloc(sizeof(float) * (size_t)(total ? total : 1));
        float *fast = malloc(sizeof(float) * (size_t)m), *ref = malloc(sizeof(float) * (size_t)m);
        test_fill(a, total, 3 + (unsigned)c);
        for (int op = ORR_SUM; op <= ORR_AMIN; op++) {
            if (n == 0 && op != ORR_SUM) continue; /* NaN or undefined: checked below */
            orr_ref_reduce(ref, a, outer, n, inner, (orr_reduce_op)op);
            orr_cpu_reduce(fast, a, outer, n, inner, (orr_reduce_op)op);
            CHECK_CLOSE("reduce", fast, ref, m, op >= ORR_AMAX ? 0.0 : 1e-6);
        }
        free(a), free(fast), free(ref);
    }
    /* amax and amin propagate NaN along rows and along columns */
    float a[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, out[12];
    a[5] = NAN;
    orr_cpu_reduce(out, a, 1, 12, 1, ORR_AMAX);
    CHECK(isnan(out[0]));
    orr_cpu_reduce(out, a, 1, 4, 3, ORR_AMIN); /* columns 0..2, NaN in column 2 */
    CHECK(out[0] == 1 && out[1] == 2 && isnan(out[2]));
    orr_cpu_reduce(out, a, 1, 0, 3, ORR_MEAN);
    CHECK(isnan(out[0]));
}

static void test_reduce_all_kernels(void) {
    /* past 256 chunks of 16384, so that the chunk size grows with n */
    const long n = 5000003;
    float *a = malloc(sizeof(float) * (size_t)n);
    test_fill(a, n, 11);
    for (long i = 0; i < n; i++) a[i] += 0.25f; /* a mean away from zero */
    for (int op = ORR_SUM; op <= ORR_AMIN; op++) {
        double fast = orr_cpu_reduce_all(a, n, (orr_reduce_op)op), ref = orr_ref_reduce_all(a, n, (orr_reduce_op)op);
        CHECK_NEAR(fast, ref, 1e-9 * fmax(1.0, fabs(ref)));
        CHECK_NEAR(orr_cpu_reduce_all(a, 37, (orr_reduce_op)op), orr_ref_reduce_all(a, 37, (orr_reduce_op)op), 1e-12);
    }
    CHECK_NEAR(orr_cpu_reduce_all(a, n, ORR_MEAN), 0.25, 1e-3);
    /* the same answer on one thread and on all of them */
    double all_threads = orr_cpu_reduce_all(a, n, ORR_SUM);
    int threads = orr_get_num_threads();
    orr_set_num_threads(1);
    CHECK(orr_cpu_reduce_all(a, n, ORR_SUM) == all_threads);
    orr_set_num_threads(threads);

    CHECK(orr_cpu_count_nonfinite(a, n) == 0);
    a[0] = NAN, a[n / 2] = INFINITY, a[n - 1] = -INFINITY, a[77] = 3e38f;
    CHECK(orr_cpu_count_nonfinite(a, n) == 3);
    CHECK(orr_ref_count_nonfinite(a, n) == 3);
    CHECK(isnan(orr_cpu_reduce_all(a, n, ORR_AMAX)));
    CHECK(isnan(orr_cpu_reduce_all(a, n, ORR_SUM)));
    CHECK(orr_cpu_reduce_all(a, 0, ORR_SUM) == 0);
    free(a);
}

static void test_softmax_kernels(void) {
    static const int64_t cases[][3] = {{1, 1, 1}, {7, 13, 1}, {3, 1000, 1}, {2, 9, 31}, {3, 5, 300}, {1, 20000, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t outer = cases[c][0], n = cases[c][1], inner = cases[c][2];
        const long total = (long)(outer * n * inner);
        float *a = malloc(sizeof(float) * (size_t)total), *fast = malloc(sizeof(float) * (size_t)total);
        float *ref = malloc(sizeof(float) * (size_t)total);
        test_fill(a, total, 5 + (unsigned)c);
        for (long i = 0; i < total; i++) a[i] *= 30.0f;
        if (total > 3) a[2] = -INFINITY; /* a masked entry */
        orr_ref_softmax(ref, a, outer, n, inner);
        orr_cpu_softmax(fast, a, outer, n, inner);
        CHECK_CLOSE("softmax", fast, ref, total, 1e-6);
        orr_cpu_softmax(a, a, outer, n, inner); /* in place */
        CHECK_CLOSE("softmax in place", a, ref, total, 1e-6);
        free(a), free(fast), free(ref);
    }
    /* softmax([1,2,3]); a row of -inf gives NaN as in PyTorch */
    float x[3] = {1, 2, 3}, y[3];
    orr_cpu_softmax(y, x, 1, 3, 1);
    CHECK_NEAR(y[0], 0.0900305732, 1e-7);
    CHECK_NEAR(y[1], 0.2447284711, 1e-7);
    CHECK_NEAR(y[2], 0.6652409558, 1e-7);
    float m[2] = {-INFINITY, -INFINITY};
    orr_cpu_softmax(y, m, 1, 2, 1);
    CHECK(isnan(y[0]) && isnan(y[1]));
    /* large values do not overflow */
    float big[2] = {1000.0f, 1000.0f};
    orr_cpu_softmax(y, big, 1, 2, 1);
    CHECK(y[0] == 0.5f && y[1] == 0.5f);
}

static void test_reduce_tensor(void) {
    /* bf16 [4,6,5] viewed as [5,4,6]: reduce over the middle dim */
    const int64_t shape[3] = {4, 6, 5};
    orr_tensor *x = test_tensor_filled(ORR_BF16, 3, shape, 21, 2.0f), *xp = NULL, *kept = NULL, *removed = NULL, *rt = NULL;
    CHECK_OK(orr_tensor_permute(&xp, x, (const int[]){2, 0, 1}));
    CHECK_OK(orr_tensor_empty(&kept, ORR_F32, 3, (const int64_t[]){5, 1, 6}));
    CHECK_OK(orr_tensor_empty(&removed, ORR_F32, 2, (const int64_t[]){6, 5}));
    CHECK_OK(orr_tensor_transpose(&rt, removed, 0, 1)); /* [5,6], non-contiguous */
    for (int op = ORR_SUM; op <= ORR_AMIN; op++) {
        CHECK_OK(orr_reduce(kept, xp, 1, (orr_reduce_op)op));
        CHECK_OK(orr_reduce(rt, xp, -2, (orr_reduce_op)op));
        double worst = 0;
        for (int i = 0; i < 5; i++)
            for (int k = 0; k < 6; k++) {
                double acc = op >= ORR_AMAX ? orr_tensor_get(xp, i * 24 + k) : 0;
                for (int j = 0; j < 4; j++) {
                    double v = orr_tensor_get(xp, i * 24 + j * 6 + k);
                    if (op <= ORR_MEAN) acc += v;
                    else acc = op == ORR_AMAX ? fmax(acc, v) : fmin(acc, v);
                }
                if (op == ORR_MEAN) acc /= 4;
                worst = fmax(worst, fabs(orr_tensor_get(kept, i * 6 + k) - acc));
                worst = fmax(worst, fabs(orr_tensor_get(rt, i * 6 + k) - acc));
            }
        CHECK(worst < 1e-6);
    }
    double total = 0, r;
    for (int i = 0; i < 120; i++) total += orr_tensor_get(xp, i);
    CHECK_OK(orr_reduce_all(xp, ORR_SUM, &r));
    CHECK_NEAR(r, total, 1e-9);
    CHECK_OK(orr_reduce_all(xp, ORR_MEAN, &r));
    CHECK_NEAR(r, total / 120, 1e-9);

    /* count_nonfinite: f64 beyond float's range is finite; integers never count */
    orr_tensor *d = NULL, *ints = NULL;
    int64_t count = -1;
    CHECK_OK(orr_tensor_zeros(&d, ORR_F64, 1, (const int64_t[]){4}));
    orr_tensor_set(d, 0, 1e300);
    orr_tensor_set(d, 2, INFINITY);
    CHECK_OK(orr_count_nonfinite(d, &count));
    CHECK(count == 1);
    orr_tensor_set(x, 7, NAN);
    CHECK_OK(orr_count_nonfinite(xp, &count));
    CHECK(count == 1);
    CHECK_OK(orr_tensor_zeros(&ints, ORR_I32, 1, (const int64_t[]){3}));
    CHECK_OK(orr_count_nonfinite(ints, &count));
    CHECK(count == 0);

    orr_tensor_free(x), orr_tensor_free(xp), orr_tensor_free(kept), orr_tensor_free(removed), orr_tensor_free(rt);
    orr_tensor_free(d), orr_tensor_free(ints);
}

static void test_softmax_tensor(void) {
    /* softmax over dim 0 of a transposed f16 view, into a transposed f32 out */
    const int64_t shape[2] = {6, 9};
    orr_tensor *x = test_tensor_filled(ORR_F16, 2, shape, 8, 5.0f), *xt = NULL, *y = NULL, *yt = NULL;
    CHECK_OK(orr_tensor_transpose(&xt, x, 0, 1)); /* [9,6] */
    CHECK_OK(orr_tensor_empty(&y, ORR_F32, 2, shape));
    CHECK_OK(orr_tensor_transpose(&yt, y, 0, 1));
    CHECK_OK(orr_softmax(yt, xt, 0));
    double worst = 0;
    for (int j = 0; j < 6; j++) {
        double m = -INFINITY, s = 0;
        for (int i = 0; i < 9; i++) m = fmax(m, orr_tensor_get(xt, i * 6 + j));
        for (int i = 0; i < 9; i++) s += exp(orr_tensor_get(xt, i * 6 + j) - m);
        for (int i = 0; i < 9; i++)
            worst = fmax(worst, fabs(orr_tensor_get(yt, i * 6 + j) - exp(orr_tensor_get(xt, i * 6 + j) - m) / s));
    }
    CHECK(worst < 1e-6);
    orr_tensor_free(x), orr_tensor_free(xt), orr_tensor_free(y), orr_tensor_free(yt);
}

static void test_errors(void) {
    orr_tensor *a = NULL, *out = NULL, *empty = NULL, *eout = NULL;
    double r;
    int64_t count;
    CHECK_OK(orr_tensor_zeros(&a, ORR_F32, 2, (const int64_t[]){3, 4}));
    CHECK_OK(orr_tensor_zeros(&out, ORR_F32, 1, (const int64_t[]){3}));
    CHECK_OK(orr_tensor_zeros(&empty, ORR_F32, 2, (const int64_t[]){2, 0}));
    CHECK_OK(orr_tensor_zeros(&eout, ORR_F32, 1, (const int64_t[]){2}));
    CHECK_OK(orr_reduce(out, a, 1, ORR_SUM));
    CHECK_FAILS(orr_reduce(out, a, 0, ORR_SUM), ORR_ERR_SHAPE,
                "reduce: out is f32[3] but a is f32[3,4] reduced over dim 0");
    CHECK_FAILS(orr_reduce(out, a, 2, ORR_SUM), ORR_ERR_ARGUMENT, "dim 2 is out of range");
    CHECK_FAILS(orr_reduce(out, a, 1, (orr_reduce_op)9), ORR_ERR_ARGUMENT, "op 9");
    CHECK_FAILS(orr_reduce(eout, empty, 1, ORR_AMAX), ORR_ERR_SHAPE, "amax over dim 1");
    CHECK_OK(orr_reduce(eout, empty, 1, ORR_SUM));
    CHECK(orr_tensor_get(eout, 0) == 0);
    CHECK_FAILS(orr_reduce_all(empty, ORR_AMIN, &r), ORR_ERR_SHAPE, "amin of a f32[2,0]");
    CHECK_FAILS(orr_reduce_all(a, ORR_SUM, NULL), ORR_ERR_ARGUMENT, "result is NULL");
    CHECK_FAILS(orr_count_nonfinite(NULL, &count), ORR_ERR_ARGUMENT, "count_nonfinite: a is NULL");
    CHECK_FAILS(orr_softmax(out, a, 1), ORR_ERR_SHAPE, "softmax: out is f32[3] but a is f32[3,4]");
    CHECK_FAILS(orr_softmax(a, a, -3), ORR_ERR_ARGUMENT, "softmax: dim -3");
    orr_tensor_free(a), orr_tensor_free(out), orr_tensor_free(empty), orr_tensor_free(eout);
}

int main(void) {
    test_reduce_kernels();
    test_reduce_all_kernels();
    test_softmax_kernels();
    test_reduce_tensor();
    test_softmax_tensor();
    test_errors();
    return test_finish("test_reduce");
}
