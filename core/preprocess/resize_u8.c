/* resize_u8.c — the two cv2.resize modes of the Transfer1 vis blur
 * (imgproc/src/resize.cpp, OpenCV 4.6): INTER_AREA by an integer factor
 * (resizeAreaFast) and INTER_LINEAR on u8 (resizeGeneric with 11-bit
 * fixed-point coefficients and the SSE2 vertical kernel's rounding). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"

#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)

void orr_pre_area_down(uint8_t *out, const uint8_t *image, int h, int w, int cn, int k) {
    int oh = h / k, ow = w / k;
    float scale = 1.0f / (float)(k * k);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < cn; c++) {
                int sum = 0;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++) sum += image[((size_t)(y * k + dy) * w + x * k + dx) * cn + c];
                /* the 2x2 fast path rounds (sum + 2) >> 2; the generic one cvRound(sum * scale) */
                out[((size_t)y * ow + x) * cn + c] =
                    k == 2 ? (uint8_t)((sum + 2) >> 2) : (uint8_t)lrintf((float)sum * scale);
            }
}

static short coef(float v) { return (short)lrintf(v * COEF_SCALE); }

/* Source index and the two fixed-point weights of each output index. */
static void linear_taps(int *src, short *a0, short *a1, int in, int out, bool clamp_index) {
    double scale = (double)in / out;
    for (int d = 0; d < out; d++) {
        float f = (float)((d + 0.5) * scale - 0.5);
        int s = (int)floorf(f);
        f -= (float)s;
        if (clamp_index && s < 0) f = 0, s = 0;
        if (clamp_index && s >= in - 1) f = 0, s = in - 1;
        src[d] = s;
        a0[d] = coef(1.0f - f);
        a1[d] = coef(f);
    }
}

static inline int16_t sat16(int v) { return (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v); }

/* VResizeLinearVec_32s8u (SSE2): ((hi16((s0 >> 4) b0) + hi16((s1 >> 4) b1)) + 2) >> 2. */
static uint8_t vertical_vec(int s0, int s1, short b0, short b1) {
    int16_t p0 = sat16(s0 >> 4), p1 = sat16(s1 >> 4);
    int16_t m0 = (int16_t)(((int)p0 * b0) >> 16), m1 = (int16_t)(((int)p1 * b1) >> 16);
    int16_t sum = sat16(m0 + m1);
    int r = (int16_t)(sum + 2) >> 2;
    return (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
}

/* The scalar tail: FixedPtCast<int, uchar, 22>. */
static uint8_t vertical_scalar(int s0, int s1, short b0, short b1) {
    int r = (s0 * b0 + s1 * b1 + (1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS);
    return (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
}

orr_status orr_pre_linear(uint8_t *out, int oh, int ow, const uint8_t *image, int h, int w, int cn) {
    int *xs = malloc((size_t)ow * sizeof *xs), *ys = malloc((size_t)oh * sizeof *ys);
    short *ax0 = malloc((size_t)ow * sizeof *ax0), *ax1 = malloc((size_t)ow * sizeof *ax1);
    short *by0 = malloc((size_t)oh * sizeof *by0), *by1 = malloc((size_t)oh * sizeof *by1);
    int row = ow * cn;
    int *rows = malloc((size_t)2 * row * sizeof *rows);
    if (!xs || !ys || !ax0 || !ax1 || !by0 || !by1 || !rows) {
        free(xs), free(ys), free(ax0), free(ax1), free(by0), free(by1), free(rows);
        return orr_error(ORR_ERR_MEMORY, "resize: out of host memory");
    }
    linear_taps(xs, ax0, ax1, w, ow, true);
    /* rows keep their weights; their indices are clamped when fetched */
    linear_taps(ys, by0, by1, h, oh, false);
    for (int y = 0; y < oh; y++) {
        for (int k = 0; k < 2; k++) {
            int sy = ys[y] + k;
            sy = sy < 0 ? 0 : sy > h - 1 ? h - 1 : sy;
            const uint8_t *s = image + (size_t)sy * w * cn;
            int *d = rows + k * row;
            for (int x = 0; x < ow; x++) {
                int s0 = xs[x], s1 = s0 + 1 < w ? s0 + 1 : s0;
                for (int c = 0; c < cn; c++) d[x * cn + c] = s[s0 * cn + c] * ax0[x] + s[s1 * cn + c] * ax1[x];
            }
        }
        /* the vector kernel covers whole 16-byte and then 8-byte blocks while
         * more than 8 remain; the rest is scalar */
        int x = 0, vec = row / 16 * 16;
        while (vec + 8 < row) vec += 8;
        uint8_t *o = out + (size_t)y * row;
        for (; x < vec; x++) o[x] = vertical_vec(rows[x], rows[row + x], by0[y], by1[y]);
        for (; x < row; x++) o[x] = vertical_scalar(rows[x], rows[row + x], by0[y], by1[y]);
    }
    free(xs), free(ys), free(ax0), free(ax1), free(by0), free(by1), free(rows);
    return ORR_OK;
}
