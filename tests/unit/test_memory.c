/* Memory: byte accounting, the pressure hook, arenas. */
#include "test_util.h"

static int hook_calls;
static int64_t hook_wanted;
static void on_pressure(void *user, orr_device device, int64_t wanted) {
    hook_calls++;
    hook_wanted = wanted;
    *(int *)user = 1;
}

int main(void) {
    orr_mem_stats before, during, after;
    orr_mem_get_stats(ORR_CPU, &before);
    int64_t shape[2] = {1000, 1000};
    orr_tensor *t, *v;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, 2, shape));
    orr_mem_get_stats(ORR_CPU, &during);
    CHECK(during.bytes_in_use - before.bytes_in_use == 4000000);
    CHECK(during.allocations - before.allocations == 1);
    CHECK(during.bytes_peak >= during.bytes_in_use);
    CHECK_OK(orr_tensor_narrow(&v, t, 0, 10, 10)); /* views cost no bytes */
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_in_use == during.bytes_in_use);
    orr_tensor_free(t);
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_in_use == during.bytes_in_use); /* the view keeps it */
    orr_tensor_free(v);
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_in_use == before.bytes_in_use && after.allocations == before.allocations);

    /* crossing the soft limit calls the hook with the size wanted */
    int flag = 0;
    orr_mem_set_pressure_hook(on_pressure, &flag);
    orr_mem_set_limit(ORR_CPU, after.bytes_in_use + 1000);
    CHECK_OK(orr_tensor_empty(&t, ORR_U8, 1, (int64_t[]){500}));
    CHECK(hook_calls == 0);
    CHECK_OK(orr_tensor_empty(&v, ORR_U8, 1, (int64_t[]){4000}));
    CHECK(hook_calls == 1 && hook_wanted == 4000 && flag == 1);
    orr_tensor_free(t);
    orr_tensor_free(v);
    orr_mem_set_limit(ORR_CPU, 0);

    /* an allocation no machine can satisfy fails cleanly, after the hook */
    hook_calls = 0;
    void *p;
    CHECK_FAILS(orr_mem_alloc(ORR_CPU, (size_t)1 << 62, &p), ORR_ERR_MEMORY, "beyond any device");
    CHECK_FAILS(orr_mem_alloc(ORR_CPU, (size_t)1 << 55, &p), ORR_ERR_MEMORY, "out of cpu memory");
    CHECK(hook_calls == 1 && p == NULL);
    CHECK_FAILS(orr_mem_alloc(ORR_CUDA, 16, &p), ORR_ERR_UNSUPPORTED, "cuda");
    orr_mem_set_pressure_hook(NULL, NULL);

    /* arenas: bump allocation, alignment, reset, exhaustion */
    orr_arena *arena;
    CHECK_OK(orr_arena_create(ORR_CPU, 1 << 20, &arena));
    orr_mem_get_stats(ORR_CPU, &during);
    CHECK(during.bytes_in_use - before.bytes_in_use == 1 << 20);
    orr_tensor *a, *b;
    CHECK_OK(orr_tensor_empty_in(arena, &a, ORR_F32, 1, (int64_t[]){3}));
    CHECK_OK(orr_tensor_empty_in(arena, &b, ORR_F32, 1, (int64_t[]){1000}));
    CHECK(((uintptr_t)b->data & 63) == 0 && (char *)b->data - (char *)a->data == 64);
    CHECK(orr_arena_used(arena) == 64 + 4000);
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_in_use == during.bytes_in_use); /* arena tensors are in the block */
    orr_tensor_free(a);
    orr_tensor_free(b);
    CHECK_FAILS(orr_tensor_empty_in(arena, &a, ORR_F32, 1, (int64_t[]){1 << 20}), ORR_ERR_MEMORY,
                "arena: 4194304 bytes requested");
    orr_arena_reset(arena);
    CHECK(orr_arena_used(arena) == 0 && orr_arena_peak(arena) == 64 + 4000);
    orr_arena_free(arena);
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_in_use == before.bytes_in_use);
    return test_finish("test_memory");
}
