/* ops/shape.c — orr_concat, orr_pad and orr_repeat_interleave. Concat and
 * repeat_interleave only move elements, so they copy through orr_copy into
 * views of out and keep every dtype exact (on either device); pad goes
 * through the float32 kernels like the other ops. */
#include <stdio.h>
#include <string.h>

#include "cuda/device.h"
#include "elementwise.h"
#include "internal.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/elementwise.h"
#endif

orr_status orr_concat(orr_tensor *out, const orr_tensor *const *parts, int n, int dim) {
    orr_status st;
    char dout[200], dp[200], arg[32];
    orr_device dev;
    if ((st = orr_op_device("concat", "out", out, &dev))) return st;
    if (!parts || n < 1) return orr_error(ORR_ERR_ARGUMENT, "concat: %d parts given; need at least one", n);
    if ((st = orr_norm_dim("concat", out->ndim, &dim))) return st;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        snprintf(arg, sizeof arg, "parts[%d]", i);
        if ((st = orr_check_device("concat", arg, parts[i], dev))) return st;
        bool agree = parts[i]->ndim == out->ndim;
        for (int d = 0; agree && d < out->ndim; d++) agree = d == dim || parts[i]->shape[d] == out->shape[d];
        if (!agree)
            return orr_error(ORR_ERR_SHAPE, "concat: %s is %s but out is %s; all dims but %d must agree", arg,
                             orr_tensor_describe(parts[i], dp, sizeof dp), orr_tensor_describe(out, dout, sizeof dout),
                             dim);
        total += parts[i]->shape[dim];
    }
    if (total != out->shape[dim])
        return orr_error(ORR_ERR_SHAPE, "concat: the parts add up to %lld along dim %d but out is %s", (long long)total,
                         dim, orr_tensor_describe(out, dout, sizeof dout));
    int64_t start = 0;
    for (int i = 0; i < n && !st; i++) {
        int64_t len = parts[i]->shape[dim];
        if (len == 0) continue;
        orr_tensor *slot;
        if ((st = orr_tensor_narrow(&slot, out, dim, start, len))) break;
        st = orr_copy(slot, parts[i]);
        orr_tensor_free(slot);
        start += len;
    }
    return st;
}

static orr_status check_pads(const orr_tensor *out, const orr_tensor *a, const int64_t *pads, orr_pad_mode mode) {
    char dout[200], da[200], ds[200];
    int64_t want[ORR_MAX_DIMS];
    for (int d = 0; d < a->ndim; d++) {
        const int64_t size = a->shape[d], before = pads[2 * d], after = pads[2 * d + 1];
        want[d] = size + before + after;
        if (want[d] < 0)
            return orr_error(ORR_ERR_SHAPE, "pad: pads[%d], pads[%d] = %lld, %lld crop dim %d of a %s below zero",
                             2 * d, 2 * d + 1, (long long)before, (long long)after, d,
                             orr_tensor_describe(a, da, sizeof da));
        if (mode == ORR_PAD_REFLECT && (before >= size || after >= size) && (before > 0 || after > 0))
            return orr_error(ORR_ERR_SHAPE, "pad: reflect pads %lld, %lld along dim %d must be below its size in a %s",
                             (long long)before, (long long)after, d, orr_tensor_describe(a, da, sizeof da));
        if (mode == ORR_PAD_REPLICATE && size == 0 && want[d] > 0)
            return orr_error(ORR_ERR_SHAPE, "pad: cannot replicate dim %d of a %s, which is empty", d,
                             orr_tensor_describe(a, da, sizeof da));
    }
    if (out->ndim != a->ndim || memcmp(out->shape, want, sizeof(int64_t) * (size_t)a->ndim) != 0)
        return orr_error(ORR_ERR_SHAPE, "pad: out is %s but a %s padded gives %s",
                         orr_tensor_describe(out, dout, sizeof dout), orr_tensor_describe(a, da, sizeof da),
                         orr_shape_str(a->ndim, want, ds, sizeof ds));
    return ORR_OK;
}

orr_status orr_pad(orr_tensor *out, const orr_tensor *a, const int64_t *pads, orr_pad_mode mode, float value) {
    orr_status st;
    orr_device dev;
    if ((st = orr_op_device("pad", "out", out, &dev)) || (st = orr_check_device("pad", "a", a, dev))) return st;
    if (!pads && a->ndim > 0) return orr_error(ORR_ERR_ARGUMENT, "pad: pads is NULL");
    if ((int)mode < ORR_PAD_CONSTANT || mode > ORR_PAD_REFLECT)
        return orr_error(ORR_ERR_ARGUMENT, "pad: mode %d is not an orr_pad_mode", (int)mode);
    if ((st = check_pads(out, a, pads, mode))) return st;
    if (orr_tensor_numel(out) == 0) return ORR_OK;
    orr_tensor *a_tmp = NULL, *out_tmp = NULL;
    const float *ad;
    float *od;
    if (!(st = orr_input_f32(a, &a_tmp, &ad)) && !(st = orr_output_f32_begin(out, &out_tmp, &od))) {
#ifdef ORR_HAVE_CUDA
        if (dev == ORR_CUDA) st = orr_cuda_pad(od, ad, a->ndim, a->shape, pads, mode, value, orr_cuda_stream());
        else
#endif
            orr_cpu_pad(od, ad, a->ndim, a->shape, pads, mode, value);
        if (!st) st = orr_output_f32_end(out, out_tmp);
        else orr_tensor_free(out_tmp);
    }
    orr_tensor_free(a_tmp);
    return st;
}

/* Repeat r of every element lands at index k*repeats + r: for each r, one
 * copy of a into the view of out that steps by `repeats` along dim. */
orr_status orr_repeat_interleave(orr_tensor *out, const orr_tensor *a, int dim, int64_t repeats) {
    orr_status st;
    char dout[200], da[200];
    orr_device dev;
    if ((st = orr_op_device("repeat_interleave", "out", out, &dev)) ||
        (st = orr_check_device("repeat_interleave", "a", a, dev)) ||
        (st = orr_norm_dim("repeat_interleave", a->ndim, &dim)))
        return st;
    if (repeats < 0)
        return orr_error(ORR_ERR_ARGUMENT, "repeat_interleave: repeats is %lld; must be >= 0", (long long)repeats);
    bool match = out->ndim == a->ndim;
    for (int d = 0; match && d < a->ndim; d++) {
        int64_t want = a->shape[d];
        if (d == dim && orr_mul_overflows(want, repeats, &want)) match = false;
        match = match && out->shape[d] == want;
    }
    if (!match)
        return orr_error(ORR_ERR_SHAPE,
                         "repeat_interleave: out is %s but a %s repeated %lld times along dim %d differs",
                         orr_tensor_describe(out, dout, sizeof dout), orr_tensor_describe(a, da, sizeof da),
                         (long long)repeats, dim);
    if (orr_tensor_numel(out) == 0) return ORR_OK;
    const int64_t n = a->shape[dim];
    for (int64_t r = 0; r < repeats && !st; r++) {
        orr_tensor *slot;
        if ((st = orr_tensor_narrow(&slot, out, dim, r, (n - 1) * repeats + 1))) break;
        /* no view function steps through a dim, so this one view is made here */
        slot->shape[dim] = n;
        slot->stride[dim] *= repeats;
        st = orr_copy(slot, a);
        orr_tensor_free(slot);
    }
    return st;
}
