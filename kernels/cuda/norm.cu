// cuda/norm.cu — group, layer and RMS normalisation and the DiT's modulated
// LayerNorm on the GPU (contracts in cuda/norm.h). Row norms run one block
// per row: the row is staged in shared memory when it fits, the statistics
// are double sums over a fixed shuffle tree, the outputs float.
#include <cuda_bf16.h>
#include <math.h>

#include "cuda/block_reduce.cuh"
#include "cuda/cuda_internal.h"
#include "cuda/element.cuh"
#include "cuda/grid.cuh"
#include "cuda/norm.h"

extern "C" {
#include "internal.h"
}

namespace {

// floats: with block_sum's few static bytes, within the 48 KiB a block may
// take without opting in
constexpr int64_t kMaxCachedRow = 12032;

// The row the passes read: a copy in shared memory when CACHED (loaded
// with float4 when aligned), else x itself.
template <bool CACHED>
__device__ const float *stage_row(const float *x, int64_t dim, float *cache) {
    if (!CACHED) return x;
    if (((uintptr_t)x & 15u) == 0 && dim % 4 == 0) {
        for (int64_t k = threadIdx.x; k < dim / 4; k += blockDim.x)
            reinterpret_cast<float4 *>(cache)[k] = reinterpret_cast<const float4 *>(x)[k];
    } else {
        for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) cache[i] = x[i];
    }
    __syncthreads();
    return cache;
}

// Mean and centred sum of squares of a row, both in double (two passes).
__device__ void row_moments(const float *r, int64_t dim, double *mean, double *centred) {
    double s = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) s += r[i];
    const double m = block_sum(s) / (double)dim;
    double ss = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        const double d = (double)r[i] - m;
        ss += d * d;
    }
    *mean = m;
    *centred = block_sum(ss);
}

template <bool CACHED>
__global__ void layer_norm_kernel(float *y, const float *x, int64_t rows, int64_t dim, const float *w,
                                  const float *b, float eps) {
    extern __shared__ float cache[];
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *xr = stage_row<CACHED>(x + r * dim, dim, cache);
        double mean, centred;
        row_moments(xr, dim, &mean, &centred);
        const float m = (float)mean, rstd = (float)(1.0 / sqrt(centred / (double)dim + eps));
        float *yr = y + r * dim;
        for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
            const float v = (xr[i] - m) * rstd;
            yr[i] = (w ? v * w[i] : v) + (b ? b[i] : 0.0f);
        }
        if (CACHED) __syncthreads(); // the cache is refilled for the next row
    }
}

// The oracle's order: normalise, round to float, then scale.
template <bool CACHED>
__global__ void rms_norm_kernel(float *y, const float *x, int64_t rows, int64_t dim, const float *w, float eps) {
    extern __shared__ float cache[];
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *xr = stage_row<CACHED>(x + r * dim, dim, cache);
        double ss = 0;
        for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss += (double)xr[i] * xr[i];
        const double scale = 1.0 / sqrt(block_sum(ss) / (double)dim + eps);
        float *yr = y + r * dim;
        for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
            const float v = (float)(xr[i] * scale);
            yr[i] = w ? v * w[i] : v;
        }
        if (CACHED) __syncthreads();
    }
}

// dit.c modulate_rows: float mean and rstd from double sums, then the CPU's
// float operations one rounding at a time.
template <bool CACHED, typename Y>
__global__ void layer_norm_modulate_kernel(Y *y, const float *x, int64_t rows, int64_t dim, int64_t rows_per_batch,
                                           const float *shift, const float *scale, int64_t mod_stride, float eps) {
    extern __shared__ float cache[];
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *xr = stage_row<CACHED>(x + r * dim, dim, cache);
        double s = 0;
        for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) s += xr[i];
        const float mean = __fdiv_rn((float)block_sum(s), (float)dim);
        double ss = 0;
        for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
            const float d = __fsub_rn(xr[i], mean);
            ss += __fmul_rn(d, d);
        }
        const float rstd = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(__fdiv_rn((float)block_sum(ss), (float)dim), eps)));
        const int64_t bi = r / rows_per_batch;
        const float *sh = shift + bi * mod_stride, *sc = scale + bi * mod_stride;
        Y *yr = y + r * dim;
        for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
            const float v = __fmul_rn(__fmul_rn(__fsub_rn(xr[i], mean), rstd), __fadd_rn(1.0f, sc[i]));
            store(yr, i, __fadd_rn(v, sh[i]));
        }
        if (CACHED) __syncthreads();
    }
}

// Group norm, pass 1: sum and sum of squares of every (batch, channel) run.
__global__ void channel_sums_kernel(double *stats, const float *x, int64_t xs0, int64_t xs1, int64_t batch,
                                    int64_t channels, int64_t spatial) {
    for (int64_t bc = blockIdx.x; bc < batch * channels; bc += gridDim.x) {
        const float *run = x + bc / channels * xs0 + bc % channels * xs1;
        double s = 0, ss = 0;
        for (int64_t i = threadIdx.x; i < spatial; i += blockDim.x) {
            const double v = run[i];
            s += v;
            ss += v * v;
        }
        s = block_sum(s);
        ss = block_sum(ss);
        if (threadIdx.x == 0) {
            stats[2 * bc] = s;
            stats[2 * bc + 1] = ss;
        }
    }
}

// Pass 2: each block normalises a chunk of one run, its group's moments
// gathered from the channel sums (a few broadcast loads per thread).
constexpr int64_t kGroupChunk = 4096;

__global__ void group_apply_kernel(float *y, int64_t ys0, int64_t ys1, const float *x, int64_t xs0, int64_t xs1,
                                   const double *stats, int64_t batch, int64_t channels, int64_t spatial,
                                   int64_t groups, const float *w, const float *b, float eps) {
    const int64_t per_group = channels / groups, chunks = (spatial + kGroupChunk - 1) / kGroupChunk;
    for (int64_t task = blockIdx.x; task < batch * channels * chunks; task += gridDim.x) {
        const int64_t bc = task / chunks, n = bc / channels, c = bc % channels, c0 = c / per_group * per_group;
        double s = 0, ss = 0;
        for (int64_t k = c0; k < c0 + per_group; k++) {
            s += stats[2 * (n * channels + k)];
            ss += stats[2 * (n * channels + k) + 1];
        }
        const double count = (double)(per_group * spatial), mean = s / count;
        const double var = fmax(ss / count - mean * mean, 0.0);
        const float m = (float)mean, rstd = (float)(1.0 / sqrt(var + eps));
        const float wc = w ? w[c] : 1.0f, bcoef = b ? b[c] : 0.0f;
        const float *xr = x + n * xs0 + c * xs1;
        float *yr = y + n * ys0 + c * ys1;
        const int64_t begin = task % chunks * kGroupChunk,
                      end = begin + kGroupChunk < spatial ? begin + kGroupChunk : spatial;
        for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) yr[i] = (xr[i] - m) * rstd * wc + bcoef;
    }
}

orr_status check_rows(const char *op, int64_t rows, int64_t dim) {
    if (rows < 0 || dim < 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda %s: rows %lld, dim %lld: a size is negative", op, (long long)rows,
                         (long long)dim);
    return ORR_OK;
}

size_t cache_bytes(int64_t dim) { return dim <= kMaxCachedRow ? (size_t)dim * sizeof(float) : 0; }

template <typename Y>
void launch_layer_norm_modulate(Y *y, const float *x, int64_t rows, int64_t dim, int64_t rows_per_batch,
                                const float *shift, const float *scale, int64_t mod_stride, float eps,
                                cudaStream_t stream) {
    const size_t smem = cache_bytes(dim);
    const int grid = grid_for(rows, 1);
    if (smem)
        layer_norm_modulate_kernel<true><<<grid, kThreads, smem, stream>>>(y, x, rows, dim, rows_per_batch, shift,
                                                                           scale, mod_stride, eps);
    else
        layer_norm_modulate_kernel<false><<<grid, kThreads, 0, stream>>>(y, x, rows, dim, rows_per_batch, shift,
                                                                         scale, mod_stride, eps);
}

} // namespace

extern "C" {

orr_status orr_cuda_group_norm(float *y, const int64_t *y_stride, const float *x, const int64_t *x_stride,
                               int64_t batch, int64_t channels, int64_t spatial, int64_t groups, const float *w,
                               const float *b, float eps, cudaStream_t stream) {
    if (batch < 0 || channels < 0 || spatial < 0 || groups < 1 || channels % groups != 0)
        return orr_error(ORR_ERR_ARGUMENT,
                         "cuda group_norm: batch %lld, channels %lld, spatial %lld, groups %lld (groups must be "
                         "positive and divide channels)",
                         (long long)batch, (long long)channels, (long long)spatial, (long long)groups);
    if (batch == 0 || channels == 0 || spatial == 0) return ORR_OK;
    const size_t bytes = (size_t)(2 * batch * channels) * sizeof(double);
    void *stats;
    orr_status st = orr_cuda_scratch_alloc(bytes, &stats);
    if (st) return orr_error_context(st, "cuda group_norm: ");
    channel_sums_kernel<<<grid_for(batch * channels, 1), kThreads, 0, stream>>>(
        (double *)stats, x, x_stride[0], x_stride[1], batch, channels, spatial);
    st = orr_cuda_check_launch("group_norm");
    if (!st) {
        const int64_t tasks = batch * channels * ((spatial + kGroupChunk - 1) / kGroupChunk);
        group_apply_kernel<<<grid_for(tasks, 1), kThreads, 0, stream>>>(
            y, y_stride[0], y_stride[1], x, x_stride[0], x_stride[1], (const double *)stats, batch, channels,
            spatial, groups, w, b, eps);
        st = orr_cuda_check_launch("group_norm");
    }
    orr_cuda_scratch_free(stats, bytes);
    return st;
}

orr_status orr_cuda_layer_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, const float *b,
                               float eps, cudaStream_t stream) {
    orr_status st = check_rows("layer_norm", rows, dim);
    if (st || rows == 0 || dim == 0) return st;
    const size_t smem = cache_bytes(dim);
    if (smem)
        layer_norm_kernel<true><<<grid_for(rows, 1), kThreads, smem, stream>>>(y, x, rows, dim, w, b, eps);
    else
        layer_norm_kernel<false><<<grid_for(rows, 1), kThreads, 0, stream>>>(y, x, rows, dim, w, b, eps);
    return orr_cuda_check_launch("layer_norm");
}

orr_status orr_cuda_rms_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, float eps,
                             cudaStream_t stream) {
    orr_status st = check_rows("rms_norm", rows, dim);
    if (st || rows == 0 || dim == 0) return st;
    const size_t smem = cache_bytes(dim);
    if (smem)
        rms_norm_kernel<true><<<grid_for(rows, 1), kThreads, smem, stream>>>(y, x, rows, dim, w, eps);
    else
        rms_norm_kernel<false><<<grid_for(rows, 1), kThreads, 0, stream>>>(y, x, rows, dim, w, eps);
    return orr_cuda_check_launch("rms_norm");
}

orr_status orr_cuda_layer_norm_modulate(void *y, orr_dtype y_dtype, const float *x, int64_t rows, int64_t dim,
                                        int64_t rows_per_batch, const float *shift, const float *scale,
                                        int64_t mod_stride, float eps, cudaStream_t stream) {
    orr_status st = check_rows("layer_norm_modulate", rows, dim);
    if (st) return st;
    if (rows_per_batch < 1 || mod_stride < 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda layer_norm_modulate: rows_per_batch %lld, mod_stride %lld",
                         (long long)rows_per_batch, (long long)mod_stride);
    if (y_dtype != ORR_F32 && y_dtype != ORR_BF16)
        return orr_error(ORR_ERR_DTYPE, "cuda layer_norm_modulate: y is %s, not f32 or bf16",
                         orr_dtype_name(y_dtype));
    if (rows == 0 || dim == 0) return ORR_OK;
    if (y_dtype == ORR_F32)
        launch_layer_norm_modulate((float *)y, x, rows, dim, rows_per_batch, shift, scale, mod_stride, eps, stream);
    else
        launch_layer_norm_modulate((__nv_bfloat16 *)y, x, rows, dim, rows_per_batch, shift, scale, mod_stride, eps,
                                   stream);
    return orr_cuda_check_launch("layer_norm_modulate");
}

} // extern "C"
