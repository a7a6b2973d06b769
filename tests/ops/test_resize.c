/* test_resize.c — resize: the table-driven kernel against the per-element
 * oracle for every mode and align_corners, values worked out by hand from
 * PyTorch's coordinate rules (see ref/resize.c), the op on strided and
 * non-f32 tensors, and the error messages. */
#include "resize.h"
#include "test_util.h"

static void compare(int64_t planes, const int64_t in[3], const int64_t out[3], orr_resize_mode mode, bool ac) {
    int64_t n_in = planes * in[0] * in[1] * in[2], n_out = planes * out[0] * out[1] * out[2];
    float *x = malloc(sizeof(float) * n_in), *want = malloc(sizeof(float) * n_out);
    float *got = malloc(sizeof(float) * n_out);
    test_fill(x, n_in, 41);
    orr_ref_resize(want, x, planes, in, out, mode, ac);
    CHECK_OK(orr_cpu_resize(got, x, planes, in, out, mode, ac));
    char what[160];
    snprintf(what, sizeof what, "mode %d%s [%lld,%lld,%lld] -> [%lld,%lld,%lld]", (int)mode,
             ac ? " align_corners" : "", (long long)in[0], (long long)in[1], (long long)in[2], (long long)out[0],
             (long long)out[1], (long long)out[2]);
    CHECK_CLOSE(what, got, want, n_out, 1e-5);
    free(x), free(want), free(got);
}

static void test_against_reference(void) {
    static const int64_t sizes_2d[][2][3] = {
        {{1, 7, 9}, {1, 13, 5}}, {{1, 5, 5}, {1, 5, 5}},   {{1, 1, 1}, {1, 3, 4}}, {{1, 16, 16}, {1, 7, 9}},
        {{1, 3, 3}, {1, 1, 1}},  {{1, 4, 6}, {1, 8, 12}}, {{1, 5, 3}, {1, 15, 3}},
    };
    static const int64_t sizes_3d[][2][3] = {
        {{3, 5, 7}, {5, 4, 9}}, {{4, 8, 8}, {4, 16, 16}}, {{2, 3, 3}, {1, 1, 1}}, {{1, 4, 4}, {3, 2, 5}},
    };
    for (size_t i = 0; i < sizeof sizes_2d / sizeof sizes_2d[0]; i++) {
        compare(6, sizes_2d[i][0], sizes_2d[i][1], ORR_RESIZE_NEAREST, false);
        for (int ac = 0; ac < 2; ac++) {
            compare(6, sizes_2d[i][0], sizes_2d[i][1], ORR_RESIZE_BILINEAR, ac);
            compare(6, sizes_2d[i][0], sizes_2d[i][1], ORR_RESIZE_BICUBIC, ac);
        }
    }
    for (size_t i = 0; i < sizeof sizes_3d / sizeof sizes_3d[0]; i++) {
        compare(2, sizes_3d[i][0], sizes_3d[i][1], ORR_RESIZE_NEAREST, false);
        compare(2, sizes_3d[i][0], sizes_3d[i][1], ORR_RESIZE_TRILINEAR, false);
        compare(2, sizes_3d[i][0], sizes_3d[i][1], ORR_RESIZE_TRILINEAR, true);
    }
}

/* Resizes a [1,1,H,W] (or [1,1,T,H,W]) tensor through the op and checks
 * every output value. */
static void check_values(const char *what, int ndim, const int64_t *in_shape, const float *in, const int64_t *out_shape,
                         const float *want, orr_resize_mode mode, bool ac) {
    orr_tensor *x = NULL, *y = NULL;
    CHECK_OK(orr_tensor_empty(&x, ORR_F32, ndim, in_shape));
    CHECK_OK(orr_tensor_empty(&y, ORR_F32, ndim, out_shape));
    if (!x || !y) return;
    memcpy(x->data, in, orr_tensor_nbytes(x));
    CHECK_OK(orr_resize(y, x, mode, ac));
    CHECK_CLOSE(what, (const float *)y->data, want, orr_tensor_numel(y), 1e-6);
    orr_tensor_free(x), orr_tensor_free(y);
}

static void test_by_hand(void) {
    const float ramp[] = {0, 1, 2, 3}, squares[] = {0, 1, 4, 9}, five[] = {0, 1, 2, 3, 4};
    int64_t s4[4] = {1, 1, 1, 4}, s5[4] = {1, 1, 1, 5}, s3[4] = {1, 1, 1, 3}, s6[4] = {1, 1, 1, 6};
    int64_t s7[4] = {1, 1, 1, 7}, s8[4] = {1, 1, 1, 8};
    /* nearest: floor(o * in/out) in float */
    const float near6[] = {0, 0, 1, 2, 2, 3}, near3[] = {0, 1, 3};
    check_values("nearest 4 -> 6", 4, s4, ramp, s6, near6, ORR_RESIZE_NEAREST, false);
    check_values("nearest 5 -> 3", 4, s5, five, s3, near3, ORR_RESIZE_NEAREST, false);
    /* linear: src = (o + 0.5) * 0.5 - 0.5 clamped at 0; align_corners: o * 3/6 */
    const float lin8[] = {0, 0.25f, 0.75f, 1.25f, 1.75f, 2.25f, 2.75f, 3}, lin7[] = {0, 0.5f, 1, 1.5f, 2, 2.5f, 3};
    check_values("bilinear 4 -> 8", 4, s4, ramp, s8, lin8, ORR_RESIZE_BILINEAR, false);
    check_values("bilinear 4 -> 7 align_corners", 4, s4, ramp, s7, lin7, ORR_RESIZE_BILINEAR, true);
    /* 2x2 -> 3x3 with corners aligned: the middle row and column average */
    const float quad[] = {1, 2, 3, 4}, quad3[] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
    int64_t q2[4] = {1, 1, 2, 2}, q3[4] = {1, 1, 3, 3};
    check_values("bilinear 2x2 -> 3x3 align_corners", 4, q2, quad, q3, quad3, ORR_RESIZE_BILINEAR, true);
    /* cubic, A = -0.75, 4 -> 8: o = 0 has src -0.25, taps at -2..1 clamped to
     * 0,0,0,1 with weights W(1.75), W(0.75), W(0.25), W(1.25) = -0.03515625,
     * 0.26171875, 0.87890625, -0.10546875; o = 1 has src 0.25, taps -1..2 with
     * the mirrored weights; o = 3 has src 1.25, taps 0..3. */
    int64_t s8b[4] = {1, 1, 1, 8};
    orr_tensor *x = NULL, *y = NULL;
    CHECK_OK(orr_tensor_empty(&x, ORR_F32, 4, s4));
    CHECK_OK(orr_tensor_empty(&y, ORR_F32, 4, s8b));
    memcpy(x->data, squares, sizeof squares);
    CHECK_OK(orr_resize(y, x, ORR_RESIZE_BICUBIC, false));
    const float *yv = y->data;
    CHECK_NEAR(yv[0], -0.10546875, 1e-6);
    CHECK_NEAR(yv[1], 0.26171875 - 4 * 0.03515625, 1e-6);
    CHECK_NEAR(yv[3], 0.87890625 + 4 * 0.26171875 - 9 * 0.03515625, 1e-6);
    orr_tensor_free(x), orr_tensor_free(y);
    /* trilinear 2x2x2 -> 3x3x3 with corners aligned: the centre is the mean */
    float cube[8];
    for (int i = 0; i < 8; i++) cube[i] = (float)(i * i);
    int64_t c2[5] = {1, 1, 2, 2, 2}, c3[5] = {1, 1, 3, 3, 3};
    CHECK_OK(orr_tensor_empty(&x, ORR_F32, 5, c2));
    CHECK_OK(orr_tensor_empty(&y, ORR_F32, 5, c3));
    memcpy(x->data, cube, sizeof cube);
    CHECK_OK(orr_resize(y, x, ORR_RESIZE_TRILINEAR, true));
    CHECK_NEAR(((float *)y->data)[13], 140.0 / 8, 1e-5);
    CHECK_NEAR(((float *)y->data)[26], 49, 1e-6);
    /* nearest in 5-D, twice the size: index o/2 on every axis */
    int64_t c4[5] = {1, 1, 4, 4, 4};
    orr_tensor *z = NULL;
    CHECK_OK(orr_tensor_empty(&z, ORR_F32, 5, c4));
    CHECK_OK(orr_resize(z, x, ORR_RESIZE_NEAREST, false));
    CHECK(orr_tensor_get(z, (3 * 4 + 2) * 4 + 1) == cube[(1 * 2 + 1) * 2 + 0]);
    CHECK(orr_tensor_get(z, 63) == cube[7]);
    orr_tensor_free(x), orr_tensor_free(y), orr_tensor_free(z);
}

/* x as an f16 view with H and W transposed, out as a narrowed f32 view. */
static void test_op_strided(void) {
    int64_t base_shape[4] = {2, 3, 9, 7}, wide[4] = {2, 3, 11, 20};
    orr_tensor *base = NULL, *x = NULL, *wide_out = NULL, *out = NULL;
    CHECK_OK(orr_tensor_empty(&base, ORR_F16, 4, base_shape));
    int64_t n = orr_tensor_numel(base);
    float *vals = malloc(sizeof(float) * n);
    test_fill(vals, n, 51);
    for (int64_t i = 0; i < n; i++) orr_tensor_set(base, i, vals[i]);
    CHECK_OK(orr_tensor_transpose(&x, base, 2, 3)); /* [2,3,7,9] */
    CHECK_OK(orr_tensor_zeros(&wide_out, ORR_F32, 4, wide));
    CHECK_OK(orr_tensor_narrow(&out, wide_out, 3, 4, 13)); /* [2,3,11,13] */
    CHECK_OK(orr_resize(out, x, ORR_RESIZE_BICUBIC, true));

    int64_t in[3] = {1, 7, 9}, size[3] = {1, 11, 13}, n_out = 6 * 11 * 13;
    float *xc = malloc(sizeof(float) * n), *want = malloc(sizeof(float) * n_out), *got = malloc(sizeof(float) * n_out);
    for (int64_t i = 0; i < n; i++) xc[i] = (float)orr_tensor_get(x, i);
    orr_ref_resize(want, xc, 6, in, size, ORR_RESIZE_BICUBIC, true);
    for (int64_t i = 0; i < n_out; i++) got[i] = (float)orr_tensor_get(out, i);
    CHECK_CLOSE("op: f16 transposed x into a narrowed out", got, want, n_out, 1e-5);
    CHECK(orr_tensor_get(wide_out, 0) == 0.0);
    orr_tensor_free(base), orr_tensor_free(x), orr_tensor_free(wide_out), orr_tensor_free(out);
    free(vals), free(xc), free(want), free(got);
}

static void test_errors(void) {
    int64_t s4[4] = {1, 2, 4, 4}, s5[5] = {1, 2, 2, 4, 4}, o4[4] = {1, 2, 8, 8}, c4[4] = {1, 3, 8, 8};
    int64_t z4[4] = {1, 2, 0, 8};
    orr_tensor *x4 = NULL, *x5 = NULL, *y4 = NULL, *yc = NULL, *yz = NULL;
    CHECK_OK(orr_tensor_zeros(&x4, ORR_F32, 4, s4));
    CHECK_OK(orr_tensor_zeros(&x5, ORR_F32, 5, s5));
    CHECK_OK(orr_tensor_zeros(&y4, ORR_F32, 4, o4));
    CHECK_OK(orr_tensor_zeros(&yc, ORR_F32, 4, c4));
    CHECK_OK(orr_tensor_zeros(&yz, ORR_F32, 4, z4));
    CHECK_FAILS(orr_resize(y4, x4, ORR_RESIZE_NEAREST, true), ORR_ERR_ARGUMENT, "align_corners");
    CHECK_FAILS(orr_resize(y4, x5, ORR_RESIZE_BILINEAR, false), ORR_ERR_SHAPE,
                "resize: x is f32[1,2,2,4,4] but bilinear takes [N,C,H,W]");
    CHECK_FAILS(orr_resize(y4, x4, ORR_RESIZE_TRILINEAR, false), ORR_ERR_SHAPE, "trilinear takes [N,C,T,H,W]");
    CHECK_FAILS(orr_resize(yc, x4, ORR_RESIZE_BILINEAR, false), ORR_ERR_SHAPE, "out is f32[1,3,8,8]");
    CHECK_FAILS(orr_resize(yz, x4, ORR_RESIZE_BICUBIC, false), ORR_ERR_SHAPE, "at least 1");
    CHECK_FAILS(orr_resize(y4, x4, (orr_resize_mode)99, false), ORR_ERR_ARGUMENT, "unknown mode 99");
    CHECK_FAILS(orr_resize(y4, NULL, ORR_RESIZE_NEAREST, false), ORR_ERR_ARGUMENT, "resize: x is NULL");
    orr_tensor_free(x4), orr_tensor_free(x5), orr_tensor_free(y4), orr_tensor_free(yc), orr_tensor_free(yz);
}

int main(void) {
    test_against_reference();
    test_by_hand();
    test_op_strided();
    test_errors();
    return test_finish("test_resize");
}
