/* copy.h — the device's strided copy with dtype conversion: what orr_copy
 * does on the cpu (kernels/cuda/copy.cu). */
#ifndef ORR_KERNELS_CUDA_COPY_H
#define ORR_KERNELS_CUDA_COPY_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst[idx] = src[idx] for every multi-index idx of shape (ndim <=
 * ORR_MAX_DIMS; 0 is one element), element strides per dim (a src stride
 * of 0 broadcasts), converted from src_dtype to dst_dtype as the cpu's
 * orr_copy converts (through float for f32/bf16/f16 pairs, else through
 * double; bf16 and f16 round to nearest even; bool stores v != 0).
 * dst must not overlap src. Both are device pointers. */
orr_status orr_cuda_copy_strided(void *dst, orr_dtype dst_dtype, const int64_t *dst_stride, const void *src,
                                 orr_dtype src_dtype, const int64_t *src_stride, int ndim, const int64_t *shape,
                                 cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_KERNELS_CUDA_COPY_H */
