/* test_runtime.c — the CUDA runtime: device info, the caching allocator and
 * its accounting, copies between host and device of strided tensors of
 * every dtype (through the pinned staging, in several chunks for a large
 * one), conversions and broadcasts on the device, element access, and the
 * errors of host ops and of mixed devices. Copies are exact: every check
 * compares element for element. Skipped (77) without a usable device. */
#include "gpu_test_util.h"

static int hook_calls;
static orr_device hook_device;
static void pressure_hook(void *user, orr_device device, int64_t wanted) {
    hook_calls++;
    hook_device = device;
}

static orr_tensor *on_device(const orr_tensor *t) {
    orr_tensor *d = NULL;
    CHECK_OK(orr_tensor_to(&d, t, ORR_CUDA));
    return d;
}

static orr_tensor *on_host(const orr_tensor *t) {
    orr_tensor *h = NULL;
    CHECK_OK(orr_tensor_to(&h, t, ORR_CPU));
    return h;
}

/* Element-for-element equality of two host tensors of one shape, read as
 * doubles (NaN equals NaN). */
static bool same_values(const orr_tensor *a, const orr_tensor *b) {
    if (!a || !b || !orr_tensor_same_shape(a, b)) return false;
    for (int64_t i = 0; i < orr_tensor_numel(a); i++) {
        double x = orr_tensor_get(a, i), y = orr_tensor_get(b, i);
        if (x != y && !(x != x && y != y)) return false;
    }
    return true;
}

static void test_info(void) {
    orr_cuda_info info;
    CHECK_OK(orr_cuda_get_info(&info));
    CHECK(info.name[0] != '\0' && info.major >= 5 && info.multiprocessors > 0);
    CHECK(info.total_memory > 0 && info.free_memory > 0 && info.free_memory <= info.total_memory);
    printf("device: %s (sm_%d%d, %d SMs, %.1f GiB, %.1f GiB free)\n", info.name, info.major, info.minor,
           info.multiprocessors, info.total_memory / 1073741824.0, info.free_memory / 1073741824.0);
    CHECK_OK(orr_cuda_synchronize());
}

static void test_allocator(void) {
    orr_mem_stats s0, s1, s2;
    orr_cuda_info info;
    const int64_t n[1] = {1 << 20}; /* 4 MiB of f32 */
    orr_cuda_empty_cache();
    orr_mem_reset_peak(ORR_CUDA);
    orr_mem_get_stats(ORR_CUDA, &s0);
    orr_tensor *a = NULL, *b = NULL;
    CHECK_OK(orr_tensor_empty_on(ORR_CUDA, &a, ORR_F32, 1, n));
    CHECK(a && a->device == ORR_CUDA);
    orr_mem_get_stats(ORR_CUDA, &s1);
    CHECK(s1.bytes_in_use - s0.bytes_in_use == 4 << 20 && s1.allocations - s0.allocations == 1);
    CHECK(s1.bytes_peak >= s1.bytes_in_use);
    void *first = a ? a->data : NULL;
    orr_tensor_free(a);
    orr_mem_get_stats(ORR_CUDA, &s2);
    CHECK(s2.bytes_in_use == s0.bytes_in_use && s2.allocations == s0.allocations);
    CHECK(s2.bytes_peak == s1.bytes_peak);
    CHECK_OK(orr_cuda_get_info(&info));
    CHECK(info.cached_bytes >= 4 << 20); /* kept for reuse, not in use */

    /* the same size, and one a little smaller, get the cached block back */
    CHECK_OK(orr_tensor_empty_on(ORR_CUDA, &a, ORR_F32, 1, n));
    CHECK(a && a->data == first);
    orr_tensor_free(a);
    const int64_t smaller[1] = {(1 << 20) - 1000};
    CHECK_OK(orr_tensor_empty_on(ORR_CUDA, &b, ORR_F32, 1, smaller));
    CHECK(b && b->data == first);
    /* a second live block cannot be the same one */
    CHECK_OK(orr_tensor_empty_on(ORR_CUDA, &a, ORR_F32, 1, n));
    CHECK(a && b && a->data != b->data);
    orr_tensor_free(a);
    orr_tensor_free(b);

    orr_cuda_empty_cache();
    CHECK_OK(orr_cuda_get_info(&info));
    CHECK(info.cached_bytes == 0);

    /* the soft limit calls the pressure hook for cuda; an impossible
     * allocation fails cleanly after the hook and leaves nothing counted */
    orr_mem_set_pressure_hook(pressure_hook, NULL);
    orr_mem_set_limit(ORR_CUDA, s0.bytes_in_use + (1 << 20));
    hook_calls = 0;
    CHECK_OK(orr_tensor_empty_on(ORR_CUDA, &a, ORR_F32, 1, n));
    CHECK(hook_calls == 1 && hook_device == ORR_CUDA);
    orr_tensor_free(a);
    orr_mem_set_limit(ORR_CUDA, 0);
    hook_calls = 0;
    void *p = (void *)1;
    CHECK_FAILS(orr_mem_alloc(ORR_CUDA, (size_t)1 << 50, &p), ORR_ERR_MEMORY, "out of cuda memory");
    CHECK(p == NULL && hook_calls == 1);
    orr_mem_get_stats(ORR_CUDA, &s2);
    CHECK(s2.bytes_in_use == s0.bytes_in_use);
    orr_mem_set_pressure_hook(NULL, NULL);

    /* a device arena: one accounted block */
    orr_arena *arena = NULL;
    CHECK_OK(orr_arena_create(ORR_CUDA, 1 << 20, &arena));
    orr_mem_get_stats(ORR_CUDA, &s1);
    CHECK(s1.bytes_in_use - s0.bytes_in_use == 1 << 20);
    orr_arena_free(arena);
    orr_mem_get_stats(ORR_CUDA, &s2);
    CHECK(s2.bytes_in_use == s0.bytes_in_use);
}

/* Integers up to 100 (eighths for the float types): exact in every dtype,
 * so that round trips compare equal. */
static orr_tensor *exact_values(orr_dtype dtype, int ndim, const int64_t *shape) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, dtype, ndim, shape));
    for (int64_t i = 0; t && i < orr_tensor_numel(t); i++) {
        double v = (double)(i * 7919 % 201) - 100.0;
        if (dtype == ORR_F32 || dtype == ORR_F64 || dtype == ORR_BF16 || dtype == ORR_F16) v /= 8.0;
        if (dtype == ORR_U8) v += 100.0;
        if (dtype == ORR_BOOL) v = v > 0.0;
        orr_tensor_set(t, i, v);
    }
    return t;
}

/* host -> device -> host of strided views (a permutation and a narrowed
 * slice), and device views -> host, for every dtype. */
static void test_round_trips(void) {
    const int64_t shape[3] = {3, 5, 7};
    const int order[3] = {2, 0, 1};
    for (int dt = 0; dt < ORR_DTYPE_COUNT; dt++) {
        orr_tensor *host = exact_values((orr_dtype)dt, 3, shape);
        orr_tensor *perm = NULL, *slice = NULL;
        CHECK_OK(orr_tensor_permute(&perm, host, order));
        CHECK_OK(orr_tensor_narrow(&slice, host, 2, 2, 4));

        orr_tensor *d_perm = on_device(perm), *d_slice = on_device(slice), *d_all = on_device(host);
        CHECK(d_perm && d_perm->device == ORR_CUDA && orr_tensor_is_contiguous(d_perm));
        orr_tensor *back = d_perm ? on_host(d_perm) : NULL;
        CHECK(same_values(back, perm));
        orr_tensor_free(back);
        back = d_slice ? on_host(d_slice) : NULL;
        CHECK(same_values(back, slice));
        orr_tensor_free(back);

        /* views of a device tensor only move metadata; copying one packs it */
        orr_tensor *dv_perm = NULL, *dv_slice = NULL;
        CHECK_OK(orr_tensor_permute(&dv_perm, d_all, order));
        CHECK_OK(orr_tensor_narrow(&dv_slice, d_all, 2, 2, 4));
        CHECK(dv_perm && dv_perm->device == ORR_CUDA && !orr_tensor_is_contiguous(dv_perm));
        back = on_host(dv_perm);
        CHECK(same_values(back, perm));
        orr_tensor_free(back);
        back = on_host(dv_slice);
        CHECK(same_values(back, slice));
        orr_tensor_free(back);

        /* into an existing strided host tensor, and device to device */
        orr_tensor *target = NULL, *target_view = NULL, *d_copy = NULL;
        CHECK_OK(orr_tensor_zeros(&target, (orr_dtype)dt, 3, shape));
        CHECK_OK(orr_tensor_permute(&target_view, target, order));
        CHECK_OK(orr_copy(target_view, dv_perm));
        CHECK(same_values(target, host));
        CHECK_OK(orr_tensor_clone(&d_copy, dv_perm, (orr_dtype)dt));
        CHECK(d_copy && d_copy->device == ORR_CUDA);
        back = d_copy ? on_host(d_copy) : NULL;
        CHECK(same_values(back, perm));
        orr_tensor_free(back);

        orr_tensor *all[] = {host, perm, slice, d_perm, d_slice, d_all, dv_perm, dv_slice, target, target_view,
                             d_copy};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    }
}

/* Conversions and broadcasts on the device give what the host gives. */
static void test_device_conversions(void) {
    const int64_t shape[2] = {6, 9}, row[2] = {1, 9};
    const orr_dtype types[] = {ORR_F32, ORR_BF16, ORR_F16, ORR_F64, ORR_I32, ORR_I64, ORR_I8, ORR_BOOL};
    const int n_types = (int)(sizeof types / sizeof types[0]);
    orr_tensor *src = test_tensor_filled(ORR_F32, 2, shape, 5, 50.0f), *d_src = on_device(src);
    orr_tensor *bias = test_tensor_filled(ORR_BF16, 2, row, 6, 2.0f), *d_bias = on_device(bias);
    for (int i = 0; i < n_types; i++) {
        orr_tensor *want = NULL, *got_dev = NULL, *got = NULL;
        CHECK_OK(orr_tensor_clone(&want, src, types[i]));
        CHECK_OK(orr_tensor_clone(&got_dev, d_src, types[i]));
        got = got_dev ? on_host(got_dev) : NULL;
        CHECK(same_values(got, want));
        /* a broadcast row, converted, into every row of a device tensor */
        CHECK_OK(orr_copy(want, bias));
        CHECK_OK(orr_copy(got_dev, d_bias));
        orr_tensor_free(got);
        got = on_host(got_dev);
        CHECK(same_values(got, want));
        /* and the f32 host tensor straight into the device tensor */
        CHECK_OK(orr_copy(got_dev, src));
        orr_tensor_free(got);
        got = on_host(got_dev);
        CHECK_OK(orr_copy(want, src));
        CHECK(same_values(got, want));
        orr_tensor_free(want);
        orr_tensor_free(got_dev);
        orr_tensor_free(got);
    }
    orr_tensor_free(src);
    orr_tensor_free(d_src);
    orr_tensor_free(bias);
    orr_tensor_free(d_bias);
}

/* More than the two 8 MiB staging buffers hold, both ways, with a tail. */
static void test_large_copy(void) {
    const int64_t n[1] = {5 * (1 << 20) + 123}; /* 20 MiB + of f32 */
    orr_tensor *host = NULL, *d = NULL, *back = NULL;
    CHECK_OK(orr_tensor_empty(&host, ORR_F32, 1, n));
    if (!host) return;
    float *v = host->data;
    for (int64_t i = 0; i < n[0]; i++) v[i] = (float)i;
    d = on_device(host);
    back = d ? on_host(d) : NULL;
    CHECK(back && memcmp(back->data, host->data, orr_tensor_nbytes(host)) == 0);
    orr_tensor_free(host);
    orr_tensor_free(d);
    orr_tensor_free(back);
}

static void test_zeros_fill_and_elements(void) {
    const int64_t shape[2] = {4, 5};
    orr_tensor *z = NULL, *h = NULL;
    CHECK_OK(orr_tensor_zeros_on(ORR_CUDA, &z, ORR_BF16, 2, shape));
    h = z ? on_host(z) : NULL;
    bool zero = h != NULL;
    for (int64_t i = 0; h && i < 20; i++) zero = zero && orr_tensor_get(h, i) == 0.0;
    CHECK(zero);
    orr_tensor_free(h);
    CHECK_OK(orr_fill(z, 2.5));
    h = on_host(z);
    CHECK(h && orr_tensor_get(h, 0) == 2.5 && orr_tensor_get(h, 19) == 2.5);
    orr_tensor_free(h);

    orr_tensor *col = NULL;
    CHECK_OK(orr_tensor_select(&col, z, 1, 3)); /* strided device view */
    orr_tensor_set(col, 2, -7.0);
    CHECK(orr_tensor_get(col, 2) == -7.0 && orr_tensor_get(z, 2 * 5 + 3) == -7.0);
    CHECK(orr_tensor_get(z, 2 * 5 + 2) == 2.5);
    orr_tensor_free(col);
    orr_tensor_free(z);
}

static void test_errors(void) {
    const int64_t shape[2] = {2, 3}, two[1] = {4}, vs[5] = {1, 1, 2, 2, 2};
    orr_tensor *h = test_tensor_filled(ORR_F32, 2, shape, 2, 1.0f), *d = on_device(h), *dout = NULL;
    orr_tensor *v = NULL, *pooled = NULL;
    CHECK_OK(orr_tensor_empty_on(ORR_CUDA, &dout, ORR_F32, 2, (int64_t[]){4, 3}));
    CHECK_OK(orr_tensor_zeros_on(ORR_CUDA, &v, ORR_F32, 5, vs));
    CHECK_OK(orr_tensor_zeros_on(ORR_CUDA, &pooled, ORR_F32, 5, (int64_t[]){1, 1, 1, 1, 1}));
    /* host-only functions name the device tensor instead of reading it */
    CHECK_FAILS(orr_avg_pool3d(pooled, v, (int[]){2, 2, 2}, (int[]){2, 2, 2}), ORR_ERR_UNSUPPORTED,
                "avg_pool3d: y is on cuda");
    orr_rng rng;
    orr_rng_init(&rng, 1);
    CHECK_FAILS(orr_rng_normal(&rng, d, 0.0f, 1.0f), ORR_ERR_UNSUPPORTED, "rng: tensor is on cuda");
    const char *names[1] = {"d"};
    const orr_tensor *ts[1] = {d};
    CHECK_FAILS(orr_st_save("/nonexistent/never.safetensors", 1, names, ts, 0, NULL, NULL), ORR_ERR_UNSUPPORTED,
                "d is on cuda");
    /* an op with a cuda path refuses mixed devices, naming the odd one */
    orr_tensor *hs = NULL;
    CHECK_OK(orr_tensor_empty(&hs, ORR_F32, 2, shape));
    CHECK_FAILS(orr_unary(hs, d, ORR_EXP), ORR_ERR_ARGUMENT, "unary: a is on cuda but the op runs on cpu");
    const orr_tensor *parts[2] = {d, h};
    CHECK_FAILS(orr_concat(dout, parts, 2, 0), ORR_ERR_ARGUMENT, "concat: parts[1] is on cpu but the op runs on cuda");
    orr_tensor *bad = NULL;
    CHECK_FAILS(orr_tensor_empty_on(ORR_CUDA, &bad, ORR_F32, 1, (int64_t[]){-1}), ORR_ERR_SHAPE, "invalid shape");
    CHECK_FAILS(orr_tensor_empty_on(ORR_CUDA, &bad, ORR_DTYPE_COUNT, 1, two), ORR_ERR_DTYPE, "invalid dtype");
    CHECK(bad == NULL);
    CHECK_FAILS(orr_copy(dout, h), ORR_ERR_SHAPE, "copy: ");
    orr_tensor *all[] = {h, d, dout, v, pooled, hs};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_runtime");
    test_info();
    test_allocator();
    test_round_trips();
    test_device_conversions();
    test_large_copy();
    test_zeros_fill_and_elements();
    test_errors();
    CHECK_OK(orr_cuda_synchronize());
    return test_finish("test_runtime");
}
