/* cuda/attention.h — fused scaled dot-product attention on the GPU (flash
 * attention: an online softmax over tiles of keys; the Sq x Sk score matrix
 * never exists in memory).
 *
 * Layouts, grouped kv heads, the mask and the causal rule are those of
 * kernels/attention.h: q [B,H,Sq,D], k [B,Hk,Sk,D], v [B,Hk,Sk,Dv],
 * out [B,H,Sq,Dv], contiguous device buffers of one dtype; mask->data (may
 * be NULL) is a device buffer of f32 read through mask->stride (0 =
 * broadcast). A query row with nothing attended gets zeros.
 *
 * Two kernels, picked per call:
 *  - bf16 with D == Dv in {64, 128} and 16-byte aligned q, k, v, out (the
 *    DiT's heads): tensor cores (mma.sync m16n8k16, bf16 in, f32
 *    accumulate), 64 query rows per block of 4 warps, 64 keys per tile,
 *    cp.async loads of the next tile overlapping the math. The
 *    probabilities are rounded to bf16 before P V (as FlashAttention
 *    does), the output once at the end: ~1e-2 relative to the oracle.
 *  - every other case (f32 at any head size, bf16 at other sizes such as
 *    the tokenizer's 512): a SIMT kernel in f32 with 16 query rows per block
 *    that keeps those rows' q and output accumulator in shared memory
 *    (16 * (D + Dv) * 4 bytes plus 21 KiB: up to D = Dv = 1024 on sm_80, the
 *    call fails with ORR_ERR_UNSUPPORTED beyond the device's shared
 *    memory); f32 results agree with the oracle to ~1e-6 relative. It is a
 *    correctness path, several times slower than the tensor-core one.
 *
 * The launcher queues the kernel on `stream` and does not synchronize. */
#ifndef ORR_KERNELS_CUDA_ATTENTION_H
#define ORR_KERNELS_CUDA_ATTENTION_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "../attention.h"

/* dtype: ORR_F32 or ORR_BF16, for q, k, v and out alike. */
orr_status orr_cuda_attention(void *out, const void *q, const void *k, const void *v, orr_dtype dtype,
                              const orr_attn_mask *mask, const orr_attn_dims *dims, float scale, bool causal,
                              cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_KERNELS_CUDA_ATTENTION_H */
