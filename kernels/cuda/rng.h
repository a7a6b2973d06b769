/* cuda/rng.h — the CPU generator's Philox 4x32-10 fills on the GPU
 * (core/sample/rng.c): the same (seed, offset) gives the same numbers.
 *
 * Element i of a fill uses counter block c = rng->offset + i/4, lane i%4:
 * the counter is {lo32(c), hi32(c), 0, 0}, the key {lo32(seed),
 * hi32(seed)}; each fill advances rng->offset (a HOST struct, updated when
 * the kernel is queued) by ceil(n/4). `out` is a DEVICE buffer of n floats;
 * the launchers queue on `stream` without synchronising and return ORR_OK,
 * ORR_ERR_ARGUMENT (NULL rng, negative n) or the launch failure.
 *
 * Exactness:
 *  - the Philox words are integer arithmetic: identical;
 *  - uniform: (x >> 8) * 2^-24, exact in float: identical to the CPU;
 *  - normal: Box-Muller on lane pairs in double, as on the CPU: radius =
 *    sqrt(-2 log(((x0 >> 8) + 1) * 2^-24)), theta = 2pi * (x1 >> 8) * 2^-24,
 *    mean + std*radius*cos(theta) (sin for the odd lane), rounded to float
 *    once. Every multiply and add is an explicit round-to-nearest
 *    intrinsic (no fused multiply-add, as the CPU compiles ISO C without
 *    contraction) and sqrt is correctly rounded on both, so only log, cos
 *    and sin differ: CUDA's double versions are within 1-2 ulp of glibc's
 *    (which are within 1), so the double results differ by a few units in
 *    2^-52 and the rounded floats are identical except where that double
 *    lies within those few units of a float rounding boundary: about one
 *    value in 10^7-10^8, which then differs by 1 float ulp. */
#ifndef ORR_CUDA_RNG_H
#define ORR_CUDA_RNG_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* orr_rng_uniform: [0, 1) with 24 random bits. */
orr_status orr_cuda_rng_uniform(orr_rng *rng, float *out, int64_t n, cudaStream_t stream);
/* orr_rng_normal: mean + std * N(0, 1). */
orr_status orr_cuda_rng_normal(orr_rng *rng, float *out, int64_t n, float mean, float std, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_RNG_H */
