// cuda/tokenizer_fused.cu — the tokenizers' own device steps (contract in
// cuda/tokenizer_fused.h). The float arithmetic goes through the _rn
// intrinsics so that nvcc cannot contract it into fused multiply-adds the
// CPU loops do not make.
#include "cuda/cuda_internal.h"
#include "cuda/grid.cuh"
#include "cuda/tokenizer_fused.h"

extern "C" {
#include "internal.h"
}

namespace {

__global__ void upsample_time(float *y, const float *x, int64_t planes, int64_t frames, int64_t plane) {
    const int64_t out_frames = 2 * frames - 1, n = planes * out_frames * plane;
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        const int64_t p = i % plane, f = i / plane, t = f % out_frames, bc = f / out_frames;
        y[i] = x[(bc * frames + (t + 1) / 2) * plane + p];
    }
}

__global__ void upsample_space(float *y, const float *x, int64_t planes, int64_t rows, int64_t cols) {
    const int64_t n = planes * 4 * rows * cols;
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        const int64_t c = i % (2 * cols), r = i / (2 * cols) % (2 * rows), q = i / (4 * rows * cols);
        y[i] = x[(q * rows + r / 2) * cols + c / 2];
    }
}

struct pool_geometry {
    int64_t in[3], k[3], out[3];
};

__global__ void pool_add(float *y, const float *x, int64_t planes, pool_geometry g) {
    const int64_t n = planes * g.out[0] * g.out[1] * g.out[2];
    const float scale = __fdiv_rn(1.0f, (float)(g.k[0] * g.k[1] * g.k[2]));
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        const int64_t ow = i % g.out[2], oh = i / g.out[2] % g.out[1], ot = i / (g.out[2] * g.out[1]) % g.out[0];
        const int64_t plane = i / (g.out[2] * g.out[1] * g.out[0]);
        float acc = 0.0f;
        for (int64_t kt = 0; kt < g.k[0]; kt++)
            for (int64_t kh = 0; kh < g.k[1]; kh++) {
                const float *win =
                    x + ((plane * g.in[0] + ot * g.k[0] + kt) * g.in[1] + oh * g.k[1] + kh) * g.in[2] + ow * g.k[2];
                float sum = 0.0f;
                for (int64_t kw = 0; kw < g.k[2]; kw++) sum = __fadd_rn(sum, win[kw]);
                acc = __fadd_rn(acc, sum);
            }
        y[i] = __fadd_rn(y[i], __fmul_rn(acc, scale));
    }
}

__global__ void latent_affine(float *out, const float *latent, const float *mean, const float *std, int64_t channels,
                              int64_t frames, int64_t plane, int64_t columns, int64_t n, float sigma_data,
                              bool inverse) {
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        const int64_t t = i / plane % frames, c = i / (plane * frames) % channels;
        const float m = mean[c * columns + t], s = std[c * columns + t], l = latent[i];
        out[i] = inverse ? __fadd_rn(__fmul_rn(__fdiv_rn(l, sigma_data), s), m)
                         : __fmul_rn(__fdiv_rn(__fsub_rn(l, m), s), sigma_data);
    }
}

// tokenizer_tiles.c ramp_weight.
__device__ float ramp_weight(int64_t i, int64_t size, int64_t ramp, bool before, bool after) {
    float w = 1.0f;
    if (before && i < ramp) w = __fdiv_rn((float)(i + 1), (float)(ramp + 1));
    if (after && size - 1 - i < ramp) {
        const float down = __fdiv_rn((float)(size - i), (float)(ramp + 1));
        if (down < w) w = down;
    }
    return w;
}

struct tile_geometry {
    int64_t planes, height, width, th, tw, y0, x0, ramp;
    bool top, bottom, left, right;
};

__global__ void blend_tile(float *acc, float *weights, const float *tile, tile_geometry g) {
    const int64_t n = g.planes * g.th * g.tw;
    for (int64_t k = thread_index(); k < n; k += thread_count()) {
        const int64_t j = k % g.tw, i = k / g.tw % g.th, pl = k / (g.tw * g.th);
        const float w = __fmul_rn(ramp_weight(i, g.th, g.ramp, g.top, g.bottom),
                                  ramp_weight(j, g.tw, g.ramp, g.left, g.right));
        const int64_t at = (g.y0 + i) * g.width + g.x0 + j;
        float *dst = acc + pl * g.height * g.width + at;
        *dst = __fadd_rn(*dst, __fmul_rn(w, tile[k]));
        if (pl == 0) weights[at] = __fadd_rn(weights[at], w);
    }
}

__global__ void blend_finish(float *acc, const float *weights, int64_t planes, int64_t area) {
    for (int64_t k = thread_index(); k < planes * area; k += thread_count())
        acc[k] = __fdiv_rn(acc[k], weights[k % area]);
}

__global__ void to_u8(uint8_t *y, const float *x, int64_t n) {
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        float v = __fadd_rn(1.0f, x[i]);
        v = v < 0.0f ? 0.0f : v > 2.0f ? 2.0f : v;
        y[i] = (uint8_t)__float2uint_rz(__fmul_rn(__fdiv_rn(v, 2.0f), 255.0f));
    }
}

__global__ void from_u8(float *x, const uint8_t *y, int64_t n) {
    for (int64_t i = thread_index(); i < n; i += thread_count())
        x[i] = __fsub_rn(__fmul_rn(__fdiv_rn((float)y[i], 255.0f), 2.0f), 1.0f);
}

orr_status negative(const char *op, const char *what, int64_t value) {
    return orr_error(ORR_ERR_ARGUMENT, "cuda %s: %s is %lld; must be >= 0", op, what, (long long)value);
}

} // namespace

extern "C" {

orr_status orr_cuda_tok_upsample(float *y, const float *x, int64_t planes, int64_t frames, int64_t rows, int64_t cols,
                                 bool temporal, cudaStream_t stream) {
    const char *op = "tok_upsample";
    if (planes < 0 || rows < 0 || cols < 0) return negative(op, "a size", planes < 0 ? planes : rows < 0 ? rows : cols);
    if (frames < 1) return orr_error(ORR_ERR_ARGUMENT, "cuda %s: %lld frames; need at least 1", op, (long long)frames);
    const int64_t n = temporal ? planes * (2 * frames - 1) * rows * cols : planes * frames * 4 * rows * cols;
    if (n == 0) return ORR_OK;
    if (temporal)
        upsample_time<<<grid_for(n), kThreads, 0, stream>>>(y, x, planes, frames, rows * cols);
    else
        upsample_space<<<grid_for(n), kThreads, 0, stream>>>(y, x, planes * frames, rows, cols);
    return orr_cuda_check_launch(op);
}

orr_status orr_cuda_tok_pool_add(float *y, const float *x, int64_t planes, const int64_t in[3], const int64_t kernel[3],
                                 const int64_t out[3], cudaStream_t stream) {
    const char *op = "tok_pool_add";
    if (planes < 0) return negative(op, "planes", planes);
    pool_geometry g;
    for (int a = 0; a < 3; a++) {
        if (kernel[a] < 1 || in[a] < kernel[a] || out[a] != (in[a] - kernel[a]) / kernel[a] + 1)
            return orr_error(ORR_ERR_ARGUMENT, "cuda %s: axis %d: in %lld, kernel %lld, out %lld disagree", op, a,
                             (long long)in[a], (long long)kernel[a], (long long)out[a]);
        g.in[a] = in[a];
        g.k[a] = kernel[a];
        g.out[a] = out[a];
    }
    const int64_t n = planes * out[0] * out[1] * out[2];
    if (n == 0) return ORR_OK;
    pool_add<<<grid_for(n), kThreads, 0, stream>>>(y, x, planes, g);
    return orr_cuda_check_launch(op);
}

orr_status orr_cuda_tok_latent_affine(float *out, const float *latent, const float *mean, const float *std,
                                      int64_t batch, int64_t channels, int64_t frames, int64_t plane, int64_t columns,
                                      float sigma_data, bool inverse, cudaStream_t stream) {
    const char *op = "tok_latent_affine";
    if (batch < 0 || channels < 0 || frames < 0 || plane < 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda %s: latent [%lld, %lld, %lld, %lld] has a negative size", op,
                         (long long)batch, (long long)channels, (long long)frames, (long long)plane);
    if (columns < frames)
        return orr_error(ORR_ERR_ARGUMENT, "cuda %s: %lld statistics columns for %lld frames", op, (long long)columns,
                         (long long)frames);
    const int64_t n = batch * channels * frames * plane;
    if (n == 0) return ORR_OK;
    latent_affine<<<grid_for(n), kThreads, 0, stream>>>(out, latent, mean, std, channels, frames, plane, columns, n,
                                                        sigma_data, inverse);
    return orr_cuda_check_launch(op);
}

orr_status orr_cuda_tok_blend_tile(float *acc, float *weights, const float *tile, int64_t planes, int64_t height,
                                   int64_t width, int64_t th, int64_t tw, int64_t y0, int64_t x0, int64_t ramp,
                                   bool top, bool bottom, bool left, bool right, cudaStream_t stream) {
    const char *op = "tok_blend_tile";
    if (planes < 0 || th < 0 || tw < 0 || y0 < 0 || x0 < 0 || ramp < 0 || y0 + th > height || x0 + tw > width)
        return orr_error(ORR_ERR_ARGUMENT,
                         "cuda %s: a tile of %lld x %lld at (%lld, %lld) (ramp %lld, %lld planes) does not lie in "
                         "%lld x %lld",
                         op, (long long)th, (long long)tw, (long long)y0, (long long)x0, (long long)ramp,
                         (long long)planes, (long long)height, (long long)width);
    const int64_t n = planes * th * tw;
    if (n == 0) return ORR_OK;
    tile_geometry g = {planes, height, width, th, tw, y0, x0, ramp, top, bottom, left, right};
    blend_tile<<<grid_for(n), kThreads, 0, stream>>>(acc, weights, tile, g);
    return orr_cuda_check_launch(op);
}

orr_status orr_cuda_tok_blend_finish(float *acc, const float *weights, int64_t planes, int64_t area,
                                     cudaStream_t stream) {
    if (planes < 0 || area < 0) return negative("tok_blend_finish", "a size", planes < 0 ? planes : area);
    if (planes * area == 0) return ORR_OK;
    blend_finish<<<grid_for(planes * area), kThreads, 0, stream>>>(acc, weights, planes, area);
    return orr_cuda_check_launch("tok_blend_finish");
}

orr_status orr_cuda_tok_to_u8(uint8_t *y, const float *x, int64_t n, cudaStream_t stream) {
    if (n < 0) return negative("tok_to_u8", "n", n);
    if (n == 0) return ORR_OK;
    to_u8<<<grid_for(n), kThreads, 0, stream>>>(y, x, n);
    return orr_cuda_check_launch("tok_to_u8");
}

orr_status orr_cuda_tok_from_u8(float *x, const uint8_t *y, int64_t n, cudaStream_t stream) {
    if (n < 0) return negative("tok_from_u8", "n", n);
    if (n == 0) return ORR_OK;
    from_u8<<<grid_for(n), kThreads, 0, stream>>>(x, y, n);
    return orr_cuda_check_launch("tok_from_u8");
}

} // extern "C"
