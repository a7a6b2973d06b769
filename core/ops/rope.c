/* ops/rope.c — orr_rope: rotary embedding with cos/sin broadcast to x. */
#include "cuda/device.h"
#include "internal.h"
#include "rope.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/rope.h"
#endif

/* cos or sin as contiguous float32 running over x's last dim D (widened
 * once if it broadcasts along D), and its strides over x's leading dims, 0
 * where it broadcasts. */
static orr_status stage_table(const char *arg, const orr_tensor *t, const orr_tensor *x, orr_tensor **tmp,
                              const float **data, int64_t *strides) {
    orr_status st;
    char dt[200], dx[200];
    const int64_t dim = x->shape[x->ndim - 1];
    bool ok = t->ndim <= x->ndim;
    for (int d = 0; ok && d < t->ndim; d++) {
        int64_t want = x->shape[x->ndim - t->ndim + d];
        ok = t->shape[d] == want || t->shape[d] == 1;
    }
    if (!ok)
        return orr_error(ORR_ERR_SHAPE, "rope: %s is %s but does not broadcast to x %s", arg,
                         orr_tensor_describe(t, dt, sizeof dt), orr_tensor_describe(x, dx, sizeof dx));
    const int nd = t->ndim ? t->ndim : 1;
    int64_t shape[ORR_MAX_DIMS];
    for (int d = 0; d < nd; d++) shape[d] = t->ndim ? t->shape[d] : 1;
    if (shape[nd - 1] != dim) {
        shape[nd - 1] = dim;
        orr_tensor *wide;
        if ((st = orr_tensor_expand(&wide, t, nd, shape))) return st;
        st = orr_tensor_clone(tmp, wide, ORR_F32);
        orr_tensor_free(wide);
        if (st) return st;
        *data = (*tmp)->data;
    } else if ((st = orr_input_f32(t, tmp, data))) {
        return st;
    }
    int64_t step = dim;
    for (int d = x->ndim - 2; d >= 0; d--) {
        int td = d - (x->ndim - nd);
        int64_t size = td >= 0 ? shape[td] : 1;
        strides[d] = size == 1 ? 0 : step;
        step *= size;
    }
    return ORR_OK;
}

orr_status orr_rope(orr_tensor *out, const orr_tensor *x, const orr_tensor *cos, const orr_tensor *sin,
                    bool interleaved) {
    orr_status st;
    char dx[200];
    orr_device dev;
    if ((st = orr_op_device("rope", "out", out, &dev)) || (st = orr_check_device("rope", "x", x, dev)) ||
        (st = orr_check_device("rope", "cos", cos, dev)) || (st = orr_check_device("rope", "sin", sin, dev)))
        return st;
    if (x->ndim < 1 || x->shape[x->ndim - 1] % 2 != 0)
        return orr_error(ORR_ERR_SHAPE, "rope: x is %s but its last dim must be even",
                         orr_tensor_describe(x, dx, sizeof dx));
    if ((st = orr_check_same_shape("rope", "out", out, "x", x))) return st;
    const int64_t dim = x->shape[x->ndim - 1];
    int64_t cos_stride[ORR_MAX_DIMS], sin_stride[ORR_MAX_DIMS];
    orr_tensor *cos_tmp = NULL, *sin_tmp = NULL, *x_tmp = NULL, *out_tmp = NULL;
    const float *cd, *sd, *xd;
    float *od;
    if (!(st = stage_table("cos", cos, x, &cos_tmp, &cd, cos_stride)) &&
        !(st = stage_table("sin", sin, x, &sin_tmp, &sd, sin_stride)) && !(st = orr_input_f32(x, &x_tmp, &xd)) &&
        !(st = orr_output_f32_begin(out, &out_tmp, &od))) {
#ifdef ORR_HAVE_CUDA
        if (dev == ORR_CUDA)
            st = orr_cuda_rope(od, xd, cd, cos_stride, sd, sin_stride, x->ndim - 1, x->shape, dim, interleaved,
                               orr_cuda_stream());
        else
#endif
            orr_cpu_rope(od, xd, cd, cos_stride, sd, sin_stride, x->ndim - 1, x->shape, dim, interleaved);
        if (!st) st = orr_output_f32_end(out, out_tmp);
        else orr_tensor_free(out_tmp);
    }
    orr_tensor_free(cos_tmp);
    orr_tensor_free(sin_tmp);
    orr_tensor_free(x_tmp);
    return st;
}
