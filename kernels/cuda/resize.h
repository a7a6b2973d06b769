/* cuda/resize.h — the CUDA version of resize.h (torch interpolate with
 * given output sizes): x [planes, Ti, Hi, Wi] -> out [planes, To, Ho, Wo]
 * in every orr_resize_mode (NEAREST legacy, BILINEAR/TRILINEAR, BICUBIC
 * with A = -0.75), align_corners as PyTorch.
 *
 * DEVICE pointers to contiguous buffers (in_size, out_size are HOST
 * arrays), queued on `stream` without synchronising. One thread per output
 * element evaluates the oracle's per-axis taps with the same float
 * coordinate arithmetic (explicit round-to-nearest intrinsics, no fused
 * multiply-add, so 'nearest' picks the same source index) and the same
 * double weighted sum in the same order: the results equal orr_ref_resize's.
 * Returns ORR_OK, ORR_ERR_ARGUMENT for a negative size, an empty input axis
 * with a non-empty output or an unknown mode, or the launch failure. */
#ifndef ORR_CUDA_RESIZE_H
#define ORR_CUDA_RESIZE_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

orr_status orr_cuda_resize(float *out, const float *x, int64_t planes, const int64_t in_size[3],
                           const int64_t out_size[3], orr_resize_mode mode, bool align_corners, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_RESIZE_H */
