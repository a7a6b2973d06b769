/* cuda/norm.h — the CUDA versions of norm.h (group, layer and RMS
 * normalisation) and the Cosmos DiT's fused LayerNorm + AdaLN modulate.
 *
 * DEVICE pointers to contiguous buffers (except group norm's strided runs),
 * queued on `stream` without synchronising; y may equal x. Returns ORR_OK,
 * ORR_ERR_ARGUMENT for a negative or inconsistent size, or the launch
 * failure. Statistics accumulate in double per thread and combine in a
 * fixed tree (mean first, then the centred sum of squares, as the oracles
 * do, except group norm: see there); the normalised values are computed in
 * float, so outputs agree with the orr_ref_ oracles to a few ulp of the
 * output's scale. Rows of up to 12032 values are staged in shared memory
 * and read from global memory once. */
#ifndef ORR_CUDA_NORM_H
#define ORR_CUDA_NORM_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* orr_ref_group_norm: x seen as [batch, channels, spatial], each
 * (batch, channel) run of `spatial` values contiguous, runs x_stride[0]
 * apart per batch item and x_stride[1] per channel (HOST arrays; y alike).
 * w, b: [channels] or NULL. The per-channel sums of x and x^2 (in double)
 * give each group's mean and biased variance E[x^2] - mean^2; double keeps
 * that exact enough (53 bits less log2(mean^2/var)). Its 2*batch*channels
 * doubles of statistics come from orr_cuda_scratch_alloc, so `stream` must
 * be orr_cuda_stream(). groups must divide channels. */
orr_status orr_cuda_group_norm(float *y, const int64_t *y_stride, const float *x, const int64_t *x_stride,
                               int64_t batch, int64_t channels, int64_t spatial, int64_t groups, const float *w,
                               const float *b, float eps, cudaStream_t stream);

/* orr_ref_layer_norm over the last dim of x [rows, dim]; w, b: [dim] or
 * NULL. */
orr_status orr_cuda_layer_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, const float *b,
                               float eps, cudaStream_t stream);

/* orr_ref_rms_norm: y = x * (1/sqrt(mean(x^2) + eps)) * w over the last
 * dim, w: [dim] or NULL. */
orr_status orr_cuda_rms_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, float eps,
                             cudaStream_t stream);

/* The DiT's modulated LayerNorm (core/models/dit.c modulate_rows, before
 * every sub-block and in the final layer):
 *   y[r, i] = (x[r, i] - mean_r) * rstd_r * (1 + scale[b, i]) + shift[b, i]
 * for x [rows, dim] float32 (the residual stream, rows = B*N tokens), b =
 * r / rows_per_batch (N tokens per batch item), no affine weights. The
 * AdaLN output holds shift, scale (and gate) as chunks of one [B, k*dim]
 * tensor, so shift row b is at shift + b*mod_stride and likewise scale
 * (mod_stride = 3*dim in the blocks, 2*dim in the final layer). As on the
 * CPU, mean = (float)sum / dim and rstd = 1/sqrtf((float)sum((x-mean)^2) /
 * dim + eps) in float (the sums in double), eps = 1e-6 in the DiT.
 * y is float32 or bf16 (y_dtype ORR_F32 or ORR_BF16): bf16 where it feeds
 * the bf16 GEMMs of the attention and MLP. */
orr_status orr_cuda_layer_norm_modulate(void *y, orr_dtype y_dtype, const float *x, int64_t rows, int64_t dim,
                                        int64_t rows_per_batch, const float *shift, const float *scale,
                                        int64_t mod_stride, float eps, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_NORM_H */
