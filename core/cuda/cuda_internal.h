/* cuda_internal.h — what the CUDA runtime (core/cuda/) offers the kernel
 * files (kernels/cuda/) and the core: the stream every launch goes to, the
 * library handles, and CUDA errors turned into orr_error messages. Plain C
 * with extern "C" guards, so that .c and .cu files both include it. Only
 * builds with ORR_HAVE_CUDA see it. */
#ifndef ORR_CUDA_INTERNAL_H
#define ORR_CUDA_INTERNAL_H

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ORR_OK when a device can be used (probed once per process), else
 * ORR_ERR_UNSUPPORTED "cuda <op>: <why not>". */
orr_status orr_cuda_ready(const char *op);

/* The stream all of orrery's device work is queued on, in order: device
 * memory freed to the cache is reused in that order, so no event is needed
 * between a free and the next allocation. Created on first use; NULL
 * (with orr_last_error set) when the device cannot be used. */
cudaStream_t orr_cuda_stream(void);

/* Makes `waiter` wait for the work queued so far on `signaller` through an
 * event (nothing when they are one stream). A launcher that queues on
 * orr_cuda_stream() but is given the caller's stream brackets its work
 * with it: the runtime's stream after the caller's, then the caller's
 * after the runtime's. */
orr_status orr_cuda_order_after(const char *op, cudaStream_t waiter, cudaStream_t signaller);

/* ORR_OK for cudaSuccess, else ORR_ERR_UNSUPPORTED ("cuda <op>: <what>:
 * <CUDA's message>"), ORR_ERR_MEMORY for cudaErrorMemoryAllocation. */
orr_status orr_cuda_check(cudaError_t err, const char *op, const char *what);
/* The same after a launch: reads (and clears) cudaGetLastError(). */
orr_status orr_cuda_check_launch(const char *op);
orr_status orr_cuda_check_cublas(cublasStatus_t s, const char *op, const char *what);
orr_status orr_cuda_check_cudnn(cudnnStatus_t s, const char *op, const char *what);

/* The device's cuBLASLt handle and its matmul workspace (kept for the
 * process, accounted as cuda memory), created on first use. Any of the
 * outputs may be NULL. */
enum { ORR_CUDA_BLASLT_WORKSPACE = 32 << 20 };
orr_status orr_cuda_cublaslt(cublasLtHandle_t *handle, void **workspace, size_t *workspace_bytes);
/* The cuBLAS handle, bound to orr_cuda_stream() and to the same workspace. */
orr_status orr_cuda_cublas(cublasHandle_t *handle);
/* The cuDNN handle, bound to orr_cuda_stream(). */
orr_status orr_cuda_cudnn(cudnnHandle_t *handle);

/* Temporary device memory for a kernel (split-k partials, cuDNN
 * workspaces), from the caching allocator and accounted; free it with the
 * same size once the work using it is queued (the stream keeps the order). */
orr_status orr_cuda_scratch_alloc(size_t bytes, void **out);
void orr_cuda_scratch_free(void *ptr, size_t bytes);

/* Bytes the allocator holds in freed blocks kept for reuse. */
int64_t orr_cuda_cached_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_INTERNAL_H */
