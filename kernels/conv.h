/* conv.h — 3-D convolution (conv2d is its kt = 1 case) and 3-D average
 * pooling on contiguous float32 buffers. The ref versions are scalar
 * oracles with double accumulation; the cpu versions lower the convolution
 * to OpenBLAS sgemm over bounded im2col tiles. */
#ifndef ORR_KERNELS_CONV_H
#define ORR_KERNELS_CONV_H

#include "orrery.h"

/* Geometry of y [batch, out_channels, out[0..2]] = conv(x [batch,
 * in_channels, in[0..2]], w [out_channels, in_channels/groups, kernel[0..2]])
 * + b. Axes are t, h, w. The time axis is first extended by causal_pad
 * copies of frame 0 (CausalConv3d), then every axis is zero-padded by
 * padding[] on both sides. The (t, h, w) block of each channel of x and y
 * is contiguous; x_stride/y_stride are the element strides between batch
 * items and between channels (so a time slice of a bigger tensor can be
 * read or written in place). w is contiguous. */
typedef struct orr_conv_shape {
    int64_t batch, in_channels, out_channels, groups;
    int64_t in[3], kernel[3], out[3];
    int64_t stride[3], padding[3], dilation[3];
    int64_t causal_pad;
    int64_t x_stride[2], y_stride[2];
} orr_conv_shape;

/* w_t [k_rows][cout] = w [cout][k_rows] transposed (k_rows = cin/groups *
 * kvol): the output channel innermost, the layout
 * orr_cpu_conv3d_temporal_co_inner takes (conv_temporal.h) and the
 * tokenizers keep their temporal convs' weights in. Threaded over rows of
 * w_t. */
void orr_cpu_conv3d_pack_co_inner(float *w_t, const float *w, int64_t cout, int64_t k_rows);

/* The output extent along axis `axis` for s->in/kernel/stride/padding/
 * dilation (and causal_pad on t); < 1 when the kernel does not fit. */
int64_t orr_conv_out_extent(const orr_conv_shape *s, int axis);

/* b may be NULL. */
void orr_ref_conv3d(float *y, const float *x, const float *w, const float *b, const orr_conv_shape *s);
/* Fails only when its im2col scratch cannot be allocated. */
orr_status orr_cpu_conv3d(float *y, const float *x, const float *w, const float *b, const orr_conv_shape *s);

/* y [planes, out[0..2]] = mean of each kernel[0..2] window of x [planes,
 * in[0..2]] taken every stride[]; no padding, out[a] = (in[a] - kernel[a])
 * / stride[a] + 1. */
void orr_ref_avg_pool3d(float *y, const float *x, int64_t planes, const int64_t in[3], const int64_t kernel[3],
                        const int64_t stride[3], const int64_t out[3]);
void orr_cpu_avg_pool3d(float *y, const float *x, int64_t planes, const int64_t in[3], const int64_t kernel[3],
                        const int64_t stride[3], const int64_t out[3]);

#endif /* ORR_KERNELS_CONV_H */
