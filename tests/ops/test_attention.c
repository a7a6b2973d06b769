/* test_attention.c — the blocked kernel against the row-at-a-time oracle
 * (grouped heads, masks, causal with Sq != Sk, tiny sequences with a huge
 * batch, blocks of every partial size), a hand-computed case, the op on
 * strided and non-f32 tensors, its memory bound, and its error messages. */
#include "attention.h"
#include "test_util.h"

static orr_tensor *tensor_from(orr_dtype dtype, int ndim, const int64_t *shape, const float *values) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, dtype, ndim, shape));
    for (int64_t i = 0; t && i < orr_tensor_numel(t); i++) orr_tensor_set(t, i, values[i]);
    return t;
}

static float *random_floats(int64_t n, unsigned seed) {
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    test_fill(x, n, seed);
    return x;
}

typedef struct mask_case {
    const char *name;
    int64_t shape[4]; /* broadcast shape of the mask; {0} = no mask */
    int zero_every;   /* mask value 0 at elements where (i*37 + 11) % zero_every == 0 */
} mask_case;

static void compare_case(const char *name, orr_attn_dims d, bool causal, const mask_case *mc, double tol) {
    int64_t nq = d.batch * d.heads * d.q_len * d.head_dim, nk = d.batch * d.kv_heads * d.kv_len * d.head_dim;
    int64_t nv = d.batch * d.kv_heads * d.kv_len * d.v_dim, no = d.batch * d.heads * d.q_len * d.v_dim;
    float *q = random_floats(nq, 1), *k = random_floats(nk, 2), *v = random_floats(nv, 3);
    /* spread the scores so that the softmax is far from uniform */
    for (int64_t i = 0; i < nq; i++) q[i] *= 3.0f;
    float *want = calloc((size_t)no + 1, sizeof *want), *got = calloc((size_t)no + 1, sizeof *got);
    orr_attn_mask mask = {0};
    float *mvals = NULL;
    if (mc && mc->shape[0]) {
        int64_t n = mc->shape[0] * mc->shape[1] * mc->shape[2] * mc->shape[3], s = 1;
        mvals = malloc((size_t)n * sizeof *mvals);
        for (int64_t i = 0; i < n; i++) mvals[i] = (i * 37 + 11) % mc->zero_every == 0 ? 0.0f : 1.0f;
        for (int dd = 3; dd >= 0; dd--) {
            mask.stride[dd] = mc->shape[dd] == 1 ? 0 : s;
            s *= mc->shape[dd];
        }
        mask.data = mvals;
    }
    CHECK_OK(orr_ref_attention(want, q, k, v, &mask, &d, 0.125f, causal));
    CHECK_OK(orr_cpu_attention(got, q, k, v, &mask, &d, 0.125f, causal));
    char what[200];
    snprintf(what, sizeof what, "%s%s%s%s", name, causal ? " causal" : "", mc ? " mask " : "", mc ? mc->name : "");
    CHECK_CLOSE(what, got, want, no, tol);
    free(q), free(k), free(v), free(want), free(got), free(mvals);
}

static void test_against_reference(void) {
    static const orr_attn_dims dims[] = {
        /* B, H, Hk, Sq, Sk, D, Dv */
        {1, 1, 1, 1, 1, 8, 8},
        {1, 2, 2, 5, 7, 16, 16},
        {2, 4, 2, 37, 53, 32, 24},      /* grouped heads, Dv != D */
        {1, 2, 1, 130, 300, 64, 64},    /* several query and key blocks, both ragged */
        {1, 8, 8, 300, 280, 64, 64},    /* enough heads for full-size query blocks */
        {1, 1, 1, 70, 300, 33, 17},     /* odd head dims; Sq < Sk */
        {1, 1, 1, 200, 90, 32, 32},     /* Sq > Sk: causal rows with no keys */
        {1, 2, 2, 129, 129, 128, 128},  /* the DiT head dim */
        {300, 1, 1, 3, 3, 64, 64},      /* temporal attention: tiny S, huge batch */
        {97, 2, 2, 5, 5, 16, 16},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "dims #%zu", i);
        compare_case(name, dims[i], false, NULL, 2e-5);
        compare_case(name, dims[i], true, NULL, 2e-5);
    }
    orr_attn_dims d = {2, 4, 2, 67, 300, 32, 32};
    mask_case masks[] = {
        {"key padding [B,1,1,Sk]", {2, 1, 1, 300}, 5},
        {"full [B,H,Sq,Sk]", {2, 4, 67, 300}, 3},
        {"per query [Sq,1]: some rows hidden", {1, 1, 67, 1}, 7},
        {"everything hidden [Sq,Sk]", {1, 1, 67, 300}, 1},
    };
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        compare_case("masked", d, false, &masks[i], 2e-5);
        compare_case("masked", d, true, &masks[i], 2e-5);
    }
    orr_attn_dims tiny = {500, 1, 1, 4, 4, 512, 512};
    mask_case key_pad = {"tiny [B,1,1,Sk]", {500, 1, 1, 4}, 3};
    compare_case("tokenizer temporal", tiny, true, &key_pad, 2e-5);
}

/* One query against two keys: softmax([1, 0]) by hand. */
static void test_by_hand(void) {
    orr_attn_dims d = {1, 1, 1, 1, 2, 2, 2};
    const float q[] = {1, 0}, k[] = {1, 0, 0, 1}, v[] = {1, 2, 3, 4};
    float out[2];
    double e = exp(1.0), w0 = e / (e + 1), w1 = 1 / (e + 1);
    CHECK_OK(orr_cpu_attention(out, q, k, v, NULL, &d, 1.0f, false));
    CHECK_NEAR(out[0], w0 * 1 + w1 * 3, 1e-6);
    CHECK_NEAR(out[1], w0 * 2 + w1 * 4, 1e-6);
    /* causal with Sq = 1 sees every key (the diagonal is aligned to the end) */
    CHECK_OK(orr_cpu_attention(out, q, k, v, NULL, &d, 1.0f, true));
    CHECK_NEAR(out[0], w0 * 1 + w1 * 3, 1e-6);
    const float hide_first[] = {0, 1};
    orr_attn_mask m = {hide_first, {0, 0, 0, 1}};
    CHECK_OK(orr_cpu_attention(out, q, k, v, &m, &d, 1.0f, false));
    CHECK_NEAR(out[0], 3, 1e-6);
    CHECK_NEAR(out[1], 4, 1e-6);
    const float hide_all[] = {0, 0};
    m.data = hide_all;
    CHECK_OK(orr_cpu_attention(out, q, k, v, &m, &d, 1.0f, false));
    CHECK(out[0] == 0.0f && out[1] == 0.0f);
}

/* The op on q as a permuted view of [B,S,H,D], k in bf16, a u8 mask, out in f16. */
static void test_op_strided(void) {
    enum { B = 2, H = 4, HK = 2, SQ = 19, SK = 23, D = 16 };
    int64_t bshd[4] = {B, SQ, H, D}, kshape[4] = {B, HK, SK, D}, oshape[4] = {B, H, SQ, D};
    int64_t mshape[4] = {B, 1, 1, SK};
    float *qv = random_floats(B * SQ * H * D, 4), *kv = random_floats(B * HK * SK * D, 5);
    float *vv = random_floats(B * HK * SK * D, 6), *mv = malloc(B * SK * sizeof *mv);
    for (int i = 0; i < B * SK; i++) mv[i] = i % 4 != 1;
    for (int i = 0; i < B * HK * SK * D; i++) kv[i] = orr_bf16_to_f32(orr_f32_to_bf16(kv[i]));
    orr_tensor *q_bshd = tensor_from(ORR_F32, 4, bshd, qv), *q = NULL;
    CHECK_OK(orr_tensor_transpose(&q, q_bshd, 1, 2));
    orr_tensor *k = tensor_from(ORR_BF16, 4, kshape, kv), *v = tensor_from(ORR_F32, 4, kshape, vv);
    orr_tensor *mask = tensor_from(ORR_U8, 4, mshape, mv), *out = NULL;
    CHECK_OK(orr_tensor_zeros(&out, ORR_F16, 4, oshape));
    CHECK_OK(orr_attention(out, q, k, v, mask, 0.25f, true));

    /* the oracle on contiguous float copies */
    float *qc = malloc(sizeof(float) * B * H * SQ * D), *want = malloc(sizeof(float) * B * H * SQ * D);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int s = 0; s < SQ; s++)
                for (int c = 0; c < D; c++) qc[((b * H + h) * SQ + s) * D + c] = qv[((b * SQ + s) * H + h) * D + c];
    orr_attn_dims d = {B, H, HK, SQ, SK, D, D};
    orr_attn_mask m = {mv, {SK, 0, 0, 1}};
    CHECK_OK(orr_ref_attention(want, qc, kv, vv, &m, &d, 0.25f, true));
    float *got = malloc(sizeof(float) * B * H * SQ * D);
    for (int i = 0; i < B * H * SQ * D; i++) got[i] = (float)orr_tensor_get(out, i);
    CHECK_CLOSE("op: strided q, bf16 k, u8 mask, f16 out", got, want, B * H * SQ * D, 2e-3);
    orr_tensor_free(q_bshd), orr_tensor_free(q), orr_tensor_free(k), orr_tensor_free(v);
    orr_tensor_free(mask), orr_tensor_free(out);
    free(qv), free(kv), free(vv), free(mv), free(qc), free(want), free(got);
}

/* 2048 x 2048 scores would be 16 MiB; the op may only hold blocks of them. */
static void test_memory_bound(void) {
    int64_t shape[4] = {1, 1, 2048, 64};
    orr_tensor *q = NULL, *k = NULL, *v = NULL, *out = NULL;
    CHECK_OK(orr_tensor_zeros(&q, ORR_F32, 4, shape));
    CHECK_OK(orr_tensor_zeros(&k, ORR_F32, 4, shape));
    CHECK_OK(orr_tensor_zeros(&v, ORR_F32, 4, shape));
    CHECK_OK(orr_tensor_zeros(&out, ORR_F32, 4, shape));
    orr_mem_stats before, after;
    orr_mem_get_stats(ORR_CPU, &before);
    orr_mem_reset_peak(ORR_CPU);
    CHECK_OK(orr_attention(out, q, k, v, NULL, 0.125f, false));
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_peak - before.bytes_in_use < 2 * 1024 * 1024);
    orr_tensor_free(q), orr_tensor_free(k), orr_tensor_free(v), orr_tensor_free(out);
}

static void test_errors(void) {
    int64_t s4[4] = {1, 4, 5, 8}, s3[3] = {4, 5, 8}, kv[4] = {1, 3, 6, 8}, k2[4] = {1, 2, 6, 8};
    int64_t bad_out[4] = {1, 4, 5, 7}, bad_mask[2] = {5, 5};
    orr_tensor *q = NULL, *q3 = NULL, *k3h = NULL, *k = NULL, *out = NULL, *out_bad = NULL, *mask = NULL;
    CHECK_OK(orr_tensor_zeros(&q, ORR_F32, 4, s4));
    CHECK_OK(orr_tensor_zeros(&q3, ORR_F32, 3, s3));
    CHECK_OK(orr_tensor_zeros(&k3h, ORR_F32, 4, kv));
    CHECK_OK(orr_tensor_zeros(&k, ORR_F32, 4, k2));
    CHECK_OK(orr_tensor_zeros(&out, ORR_F32, 4, s4));
    CHECK_OK(orr_tensor_zeros(&out_bad, ORR_F32, 4, bad_out));
    CHECK_OK(orr_tensor_zeros(&mask, ORR_BOOL, 2, bad_mask));
    CHECK_FAILS(orr_attention(out, q3, k, k, NULL, 1, false), ORR_ERR_SHAPE, "attention: q is f32[4,5,8]");
    CHECK_FAILS(orr_attention(out, q, k3h, k3h, NULL, 1, false), ORR_ERR_SHAPE, "not a multiple of k's 3");
    CHECK_FAILS(orr_attention(out_bad, q, k, k, NULL, 1, false), ORR_ERR_SHAPE, "out is f32[1,4,5,7]");
    CHECK_FAILS(orr_attention(out, q, k, q, NULL, 1, false), ORR_ERR_SHAPE, "attention: v is f32[1,4,5,8]");
    CHECK_FAILS(orr_attention(out, q, k, k, mask, 1, false), ORR_ERR_SHAPE, "mask is bool[5,5]");
    CHECK_FAILS(orr_attention(out, NULL, k, k, NULL, 1, false), ORR_ERR_ARGUMENT, "attention: q is NULL");
    CHECK_FAILS(orr_attention(out, q, k, k, NULL, NAN, false), ORR_ERR_ARGUMENT, "scale");
    orr_tensor_free(q), orr_tensor_free(q3), orr_tensor_free(k3h), orr_tensor_free(k);
    orr_tensor_free(out), orr_tensor_free(out_bad), orr_tensor_free(mask);
}

int main(void) {
    test_against_reference();
    test_by_hand();
    test_op_strided();
    test_memory_bound();
    test_errors();
    return test_finish("test_attention");
}
