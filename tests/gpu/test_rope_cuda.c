/* test_rope_cuda.c — the CUDA RoPE against orr_ref_rope (rotate-half and
 * interleaved, broadcast cos/sin strides, odd row counts, in place), which
 * it must match exactly (the same float operations), and the DiT's fused
 * per-head QK RMSNorm + RoPE against orr_ref_rms_norm followed by
 * orr_ref_rope, in both output layouts and every f32/bf16 combination.
 * Tolerances: exact for RoPE, 1e-5 relative for the fused f32 path, 1e-2
 * for bf16. Skipped (77) without a device. */
#include "cuda/cuda_internal.h"
#include "cuda/rope.h"
#include "gpu_test_util.h"
#include "norm.h"
#include "rope.h"

static cudaStream_t stream;

/* x [T, H, W, dim] with cos/sin per (T, W) position, broadcast over H. */
static void rope_case(int64_t T, int64_t H, int64_t W, int64_t dim, bool interleaved) {
    const int64_t shape[3] = {T, H, W}, n = T * H * W * dim, table = T * W * dim;
    const int64_t stride[3] = {W * dim, 0, dim};
    float *x = test_filled(n, 201, 2.0f, 0.0f), *c = test_filled(table, 202, 1.0f, 0.0f);
    float *s = test_filled(table, 203, 1.0f, 0.0f);
    float *want = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    orr_ref_rope(want, x, c, stride, s, stride, 3, shape, dim, interleaved);
    float *dx = gpu_upload(x, sizeof(float) * n), *dc = gpu_upload(c, sizeof(float) * table);
    float *ds = gpu_upload(s, sizeof(float) * table), *dout = gpu_alloc(sizeof(float) * n);
    CHECK_OK(orr_cuda_rope(dout, dx, dc, stride, ds, stride, 3, shape, dim, interleaved, stream));
    gpu_download(got, dout, sizeof(float) * n, stream);
    char what[96];
    snprintf(what, sizeof what, "rope [%lld,%lld,%lld,%lld] interleaved %d", (long long)T, (long long)H, (long long)W,
             (long long)dim, interleaved);
    check_exact(what, got, want, n);
    CHECK_OK(orr_cuda_rope(dx, dx, dc, stride, ds, stride, 3, shape, dim, interleaved, stream)); /* in place */
    gpu_download(got, dx, sizeof(float) * n, stream);
    check_exact(what, got, want, n);
    GPU_FREE(dx, dc, ds, dout);
    HOST_FREE(x, c, s, want, got);
}

static void qk_case(int64_t B, int64_t S, int64_t heads, int64_t dh, bool norm, bool rope, bool head_major,
                    orr_dtype xt, orr_dtype yt) {
    const int64_t rows = B * S * heads, n = rows * dh, half = dh / 2;
    /* the oracle sees what the kernel sees: x rounded to its dtype */
    void *xin;
    float *x = test_rounded(n, 211, 3.0f, xt, 0, &xin), *w = test_filled(dh, 212, 0.5f, 0.0f);
    float *c = test_filled(S * half, 213, 1.0f, 0.0f), *s = test_filled(S * half, 214, 1.0f, 0.0f);
    float *v = malloc(sizeof(float) * n), *want = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    float *full_c = malloc(sizeof(float) * S * dh), *full_s = malloc(sizeof(float) * S * dh);
    for (int64_t i = 0; i < dh; i++) w[i] += 1.0f;
    void *yout = malloc(sizeof(float) * n);
    if (norm) orr_ref_rms_norm(v, x, rows, dh, w, 1e-6f);
    else memcpy(v, x, sizeof(float) * n);
    /* the DiT's half tables, repeated over both halves for orr_ref_rope */
    for (int64_t p = 0; p < S; p++)
        for (int64_t i = 0; i < dh; i++) {
            full_c[p * dh + i] = c[p * half + i % half];
            full_s[p * dh + i] = s[p * half + i % half];
        }
    const int64_t shape[3] = {B, S, heads}, stride[3] = {0, dh, 0};
    float *roped = malloc(sizeof(float) * n);
    if (rope) orr_ref_rope(roped, v, full_c, stride, full_s, stride, 3, shape, dh, false);
    else memcpy(roped, v, sizeof(float) * n);
    for (int64_t r = 0; r < rows; r++) {
        const int64_t h = r % heads, p = r / heads % S, b = r / heads / S;
        const int64_t dst = head_major ? ((b * heads + h) * S + p) * dh : r * dh;
        memcpy(want + dst, roped + r * dh, sizeof(float) * dh);
    }
    void *dx = gpu_upload(xin, orr_dtype_size(xt) * n), *dy = gpu_alloc(orr_dtype_size(yt) * n);
    float *dw = gpu_upload(w, sizeof(float) * dh), *dc = gpu_upload(c, sizeof(float) * S * half);
    float *ds = gpu_upload(s, sizeof(float) * S * half);
    CHECK_OK(orr_cuda_qk_norm_rope(dy, yt, dx, xt, B, S, heads, dh, norm ? dw : NULL, 1e-6f, rope ? dc : NULL,
                                   rope ? ds : NULL, head_major, stream));
    gpu_download(yout, dy, orr_dtype_size(yt) * n, stream);
    test_widen(got, yout, yt, n);
    char what[128];
    snprintf(what, sizeof what, "qk_norm_rope [%lld,%lld,%lld,%lld] norm %d rope %d head_major %d %s->%s",
             (long long)B, (long long)S, (long long)heads, (long long)dh, norm, rope, head_major,
             orr_dtype_name(xt), orr_dtype_name(yt));
    CHECK_CLOSE(what, got, want, n, yt == ORR_BF16 ? 1e-2 : 1e-5);
    GPU_FREE(dx, dy, dw, dc, ds);
    HOST_FREE(x, w, c, s, v, want, got, full_c, full_s, xin, yout, roped);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_rope_cuda");
    stream = orr_cuda_stream();
    CHECK(stream != NULL);
    rope_case(3, 2, 5, 8, false);
    rope_case(3, 2, 5, 8, true);
    rope_case(2, 3, 7, 126, false);
    rope_case(1, 1, 33, 2, true);
    rope_case(4, 5, 9, 128, false);
    const orr_dtype types[2] = {ORR_F32, ORR_BF16};
    for (int xi = 0; xi < 2; xi++)
        for (int yi = 0; yi < 2; yi++) {
            qk_case(2, 37, 3, 128, true, true, true, types[xi], types[yi]);
            qk_case(1, 5, 4, 64, true, true, false, types[xi], types[yi]);
        }
    qk_case(2, 9, 3, 72, true, false, true, ORR_F32, ORR_F32);
    qk_case(2, 9, 3, 72, false, true, false, ORR_F32, ORR_F32);
    qk_case(1, 3, 2, 30, false, false, true, ORR_F32, ORR_F32);
    CHECK_FAILS(orr_cuda_rope(NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 7, false, stream), ORR_ERR_ARGUMENT,
                "even");
    CHECK_FAILS(orr_cuda_qk_norm_rope(NULL, ORR_F32, NULL, ORR_F32, 1, 1, 1, 8, NULL, 1e-6f, (const float *)16,
                                      NULL, false, stream),
                ORR_ERR_ARGUMENT, "cos and sin");
    return test_finish("test_rope_cuda");
}
