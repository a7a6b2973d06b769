/* ref/resize.c — the scalar oracle for resize, one output element at a time.
 * The coordinate rules are PyTorch's (aten/src/ATen/native/UpSample.h), in
 * float as PyTorch computes them for float tensors, because the float
 * rounding of the scale decides which source index 'nearest' picks:
 *  - nearest (legacy): same size -> same index, twice the size -> o/2, else
 *    min(floor(o * (float)in/out), in-1); align_corners does not apply.
 *  - linear: src = align_corners ? o*(in-1)/(out-1) : max(0, (o+0.5)*in/out
 *    - 0.5); i0 = min(floor(src), in-1), i1 = i0+1 clamped, weights 1-l, l
 *    with l = clamp(src - i0, 0, 1); same size -> same index.
 *  - cubic: src as linear but without the clamp at 0; taps i0-1..i0+2
 *    clamped to the border, Keys' kernel with A = -0.75.
 * The weighted sum is accumulated in double. */
#include <math.h>

#include "internal.h"
#include "resize.h"

typedef struct taps {
    int n;
    int64_t index[4];
    double weight[4];
} taps;

static float axis_scale(int64_t in, int64_t out, bool align_corners) {
    if (align_corners) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return (float)in / (float)out;
}

static float source_coordinate(float scale, int64_t o, bool align_corners, bool cubic) {
    if (align_corners) return scale * (float)o;
    float src = scale * ((float)o + 0.5f) - 0.5f;
    return !cubic && src < 0.0f ? 0.0f : src;
}

static double cubic_near(double x, double a) { return ((a + 2) * x - (a + 3)) * x * x + 1; }     /* |x| <= 1 */
static double cubic_far(double x, double a) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; } /* 1 < |x| < 2 */

static taps axis_taps(orr_resize_mode mode, int64_t o, int64_t in, int64_t out, bool align_corners) {
    taps t = {0};
    if (mode == ORR_RESIZE_NEAREST) {
        t.n = 1;
        t.weight[0] = 1;
        if (out == in) {
            t.index[0] = o;
        } else if (out == 2 * in) {
            t.index[0] = o / 2;
        } else {
            int64_t i = (int64_t)floorf((float)o * ((float)in / (float)out));
            t.index[0] = i < in - 1 ? i : in - 1;
        }
        return t;
    }
    float scale = axis_scale(in, out, align_corners);
    bool cubic = mode == ORR_RESIZE_BICUBIC;
    float src = source_coordinate(scale, o, align_corners, cubic);
    int64_t i0 = (int64_t)floorf(src);
    if (i0 > in - 1) i0 = in - 1;
    float l = src - (float)i0;
    l = l < 0.0f ? 0.0f : l > 1.0f ? 1.0f : l;
    if (!cubic) {
        t.n = 2;
        if (out == in) {
            t.index[0] = t.index[1] = o;
            t.weight[0] = 1;
            return t;
        }
        t.index[0] = i0;
        t.index[1] = i0 < in - 1 ? i0 + 1 : i0;
        t.weight[0] = 1.0f - l;
        t.weight[1] = l;
        return t;
    }
    const double a = -0.75;
    t.n = 4;
    t.weight[0] = cubic_far(l + 1.0, a);
    t.weight[1] = cubic_near(l, a);
    t.weight[2] = cubic_near(1.0 - l, a);
    t.weight[3] = cubic_far(2.0 - l, a);
    for (int k = 0; k < 4; k++) {
        int64_t i = i0 - 1 + k;
        t.index[k] = i < 0 ? 0 : i > in - 1 ? in - 1 : i;
    }
    return t;
}

void orr_ref_resize(float *out, const float *x, int64_t planes, const int64_t in_size[3], const int64_t out_size[3],
                    orr_resize_mode mode, bool align_corners) {
    int64_t Ti = in_size[0], Hi = in_size[1], Wi = in_size[2];
    int64_t To = out_size[0], Ho = out_size[1], Wo = out_size[2];
    for (int64_t p = 0; p < planes; p++)
        for (int64_t t = 0; t < To; t++) {
            taps tt = axis_taps(mode, t, Ti, To, align_corners);
            for (int64_t y = 0; y < Ho; y++) {
                taps ty = axis_taps(mode, y, Hi, Ho, align_corners);
                for (int64_t xo = 0; xo < Wo; xo++) {
                    taps tx = axis_taps(mode, xo, Wi, Wo, align_corners);
                    double sum = 0;
                    for (int a = 0; a < tt.n; a++)
                        for (int b = 0; b < ty.n; b++)
                            for (int c = 0; c < tx.n; c++)
                                sum += tt.weight[a] * ty.weight[b] * tx.weight[c] *
                                       x[((p * Ti + tt.index[a]) * Hi + ty.index[b]) * Wi + tx.index[c]];
                    out[((p * To + t) * Ho + y) * Wo + xo] = (float)sum;
                }
            }
        }
}
