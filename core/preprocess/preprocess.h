/* preprocess.h — the image kernels behind the Transfer1 control
 * preprocessors, each reproducing the library the official code calls
 * (OpenCV 4.6, torch 1.13 / torchvision 0.14) to the last uint8 on
 * interleaved images: u8 rows of width*channels bytes. */
#ifndef ORR_PREPROCESS_H
#define ORR_PREPROCESS_H

#include "internal.h"

/* cv2.Canny(image, low, high) with aperture 3 and the L1 gradient: 3x3
 * Sobel with replicated borders, per pixel the channel of largest |dx|+|dy|,
 * non-maximum suppression in four sectors, hysteresis over 8-neighbours.
 * edges: h*w bytes of 0 or 255. */
orr_status orr_pre_canny(uint8_t *edges, const uint8_t *image, int h, int w, int channels, double low, double high);

/* cv2.bilateralFilter(image, d, sigma_color, sigma_space) on 1 or 3
 * channels, border reflect-101, with the summation order and rounding of
 * OpenCV 4.6's AVX2 kernel. */
orr_status orr_pre_bilateral(uint8_t *out, const uint8_t *image, int h, int w, int channels, int d, double sigma_color,
                             double sigma_space);

/* cv2.resize(INTER_AREA) by an integer factor k in both directions (the
 * block average; k = 2 rounds halves up as OpenCV's fast path, other k
 * round halves to even). out is (h/k) x (w/k). */
void orr_pre_area_down(uint8_t *out, const uint8_t *image, int h, int w, int channels, int k);

/* cv2.resize(INTER_LINEAR) of u8 images: 11-bit fixed-point weights and
 * OpenCV's vertical rounding. */
orr_status orr_pre_linear(uint8_t *out, int oh, int ow, const uint8_t *image, int h, int w, int channels);

/* torchvision's resize(BICUBIC, antialias=True) of a u8 plane as torch
 * 1.13 computes it: float32, horizontal pass then vertical, Keys cubic
 * a = -0.5 stretched by the downscale factor, then round and clamp. */
orr_status orr_pre_bicubic_aa(uint8_t *out, int oh, int ow, const uint8_t *plane, int h, int w);

#endif /* ORR_PREPROCESS_H */
