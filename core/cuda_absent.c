/* cuda_absent.c — the CUDA functions of a build without the toolkit: the
 * device is never available and everything that would touch it says so. */
#include "cuda/device.h"
#include "internal.h"

#ifndef ORR_HAVE_CUDA

static orr_status absent(const char *op) {
    return orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: this orrery was built without CUDA", op);
}

bool orr_cuda_available(void) { return false; }

orr_status orr_cuda_get_info(orr_cuda_info *out) {
    *out = (orr_cuda_info){0};
    return absent("info");
}

orr_status orr_cuda_synchronize(void) { return absent("synchronize"); }
void orr_cuda_empty_cache(void) {}

orr_status orr_cuda_malloc(size_t bytes, void **out) {
    *out = NULL;
    return absent("alloc");
}
void orr_cuda_free(void *ptr, size_t bytes) {}

orr_status orr_cuda_upload(void *dst, const void *src, size_t bytes) { return absent("upload"); }
orr_status orr_cuda_download(void *dst, const void *src, size_t bytes) { return absent("download"); }
orr_status orr_cuda_memset_zero(void *ptr, size_t bytes) { return absent("memset"); }
orr_status orr_cuda_copy_tensor(orr_tensor *dst, const orr_tensor *src) { return absent("copy"); }

#endif /* !ORR_HAVE_CUDA */
