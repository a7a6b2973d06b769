/* cuda/linear.h — the matrix products on the GPU through cuBLASLt: nn.Linear
 * (y = x w^T + b, with the bias and optionally GELU fused into cuBLASLt's
 * epilogue) and the batched strided matmul of kernels/linear.h.
 *
 * All pointers are device pointers; every launcher queues its work and
 * returns without synchronizing. The work runs in order with `stream`: the
 * product itself is queued on the runtime's stream (orr_cuda_stream(),
 * which owns the cuBLASLt workspace) and, when `stream` is another one,
 * bracketed by events so that it starts after the work already on `stream`
 * and later work on `stream` starts after it.
 *
 * Precision: 16-bit inputs (bf16, f16) multiply exactly and accumulate in
 * f32; the output is rounded once. f32 inputs accumulate in f32 on the
 * ordinary FMA path (agrees with the double-accumulating oracle to ~1e-6
 * relative) unless ORR_CUDA_GEMM_TF32 allows TF32 tensor cores (10-bit
 * mantissa products, ~1e-3 relative).
 *
 * Known limits: x and w (a and b) must share a dtype (cuBLASLt does not mix
 * f32 with 16-bit operands: convert first); every matrix must be row- or
 * column-major (one element stride 1); in (k) must be at least 1. The
 * heuristic's choice of algorithm is cached per shape, dtype, alignment and
 * device for the life of the process. */
#ifndef ORR_KERNELS_CUDA_LINEAR_H
#define ORR_KERNELS_CUDA_LINEAR_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "../linear.h"

/* Flags of orr_cuda_linear and orr_cuda_matmul. */
enum {
    /* f32 operands may run on TF32 tensor cores. */
    ORR_CUDA_GEMM_TF32 = 1u << 0,
    /* linear only: y = gelu(x w^T + b) with cuBLASLt's GELU, which is the
     * tanh approximation 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))) (ORR_GELU_TANH),
     * not the erf form. */
    ORR_CUDA_GEMM_GELU_TANH = 1u << 1,
};

/* y[m, n] = sum_k x[m, k] * w[n, k] + b[n] for m < rows, n < out, k < in,
 * with the row strides ldx, ldw, ldy (elements) of orr_cpu_linear (ld >= the
 * row length unless there is one row). x and w have the dtype w_dtype (f32,
 * bf16 or f16); y is f32 or w_dtype; b (may be NULL) holds `out` values of
 * y's dtype (cuBLASLt reads the bias in the output's type). */
orr_status orr_cuda_linear(void *y, orr_dtype y_dtype, int64_t ldy, const void *x, int64_t ldx, const void *w,
                           orr_dtype w_dtype, int64_t ldw, const void *b, int64_t rows, int64_t in, int64_t out,
                           unsigned flags, cudaStream_t stream);

/* The batched c = a b of orr_ref_matmul over the strides of *s, a and b of
 * ab_dtype (f32, bf16 or f16), c of c_dtype (f32 or ab_dtype). Batch dims
 * whose strides nest are merged into one cuBLASLt strided batch; the others
 * are looped over on the host, one cuBLASLt call per item. A stride of 0
 * broadcasts a or b; c must not overlap itself (ORR_ERR_ARGUMENT). */
orr_status orr_cuda_matmul(void *c, orr_dtype c_dtype, const void *a, const void *b, orr_dtype ab_dtype,
                           const orr_matmul_shape *s, unsigned flags, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_KERNELS_CUDA_LINEAR_H */
