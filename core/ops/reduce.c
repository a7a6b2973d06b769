/* ops/reduce.c — orr_reduce over one dim, orr_reduce_all, orr_count_nonfinite
 * and orr_softmax on tensors of any dtype and strides. */
#include <math.h>

#include "cuda/device.h"
#include "elementwise.h"
#include "internal.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/elementwise.h"
#endif

static const char *reduce_name(orr_reduce_op op) {
    switch (op) {
    case ORR_SUM: return "sum";
    case ORR_MEAN: return "mean";
    case ORR_AMAX: return "amax";
    case ORR_AMIN: return "amin";
    }
    return "?";
}

static orr_status check_reduce_op(const char *name, orr_reduce_op op) {
    if (op < ORR_SUM || op > ORR_AMIN)
        return orr_error(ORR_ERR_ARGUMENT, "%s: op %d is not an orr_reduce_op", name, (int)op);
    return ORR_OK;
}

/* a seen as [outer, n, inner] around dim. */
static void split_at(const orr_tensor *a, int dim, int64_t *outer, int64_t *n, int64_t *inner) {
    *outer = *inner = 1;
    for (int d = 0; d < dim; d++) *outer *= a->shape[d];
    for (int d = dim + 1; d < a->ndim; d++) *inner *= a->shape[d];
    *n = a->shape[dim];
}

/* out must be a's shape with dim removed, or kept with size 1. */
static bool reduced_shape_matches(const orr_tensor *out, const orr_tensor *a, int dim) {
    if (out->ndim == a->ndim) {
        for (int d = 0; d < a->ndim; d++)
            if (out->shape[d] != (d == dim ? 1 : a->shape[d])) return false;
        return true;
    }
    if (out->ndim != a->ndim - 1) return false;
    for (int d = 0, o = 0; d < a->ndim; d++)
        if (d != dim && out->shape[o++] != a->shape[d]) return false;
    return true;
}

orr_status orr_reduce(orr_tensor *out, const orr_tensor *a, int dim, orr_reduce_op op) {
    orr_status st;
    char dout[200], da[200];
    orr_device dev;
    if ((st = orr_op_device("reduce", "out", out, &dev)) || (st = orr_check_device("reduce", "a", a, dev)) ||
        (st = check_reduce_op("reduce", op)) || (st = orr_norm_dim("reduce", a->ndim, &dim)))
        return st;
    if (!reduced_shape_matches(out, a, dim))
        return orr_error(ORR_ERR_SHAPE, "reduce: out is %s but a is %s reduced over dim %d (removed or kept as 1)",
                         orr_tensor_describe(out, dout, sizeof dout), orr_tensor_describe(a, da, sizeof da), dim);
    int64_t outer, n, inner;
    split_at(a, dim, &outer, &n, &inner);
    if (n == 0 && (op == ORR_AMAX || op == ORR_AMIN) && outer * inner > 0)
        return orr_error(ORR_ERR_SHAPE, "reduce: %s over dim %d of a %s, which is empty", reduce_name(op), dim,
                         orr_tensor_describe(a, da, sizeof da));
    orr_tensor *a_tmp = NULL, *out_tmp = NULL;
    const float *ad;
    float *od;
    if (!(st = orr_input_f32(a, &a_tmp, &ad)) && !(st = orr_output_f32_begin(out, &out_tmp, &od))) {
#ifdef ORR_HAVE_CUDA
        if (dev == ORR_CUDA) st = orr_cuda_reduce(od, ad, outer, n, inner, op, orr_cuda_stream());
        else
#endif
            orr_cpu_reduce(od, ad, outer, n, inner, op);
        if (!st) st = orr_output_f32_end(out, out_tmp);
        else orr_tensor_free(out_tmp);
    }
    orr_tensor_free(a_tmp);
    return st;
}

#ifdef ORR_HAVE_CUDA
/* reduce_all and count_nonfinite on the device: the kernel writes its one
 * value (a double or an int64) to 8 device bytes, which come back once it
 * has run. */
static orr_status device_result(const float *a, int64_t n, orr_reduce_op op, bool count, void *result) {
    const int64_t one = 1;
    orr_tensor *cell;
    orr_status st = orr_tensor_empty_on(ORR_CUDA, &cell, ORR_F64, 1, &one);
    if (st) return st;
    st = count ? orr_cuda_count_nonfinite(cell->data, a, n, orr_cuda_stream())
               : orr_cuda_reduce_all(cell->data, a, n, op, orr_cuda_stream());
    if (!st) st = orr_cuda_download(result, cell->data, 8);
    orr_tensor_free(cell);
    return st;
}
#endif

orr_status orr_reduce_all(const orr_tensor *a, orr_reduce_op op, double *result) {
    orr_status st;
    char da[200];
    if ((st = orr_check_backend("reduce_all", "a", a)) || (st = check_reduce_op("reduce_all", op))) return st;
    if (!result) return orr_error(ORR_ERR_ARGUMENT, "reduce_all: result is NULL");
    int64_t n = orr_tensor_numel(a);
    if (n == 0 && (op == ORR_AMAX || op == ORR_AMIN))
        return orr_error(ORR_ERR_SHAPE, "reduce_all: %s of a %s, which is empty", reduce_name(op),
                         orr_tensor_describe(a, da, sizeof da));
    orr_tensor *a_tmp = NULL;
    const float *ad;
    if ((st = orr_input_f32(a, &a_tmp, &ad))) return st;
#ifdef ORR_HAVE_CUDA
    if (a->device == ORR_CUDA) {
        st = device_result(ad, n, op, false, result);
        orr_tensor_free(a_tmp);
        return st;
    }
#endif
    *result = orr_cpu_reduce_all(ad, n, op);
    orr_tensor_free(a_tmp);
    return ORR_OK;
}

/* float64 values beyond float32's range are finite, so they are counted
 * without the float32 staging. */
static orr_status count_nonfinite_f64(const orr_tensor *a, int64_t *count) {
    orr_tensor *c;
    orr_status st = a->device == ORR_CPU ? orr_tensor_contiguous(&c, a) : orr_tensor_to(&c, a, ORR_CPU);
    if (st) return st;
    const double *x = c->data;
    int64_t n = orr_tensor_numel(c), k = 0;
    for (int64_t i = 0; i < n; i++) k += !isfinite(x[i]);
    orr_tensor_free(c);
    *count = k;
    return ORR_OK;
}

orr_status orr_count_nonfinite(const orr_tensor *a, int64_t *count) {
    orr_status st;
    if ((st = orr_check_backend("count_nonfinite", "a", a))) return st;
    if (!count) return orr_error(ORR_ERR_ARGUMENT, "count_nonfinite: count is NULL");
    switch (a->dtype) {
    case ORR_F32:
    case ORR_BF16:
    case ORR_F16: break;
    case ORR_F64: return count_nonfinite_f64(a, count);
    default: *count = 0; return ORR_OK; /* integers and bools are always finite */
    }
    orr_tensor *a_tmp = NULL;
    const float *ad;
    if ((st = orr_input_f32(a, &a_tmp, &ad))) return st;
#ifdef ORR_HAVE_CUDA
    if (a->device == ORR_CUDA) {
        st = device_result(ad, orr_tensor_numel(a), ORR_SUM, true, count);
        orr_tensor_free(a_tmp);
        return st;
    }
#endif
    *count = orr_cpu_count_nonfinite(ad, orr_tensor_numel(a));
    orr_tensor_free(a_tmp);
    return ORR_OK;
}

orr_status orr_softmax(orr_tensor *out, const orr_tensor *a, int dim) {
    orr_status st;
    orr_device dev;
    if ((st = orr_op_device("softmax", "out", out, &dev)) || (st = orr_check_device("softmax", "a", a, dev)) ||
        (st = orr_norm_dim("softmax", a->ndim, &dim)) || (st = orr_check_same_shape("softmax", "out", out, "a", a)))
        return st;
    int64_t outer, n, inner;
    split_at(a, dim, &outer, &n, &inner);
    orr_tensor *a_tmp = NULL, *out_tmp = NULL;
    const float *ad;
    float *od;
    if (!(st = orr_input_f32(a, &a_tmp, &ad)) && !(st = orr_output_f32_begin(out, &out_tmp, &od))) {
#ifdef ORR_HAVE_CUDA
        if (dev == ORR_CUDA) st = orr_cuda_softmax(od, ad, outer, n, inner, orr_cuda_stream());
        else
#endif
            orr_cpu_softmax(od, ad, outer, n, inner);
        if (!st) st = orr_output_f32_end(out, out_tmp);
        else orr_tensor_free(out_tmp);
    }
    orr_tensor_free(a_tmp);
    return st;
}
