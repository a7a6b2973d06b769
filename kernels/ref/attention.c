/* ref/attention.c — the scalar oracle for attention: for each query row,
 * the full row of scores in double, a plain softmax, a weighted sum of the
 * values. torch.nn.functional.scaled_dot_product_attention with a boolean
 * mask (True = attend), except that the causal diagonal is aligned to the
 * last query (key j > i + Sk - Sq is masked) and an empty row gives zeros
 * where PyTorch gives NaN. */
#include <math.h>
#include <stdlib.h>

#include "attention.h"
#include "internal.h"

static bool attended(const orr_attn_mask *mask, const orr_attn_dims *d, bool causal, int64_t b, int64_t h,
                     int64_t i, int64_t j) {
    if (causal && j > i + (d->kv_len - d->q_len)) return false;
    if (mask && mask->data) {
        const int64_t *s = mask->stride;
        if (mask->data[b * s[0] + h * s[1] + i * s[2] + j * s[3]] == 0.0f) return false;
    }
    return true;
}

orr_status orr_ref_attention(float *out, const float *q, const float *k, const float *v, const orr_attn_mask *mask,
                             const orr_attn_dims *d, float scale, bool causal) {
    int64_t Sk = d->kv_len, D = d->head_dim, Dv = d->v_dim;
    int64_t group = d->heads / d->kv_heads;
    double *scores = malloc((size_t)(Sk + Dv + 1) * sizeof *scores);
    if (!scores) return orr_error(ORR_ERR_MEMORY, "attention: out of memory for a row of %lld scores", (long long)Sk);
    double *acc = scores + Sk;

    for (int64_t b = 0; b < d->batch; b++) {
        for (int64_t h = 0; h < d->heads; h++) {
            int64_t kh = h / group;
            const float *qh = q + (b * d->heads + h) * d->q_len * D;
            const float *kb = k + (b * d->kv_heads + kh) * Sk * D;
            const float *vb = v + (b * d->kv_heads + kh) * Sk * Dv;
            float *oh = out + (b * d->heads + h) * d->q_len * Dv;
            for (int64_t i = 0; i < d->q_len; i++) {
                double max = -INFINITY;
                for (int64_t j = 0; j < Sk; j++) {
                    if (!attended(mask, d, causal, b, h, i, j)) {
                        scores[j] = -INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int64_t c = 0; c < D; c++) dot += (double)qh[i * D + c] * kb[j * D + c];
                    scores[j] = dot * scale;
                    if (scores[j] > max) max = scores[j];
                }
                for (int64_t c = 0; c < Dv; c++) acc[c] = 0;
                double sum = 0;
                if (max > -INFINITY) {
                    for (int64_t j = 0; j < Sk; j++) {
                        if (scores[j] == -INFINITY) continue;
                        double p = exp(scores[j] - max);
                        sum += p;
                        for (int64_t c = 0; c < Dv; c++) acc[c] += p * vb[j * Dv + c];
                    }
                }
                for (int64_t c = 0; c < Dv; c++) oh[i * Dv + c] = sum > 0 ? (float)(acc[c] / sum) : 0.0f;
            }
        }
    }
    free(scores);
    return ORR_OK;
}
