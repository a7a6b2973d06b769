/* test_norm_cuda.c — the CUDA group, layer and RMS norms against the
 * orr_ref_ oracles (rows that fit the shared-memory stage and one that
 * does not, odd sizes, strided group-norm runs, with and without affine
 * weights, in place), and the DiT's modulated LayerNorm against the formula
 * in double, with f32 and bf16 outputs. Tolerances: 1e-5 relative to the
 * largest output for f32, 1e-2 for bf16. Skipped (77) without a device. */
#include "cuda/cuda_internal.h"
#include "cuda/norm.h"
#include "gpu_test_util.h"
#include "norm.h"

static cudaStream_t stream;

static void group_norm_case(int64_t batch, int64_t channels, int64_t spatial, int64_t groups, bool affine,
                            bool frame_view) {
    /* frame_view: x is [C, batch, spatial] in memory, seen as [batch, C, spatial] */
    const int64_t n = batch * channels * spatial;
    const int64_t stride[2] = {frame_view ? spatial : channels * spatial, frame_view ? batch * spatial : spatial};
    float *x = test_filled(n, 101, 2.0f, 0.7f), *w = test_filled(channels, 102, 0.5f, 1.0f);
    float *b = test_filled(channels, 103, 0.3f, 0);
    float *want = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    orr_ref_group_norm(want, stride, x, stride, batch, channels, spatial, groups, affine ? w : NULL,
                       affine ? b : NULL, 1e-5f);
    float *dx = gpu_upload(x, sizeof(float) * n), *dy = gpu_alloc(sizeof(float) * n);
    float *dw = gpu_upload(w, sizeof(float) * channels), *db = gpu_upload(b, sizeof(float) * channels);
    CHECK_OK(orr_cuda_group_norm(dy, stride, dx, stride, batch, channels, spatial, groups, affine ? dw : NULL,
                                 affine ? db : NULL, 1e-5f, stream));
    gpu_download(got, dy, sizeof(float) * n, stream);
    char what[96];
    snprintf(what, sizeof what, "group_norm [%lld, %lld, %lld] / %lld%s%s", (long long)batch, (long long)channels,
             (long long)spatial, (long long)groups, affine ? " affine" : "", frame_view ? " frame view" : "");
    CHECK_CLOSE(what, got, want, n, 1e-5);
    CHECK_OK(orr_cuda_group_norm(dx, stride, dx, stride, batch, channels, spatial, groups, affine ? dw : NULL,
                                 affine ? db : NULL, 1e-5f, stream)); /* in place */
    gpu_download(got, dx, sizeof(float) * n, stream);
    CHECK_CLOSE(what, got, want, n, 1e-5);
    GPU_FREE(dx, dy, dw, db);
    HOST_FREE(x, w, b, want, got);
}

static void row_norm_case(int64_t rows, int64_t dim, bool affine) {
    const int64_t n = rows * dim;
    float *x = test_filled(n, 111, 3.0f, -0.4f), *w = test_filled(dim, 112, 0.5f, 1.0f);
    float *b = test_filled(dim, 113, 0.2f, 0);
    float *want = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    float *dx = gpu_upload(x, sizeof(float) * n), *dy = gpu_alloc(sizeof(float) * n);
    float *dw = gpu_upload(w, sizeof(float) * dim), *db = gpu_upload(b, sizeof(float) * dim);
    char what[96];
    orr_ref_layer_norm(want, x, rows, dim, affine ? w : NULL, affine ? b : NULL, 1e-5f);
    CHECK_OK(orr_cuda_layer_norm(dy, dx, rows, dim, affine ? dw : NULL, affine ? db : NULL, 1e-5f, stream));
    gpu_download(got, dy, sizeof(float) * n, stream);
    snprintf(what, sizeof what, "layer_norm [%lld, %lld]%s", (long long)rows, (long long)dim, affine ? " affine" : "");
    CHECK_CLOSE(what, got, want, n, 1e-5);
    orr_ref_rms_norm(want, x, rows, dim, affine ? w : NULL, 1e-6f);
    CHECK_OK(orr_cuda_rms_norm(dx, dx, rows, dim, affine ? dw : NULL, 1e-6f, stream)); /* in place */
    gpu_download(got, dx, sizeof(float) * n, stream);
    snprintf(what, sizeof what, "rms_norm [%lld, %lld]%s", (long long)rows, (long long)dim, affine ? " affine" : "");
    CHECK_CLOSE(what, got, want, n, 1e-5);
    GPU_FREE(dx, dy, dw, db);
    HOST_FREE(x, w, b, want, got);
}

/* dit.c modulate_rows in double: LN(x) * (1 + scale[b]) + shift[b]. */
static void modulate_case(int64_t B, int64_t N, int64_t D, int chunks) {
    const int64_t rows = B * N, n = rows * D, stride = chunks * D;
    const float eps = 1e-6f;
    float *x = test_filled(n, 121, 4.0f, 1.5f), *mod = test_filled(B * stride, 122, 0.8f, 0.1f);
    float *want = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * D, *shift = mod + r / N * stride, *scale = shift + D;
        double s = 0, ss = 0;
        for (int64_t i = 0; i < D; i++) s += xr[i];
        const double mean = s / D;
        for (int64_t i = 0; i < D; i++) ss += (xr[i] - mean) * (xr[i] - mean);
        const double rstd = 1.0 / sqrt(ss / D + eps);
        for (int64_t i = 0; i < D; i++) want[r * D + i] = (float)((xr[i] - mean) * rstd * (1.0 + scale[i]) + shift[i]);
    }
    float *dx = gpu_upload(x, sizeof(float) * n), *dmod = gpu_upload(mod, sizeof(float) * B * stride);
    float *dy = gpu_alloc(sizeof(float) * n);
    CHECK_OK(orr_cuda_layer_norm_modulate(dy, ORR_F32, dx, rows, D, N, dmod, dmod + D, stride, eps, stream));
    gpu_download(got, dy, sizeof(float) * n, stream);
    char what[96];
    snprintf(what, sizeof what, "layer_norm_modulate [%lld, %lld, %lld] f32", (long long)B, (long long)N, (long long)D);
    CHECK_CLOSE(what, got, want, n, 1e-5);
    uint16_t *gotbf = malloc(sizeof(uint16_t) * n);
    CHECK_OK(orr_cuda_layer_norm_modulate(dy, ORR_BF16, dx, rows, D, N, dmod, dmod + D, stride, eps, stream));
    gpu_download(gotbf, dy, sizeof(uint16_t) * n, stream);
    test_widen(got, gotbf, ORR_BF16, n);
    snprintf(what, sizeof what, "layer_norm_modulate [%lld, %lld, %lld] bf16", (long long)B, (long long)N,
             (long long)D);
    CHECK_CLOSE(what, got, want, n, 1e-2);
    CHECK_FAILS(orr_cuda_layer_norm_modulate(dy, ORR_F16, dx, rows, D, N, dmod, dmod + D, stride, eps, stream),
                ORR_ERR_DTYPE, "f16");
    GPU_FREE(dx, dmod, dy);
    HOST_FREE(x, mod, want, got, gotbf);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_norm_cuda");
    stream = orr_cuda_stream();
    CHECK(stream != NULL);
    group_norm_case(2, 8, 37, 4, true, false);
    group_norm_case(1, 6, 5000, 3, false, false);
    group_norm_case(3, 32, 129, 32, true, false);
    group_norm_case(3, 8, 61, 1, true, true);
    group_norm_case(2, 4, 9000, 2, true, true);
    row_norm_case(5, 1, true);
    row_norm_case(7, 67, false);
    row_norm_case(3, 4096, true);
    row_norm_case(9, 1003, true);
    row_norm_case(2, 12032, false); /* the largest staged row */
    row_norm_case(2, 13001, true);  /* past the shared-memory stage */
    modulate_case(2, 37, 256, 3);
    modulate_case(1, 5, 4096, 2);
    modulate_case(2, 3, 13000, 3);
    modulate_case(3, 4, 67, 3);
    CHECK_FAILS(orr_cuda_layer_norm(NULL, NULL, -1, 4, NULL, NULL, 1e-5f, stream), ORR_ERR_ARGUMENT, "negative");
    const int64_t s[2] = {12, 4};
    CHECK_FAILS(orr_cuda_group_norm(NULL, s, NULL, s, 1, 3, 4, 2, NULL, NULL, 1e-5f, stream), ORR_ERR_ARGUMENT,
                "divide");
    CHECK_OK(orr_cuda_rms_norm(NULL, NULL, 0, 8, NULL, 1e-6f, stream));
    return test_finish("test_norm_cuda");
}
