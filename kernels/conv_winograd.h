/* conv_winograd.h — the 3x3 spatial convolution of the tokenizers' resnet
 * blocks (CausalConv3d with kernel (1,3,3), stride 1, padding 1) by
 * Winograd's F(4x4, 3x3): a quarter of the multiplications of the direct
 * convolution. Same buffers and geometry as orr_cpu_conv3d (conv.h). */
#ifndef ORR_KERNELS_CONV_WINOGRAD_H
#define ORR_KERNELS_CONV_WINOGRAD_H

#include "conv.h"

/* Whether s is a conv orr_cpu_conv3d_winograd computes, and faster than
 * orr_cpu_conv3d: kernel (1,3,3), stride 1, padding (0,1,1), no dilation in
 * h and w, one group, no causal padding, and at least 32 pairs of input
 * and output channels. */
bool orr_cpu_conv3d_winograd_applies(const orr_conv_shape *s);

/* y = conv(x, w) + b (b may be NULL) for a shape the above accepts; every
 * (batch item, frame) is an independent 2-D convolution. Results differ from
 * the direct convolution by a few float roundings of the output's magnitude
 * (about 5e-6 relative at 512 input channels). Fails only when its scratch
 * cannot be allocated. */
orr_status orr_cpu_conv3d_winograd(float *y, const float *x, const float *w, const float *b, const orr_conv_shape *s);

/* The scratch bytes orr_cpu_conv3d_winograd allocates for s at the current
 * thread count (0 where it does not apply), for memory plans. */
size_t orr_cpu_conv3d_winograd_scratch_bytes(const orr_conv_shape *s);

#endif /* ORR_KERNELS_CONV_WINOGRAD_H */
