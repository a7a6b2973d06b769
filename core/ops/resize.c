/* ops/resize.c — orr_resize as torch.nn.functional.interpolate with an
 * output size: nearest (4-D or 5-D), bilinear and bicubic (4-D), trilinear
 * (5-D). As in PyTorch, align_corners is refused for nearest. */
#include "cuda/device.h"
#include "internal.h"
#include "resize.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/resize.h"
#endif

static const char *const OP = "resize";

static const char *mode_name(orr_resize_mode mode) {
    switch (mode) {
    case ORR_RESIZE_NEAREST: return "nearest";
    case ORR_RESIZE_BILINEAR: return "bilinear";
    case ORR_RESIZE_BICUBIC: return "bicubic";
    case ORR_RESIZE_TRILINEAR: return "trilinear";
    }
    return NULL;
}

orr_status orr_resize(orr_tensor *out, const orr_tensor *x, orr_resize_mode mode, bool align_corners) {
    char a[200], b[200];
    orr_status st;
    orr_device dev;
    if ((st = orr_op_device(OP, "out", out, &dev)) || (st = orr_check_device(OP, "x", x, dev))) return st;
    const char *name = mode_name(mode);
    if (!name) return orr_error(ORR_ERR_ARGUMENT, "%s: unknown mode %d", OP, (int)mode);
    if (mode == ORR_RESIZE_NEAREST && align_corners)
        return orr_error(ORR_ERR_ARGUMENT, "%s: align_corners applies to bilinear, bicubic and trilinear, not nearest",
                         OP);
    bool takes_4d = mode != ORR_RESIZE_TRILINEAR, takes_5d = mode == ORR_RESIZE_TRILINEAR || mode == ORR_RESIZE_NEAREST;
    if (!((x->ndim == 4 && takes_4d) || (x->ndim == 5 && takes_5d)))
        return orr_error(ORR_ERR_SHAPE, "%s: x is %s but %s takes %s", OP, orr_tensor_describe(x, a, sizeof a), name,
                         takes_4d && takes_5d ? "[N,C,H,W] or [N,C,T,H,W]"
                                              : takes_4d ? "[N,C,H,W]" : "[N,C,T,H,W]");
    if (out->ndim != x->ndim || out->shape[0] != x->shape[0] || out->shape[1] != x->shape[1])
        return orr_error(ORR_ERR_SHAPE, "%s: out is %s but x is %s (same N, C and number of dims)", OP,
                         orr_tensor_describe(out, a, sizeof a), orr_tensor_describe(x, b, sizeof b));
    int spatial = x->ndim - 2;
    int64_t in_size[3] = {1, 1, 1}, out_size[3] = {1, 1, 1};
    for (int d = 0; d < spatial; d++) {
        in_size[3 - spatial + d] = x->shape[2 + d];
        out_size[3 - spatial + d] = out->shape[2 + d];
        if (x->shape[2 + d] < 1 || out->shape[2 + d] < 1)
            return orr_error(ORR_ERR_SHAPE, "%s: x is %s and out is %s; spatial sizes must be at least 1", OP,
                             orr_tensor_describe(x, a, sizeof a), orr_tensor_describe(out, b, sizeof b));
    }
    int64_t planes = x->shape[0] * x->shape[1];
    if (planes == 0) return ORR_OK;

    orr_tensor *tx = NULL, *to = NULL;
    const float *px;
    float *po;
    if (!(st = orr_input_f32(x, &tx, &px)) && !(st = orr_output_f32_begin(out, &to, &po))) {
#ifdef ORR_HAVE_CUDA
        if (dev == ORR_CUDA)
            st = orr_cuda_resize(po, px, planes, in_size, out_size, mode, align_corners, orr_cuda_stream());
        else
#endif
            st = orr_cpu_resize(po, px, planes, in_size, out_size, mode, align_corners);
        if (!st) st = orr_output_f32_end(out, to);
        else orr_tensor_free(to);
    }
    orr_tensor_free(tx);
    return st;
}
