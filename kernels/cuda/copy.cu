// copy.cu — the strided, converting device copy behind orr_copy, clone and
// the contiguous staging of strided inputs on cuda (copy.h). Dims that nest
// are merged first, so a contiguous copy is one flat loop (and a plain
// cudaMemcpyAsync when no conversion is needed).
#include <cuda_fp16.h>
#include <stdint.h>

#include "copy.h"
#include "cuda/cuda_internal.h"

namespace {

struct copy_geometry {
    int ndim;
    int64_t shape[ORR_MAX_DIMS];
    int64_t dst_stride[ORR_MAX_DIMS];
    int64_t src_stride[ORR_MAX_DIMS];
};

__device__ inline void offsets(const copy_geometry &g, int64_t flat, int64_t *dst, int64_t *src) {
    int64_t d = 0, s = 0;
    for (int k = g.ndim - 1; k >= 0; k--) {
        int64_t i = flat % g.shape[k];
        flat /= g.shape[k];
        d += i * g.dst_stride[k];
        s += i * g.src_stride[k];
    }
    *dst = d;
    *src = s;
}

// bf16 as the cpu rounds it (internal.h orr_f32_to_bf16_bits): nearest even,
// NaN kept quiet with its sign and top payload.
__device__ inline uint16_t f32_to_bf16(float v) {
    uint32_t u = __float_as_uint(v);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

__device__ inline float bf16_to_f32(uint16_t v) { return __uint_as_float((uint32_t)v << 16); }

__device__ inline float f16_to_f32(uint16_t v) {
    __half_raw r;
    r.x = v;
    return __half2float(__half(r));
}

__device__ inline uint16_t f32_to_f16(float v) {
    __half_raw r = __half_raw(__float2half_rn(v));
    return r.x;
}

// The three float types share a float path: f32, bf16, f16 as (type, bits).
template <orr_dtype T> struct float_type;
template <> struct float_type<ORR_F32> {
    using bits = float;
    __device__ static float load(float v) { return v; }
    __device__ static float store(float v) { return v; }
};
template <> struct float_type<ORR_BF16> {
    using bits = uint16_t;
    __device__ static float load(uint16_t v) { return bf16_to_f32(v); }
    __device__ static uint16_t store(float v) { return f32_to_bf16(v); }
};
template <> struct float_type<ORR_F16> {
    using bits = uint16_t;
    __device__ static float load(uint16_t v) { return f16_to_f32(v); }
    __device__ static uint16_t store(float v) { return f32_to_f16(v); }
};

template <typename T>
__global__ void copy_same(T *dst, const T *src, copy_geometry g, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t d, s;
        offsets(g, i, &d, &s);
        dst[d] = src[s];
    }
}

template <orr_dtype D, orr_dtype S>
__global__ void copy_float(typename float_type<D>::bits *dst, const typename float_type<S>::bits *src,
                           copy_geometry g, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t d, s;
        offsets(g, i, &d, &s);
        dst[d] = float_type<D>::store(float_type<S>::load(src[s]));
    }
}

// Every other pair, as orr_load_element / orr_store_element do it.
__device__ double load_any(const char *p, orr_dtype t) {
    switch (t) {
    case ORR_F32: return *(const float *)p;
    case ORR_F64: return *(const double *)p;
    case ORR_BF16: return bf16_to_f32(*(const uint16_t *)p);
    case ORR_F16: return f16_to_f32(*(const uint16_t *)p);
    case ORR_I64: return (double)*(const int64_t *)p;
    case ORR_I32: return *(const int32_t *)p;
    case ORR_I16: return *(const int16_t *)p;
    case ORR_I8: return *(const int8_t *)p;
    case ORR_U8: return *(const uint8_t *)p;
    case ORR_BOOL: return *(const uint8_t *)p != 0;
    default: return 0;
    }
}

__device__ void store_any(char *p, orr_dtype t, double v) {
    switch (t) {
    case ORR_F32: *(float *)p = (float)v; break;
    case ORR_F64: *(double *)p = v; break;
    case ORR_BF16: *(uint16_t *)p = f32_to_bf16((float)v); break;
    case ORR_F16: *(uint16_t *)p = f32_to_f16((float)v); break;
    case ORR_I64: *(int64_t *)p = (int64_t)v; break;
    case ORR_I32: *(int32_t *)p = (int32_t)v; break;
    case ORR_I16: *(int16_t *)p = (int16_t)v; break;
    case ORR_I8: *(int8_t *)p = (int8_t)v; break;
    case ORR_U8: *(uint8_t *)p = (uint8_t)v; break;
    case ORR_BOOL: *(uint8_t *)p = v != 0; break;
    default: break;
    }
}

__global__ void copy_any(char *dst, orr_dtype dt, int64_t dsize, const char *src, orr_dtype st, int64_t ssize,
                         copy_geometry g, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t d, s;
        offsets(g, i, &d, &s);
        store_any(dst + d * dsize, dt, load_any(src + s * ssize, st));
    }
}

// Drops size-1 dims and merges a dim into the next where both strides nest.
copy_geometry simplify(int ndim, const int64_t *shape, const int64_t *ds, const int64_t *ss) {
    copy_geometry g = {};
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1) continue;
        int k = g.ndim - 1;
        if (k >= 0 && g.dst_stride[k] == ds[d] * shape[d] && g.src_stride[k] == ss[d] * shape[d]) {
            g.shape[k] *= shape[d];
            g.dst_stride[k] = ds[d];
            g.src_stride[k] = ss[d];
        } else {
            g.shape[g.ndim] = shape[d];
            g.dst_stride[g.ndim] = ds[d];
            g.src_stride[g.ndim] = ss[d];
            g.ndim++;
        }
    }
    return g;
}

template <orr_dtype D, orr_dtype S>
void launch_float(void *dst, const void *src, const copy_geometry &g, int64_t n, int blocks, cudaStream_t stream) {
    copy_float<D, S><<<blocks, 256, 0, stream>>>((typename float_type<D>::bits *)dst,
                                                (const typename float_type<S>::bits *)src, g, n);
}

bool is_float(orr_dtype t) { return t == ORR_F32 || t == ORR_BF16 || t == ORR_F16; }

} // namespace

extern "C" orr_status orr_cuda_copy_strided(void *dst, orr_dtype dst_dtype, const int64_t *dst_stride,
                                            const void *src, orr_dtype src_dtype, const int64_t *src_stride,
                                            int ndim, const int64_t *shape, cudaStream_t stream) {
    if (ndim < 0 || ndim > ORR_MAX_DIMS || (unsigned)dst_dtype >= ORR_DTYPE_COUNT ||
        (unsigned)src_dtype >= ORR_DTYPE_COUNT)
        return orr_cuda_check(cudaErrorInvalidValue, "copy", "bad dims or dtype");
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    if (n <= 0) return ORR_OK;
    copy_geometry g = simplify(ndim, shape, dst_stride, src_stride);
    const size_t dsize = orr_dtype_size(dst_dtype), ssize = orr_dtype_size(src_dtype);
    if (dst_dtype == src_dtype && (g.ndim == 0 || (g.ndim == 1 && g.dst_stride[0] == 1 && g.src_stride[0] == 1)))
        return orr_cuda_check(cudaMemcpyAsync(dst, src, (size_t)n * dsize, cudaMemcpyDeviceToDevice, stream),
                              "copy", "device to device copy");
    const int blocks = (int)(n / 256 + 1 < 65536 ? n / 256 + 1 : 65536);
    if (dst_dtype == src_dtype) {
        switch (dsize) {
        case 1: copy_same<<<blocks, 256, 0, stream>>>((uint8_t *)dst, (const uint8_t *)src, g, n); break;
        case 2: copy_same<<<blocks, 256, 0, stream>>>((uint16_t *)dst, (const uint16_t *)src, g, n); break;
        case 4: copy_same<<<blocks, 256, 0, stream>>>((uint32_t *)dst, (const uint32_t *)src, g, n); break;
        default: copy_same<<<blocks, 256, 0, stream>>>((uint64_t *)dst, (const uint64_t *)src, g, n); break;
        }
    } else if (is_float(dst_dtype) && is_float(src_dtype)) {
        if (dst_dtype == ORR_F32 && src_dtype == ORR_BF16) launch_float<ORR_F32, ORR_BF16>(dst, src, g, n, blocks, stream);
        else if (dst_dtype == ORR_F32) launch_float<ORR_F32, ORR_F16>(dst, src, g, n, blocks, stream);
        else if (dst_dtype == ORR_BF16 && src_dtype == ORR_F32) launch_float<ORR_BF16, ORR_F32>(dst, src, g, n, blocks, stream);
        else if (dst_dtype == ORR_BF16) launch_float<ORR_BF16, ORR_F16>(dst, src, g, n, blocks, stream);
        else if (src_dtype == ORR_F32) launch_float<ORR_F16, ORR_F32>(dst, src, g, n, blocks, stream);
        else launch_float<ORR_F16, ORR_BF16>(dst, src, g, n, blocks, stream);
    } else {
        copy_any<<<blocks, 256, 0, stream>>>((char *)dst, dst_dtype, (int64_t)dsize, (const char *)src, src_dtype,
                                            (int64_t)ssize, g, n);
    }
    return orr_cuda_check_launch("copy");
}
