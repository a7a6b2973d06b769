/* test_haar_cuda.c — the CUDA Haar patching against the CPU kernels (the
 * same float butterflies: exact) and the double oracle (1e-5 relative):
 * 3-D and 2-D, patch and unpatch, p = 1, 2, 4, 8 with odd sizes that take
 * the reflect padding, and the argument errors. Skipped (77) without a
 * device. */
#include "cuda/cuda_internal.h"
#include "cuda/haar.h"
#include "gpu_test_util.h"
#include "haar.h"

static cudaStream_t stream;

/* Exactly the cpu kernel's values, and within 1e-5 of the oracle's. */
static void compare(const char *what, const float *got, const float *cpu, const float *ref, long n) {
    check_exact(what, got, cpu, n);
    CHECK_CLOSE(what, got, ref, n, 1e-5);
}

/* 3-D when t > 0, else 2-D. */
static void haar_case(int64_t B, int64_t C, int64_t t, int64_t h, int64_t w, int p) {
    const bool video = t > 0;
    const int64_t tt = video ? t : 1, nin = B * C * tt * h * w;
    const int64_t to = video ? orr_haar_patched_len(t + p - 1, p) : 1;
    const int64_t ho = orr_haar_patched_len(h, p), wo = orr_haar_patched_len(w, p);
    const int64_t bands = video ? (int64_t)p * p * p : (int64_t)p * p, nout = B * C * bands * to * ho * wo;
    float *x = test_filled(nin, 301, 1.0f, 0.0f), *ref = malloc(sizeof(float) * nout);
    float *cpu = malloc(sizeof(float) * nout), *got = malloc(sizeof(float) * nout);
    float *dx = gpu_upload(x, sizeof(float) * nin), *dout = gpu_alloc(sizeof(float) * nout);
    char what[128];
    snprintf(what, sizeof what, "haar%s_patch [%lld,%lld,%lld,%lld,%lld] p %d", video ? "3d" : "2d", (long long)B,
             (long long)C, (long long)t, (long long)h, (long long)w, p);
    if (video) {
        CHECK_OK(orr_ref_haar3d_patch(ref, x, B, C, t, h, w, p));
        CHECK_OK(orr_cpu_haar3d_patch(cpu, x, B, C, t, h, w, p));
        CHECK_OK(orr_cuda_haar3d_patch(dout, dx, B, C, t, h, w, p, stream));
    } else {
        CHECK_OK(orr_ref_haar2d_patch(ref, x, B, C, h, w, p));
        CHECK_OK(orr_cpu_haar2d_patch(cpu, x, B, C, h, w, p));
        CHECK_OK(orr_cuda_haar2d_patch(dout, dx, B, C, h, w, p, stream));
    }
    gpu_download(got, dout, sizeof(float) * nout, stream);
    compare(what, got, cpu, ref, nout);
    /* the inverse of the patched values */
    const int64_t tu = video ? (int64_t)p * to - (p - 1) : 1, nun = B * C * tu * p * ho * p * wo;
    float *uref = malloc(sizeof(float) * nun), *ucpu = malloc(sizeof(float) * nun), *ugot = malloc(sizeof(float) * nun);
    float *dun = gpu_alloc(sizeof(float) * nun);
    snprintf(what, sizeof what, "haar%s_unpatch [%lld,%lld,%lld,%lld,%lld] p %d", video ? "3d" : "2d", (long long)B,
             (long long)C, (long long)to, (long long)ho, (long long)wo, p);
    if (video) {
        CHECK_OK(orr_ref_haar3d_unpatch(uref, cpu, B, C, to, ho, wo, p));
        CHECK_OK(orr_cpu_haar3d_unpatch(ucpu, cpu, B, C, to, ho, wo, p));
        CHECK_OK(orr_cuda_haar3d_unpatch(dun, dout, B, C, to, ho, wo, p, stream));
    } else {
        CHECK_OK(orr_ref_haar2d_unpatch(uref, cpu, B, C, ho, wo, p));
        CHECK_OK(orr_cpu_haar2d_unpatch(ucpu, cpu, B, C, ho, wo, p));
        CHECK_OK(orr_cuda_haar2d_unpatch(dun, dout, B, C, ho, wo, p, stream));
    }
    gpu_download(ugot, dun, sizeof(float) * nun, stream);
    compare(what, ugot, ucpu, uref, nun);
    GPU_FREE(dx, dout, dun);
    HOST_FREE(x, ref, cpu, got, uref, ucpu, ugot);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_haar_cuda");
    stream = orr_cuda_stream();
    CHECK(stream != NULL);
    haar_case(2, 3, 5, 8, 12, 2);
    haar_case(1, 3, 9, 16, 16, 4);
    haar_case(1, 2, 4, 7, 9, 2);  /* odd H and W: reflect padding */
    haar_case(1, 1, 6, 13, 11, 4);
    haar_case(1, 1, 3, 17, 19, 8);
    haar_case(2, 3, 4, 6, 6, 1);
    haar_case(2, 3, 0, 8, 12, 2);
    haar_case(1, 3, 0, 16, 32, 4);
    haar_case(1, 2, 0, 7, 9, 2);
    haar_case(1, 1, 0, 13, 11, 8);
    haar_case(2, 3, 0, 5, 5, 1);
    CHECK_FAILS(orr_cuda_haar3d_patch(NULL, NULL, 1, 1, 3, 4, 4, 3, stream), ORR_ERR_ARGUMENT, "power of two");
    CHECK_FAILS(orr_cuda_haar2d_patch(NULL, NULL, 1, 1, 1, 4, 2, stream), ORR_ERR_SHAPE, "too short");
    CHECK_FAILS(orr_cuda_haar2d_unpatch(NULL, NULL, 1, -1, 4, 4, 2, stream), ORR_ERR_ARGUMENT, "-1");
    return test_finish("test_haar_cuda");
}
