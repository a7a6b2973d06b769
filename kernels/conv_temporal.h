/* conv_temporal.h — the causal temporal convolution of the tokenizers'
 * factorized blocks (CausalConv3d with kernel (kt,1,1), stride 1, frame 0
 * replicated in front) as sgemms straight on the frames, with no im2col
 * copy, and each tap multiplying the replicated frame 0 once rather than
 * once per output frame. Same buffers and geometry as orr_cpu_conv3d
 * (conv.h), with the weights either in the official layout or transposed
 * ahead of time. */
#ifndef ORR_KERNELS_CONV_TEMPORAL_H
#define ORR_KERNELS_CONV_TEMPORAL_H

#include "conv.h"

/* Whether s is a conv these kernels compute: kernel (kt,1,1) with kt >= 2,
 * stride 1, no padding, causal_pad < kt (CausalConv3d's is kt - 1), no
 * dilation, one group, at least one input channel. */
bool orr_cpu_conv3d_temporal_applies(const orr_conv_shape *s);

/* y = conv(x, w) + b + add (b, add may be NULL; add has y's geometry and
 * does not overlap it: a residual) for a shape the above accepts, with the
 * weights transposed, output channel innermost: w_t [cin][kt][cout]
 * (orr_cpu_conv3d_pack_co_inner). Output frame t <= causal_pad takes frame
 * 0 through the taps k <= causal_pad - t, a sum it builds on that of frame
 * t + 1, so results differ from the direct convolution by a few float
 * roundings. Needs no scratch. */
void orr_cpu_conv3d_temporal_co_inner(float *y, const float *x, const float *w_t, const float *b, const float *add,
                                      const orr_conv_shape *s);

/* The same from w in the official layout, packed into scratch first: worth
 * it over im2col where the packing (the weights) is smaller than the
 * im2col matrix (kt copies of the input), which
 * orr_cpu_conv3d_temporal_pays tells. Fails only when the scratch cannot
 * be allocated. */
bool orr_cpu_conv3d_temporal_pays(const orr_conv_shape *s);
orr_status orr_cpu_conv3d_temporal(float *y, const float *x, const float *w, const float *b, const orr_conv_shape *s);

/* The scratch bytes orr_cpu_conv3d_temporal allocates for s (0 where it
 * does not apply), for memory plans. */
size_t orr_cpu_conv3d_temporal_scratch_bytes(const orr_conv_shape *s);

#endif /* ORR_KERNELS_CONV_TEMPORAL_H */
