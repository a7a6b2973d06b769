/* check.c — argument validation shared by every op, so that all messages
 * read the same way: "<op>: <arg> is f32[2,3] but ...". */
#include <stdio.h>

#include "internal.h"

const char *orr_shape_str(int ndim, const int64_t *shape, char *buf, size_t size) {
    size_t n = 0;
    n += (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

const char *orr_tensor_describe(const orr_tensor *t, char *buf, size_t size) {
    if (!t) {
        snprintf(buf, size, "(null)");
        return buf;
    }
    char shape[160];
    snprintf(buf, size, "%s%s%s", orr_dtype_name(t->dtype), orr_shape_str(t->ndim, t->shape, shape, sizeof shape),
             t->device == ORR_CPU ? "" : "@cuda");
    return buf;
}

bool orr_mul_overflows(int64_t a, int64_t b, int64_t *out) { return __builtin_mul_overflow(a, b, out); }

orr_status orr_check_cpu(const char *op, const char *arg, const orr_tensor *t) {
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "%s: %s is NULL", op, arg);
    if (t->device != ORR_CPU)
        return orr_error(ORR_ERR_UNSUPPORTED, "%s: %s is on %s; this op runs on the cpu", op, arg,
                         orr_device_name(t->device));
    return ORR_OK;
}

orr_status orr_check_ndim(const char *op, const char *arg, const orr_tensor *t, int ndim) {
    char d[200];
    if (t->ndim != ndim)
        return orr_error(ORR_ERR_SHAPE, "%s: %s is %s but must have %d dims", op, arg,
                         orr_tensor_describe(t, d, sizeof d), ndim);
    return ORR_OK;
}

orr_status orr_check_dim(const char *op, const char *arg, const orr_tensor *t, int dim, int64_t size) {
    char d[200];
    if (dim < 0) dim += t->ndim;
    if (dim < 0 || dim >= t->ndim || t->shape[dim] != size)
        return orr_error(ORR_ERR_SHAPE, "%s: %s is %s but dim %d must be %lld", op, arg,
                         orr_tensor_describe(t, d, sizeof d), dim, (long long)size);
    return ORR_OK;
}

orr_status orr_check_same_shape(const char *op, const char *arg_a, const orr_tensor *a, const char *arg_b,
                                const orr_tensor *b) {
    char da[200], db[200];
    if (!orr_tensor_same_shape(a, b))
        return orr_error(ORR_ERR_SHAPE, "%s: %s is %s but %s is %s", op, arg_a, orr_tensor_describe(a, da, sizeof da),
                         arg_b, orr_tensor_describe(b, db, sizeof db));
    return ORR_OK;
}

orr_status orr_norm_dim(const char *op, int ndim, int *dim) {
    int d = *dim < 0 ? *dim + ndim : *dim;
    if (d < 0 || d >= ndim) return orr_error(ORR_ERR_ARGUMENT, "%s: dim %d is out of range for %d dims", op, *dim, ndim);
    *dim = d;
    return ORR_OK;
}
