/* cuda/elementwise.h — the CUDA versions of elementwise.h (maps,
 * broadcasting binaries, reductions, softmax, padding) plus the DiT's gated
 * residual update.
 *
 * Every launcher takes DEVICE pointers to contiguous buffers and queues its
 * kernels on `stream` without synchronising; shape, stride and pad arrays
 * are HOST arrays (read during the call). Each returns ORR_OK, or
 * ORR_ERR_ARGUMENT for a negative size or a bad op, or the launch failure.
 * An empty buffer is a no-op unless noted. bf16 buffers hold the raw
 * bfloat16 bits (uint16_t), as orr_f32_to_bf16 writes them.
 *
 * Accuracy against the orr_ref_ oracles (default nvcc flags: IEEE division
 * and square root, no fast math):
 *  - binary, affine, pad, reductions of max/min, count: identical;
 *  - unary: CUDA's expf/logf/tanhf/erff/sinf/cosf are within 2 ulp of the
 *    correctly rounded result (glibc's within 1-2), so maps agree to a few
 *    ulp; sqrt and the divisions are correctly rounded on both;
 *  - sums and means accumulate in double (per thread, then a fixed tree),
 *    like the oracle, so they differ from it only in the order of double
 *    additions: the float results agree to 1 ulp;
 *  - softmax takes the same max, exps with CUDA's expf (2 ulp) and sums
 *    them in double: within a few ulp. */
#ifndef ORR_CUDA_ELEMENTWISE_H
#define ORR_CUDA_ELEMENTWISE_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* orr_ref_binary: out[idx] = a[idx·a_stride] op b[idx·b_stride] over
 * `shape` (ndim <= ORR_MAX_DIMS, 0 for one element); a stride of 0
 * broadcasts. MAX/MIN propagate NaN. */
orr_status orr_cuda_binary(float *out, const float *a, const int64_t *a_stride, const float *b,
                           const int64_t *b_stride, int ndim, const int64_t *shape, orr_binary_op op,
                           cudaStream_t stream);

/* orr_ref_unary: out[i] = op(a[i]); out may equal a. */
orr_status orr_cuda_unary(float *out, const float *a, int64_t n, orr_unary_op op, cudaStream_t stream);
/* The same on bf16 buffers, computed in float and rounded to nearest even
 * (the DiT's GELU between its bf16 MLP GEMMs). */
orr_status orr_cuda_unary_bf16(uint16_t *out, const uint16_t *a, int64_t n, orr_unary_op op, cudaStream_t stream);

/* orr_ref_affine: out[i] = a[i]*scale + shift, rounded once per operation
 * as on the CPU (no fused multiply-add); out may equal a. */
orr_status orr_cuda_affine(float *out, const float *a, int64_t n, float scale, float shift, cudaStream_t stream);

/* orr_ref_reduce: a [outer, n, inner] reduced over n into out [outer,
 * inner]. n == 0 writes 0 (SUM) or NaN (MEAN); AMAX/AMIN need n > 0. */
orr_status orr_cuda_reduce(float *out, const float *a, int64_t outer, int64_t n, int64_t inner, orr_reduce_op op,
                           cudaStream_t stream);

/* orr_ref_reduce_all: the reduction of all n elements, written as one
 * double to the device pointer `out`. The partial results of a fixed
 * number of blocks (a function of n only) are combined in a fixed order, so
 * the result does not change from run to run. Takes its partials from
 * orr_cuda_scratch_alloc, so `stream` must be orr_cuda_stream() (the
 * allocator's order). n == 0 writes 0 (SUM) or NaN (MEAN). */
orr_status orr_cuda_reduce_all(double *out, const float *a, int64_t n, orr_reduce_op op, cudaStream_t stream);

/* orr_ref_count_nonfinite: how many of the n values are NaN or ±Inf,
 * written to the device pointer `out` (0 for n == 0). */
orr_status orr_cuda_count_nonfinite(int64_t *out, const float *a, int64_t n, cudaStream_t stream);

/* orr_ref_softmax over n of a [outer, n, inner]; a row of -Inf gives NaN,
 * a NaN makes its row NaN; out may equal a. */
orr_status orr_cuda_softmax(float *out, const float *a, int64_t outer, int64_t n, int64_t inner,
                            cudaStream_t stream);

/* orr_ref_pad: out has shape in_shape[d] + pads[2d] + pads[2d+1] (ndim <=
 * ORR_MAX_DIMS); a negative pad crops. CONSTANT reads `value` outside,
 * REPLICATE the nearest edge, REFLECT the mirror image. Fails with
 * ORR_ERR_ARGUMENT where an index would map outside `in` (REFLECT with a
 * pad >= in_shape[d], REPLICATE of an empty dim into a non-empty one). */
orr_status orr_cuda_pad(float *out, const float *in, int ndim, const int64_t *in_shape, const int64_t *pads,
                        orr_pad_mode mode, float value, cudaStream_t stream);

/* The DiT's gated residual (dit.c gate_rows): x[r, i] += gate[b, i] * y[r,
 * i] for x, y [rows, dim] with b = r / rows_per_batch and gate row b at
 * gate + b*gate_stride (the gate chunk of the AdaLN output, stride 3*dim).
 * x is the float32 residual stream; y is float32 or bf16 (y_dtype ORR_F32
 * or ORR_BF16: the output GEMM's result). Same float operations as the CPU
 * (one rounding for the product, one for the sum). */
orr_status orr_cuda_gated_residual(float *x, const void *y, orr_dtype y_dtype, const float *gate, int64_t rows,
                                   int64_t dim, int64_t rows_per_batch, int64_t gate_stride, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_ELEMENTWISE_H */
