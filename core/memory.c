/* memory.c — accounted allocation per device and the pressure hook.
 * Every owned byte of tensor data passes through here, so the Lua layer
 * (and the memory plan printed before a run) can see what the core holds.
 * Device memory comes from the CUDA caching allocator; what it keeps
 * cached for reuse is not counted as in use. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/device.h"
#include "internal.h"

#define ORR_ALIGN 64

typedef struct device_account {
    _Atomic int64_t in_use, peak, mapped, allocations, limit;
} device_account;

static device_account accounts[ORR_DEVICE_COUNT];
static _Atomic(orr_pressure_fn) pressure_fn;
static void *_Atomic pressure_user;

static device_account *account_of(orr_device device) {
    return (unsigned)device < ORR_DEVICE_COUNT ? &accounts[device] : NULL;
}

void orr_mem_get_stats(orr_device device, orr_mem_stats *out) {
    device_account *a = account_of(device);
    memset(out, 0, sizeof *out);
    if (!a) return;
    out->bytes_in_use = atomic_load(&a->in_use);
    out->bytes_peak = atomic_load(&a->peak);
    out->bytes_mapped = atomic_load(&a->mapped);
    out->allocations = atomic_load(&a->allocations);
    out->limit = atomic_load(&a->limit);
}

void orr_mem_reset_peak(orr_device device) {
    device_account *a = account_of(device);
    if (a) atomic_store(&a->peak, atomic_load(&a->in_use));
}

void orr_mem_set_pressure_hook(orr_pressure_fn fn, void *user) {
    atomic_store(&pressure_user, user);
    atomic_store(&pressure_fn, fn);
}

void orr_mem_set_limit(orr_device device, int64_t bytes) {
    device_account *a = account_of(device);
    if (a) atomic_store(&a->limit, bytes > 0 ? bytes : 0);
}

void orr_mem_note_mapped(orr_device device, int64_t delta) {
    device_account *a = account_of(device);
    if (a) atomic_fetch_add(&a->mapped, delta);
}

static void call_pressure_hook(orr_device device, int64_t wanted) {
    orr_pressure_fn fn = atomic_load(&pressure_fn);
    if (fn) fn(atomic_load(&pressure_user), device, wanted);
}

/* NULL with the reason in orr_last_error when the device has no room. */
static void *allocate(orr_device device, size_t bytes) {
    void *p = NULL;
    if (device == ORR_CUDA) {
        orr_cuda_malloc(bytes, &p);
        return p;
    }
    size_t rounded = (bytes + ORR_ALIGN - 1) / ORR_ALIGN * ORR_ALIGN;
    if (posix_memalign(&p, ORR_ALIGN, rounded ? rounded : ORR_ALIGN) != 0) return NULL;
    return p;
}

orr_status orr_mem_alloc(orr_device device, size_t bytes, void **out) {
    device_account *a = account_of(device);
    *out = NULL;
    if (!a) return orr_error(ORR_ERR_ARGUMENT, "alloc: invalid device %d", (int)device);
    if (device == ORR_CUDA && !orr_cuda_available()) {
        orr_status st = orr_cuda_malloc(bytes, out); /* fails, saying why */
        return orr_error_context(st, "alloc of %zu bytes: ", bytes);
    }
    if (bytes > (size_t)INT64_MAX / 2)
        return orr_error(ORR_ERR_MEMORY, "alloc: %zu bytes is beyond any device", bytes);
    int64_t limit = atomic_load(&a->limit);
    if (limit && atomic_load(&a->in_use) + (int64_t)bytes > limit) call_pressure_hook(device, (int64_t)bytes);
    void *p = allocate(device, bytes);
    if (!p) {
        call_pressure_hook(device, (int64_t)bytes);
        p = allocate(device, bytes);
    }
    if (!p)
        return orr_error(ORR_ERR_MEMORY, "alloc: out of %s memory allocating %zu bytes (%lld in use)",
                         orr_device_name(device), bytes, (long long)atomic_load(&a->in_use));
    int64_t now = atomic_fetch_add(&a->in_use, (int64_t)bytes) + (int64_t)bytes;
    atomic_fetch_add(&a->allocations, 1);
    int64_t peak = atomic_load(&a->peak);
    while (now > peak && !atomic_compare_exchange_weak(&a->peak, &peak, now)) {
    }
    *out = p;
    return ORR_OK;
}

void orr_mem_free(orr_device device, void *ptr, size_t bytes) {
    device_account *a = account_of(device);
    if (!ptr || !a) return;
    if (device == ORR_CUDA) orr_cuda_free(ptr, bytes);
    else free(ptr);
    atomic_fetch_sub(&a->in_use, (int64_t)bytes);
    atomic_fetch_sub(&a->allocations, 1);
}
