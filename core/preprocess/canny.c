/* canny.c — OpenCV's Canny edge detector (imgproc/src/canny.cpp) for an
 * aperture of 3 and the L1 gradient, as cv2.Canny runs it on the frames of
 * the Transfer1 edge control. Integer arithmetic throughout, so the map is
 * exact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"

/* tan(22.5 degrees) in 15-bit fixed point */
#define CANNY_SHIFT 15
#define TG22 13573

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* 3x3 Sobel dx, dy at (y, x) of channel c, replicated borders. */
static void sobel(const uint8_t *img, int h, int w, int cn, int y, int x, int c, int *dx, int *dy) {
    int ym = clampi(y - 1, 0, h - 1), yp = clampi(y + 1, 0, h - 1);
    int xm = clampi(x - 1, 0, w - 1), xp = clampi(x + 1, 0, w - 1);
#define P(yy, xx) ((int)img[((size_t)(yy)*w + (xx)) * cn + c])
    *dx = (P(ym, xp) - P(ym, xm)) + 2 * (P(y, xp) - P(y, xm)) + (P(yp, xp) - P(yp, xm));
    *dy = (P(yp, xm) - P(ym, xm)) + 2 * (P(yp, x) - P(ym, x)) + (P(yp, xp) - P(ym, xp));
#undef P
}

orr_status orr_pre_canny(uint8_t *edges, const uint8_t *image, int h, int w, int cn, double low_thresh,
                         double high_thresh) {
    if (low_thresh > high_thresh) {
        double t = low_thresh;
        low_thresh = high_thresh;
        high_thresh = t;
    }
    int low = (int)floor(low_thresh), high = (int)floor(high_thresh);
    size_t n = (size_t)h * w;
    /* magnitude and gradient of the strongest channel, padded by a ring of
     * zeros; the map has a ring of 1 ("can not be an edge") */
    int mw = w + 2, mh = h + 2;
    int *mag = calloc((size_t)mw * mh, sizeof *mag);
    int *gx = malloc(n * sizeof *gx), *gy = malloc(n * sizeof *gy);
    uint8_t *map = malloc((size_t)mw * mh);
    size_t stack_cap = n + 16, top = 0;
    size_t *stack = malloc(stack_cap * sizeof *stack);
    if (!mag || !gx || !gy || !map || !stack) {
        free(mag), free(gx), free(gy), free(map), free(stack);
        return orr_error(ORR_ERR_MEMORY, "canny: out of host memory for a %dx%d image", w, h);
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int best = -1, bdx = 0, bdy = 0;
            for (int c = 0; c < cn; c++) {
                int dx, dy;
                sobel(image, h, w, cn, y, x, c, &dx, &dy);
                int m = abs(dx) + abs(dy);
                if (m > best) best = m, bdx = dx, bdy = dy; /* ties keep the first channel */
            }
            mag[(size_t)(y + 1) * mw + x + 1] = best;
            gx[(size_t)y * w + x] = bdx;
            gy[(size_t)y * w + x] = bdy;
        }
    memset(map, 1, (size_t)mw * mh);
    /* non-maximum suppression: 0 = maybe an edge, 1 = not, 2 = an edge */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t mi = (size_t)(y + 1) * mw + x + 1;
            int m = mag[mi];
            bool keep = false;
            if (m > low) {
                int xs = gx[(size_t)y * w + x], ys = gy[(size_t)y * w + x];
                int ax = abs(xs), ay = abs(ys) << CANNY_SHIFT;
                int tg22x = ax * TG22;
                if (ay < tg22x) {
                    keep = m > mag[mi - 1] && m >= mag[mi + 1];
                } else {
                    int tg67x = tg22x + (ax << (CANNY_SHIFT + 1));
                    if (ay > tg67x) {
                        keep = m > mag[mi - mw] && m >= mag[mi + mw];
                    } else {
                        int s = (xs ^ ys) < 0 ? -1 : 1;
                        keep = m > mag[mi - mw - s] && m > mag[mi + mw + s];
                    }
                }
            }
            if (!keep) continue;
            if (m > high) {
                map[mi] = 2;
                stack[top++] = mi;
            } else {
                map[mi] = 0;
            }
        }
    /* hysteresis: grow the edges through the maybe-pixels */
    static const int dy8[8] = {0, 0, -1, -1, -1, 1, 1, 1}, dx8[8] = {-1, 1, -1, 0, 1, -1, 0, 1};
    while (top) {
        size_t mi = stack[--top];
        for (int k = 0; k < 8; k++) {
            size_t q = mi + (ptrdiff_t)dy8[k] * mw + dx8[k];
            if (!map[q]) {
                map[q] = 2;
                stack[top++] = q; /* each pixel enters once: the stack holds at most n */
            }
        }
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) edges[(size_t)y * w + x] = map[(size_t)(y + 1) * mw + x + 1] == 2 ? 255 : 0;
    free(mag), free(gx), free(gy), free(map), free(stack);
    return ORR_OK;
}
