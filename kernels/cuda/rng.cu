// cuda/rng.cu — Philox 4x32-10 fills on the GPU, number for number with
// core/sample/rng.c (the exactness argument is in cuda/rng.h). One thread
// per counter block writes its 4 values, as a float4 when the block is
// whole and the buffer aligned.
#include <math.h>

#include "cuda/cuda_internal.h"
#include "cuda/grid.cuh"
#include "cuda/rng.h"

extern "C" {
#include "internal.h"
}

namespace {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

__device__ __forceinline__ uint4 philox4x32_10(uint4 c, uint32_t k0, uint32_t k1) {
    for (int round = 0; round < 10; round++) {
        const uint32_t hi0 = __umulhi(kM0, c.x), lo0 = kM0 * c.x;
        const uint32_t hi1 = __umulhi(kM1, c.z), lo1 = kM1 * c.z;
        c = make_uint4(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
        k0 += kW0;
        k1 += kW1;
    }
    return c;
}

// [0,1) with 24 random bits, and (0,1] so that log() stays finite: both
// exact in float and double.
__device__ __forceinline__ double unit_open_right(uint32_t x) { return (double)(x >> 8) * (1.0 / 16777216.0); }
__device__ __forceinline__ double unit_open_left(uint32_t x) { return (double)((x >> 8) + 1) * (1.0 / 16777216.0); }

// The CPU's `mean + std * radius * cos(theta)` and the sin twin, rounding
// after every operation like the uncontracted C code.
__device__ __forceinline__ float2 box_muller(uint32_t a, uint32_t b, double mean, double std) {
    const double radius = __dsqrt_rn(__dmul_rn(-2.0, log(unit_open_left(a))));
    const double theta = __dmul_rn(2.0 * M_PI, unit_open_right(b));
    const double scaled = __dmul_rn(std, radius);
    return make_float2((float)__dadd_rn(mean, __dmul_rn(scaled, cos(theta))),
                       (float)__dadd_rn(mean, __dmul_rn(scaled, sin(theta))));
}

__global__ void fill_kernel(float *out, int64_t n, uint64_t seed, uint64_t offset, bool normal, float mean,
                            float std, bool vec4) {
    const int64_t blocks = (n + 3) / 4;
    for (int64_t blk = thread_index(); blk < blocks; blk += thread_count()) {
        const uint64_t c = offset + (uint64_t)blk;
        const uint4 r = philox4x32_10(make_uint4((uint32_t)c, (uint32_t)(c >> 32), 0u, 0u), (uint32_t)seed,
                                      (uint32_t)(seed >> 32));
        float v[4];
        if (normal) {
            const float2 p = box_muller(r.x, r.y, mean, std), q = box_muller(r.z, r.w, mean, std);
            v[0] = p.x;
            v[1] = p.y;
            v[2] = q.x;
            v[3] = q.y;
        } else {
            v[0] = (float)unit_open_right(r.x);
            v[1] = (float)unit_open_right(r.y);
            v[2] = (float)unit_open_right(r.z);
            v[3] = (float)unit_open_right(r.w);
        }
        if (vec4 && blk * 4 + 4 <= n) {
            reinterpret_cast<float4 *>(out)[blk] = make_float4(v[0], v[1], v[2], v[3]);
        } else {
            for (int lane = 0; lane < 4 && blk * 4 + lane < n; lane++) out[blk * 4 + lane] = v[lane];
        }
    }
}

orr_status fill(const char *op, orr_rng *rng, float *out, int64_t n, bool normal, float mean, float std,
                cudaStream_t stream) {
    if (!rng) return orr_error(ORR_ERR_ARGUMENT, "cuda %s: generator is NULL", op);
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda %s: n = %lld is negative", op, (long long)n);
    if (n == 0) return ORR_OK;
    const int64_t blocks = (n + 3) / 4;
    const bool vec4 = ((uintptr_t)out & 15u) == 0;
    fill_kernel<<<grid_for(blocks), kThreads, 0, stream>>>(out, n, rng->seed, rng->offset, normal, mean, std, vec4);
    orr_status st = orr_cuda_check_launch(op);
    if (!st) rng->offset += (uint64_t)blocks;
    return st;
}

} // namespace

extern "C" {

orr_status orr_cuda_rng_uniform(orr_rng *rng, float *out, int64_t n, cudaStream_t stream) {
    return fill("rng_uniform", rng, out, n, false, 0.0f, 1.0f, stream);
}

orr_status orr_cuda_rng_normal(orr_rng *rng, float *out, int64_t n, float mean, float std, cudaStream_t stream) {
    return fill("rng_normal", rng, out, n, true, mean, std, stream);
}

} // extern "C"
