// cuda/resize.cu — interpolation on the GPU (contract in cuda/resize.h),
// one output element per thread, following ref/resize.c operation by
// operation. Every float and double operation below is an explicit _rn
// intrinsic: nvcc would otherwise fuse multiply-adds, which rounds once
// where the oracle rounds twice and can move a 'nearest' index.
#include "cuda/cuda_internal.h"
#include "cuda/grid.cuh"
#include "cuda/resize.h"

extern "C" {
#include "internal.h"
}

namespace {

struct taps {
    int n;
    int64_t index[4];
    double weight[4];
};

struct axes {
    int64_t in[3], out[3];
};

__device__ float axis_scale(int64_t in, int64_t out, bool align_corners) {
    if (align_corners) return out > 1 ? __fdiv_rn((float)(in - 1), (float)(out - 1)) : 0.0f;
    return __fdiv_rn((float)in, (float)out);
}

__device__ float source_coordinate(float scale, int64_t o, bool align_corners, bool cubic) {
    if (align_corners) return __fmul_rn(scale, (float)o);
    const float src = __fsub_rn(__fmul_rn(scale, __fadd_rn((float)o, 0.5f)), 0.5f);
    return !cubic && src < 0.0f ? 0.0f : src;
}

// Keys' cubic kernel: |x| <= 1 and 1 < |x| < 2.
__device__ double cubic_near(double x, double a) {
    return __dadd_rn(__dmul_rn(__dmul_rn(__dsub_rn(__dmul_rn(a + 2, x), a + 3), x), x), 1.0);
}
__device__ double cubic_far(double x, double a) {
    return __dsub_rn(__dmul_rn(__dadd_rn(__dmul_rn(__dsub_rn(__dmul_rn(a, x), 5 * a), x), 8 * a), x), 4 * a);
}

__device__ taps axis_taps(orr_resize_mode mode, int64_t o, int64_t in, int64_t out, bool align_corners) {
    taps t = {};
    if (mode == ORR_RESIZE_NEAREST) {
        t.n = 1;
        t.weight[0] = 1;
        if (out == in) {
            t.index[0] = o;
        } else if (out == 2 * in) {
            t.index[0] = o / 2;
        } else {
            const int64_t i = (int64_t)floorf(__fmul_rn((float)o, __fdiv_rn((float)in, (float)out)));
            t.index[0] = i < in - 1 ? i : in - 1;
        }
        return t;
    }
    const float scale = axis_scale(in, out, align_corners);
    const bool cubic = mode == ORR_RESIZE_BICUBIC;
    const float src = source_coordinate(scale, o, align_corners, cubic);
    int64_t i0 = (int64_t)floorf(src);
    if (i0 > in - 1) i0 = in - 1;
    float l = __fsub_rn(src, (float)i0);
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
        t.weight[0] = __fsub_rn(1.0f, l);
        t.weight[1] = l;
        return t;
    }
    const double a = -0.75;
    t.n = 4;
    t.weight[0] = cubic_far(__dadd_rn(l, 1.0), a);
    t.weight[1] = cubic_near(l, a);
    t.weight[2] = cubic_near(__dsub_rn(1.0, l), a);
    t.weight[3] = cubic_far(__dsub_rn(2.0, l), a);
    for (int k = 0; k < 4; k++) {
        const int64_t i = i0 - 1 + k;
        t.index[k] = i < 0 ? 0 : i > in - 1 ? in - 1 : i;
    }
    return t;
}

__global__ void resize_kernel(float *out, const float *x, int64_t planes, axes s, orr_resize_mode mode,
                              bool align_corners) {
    const int64_t Ti = s.in[0], Hi = s.in[1], Wi = s.in[2], To = s.out[0], Ho = s.out[1], Wo = s.out[2];
    for (int64_t k = thread_index(); k < planes * To * Ho * Wo; k += thread_count()) {
        const int64_t xo = k % Wo, y = k / Wo % Ho, t = k / (Wo * Ho) % To, p = k / (Wo * Ho * To);
        const taps tt = axis_taps(mode, t, Ti, To, align_corners);
        const taps ty = axis_taps(mode, y, Hi, Ho, align_corners);
        const taps tx = axis_taps(mode, xo, Wi, Wo, align_corners);
        double sum = 0;
        for (int a = 0; a < tt.n; a++)
            for (int b = 0; b < ty.n; b++)
                for (int c = 0; c < tx.n; c++) {
                    const double w = __dmul_rn(__dmul_rn(tt.weight[a], ty.weight[b]), tx.weight[c]);
                    const float v = x[((p * Ti + tt.index[a]) * Hi + ty.index[b]) * Wi + tx.index[c]];
                    sum = __dadd_rn(sum, __dmul_rn(w, (double)v));
                }
        out[k] = (float)sum;
    }
}

} // namespace

extern "C" orr_status orr_cuda_resize(float *out, const float *x, int64_t planes, const int64_t in_size[3],
                                      const int64_t out_size[3], orr_resize_mode mode, bool align_corners,
                                      cudaStream_t stream) {
    if (mode != ORR_RESIZE_NEAREST && mode != ORR_RESIZE_BILINEAR && mode != ORR_RESIZE_BICUBIC &&
        mode != ORR_RESIZE_TRILINEAR)
        return orr_error(ORR_ERR_ARGUMENT, "cuda resize: unknown mode %d", (int)mode);
    if (planes < 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda resize: planes = %lld is negative", (long long)planes);
    axes s;
    int64_t total = planes;
    for (int k = 0; k < 3; k++) {
        if (in_size[k] < 0 || out_size[k] < 0)
            return orr_error(ORR_ERR_ARGUMENT, "cuda resize: axis %d resizes %lld to %lld", k, (long long)in_size[k],
                             (long long)out_size[k]);
        s.in[k] = in_size[k];
        s.out[k] = out_size[k];
        total *= out_size[k];
    }
    if (total == 0) return ORR_OK;
    for (int k = 0; k < 3; k++)
        if (in_size[k] == 0)
            return orr_error(ORR_ERR_ARGUMENT, "cuda resize: axis %d is empty but its output has %lld elements", k,
                             (long long)out_size[k]);
    resize_kernel<<<grid_for(total), kThreads, 0, stream>>>(out, x, planes, s, mode, align_corners);
    return orr_cuda_check_launch("resize");
}
