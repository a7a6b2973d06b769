/* test_conv.c — conv3d/conv2d and avg_pool3d: the im2col+sgemm kernel
 * against the scalar reference over the shapes the Cosmos tokenizers use
 * (1x1x1, (1,3,3), (3,1,1), (3,3,3), strides, causal padding, groups, odd
 * sizes; one case through its Winograd dispatch, which test_conv_winograd.c
 * covers in depth), values worked by hand, the tensor ops on strided and
 * non-f32 operands and outputs, and their error paths. */
#include "conv.h"
#include "test_util.h"

static float *random_buffer(long n, unsigned seed) {
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    test_fill(v, n, seed);
    return v;
}

/* A contiguous geometry: x [batch, cin, in...], w [cout, cin/groups, k...]. */
static orr_conv_shape geometry(int64_t batch, int64_t cin, int64_t cout, int64_t groups, const int64_t in[3],
                               const int64_t kernel[3], const int64_t stride[3], const int64_t padding[3],
                               const int64_t dilation[3], int64_t causal_pad) {
    orr_conv_shape s = {.batch = batch, .in_channels = cin, .out_channels = cout, .groups = groups,
                        .causal_pad = causal_pad};
    for (int a = 0; a < 3; a++) {
        s.in[a] = in[a];
        s.kernel[a] = kernel[a];
        s.stride[a] = stride[a];
        s.padding[a] = padding[a];
        s.dilation[a] = dilation[a];
    }
    for (int a = 0; a < 3; a++) s.out[a] = orr_conv_out_extent(&s, a);
    int64_t in_plane = in[0] * in[1] * in[2], out_plane = s.out[0] * s.out[1] * s.out[2];
    s.x_stride[0] = cin * in_plane, s.x_stride[1] = in_plane;
    s.y_stride[0] = cout * out_plane, s.y_stride[1] = out_plane;
    return s;
}

static void check_conv_kernel(const char *what, const orr_conv_shape *s) {
    int64_t wn = s->out_channels * s->in_channels / s->groups * s->kernel[0] * s->kernel[1] * s->kernel[2];
    int64_t xn = s->batch * s->x_stride[0], yn = s->batch * s->y_stride[0];
    float *x = random_buffer((long)xn, 1), *w = random_buffer((long)wn, 2);
    float *b = random_buffer((long)s->out_channels, 3);
    float *fast = calloc((size_t)yn, sizeof(float)), *ref = calloc((size_t)yn, sizeof(float));
    for (int bias = 0; bias < 2; bias++) {
        orr_ref_conv3d(ref, x, w, bias ? b : NULL, s);
        CHECK_OK(orr_cpu_conv3d(fast, x, w, bias ? b : NULL, s));
        char label[160];
        snprintf(label, sizeof label, "%s (k %lldx%lldx%lld, %lld->%lld, groups %lld)%s", what,
                 (long long)s->kernel[0], (long long)s->kernel[1], (long long)s->kernel[2],
                 (long long)s->in_channels, (long long)s->out_channels, (long long)s->groups, bias ? " +b" : "");
        CHECK_CLOSE(label, fast, ref, yn, 1e-5);
    }
    free(x), free(w), free(b), free(fast), free(ref);
}

static void test_conv_kernels(void) {
    struct {
        const char *what;
        int64_t batch, cin, cout, groups, in[3], kernel[3], stride[3], padding[3], dilation[3], causal;
    } cases[] = {
        {"pointwise", 2, 16, 8, 1, {3, 9, 11}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, 0},
        {"pointwise causal", 1, 5, 7, 1, {3, 4, 5}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, 1},
        {"pointwise strided", 1, 6, 4, 1, {3, 7, 9}, {1, 1, 1}, {1, 2, 2}, {0, 0, 0}, {1, 1, 1}, 0},
        /* too few channel pairs for the Winograd kernel: im2col */
        {"spatial", 1, 5, 5, 1, {5, 9, 11}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 0},
        /* dispatched to conv_winograd.c */
        {"spatial, Winograd", 2, 40, 24, 1, {3, 11, 13}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 0},
        {"temporal causal", 2, 6, 9, 1, {5, 4, 3}, {3, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, 2},
        {"full 3x3x3", 1, 3, 4, 1, {4, 6, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 0},
        {"3x3x3 stride 2 causal", 1, 5, 6, 1, {5, 9, 11}, {3, 3, 3}, {2, 2, 2}, {0, 1, 1}, {1, 1, 1}, 2},
        {"downsample spatial", 1, 8, 8, 1, {3, 9, 9}, {1, 3, 3}, {1, 2, 2}, {0, 0, 0}, {1, 1, 1}, 0},
        {"downsample temporal", 1, 8, 8, 1, {6, 4, 4}, {3, 1, 1}, {2, 1, 1}, {0, 0, 0}, {1, 1, 1}, 1},
        {"groups", 2, 6, 4, 2, {3, 5, 6}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 1},
        {"depthwise", 1, 5, 5, 5, {2, 6, 7}, {2, 2, 2}, {1, 2, 2}, {0, 0, 0}, {1, 1, 1}, 0},
        {"dilated", 1, 4, 3, 1, {5, 9, 10}, {2, 3, 3}, {1, 1, 2}, {1, 2, 2}, {2, 2, 3}, 1},
        {"padding and causal in time", 1, 3, 2, 1, {2, 3, 3}, {3, 1, 1}, {1, 1, 1}, {1, 0, 0}, {1, 1, 1}, 1},
        {"many tiles", 1, 48, 40, 1, {5, 13, 17}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 2},
        {"few positions, many channels", 1, 32, 160, 1, {3, 4, 4}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 1},
        {"wide pointwise", 1, 40, 48, 1, {3, 40, 41}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, 0},
        {"deep input, K in chunks", 1, 512, 16, 1, {2, 12, 12}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 1},
        {"kernel as large as input", 1, 3, 2, 1, {2, 3, 4}, {2, 3, 4}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        orr_conv_shape s = geometry(cases[c].batch, cases[c].cin, cases[c].cout, cases[c].groups, cases[c].in,
                                    cases[c].kernel, cases[c].stride, cases[c].padding, cases[c].dilation,
                                    cases[c].causal);
        check_conv_kernel(cases[c].what, &s);
    }
    /* x and y as slices of bigger tensors: channel strides past the plane */
    const int64_t in[3] = {4, 6, 5}, k[3] = {3, 3, 3}, st[3] = {1, 1, 1}, pad[3] = {0, 1, 1}, dil[3] = {1, 1, 1};
    orr_conv_shape s = geometry(2, 4, 3, 1, in, k, st, pad, dil, 2);
    s.x_stride[1] += 17, s.x_stride[0] = 4 * s.x_stride[1] + 5;
    s.y_stride[1] += 11, s.y_stride[0] = 3 * s.y_stride[1] + 3;
    check_conv_kernel("strided channels", &s);
    const int64_t pin[3] = {3, 5, 5}, pk[3] = {1, 1, 1}, pp[3] = {0, 0, 0};
    s = geometry(2, 6, 5, 1, pin, pk, st, pp, dil, 0);
    s.x_stride[1] += 9, s.x_stride[0] = 6 * s.x_stride[1];
    s.y_stride[1] += 2, s.y_stride[0] = 5 * s.y_stride[1] + 1;
    check_conv_kernel("strided channels pointwise", &s);
    const int64_t tk[3] = {3, 1, 1};
    s = geometry(2, 6, 5, 1, in, tk, st, pp, dil, 2);
    s.x_stride[1] += 7, s.x_stride[0] = 6 * s.x_stride[1] + 2;
    s.y_stride[1] += 5, s.y_stride[0] = 5 * s.y_stride[1];
    check_conv_kernel("strided channels temporal", &s);
}

static void test_pool_kernels(void) {
    static const int64_t cases[][9] = {/* in t,h,w; kernel; stride */
                                       {5, 8, 8, 1, 2, 2, 1, 2, 2},
                                       {6, 3, 5, 2, 1, 1, 2, 1, 1},
                                       {7, 9, 10, 2, 3, 2, 1, 2, 3},
                                       {1, 1, 1, 1, 1, 1, 1, 1, 1},
                                       {4, 33, 17, 3, 3, 3, 3, 3, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t *in = cases[c], *k = cases[c] + 3, *st = cases[c] + 6;
        int64_t out[3], planes = 6;
        for (int a = 0; a < 3; a++) out[a] = (in[a] - k[a]) / st[a] + 1;
        long xn = (long)(planes * in[0] * in[1] * in[2]), yn = (long)(planes * out[0] * out[1] * out[2]);
        float *x = random_buffer(xn, 7);
        float *fast = malloc(sizeof(float) * (size_t)yn), *ref = malloc(sizeof(float) * (size_t)yn);
        orr_ref_avg_pool3d(ref, x, planes, in, k, st, out);
        orr_cpu_avg_pool3d(fast, x, planes, in, k, st, out);
        CHECK_CLOSE("avg_pool3d", fast, ref, yn, 1e-6);
        free(x), free(fast), free(ref);
    }
}

/* ---- hand-checked values ---------------------------------------------------- */

static void test_hand_values(void) {
    const int64_t one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
    float y[4];
    /* CausalConv3d, kernel (3,1,1), causal_pad 2 over frames [1,2,3]: the
     * padded sequence is [1,1,1,2,3] and w[0] meets the earliest frame
     * (cross-correlation, as nn.Conv3d): 1+10+100, 1+10+200, 1+20+300. */
    {
        const float x[3] = {1, 2, 3}, w[3] = {1, 10, 100}, b[1] = {0.5f};
        const int64_t in[3] = {3, 1, 1}, k[3] = {3, 1, 1};
        orr_conv_shape s = geometry(1, 1, 1, 1, in, k, one, zero, one, 2);
        CHECK(s.out[0] == 3);
        CHECK_OK(orr_cpu_conv3d(y, x, w, b, &s));
        CHECK_NEAR(y[0], 111.5, 1e-5);
        CHECK_NEAR(y[1], 211.5, 1e-5);
        CHECK_NEAR(y[2], 321.5, 1e-5);
    }
    /* x = 1..9 on a 3x3 plane, w picking top-left minus bottom-right: an
     * unflipped kernel gives 1 - 9 (a true convolution would give 9 - 1). */
    const float x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const int64_t in9[3] = {1, 3, 3}, k9[3] = {1, 3, 3};
    {
        const float w[9] = {1, 0, 0, 0, 0, 0, 0, 0, -1};
        orr_conv_shape s = geometry(1, 1, 1, 1, in9, k9, one, zero, one, 0);
        CHECK_OK(orr_cpu_conv3d(y, x9, w, NULL, &s));
        CHECK_NEAR(y[0], -8.0, 1e-6);
    }
    /* a 3x3 box sum with padding 1 and stride 2 reads the four corners'
     * neighbourhoods: 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9 */
    {
        const float w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
        const int64_t st[3] = {1, 2, 2}, pad[3] = {0, 1, 1};
        orr_conv_shape s = geometry(1, 1, 1, 1, in9, k9, st, pad, one, 0);
        CHECK(s.out[1] == 2 && s.out[2] == 2);
        CHECK_OK(orr_cpu_conv3d(y, x9, w, NULL, &s));
        CHECK(y[0] == 12 && y[1] == 16 && y[2] == 24 && y[3] == 28);
    }
    /* groups 2: each output channel sees only its own input channel */
    {
        const float x[2] = {3, 5}, w[2] = {2, 10};
        orr_conv_shape s = geometry(1, 2, 2, 2, one, one, one, zero, one, 0);
        CHECK_OK(orr_cpu_conv3d(y, x, w, NULL, &s));
        CHECK(y[0] == 6 && y[1] == 50);
    }
    /* the mean of 1..8 */
    {
        const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        const int64_t in[3] = {2, 2, 2}, k[3] = {2, 2, 2};
        orr_cpu_avg_pool3d(y, x, 1, in, k, k, one);
        CHECK_NEAR(y[0], 4.5, 1e-6);
    }
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

static orr_tensor *zeros(orr_dtype dtype, int ndim, const int64_t *shape) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_zeros(&t, dtype, ndim, shape));
    return t;
}

static float *values_of(const orr_tensor *t) {
    long n = (long)orr_tensor_numel(t);
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (long i = 0; i < n; i++) v[i] = (float)orr_tensor_get(t, i);
    return v;
}

/* The reference geometry of a conv op call (5-D, or 4-D for conv2d). */
static orr_conv_shape op_geometry(const orr_tensor *x, const orr_tensor *w, const orr_conv_params *p) {
    int first = 5 - x->ndim; /* 0 for 3-D, 1 for 2-D */
    int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, st[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
    for (int a = first; a < 3; a++) {
        in[a] = x->shape[2 + a - first];
        k[a] = w->shape[2 + a - first];
        st[a] = p->stride[a], pad[a] = p->padding[a], dil[a] = p->dilation[a];
    }
    return geometry(x->shape[0], x->shape[1], w->shape[0], p->groups, in, k, st, pad, dil, p->causal_pad);
}

static void check_conv_op(const char *what, orr_tensor *y, const orr_tensor *x, const orr_tensor *w,
                          const orr_tensor *b, const orr_conv_params *p) {
    orr_conv_shape s = op_geometry(x, w, p);
    float *xv = values_of(x), *wv = values_of(w), *bv = b ? values_of(b) : NULL;
    long yn = (long)(s.batch * s.y_stride[0]);
    float *ref = malloc(sizeof(float) * (size_t)yn);
    orr_ref_conv3d(ref, xv, wv, bv, &s);
    CHECK_OK(x->ndim == 5 ? orr_conv3d(y, x, w, b, p) : orr_conv2d(y, x, w, b, p));
    CHECK(orr_tensor_numel(y) == yn);
    float *got = values_of(y);
    CHECK_CLOSE(what, got, ref, yn, y->dtype == ORR_F32 ? 1e-5 : 1e-2);
    free(xv), free(wv), free(bv), free(ref), free(got);
}

static void test_conv_ops(void) {
    orr_conv_params p;
    orr_conv_params_init(&p);
    CHECK(p.stride[0] == 1 && p.stride[2] == 1 && p.padding[1] == 0 && p.dilation[2] == 1 && p.groups == 1 &&
          p.causal_pad == 0);
    p.padding[1] = p.padding[2] = 1;
    p.causal_pad = 2;
    const int64_t xs[5] = {2, 6, 4, 5, 7}, ws[5] = {8, 6, 3, 3, 3}, ys[5] = {2, 8, 4, 5, 7}, bs[1] = {8};
    orr_tensor *x = filled(ORR_F32, 5, xs, 1), *w = filled(ORR_F32, 5, ws, 2), *b = filled(ORR_F32, 1, bs, 3);
    orr_tensor *y = zeros(ORR_F32, 5, ys);
    check_conv_op("conv3d op", y, x, w, b, &p);

    /* bf16 x and w */
    orr_tensor *x16 = filled(ORR_BF16, 5, xs, 1), *w16 = filled(ORR_BF16, 5, ws, 2);
    check_conv_op("conv3d op bf16 x, w", y, x16, w16, b, &p);

    /* x: a time slice of a longer video is read in place; a [B,T,C,H,W]
     * tensor permuted to [B,C,T,H,W] is copied */
    const int64_t long_s[5] = {2, 6, 9, 5, 7}, btc[5] = {2, 4, 6, 5, 7};
    orr_tensor *xl = filled(ORR_F32, 5, long_s, 4), *xn = NULL, *xp_base = filled(ORR_F32, 5, btc, 5), *xp = NULL;
    CHECK_OK(orr_tensor_narrow(&xn, xl, 2, 3, 4));
    check_conv_op("conv3d op time slice of x", y, xn, w, b, &p);
    CHECK_OK(orr_tensor_transpose(&xp, xp_base, 1, 2));
    check_conv_op("conv3d op permuted x", y, xp, w, b, &p);

    /* y: a time slice of a longer output (in place), a permuted y and a
     * bf16 y (through scratch) */
    const int64_t ylong_s[5] = {2, 8, 7, 5, 7}, ybtc[5] = {2, 4, 8, 5, 7};
    orr_tensor *yl = zeros(ORR_F32, 5, ylong_s), *yn = NULL, *yp_base = zeros(ORR_F32, 5, ybtc), *yp = NULL;
    CHECK_OK(orr_tensor_narrow(&yn, yl, 2, 2, 4));
    check_conv_op("conv3d op into a time slice", yn, x, w, b, &p);
    CHECK(orr_tensor_get(yl, 5 * 7 * 2 - 1) == 0.0 && orr_tensor_get(yl, 5 * 7 * 6) == 0.0); /* frames 1 and 6 */
    CHECK_OK(orr_tensor_transpose(&yp, yp_base, 1, 2));
    check_conv_op("conv3d op into a permuted y", yp, x, w, b, &p);
    orr_tensor *y16 = zeros(ORR_BF16, 5, ys);
    check_conv_op("conv3d op into bf16 y", y16, x, w, NULL, &p);

    /* conv2d with stride 2 and groups 2 */
    orr_conv_params p2;
    orr_conv_params_init(&p2);
    p2.stride[1] = p2.stride[2] = 2;
    p2.padding[1] = p2.padding[2] = 1;
    p2.groups = 2;
    const int64_t x2s[4] = {2, 4, 9, 8}, w2s[4] = {6, 2, 3, 3}, y2s[4] = {2, 6, 5, 4}, b2s[1] = {6};
    orr_tensor *x2 = filled(ORR_F32, 4, x2s, 6), *w2 = filled(ORR_F16, 4, w2s, 7), *b2 = filled(ORR_F32, 1, b2s, 8);
    orr_tensor *y2 = zeros(ORR_F32, 4, y2s);
    check_conv_op("conv2d op", y2, x2, w2, b2, &p2);

    /* avg_pool3d on a permuted x into a bf16 y */
    const int kernel[3] = {1, 2, 2}, stride[3] = {1, 2, 2};
    const int64_t pys[5] = {2, 6, 4, 2, 3};
    orr_tensor *py = zeros(ORR_BF16, 5, pys);
    CHECK_OK(orr_avg_pool3d(py, xp, kernel, stride));
    float *xv = values_of(xp), *got = values_of(py), ref[2 * 6 * 4 * 2 * 3];
    const int64_t pin[3] = {4, 5, 7}, pk[3] = {1, 2, 2}, ps[3] = {1, 2, 2}, pout[3] = {4, 2, 3};
    orr_ref_avg_pool3d(ref, xv, 12, pin, pk, ps, pout);
    CHECK_CLOSE("avg_pool3d op", got, ref, 2 * 6 * 4 * 2 * 3, 1e-2);
    free(xv), free(got);

    orr_tensor *all[] = {x, w, b, y, x16, w16, xl, xn, xp_base, xp, yl, yn, yp_base, yp, y16, x2, w2, b2, y2, py};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
}

/* ---- errors ----------------------------------------------------------------- */

static void test_errors(void) {
    orr_conv_params p;
    orr_conv_params_init(&p);
    const int64_t xs[5] = {1, 48, 3, 4, 4}, ws[5] = {64, 32, 1, 3, 3}, ws_ok[5] = {64, 48, 1, 3, 3},
                  ys[5] = {1, 64, 3, 2, 2}, bs[1] = {7};
    orr_tensor *x = filled(ORR_F32, 5, xs, 1), *w = zeros(ORR_F32, 5, ws), *wk = zeros(ORR_F32, 5, ws_ok);
    orr_tensor *y = zeros(ORR_F32, 5, ys), *b = zeros(ORR_F32, 1, bs);
    CHECK_OK(orr_conv3d(y, x, wk, NULL, &p));
    CHECK_FAILS(orr_conv3d(y, x, w, NULL, &p), ORR_ERR_SHAPE, "w's dim 1 must be 48");
    CHECK_FAILS(orr_conv3d(y, x, wk, b, &p), ORR_ERR_SHAPE, "b is f32[7] but w has 64 output channels");
    p.padding[2] = 1;
    CHECK_FAILS(orr_conv3d(y, x, wk, NULL, &p), ORR_ERR_SHAPE, "so y must be [1,64,3,2,4]");
    orr_conv_params_init(&p);
    p.groups = 5;
    CHECK_FAILS(orr_conv3d(y, x, wk, NULL, &p), ORR_ERR_SHAPE, "multiples of groups 5");
    orr_conv_params_init(&p);
    p.stride[1] = 0;
    CHECK_FAILS(orr_conv3d(y, x, wk, NULL, &p), ORR_ERR_ARGUMENT, "stride[1] (h) is 0");
    orr_conv_params_init(&p);
    p.padding[0] = -1;
    CHECK_FAILS(orr_conv3d(y, x, wk, NULL, &p), ORR_ERR_ARGUMENT, "padding[0] (t) is -1");
    orr_conv_params_init(&p);
    p.dilation[2] = 3; /* 3 taps 3 apart span 7 > 4 */
    CHECK_FAILS(orr_conv3d(y, x, wk, NULL, &p), ORR_ERR_SHAPE, "the kernel along w (3 taps, dilation 3)");
    orr_conv_params_init(&p);
    CHECK_FAILS(orr_conv3d(y, x, wk, NULL, NULL), ORR_ERR_ARGUMENT, "conv3d: p is NULL");
    CHECK_FAILS(orr_conv3d(y, NULL, wk, NULL, &p), ORR_ERR_ARGUMENT, "conv3d: x is NULL");
    wk->device = ORR_CUDA; /* a stand-in for a device tensor: only the field is read */
    CHECK_FAILS(orr_conv3d(y, x, wk, NULL, &p), MIXED_DEVICE_STATUS, "conv3d: w is on cuda");
    wk->device = ORR_CPU;
    const int64_t x4s[4] = {1, 48, 4, 4}, w4s[4] = {64, 48, 3, 3}, y4s[4] = {1, 64, 2, 2};
    orr_tensor *x4 = filled(ORR_F32, 4, x4s, 2), *w4 = zeros(ORR_F32, 4, w4s), *y4 = zeros(ORR_F32, 4, y4s);
    CHECK_FAILS(orr_conv3d(y, x4, wk, NULL, &p), ORR_ERR_SHAPE, "x is f32[1,48,4,4] but must have 5 dims");
    CHECK_OK(orr_conv2d(y4, x4, w4, NULL, &p));
    p.causal_pad = 1;
    CHECK_FAILS(orr_conv2d(y4, x4, w4, NULL, &p), ORR_ERR_ARGUMENT, "conv2d: causal_pad is 1");
    orr_conv_params_init(&p);
    CHECK_FAILS(orr_conv2d(y4, x4, wk, NULL, &p), ORR_ERR_SHAPE, "w is f32[64,48,1,3,3] but must have 4 dims");

    const int kernel[3] = {1, 2, 2}, stride[3] = {1, 2, 2}, big[3] = {4, 1, 1}, zero_stride[3] = {1, 0, 1};
    const int64_t ps[5] = {1, 48, 3, 2, 2}, ps_bad[5] = {1, 48, 3, 2, 3};
    orr_tensor *py = zeros(ORR_F32, 5, ps), *py_bad = zeros(ORR_F32, 5, ps_bad);
    CHECK_OK(orr_avg_pool3d(py, x, kernel, stride));
    CHECK_FAILS(orr_avg_pool3d(py_bad, x, kernel, stride), ORR_ERR_SHAPE, "so y must be [1,48,3,2,2]");
    CHECK_FAILS(orr_avg_pool3d(py, x, big, stride), ORR_ERR_SHAPE, "kernel 4 along t exceeds");
    CHECK_FAILS(orr_avg_pool3d(py, x, kernel, zero_stride), ORR_ERR_ARGUMENT, "stride[1] is 0");
    CHECK_FAILS(orr_avg_pool3d(py, x, NULL, stride), ORR_ERR_ARGUMENT, "avg_pool3d: kernel is NULL");

    orr_tensor *all[] = {x, w, wk, y, b, x4, w4, y4, py, py_bad};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
}

int main(void) {
    test_conv_kernels();
    test_pool_kernels();
    test_hand_values();
    test_conv_ops();
    test_errors();
    return test_finish("test_conv");
}
