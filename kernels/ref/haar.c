/* ref/haar.c — the scalar oracle for Haar patching, written the way the
 * official Patcher3D/Patcher compute it: one 1-D filter pass per axis
 * (stride 2, taps [a, a] for the low band and [a, -a] for the high band,
 * a = 1/sqrt2, reflect padding of one element at the end of an odd axis), the
 * bands concatenated low first along each axis, then the rescale; the
 * inverse is the transposed passes in the reverse axis order. In double. */
#include <math.h>
#include <stdlib.h>

#include "haar.h"
#include "internal.h"

int64_t orr_haar_patched_len(int64_t n, int p) {
    for (int s = p; s > 1; s /= 2) n = (n + 1) / 2;
    return n;
}

static int levels_of(int p) {
    int levels = 0;
    while ((1 << levels) < p) levels++;
    return levels;
}

/* One analysis pass along `axis` of the last three dims: in [outer, g, n0,
 * n1, n2] -> out [outer, 2, g, ...] with that axis halved (rounding up). */
static void analyse(double *out, const double *in, int64_t outer, int64_t g, const int64_t n[3], int axis) {
    int64_t m[3] = {n[0], n[1], n[2]};
    m[axis] = (n[axis] + 1) / 2;
    int64_t in_stride[3] = {n[1] * n[2], n[2], 1};
    int64_t in_block = n[0] * n[1] * n[2], out_block = m[0] * m[1] * m[2];
    for (int64_t o = 0; o < outer; o++)
        for (int band = 0; band < 2; band++)
            for (int64_t c = 0; c < g; c++) {
                const double *src = in + (o * g + c) * in_block;
                double *dst = out + ((o * 2 + band) * g + c) * out_block;
                for (int64_t i0 = 0; i0 < m[0]; i0++)
                    for (int64_t i1 = 0; i1 < m[1]; i1++)
                        for (int64_t i2 = 0; i2 < m[2]; i2++) {
                            int64_t idx[3] = {i0, i1, i2};
                            int64_t first = 2 * idx[axis], second = first + 1;
                            if (second == n[axis]) second = n[axis] - 2; /* reflect */
                            idx[axis] = 0;
                            int64_t base = idx[0] * in_stride[0] + idx[1] * in_stride[1] + idx[2] * in_stride[2];
                            double x0 = src[base + first * in_stride[axis]], x1 = src[base + second * in_stride[axis]];
                            dst[(i0 * m[1] + i1) * m[2] + i2] = band == 0 ? M_SQRT1_2 * x0 + M_SQRT1_2 * x1
                                                                          : M_SQRT1_2 * x0 - M_SQRT1_2 * x1;
                        }
            }
}

/* The transposed pass: in [outer, 2, g, n0, n1, n2] (low, high) -> out
 * [outer, g, ...] with that axis doubled. */
static void synthesise(double *out, const double *in, int64_t outer, int64_t g, const int64_t n[3], int axis) {
    int64_t m[3] = {n[0], n[1], n[2]};
    m[axis] = 2 * n[axis];
    int64_t in_block = n[0] * n[1] * n[2];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < g; c++) {
            const double *low = in + (o * 2 * g + c) * in_block, *high = low + g * in_block;
            double *dst = out + (o * g + c) * m[0] * m[1] * m[2];
            for (int64_t i0 = 0; i0 < m[0]; i0++)
                for (int64_t i1 = 0; i1 < m[1]; i1++)
                    for (int64_t i2 = 0; i2 < m[2]; i2++) {
                        int64_t idx[3] = {i0, i1, i2};
                        int odd = (int)(idx[axis] & 1);
                        idx[axis] /= 2;
                        int64_t s = (idx[0] * n[1] + idx[1]) * n[2] + idx[2];
                        dst[(i0 * m[1] + i1) * m[2] + i2] = odd ? M_SQRT1_2 * low[s] - M_SQRT1_2 * high[s]
                                                                : M_SQRT1_2 * low[s] + M_SQRT1_2 * high[s];
                    }
        }
}

/* Runs `passes` analysis (or synthesis) passes per level over a [B, C, n0, n1,
 * n2] volume held in buf[0], ping-ponging with buf[1]; returns the buffer
 * holding the result and updates channels and n. */
static double *transform(double *buf[2], int64_t batch, int64_t *channels, int64_t n[3], int levels,
                         const int *axes, int passes, bool inverse, double rescale) {
    int cur = 0;
    for (int level = 0; level < levels; level++) {
        int64_t bands = 1;
        for (int k = 0; k < passes; k++) {
            int axis = axes[k];
            if (!inverse) {
                analyse(buf[!cur], buf[cur], batch * bands, *channels, n, axis);
                n[axis] = (n[axis] + 1) / 2;
                bands *= 2;
            } else {
                int64_t g = *channels >> passes;
                bands = (int64_t)1 << (passes - 1 - k);
                synthesise(buf[!cur], buf[cur], batch * bands, g, n, axis);
                n[axis] *= 2;
            }
            cur = !cur;
        }
        *channels = inverse ? *channels >> passes : *channels << passes;
        int64_t total = batch * *channels * n[0] * n[1] * n[2];
        for (int64_t i = 0; i < total; i++) buf[cur][i] *= rescale;
    }
    return buf[cur];
}

/* Buffers big enough for every intermediate of the transform. */
static orr_status alloc_buffers(double *buf[2], int64_t elements, const char *op) {
    buf[0] = malloc((size_t)elements * sizeof(double));
    buf[1] = malloc((size_t)elements * sizeof(double));
    if (buf[0] && buf[1]) return ORR_OK;
    free(buf[0]);
    free(buf[1]);
    return orr_error(ORR_ERR_MEMORY, "%s: out of memory for %lld doubles", op, (long long)elements);
}

/* The largest volume any pass of a patch transform reaches: an odd axis
 * rounds up, so after l levels an axis of n holds at most n + 2^l - 1. */
static int64_t patch_elements(int64_t batch, int64_t channels, const int64_t n[3], int p, int first_axis) {
    int64_t e = batch * channels;
    for (int k = 0; k < 3; k++) e *= k < first_axis ? n[k] : n[k] + p - 1;
    return e;
}

orr_status orr_ref_haar3d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                int64_t w, int p) {
    int64_t n[3] = {t + p - 1, h, w};
    double *buf[2];
    orr_status st = alloc_buffers(buf, patch_elements(batch, channels, n, p, 0), "haar3d_patch");
    if (st) return st;
    /* frame 0 repeated p times, then frames 1.. */
    int64_t frame = h * w;
    for (int64_t bc = 0; bc < batch * channels; bc++)
        for (int64_t f = 0; f < n[0]; f++) {
            int64_t src = f < p ? 0 : f - (p - 1);
            for (int64_t i = 0; i < frame; i++)
                buf[0][(bc * n[0] + f) * frame + i] = x[(bc * t + src) * frame + i];
        }
    static const int axes[3] = {0, 1, 2};
    int64_t c = channels;
    double *res = transform(buf, batch, &c, n, levels_of(p), axes, 3, false, 1.0 / (2.0 * M_SQRT2));
    int64_t total = batch * c * n[0] * n[1] * n[2];
    for (int64_t i = 0; i < total; i++) out[i] = (float)res[i];
    free(buf[0]);
    free(buf[1]);
    return ORR_OK;
}

orr_status orr_ref_haar3d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t t, int64_t h,
                                  int64_t w, int p) {
    int64_t c = channels * p * p * p, n[3] = {t, h, w};
    int64_t elements = batch * c * t * h * w;
    double *buf[2];
    orr_status st = alloc_buffers(buf, elements, "haar3d_unpatch");
    if (st) return st;
    for (int64_t i = 0; i < elements; i++) buf[0][i] = x[i];
    /* the transposed passes run W, H, T */
    static const int axes[3] = {2, 1, 0};
    double *res = transform(buf, batch, &c, n, levels_of(p), axes, 3, true, 2.0 * M_SQRT2);
    /* drop the p-1 copies of frame 0 */
    int64_t frame = n[1] * n[2], kept = n[0] - (p - 1);
    for (int64_t bc = 0; bc < batch * c; bc++)
        for (int64_t f = 0; f < kept; f++)
            for (int64_t i = 0; i < frame; i++)
                out[(bc * kept + f) * frame + i] = (float)res[(bc * n[0] + f + p - 1) * frame + i];
    free(buf[0]);
    free(buf[1]);
    return ORR_OK;
}

orr_status orr_ref_haar2d_patch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                int p) {
    int64_t n[3] = {1, h, w};
    double *buf[2];
    orr_status st = alloc_buffers(buf, patch_elements(batch, channels, n, p, 1), "haar2d_patch");
    if (st) return st;
    for (int64_t i = 0; i < batch * channels * h * w; i++) buf[0][i] = x[i];
    /* Patcher filters W first, so W's band is the major one */
    static const int axes[2] = {2, 1};
    int64_t c = channels;
    double *res = transform(buf, batch, &c, n, levels_of(p), axes, 2, false, 0.5);
    for (int64_t i = 0; i < batch * c * n[1] * n[2]; i++) out[i] = (float)res[i];
    free(buf[0]);
    free(buf[1]);
    return ORR_OK;
}

orr_status orr_ref_haar2d_unpatch(float *out, const float *x, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                  int p) {
    int64_t c = channels * p * p, n[3] = {1, h, w};
    int64_t elements = batch * c * h * w;
    double *buf[2];
    orr_status st = alloc_buffers(buf, elements, "haar2d_unpatch");
    if (st) return st;
    for (int64_t i = 0; i < elements; i++) buf[0][i] = x[i];
    static const int axes[2] = {1, 2};
    double *res = transform(buf, batch, &c, n, levels_of(p), axes, 2, true, 2.0);
    for (int64_t i = 0; i < elements; i++) out[i] = (float)res[i];
    free(buf[0]);
    free(buf[1]);
    return ORR_OK;
}
