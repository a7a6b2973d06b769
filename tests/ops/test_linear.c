/* test_linear.c — linear and matmul: the BLAS kernels against the scalar
 * reference (odd sizes, padded leading dims, bf16/f16 weights, broadcast and
 * transposed batches), the tensor ops on strided and non-f32 operands and
 * outputs, and their error paths. */
#include "linear.h"
#include "test_util.h"

static float *random_buffer(long n, unsigned seed) {
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    test_fill(v, n, seed);
    return v;
}

/* The 16-bit words of v rounded to dtype (bf16 or f16). */
static uint16_t *narrowed(const float *v, long n, orr_dtype dtype) {
    uint16_t *h = malloc(sizeof(uint16_t) * (size_t)(n ? n : 1));
    for (long i = 0; i < n; i++) h[i] = dtype == ORR_BF16 ? orr_f32_to_bf16(v[i]) : orr_f32_to_f16(v[i]);
    return h;
}

static void test_blas_layout(void) {
    bool t;
    int64_t ld;
    CHECK(orr_cpu_blas_layout(8, 1, 4, 8, &t, &ld) && !t && ld == 8);
    CHECK(orr_cpu_blas_layout(10, 1, 4, 8, &t, &ld) && !t && ld == 10); /* padded rows */
    CHECK(orr_cpu_blas_layout(1, 4, 4, 8, &t, &ld) && t && ld == 4);    /* a transposed view */
    CHECK(orr_cpu_blas_layout(0, 1, 1, 8, &t, &ld) && !t && ld == 8);   /* one row takes any stride */
    CHECK(orr_cpu_blas_layout(3, 7, 5, 1, &t, &ld) && !t && ld == 3);   /* one column */
    CHECK(orr_cpu_blas_layout(0, 1, 5, 0, &t, &ld));                   /* nothing to read */
    CHECK(!orr_cpu_blas_layout(0, 1, 4, 8, &t, &ld));                   /* broadcast rows */
    CHECK(!orr_cpu_blas_layout(16, 2, 4, 8, &t, &ld));                  /* no unit stride */
    CHECK(!orr_cpu_blas_layout(4, 1, 4, 8, &t, &ld));                   /* overlapping rows */
}

/* cpu vs ref over rows x in -> out with every weight dtype, with and
 * without bias, with contiguous and padded leading dims. */
static void test_linear_kernels(void) {
    static const int64_t cases[][3] = {
        {1, 1, 1},   {1, 7, 5},     {3, 17, 9},    {4, 33, 65},    {2, 1000, 600}, {5, 100, 37},
        {1, 257, 3}, {64, 129, 70}, {130, 257, 300}, {300, 64, 520}, {9, 4, 1},     {2, 0, 3}};
    static const orr_dtype dtypes[] = {ORR_F32, ORR_BF16, ORR_F16};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t rows = cases[c][0], in = cases[c][1], out = cases[c][2];
        for (int padded = 0; padded < 2; padded++) {
            const int64_t ldx = in + 3 * padded, ldy = out + 5 * padded, ldw = in + 2 * padded;
            float *x = random_buffer((long)(rows * ldx), 10 + (unsigned)c);
            float *w = random_buffer((long)(out * ldw), 20 + (unsigned)c);
            float *b = random_buffer((long)out, 30 + (unsigned)c);
            float *fast = calloc((size_t)(rows * ldy), sizeof(float));
            float *ref = calloc((size_t)(rows * ldy), sizeof(float));
            for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
                void *wd = dtypes[d] == ORR_F32 ? (void *)w : (void *)narrowed(w, (long)(out * ldw), dtypes[d]);
                for (int bias = 0; bias < 2; bias++) {
                    orr_ref_linear(ref, ldy, x, ldx, wd, dtypes[d], ldw, bias ? b : NULL, rows, in, out);
                    CHECK_OK(orr_cpu_linear(fast, ldy, x, ldx, wd, dtypes[d], ldw, bias ? b : NULL, rows, in, out));
                    char what[96];
                    snprintf(what, sizeof what, "linear %lldx%lldx%lld %s%s%s", (long long)rows, (long long)in,
                             (long long)out, orr_dtype_name(dtypes[d]), bias ? " +b" : "", padded ? " padded" : "");
                    CHECK_CLOSE(what, fast, ref, rows * ldy, 1e-5);
                }
                if (wd != w) free(wd);
            }
            free(x), free(w), free(b), free(fast), free(ref);
        }
    }
}

/* A matmul batch: c [2,3,m,n] = a [2,3,m,k] · b [1,3,k,n] (b broadcast over
 * dim 0), with a stored transposed ([.., k, m]) when a_t and c stored
 * transposed when c_t. */
static void check_matmul_batch(int64_t m, int64_t k, int64_t n, bool a_t, bool b_t, bool c_t) {
    orr_matmul_shape s = {.m = m, .k = k, .n = n, .batch_ndim = 2, .batch_shape = {2, 3}};
    float *a = random_buffer((long)(6 * m * k), 40), *b = random_buffer((long)(3 * k * n), 41);
    float *fast = calloc((size_t)(6 * m * n), sizeof(float)), *ref = calloc((size_t)(6 * m * n), sizeof(float));
    s.a_batch_stride[0] = 3 * m * k, s.a_batch_stride[1] = m * k;
    s.b_batch_stride[0] = 0, s.b_batch_stride[1] = k * n;
    s.c_batch_stride[0] = 3 * m * n, s.c_batch_stride[1] = m * n;
    s.a_rs = a_t ? 1 : k, s.a_cs = a_t ? m : 1;
    s.b_rs = b_t ? 1 : n, s.b_cs = b_t ? k : 1;
    s.c_rs = c_t ? 1 : n, s.c_cs = c_t ? m : 1;
    orr_ref_matmul(ref, a, b, &s);
    orr_cpu_matmul(fast, a, b, &s);
    char what[96];
    snprintf(what, sizeof what, "matmul %lldx%lldx%lld%s%s%s", (long long)m, (long long)k, (long long)n,
             a_t ? " a^T" : "", b_t ? " b^T" : "", c_t ? " c^T" : "");
    CHECK_CLOSE(what, fast, ref, 6 * m * n, 1e-5);
    free(a), free(b), free(fast), free(ref);
}

static void test_matmul_kernels(void) {
    static const int64_t cases[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 40, 130}, {200, 70, 90}, {5, 0, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int t = 0; t < 8; t++) check_matmul_batch(cases[c][0], cases[c][1], cases[c][2], t & 1, t & 2, t & 4);
    /* one large product, cut into blocks across the threads */
    orr_matmul_shape s = {.m = 333, .k = 250, .n = 517, .a_rs = 250, .a_cs = 1,
                          .b_rs = 517, .b_cs = 1, .c_rs = 517, .c_cs = 1};
    float *a = random_buffer(333 * 250, 42), *b = random_buffer(250 * 517, 43);
    float *fast = malloc(sizeof(float) * 333 * 517), *ref = malloc(sizeof(float) * 333 * 517);
    orr_ref_matmul(ref, a, b, &s);
    orr_cpu_matmul(fast, a, b, &s);
    CHECK_CLOSE("matmul 333x250x517", fast, ref, 333 * 517, 1e-5);
    free(a), free(b), free(fast), free(ref);
}

/* ---- tensor level ----------------------------------------------------------- */

static orr_tensor *filled(orr_dtype dtype, int ndim, const int64_t *shape, unsigned seed) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, dtype, ndim, shape));
    long n = (long)orr_tensor_numel(t);
    float *v = random_buffer(n, seed);
    for (long i = 0; i < n; i++) orr_tensor_set(t, i, v[i]);
    free(v);
    return t;
}

/* The logical elements of t as float32, row-major. */
static float *values_of(const orr_tensor *t) {
    long n = (long)orr_tensor_numel(t);
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (long i = 0; i < n; i++) v[i] = (float)orr_tensor_get(t, i);
    return v;
}

static orr_tensor *transposed(const orr_tensor *t, int d0, int d1) {
    orr_tensor *v = NULL;
    CHECK_OK(orr_tensor_transpose(&v, t, d0, d1));
    return v;
}

/* y = orr_linear(x, w, b) against the reference on the logical values. */
static void check_linear_op(const char *what, orr_tensor *y, const orr_tensor *x, const orr_tensor *w,
                            const orr_tensor *b) {
    int64_t in = w->shape[1], out = w->shape[0], rows = orr_tensor_numel(x) / (in ? in : 1);
    float *xv = values_of(x), *wv = values_of(w), *bv = b ? values_of(b) : NULL;
    float *ref = malloc(sizeof(float) * (size_t)(rows * out));
    orr_ref_linear(ref, out, xv, in, wv, ORR_F32, in, bv, rows, in, out);
    CHECK_OK(orr_linear(y, x, w, b));
    float *got = values_of(y);
    /* a bf16/f16 output holds ~3 significant digits */
    double tol = y->dtype == ORR_F32 ? 1e-5 : 1e-2;
    CHECK_CLOSE(what, got, ref, rows * out, tol);
    free(xv), free(wv), free(bv), free(ref), free(got);
}

static void test_linear_op(void) {
    const int64_t xs[3] = {2, 3, 37}, ws[2] = {29, 37}, ys[3] = {2, 3, 29}, bs[1] = {29};
    orr_tensor *x = filled(ORR_F32, 3, xs, 1), *w = filled(ORR_F32, 2, ws, 2), *b = filled(ORR_F32, 1, bs, 3);
    orr_tensor *y = NULL;
    CHECK_OK(orr_tensor_zeros(&y, ORR_F32, 3, ys));
    check_linear_op("linear op", y, x, w, b);
    check_linear_op("linear op without b", y, x, w, NULL);

    /* 16-bit weights and bias, x in bf16 */
    orr_tensor *w16 = filled(ORR_BF16, 2, ws, 2), *wh = filled(ORR_F16, 2, ws, 2), *b16 = filled(ORR_BF16, 1, bs, 3);
    orr_tensor *x16 = filled(ORR_BF16, 3, xs, 1);
    check_linear_op("linear op bf16 w", y, x, w16, b16);
    check_linear_op("linear op f16 w", y, x, wh, b);
    check_linear_op("linear op bf16 x", y, x16, w, b);

    /* x whose rows are strided (a slice of wider rows) is read in place;
     * x with permuted batch dims is copied */
    const int64_t wide[3] = {2, 3, 50};
    orr_tensor *xw = filled(ORR_F32, 3, wide, 4), *xn = NULL;
    CHECK_OK(orr_tensor_narrow(&xn, xw, 2, 5, 37));
    check_linear_op("linear op narrowed x", y, xn, w, b);
    orr_mem_stats before, after;
    orr_mem_reset_peak(ORR_CPU);
    orr_mem_get_stats(ORR_CPU, &before);
    CHECK_OK(orr_linear(y, xn, w, b));
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_peak == before.bytes_in_use); /* read in place, not copied */
    const int64_t xs_t[3] = {3, 2, 37};
    orr_tensor *xt_base = filled(ORR_F32, 3, xs_t, 5), *xt = transposed(xt_base, 0, 1);
    check_linear_op("linear op permuted x", y, xt, w, b);

    /* w: row-strided (narrowed columns) in place, transposed storage copied */
    const int64_t wwide[2] = {29, 40}, wt_shape[2] = {37, 29};
    orr_tensor *ww = filled(ORR_BF16, 2, wwide, 6), *wn = NULL;
    CHECK_OK(orr_tensor_narrow(&wn, ww, 1, 2, 37));
    check_linear_op("linear op narrowed bf16 w", y, x, wn, b);
    orr_tensor *wt_base = filled(ORR_F16, 2, wt_shape, 7), *wt = transposed(wt_base, 0, 1);
    check_linear_op("linear op transposed f16 w", y, x, wt, b);

    /* outputs: a column slice of a wider tensor (in place), a transposed
     * view and a bf16 tensor (through scratch) */
    const int64_t ywide[3] = {2, 3, 40}, yts[3] = {3, 2, 29};
    orr_tensor *yw = NULL, *yn = NULL, *yt_base = NULL, *y16 = NULL;
    CHECK_OK(orr_tensor_zeros(&yw, ORR_F32, 3, ywide));
    CHECK_OK(orr_tensor_narrow(&yn, yw, 2, 11, 29));
    check_linear_op("linear op into a slice", yn, x, w, b);
    CHECK(orr_tensor_get(yw, 10) == 0.0 && orr_tensor_get(yw, 40 * 5 + 10) == 0.0); /* outside the slice untouched */
    CHECK_OK(orr_tensor_zeros(&yt_base, ORR_F32, 3, yts));
    orr_tensor *yt = transposed(yt_base, 0, 1);
    check_linear_op("linear op into a transposed y", yt, x, w, b);
    CHECK_OK(orr_tensor_zeros(&y16, ORR_BF16, 3, ys));
    check_linear_op("linear op into bf16 y", y16, x, w, b);

    /* a 1-D x is one row */
    const int64_t x1s[1] = {37}, y1s[1] = {29};
    orr_tensor *x1 = filled(ORR_F32, 1, x1s, 8), *y1 = NULL;
    CHECK_OK(orr_tensor_zeros(&y1, ORR_F32, 1, y1s));
    check_linear_op("linear op 1-D x", y1, x1, w16, b);

    orr_tensor *all[] = {x, w, b, y, w16, wh, b16, x16, xw, xn, xt_base, xt,
                         ww, wn, wt_base, wt, yw, yn, yt_base, yt, y16, x1, y1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
}

/* c = orr_matmul(a, b) against the reference on logical values, with the
 * batch broadcast done by hand. */
static void check_matmul_op(const char *what, orr_tensor *c, const orr_tensor *a, const orr_tensor *b) {
    int64_t m = c->shape[c->ndim - 2], n = c->shape[c->ndim - 1], k = a->shape[a->ndim - 1];
    int64_t batch = orr_tensor_numel(c) / (m * n);
    float *av = values_of(a), *bv = values_of(b), *ref = malloc(sizeof(float) * (size_t)(batch * m * n));
    orr_matmul_shape s = {.m = m, .k = k, .n = n, .batch_ndim = c->ndim - 2, .a_rs = k, .a_cs = 1, .b_rs = n, .b_cs = 1,
                          .c_rs = n, .c_cs = 1};
    int64_t as = m * k, bs = k * n, cs = m * n;
    for (int d = s.batch_ndim - 1; d >= 0; d--) {
        int ad = d - (c->ndim - a->ndim), bd = d - (c->ndim - b->ndim);
        s.batch_shape[d] = c->shape[d];
        s.a_batch_stride[d] = ad >= 0 && a->shape[ad] > 1 ? as : 0;
        s.b_batch_stride[d] = bd >= 0 && b->shape[bd] > 1 ? bs : 0;
        s.c_batch_stride[d] = cs;
        if (ad >= 0) as *= a->shape[ad];
        if (bd >= 0) bs *= b->shape[bd];
        cs *= c->shape[d];
    }
    orr_ref_matmul(ref, av, bv, &s);
    CHECK_OK(orr_matmul(c, a, b));
    float *got = values_of(c);
    CHECK_CLOSE(what, got, ref, batch * m * n, 1e-5);
    free(av), free(bv), free(ref), free(got);
}

static void test_matmul_op(void) {
    /* attention-like: q [2,3,9,16] · k^T where k is [2,3,11,16] */
    const int64_t qs[4] = {2, 3, 9, 16}, ks[4] = {2, 3, 11, 16}, ss[4] = {2, 3, 9, 11};
    orr_tensor *q = filled(ORR_F32, 4, qs, 11), *k = filled(ORR_F32, 4, ks, 12), *kt = transposed(k, 2, 3);
    orr_tensor *scores = NULL;
    CHECK_OK(orr_tensor_zeros(&scores, ORR_F32, 4, ss));
    check_matmul_op("matmul q k^T", scores, q, kt);
    /* the transposed k goes to BLAS as it is: no temporary is allocated */
    orr_mem_stats before, after;
    orr_mem_reset_peak(ORR_CPU);
    orr_mem_get_stats(ORR_CPU, &before);
    CHECK_OK(orr_matmul(scores, q, kt));
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_peak == before.bytes_in_use);

    /* broadcast batch dims: [2,1,5,7] · [3,7,6] -> [2,3,5,6] */
    const int64_t as[4] = {2, 1, 5, 7}, bs[3] = {3, 7, 6}, cs[4] = {2, 3, 5, 6};
    orr_tensor *a = filled(ORR_F32, 4, as, 13), *b = filled(ORR_F32, 3, bs, 14), *c = NULL;
    CHECK_OK(orr_tensor_zeros(&c, ORR_F32, 4, cs));
    check_matmul_op("matmul broadcast", c, a, b);

    /* bf16 a (copied), a permuted-batch b, and a transposed c */
    orr_tensor *a16 = filled(ORR_BF16, 4, as, 15);
    const int64_t bp_shape[3] = {7, 3, 6};
    orr_tensor *bp_base = filled(ORR_F32, 3, bp_shape, 16), *bp = transposed(bp_base, 0, 1);
    const int64_t ct_shape[4] = {2, 3, 6, 5};
    orr_tensor *ct_base = NULL;
    CHECK_OK(orr_tensor_zeros(&ct_base, ORR_F32, 4, ct_shape));
    orr_tensor *ct = transposed(ct_base, 2, 3);
    check_matmul_op("matmul bf16 a, permuted b, transposed c", ct, a16, bp);
    /* c in bf16 goes through scratch */
    orr_tensor *c16 = NULL;
    CHECK_OK(orr_tensor_zeros(&c16, ORR_BF16, 4, cs));
    CHECK_OK(orr_matmul(c16, a, b));
    float *want = values_of(c), *got = values_of(c16);
    CHECK_CLOSE("matmul into bf16 c", got, want, 2 * 3 * 5 * 6, 1e-2);
    free(want), free(got);

    orr_tensor *all[] = {q, k, kt, scores, a, b, c, a16, bp_base, bp, ct_base, ct, c16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
}

/* ---- hand-checked values ---------------------------------------------------- */

/* nn.Linear(2, 3) with w = [[1,2],[3,4],[5,6]], b = [0.5,-1,0]:
 * x = [1,-1] gives [1-2+0.5, 3-4-1, 5-6] = [-0.5, -2, -1]. */
static void test_hand_values(void) {
    const float w[6] = {1, 2, 3, 4, 5, 6}, b[3] = {0.5f, -1, 0}, x[2] = {1, -1};
    float y[3];
    CHECK_OK(orr_cpu_linear(y, 3, x, 2, w, ORR_F32, 2, b, 1, 2, 3));
    CHECK_NEAR(y[0], -0.5, 1e-6);
    CHECK_NEAR(y[1], -2.0, 1e-6);
    CHECK_NEAR(y[2], -1.0, 1e-6);
    /* [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]] */
    const float a[4] = {1, 2, 3, 4}, bm[4] = {5, 6, 7, 8};
    float c[4];
    orr_matmul_shape s = {.m = 2, .k = 2, .n = 2, .a_rs = 2, .a_cs = 1, .b_rs = 2, .b_cs = 1, .c_rs = 2, .c_cs = 1};
    orr_cpu_matmul(c, a, bm, &s);
    CHECK(c[0] == 19 && c[1] == 22 && c[2] == 43 && c[3] == 50);
}

/* ---- errors ----------------------------------------------------------------- */

static void test_errors(void) {
    const int64_t xs[2] = {4, 48}, ws[2] = {64, 32}, ys[2] = {4, 64}, bad_b[1] = {7}, ys_bad[2] = {4, 63};
    orr_tensor *x = filled(ORR_F32, 2, xs, 1), *w = filled(ORR_F32, 2, ws, 2), *y = NULL, *b = NULL, *y_bad = NULL;
    CHECK_OK(orr_tensor_zeros(&y, ORR_F32, 2, ys));
    CHECK_OK(orr_tensor_zeros(&b, ORR_F32, 1, bad_b));
    CHECK_OK(orr_tensor_zeros(&y_bad, ORR_F32, 2, ys_bad));
    CHECK_FAILS(orr_linear(y, x, w, NULL), ORR_ERR_SHAPE, "w is f32[64,32] but x's last dim is 48");
    const int64_t ws_ok[2] = {64, 48}, w3s[3] = {2, 64, 48};
    orr_tensor *w_ok = filled(ORR_F32, 2, ws_ok, 3), *wi = NULL, *w3 = NULL;
    CHECK_FAILS(orr_linear(y, x, w_ok, b), ORR_ERR_SHAPE, "b is f32[7] but w has 64 rows");
    CHECK_FAILS(orr_linear(y_bad, x, w_ok, NULL), ORR_ERR_SHAPE, "y is f32[4,63]");
    CHECK_OK(orr_tensor_zeros(&wi, ORR_I32, 2, ws_ok));
    CHECK_FAILS(orr_linear(y, x, wi, NULL), ORR_ERR_DTYPE, "w is i32[64,48]");
    CHECK_OK(orr_tensor_zeros(&w3, ORR_F32, 3, w3s));
    CHECK_FAILS(orr_linear(y, x, w3, NULL), ORR_ERR_SHAPE, "w is f32[2,64,48]");
    CHECK_FAILS(orr_linear(y, NULL, w_ok, NULL), ORR_ERR_ARGUMENT, "linear: x is NULL");
    x->device = ORR_CUDA; /* a stand-in for a device tensor: only the field is read */
    CHECK_FAILS(orr_linear(y, x, w_ok, NULL), MIXED_DEVICE_STATUS, "linear: x is on cuda");
    x->device = ORR_CPU;

    const int64_t as[3] = {2, 4, 5}, bs[3] = {3, 6, 7}, bs_ok[3] = {3, 5, 7}, cs[3] = {2, 4, 7}, c_ok[3] = {3, 4, 7};
    orr_tensor *a = filled(ORR_F32, 3, as, 4), *bb = filled(ORR_F32, 3, bs, 5), *bk = filled(ORR_F32, 3, bs_ok, 6);
    orr_tensor *c = NULL, *c3 = NULL;
    CHECK_OK(orr_tensor_zeros(&c, ORR_F32, 3, cs));
    CHECK_OK(orr_tensor_zeros(&c3, ORR_F32, 3, c_ok));
    CHECK_FAILS(orr_matmul(c, a, bb), ORR_ERR_SHAPE, "a's last dim 5 must equal b's dim -2");
    CHECK_FAILS(orr_matmul(c, a, bk), ORR_ERR_SHAPE, "do not broadcast");
    const int64_t a1s[3] = {1, 4, 5};
    orr_tensor *a1 = filled(ORR_F32, 3, a1s, 7);
    CHECK_OK(orr_matmul(c3, a1, bk));
    CHECK_FAILS(orr_matmul(c, a1, bk), ORR_ERR_SHAPE, "c is f32[2,4,7]");
    CHECK_FAILS(orr_matmul(c, x, bk), ORR_ERR_SHAPE, "a's last dim 48");
    const int64_t vs[1] = {5};
    orr_tensor *v = filled(ORR_F32, 1, vs, 8);
    CHECK_FAILS(orr_matmul(c, a, v), ORR_ERR_SHAPE, "at least 2 dims");
    bk->device = ORR_CUDA;
    CHECK_FAILS(orr_matmul(c3, a1, bk), MIXED_DEVICE_STATUS, "matmul: b is on cuda");
    bk->device = ORR_CPU;

    orr_tensor *all[] = {x, w, y, b, y_bad, w_ok, wi, w3, a, bb, bk, c, c3, a1, v};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
}

int main(void) {
    test_blas_layout();
    test_linear_kernels();
    test_matmul_kernels();
    test_linear_op();
    test_matmul_op();
    test_hand_values();
    test_errors();
    return test_finish("test_linear");
}
