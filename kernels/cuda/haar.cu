// cuda/haar.cu — Haar patching one level per kernel (contracts in
// cuda/haar.h), the butterflies and their float operations exactly those
// of cpu/haar.c: the three 1-D filter passes fused, with the a^3 / (2 sqrt2)
// gain folded into 1/8 (1/4 in 2-D; the inverse gains are exactly 1).
// Patch threads own one output position and write its 8 (4) bands; unpatch
// threads own one input position and write its 2x2x2 (2x2) outputs.
#include "cuda/cuda_internal.h"
#include "cuda/grid.cuh"
#include "cuda/haar.h"

extern "C" {
#include "internal.h"
}

namespace {

struct level {
    int64_t planes;     // batch * g
    int64_t g;          // patch: input channels per batch item; unpatch: output channels
    int64_t ti, hi, wi; // input sizes; ti counts the repeated frames (1 in 2-D)
    int64_t to, ho, wo; // output sizes (to = 1 in 2-D)
    int64_t repeat;     // patch: virtual frames 0..repeat all read frame 0
    int64_t drop;       // unpatch: leading output frames left out
};

// The second element of a pair: past the end of an odd axis, the reflection.
__device__ __forceinline__ int64_t pair_second(int64_t i, int64_t n) { return 2 * i + 1 < n ? 2 * i + 1 : n - 2; }

__global__ void patch3d_kernel(float *out, const float *in, level j) {
    const int64_t plane_out = j.to * j.ho * j.wo, frames_in = j.ti - j.repeat;
    for (int64_t k = thread_index(); k < j.planes * plane_out; k += thread_count()) {
        const int64_t plane = k / plane_out, at = k % plane_out;
        const int64_t t = at / (j.ho * j.wo), y = at / j.wo % j.ho, x = at % j.wo;
        const int64_t b = plane / j.g, c = plane % j.g;
        const int64_t f0 = 2 * t - j.repeat, f1 = pair_second(t, j.ti) - j.repeat;
        const float *x0 = in + (plane * frames_in + (f0 > 0 ? f0 : 0)) * j.hi * j.wi;
        const float *x1 = in + (plane * frames_in + (f1 > 0 ? f1 : 0)) * j.hi * j.wi;
        const int64_t h0 = 2 * y, h1 = pair_second(y, j.hi), w0 = 2 * x, w1 = pair_second(x, j.wi);
        const float *a = x0 + h0 * j.wi, *bb = x0 + h1 * j.wi, *cc = x1 + h0 * j.wi, *d = x1 + h1 * j.wi;
        // first along T, then H, then W
        const float l00 = a[w0] + cc[w0], l01 = a[w1] + cc[w1], l10 = bb[w0] + d[w0], l11 = bb[w1] + d[w1];
        const float h00 = a[w0] - cc[w0], h01 = a[w1] - cc[w1], h10 = bb[w0] - d[w0], h11 = bb[w1] - d[w1];
        const float ll0 = l00 + l10, ll1 = l01 + l11, lh0 = l00 - l10, lh1 = l01 - l11;
        const float hl0 = h00 + h10, hl1 = h01 + h11, hh0 = h00 - h10, hh1 = h01 - h11;
        const float band[8] = {ll0 + ll1, ll0 - ll1, lh0 + lh1, lh0 - lh1, hl0 + hl1, hl0 - hl1, hh0 + hh1, hh0 - hh1};
        for (int s = 0; s < 8; s++) out[((b * 8 + s) * j.g + c) * plane_out + at] = 0.125f * band[s];
    }
}

__global__ void unpatch3d_kernel(float *out, const float *in, level j) {
    const int64_t plane_in = j.ti * j.hi * j.wi, frames_out = 2 * j.ti - j.drop;
    for (int64_t k = thread_index(); k < j.planes * plane_in; k += thread_count()) {
        const int64_t plane = k / plane_in, at = k % plane_in;
        const int64_t t = at / (j.hi * j.wi), y = at / j.wi % j.hi, x = at % j.wi;
        const int64_t b = plane / j.g, c = plane % j.g;
        float v[8];
        for (int s = 0; s < 8; s++) v[s] = in[((b * 8 + s) * j.g + c) * plane_in + at];
        // W first, then H, then T, as the transposed convolutions run
        const float ll0 = v[0] + v[1], ll1 = v[0] - v[1], lh0 = v[2] + v[3], lh1 = v[2] - v[3];
        const float hl0 = v[4] + v[5], hl1 = v[4] - v[5], hh0 = v[6] + v[7], hh1 = v[6] - v[7];
        const float l00 = ll0 + lh0, l01 = ll1 + lh1, l10 = ll0 - lh0, l11 = ll1 - lh1;
        const float h00 = hl0 + hh0, h01 = hl1 + hh1, h10 = hl0 - hh0, h11 = hl1 - hh1;
        // output frames f0, f0 + 1; negative ones are dropped
        const int64_t f0 = 2 * t - j.drop, top = 2 * y * j.wo + 2 * x, bottom = top + j.wo;
        if (f0 >= 0) {
            float *o = out + (plane * frames_out + f0) * j.ho * j.wo;
            o[top] = l00 + h00;
            o[top + 1] = l01 + h01;
            o[bottom] = l10 + h10;
            o[bottom + 1] = l11 + h11;
        }
        if (f0 + 1 >= 0) {
            float *o = out + (plane * frames_out + f0 + 1) * j.ho * j.wo;
            o[top] = l00 - h00;
            o[top + 1] = l01 - h01;
            o[bottom] = l10 - h10;
            o[bottom + 1] = l11 - h11;
        }
    }
}

__global__ void patch2d_kernel(float *out, const float *in, level j) {
    const int64_t plane_out = j.ho * j.wo;
    for (int64_t k = thread_index(); k < j.planes * plane_out; k += thread_count()) {
        const int64_t plane = k / plane_out, at = k % plane_out, y = at / j.wo, x = at % j.wo;
        const int64_t b = plane / j.g, c = plane % j.g;
        const float *top = in + (plane * j.hi + 2 * y) * j.wi;
        const float *bottom = in + (plane * j.hi + pair_second(y, j.hi)) * j.wi;
        const int64_t w0 = 2 * x, w1 = pair_second(x, j.wi);
        // first along W, then H: W's band is the major one
        const float lw0 = top[w0] + top[w1], hw0 = top[w0] - top[w1];
        const float lw1 = bottom[w0] + bottom[w1], hw1 = bottom[w0] - bottom[w1];
        const float band[4] = {lw0 + lw1, lw0 - lw1, hw0 + hw1, hw0 - hw1};
        for (int s = 0; s < 4; s++) out[((b * 4 + s) * j.g + c) * plane_out + at] = 0.25f * band[s];
    }
}

__global__ void unpatch2d_kernel(float *out, const float *in, level j) {
    const int64_t plane_in = j.hi * j.wi;
    for (int64_t k = thread_index(); k < j.planes * plane_in; k += thread_count()) {
        const int64_t plane = k / plane_in, at = k % plane_in, y = at / j.wi, x = at % j.wi;
        const int64_t b = plane / j.g, c = plane % j.g;
        float v[4];
        for (int s = 0; s < 4; s++) v[s] = in[((b * 4 + s) * j.g + c) * plane_in + at];
        // H first, then W
        const float l0 = v[0] + v[1], l1 = v[0] - v[1], h0 = v[2] + v[3], h1 = v[2] - v[3];
        float *top = out + (plane * j.ho + 2 * y) * j.wo + 2 * x, *bottom = top + j.wo;
        top[0] = l0 + h0;
        top[1] = l0 - h0;
        bottom[0] = l1 + h1;
        bottom[1] = l1 - h1;
    }
}

int levels_of(int p) {
    int levels = 0;
    while ((1 << levels) < p) levels++;
    return levels;
}

orr_status check_args(const char *op, int p, int n_sizes, const int64_t *sizes) {
    if (p < 1 || (p & (p - 1)) != 0 || p > 1024)
        return orr_error(ORR_ERR_ARGUMENT, "cuda %s: patch size p = %d must be a power of two (1, 2, 4, ...)", op, p);
    for (int k = 0; k < n_sizes; k++)
        if (sizes[k] < 0)
            return orr_error(ORR_ERR_ARGUMENT, "cuda %s: size %d of the input is %lld", op, k, (long long)sizes[k]);
    return ORR_OK;
}

// Every level's reflect padding needs 2 elements on the axis it halves.
orr_status check_levels(const char *op, const char *axis, int64_t n, int p) {
    for (int s = p; s > 1; s /= 2, n = (n + 1) / 2)
        if (n < 2)
            return orr_error(ORR_ERR_SHAPE, "cuda %s: the %s axis is too short for patch size %d (a level meets %lld)",
                             op, axis, p, (long long)n);
    return ORR_OK;
}

// Scratch for the levels between the first and the last: two buffers of
// `floats` each for three levels or more, one for two levels.
struct scratch {
    float *buf[2];
    size_t bytes;
};

orr_status scratch_alloc(scratch *s, int levels, int64_t floats, const char *op) {
    *s = scratch{};
    const int n = levels > 2 ? 2 : levels - 1;
    if (n <= 0) return ORR_OK;
    s->bytes = (size_t)n * (size_t)floats * sizeof(float);
    void *p;
    orr_status st = orr_cuda_scratch_alloc(s->bytes, &p);
    if (st) return orr_error_context(st, "cuda %s: scratch: ", op);
    s->buf[0] = (float *)p;
    s->buf[1] = n > 1 ? s->buf[0] + floats : NULL;
    return ORR_OK;
}

void scratch_free(scratch *s) {
    if (s->buf[0]) orr_cuda_scratch_free(s->buf[0], s->bytes);
}

orr_status copy_through(float *out, const float *x, int64_t n, const char *op, cudaStream_t stream) {
    return orr_cuda_check(cudaMemcpyAsync(out, x, (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice, stream), op,
                          "copy for p = 1");
}

// A level's planes and output sizes from its channels and input sizes: a
// patch halves every axis (rounding up), an unpatch doubles it.
template <bool VIDEO, bool PATCH>
void size_level(level *j, int64_t batch) {
    j->planes = batch * j->g;
    j->to = !VIDEO ? 1 : PATCH ? (j->ti + 1) / 2 : 2 * j->ti;
    j->ho = PATCH ? (j->hi + 1) / 2 : 2 * j->hi;
    j->wo = PATCH ? (j->wi + 1) / 2 : 2 * j->wi;
}

// The next level reads this one's output: the channels times (patch) or
// over (unpatch) the bands.
template <bool VIDEO, bool PATCH>
void next_level(level *j) {
    constexpr int64_t bands = VIDEO ? 8 : 4;
    j->g = PATCH ? j->g * bands : j->g / bands;
    j->ti = j->to;
    j->hi = j->ho;
    j->wi = j->wo;
    j->repeat = 0;
}

// The `levels` levels of one transform, j holding the first one's channels
// and input sizes: level l reads what level l - 1 wrote (x for the first)
// and writes scratch, `out` at the last.
template <bool VIDEO, bool PATCH>
orr_status run_levels(const char *op, float *out, const float *x, int64_t batch, level j, int levels, int p,
                      cudaStream_t stream) {
    int64_t largest = 0; // the largest output before the last level's
    level k = j;
    for (int l = 0; l + 1 < levels; l++) {
        size_level<VIDEO, PATCH>(&k, batch);
        if (k.planes * k.to * k.ho * k.wo > largest) largest = k.planes * k.to * k.ho * k.wo;
        next_level<VIDEO, PATCH>(&k);
    }
    scratch s;
    orr_status st = scratch_alloc(&s, levels, largest, op);
    if (st) return st;
    const float *in = x;
    for (int l = 0; l < levels && !st; l++) {
        const bool last = l + 1 == levels;
        float *dst = last ? out : s.buf[l & 1];
        size_level<VIDEO, PATCH>(&j, batch);
        if (VIDEO && !PATCH) j.drop = last ? p - 1 : 0;
        // patch threads own an output position, unpatch threads an input one
        const int grid = grid_for(j.planes * (PATCH ? j.to * j.ho * j.wo : j.ti * j.hi * j.wi));
        if constexpr (VIDEO && PATCH) patch3d_kernel<<<grid, kThreads, 0, stream>>>(dst, in, j);
        else if constexpr (VIDEO) unpatch3d_kernel<<<grid, kThreads, 0, stream>>>(dst, in, j);
        else if constexpr (PATCH) patch2d_kernel<<<grid, kThreads, 0, stream>>>(dst, in, j);
        else unpatch2d_kernel<<<grid, kThreads, 0, stream>>>(dst, in, j);
        st = orr_cuda_check_launch(op);
        in = dst;
        next_level<VIDEO, PATCH>(&j);
    }
    scratch_free(&s);
    return st;
}

} // namespace

extern "C" {

orr_status orr_cuda_haar3d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                 int64_t w, int p, cudaStream_t stream) {
    const int64_t sizes[5] = {batch, channels, t, h, w};
    orr_status st = check_args("haar3d_patch", p, 5, sizes);
    if (!st) st = check_levels("haar3d_patch", "T", t + p - 1, p);
    if (!st) st = check_levels("haar3d_patch", "H", h, p);
    if (!st) st = check_levels("haar3d_patch", "W", w, p);
    if (st || batch * channels == 0) return st;
    const int levels = levels_of(p);
    if (levels == 0) return copy_through(out, x, batch * channels * t * h * w, "haar3d_patch", stream);
    level j = {};
    j.g = channels;
    j.ti = t + p - 1;
    j.hi = h;
    j.wi = w;
    j.repeat = p - 1;
    return run_levels<true, true>("haar3d_patch", out, x, batch, j, levels, p, stream);
}

orr_status orr_cuda_haar3d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                   int64_t w, int p, cudaStream_t stream) {
    const int64_t sizes[5] = {batch, channels, t, h, w};
    orr_status st = check_args("haar3d_unpatch", p, 5, sizes);
    if (st) return st;
    if (t == 0 && p > 1)
        return orr_error(ORR_ERR_SHAPE, "cuda haar3d_unpatch: x has no frames (p = %d drops %d)", p, p - 1);
    const int64_t volume = batch * channels * p * p * p * t * h * w; // every level keeps it
    if (volume == 0) return ORR_OK;
    const int levels = levels_of(p);
    if (levels == 0) return copy_through(out, x, volume, "haar3d_unpatch", stream);
    level j = {};
    j.g = channels * p * p * p / 8;
    j.ti = t;
    j.hi = h;
    j.wi = w;
    return run_levels<true, false>("haar3d_unpatch", out, x, batch, j, levels, p, stream);
}

orr_status orr_cuda_haar2d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                 int p, cudaStream_t stream) {
    const int64_t sizes[4] = {batch, channels, h, w};
    orr_status st = check_args("haar2d_patch", p, 4, sizes);
    if (!st) st = check_levels("haar2d_patch", "H", h, p);
    if (!st) st = check_levels("haar2d_patch", "W", w, p);
    if (st || batch * channels == 0) return st;
    const int levels = levels_of(p);
    if (levels == 0) return copy_through(out, x, batch * channels * h * w, "haar2d_patch", stream);
    level j = {};
    j.g = channels;
    j.ti = 1;
    j.hi = h;
    j.wi = w;
    return run_levels<false, true>("haar2d_patch", out, x, batch, j, levels, p, stream);
}

orr_status orr_cuda_haar2d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                   int p, cudaStream_t stream) {
    const int64_t sizes[4] = {batch, channels, h, w};
    orr_status st = check_args("haar2d_unpatch", p, 4, sizes);
    if (st) return st;
    const int64_t volume = batch * channels * p * p * h * w; // every level keeps it
    if (volume == 0) return ORR_OK;
    const int levels = levels_of(p);
    if (levels == 0) return copy_through(out, x, volume, "haar2d_unpatch", stream);
    level j = {};
    j.g = channels * p * p / 4;
    j.ti = 1;
    j.hi = h;
    j.wi = w;
    return run_levels<false, false>("haar2d_unpatch", out, x, batch, j, levels, p, stream);
}

} // extern "C"
