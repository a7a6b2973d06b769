/* resize.h — torch.nn.functional.interpolate (given output sizes) over
 * contiguous float32 buffers: x [planes, Ti, Hi, Wi] -> out [planes, To, Ho,
 * Wo], planes = N*C. 2-D inputs pass Ti = To = 1, which every mode maps to
 * itself. The modes follow orr_resize_mode: NEAREST is PyTorch's legacy
 * 'nearest' on every axis, BILINEAR and TRILINEAR the linear rule on every
 * axis, BICUBIC the cubic rule (A = -0.75, indices clamped at the borders). */
#ifndef ORR_KERNELS_RESIZE_H
#define ORR_KERNELS_RESIZE_H

#include "orrery.h"

void orr_ref_resize(float *out, const float *x, int64_t planes, const int64_t in_size[3],
                    const int64_t out_size[3], orr_resize_mode mode, bool align_corners);
/* Fails only with ORR_ERR_MEMORY (the per-axis index tables). */
orr_status orr_cpu_resize(float *out, const float *x, int64_t planes, const int64_t in_size[3],
                          const int64_t out_size[3], orr_resize_mode mode, bool align_corners);

#endif
