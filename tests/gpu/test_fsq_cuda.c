/* test_fsq_cuda.c — the CUDA FSQ against the tokenizer's CPU quantizer
 * (core/models/tokenizer_fsq.c) for the Cosmos DV level sets: indices and
 * codes must be identical, the bounded values within 4 ulp (the tanh is the
 * one operation that may round differently; see cuda/fsq.h); in place
 * (codes over z); dequantize identical, an out-of-range index NaN.
 * Skipped (77) without a device. */
#include "cuda/cuda_internal.h"
#include "cuda/fsq.h"
#include "gpu_test_util.h"
#include "models/tokenizer.h"

static cudaStream_t stream;

static void fsq_case(const int *levels, int n, int64_t B, int64_t T, int64_t H, int64_t W) {
    tok_fsq q;
    tok_fsq_init(&q, levels, n);
    const int64_t rest = T * H * W, total = B * n * rest;
    const int64_t zshape[5] = {B, n, T, H, W}, ishape[4] = {B, T, H, W}, bshape[5] = {B, T, H, W, n};
    orr_tensor *z = NULL, *codes = NULL, *idx = NULL, *bounded = NULL, *deq = NULL;
    CHECK_OK(orr_tensor_empty(&z, ORR_F32, 5, zshape));
    CHECK_OK(orr_tensor_empty(&codes, ORR_F32, 5, zshape));
    CHECK_OK(orr_tensor_empty(&deq, ORR_F32, 5, zshape));
    CHECK_OK(orr_tensor_empty(&idx, ORR_I64, 4, ishape));
    CHECK_OK(orr_tensor_empty(&bounded, ORR_F32, 5, bshape));
    if (!z || !codes || !idx || !bounded || !deq) return;
    float *zd = z->data;
    test_fill(zd, total, 501);
    for (int64_t i = 0; i < total; i++) zd[i] *= 4.0f;
    CHECK_OK(tok_fsq_quantize(&q, z, codes, idx, bounded));
    float *dz = gpu_upload(zd, sizeof(float) * total), *dcodes = gpu_alloc(sizeof(float) * total);
    float *dbounded = gpu_alloc(sizeof(float) * total);
    int64_t *didx = gpu_alloc(sizeof(int64_t) * B * rest);
    CHECK_OK(orr_cuda_fsq_quantize(dcodes, didx, dbounded, dz, B, rest, n, q.levels, q.half_l, q.offset, q.shift,
                                   stream));
    float *got = malloc(sizeof(float) * total), *gotb = malloc(sizeof(float) * total);
    int64_t *goti = malloc(sizeof(int64_t) * B * rest);
    gpu_download(got, dcodes, sizeof(float) * total, stream);
    gpu_download(gotb, dbounded, sizeof(float) * total, stream);
    gpu_download(goti, didx, sizeof(int64_t) * B * rest, stream);
    const float *cd = codes->data, *bd = bounded->data;
    const int64_t *id = idx->data;
    long bad_codes = 0, bad_idx = 0;
    double worst_bounded = 0;
    for (int64_t i = 0; i < total; i++) {
        bad_codes += got[i] != cd[i];
        double ulp = nextafterf(fabsf(bd[i]), INFINITY) - fabsf(bd[i]);
        if (fabs((double)gotb[i] - bd[i]) / ulp > worst_bounded) worst_bounded = fabs((double)gotb[i] - bd[i]) / ulp;
    }
    for (int64_t i = 0; i < B * rest; i++) bad_idx += goti[i] != id[i];
    printf("fsq %d levels, %lld positions: %ld codes and %ld indices differ, bounded within %.0f ulp\n", n,
           (long long)(B * rest), bad_codes, bad_idx, worst_bounded);
    CHECK(bad_codes == 0 && bad_idx == 0);
    CHECK(worst_bounded <= 4);
    /* in place: codes over z */
    CHECK_OK(orr_cuda_fsq_quantize(dz, NULL, NULL, dz, B, rest, n, q.levels, q.half_l, q.offset, q.shift, stream));
    gpu_download(got, dz, sizeof(float) * total, stream);
    bad_codes = 0;
    for (int64_t i = 0; i < total; i++) bad_codes += got[i] != cd[i];
    CHECK(bad_codes == 0);
    /* dequantize the CPU's indices, one of them out of range */
    CHECK_OK(tok_fsq_dequantize(&q, idx, deq));
    int64_t *ids = malloc(sizeof(int64_t) * B * rest);
    memcpy(ids, id, sizeof(int64_t) * B * rest);
    ids[B * rest - 1] = q.codebook_size;
    CHECK(cudaMemcpy(didx, ids, sizeof(int64_t) * B * rest, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK_OK(orr_cuda_fsq_dequantize(dcodes, didx, B, rest, n, q.levels, stream));
    gpu_download(got, dcodes, sizeof(float) * total, stream);
    const float *dd = deq->data;
    long bad_deq = 0, nan_last = 0;
    for (int64_t b = 0; b < B; b++)
        for (int c = 0; c < n; c++)
            for (int64_t r = 0; r < rest; r++) {
                const int64_t at = (b * n + c) * rest + r;
                if (b * rest + r == B * rest - 1) nan_last += isnan(got[at]);
                else bad_deq += got[at] != dd[at];
            }
    CHECK(bad_deq == 0 && nan_last == n);
    GPU_FREE(dz, dcodes, dbounded, didx);
    HOST_FREE(got, gotb, goti, ids);
    orr_tensor_free(z);
    orr_tensor_free(codes);
    orr_tensor_free(idx);
    orr_tensor_free(bounded);
    orr_tensor_free(deq);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_fsq_cuda");
    stream = orr_cuda_stream();
    CHECK(stream != NULL);
    const int dv[6] = {8, 8, 8, 5, 5, 5}, odd[3] = {7, 5, 3}, two[2] = {2, 4};
    fsq_case(dv, 6, 2, 5, 17, 23);
    fsq_case(dv, 6, 1, 16, 44, 80);
    fsq_case(odd, 3, 3, 1, 9, 11);
    fsq_case(two, 2, 1, 2, 3, 5);
    CHECK_FAILS(orr_cuda_fsq_dequantize(NULL, NULL, 1, 1, 9, dv, stream), ORR_ERR_ARGUMENT, "levels");
    return test_finish("test_fsq_cuda");
}
