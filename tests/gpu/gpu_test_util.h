/* gpu_test_util.h — what the tests of tests/gpu share on top of
 * test_util.h: the skip where no device can be used, plain device buffers
 * for the launchers under test (cudaMalloc/cudaMemcpy: the runtime's own
 * allocator and copies stay out of it), test data rounded to a kernel's
 * dtype, and an exact comparison. */
#ifndef ORR_GPU_TEST_UTIL_H
#define ORR_GPU_TEST_UTIL_H

#include <cuda_runtime_api.h>

#include "test_util.h"

/* In main, first: the test is skipped (77) without a usable device. */
#define GPU_TEST_REQUIRE_DEVICE(name)                                  \
    do {                                                               \
        if (!orr_cuda_available()) {                                   \
            printf("%s: no usable CUDA device, skipped\n", (name));    \
            return 77;                                                 \
        }                                                              \
    } while (0)

/* `bytes` of device memory (16 at least, so that empty cases get a valid
 * pointer). */
static inline void *gpu_alloc(size_t bytes) {
    void *d = NULL;
    CHECK(cudaMalloc(&d, bytes ? bytes : 16) == cudaSuccess);
    return d;
}

/* The same holding a copy of `host`. */
static inline void *gpu_upload(const void *host, size_t bytes) {
    void *d = gpu_alloc(bytes);
    if (d && bytes) CHECK(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice) == cudaSuccess);
    return d;
}

/* host = dev, once the work queued on `stream` has finished. */
static inline void gpu_download(void *host, const void *dev, size_t bytes, cudaStream_t stream) {
    CHECK(cudaStreamSynchronize(stream) == cudaSuccess);
    if (bytes) CHECK(cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
}

static inline void gpu_free_n(void *const *ptrs, size_t n) {
    for (size_t i = 0; i < n; i++) cudaFree(ptrs[i]);
}

static inline void host_free_n(void *const *ptrs, size_t n) {
    for (size_t i = 0; i < n; i++) free(ptrs[i]);
}

/* cudaFree / free of every pointer listed (NULL ones included). */
#define GPU_FREE(...) gpu_free_n((void *[]){__VA_ARGS__}, sizeof((void *[]){__VA_ARGS__}) / sizeof(void *))
#define HOST_FREE(...) host_free_n((void *[]){__VA_ARGS__}, sizeof((void *[]){__VA_ARGS__}) / sizeof(void *))

/* n test_fill values times scale plus shift, in a new buffer. */
static inline float *test_filled(long n, unsigned seed, float scale, float shift) {
    float *x = malloc(sizeof(float) * (size_t)(n ? n : 1));
    test_fill(x, n, seed);
    for (long i = 0; i < n; i++) x[i] = x[i] * scale + shift;
    return x;
}

/* Element i of raw elements of `dtype` (f32, bf16 or f16) as a float. */
static inline float test_element(const void *raw, orr_dtype dtype, long i) {
    if (dtype == ORR_BF16) return orr_bf16_to_f32(((const uint16_t *)raw)[i]);
    if (dtype == ORR_F16) return orr_f16_to_f32(((const uint16_t *)raw)[i]);
    return ((const float *)raw)[i];
}

/* n raw elements of `dtype` as floats. */
static inline void test_widen(float *out, const void *raw, orr_dtype dtype, long n) {
    for (long i = 0; i < n; i++) out[i] = test_element(raw, dtype, i);
}

/* n test values in [-scale, scale) rounded to `dtype` (f32, bf16 or f16),
 * the kernel's input and the oracle's alike: returned as floats, and as raw
 * elements of dtype in *raw after `pad` leading zero elements. */
static inline float *test_rounded(long n, unsigned seed, float scale, orr_dtype dtype, size_t pad, void **raw) {
    float *v = test_filled(n, seed, scale, 0.0f);
    *raw = calloc((size_t)n + pad > 0 ? (size_t)n + pad : 1, orr_dtype_size(dtype));
    for (long i = 0; i < n; i++) {
        if (dtype == ORR_BF16) ((uint16_t *)*raw)[pad + (size_t)i] = orr_f32_to_bf16(v[i]);
        else if (dtype == ORR_F16) ((uint16_t *)*raw)[pad + (size_t)i] = orr_f32_to_f16(v[i]);
        else ((float *)*raw)[pad + (size_t)i] = v[i];
        v[i] = test_element(*raw, dtype, (long)pad + i);
    }
    return v;
}

/* got and want equal element for element (NaN where want has NaN). */
static inline void check_exact(const char *what, const float *got, const float *want, long n) {
    long bad = 0, first = -1;
    for (long i = 0; i < n; i++)
        if (!(got[i] == want[i] || (isnan(got[i]) && isnan(want[i])))) {
            if (first < 0) first = i;
            bad++;
        }
    test_checks++;
    if (bad) {
        test_failures++;
        fprintf(stderr, "%s: %ld of %ld differ, first at %ld: %.9g vs %.9g\n", what, bad, n, first, got[first],
                want[first]);
    }
}

#endif /* ORR_GPU_TEST_UTIL_H */
