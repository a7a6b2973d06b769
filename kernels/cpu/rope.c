/* cpu/rope.c — the fast version of rope.h: rows spread over the thread
 * pool, an odometer for the broadcast cos/sin offsets, and per-row loops
 * over the halves (or over the pairs) that the compiler vectorises. */
#include "rope.h"

#include <assert.h>
#include <string.h>

#include "orrery.h"

enum { SERIAL_WORK = 1 << 15, PIECE = 64 };

typedef struct rope_job {
    float *out;
    const float *x, *cos, *sin;
    const int64_t *cos_stride, *sin_stride, *row_shape;
    int row_ndim;
    int64_t dim;
    bool interleaved;
} rope_job;

/* Each piece is computed into a local buffer (which cannot alias the
 * inputs, so the loop vectorises) and then stored: out may equal x. */
static void rotate_half_row(float *y, const float *x, const float *c, const float *s, int64_t half) {
    float lo[PIECE], hi[PIECE];
    for (int64_t i0 = 0; i0 < half; i0 += PIECE) {
        const int64_t n = half - i0 < PIECE ? half - i0 : PIECE;
        const float *x1 = x + i0, *x2 = x + half + i0;
        const float *c1 = c + i0, *c2 = c + half + i0, *s1 = s + i0, *s2 = s + half + i0;
        for (int64_t i = 0; i < n; i++) {
            lo[i] = x1[i] * c1[i] - x2[i] * s1[i];
            hi[i] = x2[i] * c2[i] + x1[i] * s2[i];
        }
        memcpy(y + i0, lo, (size_t)n * sizeof(float));
        memcpy(y + half + i0, hi, (size_t)n * sizeof(float));
    }
}

static void rotate_pairs_row(float *y, const float *x, const float *c, const float *s, int64_t pairs) {
    float buf[2 * PIECE];
    for (int64_t i0 = 0; i0 < pairs; i0 += PIECE) {
        const int64_t n = pairs - i0 < PIECE ? pairs - i0 : PIECE;
        const float *xp = x + 2 * i0, *cp = c + 2 * i0, *sp = s + 2 * i0;
        for (int64_t i = 0; i < n; i++) {
            buf[2 * i] = xp[2 * i] * cp[2 * i] - xp[2 * i + 1] * sp[2 * i];
            buf[2 * i + 1] = xp[2 * i + 1] * cp[2 * i + 1] + xp[2 * i] * sp[2 * i + 1];
        }
        memcpy(y + 2 * i0, buf, (size_t)(2 * n) * sizeof(float));
    }
}

static void rope_range(void *user, int64_t begin, int64_t end) {
    const rope_job *job = user;
    const int64_t dim = job->dim;
    int64_t idx[ORR_MAX_DIMS] = {0}, oc = 0, os = 0, rest = begin;
    for (int d = job->row_ndim - 1; d >= 0; d--) {
        idx[d] = rest % job->row_shape[d];
        rest /= job->row_shape[d];
        oc += idx[d] * job->cos_stride[d];
        os += idx[d] * job->sin_stride[d];
    }
    for (int64_t r = begin; r < end; r++) {
        const float *x = job->x + r * dim;
        float *y = job->out + r * dim;
        if (job->interleaved) rotate_pairs_row(y, x, job->cos + oc, job->sin + os, dim / 2);
        else rotate_half_row(y, x, job->cos + oc, job->sin + os, dim / 2);
        for (int d = job->row_ndim - 1; d >= 0; d--) {
            oc += job->cos_stride[d];
            os += job->sin_stride[d];
            if (++idx[d] < job->row_shape[d]) break;
            oc -= job->cos_stride[d] * job->row_shape[d];
            os -= job->sin_stride[d] * job->row_shape[d];
            idx[d] = 0;
        }
    }
}

void orr_cpu_rope(float *out, const float *x, const float *cos, const int64_t *cos_stride, const float *sin,
                  const int64_t *sin_stride, int row_ndim, const int64_t *row_shape, int64_t dim, bool interleaved) {
    assert(row_ndim >= 0 && row_ndim <= ORR_MAX_DIMS);
    int64_t rows = 1;
    for (int d = 0; d < row_ndim; d++) rows *= row_shape[d];
    if (rows == 0 || dim == 0) return;
    rope_job job = {.out = out, .x = x, .cos = cos, .sin = sin, .cos_stride = cos_stride,
                    .sin_stride = sin_stride, .row_shape = row_shape, .row_ndim = row_ndim, .dim = dim,
                    .interleaved = interleaved};
    if (rows * dim < SERIAL_WORK) rope_range(&job, 0, rows);
    else orr_parallel_for(rows, rope_range, &job);
}
