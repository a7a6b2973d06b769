/* test_rng_cuda.c — the CUDA Philox fills against the CPU generator
 * (core/sample/rng.c) for the same seed and offset: uniforms identical,
 * normals identical but for rare 1-ulp differences (CUDA's double
 * log/sin/cos against glibc's; see cuda/rng.h), at most one in 10^5 values
 * here; the offset advances as on the CPU, across the 2^32 counter
 * boundary; sizes that are not multiples of 4; mean and std. Skipped (77)
 * without a device. */
#include "cuda/cuda_internal.h"
#include "cuda/rng.h"
#include "gpu_test_util.h"

static cudaStream_t stream;

static void rng_case(uint64_t seed, uint64_t offset, int64_t n, bool normal, float mean, float std, int misalign) {
    orr_rng cpu_rng = {seed, offset}, gpu_rng = {seed, offset};
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, 1, &n));
    if (!t) return;
    if (normal) CHECK_OK(orr_rng_normal(&cpu_rng, t, mean, std));
    else CHECK_OK(orr_rng_uniform(&cpu_rng, t));
    float *d = gpu_alloc(sizeof(float) * (size_t)(n + misalign + 1)), *got = malloc(sizeof(float) * (size_t)(n + 1));
    if (normal) CHECK_OK(orr_cuda_rng_normal(&gpu_rng, d + misalign, n, mean, std, stream));
    else CHECK_OK(orr_cuda_rng_uniform(&gpu_rng, d + misalign, n, stream));
    gpu_download(got, d + misalign, sizeof(float) * (size_t)n, stream);
    CHECK(gpu_rng.offset == cpu_rng.offset && gpu_rng.seed == cpu_rng.seed);
    const float *want = t->data;
    long differ = 0, far = 0;
    for (int64_t i = 0; i < n; i++) {
        if (got[i] == want[i]) continue;
        differ++;
        far += nextafterf(want[i], got[i]) != got[i]; /* more than one ulp apart */
    }
    if (differ)
        printf("rng seed %llu offset %llu n %lld %s: %ld values differ (%ld by more than 1 ulp)\n",
               (unsigned long long)seed, (unsigned long long)offset, (long long)n, normal ? "normal" : "uniform",
               differ, far);
    if (normal) CHECK(far == 0 && differ <= 1 + n / 100000);
    else CHECK(differ == 0);
    cudaFree(d);
    free(got);
    orr_tensor_free(t);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_rng_cuda");
    stream = orr_cuda_stream();
    CHECK(stream != NULL);
    const int64_t sizes[5] = {1, 5, 1003, 4096, (1 << 20) + 3};
    for (int k = 0; k < 5; k++)
        for (int normal = 0; normal < 2; normal++) {
            rng_case(42, 0, sizes[k], normal, 0.0f, 1.0f, 0);
            rng_case(0x123456789abcdefull, 0xfffffff0ull, sizes[k], normal, 0.5f, 2.0f, 1);
        }
    rng_case(7, 123, 3 << 20, true, 0.0f, 1.0f, 0);
    /* consecutive fills continue the stream: 500 + 502 values equal 1002 */
    orr_rng a = {99, 0}, b = {99, 0};
    float one[1002], two[1002], *d = gpu_alloc(sizeof one);
    CHECK_OK(orr_cuda_rng_uniform(&a, d, 1002, stream));
    gpu_download(one, d, sizeof one, stream);
    CHECK_OK(orr_cuda_rng_uniform(&b, d, 500, stream));
    CHECK_OK(orr_cuda_rng_uniform(&b, d + 500, 502, stream));
    gpu_download(two, d, sizeof two, stream);
    CHECK(memcmp(one, two, sizeof one) == 0 && a.offset == 251 && b.offset == 251);
    cudaFree(d);
    CHECK_FAILS(orr_cuda_rng_normal(NULL, NULL, 4, 0.0f, 1.0f, stream), ORR_ERR_ARGUMENT, "NULL");
    return test_finish("test_rng_cuda");
}
