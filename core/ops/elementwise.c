/* ops/elementwise.c — orr_binary (NumPy broadcasting), orr_unary,
 * orr_affine and orr_fill on tensors of any dtype and strides. */
#include <string.h>

#include "cuda/device.h"
#include "elementwise.h"
#include "internal.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/elementwise.h"
#endif

/* Broadcasts a and b to the shape they share, or explains why not. */
static orr_status broadcast_shape(const orr_tensor *a, const orr_tensor *b, int *ndim, int64_t *shape) {
    char da[200], db[200];
    *ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int d = 0; d < *ndim; d++) {
        int da_ = d - (*ndim - a->ndim), db_ = d - (*ndim - b->ndim);
        int64_t sa = da_ >= 0 ? a->shape[da_] : 1, sb = db_ >= 0 ? b->shape[db_] : 1;
        if (sa != sb && sa != 1 && sb != 1)
            return orr_error(ORR_ERR_SHAPE, "binary: a %s and b %s do not broadcast (dim %d: %lld vs %lld)",
                             orr_tensor_describe(a, da, sizeof da), orr_tensor_describe(b, db, sizeof db),
                             d - *ndim, (long long)sa, (long long)sb);
        shape[d] = sa == 1 ? sb : sa;
    }
    return ORR_OK;
}

/* Strides of t's contiguous float32 copy, seen in out's ndim dims: 0 along
 * leading and size-1 dims. */
static void broadcast_strides(const orr_tensor *t, int ndim, int64_t *strides) {
    int64_t step = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        int td = d - (ndim - t->ndim);
        int64_t size = td >= 0 ? t->shape[td] : 1;
        strides[d] = size == 1 ? 0 : step;
        step *= size;
    }
}

orr_status orr_binary(orr_tensor *out, const orr_tensor *a, const orr_tensor *b, orr_binary_op op) {
    orr_status st;
    orr_device dev;
    if ((st = orr_op_device("binary", "out", out, &dev)) || (st = orr_check_device("binary", "a", a, dev)) ||
        (st = orr_check_device("binary", "b", b, dev)))
        return st;
    if (op < ORR_ADD || op > ORR_MIN)
        return orr_error(ORR_ERR_ARGUMENT, "binary: op %d is not an orr_binary_op", (int)op);
    int ndim;
    int64_t shape[ORR_MAX_DIMS], sa[ORR_MAX_DIMS], sb[ORR_MAX_DIMS];
    if ((st = broadcast_shape(a, b, &ndim, shape))) return st;
    if (ndim != out->ndim || memcmp(shape, out->shape, sizeof(int64_t) * (size_t)ndim) != 0) {
        char dout[200], ds[200];
        return orr_error(ORR_ERR_SHAPE, "binary: out is %s but a and b broadcast to %s",
                         orr_tensor_describe(out, dout, sizeof dout), orr_shape_str(ndim, shape, ds, sizeof ds));
    }
    broadcast_strides(a, ndim, sa);
    broadcast_strides(b, ndim, sb);

    orr_tensor *a_tmp = NULL, *b_tmp = NULL, *out_tmp = NULL;
    const float *ad, *bd;
    float *od;
    if (!(st = orr_input_f32(a, &a_tmp, &ad)) && !(st = orr_input_f32(b, &b_tmp, &bd)) &&
        !(st = orr_output_f32_begin(out, &out_tmp, &od))) {
#ifdef ORR_HAVE_CUDA
        if (dev == ORR_CUDA) st = orr_cuda_binary(od, ad, sa, bd, sb, ndim, shape, op, orr_cuda_stream());
        else
#endif
            orr_cpu_binary(od, ad, sa, bd, sb, ndim, shape, op);
        if (!st) st = orr_output_f32_end(out, out_tmp);
        else orr_tensor_free(out_tmp);
    }
    orr_tensor_free(a_tmp);
    orr_tensor_free(b_tmp);
    return st;
}

/* The shared frame of unary and affine: same shapes, float32 staging. */
typedef struct map_args {
    orr_unary_op op;
    float scale, shift;
    bool affine;
} map_args;

static orr_status map_kernel(orr_device dev, float *out, const float *a, int64_t n, const map_args *args) {
#ifdef ORR_HAVE_CUDA
    if (dev == ORR_CUDA)
        return args->affine ? orr_cuda_affine(out, a, n, args->scale, args->shift, orr_cuda_stream())
                            : orr_cuda_unary(out, a, n, args->op, orr_cuda_stream());
#endif
    if (args->affine) orr_cpu_affine(out, a, n, args->scale, args->shift);
    else orr_cpu_unary(out, a, n, args->op);
    return ORR_OK;
}

static orr_status map(const char *name, orr_tensor *out, const orr_tensor *a, const map_args *args) {
    orr_status st;
    orr_device dev;
    if ((st = orr_op_device(name, "out", out, &dev)) || (st = orr_check_device(name, "a", a, dev)) ||
        (st = orr_check_same_shape(name, "out", out, "a", a)))
        return st;
    orr_tensor *a_tmp = NULL, *out_tmp = NULL;
    const float *ad;
    float *od;
    if (!(st = orr_input_f32(a, &a_tmp, &ad)) && !(st = orr_output_f32_begin(out, &out_tmp, &od))) {
        st = map_kernel(dev, od, ad, orr_tensor_numel(out), args);
        if (!st) st = orr_output_f32_end(out, out_tmp);
        else orr_tensor_free(out_tmp);
    }
    orr_tensor_free(a_tmp);
    return st;
}

orr_status orr_unary(orr_tensor *out, const orr_tensor *a, orr_unary_op op) {
    if (op < ORR_IDENTITY || op > ORR_COS)
        return orr_error(ORR_ERR_ARGUMENT, "unary: op %d is not an orr_unary_op", (int)op);
    map_args args = {.op = op};
    return map("unary", out, a, &args);
}

orr_status orr_affine(orr_tensor *out, const orr_tensor *a, float scale, float shift) {
    map_args args = {.scale = scale, .shift = shift, .affine = true};
    return map("affine", out, a, &args);
}

/* Through orr_copy from a double scalar, so that every dtype gets the value
 * exactly as a conversion from double gives it (int64 included); on a
 * device the scalar goes over first and is broadcast there. */
orr_status orr_fill(orr_tensor *out, double value) {
    orr_status st;
    if ((st = orr_check_backend("fill", "out", out))) return st;
    orr_tensor *scalar;
    if ((st = orr_tensor_wrap(&scalar, &value, ORR_F64, 0, NULL, NULL, NULL))) return st;
    st = orr_copy(out, scalar);
    orr_tensor_free(scalar);
    return st;
}
