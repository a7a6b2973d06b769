/* ref/linear.c — scalar oracles for the matrix products: plain loops with
 * double accumulation, as obviously right as possible. */
#include "linear.h"

static double weight_at(const void *w, orr_dtype dtype, int64_t index) {
    switch (dtype) {
    case ORR_BF16: return orr_bf16_to_f32(((const uint16_t *)w)[index]);
    case ORR_F16: return orr_f16_to_f32(((const uint16_t *)w)[index]);
    default: return ((const float *)w)[index];
    }
}

void orr_ref_linear(float *y, int64_t ldy, const float *x, int64_t ldx, const void *w, orr_dtype w_dtype,
                    int64_t ldw, const float *b, int64_t rows, int64_t in, int64_t out) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < out; j++) {
            double acc = b ? b[j] : 0.0;
            for (int64_t k = 0; k < in; k++) acc += (double)x[i * ldx + k] * weight_at(w, w_dtype, j * ldw + k);
            y[i * ldy + j] = (float)acc;
        }
}

void orr_ref_matmul(float *c, const float *a, const float *b, const orr_matmul_shape *s) {
    int64_t batch = 1;
    for (int d = 0; d < s->batch_ndim; d++) batch *= s->batch_shape[d];
    for (int64_t q = 0; q < batch; q++) {
        int64_t rest = q, ao = 0, bo = 0, co = 0;
        for (int d = s->batch_ndim - 1; d >= 0; d--) {
            int64_t idx = rest % s->batch_shape[d];
            rest /= s->batch_shape[d];
            ao += idx * s->a_batch_stride[d];
            bo += idx * s->b_batch_stride[d];
            co += idx * s->c_batch_stride[d];
        }
        for (int64_t i = 0; i < s->m; i++)
            for (int64_t j = 0; j < s->n; j++) {
                double acc = 0.0;
                for (int64_t k = 0; k < s->k; k++)
                    acc += (double)a[ao + i * s->a_rs + k * s->a_cs] * b[bo + k * s->b_rs + j * s->b_cs];
                c[co + i * s->c_rs + j * s->c_cs] = (float)acc;
            }
    }
}
