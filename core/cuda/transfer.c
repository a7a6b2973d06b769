/* transfer.c — copies to, from and on the device. Host memory is pageable,
 * and a copy from it would block on the driver's own staging; orrery stages
 * through two pinned buffers instead, filling one while the other is on
 * the bus. */
#include <pthread.h>
#include <string.h>

#include "cuda/copy.h"
#include "cuda/cuda_internal.h"
#include "cuda/device.h"
#include "internal.h"

enum { STAGE_BYTES = 8 << 20 };

static pthread_mutex_t stage_lock = PTHREAD_MUTEX_INITIALIZER;
static void *stage[2];
static cudaEvent_t stage_done[2]; /* the last copy through stage[i] has finished */

static orr_status stage_ready(void) {
    orr_status st;
    for (int i = 0; i < 2; i++) {
        if (stage[i]) continue;
        if ((st = orr_cuda_check(cudaHostAlloc(&stage[i], STAGE_BYTES, cudaHostAllocDefault), "copy",
                                 "allocating pinned staging memory")))
            return st;
        if ((st = orr_cuda_check(cudaEventCreateWithFlags(&stage_done[i], cudaEventDisableTiming), "copy",
                                 "creating an event"))) {
            cudaFreeHost(stage[i]);
            stage[i] = NULL;
            return st;
        }
    }
    return ORR_OK;
}

orr_status orr_cuda_upload(void *dst, const void *src, size_t bytes) {
    orr_status st = orr_cuda_ready("upload");
    if (st || !bytes) return st;
    cudaStream_t stream = orr_cuda_stream();
    pthread_mutex_lock(&stage_lock);
    st = stage_ready();
    for (size_t off = 0, i = 0; !st && off < bytes; off += STAGE_BYTES, i ^= 1) {
        size_t n = bytes - off < STAGE_BYTES ? bytes - off : STAGE_BYTES;
        if ((st = orr_cuda_check(cudaEventSynchronize(stage_done[i]), "upload", "waiting for a staging buffer")))
            break;
        memcpy(stage[i], (const char *)src + off, n);
        if (!(st = orr_cuda_check(cudaMemcpyAsync((char *)dst + off, stage[i], n, cudaMemcpyHostToDevice, stream),
                                  "upload", "host to device copy")))
            st = orr_cuda_check(cudaEventRecord(stage_done[i], stream), "upload", "recording an event");
    }
    pthread_mutex_unlock(&stage_lock);
    return st;
}

/* Queues the device-to-host copy of one chunk into stage[i]. */
static orr_status queue_download(size_t i, const void *src, size_t n, cudaStream_t stream) {
    orr_status st = orr_cuda_check(cudaMemcpyAsync(stage[i], src, n, cudaMemcpyDeviceToHost, stream), "download",
                                   "device to host copy");
    if (!st) st = orr_cuda_check(cudaEventRecord(stage_done[i], stream), "download", "recording an event");
    return st;
}

orr_status orr_cuda_download(void *dst, const void *src, size_t bytes) {
    orr_status st = orr_cuda_ready("download");
    if (st || !bytes) return st;
    cudaStream_t stream = orr_cuda_stream();
    pthread_mutex_lock(&stage_lock);
    if (!(st = stage_ready())) st = queue_download(0, src, bytes < STAGE_BYTES ? bytes : STAGE_BYTES, stream);
    for (size_t off = 0, i = 0; !st && off < bytes; off += STAGE_BYTES, i ^= 1) {
        size_t n = bytes - off < STAGE_BYTES ? bytes - off : STAGE_BYTES, next = off + STAGE_BYTES;
        if (next < bytes) {
            size_t m = bytes - next < STAGE_BYTES ? bytes - next : STAGE_BYTES;
            if ((st = queue_download(i ^ 1, (const char *)src + next, m, stream))) break;
        }
        if ((st = orr_cuda_check(cudaEventSynchronize(stage_done[i]), "download", "device to host copy"))) break;
        memcpy((char *)dst + off, stage[i], n);
    }
    pthread_mutex_unlock(&stage_lock);
    return st;
}

orr_status orr_cuda_memset_zero(void *ptr, size_t bytes) {
    orr_status st = orr_cuda_ready("memset");
    if (st || !bytes) return st;
    return orr_cuda_check(cudaMemsetAsync(ptr, 0, bytes, orr_cuda_stream()), "memset", "zeroing device memory");
}

orr_status orr_cuda_copy_tensor(orr_tensor *dst, const orr_tensor *src) {
    orr_status st = orr_cuda_ready("copy");
    if (st) return st;
    return orr_cuda_copy_strided(dst->data, dst->dtype, dst->stride, src->data, src->dtype, src->stride, dst->ndim,
                                 dst->shape, orr_cuda_stream());
}
