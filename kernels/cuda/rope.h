/* cuda/rope.h — the CUDA version of rope.h, and the DiT's fused per-head
 * QK RMSNorm + RoPE.
 *
 * DEVICE pointers to contiguous buffers, queued on `stream` without
 * synchronising; returns ORR_OK, ORR_ERR_ARGUMENT for a bad size, or the
 * launch failure. */
#ifndef ORR_CUDA_ROPE_H
#define ORR_CUDA_ROPE_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* orr_ref_rope: x and out [rows, dim] (dim even), the rows enumerating
 * row_shape (row_ndim <= ORR_MAX_DIMS dims; row_shape, cos_stride and
 * sin_stride are HOST arrays); out = x*cos + rot(x)*sin with rotate_half or
 * interleaved pairs. The same float operations as the oracle, one rounding
 * each, so the results are identical. out may equal x. */
orr_status orr_cuda_rope(float *out, const float *x, const float *cos, const int64_t *cos_stride, const float *sin,
                         const int64_t *sin_stride, int row_ndim, const int64_t *row_shape, int64_t dim,
                         bool interleaved, cudaStream_t stream);

/* The DiT's q/k preparation (core/models/dit.c heads_rows): for x
 * [batch, seq, heads, head_dim] (the projection's output, token-major),
 *   v = norm_w ? x * (1/sqrtf(mean(x^2) + eps)) * norm_w : x  (per head)
 *   y = cos ? rotate_half RoPE of v : v
 * with cos, sin [seq, head_dim/2] (the first half of the DiT's tables; the
 * second half repeats it) or both NULL, norm_w [head_dim] or NULL. The mean
 * square is summed in double and rounded to float, then the CPU's float
 * operations. y is [batch, heads, seq, head_dim] when head_major (the CPU
 * path's layout), else the layout of x. x and y are each float32 or bf16
 * (ORR_F32 / ORR_BF16): bf16 where the projection GEMM writes bf16 and the
 * attention reads bf16. y must not overlap x. */
orr_status orr_cuda_qk_norm_rope(void *y, orr_dtype y_dtype, const void *x, orr_dtype x_dtype, int64_t batch,
                                 int64_t seq, int64_t heads, int64_t head_dim, const float *norm_w, float eps,
                                 const float *cos, const float *sin, bool head_major, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_ROPE_H */
