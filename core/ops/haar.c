/* ops/haar.c — orr_haar{3d,2d}_{patch,unpatch}: validation, float32
 * staging, the CPU kernels. Sizes follow the official modules: each level
 * halves an axis rounding up (an odd axis is reflect-padded, which needs at
 * least 2 elements), so for multiples of p the patched sizes are
 * (T+p-1)/p, H/p, W/p; the inverse multiplies by p and drops p-1 frames. */
#include "cuda/device.h"
#include "haar.h"
#include "internal.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/haar.h"
#endif

static orr_status check_patch_size(const char *op, int p) {
    if (p < 1 || (p & (p - 1)) != 0 || p > 1024)
        return orr_error(ORR_ERR_ARGUMENT, "%s: patch size p = %d must be a power of two (1, 2, 4, ...)", op, p);
    return ORR_OK;
}

/* Every level's reflect padding needs 2 elements on the axis it halves. */
static orr_status check_levels(const char *op, const char *axis, int64_t n, int p) {
    for (int s = p; s > 1; s /= 2, n = (n + 1) / 2)
        if (n < 2)
            return orr_error(ORR_ERR_SHAPE, "%s: x's %s is too short for patch size %d (a level meets %lld elements)",
                             op, axis, p, (long long)n);
    return ORR_OK;
}

static orr_status check_out(const char *op, const orr_tensor *out, int ndim, const int64_t *want) {
    char a[200], b[200];
    if (out->ndim != ndim)
        return orr_error(ORR_ERR_SHAPE, "%s: out is %s but must be %s", op, orr_tensor_describe(out, a, sizeof a),
                         orr_shape_str(ndim, want, b, sizeof b));
    for (int d = 0; d < ndim; d++)
        if (out->shape[d] != want[d])
            return orr_error(ORR_ERR_SHAPE, "%s: out is %s but must be %s", op, orr_tensor_describe(out, a, sizeof a),
                             orr_shape_str(ndim, want, b, sizeof b));
    return ORR_OK;
}

/* One transform on float32 buffers, on the cpu or the device. */
typedef orr_status (*haar_kernel)(orr_device dev, float *out, const float *x, const int64_t *shape, int p);

#ifdef ORR_HAVE_CUDA
#define HAAR_ON(dev, name, ...) \
    ((dev) == ORR_CUDA ? orr_cuda_##name(__VA_ARGS__, orr_cuda_stream()) : orr_cpu_##name(__VA_ARGS__))
#else
#define HAAR_ON(dev, name, ...) orr_cpu_##name(__VA_ARGS__)
#endif

static orr_status patch3d(orr_device dev, float *out, const float *x, const int64_t *s, int p) {
    return HAAR_ON(dev, haar3d_patch, out, x, s[0], s[1], s[2], s[3], s[4], p);
}

static orr_status unpatch3d(orr_device dev, float *out, const float *x, const int64_t *s, int p) {
    return HAAR_ON(dev, haar3d_unpatch, out, x, s[0], s[1] / ((int64_t)p * p * p), s[2], s[3], s[4], p);
}

static orr_status patch2d(orr_device dev, float *out, const float *x, const int64_t *s, int p) {
    return HAAR_ON(dev, haar2d_patch, out, x, s[0], s[1], s[2], s[3], p);
}

static orr_status unpatch2d(orr_device dev, float *out, const float *x, const int64_t *s, int p) {
    return HAAR_ON(dev, haar2d_unpatch, out, x, s[0], s[1] / ((int64_t)p * p), s[2], s[3], p);
}

static orr_status run(orr_tensor *out, const orr_tensor *x, int p, haar_kernel kernel) {
    if (orr_tensor_numel(out) == 0) return ORR_OK;
    orr_tensor *tx = NULL, *to = NULL;
    const float *px;
    float *po;
    orr_status st;
    if (!(st = orr_input_f32(x, &tx, &px)) && !(st = orr_output_f32_begin(out, &to, &po))) {
        st = kernel(out->device, po, px, x->shape, p);
        if (!st) st = orr_output_f32_end(out, to);
        else orr_tensor_free(to);
    }
    orr_tensor_free(tx);
    return st;
}

static orr_status check_common(const char *op, const orr_tensor *out, const orr_tensor *x, int ndim, int p) {
    orr_status st;
    orr_device dev;
    if ((st = orr_op_device(op, "out", out, &dev)) || (st = orr_check_device(op, "x", x, dev)) ||
        (st = orr_check_ndim(op, "x", x, ndim)) || (st = check_patch_size(op, p)))
        return st;
    return ORR_OK;
}

orr_status orr_haar3d_patch(orr_tensor *out, const orr_tensor *x, int p) {
    const char *op = "haar3d_patch";
    orr_status st;
    if ((st = check_common(op, out, x, 5, p))) return st;
    if (x->shape[2] < 1) return orr_error(ORR_ERR_SHAPE, "%s: x has no frames", op);
    if ((st = check_levels(op, "T (with frame 0 repeated)", x->shape[2] + p - 1, p)) ||
        (st = check_levels(op, "H", x->shape[3], p)) || (st = check_levels(op, "W", x->shape[4], p)))
        return st;
    int64_t want[5] = {x->shape[0], x->shape[1] * p * p * p, orr_haar_patched_len(x->shape[2] + p - 1, p),
                       orr_haar_patched_len(x->shape[3], p), orr_haar_patched_len(x->shape[4], p)};
    if ((st = check_out(op, out, 5, want))) return st;
    return run(out, x, p, patch3d);
}

orr_status orr_haar3d_unpatch(orr_tensor *out, const orr_tensor *x, int p) {
    const char *op = "haar3d_unpatch";
    char a[200];
    orr_status st;
    if ((st = check_common(op, out, x, 5, p))) return st;
    int64_t bands = (int64_t)p * p * p;
    if (x->shape[1] % bands != 0)
        return orr_error(ORR_ERR_SHAPE, "%s: x is %s but its channels must be a multiple of p^3 = %lld", op,
                         orr_tensor_describe(x, a, sizeof a), (long long)bands);
    if (x->shape[2] < 1) return orr_error(ORR_ERR_SHAPE, "%s: x has no frames", op);
    int64_t want[5] = {x->shape[0], x->shape[1] / bands, p * x->shape[2] - (p - 1), p * x->shape[3],
                       p * x->shape[4]};
    if ((st = check_out(op, out, 5, want))) return st;
    return run(out, x, p, unpatch3d);
}

orr_status orr_haar2d_patch(orr_tensor *out, const orr_tensor *x, int p) {
    const char *op = "haar2d_patch";
    orr_status st;
    if ((st = check_common(op, out, x, 4, p))) return st;
    if ((st = check_levels(op, "H", x->shape[2], p)) || (st = check_levels(op, "W", x->shape[3], p))) return st;
    int64_t want[4] = {x->shape[0], x->shape[1] * p * p, orr_haar_patched_len(x->shape[2], p),
                       orr_haar_patched_len(x->shape[3], p)};
    if ((st = check_out(op, out, 4, want))) return st;
    return run(out, x, p, patch2d);
}

orr_status orr_haar2d_unpatch(orr_tensor *out, const orr_tensor *x, int p) {
    const char *op = "haar2d_unpatch";
    char a[200];
    orr_status st;
    if ((st = check_common(op, out, x, 4, p))) return st;
    int64_t bands = (int64_t)p * p;
    if (x->shape[1] % bands != 0)
        return orr_error(ORR_ERR_SHAPE, "%s: x is %s but its channels must be a multiple of p^2 = %lld", op,
                         orr_tensor_describe(x, a, sizeof a), (long long)bands);
    int64_t want[4] = {x->shape[0], x->shape[1] / bands, p * x->shape[2], p * x->shape[3]};
    if ((st = check_out(op, out, 4, want))) return st;
    return run(out, x, p, unpatch2d);
}
