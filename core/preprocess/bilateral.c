/* bilateral.c — OpenCV 4.6's bilateralFilter on u8 images
 * (imgproc/src/bilateral_filter.dispatch.cpp and .simd.hpp), as the
 * Transfer1 vis (blur) control runs it through cv2.bilateralFilter.
 *
 * The weights are OpenCV's float tables: exp(-r^2 / 2 sigma_space^2) over
 * the disc r <= radius and exp(-i^2 / 2 sigma_color^2) of the summed
 * absolute channel differences. The float sums follow the AVX2 kernel that
 * produced the official numbers: pixels in whole vectors of 32 accumulate
 * kernel point by kernel point with fused multiply-adds and divide as
 * round(sum * (1 / wsum)); the pixels left over (rows shorter than 32)
 * take the kernel points four at a time, summing each group's four
 * products pairwise before adding it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"

#define SIMD_PIXELS 32 /* v_uint8 lanes of the AVX2 kernel */

/* OpenCV's borderInterpolate for BORDER_REFLECT_101. */
static int reflect101(int p, int len) {
    if (len == 1) return 0;
    while ((unsigned)p >= (unsigned)len) p = p < 0 ? -p : len - 1 - (p - len) - 1;
    return p;
}

static uint8_t round_u8(float v) {
    long r = lrintf(v); /* cvRound: to nearest, ties to even */
    return (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
}

orr_status orr_pre_bilateral(uint8_t *out, const uint8_t *image, int h, int w, int cn, int d, double sigma_color,
                             double sigma_space) {
    if (cn != 1 && cn != 3) return orr_error(ORR_ERR_ARGUMENT, "bilateral_filter: %d channels (1 or 3)", cn);
    if (sigma_color <= 0) sigma_color = 1;
    if (sigma_space <= 0) sigma_space = 1;
    double color_coeff = -0.5 / (sigma_color * sigma_color), space_coeff = -0.5 / (sigma_space * sigma_space);
    int radius = d <= 0 ? (int)lrint(sigma_space * 1.5) : d / 2;
    if (radius < 1) radius = 1;
    int diam = 2 * radius + 1, pw = w + 2 * radius, ph = h + 2 * radius;
    float *color_weight = malloc((size_t)256 * cn * sizeof(float));
    float *space_weight = malloc((size_t)diam * diam * sizeof(float));
    int *space_dy = malloc((size_t)diam * diam * sizeof(int)), *space_dx = malloc((size_t)diam * diam * sizeof(int));
    uint8_t *pad = malloc((size_t)pw * ph * cn);
    float *acc = malloc((size_t)w * 4 * sizeof(float));
    if (!color_weight || !space_weight || !space_dy || !space_dx || !pad || !acc) {
        free(color_weight), free(space_weight), free(space_dy), free(space_dx), free(pad), free(acc);
        return orr_error(ORR_ERR_MEMORY, "bilateral_filter: out of host memory");
    }
    for (int i = 0; i < 256 * cn; i++) color_weight[i] = (float)exp(i * i * color_coeff);
    int maxk = 0;
    for (int i = -radius; i <= radius; i++)
        for (int j = -radius; j <= radius; j++) {
            double r = sqrt((double)i * i + (double)j * j);
            if (r > radius) continue;
            space_weight[maxk] = (float)exp(r * r * space_coeff);
            space_dy[maxk] = i;
            space_dx[maxk++] = j;
        }
    /* copyMakeBorder(BORDER_DEFAULT) */
    for (int y = 0; y < ph; y++) {
        int sy = reflect101(y - radius, h);
        for (int x = 0; x < pw; x++) {
            int sx = reflect101(x - radius, w);
            memcpy(pad + ((size_t)y * pw + x) * cn, image + ((size_t)sy * w + sx) * cn, (size_t)cn);
        }
    }
    int vec = w / SIMD_PIXELS * SIMD_PIXELS;
    for (int y = 0; y < h; y++) {
        float *wsum = acc, *sum = acc + w; /* sum[c * w + x] */
        memset(acc, 0, (size_t)w * 4 * sizeof(float));
        const uint8_t *center = pad + ((size_t)(y + radius) * pw + radius) * cn;
        int k = 0;
        for (; k <= maxk - 4 || k < maxk; k += k <= maxk - 4 ? 4 : 1) {
            int group = k <= maxk - 4 ? 4 : 1;
            for (int x = 0; x < w; x++) {
                const uint8_t *r = center + (size_t)x * cn;
                float wk[4], vk[4][3];
                for (int g = 0; g < group; g++) {
                    const uint8_t *p = r + ((ptrdiff_t)space_dy[k + g] * pw + space_dx[k + g]) * cn;
                    int diff = 0;
                    for (int c = 0; c < cn; c++) {
                        diff += abs((int)p[c] - (int)r[c]);
                        vk[g][c] = (float)p[c];
                    }
                    wk[g] = space_weight[k + g] * color_weight[diff];
                }
                if (x < vec || group == 1) {
                    /* vector lanes (and single points): one point at a time */
                    for (int g = 0; g < group; g++) {
                        wsum[x] += wk[g];
                        for (int c = 0; c < cn; c++) sum[c * w + x] = fmaf(vk[g][c], wk[g], sum[c * w + x]);
                    }
                } else {
                    /* the scalar tail: v_reduce_sum of the four, pairwise */
                    wsum[x] += (wk[0] + wk[1]) + (wk[2] + wk[3]);
                    for (int c = 0; c < cn; c++) {
                        float p0 = vk[0][c] * wk[0], p1 = vk[1][c] * wk[1], p2 = vk[2][c] * wk[2],
                              p3 = vk[3][c] * wk[3];
                        sum[c * w + x] += (p0 + p1) + (p2 + p3);
                    }
                }
            }
        }
        uint8_t *o = out + (size_t)y * w * cn;
        for (int x = 0; x < w; x++) {
            float inv = 1.0f / wsum[x];
            for (int c = 0; c < cn; c++) o[(size_t)x * cn + c] = round_u8(inv * sum[c * w + x]);
        }
    }
    free(color_weight), free(space_weight), free(space_dy), free(space_dx), free(pad), free(acc);
    return ORR_OK;
}
