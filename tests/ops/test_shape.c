/* test_shape.c — the pad kernels (fast vs reference, hand-checked modes) and
 * the tensor ops orr_pad, orr_concat and orr_repeat_interleave. */
#include "elementwise.h"
#include "test_util.h"

/* [1,2,3,4] padded by 2 before and 1 after, as torch.nn.functional.pad. */
static void test_pad_hand(void) {
    const float x[4] = {1, 2, 3, 4};
    const int64_t shape[1] = {4}, pads[2] = {2, 1};
    const float want[3][7] = {{9, 9, 1, 2, 3, 4, 9}, {1, 1, 1, 2, 3, 4, 4}, {3, 2, 1, 2, 3, 4, 3}};
    for (int mode = ORR_PAD_CONSTANT; mode <= ORR_PAD_REFLECT; mode++) {
        float y[7], r[7];
        orr_cpu_pad(y, x, 1, shape, pads, (orr_pad_mode)mode, 9.0f);
        orr_ref_pad(r, x, 1, shape, pads, (orr_pad_mode)mode, 9.0f);
        CHECK(memcmp(y, want[mode], sizeof y) == 0);
        CHECK(memcmp(r, want[mode], sizeof r) == 0);
    }
    /* negative pads crop */
    const int64_t crop[2] = {-1, 2};
    float y[5];
    orr_cpu_pad(y, x, 1, shape, crop, ORR_PAD_REFLECT, 0.0f);
    const float want_crop[5] = {2, 3, 4, 3, 2};
    CHECK(memcmp(y, want_crop, sizeof y) == 0);
}

static void test_pad_kernels(void) {
    static const struct {
        int ndim;
        int64_t shape[4], pads[8];
    } cases[] = {
        {3, {3, 5, 7}, {1, 2, 0, 3, 6, 1}},
        {4, {2, 3, 4, 37}, {0, 0, 1, 1, 3, 2, 36, 5}},
        {2, {9, 1000}, {-2, 1, 4, 0}},
        {4, {1, 2, 3, 3}, {0, 0, -1, 1, 2, 2, 1, -1}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int nd = cases[c].ndim;
        long n_in = 1, n_out = 1;
        for (int d = 0; d < nd; d++) {
            n_in *= (long)cases[c].shape[d];
            n_out *= (long)(cases[c].shape[d] + cases[c].pads[2 * d] + cases[c].pads[2 * d + 1]);
        }
        float *in = malloc(sizeof(float) * (size_t)n_in);
        float *fast = malloc(sizeof(float) * (size_t)n_out), *ref = malloc(sizeof(float) * (size_t)n_out);
        test_fill(in, n_in, 30 + (unsigned)c);
        for (int mode = ORR_PAD_CONSTANT; mode <= ORR_PAD_REFLECT; mode++) {
            bool legal = true;
            for (int d = 0; d < nd; d++)
                if (mode == ORR_PAD_REFLECT && (cases[c].pads[2 * d] >= cases[c].shape[d] ||
                                                 cases[c].pads[2 * d + 1] >= cases[c].shape[d]))
                    legal = false;
            if (!legal) continue;
            orr_ref_pad(ref, in, nd, cases[c].shape, cases[c].pads, (orr_pad_mode)mode, -7.0f);
            orr_cpu_pad(fast, in, nd, cases[c].shape, cases[c].pads, (orr_pad_mode)mode, -7.0f);
            CHECK(memcmp(fast, ref, sizeof(float) * (size_t)n_out) == 0);
        }
        free(in), free(fast), free(ref);
    }
}

/* u8 image [2,3,4] seen as [3,4,2] (permuted), reflect-padded into a
 * non-contiguous f32 out. */
static void test_pad_tensor(void) {
    orr_tensor *img = NULL, *ip = NULL, *out = NULL, *ot = NULL;
    CHECK_OK(orr_tensor_empty(&img, ORR_U8, 3, (const int64_t[]){2, 3, 4}));
    for (int i = 0; i < 24; i++) orr_tensor_set(img, i, i * 10);
    CHECK_OK(orr_tensor_permute(&ip, img, (const int[]){1, 2, 0})); /* [3,4,2] */
    const int64_t pads[6] = {1, 1, 0, 2, 0, 0};
    CHECK_OK(orr_tensor_empty(&out, ORR_F32, 3, (const int64_t[]){2, 6, 5}));
    CHECK_OK(orr_tensor_permute(&ot, out, (const int[]){2, 1, 0})); /* [5,6,2] */
    CHECK_OK(orr_pad(ot, ip, pads, ORR_PAD_REFLECT, 0.0f));
    int wrong = 0;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 6; j++)
            for (int k = 0; k < 2; k++) {
                int si = i - 1 < 0 ? 1 - i : i - 1 > 2 ? 4 - (i - 1) : i - 1;
                int sj = j > 3 ? 6 - j : j;
                wrong += orr_tensor_get(ot, (i * 6 + j) * 2 + k) != orr_tensor_get(ip, (si * 4 + sj) * 2 + k);
            }
    CHECK(wrong == 0);
    orr_tensor_free(img), orr_tensor_free(ip), orr_tensor_free(out), orr_tensor_free(ot);
}

/* Three parts of three dtypes, one of them a transposed view, along dim 1
 * into a narrowed out; and int64 values that float32 would round. */
static void test_concat(void) {
    orr_tensor *p0 = test_tensor_filled(ORR_F32, 2, (const int64_t[]){3, 2}, 1, 1.0f);
    orr_tensor *p1_base = test_tensor_filled(ORR_BF16, 2, (const int64_t[]){4, 3}, 2, 1.0f), *p1 = NULL;
    CHECK_OK(orr_tensor_transpose(&p1, p1_base, 0, 1)); /* [3,4] */
    orr_tensor *p2 = NULL, *empty = NULL;
    CHECK_OK(orr_tensor_empty(&p2, ORR_I32, 2, (const int64_t[]){3, 1}));
    for (int i = 0; i < 3; i++) orr_tensor_set(p2, i, 100 + i);
    CHECK_OK(orr_tensor_empty(&empty, ORR_F32, 2, (const int64_t[]){3, 0}));
    orr_tensor *big = NULL, *out = NULL;
    CHECK_OK(orr_tensor_zeros(&big, ORR_F32, 2, (const int64_t[]){3, 9}));
    CHECK_OK(orr_tensor_narrow(&out, big, 1, 1, 7));
    const orr_tensor *parts[4] = {p0, empty, p1, p2};
    CHECK_OK(orr_concat(out, parts, 4, -1));
    int wrong = 0;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 2; j++) wrong += orr_tensor_get(out, i * 7 + j) != orr_tensor_get(p0, i * 2 + j);
        for (int j = 0; j < 4; j++) wrong += orr_tensor_get(out, i * 7 + 2 + j) != orr_tensor_get(p1, i * 4 + j);
        wrong += orr_tensor_get(out, i * 7 + 6) != 100 + i;
        wrong += orr_tensor_get(big, i * 9) != 0 || orr_tensor_get(big, i * 9 + 8) != 0;
    }
    CHECK(wrong == 0);

    orr_tensor *ids[2] = {NULL, NULL}, *joined = NULL;
    for (int k = 0; k < 2; k++) {
        CHECK_OK(orr_tensor_empty(&ids[k], ORR_I64, 1, (const int64_t[]){2}));
        ((int64_t *)ids[k]->data)[0] = (1LL << 40) + 1 + k;
        ((int64_t *)ids[k]->data)[1] = -((1LL << 50) + 3);
    }
    CHECK_OK(orr_tensor_empty(&joined, ORR_I64, 1, (const int64_t[]){4}));
    CHECK_OK(orr_concat(joined, (const orr_tensor *const *)ids, 2, 0));
    const int64_t *j = joined->data;
    CHECK(j[0] == (1LL << 40) + 1 && j[1] == -((1LL << 50) + 3) && j[2] == (1LL << 40) + 2);

    /* errors */
    CHECK_FAILS(orr_concat(out, parts, 0, 1), ORR_ERR_ARGUMENT, "0 parts");
    CHECK_FAILS(orr_concat(out, parts, 3, 1), ORR_ERR_SHAPE, "the parts add up to 6 along dim 1 but out is f32[3,7]");
    const orr_tensor *bad[2] = {p0, p1_base};
    CHECK_FAILS(orr_concat(out, bad, 2, 1), ORR_ERR_SHAPE, "concat: parts[1] is bf16[4,3] but out is f32[3,7]");
    const orr_tensor *null_part[2] = {p0, NULL};
    CHECK_FAILS(orr_concat(out, null_part, 2, 1), ORR_ERR_ARGUMENT, "concat: parts[1] is NULL");
    CHECK_FAILS(orr_concat(out, parts, 4, 2), ORR_ERR_ARGUMENT, "dim 2 is out of range");

    orr_tensor_free(p0), orr_tensor_free(p1_base), orr_tensor_free(p1), orr_tensor_free(p2);
    orr_tensor_free(empty), orr_tensor_free(big), orr_tensor_free(out);
    orr_tensor_free(ids[0]), orr_tensor_free(ids[1]), orr_tensor_free(joined);
}

static void test_repeat_interleave(void) {
    /* [[1,2,3],[4,5,6]] repeated twice along dim 1, and three times along dim 0 */
    orr_tensor *a = NULL, *o1 = NULL, *o0 = NULL;
    CHECK_OK(orr_tensor_empty(&a, ORR_I64, 2, (const int64_t[]){2, 3}));
    for (int i = 0; i < 6; i++) orr_tensor_set(a, i, i + 1);
    CHECK_OK(orr_tensor_empty(&o1, ORR_I64, 2, (const int64_t[]){2, 6}));
    CHECK_OK(orr_repeat_interleave(o1, a, 1, 2));
    const int64_t want1[12] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6};
    CHECK(memcmp(o1->data, want1, sizeof want1) == 0);
    CHECK_OK(orr_tensor_empty(&o0, ORR_I64, 2, (const int64_t[]){6, 3}));
    CHECK_OK(orr_repeat_interleave(o0, a, -2, 3));
    const int64_t want0[18] = {1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5, 6};
    CHECK(memcmp(o0->data, want0, sizeof want0) == 0);

    /* GQA-style: kv heads [B,Hk,S,D] -> [B,H,S,D] from a strided bf16 view
     * into a non-contiguous f32 out, with six dims in play */
    const int64_t kv_shape[6] = {1, 2, 3, 1, 4, 5};
    orr_tensor *kv = test_tensor_filled(ORR_BF16, 6, kv_shape, 9, 1.0f), *kvp = NULL, *out = NULL, *outp = NULL;
    CHECK_OK(orr_tensor_transpose(&kvp, kv, 4, 5)); /* [1,2,3,1,5,4] */
    CHECK_OK(orr_tensor_empty(&out, ORR_F32, 6, (const int64_t[]){1, 2, 12, 1, 4, 5}));
    CHECK_OK(orr_tensor_transpose(&outp, out, 4, 5)); /* [1,2,12,1,5,4] */
    CHECK_OK(orr_repeat_interleave(outp, kvp, 2, 4));
    int wrong = 0;
    for (int b = 0; b < 2; b++)
        for (int h = 0; h < 12; h++)
            for (int e = 0; e < 20; e++)
                wrong += orr_tensor_get(outp, (b * 12 + h) * 20 + e) != orr_tensor_get(kvp, (b * 3 + h / 4) * 20 + e);
    CHECK(wrong == 0);

    CHECK_FAILS(orr_repeat_interleave(o1, a, 1, 3), ORR_ERR_SHAPE,
                "repeat_interleave: out is i64[2,6] but a i64[2,3] repeated 3 times along dim 1");
    CHECK_FAILS(orr_repeat_interleave(o1, a, 1, -1), ORR_ERR_ARGUMENT, "repeats is -1");
    CHECK_FAILS(orr_repeat_interleave(o1, a, 5, 2), ORR_ERR_ARGUMENT, "dim 5 is out of range");
    orr_tensor_free(a), orr_tensor_free(o1), orr_tensor_free(o0);
    orr_tensor_free(kv), orr_tensor_free(kvp), orr_tensor_free(out), orr_tensor_free(outp);
}

static void test_pad_errors(void) {
    orr_tensor *a = NULL, *out = NULL;
    CHECK_OK(orr_tensor_zeros(&a, ORR_F32, 2, (const int64_t[]){2, 3}));
    CHECK_OK(orr_tensor_zeros(&out, ORR_F32, 2, (const int64_t[]){2, 6}));
    const int64_t ok[4] = {0, 0, 1, 2}, too_far[4] = {0, 0, 3, 0}, wrong[4] = {0, 0, 1, 1}, crop[4] = {-2, -1, 0, 3};
    CHECK_OK(orr_pad(out, a, ok, ORR_PAD_REFLECT, 0));
    CHECK_FAILS(orr_pad(out, a, too_far, ORR_PAD_REFLECT, 0), ORR_ERR_SHAPE, "reflect pads 3, 0 along dim 1");
    CHECK_FAILS(orr_pad(out, a, wrong, ORR_PAD_CONSTANT, 0), ORR_ERR_SHAPE,
                "pad: out is f32[2,6] but a f32[2,3] padded gives [2,5]");
    CHECK_FAILS(orr_pad(out, a, crop, ORR_PAD_CONSTANT, 0), ORR_ERR_SHAPE, "crop dim 0");
    CHECK_FAILS(orr_pad(out, a, NULL, ORR_PAD_CONSTANT, 0), ORR_ERR_ARGUMENT, "pads is NULL");
    CHECK_FAILS(orr_pad(out, a, ok, (orr_pad_mode)5, 0), ORR_ERR_ARGUMENT, "mode 5");
    orr_tensor *empty = NULL;
    CHECK_OK(orr_tensor_zeros(&empty, ORR_F32, 2, (const int64_t[]){2, 0}));
    const int64_t grow[4] = {0, 0, 2, 1};
    CHECK_FAILS(orr_pad(a, empty, grow, ORR_PAD_REPLICATE, 0), ORR_ERR_SHAPE, "cannot replicate dim 1");
    CHECK_OK(orr_pad(a, empty, grow, ORR_PAD_CONSTANT, 4.5f));
    CHECK(orr_tensor_get(a, 5) == 4.5);
    orr_tensor_free(a), orr_tensor_free(out), orr_tensor_free(empty);
}

int main(void) {
    test_pad_hand();
    test_pad_kernels();
    test_pad_tensor();
    test_concat();
    test_repeat_interleave();
    test_pad_errors();
    return test_finish("test_shape");
}
