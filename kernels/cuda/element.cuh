// cuda/element.cuh — elements of float and bf16 device buffers read and
// written as float, so that one templated kernel serves both dtypes (bf16
// stores round to nearest even).
#ifndef ORR_CUDA_ELEMENT_CUH
#define ORR_CUDA_ELEMENT_CUH

#include <cstdint>

#include <cuda_bf16.h>

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

__device__ __forceinline__ float load(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __nv_bfloat16 *p, int64_t i) { return __bfloat162float(p[i]); }

__device__ __forceinline__ void store(float *p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__nv_bfloat16 *p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

#endif // ORR_CUDA_ELEMENT_CUH
