/* haar.h — Haar wavelet patching as the Cosmos tokenizers do it
 * (cosmos_predict1/tokenizer/modules/patching.py: Patcher3D, UnPatcher3D,
 * Patcher, UnPatcher), over contiguous float32 buffers.
 *
 * One level of the 3-D transform maps [B,G,T,H,W] to [B,8G,T/2,H/2,W/2]:
 * along T, then H, then W, low = (x0+x1)/sqrt2, high = (x0-x1)/sqrt2, with
 * the 8 bands concatenated as channel band*G + g, band = 4*t + 2*h + w (0 =
 * low, 1 = high), and the result divided by 2*sqrt2. An odd size is first
 * reflect-padded by one at its end, so it halves rounding up. The video
 * transform repeats frame 0 p-1 more times and applies log2(p) levels.
 * The 2-D level maps [B,G,H,W] to [B,4G,H/2,W/2] along W, then H: band =
 * 2*w + h (note: W is the major letter here), divided by 2.
 * The inverses are the transposed transforms (sizes double), and the video
 * one drops the first p-1 frames at the end. */
#ifndef ORR_KERNELS_HAAR_H
#define ORR_KERNELS_HAAR_H

#include "orrery.h"

/* Output length of log2(p) levels over n elements (each level halves,
 * rounding up); the video patch passes n = T + p - 1. */
int64_t orr_haar_patched_len(int64_t n, int p);

/* x [B,C,T,H,W] -> out [B,C*p^3, len(T+p-1), len(H), len(W)]. */
orr_status orr_ref_haar3d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                int64_t w, int p);
orr_status orr_cpu_haar3d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                int64_t w, int p);
/* x [B,C*p^3,T,H,W] -> out [B,C,p*T-(p-1),p*H,p*W]; `channels` is C. */
orr_status orr_ref_haar3d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                  int64_t w, int p);
orr_status orr_cpu_haar3d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                  int64_t w, int p);

/* x [B,C,H,W] -> out [B,C*p^2, len(H), len(W)]. */
orr_status orr_ref_haar2d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                int p);
orr_status orr_cpu_haar2d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                int p);
/* x [B,C*p^2,H,W] -> out [B,C,p*H,p*W]; `channels` is C. */
orr_status orr_ref_haar2d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                  int p);
orr_status orr_cpu_haar2d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                  int p);

#endif
