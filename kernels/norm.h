/* norm.h — group, layer and RMS normalisation on contiguous float32 buffers.
 *
 * orr_ref_* accumulate the statistics in double, orr_cpu_* in float lanes
 * folded into double every block (two passes: mean, then the centred sum of
 * squares), threaded over rows or channels. Variances are biased and eps is
 * added inside the square root, as in PyTorch. y may equal x. */
#ifndef ORR_KERNELS_NORM_H
#define ORR_KERNELS_NORM_H

#include <stdint.h>

/* x seen as [batch, channels, spatial]; each of the `groups` groups of a
 * batch item holds channels/groups consecutive channels and all their
 * spatial positions. The spatial run of each (batch, channel) is contiguous;
 * runs lie x_stride[0] apart per batch item and x_stride[1] apart per
 * channel ({channels*spatial, spatial} when x is contiguous; a video's
 * [T,C,H,W] frame view of [C,T,H,W] works without a copy). y likewise with
 * y_stride. w, b: [channels] or NULL (1 and 0). */
void orr_ref_group_norm(float *y, const int64_t *y_stride, const float *x, const int64_t *x_stride, int64_t batch,
                        int64_t channels, int64_t spatial, int64_t groups, const float *w, const float *b, float eps);
/* The same; `scratch` holds 2*batch*channels doubles (per-channel
 * statistics, so that one large group still spreads over all threads). */
void orr_cpu_group_norm(float *y, const int64_t *y_stride, const float *x, const int64_t *x_stride, int64_t batch,
                        int64_t channels, int64_t spatial, int64_t groups, const float *w, const float *b, float eps,
                        double *scratch);

/* Over the last dim of x [rows, dim]; w, b: [dim] or NULL. */
void orr_ref_layer_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, const float *b,
                        float eps);
void orr_cpu_layer_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, const float *b,
                        float eps);

/* y = x * (1/sqrt(mean(x^2) + eps)) * w over the last dim (T5's and the
 * Cosmos DiT's RMSNorm, statistics in float32 or wider); w: [dim] or NULL. */
void orr_ref_rms_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, float eps);
void orr_cpu_rms_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, float eps);

#endif /* ORR_KERNELS_NORM_H */
