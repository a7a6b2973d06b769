/* cuda/conv.h — 3-D convolution (conv2d is its kt = 1 case) on the GPU
 * through cuDNN, over the geometry of kernels/conv.h: NCDHW tensors whose
 * batch and channel strides are s->x_stride / s->y_stride, padding, stride,
 * dilation and groups as orr_conv_shape describes them.
 *
 * The algorithm is picked once per shape, dtype, strides and device with
 * cudnnFindConvolutionForwardAlgorithmEx (which times the candidates on the
 * call's own buffers: the first call of a shape takes longer and blocks the
 * host until it is done), among those needing at most
 * ORR_CUDA_CONV_WORKSPACE bytes of workspace; the workspace comes from the
 * runtime's scratch allocator for each call.
 *
 * Like the matmuls, the convolution is queued on the runtime's stream (its
 * cuDNN handle is bound there) and ordered with `stream` by events when that
 * is another one; the launcher does not synchronize (except inside the
 * one-time search).
 *
 * Precision: f32 runs on FMA-only algorithms (~1e-6 relative to the
 * oracle) unless ORR_CUDA_CONV_TF32 allows TF32 tensor cores; bf16 runs on
 * tensor cores with f32 accumulation (~1e-2).
 *
 * Known limits: causal_pad must be 0 (the caller prepends the frames, as
 * the tokenizer's CausalConv3d does); every extent, stride and the element
 * count of each batch item must fit cuDNN's int. */
#ifndef ORR_KERNELS_CUDA_CONV_H
#define ORR_KERNELS_CUDA_CONV_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "../conv.h"

enum {
    ORR_CUDA_CONV_TF32 = 1u << 0,        /* f32 may run on TF32 tensor cores */
    ORR_CUDA_CONV_WORKSPACE = 256 << 20, /* the most workspace an algorithm may take */
};

/* y = conv3d(x, w) + b with x, w, y of dtype (f32 or bf16) and b (may be
 * NULL) holding out_channels values of the same dtype. */
orr_status orr_cuda_conv3d(void *y, const void *x, const void *w, const void *b, orr_dtype dtype,
                           const orr_conv_shape *s, unsigned flags, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_KERNELS_CUDA_CONV_H */
