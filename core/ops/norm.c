/* ops/norm.c — orr_group_norm, orr_layer_norm and orr_rms_norm on tensors
 * of any dtype and strides (weights too: bf16 checkpoints widen here). */
#include "cuda/device.h"
#include "internal.h"
#include "norm.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/norm.h"
#endif

/* The float32 data of an optional per-channel parameter of `size` values;
 * *data stays NULL when p is NULL. */
static orr_status param_f32(const char *op, const char *arg, const orr_tensor *p, int64_t size, orr_tensor **tmp,
                            const float **data, orr_device dev) {
    orr_status st;
    *tmp = NULL;
    *data = NULL;
    if (!p) return ORR_OK;
    if ((st = orr_check_device(op, arg, p, dev)) || (st = orr_check_ndim(op, arg, p, 1)) ||
        (st = orr_check_dim(op, arg, p, 0, size)))
        return st;
    return orr_input_f32(p, tmp, data);
}

static orr_status check_norm_args(const char *op, orr_tensor *y, const orr_tensor *x, int min_ndim, float eps) {
    orr_status st;
    char dx[200];
    orr_device dev;
    if ((st = orr_op_device(op, "y", y, &dev)) || (st = orr_check_device(op, "x", x, dev))) return st;
    if (x->ndim < min_ndim)
        return orr_error(ORR_ERR_SHAPE, "%s: x is %s but needs at least %d dims", op,
                         orr_tensor_describe(x, dx, sizeof dx), min_ndim);
    if ((st = orr_check_same_shape(op, "y", y, "x", x))) return st;
    if (!(eps >= 0.0f)) return orr_error(ORR_ERR_ARGUMENT, "%s: eps is %g; must be >= 0", op, (double)eps);
    return ORR_OK;
}

/* Staged buffers of one norm call; freed together. */
typedef struct staged {
    orr_tensor *x, *w, *b, *y, *scratch;
    const float *xd, *wd, *bd;
    float *yd;
} staged;

static orr_status stage(const char *op, staged *s, orr_tensor *y, const orr_tensor *x, const orr_tensor *w,
                        const orr_tensor *b, int64_t params) {
    orr_status st;
    if ((st = param_f32(op, "w", w, params, &s->w, &s->wd, y->device)) ||
        (st = param_f32(op, "b", b, params, &s->b, &s->bd, y->device)) ||
        (st = orr_input_f32(x, &s->x, &s->xd)))
        return st;
    return orr_output_f32_begin(y, &s->y, &s->yd);
}

static orr_status finish(staged *s, orr_tensor *y, orr_status st) {
    if (!st) st = orr_output_f32_end(y, s->y);
    else orr_tensor_free(s->y);
    orr_tensor_free(s->x);
    orr_tensor_free(s->w);
    orr_tensor_free(s->b);
    orr_tensor_free(s->scratch);
    return st;
}

/* Whether each (batch, channel) of t holds its trailing dims as one
 * contiguous run, so that the kernel can read or write t in place. */
static bool spatial_runs_contiguous(const orr_tensor *t) {
    if (t->dtype != ORR_F32) return false;
    int64_t expected = 1;
    for (int d = t->ndim - 1; d >= 2; d--) {
        if (t->shape[d] != 1 && t->stride[d] != expected) return false;
        expected *= t->shape[d];
    }
    return true;
}

orr_status orr_group_norm(orr_tensor *y, const orr_tensor *x, int groups, const orr_tensor *w, const orr_tensor *b,
                          float eps) {
    orr_status st;
    char dx[200];
    if ((st = check_norm_args("group_norm", y, x, 2, eps))) return st;
    const int64_t batch = x->shape[0], channels = x->shape[1];
    if (groups < 1 || channels % groups != 0)
        return orr_error(ORR_ERR_ARGUMENT, "group_norm: groups %d does not divide the %lld channels of x %s", groups,
                         (long long)channels, orr_tensor_describe(x, dx, sizeof dx));
    int64_t spatial = 1;
    for (int d = 2; d < x->ndim; d++) spatial *= x->shape[d];
    /* per-frame norms hand in [T,C,H,W] views of [C,T,H,W]: no copies then */
    int64_t x_stride[2] = {channels * spatial, spatial}, y_stride[2] = {channels * spatial, spatial};
    staged s = {0};
    if ((st = param_f32("group_norm", "w", w, channels, &s.w, &s.wd, y->device)) ||
        (st = param_f32("group_norm", "b", b, channels, &s.b, &s.bd, y->device)))
        return finish(&s, y, st);
    if (spatial_runs_contiguous(x)) {
        s.xd = x->data;
        x_stride[0] = x->stride[0], x_stride[1] = x->stride[1];
    } else if ((st = orr_input_f32(x, &s.x, &s.xd))) {
        return finish(&s, y, st);
    }
    if (spatial_runs_contiguous(y)) {
        s.yd = y->data;
        y_stride[0] = y->stride[0], y_stride[1] = y->stride[1];
    } else if ((st = orr_output_f32_begin(y, &s.y, &s.yd))) {
        return finish(&s, y, st);
    }
    if (batch * channels * spatial == 0) return finish(&s, y, st);
#ifdef ORR_HAVE_CUDA
    if (y->device == ORR_CUDA) {
        st = orr_cuda_group_norm(s.yd, y_stride, s.xd, x_stride, batch, channels, spatial, groups, s.wd, s.bd, eps,
                                 orr_cuda_stream());
    } else
#endif
    {
        const int64_t stats = 2 * batch * channels;
        st = orr_tensor_empty(&s.scratch, ORR_F64, 1, &stats);
        if (!st)
            orr_cpu_group_norm(s.yd, y_stride, s.xd, x_stride, batch, channels, spatial, groups, s.wd, s.bd, eps,
                               s.scratch->data);
    }
    return finish(&s, y, st);
}

orr_status orr_layer_norm(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, const orr_tensor *b, float eps) {
    orr_status st;
    if ((st = check_norm_args("layer_norm", y, x, 1, eps))) return st;
    const int64_t dim = x->shape[x->ndim - 1], rows = dim ? orr_tensor_numel(x) / dim : 0;
    staged s = {0};
    if ((st = stage("layer_norm", &s, y, x, w, b, dim))) return finish(&s, y, st);
#ifdef ORR_HAVE_CUDA
    if (y->device == ORR_CUDA)
        st = orr_cuda_layer_norm(s.yd, s.xd, rows, dim, s.wd, s.bd, eps, orr_cuda_stream());
    else
#endif
        orr_cpu_layer_norm(s.yd, s.xd, rows, dim, s.wd, s.bd, eps);
    return finish(&s, y, st);
}

orr_status orr_rms_norm(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, float eps) {
    orr_status st;
    if ((st = check_norm_args("rms_norm", y, x, 1, eps))) return st;
    const int64_t dim = x->shape[x->ndim - 1], rows = dim ? orr_tensor_numel(x) / dim : 0;
    staged s = {0};
    if ((st = stage("rms_norm", &s, y, x, w, NULL, dim))) return finish(&s, y, st);
#ifdef ORR_HAVE_CUDA
    if (y->device == ORR_CUDA)
        st = orr_cuda_rms_norm(s.yd, s.xd, rows, dim, s.wd, eps, orr_cuda_stream());
    else
#endif
        orr_cpu_rms_norm(s.yd, s.xd, rows, dim, s.wd, eps);
    return finish(&s, y, st);
}
