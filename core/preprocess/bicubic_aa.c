/* bicubic_aa.c — torchvision's resize(BICUBIC, antialias=True) of a u8
 * plane, as torch 1.13's CPU kernel computes it (UpSampleKernel.cpp,
 * _upsample_bicubic2d_aa): the u8 image as float32, a horizontal pass into
 * a float32 buffer, then a vertical pass; each output a normalised sum over
 * the taps within support = 2 * max(scale, 1) of Keys' cubic (a = -0.5)
 * stretched by the scale; clamp to [0, 255] and round half to even. The
 * float expressions keep torch's order and mixed float/double promotions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"

static float cubic_aa(float x) {
    const float a = -0.5f;
    x = fabsf(x);
    if (x < 1.0f) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2.0f) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0f;
}

typedef struct aa_taps {
    int *start, *count; /* per output index */
    float *w;           /* [out, span] */
    int span;
} aa_taps;

static orr_status taps_init(aa_taps *t, int in, int out) {
    float scale = (float)in / (float)out;
    float support = (float)((4 * 0.5) * (scale >= 1.0f ? scale : 1.0f));
    t->span = (int)ceilf(support) * 2 + 1;
    t->start = malloc((size_t)out * sizeof *t->start);
    t->count = malloc((size_t)out * sizeof *t->count);
    t->w = calloc((size_t)out * t->span, sizeof *t->w);
    if (!t->start || !t->count || !t->w) return orr_error(ORR_ERR_MEMORY, "resize: out of host memory");
    float invscale = scale >= 1.0f ? (float)(1.0 / scale) : 1.0f;
    for (int i = 0; i < out; i++) {
        float center = (float)(scale * (i + 0.5));
        int64_t lo = (int64_t)(center - support + 0.5), hi = (int64_t)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in) hi = in;
        int n = (int)(hi - lo);
        float *w = t->w + (size_t)i * t->span, total = 0.0f;
        for (int j = 0; j < n; j++) {
            w[j] = cubic_aa((float)(((double)((float)(j + lo) - center) + 0.5) * invscale));
            total += w[j];
        }
        for (int j = 0; j < n && total != 0.0f; j++) w[j] /= total;
        t->start[i] = (int)lo;
        t->count[i] = n;
    }
    return ORR_OK;
}

static void taps_free(aa_taps *t) { free(t->start), free(t->count), free(t->w); }

/* out[i] = sum_j src[(start_i + j) * stride] w_ij, in order. */
static float apply(const float *src, ptrdiff_t stride, const aa_taps *t, int i) {
    const float *w = t->w + (size_t)i * t->span;
    const float *s = src + (ptrdiff_t)t->start[i] * stride;
    float acc = s[0] * w[0];
    for (int j = 1; j < t->count[i]; j++) acc += s[(ptrdiff_t)j * stride] * w[j];
    return acc;
}

orr_status orr_pre_bicubic_aa(uint8_t *out, int oh, int ow, const uint8_t *plane, int h, int w) {
    if (oh == h && ow == w) { /* torch copies an unchanged size */
        memcpy(out, plane, (size_t)h * w);
        return ORR_OK;
    }
    aa_taps tx = {0}, ty = {0};
    float *src = malloc((size_t)h * w * sizeof *src), *mid = malloc((size_t)h * ow * sizeof *mid);
    orr_status st = src && mid ? ORR_OK : orr_error(ORR_ERR_MEMORY, "resize: out of host memory");
    if (!st && ow != w) st = taps_init(&tx, w, ow);
    if (!st && oh != h) st = taps_init(&ty, h, oh);
    if (!st) {
        for (size_t i = 0; i < (size_t)h * w; i++) src[i] = plane[i];
        /* the horizontal pass first (when the width changes), then the vertical */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < ow; x++)
                mid[(size_t)y * ow + x] = ow != w ? apply(src + (size_t)y * w, 1, &tx, x) : src[(size_t)y * w + x];
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float v = oh != h ? apply(mid + x, ow, &ty, y) : mid[(size_t)y * ow + x];
                v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
                out[(size_t)y * ow + x] = (uint8_t)nearbyintf(v);
            }
    }
    taps_free(&tx);
    taps_free(&ty);
    free(src), free(mid);
    return st;
}
