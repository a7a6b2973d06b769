/* test_norm.c — group/layer/RMS norm kernels (fast vs reference, hand-checked
 * values) and the tensor ops on strided, bf16/f16 inputs. */
#include "norm.h"
#include "test_util.h"

static float *random_buffer(long n, unsigned seed, float scale, float offset) {
    float *v = malloc(sizeof(float) * (size_t)n);
    test_fill(v, n, seed);
    for (long i = 0; i < n; i++) v[i] = v[i] * scale + offset;
    return v;
}

static void test_group_norm_kernels(void) {
    static const int64_t cases[][4] = {/* batch, channels, spatial, groups */
                                       {2, 6, 37, 3},  {1, 4, 100003, 1}, {3, 32, 17, 32},
                                       {2, 5, 1, 1},   {1, 64, 333, 8},   {5, 3, 4096 + 3, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t B = cases[c][0], C = cases[c][1], S = cases[c][2], G = cases[c][3];
        const long n = (long)(B * C * S);
        /* a mean far from zero tests that the variance is taken centred */
        float *x = random_buffer(n, 40 + (unsigned)c, 2.0f, c % 2 ? 30.0f : 0.0f);
        float *w = random_buffer(C, 50, 1.0f, 1.0f), *b = random_buffer(C, 51, 1.0f, 0.0f);
        float *fast = malloc(sizeof(float) * (size_t)n), *ref = malloc(sizeof(float) * (size_t)n);
        double *scratch = malloc(sizeof(double) * (size_t)(2 * B * C));
        const int64_t st[2] = {C * S, S};
        for (int affine = 0; affine < 2; affine++) {
            orr_ref_group_norm(ref, st, x, st, B, C, S, G, affine ? w : NULL, affine ? b : NULL, 1e-6f);
            orr_cpu_group_norm(fast, st, x, st, B, C, S, G, affine ? w : NULL, affine ? b : NULL, 1e-6f, scratch);
            CHECK_CLOSE("group_norm", fast, ref, n, 2e-5);
        }
        /* the same buffer read as [C,B,S] (batch and channel strides swapped) */
        const int64_t swapped[2] = {S, C * S};
        orr_ref_group_norm(ref, swapped, x, swapped, C, B, S, 1, NULL, NULL, 1e-6f);
        orr_cpu_group_norm(fast, swapped, x, swapped, C, B, S, 1, NULL, NULL, 1e-6f, scratch);
        CHECK_CLOSE("group_norm strided", fast, ref, n, 2e-5);
        orr_ref_group_norm(ref, st, x, st, B, C, S, G, w, b, 1e-6f);
        orr_cpu_group_norm(x, st, x, st, B, C, S, G, w, b, 1e-6f, scratch); /* in place */
        CHECK_CLOSE("group_norm in place", x, ref, n, 2e-5);
        free(x), free(w), free(b), free(fast), free(ref), free(scratch);
    }
}

static void test_row_norm_kernels(void) {
    static const int64_t cases[][2] = {{1, 1}, {7, 13}, {300, 64}, {33, 1024}, {3, 5003}, {2, 40000}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t rows = cases[c][0], dim = cases[c][1];
        const long n = (long)(rows * dim);
        float *x = random_buffer(n, 60 + (unsigned)c, 3.0f, c % 2 ? -20.0f : 0.5f);
        float *w = random_buffer(dim, 61, 1.0f, 1.0f), *b = random_buffer(dim, 62, 1.0f, 0.0f);
        float *fast = malloc(sizeof(float) * (size_t)n), *ref = malloc(sizeof(float) * (size_t)n);
        for (int affine = 0; affine < 2; affine++) {
            orr_ref_layer_norm(ref, x, rows, dim, affine ? w : NULL, affine ? b : NULL, 1e-5f);
            orr_cpu_layer_norm(fast, x, rows, dim, affine ? w : NULL, affine ? b : NULL, 1e-5f);
            CHECK_CLOSE("layer_norm", fast, ref, n, 2e-5);
            orr_ref_rms_norm(ref, x, rows, dim, affine ? w : NULL, 1e-6f);
            orr_cpu_rms_norm(fast, x, rows, dim, affine ? w : NULL, 1e-6f);
            CHECK_CLOSE("rms_norm", fast, ref, n, 2e-6);
        }
        orr_cpu_rms_norm(x, x, rows, dim, w, 1e-6f); /* in place */
        CHECK_CLOSE("rms_norm in place", x, ref, n, 2e-6);
        free(x), free(w), free(b), free(fast), free(ref);
    }
}

/* Values from the definitions (PyTorch F.layer_norm, T5LayerNorm, F.group_norm). */
static void test_hand_values(void) {
    const float x[4] = {1, 2, 3, 4}, w[4] = {1, 2, 3, 4}, b[4] = {0.5f, 0, 0, -1};
    float y[4];
    /* mean 2.5, biased variance 1.25 */
    const double ln[4] = {-1.34164079, -0.44721360, 0.44721360, 1.34164079};
    for (int fast = 0; fast < 2; fast++) {
        if (fast) orr_cpu_layer_norm(y, x, 1, 4, NULL, NULL, 0.0f);
        else orr_ref_layer_norm(y, x, 1, 4, NULL, NULL, 0.0f);
        for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], ln[i], 2e-7);
        if (fast) orr_cpu_layer_norm(y, x, 1, 4, w, b, 0.0f);
        else orr_ref_layer_norm(y, x, 1, 4, w, b, 0.0f);
        for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], ln[i] * w[i] + b[i], 5e-7);
        /* mean square 7.5 */
        if (fast) orr_cpu_rms_norm(y, x, 1, 4, w, 0.0f);
        else orr_ref_rms_norm(y, x, 1, 4, w, 0.0f);
        for (int i = 0; i < 4; i++) CHECK_NEAR(y[i], x[i] / sqrt(7.5) * w[i], 5e-7);
    }
    /* eps is inside the square root: a constant row gives 0, not NaN */
    const float flat[3] = {2, 2, 2};
    orr_cpu_layer_norm(y, flat, 1, 3, NULL, NULL, 1e-5f);
    CHECK(y[0] == 0 && y[2] == 0);
    /* GroupNorm(2, 4) on [1,4,2]: groups {1,2,3,4} and {5,6,7,8} */
    const float g[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float gy[8];
    double scratch[8];
    const int64_t gs[2] = {8, 2};
    orr_cpu_group_norm(gy, gs, g, gs, 1, 4, 2, 2, NULL, NULL, 0.0f, scratch);
    for (int i = 0; i < 8; i++) CHECK_NEAR(gy[i], ln[i % 4], 2e-7);
}

/* bf16 x [2,4,3,5] stored as [2,3,5,4] and permuted; f16 weights; y a
 * non-contiguous view of a wider f32 tensor. */
static void test_tensor_ops(void) {
    orr_tensor *xs = test_tensor_filled(ORR_BF16, 4, (const int64_t[]){2, 3, 5, 4}, 70, 4.0f), *x = NULL;
    CHECK_OK(orr_tensor_permute(&x, xs, (const int[]){0, 3, 1, 2})); /* [2,4,3,5] */
    orr_tensor *w = test_tensor_filled(ORR_F16, 1, (const int64_t[]){4}, 71, 1.0f);
    orr_tensor *b = test_tensor_filled(ORR_F32, 1, (const int64_t[]){4}, 72, 1.0f);
    orr_tensor *wide = NULL, *y = NULL;
    CHECK_OK(orr_tensor_zeros(&wide, ORR_F32, 4, (const int64_t[]){2, 4, 3, 7}));
    CHECK_OK(orr_tensor_narrow(&y, wide, 3, 1, 5));
    float xv[120], wv[4], bv[4], want[120];
    for (int i = 0; i < 120; i++) xv[i] = (float)orr_tensor_get(x, i);
    for (int i = 0; i < 4; i++) wv[i] = (float)orr_tensor_get(w, i), bv[i] = (float)orr_tensor_get(b, i);
    float got[120];

    CHECK_OK(orr_group_norm(y, x, 2, w, b, 1e-6f));
    orr_ref_group_norm(want, (const int64_t[]){60, 15}, xv, (const int64_t[]){60, 15}, 2, 4, 15, 2, wv, bv, 1e-6f);
    for (int i = 0; i < 120; i++) got[i] = (float)orr_tensor_get(y, i);
    CHECK_CLOSE("group_norm tensor", got, want, 120, 2e-6);
    CHECK(orr_tensor_get(wide, 0) == 0 && orr_tensor_get(wide, 6) == 0);

    /* layer and RMS norm over the last dim (5) with weights [5] */
    orr_tensor *w5 = test_tensor_filled(ORR_BF16, 1, (const int64_t[]){5}, 73, 1.0f);
    float w5v[5];
    for (int i = 0; i < 5; i++) w5v[i] = (float)orr_tensor_get(w5, i);
    CHECK_OK(orr_layer_norm(y, x, w5, NULL, 1e-5f));
    orr_ref_layer_norm(want, xv, 24, 5, w5v, NULL, 1e-5f);
    for (int i = 0; i < 120; i++) got[i] = (float)orr_tensor_get(y, i);
    CHECK_CLOSE("layer_norm tensor", got, want, 120, 2e-6);
    CHECK_OK(orr_rms_norm(y, x, w5, 1e-6f));
    orr_ref_rms_norm(want, xv, 24, 5, w5v, 1e-6f);
    for (int i = 0; i < 120; i++) got[i] = (float)orr_tensor_get(y, i);
    CHECK_CLOSE("rms_norm tensor", got, want, 120, 2e-6);

    /* errors name the op and the argument */
    CHECK_FAILS(orr_group_norm(y, x, 3, NULL, NULL, 1e-6f), ORR_ERR_ARGUMENT,
                "group_norm: groups 3 does not divide the 4 channels of x bf16[2,4,3,5]");
    CHECK_FAILS(orr_group_norm(y, x, 0, NULL, NULL, 1e-6f), ORR_ERR_ARGUMENT, "groups 0");
    CHECK_FAILS(orr_group_norm(y, x, 2, w5, NULL, 1e-6f), ORR_ERR_SHAPE,
                "group_norm: w is bf16[5] but dim 0 must be 4");
    CHECK_FAILS(orr_group_norm(y, w, 1, NULL, NULL, 1e-6f), ORR_ERR_SHAPE,
                "group_norm: x is f16[4] but needs at least 2 dims");
    CHECK_FAILS(orr_layer_norm(y, x, w, NULL, 1e-5f), ORR_ERR_SHAPE, "layer_norm: w is f16[4]");
    CHECK_FAILS(orr_layer_norm(y, x, NULL, w, 1e-5f), ORR_ERR_SHAPE, "layer_norm: b is f16[4]");
    CHECK_FAILS(orr_layer_norm(w, x, NULL, NULL, 1e-5f), ORR_ERR_SHAPE,
                "layer_norm: y is f16[4] but x is bf16[2,4,3,5]");
    CHECK_FAILS(orr_rms_norm(y, x, NULL, -1.0f), ORR_ERR_ARGUMENT, "rms_norm: eps is -1");
    CHECK_FAILS(orr_rms_norm(y, NULL, NULL, 1e-6f), ORR_ERR_ARGUMENT, "rms_norm: x is NULL");

    orr_tensor_free(xs), orr_tensor_free(x), orr_tensor_free(w), orr_tensor_free(b), orr_tensor_free(wide);
    orr_tensor_free(y), orr_tensor_free(w5);
}

/* The tokenizer's per-frame GroupNorm(1, C): item b of x [B,C,T,H,W] as
 * a [T,C,H,W] view, normalised in place of a same-layout y. */
static void test_per_frame_views(void) {
    const int64_t shape[5] = {2, 3, 4, 5, 6};
    orr_tensor *x = test_tensor_filled(ORR_F32, 5, shape, 74, 3.0f), *y = NULL;
    CHECK_OK(orr_tensor_zeros(&y, ORR_F32, 5, shape));
    orr_tensor *w = test_tensor_filled(ORR_F32, 1, (const int64_t[]){3}, 75, 1.0f);
    orr_tensor *b = test_tensor_filled(ORR_F32, 1, (const int64_t[]){3}, 76, 1.0f);
    float want[360], got[360];
    for (int item = 0; item < 2; item++) {
        orr_tensor *xb = NULL, *yb = NULL, *xt = NULL, *yt = NULL, *xc = NULL;
        CHECK_OK(orr_tensor_select(&xb, x, 0, item));
        CHECK_OK(orr_tensor_select(&yb, y, 0, item));
        CHECK_OK(orr_tensor_transpose(&xt, xb, 0, 1)); /* [4,3,5,6] */
        CHECK_OK(orr_tensor_transpose(&yt, yb, 0, 1));
        CHECK_OK(orr_group_norm(yt, xt, 1, w, b, 1e-6f));
        CHECK_OK(orr_tensor_clone(&xc, xt, ORR_F32));
        const int64_t st[2] = {90, 30};
        orr_ref_group_norm(want, st, xc->data, st, 4, 3, 30, 1, w->data, b->data, 1e-6f);
        for (int i = 0; i < 360; i++) got[i] = (float)orr_tensor_get(yt, i);
        CHECK_CLOSE("group_norm per frame", got, want, 360, 2e-6);
        orr_tensor_free(xb), orr_tensor_free(yb), orr_tensor_free(xt), orr_tensor_free(yt), orr_tensor_free(xc);
    }
    orr_tensor_free(x), orr_tensor_free(y), orr_tensor_free(w), orr_tensor_free(b);
}

int main(void) {
    test_group_norm_kernels();
    test_row_norm_kernels();
    test_hand_values();
    test_tensor_ops();
    test_per_frame_views();
    return test_finish("test_norm");
}
