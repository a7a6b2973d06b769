// cuda/rope.cu — rotary position embedding and the DiT's fused QK
// RMSNorm + RoPE on the GPU (contracts in cuda/rope.h). One thread per
// rotated pair for the general RoPE; one warp per head row for the fused
// kernel, which needs the row's mean square first.
#include <cuda_bf16.h>

#include "cuda/cuda_internal.h"
#include "cuda/element.cuh"
#include "cuda/grid.cuh"
#include "cuda/rope.h"

extern "C" {
#include "internal.h"
}

namespace {

struct row_layout {
    int ndim;
    int64_t shape[ORR_MAX_DIMS], cos_stride[ORR_MAX_DIMS], sin_stride[ORR_MAX_DIMS];
};

// The oracle's pair (p, q): out[p] = x[p]*c[p] + -x[q]*s[p], out[q] =
// x[q]*c[q] + x[p]*s[q], each operation rounded on its own.
__global__ void rope_kernel(float *out, const float *x, const float *cos, const float *sin, row_layout l,
                            int64_t rows, int64_t dim, bool interleaved) {
    const int64_t half = dim / 2;
    for (int64_t k = thread_index(); k < rows * half; k += thread_count()) {
        const int64_t r = k / half, i = k % half;
        int64_t rest = r, oc = 0, os = 0;
        for (int d = l.ndim - 1; d >= 0; d--) {
            const int64_t idx = rest % l.shape[d];
            rest /= l.shape[d];
            oc += idx * l.cos_stride[d];
            os += idx * l.sin_stride[d];
        }
        const int64_t p = interleaved ? 2 * i : i, q = interleaved ? 2 * i + 1 : i + half;
        const float *c = cos + oc, *s = sin + os;
        const float xp = x[r * dim + p], xq = x[r * dim + q];
        out[r * dim + p] = __fadd_rn(__fmul_rn(xp, c[p]), __fmul_rn(-xq, s[p]));
        out[r * dim + q] = __fadd_rn(__fmul_rn(xq, c[q]), __fmul_rn(xp, s[q]));
    }
}

// Warp w of the grid takes token-major row r = (b*seq + s)*heads + h.
template <typename X, typename Y>
__global__ void qk_norm_rope_kernel(Y *y, const X *x, int64_t batch, int64_t seq, int64_t heads, int64_t dh,
                                    const float *norm_w, float eps, const float *cos, const float *sin,
                                    bool head_major) {
    const int lane = threadIdx.x & 31;
    const int64_t rows = batch * seq * heads, half = dh / 2;
    const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
    for (int64_t r = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32; r < rows; r += warps) {
        const int64_t h = r % heads, s = r / heads % seq, b = r / heads / seq;
        const X *xr = x + r * dh;
        Y *yr = y + (head_major ? ((b * heads + h) * seq + s) * dh : r * dh);
        float rms = 1.0f;
        if (norm_w) {
            double ss = 0;
            for (int64_t i = lane; i < dh; i += 32) {
                const float v = load(xr, i);
                ss += __fmul_rn(v, v);
            }
            for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
            rms = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(__fdiv_rn((float)ss, (float)dh), eps)));
        }
        // x * rms * w as the CPU rounds it: (x*rms)*w
        auto normed = [&](int64_t i) {
            const float v = load(xr, i);
            return norm_w ? __fmul_rn(__fmul_rn(v, rms), norm_w[i]) : v;
        };
        if (!cos) {
            for (int64_t i = lane; i < dh; i += 32) store(yr, i, normed(i));
            continue;
        }
        const float *c = cos + s * half, *sn = sin + s * half;
        for (int64_t i = lane; i < half; i += 32) {
            const float lo = normed(i), hi = normed(i + half);
            store(yr, i, __fsub_rn(__fmul_rn(lo, c[i]), __fmul_rn(hi, sn[i])));
            store(yr, i + half, __fadd_rn(__fmul_rn(hi, c[i]), __fmul_rn(lo, sn[i])));
        }
    }
}

template <typename X, typename Y>
void launch_qk(void *y, const void *x, int64_t batch, int64_t seq, int64_t heads, int64_t dh, const float *norm_w,
               float eps, const float *cos, const float *sin, bool head_major, cudaStream_t stream) {
    const int64_t rows = batch * seq * heads;
    qk_norm_rope_kernel<X, Y><<<grid_for(rows, kThreads / 32), kThreads, 0, stream>>>(
        (Y *)y, (const X *)x, batch, seq, heads, dh, norm_w, eps, cos, sin, head_major);
}

bool float_or_bf16(orr_dtype d) { return d == ORR_F32 || d == ORR_BF16; }

} // namespace

extern "C" {

orr_status orr_cuda_rope(float *out, const float *x, const float *cos, const int64_t *cos_stride, const float *sin,
                         const int64_t *sin_stride, int row_ndim, const int64_t *row_shape, int64_t dim,
                         bool interleaved, cudaStream_t stream) {
    if (row_ndim < 0 || row_ndim > ORR_MAX_DIMS)
        return orr_error(ORR_ERR_ARGUMENT, "cuda rope: row_ndim = %d is outside [0, %d]", row_ndim,
                         (int)ORR_MAX_DIMS);
    if (dim < 0 || dim % 2 != 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda rope: dim = %lld must be even and not negative", (long long)dim);
    row_layout l = {};
    l.ndim = row_ndim;
    int64_t rows = 1;
    for (int d = 0; d < row_ndim; d++) {
        if (row_shape[d] < 0)
            return orr_error(ORR_ERR_ARGUMENT, "cuda rope: row_shape[%d] = %lld is negative", d,
                             (long long)row_shape[d]);
        l.shape[d] = row_shape[d];
        l.cos_stride[d] = cos_stride[d];
        l.sin_stride[d] = sin_stride[d];
        rows *= row_shape[d];
    }
    if (rows == 0 || dim == 0) return ORR_OK;
    rope_kernel<<<grid_for(rows * (dim / 2)), kThreads, 0, stream>>>(out, x, cos, sin, l, rows, dim, interleaved);
    return orr_cuda_check_launch("rope");
}

orr_status orr_cuda_qk_norm_rope(void *y, orr_dtype y_dtype, const void *x, orr_dtype x_dtype, int64_t batch,
                                 int64_t seq, int64_t heads, int64_t head_dim, const float *norm_w, float eps,
                                 const float *cos, const float *sin, bool head_major, cudaStream_t stream) {
    if (batch < 0 || seq < 0 || heads < 0 || head_dim < 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda qk_norm_rope: [batch %lld, seq %lld, heads %lld, head_dim %lld] "
                         "has a negative size", (long long)batch, (long long)seq, (long long)heads,
                         (long long)head_dim);
    if (!cos != !sin) return orr_error(ORR_ERR_ARGUMENT, "cuda qk_norm_rope: cos and sin must both be given or not");
    if (cos && head_dim % 2 != 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda qk_norm_rope: head_dim = %lld must be even for RoPE",
                         (long long)head_dim);
    if (!float_or_bf16(x_dtype) || !float_or_bf16(y_dtype))
        return orr_error(ORR_ERR_DTYPE, "cuda qk_norm_rope: x is %s and y %s; each must be f32 or bf16",
                         orr_dtype_name(x_dtype), orr_dtype_name(y_dtype));
    if (batch == 0 || seq == 0 || heads == 0 || head_dim == 0) return ORR_OK;
    if (x_dtype == ORR_F32 && y_dtype == ORR_F32)
        launch_qk<float, float>(y, x, batch, seq, heads, head_dim, norm_w, eps, cos, sin, head_major, stream);
    else if (x_dtype == ORR_F32)
        launch_qk<float, __nv_bfloat16>(y, x, batch, seq, heads, head_dim, norm_w, eps, cos, sin, head_major, stream);
    else if (y_dtype == ORR_F32)
        launch_qk<__nv_bfloat16, float>(y, x, batch, seq, heads, head_dim, norm_w, eps, cos, sin, head_major, stream);
    else
        launch_qk<__nv_bfloat16, __nv_bfloat16>(y, x, batch, seq, heads, head_dim, norm_w, eps, cos, sin, head_major,
                                                stream);
    return orr_cuda_check_launch("qk_norm_rope");
}

} // extern "C"
