/* test_rope.c — RoPE kernels (fast vs reference, both forms, hand-checked
 * rotations) and orr_rope with broadcast cos/sin on strided inputs. */
#include "rope.h"
#include "test_util.h"

/* x = [1,2,3,4]: rotate_half pairs (0,2),(1,3), interleaved pairs (0,1),(2,3);
 * the first pair turns by 90 degrees, the second by 0. */
static void test_hand_values(void) {
    const float x[4] = {1, 2, 3, 4};
    const float cos_half[4] = {0, 1, 0, 1}, sin_half[4] = {1, 0, 1, 0};
    const float cos_pair[4] = {0, 0, 1, 1}, sin_pair[4] = {1, 1, 0, 0};
    const float want_half[4] = {-3, 2, 1, 4}, want_pair[4] = {-2, 1, 3, 4};
    float y[4];
    for (int fast = 0; fast < 2; fast++) {
        (fast ? orr_cpu_rope : orr_ref_rope)(y, x, cos_half, NULL, sin_half, NULL, 0, NULL, 4, false);
        CHECK(memcmp(y, want_half, sizeof y) == 0);
        (fast ? orr_cpu_rope : orr_ref_rope)(y, x, cos_pair, NULL, sin_pair, NULL, 0, NULL, 4, true);
        CHECK(memcmp(y, want_pair, sizeof y) == 0);
    }
}

static void test_kernels(void) {
    /* x [B,S,H,D] with cos/sin [S,1,1,D] (DiT) and [1,S,1,D]-like strides */
    static const int64_t cases[][4] = {{2, 5, 3, 10}, {1, 7, 2, 128}, {3, 33, 4, 6}, {1, 300, 8, 130}, {2, 1, 1, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int64_t B = cases[c][0], S = cases[c][1], H = cases[c][2], D = cases[c][3];
        const long n = (long)(B * S * H * D);
        float *x = malloc(sizeof(float) * (size_t)n), *fast = malloc(sizeof(float) * (size_t)n);
        float *ref = malloc(sizeof(float) * (size_t)n);
        float *cs = malloc(sizeof(float) * (size_t)(S * D)), *sn = malloc(sizeof(float) * (size_t)(S * D));
        test_fill(x, n, 80 + (unsigned)c);
        for (int64_t s = 0; s < S; s++)
            for (int64_t j = 0; j < D; j++) {
                cs[s * D + j] = cosf(0.1f * (float)(s + 1) * (float)(j % (D / 2) + 1));
                sn[s * D + j] = sinf(0.1f * (float)(s + 1) * (float)(j % (D / 2) + 1));
            }
        const int64_t shape[3] = {B, S, H}, stride[3] = {0, D, 0};
        for (int interleaved = 0; interleaved < 2; interleaved++) {
            orr_ref_rope(ref, x, cs, stride, sn, stride, 3, shape, D, interleaved);
            orr_cpu_rope(fast, x, cs, stride, sn, stride, 3, shape, D, interleaved);
            CHECK_CLOSE("rope", fast, ref, n, 1e-6);
        }
        orr_cpu_rope(x, x, cs, stride, sn, stride, 3, shape, D, true); /* in place */
        CHECK_CLOSE("rope in place", x, ref, n, 1e-6);
        free(x), free(fast), free(ref), free(cs), free(sn);
    }
}

/* The reference on tensors read back with orr_tensor_get, cos/sin expanded
 * to x's shape. */
static void expected(float *want, const orr_tensor *x, const orr_tensor *cos, const orr_tensor *sin, bool interleaved) {
    orr_tensor *ce = NULL, *se = NULL;
    CHECK_OK(orr_tensor_expand(&ce, cos, x->ndim, x->shape));
    CHECK_OK(orr_tensor_expand(&se, sin, x->ndim, x->shape));
    long n = (long)orr_tensor_numel(x);
    float *xv = malloc(sizeof(float) * (size_t)n), *cv = malloc(sizeof(float) * (size_t)n);
    float *sv = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) {
        xv[i] = (float)orr_tensor_get(x, i);
        cv[i] = (float)orr_tensor_get(ce, i);
        sv[i] = (float)orr_tensor_get(se, i);
    }
    const int64_t D = x->shape[x->ndim - 1], rows[1] = {n / D}, stride[1] = {D};
    orr_ref_rope(want, xv, cv, stride, sv, stride, 1, rows, D, interleaved);
    free(xv), free(cv), free(sv);
    orr_tensor_free(ce), orr_tensor_free(se);
}

static void test_tensor_op(void) {
    /* x [B,S,H,D] = [2,6,3,8] as a permuted bf16 [B,H,S,D]; cos f32 [S,1,D];
     * sin bf16 [S,1,D]; out a permuted f32 [B,H,S,D] */
    orr_tensor *xs = test_tensor_filled(ORR_BF16, 4, (const int64_t[]){2, 3, 6, 8}, 90, 2.0f), *x = NULL;
    CHECK_OK(orr_tensor_permute(&x, xs, (const int[]){0, 2, 1, 3}));
    orr_tensor *cos = test_tensor_filled(ORR_F32, 3, (const int64_t[]){6, 1, 8}, 91, 1.0f);
    orr_tensor *sin = test_tensor_filled(ORR_BF16, 3, (const int64_t[]){6, 1, 8}, 92, 1.0f);
    orr_tensor *os = NULL, *out = NULL;
    CHECK_OK(orr_tensor_empty(&os, ORR_F32, 4, (const int64_t[]){2, 3, 6, 8}));
    CHECK_OK(orr_tensor_permute(&out, os, (const int[]){0, 2, 1, 3}));
    float want[288], got[288];
    for (int interleaved = 0; interleaved < 2; interleaved++) {
        CHECK_OK(orr_rope(out, x, cos, sin, interleaved));
        expected(want, x, cos, sin, interleaved);
        for (int i = 0; i < 288; i++) got[i] = (float)orr_tensor_get(out, i);
        CHECK_CLOSE("rope tensor", got, want, 288, 1e-6);
    }
    /* cos/sin that broadcast along D too (one angle per position), and a
     * 0-d sin */
    orr_tensor *c1 = test_tensor_filled(ORR_F32, 2, (const int64_t[]){6, 1}, 93, 1.0f), *c0 = NULL, *cu = NULL;
    CHECK_OK(orr_tensor_unsqueeze(&cu, c1, 1)); /* [6,1,1] */
    CHECK_OK(orr_tensor_empty(&c0, ORR_F32, 0, NULL));
    orr_tensor_set(c0, 0, 0.5);
    CHECK_OK(orr_rope(out, x, cu, c0, false));
    expected(want, x, cu, c0, false);
    for (int i = 0; i < 288; i++) got[i] = (float)orr_tensor_get(out, i);
    CHECK_CLOSE("rope broadcast along D", got, want, 288, 1e-6);

    /* errors */
    orr_tensor *odd = NULL, *wrong = NULL;
    CHECK_OK(orr_tensor_zeros(&odd, ORR_F32, 2, (const int64_t[]){4, 5}));
    CHECK_FAILS(orr_rope(odd, odd, c0, c0, false), ORR_ERR_SHAPE, "rope: x is f32[4,5] but its last dim must be even");
    CHECK_OK(orr_tensor_zeros(&wrong, ORR_F32, 2, (const int64_t[]){5, 8}));
    CHECK_FAILS(orr_rope(out, x, wrong, sin, false), ORR_ERR_SHAPE,
                "rope: cos is f32[5,8] but does not broadcast to x bf16[2,6,3,8]");
    CHECK_FAILS(orr_rope(out, x, cos, wrong, false), ORR_ERR_SHAPE, "rope: sin is f32[5,8]");
    CHECK_FAILS(orr_rope(wrong, x, cos, sin, false), ORR_ERR_SHAPE, "rope: out is f32[5,8] but x is bf16[2,6,3,8]");
    CHECK_FAILS(orr_rope(out, x, NULL, sin, false), ORR_ERR_ARGUMENT, "rope: cos is NULL");

    orr_tensor_free(xs), orr_tensor_free(x), orr_tensor_free(cos), orr_tensor_free(sin), orr_tensor_free(os);
    orr_tensor_free(out), orr_tensor_free(c1), orr_tensor_free(c0), orr_tensor_free(cu);
    orr_tensor_free(odd), orr_tensor_free(wrong);
}

int main(void) {
    test_hand_values();
    test_kernels();
    test_tensor_op();
    return test_finish("test_rope");
}
