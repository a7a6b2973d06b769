/* elementwise.h — element-wise maps, broadcasting binaries, reductions,
 * softmax and padding on contiguous float32 buffers.
 *
 * orr_ref_* are the scalar oracles, orr_cpu_* the threaded, vectorised
 * versions; each pair shares one contract. Buffers are row-major and
 * contiguous; shapes and strides are in elements. */
#ifndef ORR_KERNELS_ELEMENTWISE_H
#define ORR_KERNELS_ELEMENTWISE_H

#include "orrery.h"

/* out[idx] = a[idx·a_stride] op b[idx·b_stride] for every multi-index idx of
 * `shape` (out is contiguous in that shape). A stride of 0 broadcasts the
 * operand along that dim. ndim may be 0 (one element). MAX and MIN return
 * NaN when either operand is NaN, as torch.maximum/minimum do. */
void orr_ref_binary(float *out, const float *a, const int64_t *a_stride, const float *b, const int64_t *b_stride,
                    int ndim, const int64_t *shape, orr_binary_op op);
void orr_cpu_binary(float *out, const float *a, const int64_t *a_stride, const float *b, const int64_t *b_stride,
                    int ndim, const int64_t *shape, orr_binary_op op);

/* out[i] = op(a[i]); out may equal a. */
void orr_ref_unary(float *out, const float *a, int64_t n, orr_unary_op op);
void orr_cpu_unary(float *out, const float *a, int64_t n, orr_unary_op op);

/* out[i] = a[i]*scale + shift; out may equal a. */
void orr_ref_affine(float *out, const float *a, int64_t n, float scale, float shift);
void orr_cpu_affine(float *out, const float *a, int64_t n, float scale, float shift);

/* a seen as [outer, n, inner] reduced over n into out [outer, inner]. Sums
 * accumulate in double. n == 0 gives 0 for SUM and NaN for MEAN; AMAX/AMIN
 * need n > 0 and propagate NaN. */
void orr_ref_reduce(float *out, const float *a, int64_t outer, int64_t n, int64_t inner, orr_reduce_op op);
void orr_cpu_reduce(float *out, const float *a, int64_t outer, int64_t n, int64_t inner, orr_reduce_op op);

/* The reduction of all n elements, in double; same empty/NaN rules. The fast
 * version splits into chunks that depend on n only, so its result does not
 * depend on the thread count. */
double orr_ref_reduce_all(const float *a, int64_t n, orr_reduce_op op);
double orr_cpu_reduce_all(const float *a, int64_t n, orr_reduce_op op);

/* How many of the n values are NaN or ±Inf. */
int64_t orr_ref_count_nonfinite(const float *a, int64_t n);
int64_t orr_cpu_count_nonfinite(const float *a, int64_t n);

/* Softmax over n of a seen as [outer, n, inner], shifted by the maximum for
 * stability (a row of -Inf gives NaN, as in PyTorch); out may equal a. */
void orr_ref_softmax(float *out, const float *a, int64_t outer, int64_t n, int64_t inner);
void orr_cpu_softmax(float *out, const float *a, int64_t outer, int64_t n, int64_t inner);

/* out has shape in_shape[d] + pads[2d] + pads[2d+1] along each dim d; a
 * negative pad crops. Out-of-range indices read `value` (CONSTANT), the
 * nearest edge (REPLICATE) or the mirror image without repeating the edge
 * (REFLECT). The caller checks that every index maps inside `in`: REFLECT
 * needs pads < in_shape[d], REPLICATE needs in_shape[d] > 0 where out is
 * non-empty. */
void orr_ref_pad(float *out, const float *in, int ndim, const int64_t *in_shape, const int64_t *pads,
                 orr_pad_mode mode, float value);
void orr_cpu_pad(float *out, const float *in, int ndim, const int64_t *in_shape, const int64_t *pads,
                 orr_pad_mode mode, float value);

#endif /* ORR_KERNELS_ELEMENTWISE_H */
