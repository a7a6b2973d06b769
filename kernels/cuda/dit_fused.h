/* cuda/dit_fused.h — the Cosmos DiT's own gathers and small maps on the GPU
 * (core/models/dit_cuda.c), the device versions of loops in
 * core/models/dit.c and dit_embed.c: the patch embedding's gather, its
 * inverse, the timestep sinusoid, the per-block learnable position
 * embedding, and a buffer comparison for the cross-attention key/value
 * cache.
 *
 * DEVICE pointers to contiguous buffers, queued on `stream` without
 * synchronising; each returns ORR_OK, ORR_ERR_ARGUMENT for a bad size or
 * dtype, or the launch failure. bf16 buffers hold raw bfloat16 bits. */
#ifndef ORR_CUDA_DIT_FUSED_H
#define ORR_CUDA_DIT_FUSED_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The network input as patches (dit.c patch_rows): patches [B*N, F] in
 * `dtype` (f32 or bf16, rounded once), N = (T/pt)(H/ps)(W/ps) tokens in
 * (t h w) order, F = channels*pt*ps*ps features in "(c r m n)" order. Channel
 * c < cx reads x [B, cx, T, H, W]; c == cx reads cmask [B, 1, T, H, W] when
 * it is not NULL; the next reads pmask [B, 1, mh, mw] resized to H x W
 * (nearest: source floor(dst * (float)in/out), clamped), or zeros when it
 * is NULL; further channels are zeros. */
orr_status orr_cuda_dit_patchify(void *patches, orr_dtype dtype, const float *x, int64_t cx, const float *cmask,
                                 const float *pmask, int64_t mh, int64_t mw, int64_t channels, int64_t B, int64_t T,
                                 int64_t H, int64_t W, int64_t pt, int64_t ps, cudaStream_t stream);

/* The final layer's inverse (dit.c unpatch_rows): y [B*N, ps*ps*pt*C] in
 * "(p1 p2 t C)" order to out [B, C, T, H, W]. */
orr_status orr_cuda_dit_unpatchify(float *out, const float *y, int64_t B, int64_t C, int64_t T, int64_t H, int64_t W,
                                   int64_t pt, int64_t ps, cudaStream_t stream);

/* emb [B, dim] = orr_dit_timestep_sinusoid of t[b] per row (cos half, then
 * sin half), the same float operations; dim even. */
orr_status orr_cuda_dit_timestep_sinusoid(float *emb, const float *t, int64_t B, int64_t dim, cudaStream_t stream);

/* x [B, tp*hp*wp, D] += e[n] where e is orr_dit_learnable_pos's row for
 * token n = (t*hp + h)*wp + w: pos_t[t] + pos_h[h] + pos_w[w] (f32 tables
 * [*, D]) divided by 1e-6 + |row| * sqrt(1/D), the square sum in double.
 * Computing the row where it is added spares the [N, D] table. */
orr_status orr_cuda_dit_add_learnable_pos(float *x, const float *pos_t, const float *pos_h, const float *pos_w,
                                          int64_t B, int64_t tp, int64_t hp, int64_t wp, int64_t D,
                                          cudaStream_t stream);

/* *differs (a device int) = 1 if the `bytes` bytes at a and b differ, else
 * 0. */
orr_status orr_cuda_dit_differs(int *differs, const void *a, const void *b, size_t bytes, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_DIT_FUSED_H */
