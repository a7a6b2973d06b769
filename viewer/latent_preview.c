/* latent_preview.c — a latent seen as RGB without the decoder: a fixed
 * linear mix of the standardised channels, stretched to the byte range.
 * The tokenizers' latents have no agreed colour basis, so the default mix
 * only needs to be stable from step to step, which keeps a live preview
 * from flickering. */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

/* Output colours span mean +- SPREAD standard deviations. */
#define SPREAD 2.5

orr_status orr_latent_preview(orr_tensor *frames, const orr_tensor *latent, const float *matrix) {
    const char *op = "latent_preview";
    char a[160], b[160];
    if (!frames || !latent) return orr_error(ORR_ERR_ARGUMENT, "%s: frames and latent must not be NULL", op);
    orr_status st = orr_check_cpu(op, "latent", latent);
    if (!st) st = orr_check_cpu(op, "frames", frames);
    if (st) return st;
    if ((latent->ndim != 4 && latent->ndim != 5) || (latent->ndim == 5 && latent->shape[0] < 1))
        return orr_error(ORR_ERR_SHAPE, "%s: latent is %s, expected [C,T,h,w] or [B,C,T,h,w]", op,
                         orr_tensor_describe(latent, a, sizeof a));
    const int64_t *s = latent->shape + (latent->ndim - 4);
    int64_t c = s[0], t = s[1], h = s[2], w = s[3];
    if (frames->dtype != ORR_U8 || frames->ndim != 4 || frames->shape[0] != t || frames->shape[1] != h ||
        frames->shape[2] != w || frames->shape[3] != 3)
        return orr_error(ORR_ERR_SHAPE, "%s: frames is %s, expected u8[%lld,%lld,%lld,3] for latent %s", op,
                         orr_tensor_describe(frames, a, sizeof a), (long long)t, (long long)h, (long long)w,
                         orr_tensor_describe(latent, b, sizeof b));
    if (c < 1) return orr_error(ORR_ERR_SHAPE, "%s: latent %s has no channels", op, orr_tensor_describe(latent, a, sizeof a));

    orr_tensor *batch0 = NULL, *tmp = NULL, *dense = NULL;
    const float *z;
    st = latent->ndim == 5 ? orr_tensor_select(&batch0, latent, 0, 0) : orr_tensor_view(&batch0, latent);
    if (!st) st = orr_input_f32(batch0, &tmp, &z);
    if (!st) st = orr_tensor_empty(&dense, ORR_U8, 4, frames->shape);
    int64_t plane = t * h * w;
    double *mean = NULL, *inv_std = NULL;
    float *mix = NULL;
    if (!st && (!(mean = calloc((size_t)c, sizeof *mean)) || !(inv_std = calloc((size_t)c, sizeof *inv_std)) ||
                !(mix = calloc((size_t)(3 * plane), sizeof *mix))))
        st = orr_error(ORR_ERR_MEMORY, "%s: out of memory for a latent %s", op, orr_tensor_describe(latent, a, sizeof a));

    for (int64_t ch = 0; !st && ch < c; ch++) {
        const float *x = z + ch * plane;
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < plane; i++) {
            if (!isfinite(x[i])) {
                st = orr_error(ORR_ERR_NONFINITE, "%s: latent channel %lld holds %g", op, (long long)ch, (double)x[i]);
                break;
            }
            sum += x[i];
            sq += (double)x[i] * x[i];
        }
        mean[ch] = sum / plane;
        double var = sq / plane - mean[ch] * mean[ch];
        inv_std[ch] = var > 1e-12 ? 1.0 / sqrt(var) : 0.0; /* a flat channel adds nothing */
    }
    for (int64_t ch = 0; !st && ch < c; ch++) {
        const float *x = z + ch * plane;
        for (int j = 0; j < 3; j++) {
            float m = matrix ? matrix[j * c + ch] : (ch % 3 == j ? 1.0f : 0.0f);
            if (m == 0.0f) continue;
            float scale = (float)(m * inv_std[ch]), shift = (float)(-mean[ch] * m * inv_std[ch]);
            float *y = mix + j * plane;
            for (int64_t i = 0; i < plane; i++) y[i] += x[i] * scale + shift;
        }
    }
    uint8_t *out = dense ? dense->data : NULL;
    for (int j = 0; !st && j < 3; j++) {
        const float *y = mix + j * plane;
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < plane; i++) {
            sum += y[i];
            sq += (double)y[i] * y[i];
        }
        double mu = sum / plane, var = sq / plane - mu * mu;
        double k = var > 1e-12 ? 127.5 / (SPREAD * sqrt(var)) : 0.0;
        for (int64_t i = 0; i < plane; i++) {
            double v = 127.5 + (y[i] - mu) * k;
            out[i * 3 + j] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
        }
    }
    if (!st) st = orr_copy(frames, dense);
    free(mean);
    free(inv_std);
    free(mix);
    orr_tensor_free(dense);
    orr_tensor_free(tmp);
    orr_tensor_free(batch0);
    return st;
}
