/* ref/rope.c — scalar oracle for rope.h: each rotated pair (p, q), with
 * rot(x)[p] = -x[q] and rot(x)[q] = x[p], read before it is written so that
 * out may equal x. */
#include "rope.h"

void orr_ref_rope(float *out, const float *x, const float *cos, const int64_t *cos_stride, const float *sin,
                  const int64_t *sin_stride, int row_ndim, const int64_t *row_shape, int64_t dim, bool interleaved) {
    int64_t rows = 1;
    for (int d = 0; d < row_ndim; d++) rows *= row_shape[d];
    for (int64_t r = 0; r < rows; r++) {
        int64_t rest = r, oc = 0, os = 0;
        for (int d = row_ndim - 1; d >= 0; d--) {
            int64_t k = rest % row_shape[d];
            rest /= row_shape[d];
            oc += k * cos_stride[d];
            os += k * sin_stride[d];
        }
        const float *c = cos + oc, *s = sin + os, *xr = x + r * dim;
        float *yr = out + r * dim;
        for (int64_t i = 0; i < dim / 2; i++) {
            const int64_t p = interleaved ? 2 * i : i, q = interleaved ? 2 * i + 1 : i + dim / 2;
            const float xp = xr[p], xq = xr[q];
            yr[p] = xp * c[p] + -xq * s[p];
            yr[q] = xq * c[q] + xp * s[q];
        }
    }
}
