/* test_ops_cuda.c — every op with a cuda path, run on the device and on the
 * cpu with the same random inputs (strided and of several dtypes where the
 * op takes them), the results compared. Tolerances, relative to the largest
 * |cpu value| (at least 1): 1e-5 for f32 maps, norms, reductions and
 * copies (the kernels round as the cpu does, or differ in the order of
 * double sums or by a few ulp of expf/tanhf); 1e-4 for f32 GEMMs,
 * attention and convolutions (f32 FMA accumulation in another order over up
 * to a few hundred terms); 2e-2 where the device multiplies in bf16 (8-bit
 * mantissas, f32 accumulation). Skipped (77) without a usable device. */
#include "gpu_test_util.h"

/* The same values on the host and on the device. */
typedef struct pair {
    orr_tensor *h, *d;
} pair;

static pair make(orr_dtype dtype, int ndim, const int64_t *shape, unsigned seed, float scale) {
    pair p = {test_tensor_filled(dtype, ndim, shape, seed, scale), NULL};
    if (p.h) CHECK_OK(orr_tensor_to(&p.d, p.h, ORR_CUDA));
    return p;
}

static pair zeros(orr_dtype dtype, int ndim, const int64_t *shape) {
    pair p = {NULL, NULL};
    CHECK_OK(orr_tensor_zeros(&p.h, dtype, ndim, shape));
    CHECK_OK(orr_tensor_zeros_on(ORR_CUDA, &p.d, dtype, ndim, shape));
    return p;
}

/* A transposed view of both. */
static pair transposed(pair p, int d0, int d1) {
    pair v = {NULL, NULL};
    CHECK_OK(orr_tensor_transpose(&v.h, p.h, d0, d1));
    CHECK_OK(orr_tensor_transpose(&v.d, p.d, d0, d1));
    return v;
}

static void drop(pair p) {
    orr_tensor_free(p.h);
    orr_tensor_free(p.d);
}

/* The device result, brought back, against the host one. */
static void expect_close(const char *what, pair out, double tol) {
    orr_tensor *back = NULL, *got = NULL, *want = NULL;
    CHECK_OK(orr_tensor_to(&back, out.d, ORR_CPU));
    if (!back) return;
    CHECK_OK(orr_tensor_clone(&got, back, ORR_F32));
    CHECK_OK(orr_tensor_clone(&want, out.h, ORR_F32));
    if (got && want) CHECK_CLOSE(what, (const float *)got->data, (const float *)want->data, orr_tensor_numel(want), tol);
    orr_tensor_free(back);
    orr_tensor_free(got);
    orr_tensor_free(want);
}

#define BOTH(call_h, call_d)  \
    do {                      \
        CHECK_OK(call_h);     \
        CHECK_OK(call_d);     \
    } while (0)

static void test_elementwise(void) {
    const int64_t as[3] = {4, 1, 33}, bs[2] = {5, 1}, os[3] = {4, 5, 33};
    pair a = make(ORR_F32, 3, as, 1, 3.0f), b = make(ORR_BF16, 2, bs, 2, 2.0f), o = zeros(ORR_F32, 3, os);
    const orr_binary_op binaries[] = {ORR_ADD, ORR_SUB, ORR_MUL, ORR_DIV, ORR_MAX, ORR_MIN};
    for (int i = 0; i < 6; i++) {
        BOTH(orr_binary(o.h, a.h, b.h, binaries[i]), orr_binary(o.d, a.d, b.d, binaries[i]));
        expect_close("binary", o, 1e-5);
    }
    /* positive inputs, so that log, sqrt and rsqrt stay finite */
    const int64_t n[2] = {40, 25};
    pair x = make(ORR_F32, 2, n, 3, 3.0f), pos = zeros(ORR_F32, 2, n), y = zeros(ORR_F32, 2, n);
    BOTH(orr_affine(pos.h, x.h, 1.0f, 3.5f), orr_affine(pos.d, x.d, 1.0f, 3.5f));
    expect_close("affine", pos, 1e-6);
    for (int op = ORR_IDENTITY; op <= ORR_COS; op++) {
        pair in = op == ORR_LOG || op == ORR_SQRT || op == ORR_RSQRT ? pos : x;
        BOTH(orr_unary(y.h, in.h, (orr_unary_op)op), orr_unary(y.d, in.d, (orr_unary_op)op));
        expect_close("unary", y, 1e-5);
    }
    /* a strided bf16 input into a strided f16 output */
    const int64_t ts[2] = {25, 40};
    pair xt = make(ORR_BF16, 2, ts, 4, 2.0f), xtt = transposed(xt, 0, 1), o16 = zeros(ORR_F16, 2, ts);
    pair o16t = transposed(o16, 0, 1);
    BOTH(orr_unary(o16t.h, xtt.h, ORR_SILU), orr_unary(o16t.d, xtt.d, ORR_SILU));
    expect_close("unary strided bf16 -> f16", o16, 1e-3);
    BOTH(orr_fill(o16t.h, -1.25), orr_fill(o16t.d, -1.25));
    expect_close("fill", o16, 0);
    pair all[] = {a, b, o, x, pos, y, xt, xtt, o16, o16t};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
}

static void test_reductions(void) {
    const int64_t s[3] = {3, 50, 7}, r[2] = {3, 7};
    pair a = make(ORR_F32, 3, s, 5, 4.0f), o = zeros(ORR_F32, 2, r);
    for (int op = ORR_SUM; op <= ORR_AMIN; op++) {
        BOTH(orr_reduce(o.h, a.h, 1, (orr_reduce_op)op), orr_reduce(o.d, a.d, 1, (orr_reduce_op)op));
        expect_close("reduce", o, 1e-5);
        double hv = 0, dv = 1;
        BOTH(orr_reduce_all(a.h, (orr_reduce_op)op, &hv), orr_reduce_all(a.d, (orr_reduce_op)op, &dv));
        CHECK_NEAR(dv, hv, 1e-9 * (fabs(hv) > 1 ? fabs(hv) : 1));
    }
    pair sm = zeros(ORR_F32, 3, s);
    BOTH(orr_softmax(sm.h, a.h, 1), orr_softmax(sm.d, a.d, 1));
    expect_close("softmax dim 1", sm, 1e-5);
    BOTH(orr_softmax(sm.h, a.h, -1), orr_softmax(sm.d, a.d, -1));
    expect_close("softmax dim -1", sm, 1e-5);
    orr_tensor_set(a.h, 17, INFINITY);
    orr_tensor_set(a.h, 40, NAN);
    orr_tensor *ad = NULL;
    CHECK_OK(orr_tensor_to(&ad, a.h, ORR_CUDA));
    int64_t hc = -1, dc = -2;
    BOTH(orr_count_nonfinite(a.h, &hc), orr_count_nonfinite(ad, &dc));
    CHECK(hc == 2 && dc == 2);
    orr_tensor_free(ad);
    drop(a);
    drop(o);
    drop(sm);
}

static void test_shape_ops(void) {
    const int64_t s[3] = {2, 5, 6}, ps[3] = {2, 9, 9};
    const int64_t pads[6] = {0, 0, 2, 2, 1, 2};
    pair a = make(ORR_F32, 3, s, 6, 2.0f), o = zeros(ORR_F32, 3, ps);
    for (int mode = ORR_PAD_CONSTANT; mode <= ORR_PAD_REFLECT; mode++) {
        BOTH(orr_pad(o.h, a.h, pads, (orr_pad_mode)mode, 0.5f), orr_pad(o.d, a.d, pads, (orr_pad_mode)mode, 0.5f));
        expect_close("pad", o, 0);
    }
    const int64_t cs[3] = {2, 10, 6}, rs[3] = {2, 5, 18};
    pair b = make(ORR_BF16, 3, s, 7, 2.0f), c = zeros(ORR_F32, 3, cs), r = zeros(ORR_I32, 3, rs);
    const orr_tensor *ph[2] = {a.h, b.h}, *pd[2] = {a.d, b.d};
    BOTH(orr_concat(c.h, ph, 2, 1), orr_concat(c.d, pd, 2, 1));
    expect_close("concat", c, 0);
    BOTH(orr_repeat_interleave(r.h, a.h, 2, 3), orr_repeat_interleave(r.d, a.d, 2, 3));
    expect_close("repeat_interleave", r, 0);
    drop(a);
    drop(o);
    drop(b);
    drop(c);
    drop(r);
}

static void test_norms(void) {
    const int64_t xs[5] = {2, 8, 3, 5, 5}, cs[1] = {8};
    pair x = make(ORR_F32, 5, xs, 8, 3.0f), y = zeros(ORR_F32, 5, xs);
    pair w = make(ORR_BF16, 1, cs, 9, 1.0f), b = make(ORR_F32, 1, cs, 10, 1.0f);
    BOTH(orr_group_norm(y.h, x.h, 4, w.h, b.h, 1e-6f), orr_group_norm(y.d, x.d, 4, w.d, b.d, 1e-6f));
    expect_close("group_norm", y, 1e-5);
    const int64_t rs[2] = {64, 6}, ds[1] = {64};
    pair r = make(ORR_F32, 2, rs, 11, 2.0f), rt = transposed(r, 0, 1), ry = zeros(ORR_F32, 2, (int64_t[]){6, 64});
    pair lw = make(ORR_F32, 1, ds, 12, 1.0f), lb = make(ORR_F32, 1, ds, 13, 1.0f);
    BOTH(orr_layer_norm(ry.h, rt.h, lw.h, lb.h, 1e-5f), orr_layer_norm(ry.d, rt.d, lw.d, lb.d, 1e-5f));
    expect_close("layer_norm", ry, 1e-5);
    BOTH(orr_rms_norm(ry.h, rt.h, lw.h, 1e-6f), orr_rms_norm(ry.d, rt.d, lw.d, 1e-6f));
    expect_close("rms_norm", ry, 1e-5);
    pair all[] = {x, y, w, b, r, rt, ry, lw, lb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
}

static void test_rope_resize_haar(void) {
    const int64_t xs[4] = {2, 3, 4, 16}, ts[2] = {4, 16};
    pair x = make(ORR_F32, 4, xs, 14, 2.0f), c = make(ORR_F32, 2, ts, 15, 1.0f), s = make(ORR_F32, 2, ts, 16, 1.0f);
    pair o = zeros(ORR_F32, 4, xs);
    for (int inter = 0; inter < 2; inter++) {
        BOTH(orr_rope(o.h, x.h, c.h, s.h, inter), orr_rope(o.d, x.d, c.d, s.d, inter));
        expect_close("rope", o, 1e-6);
    }
    const int64_t is[4] = {1, 2, 9, 11}, os[4] = {1, 2, 17, 6};
    pair img = make(ORR_F32, 4, is, 17, 1.0f), big = zeros(ORR_F32, 4, os);
    const orr_resize_mode modes[3] = {ORR_RESIZE_NEAREST, ORR_RESIZE_BILINEAR, ORR_RESIZE_BICUBIC};
    for (int m = 0; m < 3; m++)
        for (int ac = 0; ac < (modes[m] == ORR_RESIZE_NEAREST ? 1 : 2); ac++) {
            BOTH(orr_resize(big.h, img.h, modes[m], ac), orr_resize(big.d, img.d, modes[m], ac));
            expect_close("resize", big, 1e-6);
        }
    const int64_t vs[5] = {1, 3, 9, 8, 8}, ps[5] = {1, 24, 5, 4, 4};
    pair v = make(ORR_F32, 5, vs, 18, 1.0f), p = zeros(ORR_F32, 5, ps), back = zeros(ORR_F32, 5, vs);
    BOTH(orr_haar3d_patch(p.h, v.h, 2), orr_haar3d_patch(p.d, v.d, 2));
    expect_close("haar3d_patch", p, 1e-6);
    BOTH(orr_haar3d_unpatch(back.h, p.h, 2), orr_haar3d_unpatch(back.d, p.d, 2));
    expect_close("haar3d_unpatch", back, 1e-6);
    const int64_t i2[4] = {1, 3, 8, 8}, p2[4] = {1, 48, 2, 2};
    pair im = make(ORR_F32, 4, i2, 19, 1.0f), pp = zeros(ORR_F32, 4, p2);
    BOTH(orr_haar2d_patch(pp.h, im.h, 4), orr_haar2d_patch(pp.d, im.d, 4));
    expect_close("haar2d_patch", pp, 1e-6);
    pair all[] = {x, c, s, o, img, big, v, p, back, im, pp};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
}

static void test_products(void) {
    const int64_t xs[3] = {3, 5, 64}, ws[2] = {48, 64}, bs[1] = {48}, ys[3] = {3, 5, 48};
    pair x = make(ORR_F32, 3, xs, 20, 1.0f), w = make(ORR_F32, 2, ws, 21, 0.2f), b = make(ORR_F32, 1, bs, 22, 1.0f);
    pair y = zeros(ORR_F32, 3, ys);
    BOTH(orr_linear(y.h, x.h, w.h, b.h), orr_linear(y.d, x.d, w.d, b.d));
    expect_close("linear f32", y, 1e-4);
    pair w16 = make(ORR_BF16, 2, ws, 21, 0.2f);
    BOTH(orr_linear(y.h, x.h, w16.h, NULL), orr_linear(y.d, x.d, w16.d, NULL));
    expect_close("linear bf16 weights", y, 2e-2);

    const int64_t as[4] = {2, 3, 17, 33}, bs2[2] = {9, 33}, cs[4] = {2, 3, 17, 9};
    pair a = make(ORR_F32, 4, as, 23, 1.0f), bm = make(ORR_F32, 2, bs2, 24, 1.0f), bt = transposed(bm, 0, 1);
    pair c = zeros(ORR_F32, 4, cs);
    BOTH(orr_matmul(c.h, a.h, bt.h), orr_matmul(c.d, a.d, bt.d));
    expect_close("matmul f32 (transposed b broadcast)", c, 1e-4);
    pair a16 = make(ORR_BF16, 4, as, 23, 1.0f), b16 = make(ORR_BF16, 2, bs2, 24, 1.0f), b16t = transposed(b16, 0, 1);
    BOTH(orr_matmul(c.h, a16.h, b16t.h), orr_matmul(c.d, a16.d, b16t.d));
    expect_close("matmul bf16", c, 2e-2);
    pair all[] = {x, w, b, y, w16, a, bm, bt, c, a16, b16, b16t};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
}

static void test_attention(void) {
    const int64_t qs[4] = {1, 4, 37, 32}, ks[4] = {1, 2, 45, 32}, ms[2] = {37, 45};
    pair q = make(ORR_F32, 4, qs, 25, 1.0f), k = make(ORR_F32, 4, ks, 26, 1.0f), v = make(ORR_F32, 4, ks, 27, 1.0f);
    pair mask = zeros(ORR_BOOL, 2, ms), o = zeros(ORR_F32, 4, qs);
    for (int64_t i = 0; i < 37 * 45; i++) orr_tensor_set(mask.h, i, (i * 7) % 5 != 0);
    CHECK_OK(orr_copy(mask.d, mask.h));
    const float scale = 1.0f / sqrtf(32.0f);
    BOTH(orr_attention(o.h, q.h, k.h, v.h, NULL, scale, true), orr_attention(o.d, q.d, k.d, v.d, NULL, scale, true));
    expect_close("attention causal f32", o, 1e-4);
    BOTH(orr_attention(o.h, q.h, k.h, v.h, mask.h, scale, false),
         orr_attention(o.d, q.d, k.d, v.d, mask.d, scale, false));
    expect_close("attention masked f32", o, 1e-4);
    const int64_t q2[4] = {2, 4, 70, 64};
    pair q16 = make(ORR_BF16, 4, q2, 29, 1.0f), k16 = make(ORR_BF16, 4, q2, 30, 1.0f);
    pair v16 = make(ORR_BF16, 4, q2, 31, 1.0f), o16 = zeros(ORR_F32, 4, q2);
    BOTH(orr_attention(o16.h, q16.h, k16.h, v16.h, NULL, 0.125f, false),
         orr_attention(o16.d, q16.d, k16.d, v16.d, NULL, 0.125f, false));
    expect_close("attention bf16", o16, 2e-2);
    pair all[] = {q, k, v, mask, o, q16, k16, v16, o16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
}

static void test_convolutions(void) {
    orr_conv_params p;
    orr_conv_params_init(&p);
    p.causal_pad = 2;
    p.padding[1] = p.padding[2] = 1;
    p.groups = 2;
    const int64_t xs[5] = {2, 8, 5, 9, 7}, ws[5] = {6, 4, 3, 3, 3}, bs[1] = {6}, ys[5] = {2, 6, 5, 9, 7};
    pair x = make(ORR_F32, 5, xs, 32, 1.0f), w = make(ORR_F32, 5, ws, 33, 0.3f), b = make(ORR_F32, 1, bs, 34, 1.0f);
    pair y = zeros(ORR_F32, 5, ys);
    BOTH(orr_conv3d(y.h, x.h, w.h, b.h, &p), orr_conv3d(y.d, x.d, w.d, b.d, &p));
    expect_close("conv3d causal, grouped", y, 1e-4);

    orr_conv_params_init(&p);
    p.stride[1] = p.stride[2] = 2;
    p.padding[1] = p.padding[2] = 1;
    const int64_t x2[4] = {1, 5, 12, 10}, w2[4] = {7, 5, 3, 3}, y2[4] = {1, 7, 6, 5};
    pair xi = make(ORR_F32, 4, x2, 35, 1.0f), wi = make(ORR_F32, 4, w2, 36, 0.3f), yi = zeros(ORR_F32, 4, y2);
    BOTH(orr_conv2d(yi.h, xi.h, wi.h, NULL, &p), orr_conv2d(yi.d, xi.d, wi.d, NULL, &p));
    expect_close("conv2d strided", yi, 1e-4);
    pair x16 = make(ORR_BF16, 4, x2, 35, 1.0f), w16 = make(ORR_BF16, 4, w2, 36, 0.3f);
    BOTH(orr_conv2d(yi.h, x16.h, w16.h, NULL, &p), orr_conv2d(yi.d, x16.d, w16.d, NULL, &p));
    expect_close("conv2d bf16", yi, 2e-2);
    pair all[] = {x, w, b, y, xi, wi, yi, x16, w16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) drop(all[i]);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_ops_cuda");
    test_elementwise();
    test_reductions();
    test_shape_ops();
    test_norms();
    test_rope_resize_haar();
    test_products();
    test_attention();
    test_convolutions();
    CHECK_OK(orr_cuda_synchronize());
    return test_finish("test_ops_cuda");
}
