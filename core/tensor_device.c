/* tensor_device.c — tensors on a device of choice, moving them between
 * devices, and the device checks of ops: the parts of the CUDA backend the
 * core needs in every build (core/cuda/device.h). */
#include <math.h>

#include "cuda/device.h"
#include "internal.h"

orr_status orr_check_backend(const char *op, const char *arg, const orr_tensor *t) {
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "%s: %s is NULL", op, arg);
    switch (t->device) {
    case ORR_CPU: return ORR_OK;
    case ORR_CUDA:
#ifdef ORR_HAVE_CUDA
        /* only a stray device field gets here then: no tensor can be made there */
        if (!orr_cuda_available())
            return orr_error(ORR_ERR_UNSUPPORTED, "%s: %s is on cuda, but no CUDA device is usable here", op, arg);
        return ORR_OK;
#else
        return orr_error(ORR_ERR_UNSUPPORTED, "%s: %s is on cuda; this orrery was built without CUDA", op, arg);
#endif
    default: return orr_error(ORR_ERR_ARGUMENT, "%s: %s has an invalid device %d", op, arg, (int)t->device);
    }
}

orr_status orr_op_device(const char *op, const char *arg, const orr_tensor *t, orr_device *device) {
    orr_status st = orr_check_backend(op, arg, t);
    if (!st) *device = t->device;
    return st;
}

orr_status orr_check_device(const char *op, const char *arg, const orr_tensor *t, orr_device device) {
    orr_status st = orr_check_backend(op, arg, t);
    if (st) return st;
    if (t->device != device)
        return orr_error(ORR_ERR_ARGUMENT, "%s: %s is on %s but the op runs on %s (its first operand's device)", op,
                         arg, orr_device_name(t->device), orr_device_name(device));
    return ORR_OK;
}

/* The bytes of a new tensor, with the checks orr_tensor_empty makes. */
static orr_status tensor_bytes(orr_dtype dtype, int ndim, const int64_t *shape, size_t *bytes) {
    char buf[200];
    if ((unsigned)dtype >= ORR_DTYPE_COUNT) return orr_error(ORR_ERR_DTYPE, "tensor: invalid dtype %d", (int)dtype);
    if (ndim < 0 || ndim > ORR_MAX_DIMS)
        return orr_error(ORR_ERR_SHAPE, "tensor: %d dims (at most %d)", ndim, ORR_MAX_DIMS);
    if (ndim && !shape) return orr_error(ORR_ERR_ARGUMENT, "tensor: shape is NULL");
    int64_t n = (int64_t)orr_dtype_size(dtype);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || orr_mul_overflows(n, shape[d], &n))
            return orr_error(ORR_ERR_SHAPE, "tensor: invalid shape %s", orr_shape_str(ndim, shape, buf, sizeof buf));
    *bytes = (size_t)n;
    return ORR_OK;
}

static orr_status tensor_on(orr_device device, orr_tensor **out, orr_dtype dtype, int ndim, const int64_t *shape,
                            bool zero) {
    *out = NULL;
    if (device == ORR_CPU)
        return zero ? orr_tensor_zeros(out, dtype, ndim, shape) : orr_tensor_empty(out, dtype, ndim, shape);
    if (device != ORR_CUDA) return orr_error(ORR_ERR_ARGUMENT, "tensor: invalid device %d", (int)device);
    size_t bytes = 0;
    orr_storage *s;
    orr_status st;
    if ((st = tensor_bytes(dtype, ndim, shape, &bytes)) || (st = orr_storage_alloc(device, bytes, zero, &s)))
        return st;
    st = orr_tensor_over(out, s, 0, dtype, ndim, shape);
    orr_storage_release(s);
    if (!st) (*out)->device = device;
    return st;
}

orr_status orr_tensor_empty_on(orr_device device, orr_tensor **out, orr_dtype dtype, int ndim,
                               const int64_t *shape) {
    return tensor_on(device, out, dtype, ndim, shape, false);
}

orr_status orr_tensor_zeros_on(orr_device device, orr_tensor **out, orr_dtype dtype, int ndim,
                               const int64_t *shape) {
    return tensor_on(device, out, dtype, ndim, shape, true);
}

orr_status orr_tensor_to(orr_tensor **out, const orr_tensor *t, orr_device device) {
    orr_status st;
    *out = NULL;
    if ((st = orr_check_backend("tensor_to", "tensor", t))) return st;
    if (t->device == device) return orr_tensor_view(out, t);
    if ((st = orr_tensor_empty_on(device, out, t->dtype, t->ndim, t->shape)))
        return orr_error_context(st, "tensor_to %s: ", orr_device_name(device));
    if ((st = orr_copy(*out, t))) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

/* The byte offset of the element at a flat row-major index. */
static int64_t element_offset(const orr_tensor *t, int64_t flat) {
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += flat % t->shape[d] * t->stride[d];
        flat /= t->shape[d];
    }
    return off * (int64_t)orr_dtype_size(t->dtype);
}

orr_status orr_device_element_get(const orr_tensor *t, int64_t flat_index, double *value) {
    unsigned char bits[8];
    orr_status st = orr_cuda_download(bits, (const char *)t->data + element_offset(t, flat_index),
                                      orr_dtype_size(t->dtype));
    *value = st ? NAN : orr_load_element(bits, t->dtype);
    return st;
}

orr_status orr_device_element_set(orr_tensor *t, int64_t flat_index, double value) {
    unsigned char bits[8];
    orr_store_element(bits, t->dtype, value);
    return orr_cuda_upload((char *)t->data + element_offset(t, flat_index), bits, orr_dtype_size(t->dtype));
}
