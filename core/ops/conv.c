/* ops/conv.c — orr_conv3d, orr_conv2d (the kt = 1 case of the same
 * kernel) and orr_avg_pool3d. x and y are used in place when they are f32
 * with each channel's (t, h, w) block contiguous (a time slice of a bigger
 * video qualifies); other layouts and dtypes go through f32 copies. */
#include <limits.h>

#include "conv.h"
#include "cuda/device.h"
#include "internal.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/conv.h"
#include "cuda/cuda_internal.h"
#endif

void orr_conv_params_init(orr_conv_params *p) {
    if (!p) return;
    for (int a = 0; a < 3; a++) {
        p->stride[a] = 1;
        p->padding[a] = 0;
        p->dilation[a] = 1;
    }
    p->causal_pad = 0;
    p->groups = 1;
}

static const char *const axis_names[3] = {"t", "h", "w"};

static orr_status check_params(const char *op, const orr_conv_params *p, int first_axis) {
    if (!p) return orr_error(ORR_ERR_ARGUMENT, "%s: p is NULL", op);
    for (int a = first_axis; a < 3; a++) {
        if (p->stride[a] < 1)
            return orr_error(ORR_ERR_ARGUMENT, "%s: stride[%d] (%s) is %d; must be >= 1", op, a, axis_names[a],
                             p->stride[a]);
        if (p->dilation[a] < 1)
            return orr_error(ORR_ERR_ARGUMENT, "%s: dilation[%d] (%s) is %d; must be >= 1", op, a, axis_names[a],
                             p->dilation[a]);
        if (p->padding[a] < 0)
            return orr_error(ORR_ERR_ARGUMENT, "%s: padding[%d] (%s) is %d; must be >= 0", op, a, axis_names[a],
                             p->padding[a]);
    }
    if (p->causal_pad < 0)
        return orr_error(ORR_ERR_ARGUMENT, "%s: causal_pad is %d; must be >= 0", op, p->causal_pad);
    if (first_axis > 0 && p->causal_pad != 0)
        return orr_error(ORR_ERR_ARGUMENT, "%s: causal_pad is %d; it is a time padding, so must be 0 here", op,
                         p->causal_pad);
    if (p->groups < 1) return orr_error(ORR_ERR_ARGUMENT, "%s: groups is %d; must be >= 1", op, p->groups);
    return ORR_OK;
}

/* Whether dims [first, ndim) of t are one contiguous block (size-1 dims
 * take any stride). */
static bool trailing_contiguous(const orr_tensor *t, int first) {
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= first; d--) {
        if (t->shape[d] == 1) continue;
        if (t->stride[d] != expect) return false;
        expect *= t->shape[d];
    }
    return true;
}

/* Whether x or y can be used in place (in `dtype`, each channel's block
 * contiguous, channels not overlapping); sets the batch and channel strides,
 * normalised where a dim of one element leaves its stride meaningless. */
static bool channels_in_place(const orr_tensor *t, orr_dtype dtype, int64_t strides[2]) {
    int64_t plane = 1;
    for (int d = 2; d < t->ndim; d++) plane *= t->shape[d];
    if (t->dtype != dtype || !trailing_contiguous(t, 2)) return false;
    strides[1] = t->shape[1] > 1 ? t->stride[1] : plane;
    strides[0] = t->shape[0] > 1 ? t->stride[0] : t->shape[1] * plane;
    return strides[1] >= plane;
}

/* Fills s from x [B,C,spatial...] and w [Cout,Cin/g,kernel...] where the
 * tensors have `spatial` (3 or 2) trailing dims; a 2-D conv is a 3-D one
 * with a time extent of 1. */
static orr_status conv_shape(const char *op, orr_conv_shape *s, const orr_tensor *y, const orr_tensor *x,
                             const orr_tensor *w, const orr_tensor *b, const orr_conv_params *p, int spatial) {
    orr_status st;
    char dx[200], dw[200], dy[200], db[200];
    int ndim = 2 + spatial, first_axis = 3 - spatial;
    orr_device dev;
    if ((st = orr_op_device(op, "y", y, &dev)) || (st = orr_check_device(op, "x", x, dev)) ||
        (st = orr_check_device(op, "w", w, dev)))
        return st;
    if (b && (st = orr_check_device(op, "b", b, dev))) return st;
    if ((st = check_params(op, p, first_axis))) return st;
    if ((st = orr_check_ndim(op, "x", x, ndim)) || (st = orr_check_ndim(op, "w", w, ndim)) ||
        (st = orr_check_ndim(op, "y", y, ndim)))
        return st;
    *s = (orr_conv_shape){.batch = x->shape[0], .in_channels = x->shape[1], .out_channels = w->shape[0],
                          .groups = p->groups, .causal_pad = p->causal_pad};
    for (int a = 0; a < 3; a++) {
        bool used = a >= first_axis;
        int d = 2 + a - first_axis;
        s->in[a] = used ? x->shape[d] : 1;
        s->kernel[a] = used ? w->shape[d] : 1;
        s->stride[a] = used ? p->stride[a] : 1;
        s->padding[a] = used ? p->padding[a] : 0;
        s->dilation[a] = used ? p->dilation[a] : 1;
    }
    if (s->in_channels % s->groups || s->out_channels % s->groups)
        return orr_error(ORR_ERR_SHAPE, "%s: x is %s and w is %s; both channel counts must be multiples of groups %lld",
                         op, orr_tensor_describe(x, dx, sizeof dx), orr_tensor_describe(w, dw, sizeof dw),
                         (long long)s->groups);
    if (w->shape[1] != s->in_channels / s->groups)
        return orr_error(ORR_ERR_SHAPE, "%s: w is %s but x is %s: w's dim 1 must be %lld (x's channels / groups %lld)",
                         op, orr_tensor_describe(w, dw, sizeof dw), orr_tensor_describe(x, dx, sizeof dx),
                         (long long)(s->in_channels / s->groups), (long long)s->groups);
    for (int a = first_axis; a < 3; a++)
        if (s->kernel[a] < 1)
            return orr_error(ORR_ERR_SHAPE, "%s: w is %s; its kernel extent along %s is 0", op,
                             orr_tensor_describe(w, dw, sizeof dw), axis_names[a]);
    if (b && (b->ndim != 1 || b->shape[0] != s->out_channels))
        return orr_error(ORR_ERR_SHAPE, "%s: b is %s but w has %lld output channels", op,
                         orr_tensor_describe(b, db, sizeof db), (long long)s->out_channels);
    int64_t want[5] = {s->batch, s->out_channels};
    for (int a = 0; a < 3; a++) {
        s->out[a] = orr_conv_out_extent(s, a);
        if (s->out[a] < 1)
            return orr_error(ORR_ERR_SHAPE,
                             "%s: the kernel along %s (%lld taps, dilation %lld) does not fit x's padded extent "
                             "%lld (x is %s)",
                             op, axis_names[a], (long long)s->kernel[a], (long long)s->dilation[a],
                             (long long)(s->in[a] + 2 * s->padding[a] + (a == 0 ? s->causal_pad : 0)),
                             orr_tensor_describe(x, dx, sizeof dx));
        if (a >= first_axis) want[2 + a - first_axis] = s->out[a];
    }
    char dwant[160];
    for (int d = 0; d < ndim; d++)
        if (y->shape[d] != want[d])
            return orr_error(ORR_ERR_SHAPE, "%s: y is %s but x is %s and w is %s, so y must be %s", op,
                             orr_tensor_describe(y, dy, sizeof dy), orr_tensor_describe(x, dx, sizeof dx),
                             orr_tensor_describe(w, dw, sizeof dw), orr_shape_str(ndim, want, dwant, sizeof dwant));
    int64_t k_rows = s->in_channels / s->groups * s->kernel[0] * s->kernel[1] * s->kernel[2];
    int64_t positions = s->out[0] * s->out[1] * s->out[2], in_plane = s->in[0] * s->in[1] * s->in[2];
    if (k_rows > INT_MAX || positions > INT_MAX || in_plane > INT_MAX)
        return orr_error(ORR_ERR_UNSUPPORTED, "%s: x is %s and w is %s; a GEMM extent passes BLAS's int", op,
                         orr_tensor_describe(x, dx, sizeof dx), orr_tensor_describe(w, dw, sizeof dw));
    return ORR_OK;
}

static orr_status run_conv(orr_conv_shape *s, orr_tensor *y, const orr_tensor *x, const orr_tensor *w,
                           const orr_tensor *b) {
    orr_status st;
    orr_tensor *x_tmp = NULL, *w_tmp = NULL, *b_tmp = NULL, *y_tmp = NULL;
    const float *xd = NULL, *wd = NULL, *bd = NULL;
    float *yd = NULL;
    if (channels_in_place(x, ORR_F32, s->x_stride)) {
        xd = x->data;
    } else {
        if ((st = orr_input_f32(x, &x_tmp, &xd))) goto done;
        channels_in_place(x_tmp, ORR_F32, s->x_stride);
    }
    if ((st = orr_input_f32(w, &w_tmp, &wd))) goto done;
    if (b && (st = orr_input_f32(b, &b_tmp, &bd))) goto done;
    if (channels_in_place(y, ORR_F32, s->y_stride)) {
        yd = y->data;
    } else {
        if ((st = orr_output_f32_begin(y, &y_tmp, &yd))) goto done;
        channels_in_place(y_tmp, ORR_F32, s->y_stride);
    }
    if ((st = orr_cpu_conv3d(yd, xd, wd, bd, s))) goto done;
    st = orr_output_f32_end(y, y_tmp);
    y_tmp = NULL;
done:
    orr_tensor_free(y_tmp);
    orr_tensor_free(x_tmp);
    orr_tensor_free(w_tmp);
    orr_tensor_free(b_tmp);
    return st;
}

#ifdef ORR_HAVE_CUDA
/* x with causal_pad copies of its frame 0 in front, in dtype: cuDNN knows
 * only zero padding. */
static orr_status prepend_frames(const orr_tensor *x, int64_t frames, orr_dtype dtype, orr_tensor **out) {
    int64_t shape[5] = {x->shape[0], x->shape[1], x->shape[2] + frames, x->shape[3], x->shape[4]};
    orr_tensor *head = NULL, *first = NULL, *rest = NULL;
    orr_status st = orr_tensor_empty_on(ORR_CUDA, out, dtype, 5, shape);
    if (!st && !(st = orr_tensor_narrow(&head, *out, 2, 0, frames)) && !(st = orr_tensor_narrow(&first, x, 2, 0, 1)))
        st = orr_copy(head, first);
    if (!st && !(st = orr_tensor_narrow(&rest, *out, 2, frames, x->shape[2]))) st = orr_copy(rest, x);
    orr_tensor_free(head);
    orr_tensor_free(first);
    orr_tensor_free(rest);
    return st;
}

/* On the device x, w, b and y share one dtype: bf16 when x and w are bf16
 * (tensor cores), else f32. */
static orr_status run_conv_cuda(orr_conv_shape *s, orr_tensor *y, const orr_tensor *x, const orr_tensor *w,
                                const orr_tensor *b) {
    const orr_dtype dt = x->dtype == ORR_BF16 && w->dtype == ORR_BF16 ? ORR_BF16 : ORR_F32;
    orr_tensor *x_tmp = NULL, *w_tmp = NULL, *b_tmp = NULL, *y_tmp = NULL;
    const void *xd = x->data, *wd, *bd = NULL;
    void *yd = y->data;
    orr_status st = ORR_OK;
    if (orr_tensor_numel(y) == 0) return ORR_OK;
    if (s->causal_pad > 0) {
        if ((st = prepend_frames(x, s->causal_pad, dt, &x_tmp))) goto done;
        s->in[0] += s->causal_pad;
        s->causal_pad = 0;
    } else if (!channels_in_place(x, dt, s->x_stride)) {
        if ((st = orr_tensor_clone(&x_tmp, x, dt))) goto done;
    }
    if (x_tmp) {
        xd = x_tmp->data;
        channels_in_place(x_tmp, dt, s->x_stride);
    }
    if ((st = orr_input_as(w, dt, &w_tmp, &wd)) || (b && (st = orr_input_as(b, dt, &b_tmp, &bd)))) goto done;
    if (!channels_in_place(y, dt, s->y_stride)) {
        if ((st = orr_tensor_empty_on(ORR_CUDA, &y_tmp, dt, y->ndim, y->shape))) goto done;
        yd = y_tmp->data;
        channels_in_place(y_tmp, dt, s->y_stride);
    }
    st = orr_cuda_conv3d(yd, xd, wd, bd, dt, s, 0, orr_cuda_stream());
    if (!st && y_tmp) st = orr_copy(y, y_tmp);
done:
    orr_tensor_free(y_tmp);
    orr_tensor_free(x_tmp);
    orr_tensor_free(w_tmp);
    orr_tensor_free(b_tmp);
    return st;
}
#endif

/* On the operands' device. */
static orr_status conv_on(orr_conv_shape *s, orr_tensor *y, const orr_tensor *x, const orr_tensor *w,
                          const orr_tensor *b) {
#ifdef ORR_HAVE_CUDA
    if (y->device == ORR_CUDA) return run_conv_cuda(s, y, x, w, b);
#endif
    return run_conv(s, y, x, w, b);
}

orr_status orr_conv3d(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, const orr_tensor *b,
                      const orr_conv_params *p) {
    orr_conv_shape s;
    orr_status st = conv_shape("conv3d", &s, y, x, w, b, p, 3);
    return st ? st : conv_on(&s, y, x, w, b);
}

orr_status orr_conv2d(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, const orr_tensor *b,
                      const orr_conv_params *p) {
    orr_conv_shape s;
    orr_status st = conv_shape("conv2d", &s, y, x, w, b, p, 2);
    return st ? st : conv_on(&s, y, x, w, b);
}

orr_status orr_avg_pool3d(orr_tensor *y, const orr_tensor *x, const int kernel[3], const int stride[3]) {
    const char *op = "avg_pool3d";
    orr_status st;
    char dx[200], dy[200], dwant[160];
    if ((st = orr_check_cpu(op, "y", y)) || (st = orr_check_cpu(op, "x", x))) return st;
    if (!kernel || !stride) return orr_error(ORR_ERR_ARGUMENT, "avg_pool3d: %s is NULL", kernel ? "stride" : "kernel");
    if ((st = orr_check_ndim(op, "x", x, 5)) || (st = orr_check_ndim(op, "y", y, 5))) return st;
    int64_t in[3], k[3], step[3], out[3], want[5] = {x->shape[0], x->shape[1]};
    for (int a = 0; a < 3; a++) {
        if (kernel[a] < 1 || stride[a] < 1)
            return orr_error(ORR_ERR_ARGUMENT, "avg_pool3d: kernel[%d] is %d and stride[%d] is %d; both must be >= 1",
                             a, kernel[a], a, stride[a]);
        in[a] = x->shape[2 + a];
        k[a] = kernel[a];
        step[a] = stride[a];
        if (in[a] < k[a])
            return orr_error(ORR_ERR_SHAPE, "avg_pool3d: kernel %lld along %s exceeds x's extent (x is %s)",
                             (long long)k[a], axis_names[a], orr_tensor_describe(x, dx, sizeof dx));
        out[a] = want[2 + a] = (in[a] - k[a]) / step[a] + 1;
    }
    for (int d = 0; d < 5; d++)
        if (y->shape[d] != want[d])
            return orr_error(ORR_ERR_SHAPE, "avg_pool3d: y is %s but x is %s, so y must be %s",
                             orr_tensor_describe(y, dy, sizeof dy), orr_tensor_describe(x, dx, sizeof dx),
                             orr_shape_str(5, want, dwant, sizeof dwant));
    orr_tensor *x_tmp = NULL, *y_tmp = NULL;
    const float *xd;
    float *yd;
    if ((st = orr_input_f32(x, &x_tmp, &xd))) return st;
    if ((st = orr_output_f32_begin(y, &y_tmp, &yd))) {
        orr_tensor_free(x_tmp);
        return st;
    }
    orr_cpu_avg_pool3d(yd, xd, x->shape[0] * x->shape[1], in, k, step, out);
    orr_tensor_free(x_tmp);
    return orr_output_f32_end(y, y_tmp);
}
