/* ref/conv.c — scalar oracles for convolution and average pooling.
 * Semantics are PyTorch's nn.Conv3d: cross-correlation (no kernel flip),
 * zero padding on both sides, groups splitting channels into independent
 * blocks. causal_pad follows the Cosmos CausalConv3d, which prepends copies
 * of frame 0 in time before the (zero-padded) convolution. */
#include "conv.h"

int64_t orr_conv_out_extent(const orr_conv_shape *s, int axis) {
    int64_t padded = s->in[axis] + 2 * s->padding[axis] + (axis == 0 ? s->causal_pad : 0);
    int64_t span = s->dilation[axis] * (s->kernel[axis] - 1) + 1;
    if (s->stride[axis] < 1 || padded < span) return 0;
    return (padded - span) / s->stride[axis] + 1;
}

/* x[n, c] at input coordinates (t, h, w) of the padded signal: t counts
 * from the first zero-padding frame, before the causal copies. */
static double input_at(const float *x, const orr_conv_shape *s, int64_t n, int64_t c, int64_t t, int64_t h,
                       int64_t w) {
    t -= s->padding[0];
    h -= s->padding[1];
    w -= s->padding[2];
    if (t < 0 || t >= s->in[0] + s->causal_pad || h < 0 || h >= s->in[1] || w < 0 || w >= s->in[2]) return 0.0;
    t = t < s->causal_pad ? 0 : t - s->causal_pad;
    return x[n * s->x_stride[0] + c * s->x_stride[1] + (t * s->in[1] + h) * s->in[2] + w];
}

void orr_ref_conv3d(float *y, const float *x, const float *w, const float *b, const orr_conv_shape *s) {
    int64_t cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    const int64_t *k = s->kernel, *st = s->stride, *d = s->dilation;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t co = 0; co < s->out_channels; co++) {
            int64_t c0 = co / cout_g * cin_g;
            const float *wc = w + co * cin_g * k[0] * k[1] * k[2];
            for (int64_t ot = 0; ot < s->out[0]; ot++)
                for (int64_t oh = 0; oh < s->out[1]; oh++)
                    for (int64_t ow = 0; ow < s->out[2]; ow++) {
                        double acc = b ? b[co] : 0.0;
                        for (int64_t ci = 0; ci < cin_g; ci++)
                            for (int64_t kt = 0; kt < k[0]; kt++)
                                for (int64_t kh = 0; kh < k[1]; kh++)
                                    for (int64_t kw = 0; kw < k[2]; kw++)
                                        acc += wc[((ci * k[0] + kt) * k[1] + kh) * k[2] + kw] *
                                               input_at(x, s, n, c0 + ci, ot * st[0] + kt * d[0],
                                                        oh * st[1] + kh * d[1], ow * st[2] + kw * d[2]);
                        y[n * s->y_stride[0] + co * s->y_stride[1] + (ot * s->out[1] + oh) * s->out[2] + ow] =
                            (float)acc;
                    }
        }
}

void orr_ref_avg_pool3d(float *y, const float *x, int64_t planes, const int64_t in[3], const int64_t kernel[3],
                        const int64_t stride[3], const int64_t out[3]) {
    double count = (double)(kernel[0] * kernel[1] * kernel[2]);
    for (int64_t p = 0; p < planes; p++)
        for (int64_t ot = 0; ot < out[0]; ot++)
            for (int64_t oh = 0; oh < out[1]; oh++)
                for (int64_t ow = 0; ow < out[2]; ow++) {
                    double sum = 0.0;
                    for (int64_t kt = 0; kt < kernel[0]; kt++)
                        for (int64_t kh = 0; kh < kernel[1]; kh++)
                            for (int64_t kw = 0; kw < kernel[2]; kw++)
                                sum += x[((p * in[0] + ot * stride[0] + kt) * in[1] + oh * stride[1] + kh) * in[2] +
                                         ow * stride[2] + kw];
                    y[((p * out[0] + ot) * out[1] + oh) * out[2] + ow] = (float)(sum / count);
                }
}
