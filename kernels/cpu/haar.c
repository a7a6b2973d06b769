/* cpu/haar.c — Haar patching one level at a time, each level one pass of
 * 2x2x2 (or 2x2) butterflies: the three 1-D filter passes of the official
 * code fused, with the a^3 / (2 sqrt2) gain folded into one factor 1/8
 * (1/4 in 2-D; the inverse gains are exactly 1). Threaded over output rows;
 * levels past the first ping-pong through scratch buffers. */
#include <string.h>

#include "haar.h"
#include "internal.h"

typedef struct level_job {
    float *out;
    const float *in;
    int64_t g;            /* input channels at this level (per batch item) */
    int64_t ti, hi, wi;   /* input sizes; ti counts the repeated frames */
    int64_t to, ho, wo;   /* output sizes */
    int64_t repeat;       /* patch: virtual frames 0..repeat all read frame 0 */
    int64_t drop;         /* unpatch: leading output frames left out */
} level_job;

static int levels_of(int p) {
    int levels = 0;
    while ((1 << levels) < p) levels++;
    return levels;
}

/* The second element of a pair: past the end of an odd axis, the reflection. */
static inline int64_t pair_second(int64_t i, int64_t n) { return 2 * i + 1 < n ? 2 * i + 1 : n - 2; }

static void patch3d_rows(void *user, int64_t begin, int64_t end) {
    const level_job *j = user;
    int64_t plane_out = j->to * j->ho * j->wo, frames_in = j->ti - j->repeat;
    for (int64_t task = begin; task < end; task++) {
        int64_t plane = task / j->to, t = task % j->to;
        int64_t b = plane / j->g, c = plane % j->g;
        int64_t f0 = 2 * t - j->repeat, f1 = pair_second(t, j->ti) - j->repeat;
        const float *x0 = j->in + (plane * frames_in + (f0 > 0 ? f0 : 0)) * j->hi * j->wi;
        const float *x1 = j->in + (plane * frames_in + (f1 > 0 ? f1 : 0)) * j->hi * j->wi;
        float *o[8];
        for (int band = 0; band < 8; band++)
            o[band] = j->out + ((b * 8 + band) * j->g + c) * plane_out + t * j->ho * j->wo;
        for (int64_t y = 0; y < j->ho; y++) {
            int64_t h0 = 2 * y, h1 = pair_second(y, j->hi);
            const float *a = x0 + h0 * j->wi, *bb = x0 + h1 * j->wi, *cc = x1 + h0 * j->wi, *d = x1 + h1 * j->wi;
            for (int64_t x = 0; x < j->wo; x++) {
                int64_t w0 = 2 * x, w1 = pair_second(x, j->wi);
                /* p<dt><dh><dw>; first along T, then H, then W */
                float l00 = a[w0] + cc[w0], l01 = a[w1] + cc[w1], l10 = bb[w0] + d[w0], l11 = bb[w1] + d[w1];
                float h00 = a[w0] - cc[w0], h01 = a[w1] - cc[w1], h10 = bb[w0] - d[w0], h11 = bb[w1] - d[w1];
                float ll0 = l00 + l10, ll1 = l01 + l11, lh0 = l00 - l10, lh1 = l01 - l11;
                float hl0 = h00 + h10, hl1 = h01 + h11, hh0 = h00 - h10, hh1 = h01 - h11;
                int64_t at = y * j->wo + x;
                o[0][at] = 0.125f * (ll0 + ll1);
                o[1][at] = 0.125f * (ll0 - ll1);
                o[2][at] = 0.125f * (lh0 + lh1);
                o[3][at] = 0.125f * (lh0 - lh1);
                o[4][at] = 0.125f * (hl0 + hl1);
                o[5][at] = 0.125f * (hl0 - hl1);
                o[6][at] = 0.125f * (hh0 + hh1);
                o[7][at] = 0.125f * (hh0 - hh1);
            }
        }
    }
}

static void unpatch3d_rows(void *user, int64_t begin, int64_t end) {
    const level_job *j = user;
    int64_t plane_in = j->ti * j->hi * j->wi, frames_out = 2 * j->ti - j->drop;
    for (int64_t task = begin; task < end; task++) {
        int64_t plane = task / j->ti, t = task % j->ti;
        int64_t b = plane / j->g, c = plane % j->g;
        const float *i[8];
        for (int band = 0; band < 8; band++)
            i[band] = j->in + ((b * 8 + band) * j->g + c) * plane_in + t * j->hi * j->wi;
        /* output frames f0, f0 + 1; negative ones are dropped */
        int64_t f0 = 2 * t - j->drop, f1 = f0 + 1;
        float *y0 = f0 >= 0 ? j->out + (plane * frames_out + f0) * j->ho * j->wo : NULL;
        float *y1 = f1 >= 0 ? j->out + (plane * frames_out + f1) * j->ho * j->wo : NULL;
        for (int64_t y = 0; y < j->hi; y++) {
            for (int64_t x = 0; x < j->wi; x++) {
                int64_t at = y * j->wi + x;
                /* W first, then H, then T, as the transposed convolutions run */
                float ll0 = i[0][at] + i[1][at], ll1 = i[0][at] - i[1][at];
                float lh0 = i[2][at] + i[3][at], lh1 = i[2][at] - i[3][at];
                float hl0 = i[4][at] + i[5][at], hl1 = i[4][at] - i[5][at];
                float hh0 = i[6][at] + i[7][at], hh1 = i[6][at] - i[7][at];
                float l00 = ll0 + lh0, l01 = ll1 + lh1, l10 = ll0 - lh0, l11 = ll1 - lh1;
                float h00 = hl0 + hh0, h01 = hl1 + hh1, h10 = hl0 - hh0, h11 = hl1 - hh1;
                int64_t top = 2 * y * j->wo + 2 * x, bottom = top + j->wo;
                if (y0) {
                    y0[top] = l00 + h00;
                    y0[top + 1] = l01 + h01;
                    y0[bottom] = l10 + h10;
                    y0[bottom + 1] = l11 + h11;
                }
                if (y1) {
                    y1[top] = l00 - h00;
                    y1[top + 1] = l01 - h01;
                    y1[bottom] = l10 - h10;
                    y1[bottom + 1] = l11 - h11;
                }
            }
        }
    }
}

static void patch2d_rows(void *user, int64_t begin, int64_t end) {
    const level_job *j = user;
    int64_t plane_out = j->ho * j->wo;
    for (int64_t task = begin; task < end; task++) {
        int64_t plane = task / j->ho, y = task % j->ho;
        int64_t b = plane / j->g, c = plane % j->g;
        const float *top = j->in + (plane * j->hi + 2 * y) * j->wi;
        const float *bottom = j->in + (plane * j->hi + pair_second(y, j->hi)) * j->wi;
        float *o[4];
        for (int band = 0; band < 4; band++) o[band] = j->out + ((b * 4 + band) * j->g + c) * plane_out + y * j->wo;
        for (int64_t x = 0; x < j->wo; x++) {
            int64_t w0 = 2 * x, w1 = pair_second(x, j->wi);
            /* first along W, then H: W's band is the major one */
            float lw0 = top[w0] + top[w1], hw0 = top[w0] - top[w1];
            float lw1 = bottom[w0] + bottom[w1], hw1 = bottom[w0] - bottom[w1];
            o[0][x] = 0.25f * (lw0 + lw1);
            o[1][x] = 0.25f * (lw0 - lw1);
            o[2][x] = 0.25f * (hw0 + hw1);
            o[3][x] = 0.25f * (hw0 - hw1);
        }
    }
}

static void unpatch2d_rows(void *user, int64_t begin, int64_t end) {
    const level_job *j = user;
    int64_t plane_in = j->hi * j->wi;
    for (int64_t task = begin; task < end; task++) {
        int64_t plane = task / j->hi, y = task % j->hi;
        int64_t b = plane / j->g, c = plane % j->g;
        const float *i[4];
        for (int band = 0; band < 4; band++) i[band] = j->in + ((b * 4 + band) * j->g + c) * plane_in + y * j->wi;
        float *top = j->out + (plane * j->ho + 2 * y) * j->wo, *bottom = top + j->wo;
        for (int64_t x = 0; x < j->wi; x++) {
            /* H first, then W */
            float l0 = i[0][x] + i[1][x], l1 = i[0][x] - i[1][x];
            float h0 = i[2][x] + i[3][x], h1 = i[2][x] - i[3][x];
            top[2 * x] = l0 + h0;
            top[2 * x + 1] = l0 - h0;
            bottom[2 * x] = l1 + h1;
            bottom[2 * x + 1] = l1 - h1;
        }
    }
}

/* Scratch for the levels between the first and the last: two buffers of
 * `floats` each when there are three levels or more, one for two levels. */
typedef struct scratch {
    float *buf[2];
    size_t bytes;
} scratch;

static orr_status scratch_alloc(scratch *s, int levels, int64_t floats, const char *op) {
    memset(s, 0, sizeof *s);
    int n = levels > 2 ? 2 : levels - 1;
    if (n <= 0) return ORR_OK;
    s->bytes = (size_t)n * (size_t)floats * sizeof(float);
    void *p;
    orr_status st = orr_mem_alloc(ORR_CPU, s->bytes, &p);
    if (st) return orr_error_context(st, "%s: scratch: ", op);
    s->buf[0] = p;
    s->buf[1] = n > 1 ? s->buf[0] + floats : NULL;
    return ORR_OK;
}

static void scratch_free(scratch *s) {
    if (s->buf[0]) orr_mem_free(ORR_CPU, s->buf[0], s->bytes);
}

/* One level's output sizes and its number of row tasks: patching halves
 * every axis (T only in 3-D) and splits the output's rows, unpatching
 * doubles them and splits the input's; the last 3-D unpatch level drops the
 * p - 1 leading frames. */
static int64_t level_shape(level_job *j, bool temporal, bool patch, bool last, int p) {
    if (patch) {
        j->to = temporal ? (j->ti + 1) / 2 : 1;
        j->ho = (j->hi + 1) / 2;
        j->wo = (j->wi + 1) / 2;
        return temporal ? j->to : j->ho;
    }
    j->to = temporal ? 2 * j->ti : 1;
    j->ho = 2 * j->hi;
    j->wo = 2 * j->wi;
    j->drop = temporal && last ? p - 1 : 0;
    return temporal ? j->ti : j->hi;
}

static void level_next(level_job *j, int64_t bands, bool patch) {
    j->in = j->out;
    j->g = patch ? j->g * bands : j->g / bands;
    j->ti = j->to;
    j->hi = j->ho;
    j->wi = j->wo;
    j->repeat = 0;
}

/* The levels of one transform from the first level's job (`count` input
 * floats); the scratch holds the largest level output but the last. */
static orr_status run_levels(float *out, level_job first, int64_t batch, int64_t count, int p, bool temporal,
                             bool patch, const char *op) {
    int levels = levels_of(p);
    if (levels == 0) {
        memcpy(out, first.in, (size_t)count * sizeof *out);
        return ORR_OK;
    }
    const int64_t bands = temporal ? 8 : 4;
    void (*rows)(void *, int64_t, int64_t) =
        temporal ? (patch ? patch3d_rows : unpatch3d_rows) : (patch ? patch2d_rows : unpatch2d_rows);
    level_job j = first;
    int64_t largest = 0;
    for (int l = 0; l + 1 < levels; l++) {
        level_shape(&j, temporal, patch, false, p);
        level_next(&j, bands, patch);
        int64_t floats = batch * (patch ? j.g : j.g * bands) * j.ti * j.hi * j.wi;
        if (floats > largest) largest = floats;
    }
    scratch s;
    orr_status st = scratch_alloc(&s, levels, largest, op);
    if (st) return st;
    j = first;
    for (int l = 0; l < levels; l++) {
        bool last = l + 1 == levels;
        j.out = last ? out : s.buf[l & 1];
        orr_parallel_for(batch * j.g * level_shape(&j, temporal, patch, last, p), rows, &j);
        level_next(&j, bands, patch);
    }
    scratch_free(&s);
    return ORR_OK;
}

orr_status orr_cpu_haar3d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                int64_t w, int p) {
    level_job j = {.in = x, .g = channels, .ti = t + p - 1, .hi = h, .wi = w, .repeat = p - 1};
    return run_levels(out, j, batch, batch * channels * t * h * w, p, true, true, "haar3d_patch");
}

orr_status orr_cpu_haar3d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                  int64_t w, int p) {
    level_job j = {.in = x, .g = channels * p * p * p / 8, .ti = t, .hi = h, .wi = w};
    return run_levels(out, j, batch, batch * channels * t * h * w, p, true, false, "haar3d_unpatch");
}

orr_status orr_cpu_haar2d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                int p) {
    level_job j = {.in = x, .g = channels, .ti = 1, .hi = h, .wi = w};
    return run_levels(out, j, batch, batch * channels * h * w, p, false, true, "haar2d_patch");
}

orr_status orr_cpu_haar2d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                  int p) {
    level_job j = {.in = x, .g = channels * p * p / 4, .ti = 1, .hi = h, .wi = w};
    return run_levels(out, j, batch, batch * channels * h * w, p, false, false, "haar2d_unpatch");
}
