/* cpu/resize.c — resize through per-axis tables of source indices and
 * weights (built once, with PyTorch's float coordinate rules; see
 * ref/resize.c), then threaded over output rows: each row is a weighted sum
 * of the few input rows its (t, h) taps name, each gathered through the W
 * table. An axis whose size does not change is the identity in every mode. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "resize.h"

typedef struct axis_table {
    int taps;       /* 1, 2 or 4 */
    int64_t *index; /* [out][taps] */
    float *weight;  /* [out][taps] */
} axis_table;

typedef struct resize_job {
    float *out;
    const float *x;
    int64_t in[3], size[3];
    axis_table axis[3];
} resize_job;

static float cubic_near(float x, float a) { return ((a + 2) * x - (a + 3)) * x * x + 1; }
static float cubic_far(float x, float a) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; }

static void fill_axis(axis_table *t, orr_resize_mode mode, int64_t in, int64_t out, bool align_corners) {
    for (int64_t o = 0; o < out; o++) {
        int64_t *index = t->index + o * t->taps;
        float *weight = t->weight + o * t->taps;
        if (t->taps == 1) {
            int64_t i = o;
            if (mode == ORR_RESIZE_NEAREST && out != in)
                i = out == 2 * in ? o / 2 : (int64_t)floorf((float)o * ((float)in / (float)out));
            index[0] = i < in - 1 ? i : in - 1;
            weight[0] = 1.0f;
            continue;
        }
        bool cubic = t->taps == 4;
        float scale = align_corners ? (out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f) : (float)in / (float)out;
        float src = align_corners ? scale * (float)o : scale * ((float)o + 0.5f) - 0.5f;
        if (!cubic && src < 0.0f) src = 0.0f;
        int64_t i0 = (int64_t)floorf(src);
        if (i0 > in - 1) i0 = in - 1;
        float l = fminf(fmaxf(src - (float)i0, 0.0f), 1.0f);
        if (!cubic) {
            index[0] = i0;
            index[1] = i0 < in - 1 ? i0 + 1 : i0;
            weight[0] = 1.0f - l;
            weight[1] = l;
            continue;
        }
        const float a = -0.75f;
        weight[0] = cubic_far(l + 1.0f, a);
        weight[1] = cubic_near(l, a);
        weight[2] = cubic_near(1.0f - l, a);
        weight[3] = cubic_far(2.0f - l, a);
        for (int k = 0; k < 4; k++) {
            int64_t i = i0 - 1 + k;
            index[k] = i < 0 ? 0 : i > in - 1 ? in - 1 : i;
        }
    }
}

static int taps_of(orr_resize_mode mode, int64_t in, int64_t out) {
    if (in == out || mode == ORR_RESIZE_NEAREST) return 1;
    return mode == ORR_RESIZE_BICUBIC ? 4 : 2;
}

static void resize_rows(void *user, int64_t begin, int64_t end) {
    const resize_job *j = user;
    const axis_table *at = &j->axis[0], *ah = &j->axis[1], *aw = &j->axis[2];
    int64_t Ti = j->in[0], Hi = j->in[1], Wi = j->in[2], To = j->size[0], Ho = j->size[1], Wo = j->size[2];
    int tw = aw->taps;
    for (int64_t row = begin; row < end; row++) {
        int64_t y = row % Ho, t = (row / Ho) % To, plane = row / (Ho * To);
        float *o = j->out + row * Wo;
        bool first = true;
        for (int a = 0; a < at->taps; a++) {
            for (int b = 0; b < ah->taps; b++) {
                float w = at->weight[t * at->taps + a] * ah->weight[y * ah->taps + b];
                const float *r = j->x + ((plane * Ti + at->index[t * at->taps + a]) * Hi +
                                         ah->index[y * ah->taps + b]) * Wi;
                for (int64_t x = 0; x < Wo; x++) {
                    const int64_t *ix = aw->index + x * tw;
                    const float *wx = aw->weight + x * tw;
                    float v = wx[0] * r[ix[0]];
                    for (int c = 1; c < tw; c++) v += wx[c] * r[ix[c]];
                    o[x] = first ? w * v : o[x] + w * v;
                }
                first = false;
            }
        }
    }
}

orr_status orr_cpu_resize(float *out, const float *x, int64_t planes, const int64_t in_size[3],
                          const int64_t out_size[3], orr_resize_mode mode, bool align_corners) {
    resize_job job = {.out = out, .x = x};
    int64_t entries = 0;
    for (int k = 0; k < 3; k++) {
        job.in[k] = in_size[k];
        job.size[k] = out_size[k];
        job.axis[k].taps = taps_of(mode, in_size[k], out_size[k]);
        entries += job.axis[k].taps * out_size[k];
    }
    int64_t *index = malloc((size_t)entries * sizeof *index);
    float *weight = malloc((size_t)entries * sizeof *weight);
    if (!index || !weight) {
        free(index);
        free(weight);
        return orr_error(ORR_ERR_MEMORY, "resize: out of memory for %lld table entries", (long long)entries);
    }
    int64_t at = 0;
    for (int k = 0; k < 3; k++) {
        job.axis[k].index = index + at;
        job.axis[k].weight = weight + at;
        fill_axis(&job.axis[k], mode, in_size[k], out_size[k], align_corners);
        at += job.axis[k].taps * out_size[k];
    }
    orr_parallel_for(planes * out_size[0] * out_size[1], resize_rows, &job);
    free(index);
    free(weight);
    return ORR_OK;
}
