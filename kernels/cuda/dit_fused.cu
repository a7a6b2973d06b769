// cuda/dit_fused.cu — the DiT's gathers and small maps on the GPU
// (contracts in cuda/dit_fused.h). Each is memory-bound and tiny beside the
// GEMMs and the attention; they exist so that the forward never leaves the
// device.
#include <cuda_bf16.h>
#include <math.h>

#include "cuda/block_reduce.cuh"
#include "cuda/cuda_internal.h"
#include "cuda/dit_fused.h"
#include "cuda/element.cuh"
#include "cuda/grid.cuh"

extern "C" {
#include "internal.h"
}

namespace {

// the DiT's maps take up to 65535 blocks
int dit_grid(int64_t work, int64_t per_block = kThreads) { return grid_for(work, per_block, 65535); }

struct patch_geometry {
    int64_t cx, channels, B, T, H, W, pt, ps, tp, hp, wp, mh, mw, features, total;
};

template <typename OUT>
__global__ void patchify_kernel(OUT *patches, const float *x, const float *cmask, const float *pmask,
                                patch_geometry g) {
    for (int64_t i = thread_index(); i < g.total; i += thread_count()) {
        const int64_t r = i / g.features, f = i % g.features;
        const int64_t n = f % g.ps, m = f / g.ps % g.ps, dt = f / (g.ps * g.ps) % g.pt, c = f / (g.ps * g.ps * g.pt);
        const int64_t w = r % g.wp, h = r / g.wp % g.hp, t = r / (g.wp * g.hp) % g.tp, b = r / (g.wp * g.hp * g.tp);
        const int64_t tt = t * g.pt + dt, y = h * g.ps + m, xx = w * g.ps + n;
        float v = 0.0f;
        if (c < g.cx) {
            v = x[(((b * g.cx + c) * g.T + tt) * g.H + y) * g.W + xx];
        } else if (cmask && c == g.cx) {
            v = cmask[((b * g.T + tt) * g.H + y) * g.W + xx];
        } else if (pmask && c == g.cx + (cmask != nullptr)) {
            int64_t sy = (int64_t)floorf((float)y * ((float)g.mh / (float)g.H));
            int64_t sx = (int64_t)floorf((float)xx * ((float)g.mw / (float)g.W));
            if (sy > g.mh - 1) sy = g.mh - 1;
            if (sx > g.mw - 1) sx = g.mw - 1;
            v = pmask[(b * g.mh + sy) * g.mw + sx];
        }
        store(patches, i, v);
    }
}

__global__ void unpatchify_kernel(float *out, const float *y, int64_t total, int64_t C, int64_t T, int64_t H, int64_t W,
                                  int64_t pt, int64_t ps) {
    const int64_t tp = T / pt, hp = H / ps, wp = W / ps, row = ps * ps * pt * C;
    for (int64_t i = thread_index(); i < total; i += thread_count()) {
        const int64_t xx = i % W, yy = i / W % H, tt = i / (W * H) % T, c = i / (W * H * T) % C,
                      b = i / (W * H * T * C);
        const int64_t r = b * tp * hp * wp + (tt / pt * hp + yy / ps) * wp + xx / ps;
        out[i] = y[r * row + (((yy % ps) * ps + xx % ps) * pt + tt % pt) * C + c];
    }
}

__global__ void sinusoid_kernel(float *emb, const float *t, int64_t B, int64_t half) {
    for (int64_t k = thread_index(); k < B * half; k += thread_count()) {
        const int64_t b = k / half, i = k % half;
        const float exponent = (-9.210340371976184f * (float)i) / (float)half;
        const float arg = t[b] * expf(exponent);
        emb[b * 2 * half + i] = cosf(arg);
        emb[b * 2 * half + half + i] = sinf(arg);
    }
}

// One block per token row; the embedding row is formed twice (for the norm,
// then for the add) rather than staged: its three sources stay in L2.
__global__ void learnable_pos_kernel(float *x, const float *pos_t, const float *pos_h, const float *pos_w, int64_t rows,
                                     int64_t hp, int64_t wp, int64_t tp, int64_t D, float rms_scale) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int64_t w = r % wp, h = r / wp % hp, t = r / (wp * hp) % tp;
        const float *a = pos_t + t * D, *bh = pos_h + h * D, *cw = pos_w + w * D;
        double sq = 0;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
            const float e = a[i] + bh[i] + cw[i];
            sq += (double)e * e;
        }
        const float norm = 1e-6f + (float)sqrt(block_sum(sq)) * rms_scale;
        float *xr = x + r * D;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) xr[i] += (a[i] + bh[i] + cw[i]) / norm;
    }
}

template <typename WORD> __global__ void differs_kernel(int *differs, const WORD *a, const WORD *b, int64_t n) {
    for (int64_t i = thread_index(); i < n; i += thread_count())
        if (a[i] != b[i]) *differs = 1; // every writer stores the same value
}

} // namespace

extern "C" orr_status orr_cuda_dit_patchify(void *patches, orr_dtype dtype, const float *x, int64_t cx,
                                            const float *cmask, const float *pmask, int64_t mh, int64_t mw,
                                            int64_t channels, int64_t B, int64_t T, int64_t H, int64_t W, int64_t pt,
                                            int64_t ps, cudaStream_t stream) {
    if (B < 0 || cx < 0 || channels < cx || T < 0 || H < 0 || W < 0 || pt < 1 || ps < 1 || T % pt || H % ps || W % ps ||
        (pmask && (mh < 1 || mw < 1)))
        return orr_error(ORR_ERR_ARGUMENT,
                         "cuda dit_patchify: x [%lld,%lld,%lld,%lld,%lld] of %lld channels, patches %lldx%lld, "
                         "padding mask %lldx%lld",
                         (long long)B, (long long)cx, (long long)T, (long long)H, (long long)W, (long long)channels,
                         (long long)pt, (long long)ps, (long long)mh, (long long)mw);
    if (dtype != ORR_F32 && dtype != ORR_BF16)
        return orr_error(ORR_ERR_DTYPE, "cuda dit_patchify: patches are %s, not f32 or bf16", orr_dtype_name(dtype));
    patch_geometry g = {cx, channels, B, T, H, W, pt, ps, T / pt, H / ps, W / ps, mh, mw, channels * pt * ps * ps, 0};
    g.total = B * g.tp * g.hp * g.wp * g.features;
    if (g.total == 0) return ORR_OK;
    if (dtype == ORR_F32)
        patchify_kernel<<<dit_grid(g.total), kThreads, 0, stream>>>((float *)patches, x, cmask, pmask, g);
    else
        patchify_kernel<<<dit_grid(g.total), kThreads, 0, stream>>>((__nv_bfloat16 *)patches, x, cmask, pmask, g);
    return orr_cuda_check_launch("dit_patchify");
}

extern "C" orr_status orr_cuda_dit_unpatchify(float *out, const float *y, int64_t B, int64_t C, int64_t T, int64_t H,
                                              int64_t W, int64_t pt, int64_t ps, cudaStream_t stream) {
    if (B < 0 || C < 0 || T < 0 || H < 0 || W < 0 || pt < 1 || ps < 1 || T % pt || H % ps || W % ps)
        return orr_error(ORR_ERR_ARGUMENT, "cuda dit_unpatchify: out [%lld,%lld,%lld,%lld,%lld], patches %lldx%lld",
                         (long long)B, (long long)C, (long long)T, (long long)H, (long long)W, (long long)pt,
                         (long long)ps);
    const int64_t total = B * C * T * H * W;
    if (total == 0) return ORR_OK;
    unpatchify_kernel<<<dit_grid(total), kThreads, 0, stream>>>(out, y, total, C, T, H, W, pt, ps);
    return orr_cuda_check_launch("dit_unpatchify");
}

extern "C" orr_status orr_cuda_dit_timestep_sinusoid(float *emb, const float *t, int64_t B, int64_t dim,
                                                     cudaStream_t stream) {
    if (B < 0 || dim < 0 || dim % 2)
        return orr_error(ORR_ERR_ARGUMENT, "cuda dit_timestep_sinusoid: %lld rows of %lld (must be even)", (long long)B,
                         (long long)dim);
    if (B * dim == 0) return ORR_OK;
    sinusoid_kernel<<<dit_grid(B * dim / 2), kThreads, 0, stream>>>(emb, t, B, dim / 2);
    return orr_cuda_check_launch("dit_timestep_sinusoid");
}

extern "C" orr_status orr_cuda_dit_add_learnable_pos(float *x, const float *pos_t, const float *pos_h,
                                                     const float *pos_w, int64_t B, int64_t tp, int64_t hp, int64_t wp,
                                                     int64_t D, cudaStream_t stream) {
    if (B < 0 || tp < 0 || hp < 0 || wp < 0 || D < 1)
        return orr_error(ORR_ERR_ARGUMENT, "cuda dit_add_learnable_pos: x [%lld, %lldx%lldx%lld, %lld]", (long long)B,
                         (long long)tp, (long long)hp, (long long)wp, (long long)D);
    const int64_t rows = B * tp * hp * wp;
    if (rows == 0) return ORR_OK;
    learnable_pos_kernel<<<dit_grid(rows, 1), kThreads, 0, stream>>>(x, pos_t, pos_h, pos_w, rows, hp, wp, tp, D,
                                                                      (float)sqrt(1.0 / (double)D));
    return orr_cuda_check_launch("dit_add_learnable_pos");
}

extern "C" orr_status orr_cuda_dit_differs(int *differs, const void *a, const void *b, size_t bytes,
                                           cudaStream_t stream) {
    orr_status st =
        orr_cuda_check(cudaMemsetAsync(differs, 0, sizeof *differs, stream), "dit_differs", "cudaMemsetAsync");
    if (st || bytes == 0) return st;
    if (bytes % 4 == 0 && ((uintptr_t)a & 3u) == 0 && ((uintptr_t)b & 3u) == 0) {
        const int64_t n = (int64_t)(bytes / 4);
        differs_kernel<<<dit_grid(n), kThreads, 0, stream>>>(differs, (const uint32_t *)a, (const uint32_t *)b, n);
    } else {
        differs_kernel<<<dit_grid((int64_t)bytes), kThreads, 0, stream>>>(differs, (const uint8_t *)a,
                                                                          (const uint8_t *)b, (int64_t)bytes);
    }
    return orr_cuda_check_launch("dit_differs");
}
