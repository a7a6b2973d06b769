/* linear.h — matrix-product kernels on float32 buffers: nn.Linear with
 * f32/bf16/f16 weights, and batched strided matmul. The ref versions are
 * the scalar oracles (double accumulation); the cpu versions run OpenBLAS.
 * Matrices are addressed by element strides so that the ops can hand over
 * row-strided and transposed views without copying them. */
#ifndef ORR_KERNELS_LINEAR_H
#define ORR_KERNELS_LINEAR_H

#include "orrery.h"

/* y[m, n] = sum_k x[m, k] * w[n, k] + b[n] for m < rows, n < out, k < in.
 * Row i of x starts at x + i*ldx, of y at y + i*ldy, of w at w + i*ldw
 * elements; rows are contiguous. w is f32, bf16 or f16 (raw 16-bit words);
 * b may be NULL. */
void orr_ref_linear(float *y, int64_t ldy, const float *x, int64_t ldx, const void *w, orr_dtype w_dtype,
                    int64_t ldw, const float *b, int64_t rows, int64_t in, int64_t out);
/* The same with OpenBLAS, threaded over the pool (serially when called from
 * inside a pool job); 16-bit weights are widened to f32 in panels that fit
 * the cache, or, for up to 8 rows of x, inside a fused dot loop. Needs ld*
 * >= the row length (unless rows == 1). Fails only when the panel scratch
 * cannot be allocated. */
orr_status orr_cpu_linear(float *y, int64_t ldy, const float *x, int64_t ldx, const void *w, orr_dtype w_dtype,
                          int64_t ldw, const float *b, int64_t rows, int64_t in, int64_t out);

/* A batch of c[i, j] = sum_k a[i, k] * b[k, j] over strided matrices.
 * Batch item q (0 <= q < prod(batch_shape), row-major over batch_shape)
 * uses a + sum_d idx_d * a_batch_stride[d] (likewise b and c); a stride
 * of 0 broadcasts. Element (i, k) of a is at a_rs*i + a_cs*k. */
typedef struct orr_matmul_shape {
    int64_t m, k, n;
    int batch_ndim;
    int64_t batch_shape[ORR_MAX_DIMS];
    int64_t a_batch_stride[ORR_MAX_DIMS], b_batch_stride[ORR_MAX_DIMS], c_batch_stride[ORR_MAX_DIMS];
    int64_t a_rs, a_cs, b_rs, b_cs, c_rs, c_cs;
} orr_matmul_shape;

void orr_ref_matmul(float *c, const float *a, const float *b, const orr_matmul_shape *s);
/* Needs a, b and c each in a layout orr_cpu_blas_layout accepts (a
 * column-major c is computed as c^T = b^T a^T). */
void orr_cpu_matmul(float *c, const float *a, const float *b, const orr_matmul_shape *s);

/* Whether a rows x cols float matrix with element strides (rs, cs) can go
 * to BLAS as is: row-major (cs == 1) or transposed (rs == 1) with a leading
 * dimension covering the other extent. Sets *trans and *ld when it can. */
bool orr_cpu_blas_layout(int64_t rs, int64_t cs, int64_t rows, int64_t cols, bool *trans, int64_t *ld);

#endif /* ORR_KERNELS_LINEAR_H */
