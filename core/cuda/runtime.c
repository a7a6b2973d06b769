/* runtime.c — the device orrery uses (device 0 of those visible), probed
 * once; its stream; the cuBLAS(Lt) and cuDNN handles made on first use;
 * CUDA errors as orr_error messages. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "internal.h"

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool usable;
static char unusable_reason[256];
static cudaStream_t stream;

/* A missing driver or device is an answer, not an error: available() says
 * false and the reason waits for whoever tries to use the device. */
static void probe(void) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err == cudaSuccess && count == 0) err = cudaErrorNoDevice;
    if (err == cudaSuccess) err = cudaSetDevice(0);
    if (err == cudaSuccess) err = cudaFree(NULL); /* creates the context now */
    if (err == cudaSuccess) err = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    if (err != cudaSuccess) {
        snprintf(unusable_reason, sizeof unusable_reason, "no usable device: %s", cudaGetErrorString(err));
        cudaGetLastError();
        return;
    }
    usable = true;
}

bool orr_cuda_available(void) {
    pthread_once(&probe_once, probe);
    return usable;
}

orr_status orr_cuda_ready(const char *op) {
    if (orr_cuda_available()) return ORR_OK;
    return orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: %s", op, unusable_reason);
}

cudaStream_t orr_cuda_stream(void) { return orr_cuda_ready("stream") ? NULL : stream; }

orr_status orr_cuda_order_after(const char *op, cudaStream_t waiter, cudaStream_t signaller) {
    if (waiter == signaller) return ORR_OK;
    cudaEvent_t ev;
    orr_status st = orr_cuda_check(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), op, "cudaEventCreate");
    if (st) return st;
    st = orr_cuda_check(cudaEventRecord(ev, signaller), op, "cudaEventRecord");
    if (!st) st = orr_cuda_check(cudaStreamWaitEvent(waiter, ev, 0), op, "cudaStreamWaitEvent");
    cudaEventDestroy(ev); /* released once the recorded work completes */
    return st;
}

orr_status orr_cuda_check(cudaError_t err, const char *op, const char *what) {
    if (err == cudaSuccess) return ORR_OK;
    cudaGetLastError(); /* clears a non-sticky error, so the next call starts clean */
    return orr_error(err == cudaErrorMemoryAllocation ? ORR_ERR_MEMORY : ORR_ERR_UNSUPPORTED, "cuda %s: %s: %s", op,
                     what, cudaGetErrorString(err));
}

orr_status orr_cuda_check_launch(const char *op) { return orr_cuda_check(cudaGetLastError(), op, "kernel launch"); }

orr_status orr_cuda_check_cublas(cublasStatus_t s, const char *op, const char *what) {
    if (s == CUBLAS_STATUS_SUCCESS) return ORR_OK;
    return orr_error(s == CUBLAS_STATUS_ALLOC_FAILED ? ORR_ERR_MEMORY : ORR_ERR_UNSUPPORTED, "cuda %s: %s: %s (%s)",
                     op, what, cublasGetStatusString(s), cublasGetStatusName(s));
}

orr_status orr_cuda_check_cudnn(cudnnStatus_t s, const char *op, const char *what) {
    if (s == CUDNN_STATUS_SUCCESS) return ORR_OK;
    return orr_error(s == CUDNN_STATUS_ALLOC_FAILED ? ORR_ERR_MEMORY : ORR_ERR_UNSUPPORTED, "cuda %s: %s: %s", op,
                     what, cudnnGetErrorString(s));
}

orr_status orr_cuda_synchronize(void) {
    orr_status st = orr_cuda_ready("synchronize");
    if (st) return st;
    return orr_cuda_check(cudaStreamSynchronize(stream), "synchronize", "queued device work failed");
}

orr_status orr_cuda_get_info(orr_cuda_info *out) {
    memset(out, 0, sizeof *out);
    orr_status st = orr_cuda_ready("info");
    if (st) return st;
    struct cudaDeviceProp prop;
    size_t free_bytes, total_bytes;
    if ((st = orr_cuda_check(cudaGetDeviceProperties(&prop, 0), "info", "device properties")) ||
        (st = orr_cuda_check(cudaMemGetInfo(&free_bytes, &total_bytes), "info", "memory info")))
        return st;
    snprintf(out->name, sizeof out->name, "%s", prop.name);
    out->major = prop.major;
    out->minor = prop.minor;
    out->multiprocessors = prop.multiProcessorCount;
    out->total_memory = (int64_t)total_bytes;
    out->free_memory = (int64_t)free_bytes;
    out->cached_bytes = orr_cuda_cached_bytes();
    return ORR_OK;
}

/* The library handles, made once under one lock. cuBLAS and cuBLASLt share
 * the workspace: both run on the one stream, so never at the same time. */
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static cublasLtHandle_t blaslt;
static cublasHandle_t blas;
static cudnnHandle_t dnn;
static void *workspace;

static orr_status make_blaslt(void) {
    orr_status st;
    if (blaslt) return ORR_OK;
    if ((st = orr_mem_alloc(ORR_CUDA, ORR_CUDA_BLASLT_WORKSPACE, &workspace)))
        return orr_error_context(st, "cuda cublasLt workspace: ");
    if ((st = orr_cuda_check_cublas(cublasLtCreate(&blaslt), "cublasLt", "creating the handle"))) {
        orr_mem_free(ORR_CUDA, workspace, ORR_CUDA_BLASLT_WORKSPACE);
        workspace = NULL;
        blaslt = NULL;
    }
    return st;
}

orr_status orr_cuda_cublaslt(cublasLtHandle_t *handle, void **ws, size_t *ws_bytes) {
    orr_status st = orr_cuda_ready("cublasLt");
    if (st) return st;
    pthread_mutex_lock(&handles_lock);
    st = make_blaslt();
    pthread_mutex_unlock(&handles_lock);
    if (st) return st;
    if (handle) *handle = blaslt;
    if (ws) *ws = workspace;
    if (ws_bytes) *ws_bytes = ORR_CUDA_BLASLT_WORKSPACE;
    return ORR_OK;
}

orr_status orr_cuda_cublas(cublasHandle_t *handle) {
    orr_status st = orr_cuda_ready("cublas");
    if (st) return st;
    pthread_mutex_lock(&handles_lock);
    if (!blas && !(st = make_blaslt())) {
        cublasHandle_t h;
        if (!(st = orr_cuda_check_cublas(cublasCreate(&h), "cublas", "creating the handle"))) {
            if ((st = orr_cuda_check_cublas(cublasSetStream(h, stream), "cublas", "setting the stream")) ||
                (st = orr_cuda_check_cublas(cublasSetWorkspace(h, workspace, ORR_CUDA_BLASLT_WORKSPACE), "cublas",
                                            "setting the workspace")))
                cublasDestroy(h);
            else
                blas = h;
        }
    }
    pthread_mutex_unlock(&handles_lock);
    if (!st) *handle = blas;
    return st;
}

orr_status orr_cuda_cudnn(cudnnHandle_t *handle) {
    orr_status st = orr_cuda_ready("cudnn");
    if (st) return st;
    pthread_mutex_lock(&handles_lock);
    if (!dnn) {
        cudnnHandle_t h;
        if (!(st = orr_cuda_check_cudnn(cudnnCreate(&h), "cudnn", "creating the handle"))) {
            if ((st = orr_cuda_check_cudnn(cudnnSetStream(h, stream), "cudnn", "setting the stream")))
                cudnnDestroy(h);
            else
                dnn = h;
        }
    }
    pthread_mutex_unlock(&handles_lock);
    if (!st) *handle = dnn;
    return st;
}
