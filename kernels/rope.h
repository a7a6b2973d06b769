/* rope.h — rotary position embedding on contiguous float32 buffers.
 *
 * x and out are [rows, dim] (dim even), the rows enumerating the multi-index
 * of row_shape (row_ndim dims, row-major). The cos (sin) values for row idx
 * start at cos + sum_d idx[d]*cos_stride[d] and run contiguously over dim; a
 * stride of 0 broadcasts them along that dim. out may equal x.
 *
 *   out = x*cos + rot(x)*sin, where rot is
 *   rotate_half:  [x1, x2] -> [-x2, x1] on the two halves of dim
 *                 (Cosmos DiT, Cosmos AR, TransformerEngine's default);
 *   interleaved:  (x0, x1) -> (-x1, x0) on each (even, odd) pair
 *                 (the original RoFormer / Mistral form). */
#ifndef ORR_KERNELS_ROPE_H
#define ORR_KERNELS_ROPE_H

#include <stdbool.h>
#include <stdint.h>

void orr_ref_rope(float *out, const float *x, const float *cos, const int64_t *cos_stride, const float *sin,
                  const int64_t *sin_stride, int row_ndim, const int64_t *row_shape, int64_t dim, bool interleaved);
void orr_cpu_rope(float *out, const float *x, const float *cos, const int64_t *cos_stride, const float *sin,
                  const int64_t *sin_stride, int row_ndim, const int64_t *row_shape, int64_t dim, bool interleaved);

#endif /* ORR_KERNELS_ROPE_H */
