/* test_elementwise.c — binary/unary/affine kernels (fast vs reference) and
 * the tensor ops orr_binary, orr_unary, orr_affine, orr_fill. */
#include "elementwise.h"
#include "test_util.h"

/* Element by element: NaN where the reference is NaN, the same infinity,
 * else within rtol of max(1, |ref|). */
static void check_each(const char *what, const float *got, const float *ref, long n, double rtol) {
    long bad = 0, first = -1;
    for (long i = 0; i < n; i++) {
        bool ok = isnan(ref[i])   ? isnan(got[i])
                  : isinf(ref[i]) ? got[i] == ref[i]
                                  : fabs((double)got[i] - ref[i]) <= rtol * fmax(1.0, fabs(ref[i]));
        if (!ok && bad++ == 0) first = i;
    }
    CHECK(bad == 0);
    if (bad)
        fprintf(stderr, "  %s: %ld of %ld differ, first at %ld: %.9g vs ref %.9g\n", what, bad, n, first,
                got[first], ref[first]);
}

static void test_binary_kernels(void) {
    static const struct {
        int ndim;
        int64_t out[4], a[4], b[4]; /* a/b shapes already padded to ndim */
    } cases[] = {
        {2, {7, 13}, {7, 13}, {1, 13}},
        {2, {7, 13}, {7, 1}, {1, 13}},
        {2, {7, 13}, {7, 1}, {7, 1}}, /* both broadcast along the run */
        {3, {5, 4, 3}, {5, 1, 3}, {1, 4, 1}},
        {1, {3 * 16384 + 5}, {3 * 16384 + 5}, {3 * 16384 + 5}}, /* one run cut into blocks */
        {2, {3, 20001}, {1, 20001}, {3, 1}},
        {4, {2, 3, 1, 9}, {2, 1, 1, 9}, {2, 3, 1, 1}},
        {0, {0}, {0}, {0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int nd = cases[c].ndim;
        int64_t n = 1, na = 1, nb = 1, sa[4], sb[4];
        for (int d = nd - 1; d >= 0; d--) {
            sa[d] = cases[c].a[d] == 1 ? 0 : na;
            sb[d] = cases[c].b[d] == 1 ? 0 : nb;
            n *= cases[c].out[d];
            na *= cases[c].a[d];
            nb *= cases[c].b[d];
        }
        float *a = malloc(sizeof(float) * (size_t)na), *b = malloc(sizeof(float) * (size_t)nb);
        float *fast = malloc(sizeof(float) * (size_t)n), *ref = malloc(sizeof(float) * (size_t)n);
        test_fill(a, na, 1 + (unsigned)c);
        test_fill(b, nb, 100 + (unsigned)c);
        b[0] = 0.0f; /* a division by zero and a NaN in the mix */
        a[na - 1] = NAN;
        for (int op = ORR_ADD; op <= ORR_MIN; op++) {
            orr_ref_binary(ref, a, sa, b, sb, nd, cases[c].out, (orr_binary_op)op);
            orr_cpu_binary(fast, a, sa, b, sb, nd, cases[c].out, (orr_binary_op)op);
            char what[64];
            snprintf(what, sizeof what, "binary case %zu op %d", c, op);
            check_each(what, fast, ref, (long)n, 0.0);
        }
        free(a), free(b), free(fast), free(ref);
    }
    /* torch.maximum/minimum propagate NaN from either side */
    float x[2] = {NAN, 1.0f}, y[2] = {1.0f, NAN}, o[2];
    int64_t s1[1] = {1}, sh[1] = {2};
    orr_cpu_binary(o, x, s1, y, s1, 1, sh, ORR_MAX);
    CHECK(isnan(o[0]) && isnan(o[1]));
    orr_cpu_binary(o, x, s1, y, s1, 1, sh, ORR_MIN);
    CHECK(isnan(o[0]) && isnan(o[1]));
}

static void test_unary_kernels(void) {
    enum { N = 40000 + 7 };
    float *a = malloc(sizeof(float) * N), *fast = malloc(sizeof(float) * N), *ref = malloc(sizeof(float) * N);
    test_fill(a, N, 7);
    for (long i = 0; i < N; i++) a[i] *= i % 3 ? 12.0f : 95.0f; /* the saturating ranges too */
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-30f, -1e-30f, 88.7f, 88.8f, -87.5f,
                             -103.0f, -110.0f, 0.6249f, 0.6251f, -0.625f, 1e20f, -1e20f, 5.0f, -5.0f, 3e-8f};
    memcpy(a, special, sizeof special);
    for (int op = ORR_IDENTITY; op <= ORR_COS; op++) {
        orr_ref_unary(ref, a, N, (orr_unary_op)op);
        orr_cpu_unary(fast, a, N, (orr_unary_op)op);
        char what[32];
        snprintf(what, sizeof what, "unary op %d", op);
        check_each(what, fast, ref, N, 4e-7);
        /* the same on an odd length that ends mid-vector, in place */
        memcpy(fast, a, sizeof(float) * 13);
        orr_cpu_unary(fast, fast, 13, (orr_unary_op)op);
        check_each(what, fast, ref, 13, 4e-7);
    }
    /* tails where 1 + erf and 1 + tanh cancel: small absolute errors only */
    for (long i = 0; i < N; i++) a[i] = -10.0f + 20.0f * (float)i / N;
    for (int op = ORR_GELU_TANH; op <= ORR_GELU_ERF; op++) {
        orr_ref_unary(ref, a, N, (orr_unary_op)op);
        orr_cpu_unary(fast, a, N, (orr_unary_op)op);
        CHECK_CLOSE("gelu over [-10, 10]", fast, ref, N, 3e-7);
    }
    orr_ref_affine(ref, a, N, -1.5f, 0.25f);
    orr_cpu_affine(fast, a, N, -1.5f, 0.25f);
    check_each("affine", fast, ref, N, 0.0);
    free(a), free(fast), free(ref);
}

/* The definitions evaluated in double (PyTorch's float32 results round
 * these; gelu(1) is 0.8411920 in the tanh form, 0.8413447 with erf). */
static void test_hand_values(void) {
    const float x[4] = {1.0f, -1.0f, 0.0f, 3.0f};
    float y[4];
    const struct {
        orr_unary_op op;
        float want[4];
    } expect[] = {
        {ORR_GELU_TANH, {0.841191991f, -0.158808009f, 0.0f, 2.996362608f}},
        {ORR_GELU_ERF, {0.841344746f, -0.158655254f, 0.0f, 2.995950306f}},
        {ORR_SILU, {0.731058579f, -0.268941421f, 0.0f, 2.857722380f}},
        {ORR_SIGMOID, {0.731058579f, 0.268941421f, 0.5f, 0.952574127f}},
        {ORR_RELU, {1.0f, 0.0f, 0.0f, 3.0f}},
    };
    for (size_t e = 0; e < sizeof expect / sizeof expect[0]; e++) {
        orr_cpu_unary(y, x, 4, expect[e].op);
        for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], expect[e].want[i], 4e-7);
        orr_ref_unary(y, x, 4, expect[e].op);
        for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], expect[e].want[i], 4e-7);
    }
}

/* orr_binary on a transposed f32 view and a bf16 row into a non-contiguous
 * f16 out; expected values from orr_tensor_get. */
static void test_binary_tensor(void) {
    const int64_t big[2] = {5, 7}, row[1] = {5}, wide[2] = {7, 10};
    orr_tensor *base = test_tensor_filled(ORR_F32, 2, big, 1, 3.0f), *b = test_tensor_filled(ORR_BF16, 1, row, 2, 1.0f);
    orr_tensor *out_base = NULL, *a = NULL, *out = NULL;
    CHECK_OK(orr_tensor_transpose(&a, base, 0, 1)); /* [7,5], strides (1,7) */
    CHECK_OK(orr_tensor_zeros(&out_base, ORR_F16, 2, wide));
    CHECK_OK(orr_tensor_narrow(&out, out_base, 1, 2, 5)); /* [7,5] inside [7,10] */
    const orr_binary_op ops[] = {ORR_ADD, ORR_SUB, ORR_MUL, ORR_DIV, ORR_MAX, ORR_MIN};
    for (int k = 0; k < 6; k++) {
        CHECK_OK(orr_binary(out, a, b, ops[k]));
        double worst = 0;
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 5; j++) {
                float x = (float)orr_tensor_get(a, i * 5 + j), y = (float)orr_tensor_get(b, j), want;
                switch (ops[k]) {
                case ORR_ADD: want = x + y; break;
                case ORR_SUB: want = x - y; break;
                case ORR_MUL: want = x * y; break;
                case ORR_DIV: want = x / y; break;
                case ORR_MAX: want = x > y ? x : y; break;
                default: want = x < y ? x : y; break;
                }
                want = orr_f16_to_f32(orr_f32_to_f16(want));
                worst = fmax(worst, fabs(orr_tensor_get(out, i * 5 + j) - want));
            }
        CHECK(worst == 0);
    }
    /* the columns around the view stay untouched */
    CHECK(orr_tensor_get(out_base, 0) == 0 && orr_tensor_get(out_base, 9) == 0);

    /* a scalar (0-d) operand broadcasts everywhere */
    orr_tensor *s = NULL;
    CHECK_OK(orr_tensor_empty(&s, ORR_I32, 0, NULL));
    orr_tensor_set(s, 0, 2);
    CHECK_OK(orr_binary(out, a, s, ORR_MUL));
    CHECK(orr_tensor_get(out, 3) == orr_f16_to_f32(orr_f32_to_f16(2.0f * (float)orr_tensor_get(a, 3))));

    /* in place: out is a */
    orr_tensor *c = test_tensor_filled(ORR_F32, 2, big, 3, 1.0f);
    double c0 = orr_tensor_get(c, 4);
    CHECK_OK(orr_binary(c, c, c, ORR_ADD));
    CHECK(orr_tensor_get(c, 4) == 2 * c0);

    orr_tensor_free(base), orr_tensor_free(b), orr_tensor_free(out_base), orr_tensor_free(a);
    orr_tensor_free(out), orr_tensor_free(s), orr_tensor_free(c);
}

static void test_unary_affine_fill_tensor(void) {
    const int64_t shape[3] = {3, 4, 5};
    orr_tensor *x = test_tensor_filled(ORR_F16, 3, shape, 4, 4.0f), *xp = NULL, *y = NULL, *yp = NULL;
    const int order[3] = {2, 0, 1};
    CHECK_OK(orr_tensor_permute(&xp, x, order)); /* [5,3,4] */
    const int64_t pshape[3] = {5, 3, 4};
    CHECK_OK(orr_tensor_empty(&y, ORR_BF16, 3, (const int64_t[]){4, 5, 3}));
    CHECK_OK(orr_tensor_permute(&yp, y, (const int[]){1, 2, 0})); /* [5,3,4], non-contiguous */
    CHECK(yp->shape[0] == pshape[0] && yp->shape[1] == pshape[1] && yp->shape[2] == pshape[2]);
    CHECK_OK(orr_unary(yp, xp, ORR_GELU_ERF));
    double worst = 0;
    for (int i = 0; i < 60; i++) {
        float v = (float)orr_tensor_get(xp, i), want = 0.5f * v * (1.0f + erff(v * 0.70710678f));
        worst = fmax(worst, fabs(orr_tensor_get(yp, i) - orr_bf16_to_f32(orr_f32_to_bf16(want))) / fmax(1, fabs(want)));
    }
    CHECK(worst <= 1.0 / 128); /* one bf16 ulp */
    CHECK_OK(orr_affine(yp, xp, 2.0f, -1.0f));
    CHECK(orr_tensor_get(yp, 7) == orr_bf16_to_f32(orr_f32_to_bf16(2.0f * (float)orr_tensor_get(xp, 7) - 1.0f)));

    /* fill keeps int64 values exact and leaves what is outside a view */
    orr_tensor *ids = NULL, *col = NULL;
    CHECK_OK(orr_tensor_zeros(&ids, ORR_I64, 2, (const int64_t[]){3, 4}));
    CHECK_OK(orr_tensor_select(&col, ids, 1, 2));
    const double big = 1099511627777.0; /* 2^40 + 1 */
    CHECK_OK(orr_fill(col, big));
    for (int i = 0; i < 3; i++) CHECK(((int64_t *)ids->data)[i * 4 + 2] == 1099511627777LL);
    CHECK(((int64_t *)ids->data)[1] == 0);
    CHECK_OK(orr_fill(yp, -0.5));
    CHECK(orr_tensor_get(y, 17) == -0.5);

    orr_tensor_free(x), orr_tensor_free(xp), orr_tensor_free(y), orr_tensor_free(yp);
    orr_tensor_free(ids), orr_tensor_free(col);
}

static void test_errors(void) {
    orr_tensor *a = NULL, *b = NULL, *out = NULL, *wrong = NULL;
    CHECK_OK(orr_tensor_zeros(&a, ORR_F32, 2, (const int64_t[]){2, 3}));
    CHECK_OK(orr_tensor_zeros(&b, ORR_F32, 1, (const int64_t[]){4}));
    CHECK_OK(orr_tensor_zeros(&out, ORR_F32, 2, (const int64_t[]){2, 3}));
    CHECK_OK(orr_tensor_zeros(&wrong, ORR_F32, 2, (const int64_t[]){3, 3}));
    CHECK_FAILS(orr_binary(out, a, b, ORR_ADD), ORR_ERR_SHAPE, "do not broadcast");
    CHECK_FAILS(orr_binary(wrong, a, a, ORR_ADD), ORR_ERR_SHAPE,
                "binary: out is f32[3,3] but a and b broadcast to [2,3]");
    CHECK_FAILS(orr_binary(out, a, a, (orr_binary_op)17), ORR_ERR_ARGUMENT, "op 17");
    CHECK_FAILS(orr_binary(out, NULL, a, ORR_ADD), ORR_ERR_ARGUMENT, "binary: a is NULL");
    CHECK_FAILS(orr_unary(wrong, a, ORR_EXP), ORR_ERR_SHAPE, "unary: out is f32[3,3] but a is f32[2,3]");
    CHECK_FAILS(orr_unary(out, a, (orr_unary_op)99), ORR_ERR_ARGUMENT, "unary: op 99");
    CHECK_FAILS(orr_affine(out, b, 1.0f, 0.0f), ORR_ERR_SHAPE, "affine: out");
    CHECK_FAILS(orr_fill(NULL, 1.0), ORR_ERR_ARGUMENT, "fill: out is NULL");
    orr_tensor_free(a), orr_tensor_free(b), orr_tensor_free(out), orr_tensor_free(wrong);
}

int main(void) {
    test_binary_kernels();
    test_unary_kernels();
    test_hand_values();
    test_binary_tensor();
    test_unary_affine_fill_tensor();
    test_errors();
    return test_finish("test_elementwise");
}
