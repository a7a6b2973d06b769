/* test_resize_cuda.c — the CUDA resize against orr_ref_resize in every
 * mode, with and without align_corners, up, down, same size and twice the
 * size (the 'nearest' special cases), 2-D and 3-D. The kernel evaluates
 * the oracle's arithmetic operation for operation, so the comparison is
 * exact. Skipped (77) without a device. */
#include "cuda/cuda_internal.h"
#include "cuda/resize.h"
#include "gpu_test_util.h"
#include "resize.h"

static cudaStream_t stream;

static void resize_case(int64_t planes, int64_t ti, int64_t hi, int64_t wi, int64_t to, int64_t ho, int64_t wo,
                        orr_resize_mode mode, bool align_corners) {
    const int64_t in[3] = {ti, hi, wi}, out[3] = {to, ho, wo};
    const int64_t nin = planes * ti * hi * wi, nout = planes * to * ho * wo;
    float *x = test_filled(nin, 401, 1.0f, 0.0f), *want = malloc(sizeof(float) * nout);
    float *got = malloc(sizeof(float) * nout);
    orr_ref_resize(want, x, planes, in, out, mode, align_corners);
    float *dx = gpu_upload(x, sizeof(float) * nin), *dout = gpu_alloc(sizeof(float) * nout);
    CHECK_OK(orr_cuda_resize(dout, dx, planes, in, out, mode, align_corners, stream));
    gpu_download(got, dout, sizeof(float) * nout, stream);
    char what[128];
    snprintf(what, sizeof what, "resize mode %d align %d [%lld,%lld,%lld]->[%lld,%lld,%lld]", (int)mode,
             align_corners, (long long)ti, (long long)hi, (long long)wi, (long long)to, (long long)ho, (long long)wo);
    check_exact(what, got, want, nout);
    GPU_FREE(dx, dout);
    HOST_FREE(x, want, got);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_resize_cuda");
    stream = orr_cuda_stream();
    CHECK(stream != NULL);
    const orr_resize_mode planar[3] = {ORR_RESIZE_NEAREST, ORR_RESIZE_BILINEAR, ORR_RESIZE_BICUBIC};
    for (int m = 0; m < 3; m++)
        for (int align = 0; align < 2; align++) {
            if (planar[m] == ORR_RESIZE_NEAREST && align) continue;
            resize_case(3, 1, 17, 23, 1, 40, 31, planar[m], align);  /* up */
            resize_case(2, 1, 64, 50, 1, 21, 17, planar[m], align);  /* down */
            resize_case(2, 1, 9, 7, 1, 18, 14, planar[m], align);    /* twice */
            resize_case(1, 1, 13, 11, 1, 13, 29, planar[m], align);  /* same H */
            resize_case(2, 1, 1, 5, 1, 3, 1, planar[m], align);      /* from and to one */
            resize_case(1, 1, 720, 1280, 1, 704, 1280, planar[m], align);
        }
    for (int align = 0; align < 2; align++) {
        resize_case(2, 5, 9, 11, 9, 4, 16, ORR_RESIZE_TRILINEAR, align);
        resize_case(1, 4, 6, 6, 8, 12, 12, ORR_RESIZE_TRILINEAR, align);
    }
    resize_case(2, 5, 9, 11, 7, 4, 16, ORR_RESIZE_NEAREST, false);
    const int64_t in[3] = {1, 0, 4}, out[3] = {1, 2, 2};
    CHECK_FAILS(orr_cuda_resize(NULL, NULL, 1, in, out, ORR_RESIZE_BILINEAR, false, stream), ORR_ERR_ARGUMENT,
                "empty");
    return test_finish("test_resize_cuda");
}
