/* ref/norm.c — scalar oracles for norm.h: two passes in double per row or
 * group, then the PyTorch formulas applied element by element. */
#include "norm.h"

#include <math.h>

/* Mean and 1/sqrt(biased variance + eps) of `runs` runs of n values each,
 * `step` apart, in double. */
static void moments(const float *x, int64_t runs, int64_t step, int64_t n, double eps, double *mean, double *rstd) {
    double s = 0, ss = 0;
    for (int64_t r = 0; r < runs; r++)
        for (int64_t i = 0; i < n; i++) s += x[r * step + i];
    const double m = s / (double)(runs * n);
    for (int64_t r = 0; r < runs; r++)
        for (int64_t i = 0; i < n; i++) ss += ((double)x[r * step + i] - m) * ((double)x[r * step + i] - m);
    *mean = m;
    *rstd = 1.0 / sqrt(ss / (double)(runs * n) + eps);
}

void orr_ref_group_norm(float *y, const int64_t *y_stride, const float *x, const int64_t *x_stride, int64_t batch,
                        int64_t channels, int64_t spatial, int64_t groups, const float *w, const float *b, float eps) {
    const int64_t per_group = channels / groups;
    for (int64_t n = 0; n < batch; n++)
        for (int64_t g = 0; g < groups; g++) {
            const int64_t c0 = g * per_group;
            double mean, rstd;
            moments(x + n * x_stride[0] + c0 * x_stride[1], per_group, x_stride[1], spatial, eps, &mean, &rstd);
            for (int64_t c = c0; c < c0 + per_group; c++) {
                const double wc = w ? w[c] : 1.0, bc = b ? b[c] : 0.0;
                const float *xc = x + n * x_stride[0] + c * x_stride[1];
                float *yc = y + n * y_stride[0] + c * y_stride[1];
                for (int64_t i = 0; i < spatial; i++) yc[i] = (float)(((double)xc[i] - mean) * rstd * wc + bc);
            }
        }
}

void orr_ref_layer_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, const float *b,
                        float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        double mean, rstd;
        moments(xr, 1, dim, dim, eps, &mean, &rstd);
        for (int64_t i = 0; i < dim; i++)
            yr[i] = (float)(((double)xr[i] - mean) * rstd * (w ? w[i] : 1.0) + (b ? b[i] : 0.0));
    }
}

/* T5LayerNorm/torch RMSNorm order: normalise, round to float, then scale. */
void orr_ref_rms_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        double ss = 0;
        for (int64_t i = 0; i < dim; i++) ss += (double)xr[i] * xr[i];
        const double scale = 1.0 / sqrt(ss / (double)dim + eps);
        for (int64_t i = 0; i < dim; i++) {
            float v = (float)(xr[i] * scale);
            yr[i] = w ? v * w[i] : v;
        }
    }
}
