/* allocator.c — the caching device allocator. cudaMalloc and cudaFree are
 * slow and synchronise the device, so freed blocks are kept and handed out
 * again to a request of about their size. All device work runs in order on
 * one stream, which makes reusing a block safe as soon as it is freed.
 * Blocks are not split: a request takes a cached block at most 1/8 larger
 * than its rounded size, else a new one. When cudaMalloc fails, every
 * cached block goes back to the driver and it is tried once more. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "cuda/device.h"
#include "internal.h"

typedef struct block {
    void *ptr;
    size_t size;
} block;

/* Freed blocks sorted by size (best fit by binary search), and the blocks
 * handed out, by pointer, so that a free finds the size it came with. */
typedef struct block_list {
    block *items;
    size_t count, capacity;
} block_list;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static block_list cached, live;
static int64_t cached_bytes;

/* 512 bytes below 1 MiB, 128 KiB above: little waste, sizes that recur. */
static size_t round_size(size_t bytes) {
    size_t q = bytes <= (1u << 20) ? 512 : (128u << 10);
    return bytes ? (bytes + q - 1) / q * q : q;
}

static bool list_reserve(block_list *l) {
    if (l->count < l->capacity) return true;
    size_t cap = l->capacity ? 2 * l->capacity : 64;
    block *items = realloc(l->items, cap * sizeof *items);
    if (!items) return false;
    l->items = items;
    l->capacity = cap;
    return true;
}

/* First index whose key is >= key; sorted by size (cached) or address (live). */
static size_t lower_bound(const block_list *l, bool by_size, uintptr_t key) {
    size_t lo = 0, hi = l->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uintptr_t k = by_size ? (uintptr_t)l->items[mid].size : (uintptr_t)l->items[mid].ptr;
        if (k < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static bool list_insert(block_list *l, bool by_size, block b) {
    if (!list_reserve(l)) return false;
    size_t i = lower_bound(l, by_size, by_size ? (uintptr_t)b.size : (uintptr_t)b.ptr);
    memmove(l->items + i + 1, l->items + i, (l->count - i) * sizeof *l->items);
    l->items[i] = b;
    l->count++;
    return true;
}

static block list_take(block_list *l, size_t i) {
    block b = l->items[i];
    memmove(l->items + i, l->items + i + 1, (l->count - i - 1) * sizeof *l->items);
    l->count--;
    return b;
}

/* Called with the lock held. */
static void release_cached(void) {
    for (size_t i = 0; i < cached.count; i++) cudaFree(cached.items[i].ptr);
    cached.count = 0;
    cached_bytes = 0;
}

orr_status orr_cuda_malloc(size_t bytes, void **out) {
    *out = NULL;
    orr_status st = orr_cuda_ready("alloc");
    if (st) return st;
    size_t size = round_size(bytes);
    pthread_mutex_lock(&lock);
    if (!list_reserve(&live)) {
        pthread_mutex_unlock(&lock);
        return orr_error(ORR_ERR_MEMORY, "cuda alloc: out of host memory for the block table");
    }
    block b = {NULL, size};
    size_t i = lower_bound(&cached, true, size);
    if (i < cached.count && cached.items[i].size <= size + size / 8) {
        b = list_take(&cached, i);
        cached_bytes -= (int64_t)b.size;
    } else {
        cudaError_t err = cudaMalloc(&b.ptr, size);
        if (err == cudaErrorMemoryAllocation && cached.count) {
            cudaGetLastError();
            release_cached();
            err = cudaMalloc(&b.ptr, size);
        }
        if (err != cudaSuccess) {
            pthread_mutex_unlock(&lock);
            char what[64];
            snprintf(what, sizeof what, "allocating %zu bytes", bytes);
            return orr_cuda_check(err, "alloc", what);
        }
    }
    list_insert(&live, false, b); /* cannot fail: reserved above */
    pthread_mutex_unlock(&lock);
    *out = b.ptr;
    return ORR_OK;
}

void orr_cuda_free(void *ptr, size_t bytes) {
    if (!ptr) return;
    pthread_mutex_lock(&lock);
    size_t i = lower_bound(&live, false, (uintptr_t)ptr);
    if (i < live.count && live.items[i].ptr == ptr) {
        block b = list_take(&live, i);
        if (list_insert(&cached, true, b)) cached_bytes += (int64_t)b.size;
        else cudaFree(b.ptr);
    }
    pthread_mutex_unlock(&lock);
}

void orr_cuda_empty_cache(void) {
    if (!orr_cuda_available()) return;
    pthread_mutex_lock(&lock);
    release_cached();
    pthread_mutex_unlock(&lock);
}

int64_t orr_cuda_cached_bytes(void) {
    pthread_mutex_lock(&lock);
    int64_t n = cached_bytes;
    pthread_mutex_unlock(&lock);
    return n;
}

orr_status orr_cuda_scratch_alloc(size_t bytes, void **out) { return orr_mem_alloc(ORR_CUDA, bytes, out); }

void orr_cuda_scratch_free(void *ptr, size_t bytes) { orr_mem_free(ORR_CUDA, ptr, bytes); }
