/* tensor.c — creating and freeing tensors, and what can be asked of one. */
#include <stdlib.h>
#include <string.h>

#include "cuda/device.h"
#include "internal.h"

static orr_status check_shape(const char *op, int ndim, const int64_t *shape, orr_dtype dtype, int64_t *numel) {
    char buf[200];
    if ((unsigned)dtype >= ORR_DTYPE_COUNT) return orr_error(ORR_ERR_DTYPE, "%s: invalid dtype %d", op, (int)dtype);
    if (ndim < 0 || ndim > ORR_MAX_DIMS)
        return orr_error(ORR_ERR_SHAPE, "%s: %d dims (at most %d)", op, ndim, ORR_MAX_DIMS);
    if (ndim && !shape) return orr_error(ORR_ERR_ARGUMENT, "%s: shape is NULL", op);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || orr_mul_overflows(n, shape[d], &n))
            return orr_error(ORR_ERR_SHAPE, "%s: invalid shape %s", op, orr_shape_str(ndim, shape, buf, sizeof buf));
    }
    int64_t bytes;
    if (orr_mul_overflows(n, (int64_t)orr_dtype_size(dtype), &bytes))
        return orr_error(ORR_ERR_SHAPE, "%s: shape %s is too large", op, orr_shape_str(ndim, shape, buf, sizeof buf));
    *numel = n;
    return ORR_OK;
}

static void set_contiguous(orr_tensor *t, int ndim, const int64_t *shape) {
    int64_t s = 1;
    t->ndim = ndim;
    for (int d = ndim - 1; d >= 0; d--) {
        t->shape[d] = shape[d];
        t->stride[d] = s;
        s *= shape[d] ? shape[d] : 1;
    }
}

orr_status orr_tensor_over(orr_tensor **out, orr_storage *storage, int64_t offset, orr_dtype dtype, int ndim,
                           const int64_t *shape) {
    int64_t numel;
    *out = NULL;
    orr_status st = check_shape("tensor", ndim, shape, dtype, &numel);
    if (st) return st;
    size_t esize = orr_dtype_size(dtype);
    if (offset < 0 || (uint64_t)(offset + numel) * esize > orr_storage_bytes(storage))
        return orr_error(ORR_ERR_SHAPE, "tensor: %lld elements at offset %lld do not fit in %zu bytes",
                         (long long)numel, (long long)offset, orr_storage_bytes(storage));
    orr_tensor *t = calloc(1, sizeof *t);
    if (!t) return orr_error(ORR_ERR_MEMORY, "tensor: out of host memory");
    orr_storage_retain(storage);
    t->storage = storage;
    t->offset = offset;
    t->data = (char *)orr_storage_base(storage) + offset * (int64_t)esize;
    t->dtype = dtype;
    t->device = ORR_CPU;
    set_contiguous(t, ndim, shape);
    *out = t;
    return ORR_OK;
}

static orr_status tensor_new(orr_tensor **out, orr_dtype dtype, int ndim, const int64_t *shape, bool zero) {
    int64_t numel;
    *out = NULL;
    orr_status st = check_shape("tensor", ndim, shape, dtype, &numel);
    if (st) return st;
    orr_storage *s;
    st = orr_storage_alloc(ORR_CPU, (size_t)numel * orr_dtype_size(dtype), zero, &s);
    if (st) return st;
    st = orr_tensor_over(out, s, 0, dtype, ndim, shape);
    orr_storage_release(s);
    return st;
}

orr_status orr_tensor_empty(orr_tensor **out, orr_dtype dtype, int ndim, const int64_t *shape) {
    return tensor_new(out, dtype, ndim, shape, false);
}

orr_status orr_tensor_zeros(orr_tensor **out, orr_dtype dtype, int ndim, const int64_t *shape) {
    return tensor_new(out, dtype, ndim, shape, true);
}

orr_status orr_tensor_empty_in(orr_arena *arena, orr_tensor **out, orr_dtype dtype, int ndim,
                               const int64_t *shape) {
    int64_t numel;
    *out = NULL;
    if (!arena) return orr_error(ORR_ERR_ARGUMENT, "tensor: arena is NULL");
    orr_status st = check_shape("tensor", ndim, shape, dtype, &numel);
    if (st) return st;
    size_t bytes = (size_t)numel * orr_dtype_size(dtype);
    void *p;
    if ((st = orr_arena_alloc(arena, bytes, &p))) return st;
    orr_storage *s;
    if ((st = orr_storage_create(ORR_CPU, p, bytes, NULL, NULL, &s))) return st;
    st = orr_tensor_over(out, s, 0, dtype, ndim, shape);
    orr_storage_release(s);
    return st;
}

typedef struct wrap_release {
    void (*release)(void *user);
    void *user;
} wrap_release;

static void release_wrapped(void *user, void *base, size_t bytes) {
    wrap_release *w = user;
    if (w->release) w->release(w->user);
    free(w);
}

orr_status orr_tensor_wrap(orr_tensor **out, void *data, orr_dtype dtype, int ndim, const int64_t *shape,
                           void (*release)(void *user), void *user) {
    int64_t numel;
    *out = NULL;
    orr_status st = check_shape("tensor_wrap", ndim, shape, dtype, &numel);
    if (st) return st;
    if (!data && numel) return orr_error(ORR_ERR_ARGUMENT, "tensor_wrap: data is NULL");
    wrap_release *w = malloc(sizeof *w);
    if (!w) return orr_error(ORR_ERR_MEMORY, "tensor_wrap: out of host memory");
    w->release = release;
    w->user = user;
    orr_storage *s;
    st = orr_storage_create(ORR_CPU, data, (size_t)numel * orr_dtype_size(dtype), release_wrapped, w, &s);
    if (st) return st;
    st = orr_tensor_over(out, s, 0, dtype, ndim, shape);
    orr_storage_release(s);
    return st;
}

void orr_tensor_free(orr_tensor *t) {
    if (!t) return;
    orr_storage_release(t->storage);
    free(t);
}

int64_t orr_tensor_numel(const orr_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

size_t orr_tensor_nbytes(const orr_tensor *t) { return (size_t)orr_tensor_numel(t) * orr_dtype_size(t->dtype); }

bool orr_tensor_is_contiguous(const orr_tensor *t) {
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != s) return false;
        s *= t->shape[d];
    }
    return true;
}

bool orr_tensor_same_shape(const orr_tensor *a, const orr_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

/* Byte address of the element at a flat row-major index. */
static void *element_at(const orr_tensor *t, int64_t flat) {
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        int64_t i = flat % t->shape[d];
        flat /= t->shape[d];
        off += i * t->stride[d];
    }
    return (char *)t->data + off * (int64_t)orr_dtype_size(t->dtype);
}

/* A device tensor's element goes through a copy of its bytes (NaN when
 * that fails, with the reason in orr_last_error). */
double orr_tensor_get(const orr_tensor *t, int64_t flat_index) {
    if (t->device != ORR_CPU) {
        double v;
        orr_device_element_get(t, flat_index, &v);
        return v;
    }
    return orr_load_element(element_at(t, flat_index), t->dtype);
}

void orr_tensor_set(orr_tensor *t, int64_t flat_index, double value) {
    if (t->device != ORR_CPU) {
        orr_device_element_set(t, flat_index, value);
        return;
    }
    orr_store_element(element_at(t, flat_index), t->dtype, value);
}
