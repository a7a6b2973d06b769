/* storage.c — refcounted byte blocks under tensors: owned (accounted),
 * file-mapped, arena-backed or borrowed, told apart only by their release. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/device.h"
#include "internal.h"

struct orr_storage {
    _Atomic int refcount;
    orr_device device;
    void *base;
    size_t bytes;
    orr_release_fn release;
    void *user;
};

orr_status orr_storage_create(orr_device device, void *base, size_t bytes, orr_release_fn release, void *user,
                              orr_storage **out) {
    orr_storage *s = malloc(sizeof *s);
    if (!s) {
        *out = NULL;
        if (release) release(user, base, bytes);
        return orr_error(ORR_ERR_MEMORY, "storage: out of host memory");
    }
    atomic_init(&s->refcount, 1);
    s->device = device;
    s->base = base;
    s->bytes = bytes;
    s->release = release;
    s->user = user;
    *out = s;
    return ORR_OK;
}

static void release_owned(void *user, void *base, size_t bytes) {
    orr_mem_free((orr_device)(intptr_t)user, base, bytes);
}

orr_status orr_storage_alloc(orr_device device, size_t bytes, bool zero, orr_storage **out) {
    void *base;
    *out = NULL;
    orr_status st = orr_mem_alloc(device, bytes, &base);
    if (st) return st;
    if (zero && device == ORR_CUDA) st = orr_cuda_memset_zero(base, bytes);
    else if (zero) memset(base, 0, bytes);
    if (st) {
        orr_mem_free(device, base, bytes);
        return st;
    }
    return orr_storage_create(device, base, bytes, release_owned, (void *)(intptr_t)device, out);
}

void orr_storage_retain(orr_storage *s) { atomic_fetch_add(&s->refcount, 1); }

void orr_storage_release(orr_storage *s) {
    if (!s || atomic_fetch_sub(&s->refcount, 1) != 1) return;
    if (s->release) s->release(s->user, s->base, s->bytes);
    free(s);
}

void *orr_storage_base(const orr_storage *s) { return s->base; }
size_t orr_storage_bytes(const orr_storage *s) { return s->bytes; }
