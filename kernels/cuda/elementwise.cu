// cuda/elementwise.cu — maps, broadcasting binaries, reductions, softmax,
// padding and the DiT's gated residual on the GPU (contracts in
// cuda/elementwise.h). Flat maps run grid-stride loops over float4 when
// every pointer is 16-byte aligned; reductions run one block per row (or
// one thread per column when the reduced axis is strided) with a fixed
// shuffle tree, so results do not change from run to run.
#include <cuda_bf16.h>
#include <math.h>

#include "cuda/block_reduce.cuh"
#include "cuda/cuda_internal.h"
#include "cuda/element.cuh"
#include "cuda/elementwise.h"
#include "cuda/grid.cuh"

extern "C" {
#include "internal.h"
}

namespace {

bool aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

// ---- binary -----------------------------------------------------------------

template <orr_binary_op OP>
__device__ __forceinline__ float binary_apply(float x, float y) {
    switch (OP) {
    case ORR_ADD: return x + y;
    case ORR_SUB: return x - y;
    case ORR_MUL: return x * y;
    case ORR_DIV: return x / y;
    case ORR_MAX: return (x != x || x > y) ? x : y;
    case ORR_MIN: return (x != x || x < y) ? x : y;
    }
    return NAN;
}

// Both operands contiguous over n elements (after dim merging).
template <orr_binary_op OP>
__global__ void binary_flat(float *out, const float *a, const float *b, int64_t n, bool vec4) {
    int64_t i = thread_index();
    if (vec4) {
        const int64_t n4 = n / 4;
        for (int64_t k = i; k < n4; k += thread_count()) {
            float4 x = reinterpret_cast<const float4 *>(a)[k], y = reinterpret_cast<const float4 *>(b)[k];
            reinterpret_cast<float4 *>(out)[k] = make_float4(binary_apply<OP>(x.x, y.x), binary_apply<OP>(x.y, y.y),
                                                             binary_apply<OP>(x.z, y.z), binary_apply<OP>(x.w, y.w));
        }
        i += n4 * 4;
    }
    for (; i < n; i += thread_count()) out[i] = binary_apply<OP>(a[i], b[i]);
}

struct dims {
    int ndim;
    int64_t shape[ORR_MAX_DIMS], a_stride[ORR_MAX_DIMS], b_stride[ORR_MAX_DIMS];
};

// I is uint32_t when every index and offset fits, which makes the
// div/mod of the index decomposition much cheaper.
template <orr_binary_op OP, typename I>
__global__ void binary_strided(float *out, const float *a, const float *b, int64_t total, dims d) {
    for (int64_t i = thread_index(); i < total; i += thread_count()) {
        I rest = (I)i, ia = 0, ib = 0;
        for (int k = d.ndim - 1; k >= 0; k--) {
            const I size = (I)d.shape[k], idx = rest % size;
            rest /= size;
            ia += idx * (I)d.a_stride[k];
            ib += idx * (I)d.b_stride[k];
        }
        out[i] = binary_apply<OP>(a[ia], b[ib]);
    }
}

// Drops dims of size 1 and merges neighbours that are contiguous in both
// operands, so that a same-shape add becomes one flat run.
dims merge_dims(int ndim, const int64_t *shape, const int64_t *as, const int64_t *bs) {
    dims d = {};
    for (int k = 0; k < ndim; k++) {
        if (shape[k] == 1) continue;
        if (d.ndim > 0) {
            const int j = d.ndim - 1;
            if (d.a_stride[j] == as[k] * shape[k] && d.b_stride[j] == bs[k] * shape[k]) {
                d.shape[j] *= shape[k];
                d.a_stride[j] = as[k];
                d.b_stride[j] = bs[k];
                continue;
            }
        }
        d.shape[d.ndim] = shape[k];
        d.a_stride[d.ndim] = as[k];
        d.b_stride[d.ndim] = bs[k];
        d.ndim++;
    }
    return d;
}

// The largest element offset an operand reaches (strides may be 0, never
// negative: the contract's strides index forward).
int64_t max_offset(const dims &d, const int64_t *stride) {
    int64_t m = 0;
    for (int k = 0; k < d.ndim; k++) m += (d.shape[k] - 1) * stride[k];
    return m;
}

template <orr_binary_op OP>
void launch_binary(float *out, const float *a, const float *b, int64_t total, const dims &d, cudaStream_t stream) {
    const int grid = grid_for(total);
    if (d.ndim == 0 || (d.ndim == 1 && d.a_stride[0] == 1 && d.b_stride[0] == 1)) {
        const bool vec4 = aligned16(out) && aligned16(a) && aligned16(b);
        binary_flat<OP><<<grid_for(vec4 ? total / 4 : total), kThreads, 0, stream>>>(out, a, b, total, vec4);
        return;
    }
    const int64_t reach = total > max_offset(d, d.a_stride) ? total : max_offset(d, d.a_stride);
    if (reach < INT32_MAX && max_offset(d, d.b_stride) < INT32_MAX)
        binary_strided<OP, uint32_t><<<grid, kThreads, 0, stream>>>(out, a, b, total, d);
    else
        binary_strided<OP, int64_t><<<grid, kThreads, 0, stream>>>(out, a, b, total, d);
}

// ---- unary ------------------------------------------------------------------

// The oracle's PyTorch definitions, in float.
template <orr_unary_op OP>
__device__ __forceinline__ float unary_apply(float x) {
    switch (OP) {
    case ORR_IDENTITY: return x;
    case ORR_NEG: return -x;
    case ORR_ABS: return fabsf(x);
    case ORR_EXP: return expf(x);
    case ORR_LOG: return logf(x);
    case ORR_SQRT: return sqrtf(x);
    case ORR_RSQRT: return 1.0f / sqrtf(x);
    case ORR_TANH: return tanhf(x);
    case ORR_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case ORR_SILU: return x / (1.0f + expf(-x));
    case ORR_GELU_TANH: {
        const float beta = 0.7978845608028654f; // sqrt(2/pi)
        const float kappa = 0.044715f;
        return 0.5f * x * (1.0f + tanhf(beta * (x + kappa * x * x * x)));
    }
    case ORR_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case ORR_RELU: return x < 0.0f ? 0.0f : x; // keeps NaN, as torch.relu
    case ORR_SIN: return sinf(x);
    case ORR_COS: return cosf(x);
    }
    return NAN;
}

template <orr_unary_op OP>
__global__ void unary_f32(float *out, const float *a, int64_t n, bool vec4) {
    int64_t i = thread_index();
    if (vec4) {
        const int64_t n4 = n / 4;
        for (int64_t k = i; k < n4; k += thread_count()) {
            float4 x = reinterpret_cast<const float4 *>(a)[k];
            reinterpret_cast<float4 *>(out)[k] =
                make_float4(unary_apply<OP>(x.x), unary_apply<OP>(x.y), unary_apply<OP>(x.z), unary_apply<OP>(x.w));
        }
        i += n4 * 4;
    }
    for (; i < n; i += thread_count()) out[i] = unary_apply<OP>(a[i]);
}

// bf16 pairs: four elements (8 bytes) per step when aligned.
template <orr_unary_op OP>
__global__ void unary_bf16(__nv_bfloat16 *out, const __nv_bfloat16 *a, int64_t n, bool vec4) {
    int64_t i = thread_index();
    if (vec4) {
        const int64_t n4 = n / 4;
        for (int64_t k = i; k < n4; k += thread_count()) {
            const __nv_bfloat162 *src = reinterpret_cast<const __nv_bfloat162 *>(a) + 2 * k;
            __nv_bfloat162 *dst = reinterpret_cast<__nv_bfloat162 *>(out) + 2 * k;
            for (int h = 0; h < 2; h++) {
                const float2 x = __bfloat1622float2(src[h]);
                dst[h] = __floats2bfloat162_rn(unary_apply<OP>(x.x), unary_apply<OP>(x.y));
            }
        }
        i += n4 * 4;
    }
    for (; i < n; i += thread_count()) out[i] = __float2bfloat16_rn(unary_apply<OP>(__bfloat162float(a[i])));
}

template <orr_unary_op OP>
void launch_unary(void *out, const void *a, int64_t n, bool bf16, cudaStream_t stream) {
    if (bf16) {
        const bool vec4 = ((uintptr_t)out & 7u) == 0 && ((uintptr_t)a & 7u) == 0;
        unary_bf16<OP><<<grid_for(vec4 ? n / 4 : n), kThreads, 0, stream>>>(
            (__nv_bfloat16 *)out, (const __nv_bfloat16 *)a, n, vec4);
    } else {
        const bool vec4 = aligned16(out) && aligned16(a);
        unary_f32<OP><<<grid_for(vec4 ? n / 4 : n), kThreads, 0, stream>>>((float *)out, (const float *)a, n, vec4);
    }
}

orr_status unary_dispatch(const char *op_name, void *out, const void *a, int64_t n, orr_unary_op op, bool bf16,
                          cudaStream_t stream) {
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda %s: n = %lld is negative", op_name, (long long)n);
    if (n == 0) return ORR_OK;
    switch (op) {
    case ORR_IDENTITY: launch_unary<ORR_IDENTITY>(out, a, n, bf16, stream); break;
    case ORR_NEG: launch_unary<ORR_NEG>(out, a, n, bf16, stream); break;
    case ORR_ABS: launch_unary<ORR_ABS>(out, a, n, bf16, stream); break;
    case ORR_EXP: launch_unary<ORR_EXP>(out, a, n, bf16, stream); break;
    case ORR_LOG: launch_unary<ORR_LOG>(out, a, n, bf16, stream); break;
    case ORR_SQRT: launch_unary<ORR_SQRT>(out, a, n, bf16, stream); break;
    case ORR_RSQRT: launch_unary<ORR_RSQRT>(out, a, n, bf16, stream); break;
    case ORR_TANH: launch_unary<ORR_TANH>(out, a, n, bf16, stream); break;
    case ORR_SIGMOID: launch_unary<ORR_SIGMOID>(out, a, n, bf16, stream); break;
    case ORR_SILU: launch_unary<ORR_SILU>(out, a, n, bf16, stream); break;
    case ORR_GELU_TANH: launch_unary<ORR_GELU_TANH>(out, a, n, bf16, stream); break;
    case ORR_GELU_ERF: launch_unary<ORR_GELU_ERF>(out, a, n, bf16, stream); break;
    case ORR_RELU: launch_unary<ORR_RELU>(out, a, n, bf16, stream); break;
    case ORR_SIN: launch_unary<ORR_SIN>(out, a, n, bf16, stream); break;
    case ORR_COS: launch_unary<ORR_COS>(out, a, n, bf16, stream); break;
    default: return orr_error(ORR_ERR_ARGUMENT, "cuda %s: unknown op %d", op_name, (int)op);
    }
    return orr_cuda_check_launch(op_name);
}

// ---- affine -----------------------------------------------------------------

__global__ void affine_kernel(float *out, const float *a, int64_t n, float scale, float shift, bool vec4) {
    int64_t i = thread_index();
    if (vec4) {
        const int64_t n4 = n / 4;
        for (int64_t k = i; k < n4; k += thread_count()) {
            float4 x = reinterpret_cast<const float4 *>(a)[k];
            reinterpret_cast<float4 *>(out)[k] =
                make_float4(__fadd_rn(__fmul_rn(x.x, scale), shift), __fadd_rn(__fmul_rn(x.y, scale), shift),
                            __fadd_rn(__fmul_rn(x.z, scale), shift), __fadd_rn(__fmul_rn(x.w, scale), shift));
        }
        i += n4 * 4;
    }
    for (; i < n; i += thread_count()) out[i] = __fadd_rn(__fmul_rn(a[i], scale), shift);
}

// ---- reductions -------------------------------------------------------------

// The oracle's combine rules in double: NaN wins max/min wherever it sits.
template <orr_reduce_op OP>
struct reducer {
    static __device__ __forceinline__ double identity() {
        return OP == ORR_AMAX ? -INFINITY : OP == ORR_AMIN ? INFINITY : 0.0;
    }
    __device__ __forceinline__ double operator()(double m, double x) const {
        if (OP == ORR_AMAX) return (x != x || x > m) ? x : m;
        if (OP == ORR_AMIN) return (x != x || x < m) ? x : m;
        return m + x;
    }
    static __device__ __forceinline__ double finish(double v, int64_t n) {
        return OP == ORR_MEAN ? v / (double)n : v;
    }
};

// inner == 1: one block per row.
template <orr_reduce_op OP>
__global__ void reduce_rows(float *out, const float *a, int64_t rows, int64_t n) {
    const reducer<OP> combine;
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *x = a + r * n;
        double v = reducer<OP>::identity();
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) v = combine(v, (double)x[i]);
        v = block_allreduce(v, reducer<OP>::identity(), combine);
        if (threadIdx.x == 0) out[r] = (float)reducer<OP>::finish(v, n);
    }
}

// inner > 1: blocks of 32 columns x 8 slices of the reduced axis; the
// columns keep the loads coalesced.
constexpr int kColumns = 32, kSlices = 8;

template <orr_reduce_op OP>
__global__ void reduce_columns(float *out, const float *a, int64_t outer, int64_t n, int64_t inner) {
    __shared__ double part[kSlices][kColumns];
    const reducer<OP> combine;
    const int64_t tiles = (inner + kColumns - 1) / kColumns;
    for (int64_t task = blockIdx.x; task < outer * tiles; task += gridDim.x) {
        const int64_t o = task / tiles, j = task % tiles * kColumns + threadIdx.x;
        double v = reducer<OP>::identity();
        if (j < inner)
            for (int64_t i = threadIdx.y; i < n; i += kSlices) v = combine(v, (double)a[(o * n + i) * inner + j]);
        part[threadIdx.y][threadIdx.x] = v;
        __syncthreads();
        if (threadIdx.y == 0 && j < inner) {
            for (int s = 1; s < kSlices; s++) v = combine(v, part[s][threadIdx.x]);
            out[o * inner + j] = (float)reducer<OP>::finish(v, n);
        }
        __syncthreads();
    }
}

template <orr_reduce_op OP>
void launch_reduce(float *out, const float *a, int64_t outer, int64_t n, int64_t inner, cudaStream_t stream) {
    if (inner == 1) {
        reduce_rows<OP><<<grid_for(outer, 1), kThreads, 0, stream>>>(out, a, outer, n);
    } else {
        const int64_t tasks = outer * ((inner + kColumns - 1) / kColumns);
        reduce_columns<OP><<<grid_for(tasks, 1), dim3(kColumns, kSlices), 0, stream>>>(out, a, outer, n, inner);
    }
}

// reduce_all: block b of `blocks` reduces the chunk [b*chunk, (b+1)*chunk)
// (chunk a multiple of 4, so float4 loads stay aligned when a is).
constexpr int kPartials = 1024;

template <orr_reduce_op OP>
__global__ void reduce_all_partials(double *partial, const float *a, int64_t n, int64_t chunk, bool vec4) {
    const reducer<OP> combine;
    const int64_t begin = blockIdx.x * chunk, end = begin + chunk < n ? begin + chunk : n;
    double v = reducer<OP>::identity();
    int64_t i = begin + threadIdx.x;
    if (vec4) {
        const int64_t end4 = begin + (end - begin) / 4 * 4;
        for (int64_t k = begin + 4 * threadIdx.x; k < end4; k += 4 * blockDim.x) {
            const float4 x = *reinterpret_cast<const float4 *>(a + k);
            v = combine(combine(combine(combine(v, (double)x.x), (double)x.y), (double)x.z), (double)x.w);
        }
        i = end4 + threadIdx.x;
    }
    for (; i < end; i += blockDim.x) v = combine(v, (double)a[i]);
    v = block_allreduce(v, reducer<OP>::identity(), combine);
    if (threadIdx.x == 0) partial[blockIdx.x] = v;
}

template <orr_reduce_op OP>
__global__ void reduce_all_finish(double *out, const double *partial, int blocks, int64_t n) {
    const reducer<OP> combine;
    double v = reducer<OP>::identity();
    for (int i = threadIdx.x; i < blocks; i += blockDim.x) v = combine(v, partial[i]);
    v = block_allreduce(v, reducer<OP>::identity(), combine);
    if (threadIdx.x == 0) *out = reducer<OP>::finish(v, n);
}

template <orr_reduce_op OP>
void launch_reduce_all(double *out, double *partial, const float *a, int64_t n, int blocks, int64_t chunk,
                       cudaStream_t stream) {
    if (blocks > 0)
        reduce_all_partials<OP><<<blocks, kThreads, 0, stream>>>(partial, a, n, chunk, aligned16(a));
    reduce_all_finish<OP><<<1, kPartials, 0, stream>>>(out, partial, blocks, n);
}

__global__ void count_nonfinite_kernel(unsigned long long *out, const float *a, int64_t n) {
    unsigned long long count = 0;
    for (int64_t i = thread_index(); i < n; i += thread_count()) count += !isfinite(a[i]);
    count = block_allreduce(count, 0ull, [](unsigned long long x, unsigned long long y) { return x + y; });
    if (threadIdx.x == 0 && count) atomicAdd(out, count);
}

// ---- softmax ----------------------------------------------------------------

// The oracle's max skips NaN (x > m is false for it); NaN then reaches the
// row through its exp.
__device__ __forceinline__ float max_skip_nan(float m, float x) { return x > m ? x : m; }

__global__ void softmax_rows(float *out, const float *a, int64_t rows, int64_t n) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *x = a + r * n;
        float *y = out + r * n;
        float m = -INFINITY;
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = max_skip_nan(m, x[i]);
        m = block_allreduce(m, -INFINITY, [](float p, float q) { return max_skip_nan(p, q); });
        double s = 0;
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += expf(x[i] - m);
        s = block_sum(s);
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) y[i] = (float)((double)expf(x[i] - m) / s);
    }
}

__global__ void softmax_columns(float *out, const float *a, int64_t outer, int64_t n, int64_t inner) {
    for (int64_t c = thread_index(); c < outer * inner; c += thread_count()) {
        const int64_t o = c / inner, j = c % inner;
        const float *x = a + o * n * inner + j;
        float *y = out + o * n * inner + j;
        float m = -INFINITY;
        for (int64_t i = 0; i < n; i++) m = max_skip_nan(m, x[i * inner]);
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += expf(x[i * inner] - m);
        for (int64_t i = 0; i < n; i++) y[i * inner] = (float)((double)expf(x[i * inner] - m) / s);
    }
}

// ---- pad --------------------------------------------------------------------

struct pad_dims {
    int ndim;
    int64_t in_shape[ORR_MAX_DIMS], out_shape[ORR_MAX_DIMS], before[ORR_MAX_DIMS];
};

__device__ __forceinline__ int64_t pad_source(int64_t o, int64_t n, int64_t before, orr_pad_mode mode) {
    const int64_t i = o - before;
    if (i >= 0 && i < n) return i;
    if (mode == ORR_PAD_REPLICATE) return i < 0 ? 0 : n - 1;
    if (mode == ORR_PAD_REFLECT) return i < 0 ? -i : 2 * (n - 1) - i;
    return -1;
}

__global__ void pad_kernel(float *out, const float *in, int64_t total, pad_dims d, orr_pad_mode mode, float value) {
    for (int64_t o = thread_index(); o < total; o += thread_count()) {
        int64_t rest = o, src = 0, step = 1;
        for (int k = d.ndim - 1; k >= 0 && src >= 0; k--) {
            const int64_t i = pad_source(rest % d.out_shape[k], d.in_shape[k], d.before[k], mode);
            rest /= d.out_shape[k];
            src = i < 0 ? -1 : src + i * step;
            step *= d.in_shape[k];
        }
        out[o] = src < 0 ? value : in[src];
    }
}

// ---- gated residual ---------------------------------------------------------

template <typename Y>
__global__ void gated_residual_kernel(float *x, const Y *y, const float *gate, int64_t rows, int64_t dim,
                                      int64_t rows_per_batch, int64_t gate_stride) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *g = gate + r / rows_per_batch * gate_stride;
        float *xr = x + r * dim;
        const Y *yr = y + r * dim;
        for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
            xr[i] = __fadd_rn(xr[i], __fmul_rn(g[i], load(yr, i)));
    }
}

} // namespace

extern "C" {

orr_status orr_cuda_binary(float *out, const float *a, const int64_t *a_stride, const float *b,
                           const int64_t *b_stride, int ndim, const int64_t *shape, orr_binary_op op,
                           cudaStream_t stream) {
    if (ndim < 0 || ndim > ORR_MAX_DIMS)
        return orr_error(ORR_ERR_ARGUMENT, "cuda binary: ndim = %d is outside [0, %d]", ndim, (int)ORR_MAX_DIMS);
    int64_t total = 1;
    for (int k = 0; k < ndim; k++) {
        if (shape[k] < 0)
            return orr_error(ORR_ERR_ARGUMENT, "cuda binary: shape[%d] = %lld is negative", k, (long long)shape[k]);
        if (a_stride[k] < 0 || b_stride[k] < 0)
            return orr_error(ORR_ERR_ARGUMENT, "cuda binary: dim %d has a negative stride (a %lld, b %lld)", k,
                             (long long)a_stride[k], (long long)b_stride[k]);
        total *= shape[k];
    }
    if (total == 0) return ORR_OK;
    const dims d = merge_dims(ndim, shape, a_stride, b_stride);
    switch (op) {
    case ORR_ADD: launch_binary<ORR_ADD>(out, a, b, total, d, stream); break;
    case ORR_SUB: launch_binary<ORR_SUB>(out, a, b, total, d, stream); break;
    case ORR_MUL: launch_binary<ORR_MUL>(out, a, b, total, d, stream); break;
    case ORR_DIV: launch_binary<ORR_DIV>(out, a, b, total, d, stream); break;
    case ORR_MAX: launch_binary<ORR_MAX>(out, a, b, total, d, stream); break;
    case ORR_MIN: launch_binary<ORR_MIN>(out, a, b, total, d, stream); break;
    default: return orr_error(ORR_ERR_ARGUMENT, "cuda binary: unknown op %d", (int)op);
    }
    return orr_cuda_check_launch("binary");
}

orr_status orr_cuda_unary(float *out, const float *a, int64_t n, orr_unary_op op, cudaStream_t stream) {
    return unary_dispatch("unary", out, a, n, op, false, stream);
}

orr_status orr_cuda_unary_bf16(uint16_t *out, const uint16_t *a, int64_t n, orr_unary_op op, cudaStream_t stream) {
    return unary_dispatch("unary_bf16", out, a, n, op, true, stream);
}

orr_status orr_cuda_affine(float *out, const float *a, int64_t n, float scale, float shift, cudaStream_t stream) {
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda affine: n = %lld is negative", (long long)n);
    if (n == 0) return ORR_OK;
    const bool vec4 = aligned16(out) && aligned16(a);
    affine_kernel<<<grid_for(vec4 ? n / 4 : n), kThreads, 0, stream>>>(out, a, n, scale, shift, vec4);
    return orr_cuda_check_launch("affine");
}

orr_status orr_cuda_reduce(float *out, const float *a, int64_t outer, int64_t n, int64_t inner, orr_reduce_op op,
                           cudaStream_t stream) {
    if (outer < 0 || n < 0 || inner < 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda reduce: sizes [%lld, %lld, %lld] include a negative one",
                         (long long)outer, (long long)n, (long long)inner);
    if (n == 0 && (op == ORR_AMAX || op == ORR_AMIN))
        return orr_error(ORR_ERR_ARGUMENT, "cuda reduce: max/min over an empty axis");
    if (outer == 0 || inner == 0) return ORR_OK;
    switch (op) {
    case ORR_SUM: launch_reduce<ORR_SUM>(out, a, outer, n, inner, stream); break;
    case ORR_MEAN: launch_reduce<ORR_MEAN>(out, a, outer, n, inner, stream); break;
    case ORR_AMAX: launch_reduce<ORR_AMAX>(out, a, outer, n, inner, stream); break;
    case ORR_AMIN: launch_reduce<ORR_AMIN>(out, a, outer, n, inner, stream); break;
    default: return orr_error(ORR_ERR_ARGUMENT, "cuda reduce: unknown op %d", (int)op);
    }
    return orr_cuda_check_launch("reduce");
}

orr_status orr_cuda_reduce_all(double *out, const float *a, int64_t n, orr_reduce_op op, cudaStream_t stream) {
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda reduce_all: n = %lld is negative", (long long)n);
    if (n == 0 && (op == ORR_AMAX || op == ORR_AMIN))
        return orr_error(ORR_ERR_ARGUMENT, "cuda reduce_all: max/min of no elements");
    if (op < ORR_SUM || op > ORR_AMIN) return orr_error(ORR_ERR_ARGUMENT, "cuda reduce_all: unknown op %d", (int)op);
    // at least 16 float4 per thread before another block is worth it
    int64_t blocks = (n + kThreads * 64 - 1) / (kThreads * 64);
    if (blocks > kPartials) blocks = kPartials;
    const int64_t chunk = blocks ? ((n + blocks - 1) / blocks + 3) / 4 * 4 : 0;
    if (blocks) blocks = (n + chunk - 1) / chunk;
    const size_t bytes = (size_t)(blocks ? blocks : 1) * sizeof(double);
    void *partial;
    orr_status st = orr_cuda_scratch_alloc(bytes, &partial);
    if (st) return orr_error_context(st, "cuda reduce_all: ");
    double *p = (double *)partial;
    switch (op) {
    case ORR_SUM: launch_reduce_all<ORR_SUM>(out, p, a, n, (int)blocks, chunk, stream); break;
    case ORR_MEAN: launch_reduce_all<ORR_MEAN>(out, p, a, n, (int)blocks, chunk, stream); break;
    case ORR_AMAX: launch_reduce_all<ORR_AMAX>(out, p, a, n, (int)blocks, chunk, stream); break;
    case ORR_AMIN: launch_reduce_all<ORR_AMIN>(out, p, a, n, (int)blocks, chunk, stream); break;
    }
    st = orr_cuda_check_launch("reduce_all");
    orr_cuda_scratch_free(partial, bytes);
    return st;
}

orr_status orr_cuda_count_nonfinite(int64_t *out, const float *a, int64_t n, cudaStream_t stream) {
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda count_nonfinite: n = %lld is negative", (long long)n);
    orr_status st = orr_cuda_check(cudaMemsetAsync(out, 0, sizeof *out, stream), "count_nonfinite", "clearing out");
    if (st || n == 0) return st;
    static_assert(sizeof(int64_t) == sizeof(unsigned long long), "the count is added as a 64-bit unsigned");
    count_nonfinite_kernel<<<grid_for(n), kThreads, 0, stream>>>((unsigned long long *)out, a, n);
    return orr_cuda_check_launch("count_nonfinite");
}

orr_status orr_cuda_softmax(float *out, const float *a, int64_t outer, int64_t n, int64_t inner,
                            cudaStream_t stream) {
    if (outer < 0 || n < 0 || inner < 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda softmax: sizes [%lld, %lld, %lld] include a negative one",
                         (long long)outer, (long long)n, (long long)inner);
    if (outer == 0 || n == 0 || inner == 0) return ORR_OK;
    if (inner == 1)
        softmax_rows<<<grid_for(outer, 1), kThreads, 0, stream>>>(out, a, outer, n);
    else
        softmax_columns<<<grid_for(outer * inner), kThreads, 0, stream>>>(out, a, outer, n, inner);
    return orr_cuda_check_launch("softmax");
}

orr_status orr_cuda_pad(float *out, const float *in, int ndim, const int64_t *in_shape, const int64_t *pads,
                        orr_pad_mode mode, float value, cudaStream_t stream) {
    if (ndim < 0 || ndim > ORR_MAX_DIMS)
        return orr_error(ORR_ERR_ARGUMENT, "cuda pad: ndim = %d is outside [0, %d]", ndim, (int)ORR_MAX_DIMS);
    if (mode != ORR_PAD_CONSTANT && mode != ORR_PAD_REPLICATE && mode != ORR_PAD_REFLECT)
        return orr_error(ORR_ERR_ARGUMENT, "cuda pad: unknown mode %d", (int)mode);
    pad_dims d = {};
    d.ndim = ndim;
    int64_t total = 1;
    for (int k = 0; k < ndim; k++) {
        const int64_t n = in_shape[k], size = n + pads[2 * k] + pads[2 * k + 1];
        if (n < 0 || size < 0)
            return orr_error(ORR_ERR_ARGUMENT, "cuda pad: dim %d of %lld padded by (%lld, %lld) has a negative size",
                             k, (long long)n, (long long)pads[2 * k], (long long)pads[2 * k + 1]);
        d.in_shape[k] = n;
        d.out_shape[k] = size;
        d.before[k] = pads[2 * k];
        total *= size;
    }
    for (int k = 0; k < ndim && total > 0; k++) {
        const int64_t n = in_shape[k];
        if (mode == ORR_PAD_REFLECT && (pads[2 * k] >= n || pads[2 * k + 1] >= n))
            return orr_error(ORR_ERR_ARGUMENT, "cuda pad: reflect pads (%lld, %lld) must be below dim %d's size %lld",
                             (long long)pads[2 * k], (long long)pads[2 * k + 1], k, (long long)n);
        if (mode == ORR_PAD_REPLICATE && n == 0)
            return orr_error(ORR_ERR_ARGUMENT, "cuda pad: replicate cannot fill from empty dim %d", k);
    }
    if (total == 0) return ORR_OK;
    pad_kernel<<<grid_for(total), kThreads, 0, stream>>>(out, in, total, d, mode, value);
    return orr_cuda_check_launch("pad");
}

orr_status orr_cuda_gated_residual(float *x, const void *y, orr_dtype y_dtype, const float *gate, int64_t rows,
                                   int64_t dim, int64_t rows_per_batch, int64_t gate_stride, cudaStream_t stream) {
    if (rows < 0 || dim < 0 || rows_per_batch < 1 || gate_stride < 0)
        return orr_error(ORR_ERR_ARGUMENT,
                         "cuda gated_residual: rows %lld, dim %lld, rows_per_batch %lld, gate_stride %lld",
                         (long long)rows, (long long)dim, (long long)rows_per_batch, (long long)gate_stride);
    if (y_dtype != ORR_F32 && y_dtype != ORR_BF16)
        return orr_error(ORR_ERR_DTYPE, "cuda gated_residual: y is %s, not f32 or bf16", orr_dtype_name(y_dtype));
    if (rows == 0 || dim == 0) return ORR_OK;
    const int grid = grid_for(rows, 1);
    if (y_dtype == ORR_F32)
        gated_residual_kernel<<<grid, kThreads, 0, stream>>>(x, (const float *)y, gate, rows, dim, rows_per_batch,
                                                             gate_stride);
    else
        gated_residual_kernel<<<grid, kThreads, 0, stream>>>(x, (const __nv_bfloat16 *)y, gate, rows, dim,
                                                             rows_per_batch, gate_stride);
    return orr_cuda_check_launch("gated_residual");
}

} // extern "C"
