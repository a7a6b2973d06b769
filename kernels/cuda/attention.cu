/* cuda/attention.cu — flash attention: per block, a tile of query rows
 * against tiles of keys with an online softmax (running max m and sum l per
 * row; the output accumulator is rescaled by exp(m_old - m_new) whenever
 * the max grows). Scores are kept in base 2: s * scale * log2(e), so that
 * exp becomes exp2.
 *
 * The tensor-core kernel follows the register layouts of PTX's
 * mma.m16n8k16 (bf16): with g = lane / 4 and t = lane % 4, a thread holds
 *  A (16x16, row-major):  a0a1 = (g, 2t..2t+1)  a2a3 = (g+8, 2t..)
 *                         a4a5 = (g, 2t+8..)     a6a7 = (g+8, 2t+8..)
 *  B (16x8, "col"):       b0b1 = (k 2t..2t+1, n g)  b2b3 = (k 2t+8.., n g)
 *  C/D (16x8, f32):       c0c1 = (g, 2t..2t+1)  c2c3 = (g+8, 2t..)
 * so the accumulator of S = Q K^T for keys [16k, 16k+16) is already the A
 * operand of P V for that key step (after rounding to bf16), and each
 * thread owns whole rows g and g+8 of its warp's 16 for the softmax (the
 * four threads of a quad share a row). ldmatrix (.trans for V) loads the B
 * operands from row-major shared tiles. */
#include <cmath>
#include <cstdint>

#include <cuda_bf16.h>

extern "C" {
#include "internal.h"
}
#include "attention.h"
#include "cuda/element.cuh"

namespace {

const char *OP = "attention";
constexpr float LOG2E = 1.4426950408889634f;

struct attn_params {
    const void *q, *k, *v;
    void *out;
    const float *mask;
    int64_t ms[4];
    int64_t heads, kv_heads, q_len, kv_len;
    int head_dim, v_dim;
    int group;        /* query heads per kv head */
    float scale_log2; /* scale * log2(e) */
    int causal;
};

/* Whether query i may attend key j (both in range). */
__device__ __forceinline__ bool attended(const attn_params &p, int64_t b, int64_t h, int64_t i, int64_t j) {
    if (p.causal && j > i + (p.kv_len - p.q_len)) return false;
    if (p.mask && p.mask[b * p.ms[0] + h * p.ms[1] + i * p.ms[2] + j * p.ms[3]] == 0.0f) return false;
    return true;
}

/* How many leading keys any of the query rows [q0, q_end) may attend. */
__device__ __forceinline__ int64_t keys_needed(const attn_params &p, int64_t q0, int64_t q_end) {
    if (!p.causal) return p.kv_len;
    int64_t n = q_end - 1 + (p.kv_len - p.q_len) + 1;
    return n < 0 ? 0 : (n < p.kv_len ? n : p.kv_len);
}

/* ---- tensor-core kernel (bf16, D = Dv = 64 or 128) ---------------------- */

constexpr int MMA_BM = 64, MMA_BN = 64, MMA_THREADS = 128;

__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, bool valid) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    int bytes = valid ? 16 : 0; /* 0: nothing read, 16 zero bytes written */
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
/* The memory clobber keeps the compiler from moving shared reads above it. */
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void *smem) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void *smem) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}

/* c += a b over one 16x8x16 step. */
__device__ __forceinline__ void mma_bf16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* Two floats as a bf16x2 word, the first in the low half (lower index). */
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}

/* Rows [row0, row0 + 64) of a [rows, D] bf16 matrix into a shared tile of
 * row stride D + 8 (rows past the end are zero-filled). */
template <int D>
__device__ __forceinline__ void load_tile(__nv_bfloat16 *tile, const __nv_bfloat16 *g, int64_t row0, int64_t rows,
                                          int tid) {
    constexpr int CHUNKS = D / 8, LDS = D + 8;
#pragma unroll
    for (int it = 0; it < MMA_BM * CHUNKS / MMA_THREADS; it++) {
        int idx = tid + it * MMA_THREADS, r = idx / CHUNKS, c = idx % CHUNKS;
        bool valid = row0 + r < rows;
        cp_async16(tile + r * LDS + c * 8, valid ? g + (row0 + r) * D + c * 8 : g, valid);
    }
}

template <int D> __global__ void __launch_bounds__(MMA_THREADS) attention_bf16_mma(attn_params p) {
    constexpr int BM = MMA_BM, BN = MMA_BN, LDS = D + 8;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    __nv_bfloat16 *Qs = reinterpret_cast<__nv_bfloat16 *>(smem_raw);
    __nv_bfloat16 *Ks = Qs + BM * LDS, *Vs = Ks + BN * LDS;

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t4 = lane & 3;
    const int64_t b = blockIdx.z, h = blockIdx.y, q0 = (int64_t)blockIdx.x * BM;
    const int64_t Sq = p.q_len, Sk = p.kv_len, kh = h / p.group;
    const __nv_bfloat16 *qg = static_cast<const __nv_bfloat16 *>(p.q) + (b * p.heads + h) * Sq * D;
    const __nv_bfloat16 *kg = static_cast<const __nv_bfloat16 *>(p.k) + (b * p.kv_heads + kh) * Sk * D;
    const __nv_bfloat16 *vg = static_cast<const __nv_bfloat16 *>(p.v) + (b * p.kv_heads + kh) * Sk * D;
    __nv_bfloat16 *og = static_cast<__nv_bfloat16 *>(p.out) + (b * p.heads + h) * Sq * D;

    const int64_t q_end = q0 + BM < Sq ? q0 + BM : Sq;
    const int n_tiles = (int)((keys_needed(p, q0, q_end) + BN - 1) / BN);
    /* this thread's two query rows */
    const int64_t row[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};

    load_tile<D>(Qs, qg, q0, Sq, tid);
    if (n_tiles > 0) load_tile<D>(Ks, kg, 0, Sk, tid);
    cp_async_commit();

    float o[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    uint32_t qf[D / 16][4];

    for (int tile = 0; tile < n_tiles; tile++) {
        const int64_t k0 = (int64_t)tile * BN;
        load_tile<D>(Vs, vg, k0, Sk, tid);
        cp_async_commit();
        cp_async_wait<1>(); /* Q and this tile's K have landed */
        __syncthreads();
        if (tile == 0) {
            const __nv_bfloat16 *qw = Qs + (warp * 16 + g) * LDS + 2 * t4;
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++) {
                qf[kk][0] = *reinterpret_cast<const uint32_t *>(qw + kk * 16);
                qf[kk][1] = *reinterpret_cast<const uint32_t *>(qw + 8 * LDS + kk * 16);
                qf[kk][2] = *reinterpret_cast<const uint32_t *>(qw + kk * 16 + 8);
                qf[kk][3] = *reinterpret_cast<const uint32_t *>(qw + 8 * LDS + kk * 16 + 8);
            }
        }

        /* S = Q K^T for this warp's 16 rows and the tile's 64 keys */
        float s[BN / 8][4];
#pragma unroll
        for (int n = 0; n < BN / 8; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
        {
            /* ldmatrix x4: matrix lane/8 = (keys +8 if bit 1) x (dims +8 if bit 0) */
            const int mi = lane >> 3, r8 = lane & 7;
            const __nv_bfloat16 *kl = Ks + (r8 + ((mi >> 1) << 3)) * LDS + ((mi & 1) << 3);
#pragma unroll
            for (int np = 0; np < BN / 16; np++) {
#pragma unroll
                for (int kk = 0; kk < D / 16; kk++) {
                    uint32_t kb[4];
                    ldmatrix_x4(kb, kl + np * 16 * LDS + kk * 16);
                    mma_bf16(s[2 * np], qf[kk], kb[0], kb[1]);
                    mma_bf16(s[2 * np + 1], qf[kk], kb[2], kb[3]);
                }
            }
        }

        /* scale, mask, online softmax; s becomes P. Per-key checks only
         * where the tile can hold a masked key (warp-uniform); rows past
         * Sq compute harmlessly and are never stored. */
        const bool check = p.mask || k0 + BN > Sk || (p.causal && k0 + BN - 1 > q0 + warp * 16 + (Sk - Sq));
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float mx = -INFINITY;
#pragma unroll
            for (int n = 0; n < BN / 8; n++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    float v = s[n][2 * r + e] * p.scale_log2;
                    if (check) {
                        int64_t j = k0 + n * 8 + 2 * t4 + e;
                        if (!(j < Sk && row[r] < Sq && attended(p, b, h, row[r], j))) v = -INFINITY;
                    }
                    s[n][2 * r + e] = v;
                    mx = fmaxf(mx, v);
                }
            }
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float m_new = fmaxf(m[r], mx);
            const float base = m_new == -INFINITY ? 0.0f : m_new; /* a row with nothing attended yet */
            const float alpha = exp2f(m[r] - base);
            m[r] = m_new;
            float sum = 0.0f;
#pragma unroll
            for (int n = 0; n < BN / 8; n++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    float pv = exp2f(s[n][2 * r + e] - base);
                    s[n][2 * r + e] = pv;
                    sum += pv;
                }
            }
            l[r] = l[r] * alpha + sum; /* this thread's part of the row; the quad is summed at the end */
#pragma unroll
            for (int n = 0; n < D / 8; n++) {
                o[n][2 * r] *= alpha;
                o[n][2 * r + 1] *= alpha;
            }
        }
        uint32_t pf[BN / 16][4];
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
            pf[kk][0] = pack_bf16(s[2 * kk][0], s[2 * kk][1]);
            pf[kk][1] = pack_bf16(s[2 * kk][2], s[2 * kk][3]);
            pf[kk][2] = pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            pf[kk][3] = pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
        }

        cp_async_wait<0>(); /* V has landed */
        __syncthreads();    /* and every warp is done with K */
        if (tile + 1 < n_tiles) {
            load_tile<D>(Ks, kg, k0 + BN, Sk, tid);
            cp_async_commit();
        }

        /* O += P V */
        {
            /* ldmatrix x4 .trans: matrix lane/8 = (keys +8 if bit 0) x (cols +8 if bit 1) */
            const int mi = lane >> 3, r8 = lane & 7;
            const __nv_bfloat16 *vl = Vs + (r8 + ((mi & 1) << 3)) * LDS + ((mi >> 1) << 3);
#pragma unroll
            for (int kk = 0; kk < BN / 16; kk++) {
#pragma unroll
                for (int dp = 0; dp < D / 16; dp++) {
                    uint32_t vb[4];
                    ldmatrix_x4_trans(vb, vl + kk * 16 * LDS + dp * 16);
                    mma_bf16(o[2 * dp], pf[kk], vb[0], vb[1]);
                    mma_bf16(o[2 * dp + 1], pf[kk], vb[2], vb[3]);
                }
            }
        }
        __syncthreads(); /* every warp is done with V */
    }
    cp_async_wait<0>();

#pragma unroll
    for (int r = 0; r < 2; r++) {
        float sum = l[r];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        if (row[r] >= Sq) continue;
        __nv_bfloat16 *orow = og + row[r] * D + 2 * t4;
#pragma unroll
        for (int n = 0; n < D / 8; n++)
            *reinterpret_cast<__nv_bfloat162 *>(orow + n * 8) =
                __floats2bfloat162_rn(o[n][2 * r] * inv, o[n][2 * r + 1] * inv);
    }
}

template <int D> size_t mma_smem_bytes() { return (size_t)(MMA_BM + 2 * MMA_BN) * (D + 8) * sizeof(__nv_bfloat16); }

/* ---- SIMT kernel (f32 math, any head size) ------------------------------ */

constexpr int SIMT_BM = 16, SIMT_BN = 64, SIMT_DC = 64, SIMT_KLD = SIMT_DC + 1, SIMT_THREADS = 256;

template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
    return __float2bfloat16_rn(v);
}

size_t simt_smem_bytes(int D, int Dv) {
    return sizeof(float) * ((size_t)SIMT_BM * (D + Dv) + SIMT_BM * SIMT_BN + SIMT_BN * SIMT_KLD + 3 * SIMT_BM);
}

/* Columns [c0, c0 + 64) of keys [j0, j0 + 64) of a [rows, width] matrix into
 * the shared chunk [64][65], zero outside. */
template <typename T>
__device__ __forceinline__ void load_chunk(float *chunk, const T *g, int64_t j0, int64_t rows, int c0, int width,
                                           int tid) {
    for (int idx = tid; idx < SIMT_BN * SIMT_DC; idx += SIMT_THREADS) {
        int r = idx / SIMT_DC, c = idx % SIMT_DC;
        bool valid = j0 + r < rows && c0 + c < width;
        chunk[r * SIMT_KLD + c] = valid ? to_float(g[(j0 + r) * width + c0 + c]) : 0.0f;
    }
}

template <typename T> __global__ void __launch_bounds__(SIMT_THREADS) attention_simt(attn_params p) {
    extern __shared__ float smem[];
    const int D = p.head_dim, Dv = p.v_dim;
    float *Qs = smem;              /* [BM][D] */
    float *Os = Qs + SIMT_BM * D;  /* [BM][Dv] */
    float *Ss = Os + SIMT_BM * Dv; /* [BM][BN] scores, then probabilities */
    float *KVs = Ss + SIMT_BM * SIMT_BN;
    float *row_m = KVs + SIMT_BN * SIMT_KLD, *row_l = row_m + SIMT_BM, *row_alpha = row_l + SIMT_BM;

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int r = tid / 16, c0 = tid % 16; /* a thread's row and first column in the tiles */
    const int64_t b = blockIdx.z, h = blockIdx.y, q0 = (int64_t)blockIdx.x * SIMT_BM;
    const int64_t Sq = p.q_len, Sk = p.kv_len, kh = h / p.group;
    const T *qg = static_cast<const T *>(p.q) + (b * p.heads + h) * Sq * D;
    const T *kg = static_cast<const T *>(p.k) + (b * p.kv_heads + kh) * Sk * D;
    const T *vg = static_cast<const T *>(p.v) + (b * p.kv_heads + kh) * Sk * Dv;
    T *og = static_cast<T *>(p.out) + (b * p.heads + h) * Sq * Dv;

    for (int idx = tid; idx < SIMT_BM * D; idx += SIMT_THREADS) {
        int64_t i = q0 + idx / D;
        Qs[idx] = i < Sq ? to_float(qg[i * D + idx % D]) : 0.0f;
    }
    for (int idx = tid; idx < SIMT_BM * Dv; idx += SIMT_THREADS) Os[idx] = 0.0f;
    if (tid < SIMT_BM) {
        row_m[tid] = -INFINITY;
        row_l[tid] = 0.0f;
    }
    const int64_t q_end = q0 + SIMT_BM < Sq ? q0 + SIMT_BM : Sq;
    const int64_t n_keys = keys_needed(p, q0, q_end);
    const int64_t i = q0 + r;
    __syncthreads();

    for (int64_t k0 = 0; k0 < n_keys; k0 += SIMT_BN) {
        float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int dc = 0; dc < D; dc += SIMT_DC) {
            load_chunk(KVs, kg, k0, Sk, dc, D, tid);
            __syncthreads();
            const int dn = D - dc < SIMT_DC ? D - dc : SIMT_DC;
            const float *qr = Qs + r * D + dc;
            for (int d = 0; d < dn; d++) {
                float qv = qr[d];
#pragma unroll
                for (int u = 0; u < 4; u++) acc[u] += qv * KVs[(c0 + 16 * u) * SIMT_KLD + d];
            }
            __syncthreads();
        }
#pragma unroll
        for (int u = 0; u < 4; u++) {
            int64_t j = k0 + c0 + 16 * u;
            bool ok = j < Sk && i < Sq && attended(p, b, h, i, j);
            Ss[r * SIMT_BN + c0 + 16 * u] = ok ? acc[u] * p.scale_log2 : -INFINITY;
        }
        __syncthreads();

        /* online softmax: warp w owns rows 2w and 2w + 1 */
        for (int rr = 2 * warp; rr < 2 * warp + 2; rr++) {
            float v0 = Ss[rr * SIMT_BN + lane], v1 = Ss[rr * SIMT_BN + lane + 32];
            float mx = fmaxf(v0, v1);
            for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
            const float m_old = row_m[rr], m_new = fmaxf(m_old, mx);
            const float base = m_new == -INFINITY ? 0.0f : m_new;
            float p0 = exp2f(v0 - base), p1 = exp2f(v1 - base);
            Ss[rr * SIMT_BN + lane] = p0;
            Ss[rr * SIMT_BN + lane + 32] = p1;
            float sum = p0 + p1;
            for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
            __syncwarp();
            if (lane == 0) {
                float alpha = exp2f(m_old - base);
                row_alpha[rr] = alpha;
                row_l[rr] = row_l[rr] * alpha + sum;
                row_m[rr] = m_new;
            }
        }
        __syncthreads();

        const float alpha = row_alpha[r];
        for (int dc = 0; dc < Dv; dc += SIMT_DC) {
            load_chunk(KVs, vg, k0, Sk, dc, Dv, tid);
            __syncthreads();
            const float *pr = Ss + r * SIMT_BN;
#pragma unroll
            for (int u = 0; u < 4; u++) {
                int d = c0 + 16 * u;
                if (dc + d >= Dv) continue;
                float acc_o = Os[r * Dv + dc + d] * alpha;
                for (int c = 0; c < SIMT_BN; c++) acc_o += pr[c] * KVs[c * SIMT_KLD + d];
                Os[r * Dv + dc + d] = acc_o;
            }
            __syncthreads();
        }
    }

    for (int idx = tid; idx < SIMT_BM * Dv; idx += SIMT_THREADS) {
        int rr = idx / Dv;
        int64_t ii = q0 + rr;
        if (ii >= Sq) continue;
        float l = row_l[rr];
        og[ii * Dv + idx % Dv] = from_float<T>(l > 0.0f ? Os[idx] / l : 0.0f);
    }
}

bool aligned16(const void *ptr) { return ((uintptr_t)ptr & 15u) == 0; }

template <typename K>
orr_status launch(K kernel, dim3 grid, int threads, size_t smem, const attn_params &p, cudaStream_t stream) {
    orr_status st = ORR_OK;
    if (smem > 48 * 1024) {
        int device = 0, optin = 0;
        cudaError_t e = cudaGetDevice(&device);
        if (e == cudaSuccess) e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
        if (e != cudaSuccess)
            return orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: reading the device's shared memory size: %s", OP,
                             cudaGetErrorString(e));
        if (smem > (size_t)optin)
            return orr_error(
                ORR_ERR_UNSUPPORTED,
                "cuda %s: head_dim %d, v_dim %d need %zu bytes of shared memory per block; the device has %d", OP,
                p.head_dim, p.v_dim, smem, optin);
        e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess)
            return orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: allowing %zu bytes of shared memory: %s", OP, smem,
                             cudaGetErrorString(e));
    }
    kernel<<<grid, threads, smem, stream>>>(p);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        st = orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: kernel launch (grid %u x %u x %u): %s", OP, grid.x, grid.y,
                       grid.z, cudaGetErrorString(e));
    return st;
}

} /* namespace */

extern "C" orr_status orr_cuda_attention(void *out, const void *q, const void *k, const void *v, orr_dtype dtype,
                                         const orr_attn_mask *mask, const orr_attn_dims *d, float scale, bool causal,
                                         cudaStream_t stream) {
    if (!out || !q || !k || !v || !d)
        return orr_error(ORR_ERR_ARGUMENT, "cuda %s: out, q, k, v and dims must not be NULL", OP);
    if (dtype != ORR_F32 && dtype != ORR_BF16)
        return orr_error(ORR_ERR_DTYPE, "cuda %s: dtype %s (f32 or bf16)", OP, orr_dtype_name(dtype));
    if (d->batch < 0 || d->heads < 1 || d->kv_heads < 1 || d->heads % d->kv_heads || d->q_len < 0 || d->kv_len < 0 ||
        d->head_dim < 1 || d->v_dim < 1 || d->head_dim > 65536 || d->v_dim > 65536)
        return orr_error(ORR_ERR_SHAPE,
                         "cuda %s: batch %lld, heads %lld, kv_heads %lld, q_len %lld, kv_len %lld, head_dim %lld, "
                         "v_dim %lld (heads a multiple of kv_heads, dims >= 1)",
                         OP, (long long)d->batch, (long long)d->heads, (long long)d->kv_heads, (long long)d->q_len,
                         (long long)d->kv_len, (long long)d->head_dim, (long long)d->v_dim);
    if (d->batch == 0 || d->q_len == 0) return ORR_OK;
    if (d->heads > 65535 || d->batch > 65535)
        return orr_error(ORR_ERR_SHAPE, "cuda %s: %lld heads x batch %lld exceed the grid (65535 each)", OP,
                         (long long)d->heads, (long long)d->batch);
    if (!std::isfinite(scale)) return orr_error(ORR_ERR_ARGUMENT, "cuda %s: scale %g is not finite", OP, (double)scale);

    attn_params p = {};
    p.q = q;
    p.k = k;
    p.v = v;
    p.out = out;
    p.mask = mask ? mask->data : nullptr;
    for (int a = 0; a < 4; a++) p.ms[a] = mask ? mask->stride[a] : 0;
    p.heads = d->heads;
    p.kv_heads = d->kv_heads;
    p.q_len = d->q_len;
    p.kv_len = d->kv_len;
    p.head_dim = (int)d->head_dim;
    p.v_dim = (int)d->v_dim;
    p.group = (int)(d->heads / d->kv_heads);
    p.scale_log2 = scale * LOG2E;
    p.causal = causal;

    bool mma = dtype == ORR_BF16 && d->head_dim == d->v_dim && (d->head_dim == 64 || d->head_dim == 128) &&
               aligned16(q) && aligned16(k) && aligned16(v) && aligned16(out);
    if (mma) {
        dim3 grid((unsigned)((d->q_len + MMA_BM - 1) / MMA_BM), (unsigned)d->heads, (unsigned)d->batch);
        if (d->head_dim == 64)
            return launch(attention_bf16_mma<64>, grid, MMA_THREADS, mma_smem_bytes<64>(), p, stream);
        return launch(attention_bf16_mma<128>, grid, MMA_THREADS, mma_smem_bytes<128>(), p, stream);
    }
    dim3 grid((unsigned)((d->q_len + SIMT_BM - 1) / SIMT_BM), (unsigned)d->heads, (unsigned)d->batch);
    size_t smem = simt_smem_bytes(p.head_dim, p.v_dim);
    if (dtype == ORR_F32) return launch(attention_simt<float>, grid, SIMT_THREADS, smem, p, stream);
    return launch(attention_simt<__nv_bfloat16>, grid, SIMT_THREADS, smem, p, stream);
}
