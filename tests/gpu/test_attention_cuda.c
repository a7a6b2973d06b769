/* test_attention_cuda.c — orr_cuda_attention against the scalar oracle
 * orr_ref_attention on the host, over both kernels: the bf16 tensor-core
 * one (head_dim 64 and 128) and the SIMT one (f32 at any size, bf16 at
 * other sizes or unaligned pointers), with grouped kv heads, causal
 * masking with Sq != Sk (rows with nothing to attend included), float
 * masks with broadcast strides and partial tiles. The oracle runs on the
 * same rounded inputs. Tolerances, relative to max(|ref|, 1):
 *   f32   1e-5
 *   bf16  1e-2  (probabilities rounded to bf16 before P V, output rounded)
 * Skipped (77) without a usable device. */
#include "cuda/attention.h"
#include "gpu_test_util.h"

typedef struct attn_case {
    const char *name;
    int64_t batch, heads, kv_heads, q_len, kv_len, head_dim, v_dim;
    orr_dtype dtype;
    bool causal;
    int mask;        /* 0: none; 1: [B,1,Sq,Sk] broadcast over heads; 2: [1,H,1,Sk] key padding */
    float q_scale;   /* spread of the scores */
    size_t misalign; /* elements q is shifted by in its buffer (forces the SIMT kernel) */
} attn_case;

static void run_case(const attn_case *c, cudaStream_t stream) {
    orr_attn_dims d = {c->batch, c->heads, c->kv_heads, c->q_len, c->kv_len, c->head_dim, c->v_dim};
    long nq = (long)(c->batch * c->heads * c->q_len * c->head_dim);
    long nk = (long)(c->batch * c->kv_heads * c->kv_len * c->head_dim);
    long nv = (long)(c->batch * c->kv_heads * c->kv_len * c->v_dim);
    long no = (long)(c->batch * c->heads * c->q_len * c->v_dim);
    void *q_raw, *k_raw, *v_raw;
    float *q = test_rounded(nq, 31, c->q_scale, c->dtype, c->misalign, &q_raw);
    float *k = test_rounded(nk, 32, 1.0f, c->dtype, 0, &k_raw);
    float *v = test_rounded(nv, 33, 1.0f, c->dtype, 0, &v_raw);

    orr_attn_mask mask = {NULL, {0, 0, 0, 0}};
    float *m = NULL;
    long nm = 0;
    if (c->mask == 1) { /* [B,1,Sq,Sk]: a pseudo-random pattern, row 1 fully masked */
        nm = (long)(c->batch * c->q_len * c->kv_len);
        m = malloc(sizeof(float) * (size_t)nm);
        for (long i = 0; i < nm; i++) m[i] = ((i * 2654435761u) >> 7) % 5 == 0 ? 0.0f : 1.0f;
        for (int64_t b = 0; b < c->batch && c->q_len > 1; b++)
            for (int64_t j = 0; j < c->kv_len; j++) m[(b * c->q_len + 1) * c->kv_len + j] = 0.0f;
        mask.stride[0] = c->q_len * c->kv_len;
        mask.stride[1] = 0;
        mask.stride[2] = c->kv_len;
        mask.stride[3] = 1;
    } else if (c->mask == 2) { /* [1,H,1,Sk]: head h sees the first Sk - 3h keys */
        nm = (long)(c->heads * c->kv_len);
        m = malloc(sizeof(float) * (size_t)nm);
        for (int64_t h = 0; h < c->heads; h++)
            for (int64_t j = 0; j < c->kv_len; j++) m[h * c->kv_len + j] = j < c->kv_len - 3 * h ? 1.0f : 0.0f;
        mask.stride[0] = 0;
        mask.stride[1] = c->kv_len;
        mask.stride[2] = 0;
        mask.stride[3] = 1;
    }
    mask.data = m;

    float scale = 1.0f / sqrtf((float)c->head_dim);
    float *ref = malloc(sizeof(float) * (size_t)no), *got = malloc(sizeof(float) * (size_t)no);
    CHECK_OK(orr_ref_attention(ref, q, k, v, m ? &mask : NULL, &d, scale, c->causal));

    size_t es = orr_dtype_size(c->dtype);
    char *dq = gpu_upload(q_raw, ((size_t)nq + c->misalign) * es);
    void *dk = gpu_upload(k_raw, (size_t)nk * es), *dv = gpu_upload(v_raw, (size_t)nv * es);
    void *dout = gpu_alloc((size_t)no * es);
    orr_attn_mask dmask = mask;
    dmask.data = m ? gpu_upload(m, sizeof(float) * (size_t)nm) : NULL;
    CHECK_OK(orr_cuda_attention(dout, dq + c->misalign * es, dk, dv, c->dtype, m ? &dmask : NULL, &d, scale, c->causal,
                                stream));
    void *out_raw = malloc((size_t)no * es);
    gpu_download(out_raw, dout, (size_t)no * es, stream);
    test_widen(got, out_raw, c->dtype, no);

    double tol = c->dtype == ORR_BF16 ? 1e-2 : 1e-5;
    double max_ref, diff = test_max_abs_diff(got, ref, no, &max_ref);
    printf("%s: max diff %.3g (max |ref| %.3g)\n", c->name, diff, max_ref);
    CHECK_CLOSE(c->name, got, ref, no, tol);
    if (c->mask == 1 && c->q_len > 1) { /* the fully masked row is exactly zero */
        bool zero = true;
        for (int64_t cc = 0; cc < c->v_dim; cc++) zero = zero && got[1 * c->v_dim + cc] == 0.0f;
        CHECK(zero);
    }

    GPU_FREE(dq, dk, dv, dout, (void *)dmask.data);
    HOST_FREE(q, k, v, q_raw, k_raw, v_raw, out_raw, m, ref, got);
}

static void test_errors(cudaStream_t stream) {
    void *p = gpu_alloc(4096);
    orr_attn_dims d = {1, 3, 2, 4, 4, 8, 8};
    CHECK_FAILS(orr_cuda_attention(p, p, p, p, ORR_F32, NULL, &d, 1.0f, false, stream), ORR_ERR_SHAPE, "kv_heads 2");
    d.kv_heads = 1;
    CHECK_FAILS(orr_cuda_attention(p, p, p, p, ORR_F16, NULL, &d, 1.0f, false, stream), ORR_ERR_DTYPE, "f16");
    CHECK_FAILS(orr_cuda_attention(p, p, p, p, ORR_F32, NULL, &d, NAN, false, stream), ORR_ERR_ARGUMENT, "scale");
    cudaFree(p);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_attention_cuda");
    cudaStream_t stream = NULL;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
    const attn_case cases[] = {
        /* SIMT, f32 */
        {"f32 d64", 1, 2, 2, 37, 53, 64, 64, ORR_F32, false, 0, 2.0f, 0},
        {"f32 d32/48 gqa causal", 2, 4, 2, 70, 70, 32, 48, ORR_F32, true, 0, 2.0f, 0},
        {"f32 d80 mask", 2, 2, 1, 33, 100, 80, 80, ORR_F32, false, 1, 3.0f, 0},
        {"f32 d128 causal sq<sk", 1, 2, 2, 20, 90, 128, 128, ORR_F32, true, 0, 2.0f, 0},
        {"f32 d512 (tokenizer)", 1, 1, 1, 40, 70, 512, 512, ORR_F32, false, 0, 1.0f, 0},
        {"f32 d1", 1, 1, 1, 5, 9, 1, 3, ORR_F32, false, 0, 1.0f, 0},
        /* tensor cores, bf16 */
        {"bf16 d64", 2, 4, 1, 100, 130, 64, 64, ORR_BF16, false, 0, 2.0f, 0},
        {"bf16 d64 one tile", 1, 1, 1, 64, 64, 64, 64, ORR_BF16, false, 0, 2.0f, 0},
        {"bf16 d128 causal", 1, 2, 2, 200, 200, 128, 128, ORR_BF16, true, 0, 2.0f, 0},
        {"bf16 d128 causal sq>sk (empty rows)", 1, 2, 1, 90, 40, 128, 128, ORR_BF16, true, 0, 2.0f, 0},
        {"bf16 d128 causal sq<sk", 1, 2, 2, 65, 177, 128, 128, ORR_BF16, true, 0, 2.0f, 0},
        {"bf16 d128 mask", 2, 4, 2, 65, 77, 128, 128, ORR_BF16, false, 1, 3.0f, 0},
        {"bf16 d128 key padding mask", 1, 4, 4, 128, 96, 128, 128, ORR_BF16, false, 2, 2.0f, 0},
        {"bf16 d128 cross (512 keys)", 1, 2, 2, 150, 512, 128, 128, ORR_BF16, false, 0, 4.0f, 0},
        {"bf16 d128 sharp scores", 1, 1, 1, 70, 300, 128, 128, ORR_BF16, false, 0, 8.0f, 0},
        /* SIMT, bf16 */
        {"bf16 d512 (tokenizer)", 1, 1, 1, 20, 33, 512, 512, ORR_BF16, false, 0, 1.0f, 0},
        {"bf16 d64 unaligned q", 1, 2, 2, 30, 45, 64, 64, ORR_BF16, true, 0, 2.0f, 1},
        {"bf16 d96", 1, 3, 1, 50, 60, 96, 96, ORR_BF16, false, 1, 2.0f, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], stream);
    test_errors(stream);
    cudaStreamDestroy(stream);
    return test_finish("test_attention_cuda");
}
