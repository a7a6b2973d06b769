/* arena.c — bump allocation from one accounted block, for activations whose
 * lifetimes end together (one forward pass); reset frees them all at once. */
#include <stdlib.h>

#include "internal.h"

#define ARENA_ALIGN 64

struct orr_arena {
    orr_device device;
    char *base;
    size_t capacity, used, peak;
};

orr_status orr_arena_create(orr_device device, size_t capacity, orr_arena **out) {
    *out = NULL;
    orr_arena *a = calloc(1, sizeof *a);
    if (!a) return orr_error(ORR_ERR_MEMORY, "arena: out of host memory");
    void *base;
    orr_status st = orr_mem_alloc(device, capacity, &base);
    if (st) {
        free(a);
        return orr_error_context(st, "arena of %zu bytes: ", capacity);
    }
    a->device = device;
    a->base = base;
    a->capacity = capacity;
    *out = a;
    return ORR_OK;
}

void orr_arena_free(orr_arena *arena) {
    if (!arena) return;
    orr_mem_free(arena->device, arena->base, arena->capacity);
    free(arena);
}

void orr_arena_reset(orr_arena *arena) { arena->used = 0; }
size_t orr_arena_used(const orr_arena *arena) { return arena->used; }
size_t orr_arena_peak(const orr_arena *arena) { return arena->peak; }
size_t orr_arena_capacity(const orr_arena *arena) { return arena->capacity; }

orr_status orr_arena_alloc(orr_arena *arena, size_t bytes, void **out) {
    size_t start = (arena->used + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (start > arena->capacity || bytes > arena->capacity - start) {
        *out = NULL;
        return orr_error(ORR_ERR_MEMORY, "arena: %zu bytes requested, %zu of %zu free", bytes,
                         arena->capacity - (start < arena->capacity ? start : arena->capacity), arena->capacity);
    }
    *out = arena->base + start;
    arena->used = start + bytes;
    if (arena->used > arena->peak) arena->peak = arena->used;
    return ORR_OK;
}
