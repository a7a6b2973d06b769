/* cuda/haar.h — the CUDA versions of haar.h: the Cosmos tokenizers' Haar
 * wavelet patching and unpatching (2-D and 3-D, any power-of-two p).
 *
 * DEVICE pointers to contiguous buffers, queued on `stream` without
 * synchronising. Each level is one kernel of 2x2x2 (2x2) butterflies, the
 * same float operations as orr_cpu_haar* (so the results equal the CPU
 * kernels' and agree with the double oracle to float rounding); levels
 * past the first ping-pong through scratch from orr_cuda_scratch_alloc, so
 * `stream` must be orr_cuda_stream(). Returns ORR_OK, ORR_ERR_ARGUMENT for a
 * negative size or a p that is not a power of two, ORR_ERR_SHAPE when a
 * level meets an axis shorter than 2 (its reflect padding needs 2), or a
 * CUDA failure. out must not overlap x. */
#ifndef ORR_CUDA_HAAR_H
#define ORR_CUDA_HAAR_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* x [B,C,T,H,W] -> out [B,C*p^3, len(T+p-1), len(H), len(W)]. */
orr_status orr_cuda_haar3d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                 int64_t w, int p, cudaStream_t stream);
/* x [B,C*p^3,T,H,W] -> out [B,C,p*T-(p-1),p*H,p*W]; `channels` is C. */
orr_status orr_cuda_haar3d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                   int64_t w, int p, cudaStream_t stream);
/* x [B,C,H,W] -> out [B,C*p^2, len(H), len(W)]. */
orr_status orr_cuda_haar2d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                 int p, cudaStream_t stream);
/* x [B,C*p^2,H,W] -> out [B,C,p*H,p*W]; `channels` is C. */
orr_status orr_cuda_haar2d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                   int p, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_HAAR_H */
