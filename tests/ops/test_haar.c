/* test_haar.c — Haar patching: the fused kernels against the pass-by-pass
 * oracle (p = 1..8, odd sizes that take the reflect padding), the official
 * numbers (tests/data/haar_golden.safetensors: slices of the tokenizer_cv
 * and tokenizer_ci golden fixtures, made by cosmos-predict1's Patcher3D,
 * UnPatcher3D, Patcher and UnPatcher), unpatch(patch(x)) == x, the ops on
 * strided and non-f32 tensors, and the error messages. */
#include "haar.h"
#include "test_util.h"

static float *random_floats(int64_t n, unsigned seed) {
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    test_fill(x, n, seed);
    return x;
}

static int64_t product(int n, const int64_t *s) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) p *= s[i];
    return p;
}

/* dims: {B, C, T, H, W} of the patch input, or of the unpatch output's C and
 * the unpatch input's T, H, W. */
static void compare_3d(int64_t b, int64_t c, int64_t t, int64_t h, int64_t w, int p) {
    char what[120];
    int64_t po = p;
    int64_t out_shape[5] = {b, c * po * po * po, orr_haar_patched_len(t + p - 1, p), orr_haar_patched_len(h, p),
                            orr_haar_patched_len(w, p)};
    int64_t n_in = b * c * t * h * w, n_out = product(5, out_shape);
    float *x = random_floats(n_in, 11), *want = malloc(sizeof(float) * n_out), *got = malloc(sizeof(float) * n_out);
    CHECK_OK(orr_ref_haar3d_patch(want, x, b, c, t, h, w, p));
    CHECK_OK(orr_cpu_haar3d_patch(got, x, b, c, t, h, w, p));
    snprintf(what, sizeof what, "haar3d_patch [%lld,%lld,%lld,%lld,%lld] p=%d", (long long)b, (long long)c,
             (long long)t, (long long)h, (long long)w, p);
    CHECK_CLOSE(what, got, want, n_out, 1e-6);
    free(x), free(want), free(got);

    /* the inverse of a [B, C*p^3, t, h, w] input */
    int64_t n_un_in = b * c * po * po * po * t * h * w, n_un_out = b * c * (po * t - (po - 1)) * po * h * po * w;
    x = random_floats(n_un_in, 12);
    want = malloc(sizeof(float) * n_un_out);
    got = malloc(sizeof(float) * n_un_out);
    CHECK_OK(orr_ref_haar3d_unpatch(want, x, b, c, t, h, w, p));
    CHECK_OK(orr_cpu_haar3d_unpatch(got, x, b, c, t, h, w, p));
    snprintf(what, sizeof what, "haar3d_unpatch C=%lld [%lld,%lld,%lld] p=%d", (long long)c, (long long)t,
             (long long)h, (long long)w, p);
    CHECK_CLOSE(what, got, want, n_un_out, 1e-6);
    free(x), free(want), free(got);
}

static void compare_2d(int64_t b, int64_t c, int64_t h, int64_t w, int p) {
    char what[120];
    int64_t po = p;
    int64_t n_in = b * c * h * w, n_out = b * c * po * po * orr_haar_patched_len(h, p) * orr_haar_patched_len(w, p);
    float *x = random_floats(n_in, 13), *want = malloc(sizeof(float) * n_out), *got = malloc(sizeof(float) * n_out);
    CHECK_OK(orr_ref_haar2d_patch(want, x, b, c, h, w, p));
    CHECK_OK(orr_cpu_haar2d_patch(got, x, b, c, h, w, p));
    snprintf(what, sizeof what, "haar2d_patch [%lld,%lld,%lld,%lld] p=%d", (long long)b, (long long)c, (long long)h,
             (long long)w, p);
    CHECK_CLOSE(what, got, want, n_out, 1e-6);
    free(x), free(want), free(got);

    int64_t n_un = b * c * po * po * h * w;
    x = random_floats(n_un, 14);
    want = malloc(sizeof(float) * n_un);
    got = malloc(sizeof(float) * n_un);
    CHECK_OK(orr_ref_haar2d_unpatch(want, x, b, c, h, w, p));
    CHECK_OK(orr_cpu_haar2d_unpatch(got, x, b, c, h, w, p));
    snprintf(what, sizeof what, "haar2d_unpatch C=%lld [%lld,%lld] p=%d", (long long)c, (long long)h, (long long)w, p);
    CHECK_CLOSE(what, got, want, n_un, 1e-6);
    free(x), free(want), free(got);
}

static void test_against_reference(void) {
    compare_3d(1, 1, 1, 2, 2, 1);
    compare_3d(2, 3, 5, 8, 12, 2);
    compare_3d(1, 3, 9, 16, 16, 4);
    compare_3d(1, 2, 17, 8, 8, 4);
    compare_3d(1, 1, 9, 16, 8, 8);
    compare_3d(1, 2, 4, 7, 9, 2);  /* odd sizes: reflect padding */
    compare_3d(1, 1, 6, 5, 11, 4); /* odd at the second level too */
    compare_3d(2, 1, 2, 5, 5, 8);
    compare_2d(1, 1, 2, 2, 1);
    compare_2d(2, 3, 8, 12, 2);
    compare_2d(1, 3, 16, 16, 4);
    compare_2d(1, 2, 7, 13, 2);
    compare_2d(1, 1, 10, 6, 8);
}

static orr_tensor *get(orr_safetensors *st, const char *name) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_st_get(st, name, &t));
    return t;
}

/* Runs `op` on fixture tensor `in` and compares with fixture tensor `want`. */
static void check_golden(orr_safetensors *st, const char *in, const char *want_name,
                         orr_status (*op)(orr_tensor *, const orr_tensor *, int), int p) {
    orr_tensor *x = get(st, in), *want = get(st, want_name), *out = NULL;
    if (!x || !want) return;
    CHECK_OK(orr_tensor_zeros(&out, ORR_F32, want->ndim, want->shape));
    CHECK_OK(op(out, x, p));
    char what[120];
    snprintf(what, sizeof what, "official %s -> %s", in, want_name);
    CHECK_CLOSE(what, (const float *)out->data, (const float *)want->data, orr_tensor_numel(want), 1e-5);
    orr_tensor_free(x), orr_tensor_free(want), orr_tensor_free(out);
}

static void test_golden(void) {
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open("data/haar_golden.safetensors", &st));
    if (!st) return;
    check_golden(st, "video", "video_patched", orr_haar3d_patch, 4);
    check_golden(st, "latent_patched", "latent_unpatched", orr_haar3d_unpatch, 4);
    check_golden(st, "image", "image_patched", orr_haar2d_patch, 2);
    check_golden(st, "image_latent_patched", "image_latent_unpatched", orr_haar2d_unpatch, 2);
    orr_st_close(st);
}

static void roundtrip(int ndim, const int64_t *shape, int p) {
    orr_status (*patch)(orr_tensor *, const orr_tensor *, int) = ndim == 5 ? orr_haar3d_patch : orr_haar2d_patch;
    orr_status (*unpatch)(orr_tensor *, const orr_tensor *, int) = ndim == 5 ? orr_haar3d_unpatch : orr_haar2d_unpatch;
    int64_t pshape[5], pp = ndim == 5 ? (int64_t)p * p * p : (int64_t)p * p;
    pshape[0] = shape[0];
    pshape[1] = shape[1] * pp;
    for (int d = 2; d < ndim; d++)
        pshape[d] = d == 2 && ndim == 5 ? (shape[d] + p - 1) / p : shape[d] / p;
    orr_tensor *x = NULL, *patched = NULL, *back = NULL;
    CHECK_OK(orr_tensor_empty(&x, ORR_F32, ndim, shape));
    test_fill(x->data, orr_tensor_numel(x), 21);
    CHECK_OK(orr_tensor_empty(&patched, ORR_F32, ndim, pshape));
    CHECK_OK(orr_tensor_empty(&back, ORR_F32, ndim, shape));
    CHECK_OK(patch(patched, x, p));
    CHECK_OK(unpatch(back, patched, p));
    CHECK_CLOSE(ndim == 5 ? "unpatch3d(patch3d(x))" : "unpatch2d(patch2d(x))", (const float *)back->data,
                (const float *)x->data, orr_tensor_numel(x), 1e-6);
    orr_tensor_free(x), orr_tensor_free(patched), orr_tensor_free(back);
}

static void test_roundtrip(void) {
    int64_t v2[5] = {2, 3, 5, 8, 6}, v4[5] = {1, 3, 17, 16, 32}, v8[5] = {1, 2, 9, 16, 16};
    int64_t i2[4] = {2, 3, 8, 6}, i4[4] = {1, 3, 16, 32};
    roundtrip(5, v2, 2);
    roundtrip(5, v4, 4);
    roundtrip(5, v8, 8);
    roundtrip(4, i2, 2);
    roundtrip(4, i4, 4);
}

/* x as a bf16 permuted view, out as a strided f32 view: same numbers as the
 * kernel on the contiguous float copy. */
static void test_op_strided(void) {
    int64_t shape_thwc[5] = {1, 9, 8, 8, 3}, out_shape[5] = {1, 24, 5, 4, 4}, wide[5] = {1, 24, 5, 4, 8};
    int order[5] = {0, 4, 1, 2, 3};
    orr_tensor *base = NULL, *x = NULL, *wide_out = NULL, *out = NULL;
    CHECK_OK(orr_tensor_empty(&base, ORR_BF16, 5, shape_thwc));
    int64_t n = orr_tensor_numel(base);
    float *vals = random_floats(n, 31);
    for (int64_t i = 0; i < n; i++) orr_tensor_set(base, i, vals[i]);
    CHECK_OK(orr_tensor_permute(&x, base, order)); /* [1,3,9,8,8] */
    CHECK_OK(orr_tensor_zeros(&wide_out, ORR_F32, 5, wide));
    CHECK_OK(orr_tensor_narrow(&out, wide_out, 4, 2, 4));
    CHECK_OK(orr_haar3d_patch(out, x, 2));

    float *xc = malloc(sizeof(float) * n), *want = malloc(sizeof(float) * product(5, out_shape));
    float *got = malloc(sizeof(float) * product(5, out_shape));
    for (int64_t i = 0; i < n; i++) xc[i] = (float)orr_tensor_get(x, i);
    CHECK_OK(orr_ref_haar3d_patch(want, xc, 1, 3, 9, 8, 8, 2));
    for (int64_t i = 0; i < product(5, out_shape); i++) got[i] = (float)orr_tensor_get(out, i);
    CHECK_CLOSE("op: bf16 permuted x into a narrowed out", got, want, product(5, out_shape), 1e-6);
    CHECK(orr_tensor_get(wide_out, 0) == 0.0); /* outside the view: untouched */
    orr_tensor_free(base), orr_tensor_free(x), orr_tensor_free(wide_out), orr_tensor_free(out);
    free(vals), free(xc), free(want), free(got);
}

static void test_errors(void) {
    int64_t v[5] = {1, 3, 5, 8, 8}, v_short[5] = {1, 3, 5, 2, 8}, img[4] = {1, 3, 8, 8};
    int64_t good[5] = {1, 24, 3, 4, 4}, bad[5] = {1, 24, 2, 4, 4}, un_bad[5] = {1, 20, 3, 4, 4};
    orr_tensor *x = NULL, *xs = NULL, *x4 = NULL, *out = NULL, *out_bad = NULL, *un = NULL;
    CHECK_OK(orr_tensor_zeros(&x, ORR_F32, 5, v));
    CHECK_OK(orr_tensor_zeros(&xs, ORR_F32, 5, v_short));
    CHECK_OK(orr_tensor_zeros(&x4, ORR_F32, 4, img));
    CHECK_OK(orr_tensor_zeros(&out, ORR_F32, 5, good));
    CHECK_OK(orr_tensor_zeros(&out_bad, ORR_F32, 5, bad));
    CHECK_OK(orr_tensor_zeros(&un, ORR_F32, 5, un_bad));
    CHECK_OK(orr_haar3d_patch(out, x, 2));
    CHECK_FAILS(orr_haar3d_patch(out, x, 3), ORR_ERR_ARGUMENT, "haar3d_patch: patch size p = 3");
    CHECK_FAILS(orr_haar3d_patch(out_bad, x, 2), ORR_ERR_SHAPE, "out is f32[1,24,2,4,4] but must be [1,24,3,4,4]");
    CHECK_FAILS(orr_haar3d_patch(out, x4, 2), ORR_ERR_SHAPE, "haar3d_patch: x is f32[1,3,8,8]");
    CHECK_FAILS(orr_haar3d_patch(out, xs, 4), ORR_ERR_SHAPE, "x's H is too short for patch size 4");
    CHECK_FAILS(orr_haar3d_unpatch(x, un, 2), ORR_ERR_SHAPE, "channels must be a multiple of p^3 = 8");
    CHECK_FAILS(orr_haar2d_unpatch(x4, x, 2), ORR_ERR_SHAPE, "haar2d_unpatch: x is f32[1,3,5,8,8]");
    CHECK_FAILS(orr_haar2d_patch(out, NULL, 2), ORR_ERR_ARGUMENT, "haar2d_patch: x is NULL");
    orr_tensor_free(x), orr_tensor_free(xs), orr_tensor_free(x4), orr_tensor_free(out), orr_tensor_free(out_bad);
    orr_tensor_free(un);
}

int main(void) {
    test_against_reference();
    test_golden();
    test_roundtrip();
    test_op_strided();
    test_errors();
    return test_finish("test_haar");
}
