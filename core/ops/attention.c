/* ops/attention.c — orr_attention: validation, float32 staging, and the
 * blocked CPU kernel. The mask is staged at its own shape (never expanded
 * to [B,H,Sq,Sk]) and read through broadcast strides. */
#include <math.h>

#include "attention.h"
#include "cuda/device.h"
#include "internal.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/attention.h"
#include "cuda/cuda_internal.h"
#endif

static const char *const OP = "attention";

static orr_status check_shapes(const orr_tensor *out, const orr_tensor *q, const orr_tensor *k,
                               const orr_tensor *v) {
    char a[200], b[200];
    orr_status st;
    if ((st = orr_check_ndim(OP, "q", q, 4)) || (st = orr_check_ndim(OP, "k", k, 4)) ||
        (st = orr_check_ndim(OP, "v", v, 4)) || (st = orr_check_ndim(OP, "out", out, 4)))
        return st;
    if (k->shape[0] != q->shape[0] || k->shape[3] != q->shape[3])
        return orr_error(ORR_ERR_SHAPE, "%s: k is %s but q is %s (batch and head dim must match)", OP,
                         orr_tensor_describe(k, a, sizeof a), orr_tensor_describe(q, b, sizeof b));
    if (v->shape[0] != k->shape[0] || v->shape[1] != k->shape[1] || v->shape[2] != k->shape[2])
        return orr_error(ORR_ERR_SHAPE, "%s: v is %s but k is %s (batch, heads and length must match)", OP,
                         orr_tensor_describe(v, a, sizeof a), orr_tensor_describe(k, b, sizeof b));
    if (k->shape[1] == 0 || q->shape[1] % k->shape[1] != 0)
        return orr_error(ORR_ERR_SHAPE, "%s: q has %lld heads, not a multiple of k's %lld", OP,
                         (long long)q->shape[1], (long long)k->shape[1]);
    int64_t want[4] = {q->shape[0], q->shape[1], q->shape[2], v->shape[3]};
    for (int d = 0; d < 4; d++)
        if (out->shape[d] != want[d])
            return orr_error(ORR_ERR_SHAPE, "%s: out is %s but must be %s ([B,H,Sq,Dv])", OP,
                             orr_tensor_describe(out, a, sizeof a), orr_shape_str(4, want, b, sizeof b));
    return ORR_OK;
}

/* Broadcast strides of a contiguous copy of `mask` against [B,H,Sq,Sk]. */
static orr_status mask_strides(const orr_tensor *mask, const int64_t full[4], int64_t stride[4]) {
    char a[200], b[200];
    if (mask->ndim > 4)
        return orr_error(ORR_ERR_SHAPE, "%s: mask is %s but has more than 4 dims", OP,
                         orr_tensor_describe(mask, a, sizeof a));
    int64_t s = 1;
    for (int d = 3; d >= 0; d--) {
        int md = d - (4 - mask->ndim);
        int64_t size = md >= 0 ? mask->shape[md] : 1;
        if (size != 1 && size != full[d])
            return orr_error(ORR_ERR_SHAPE, "%s: mask is %s and does not broadcast to %s ([B,H,Sq,Sk])", OP,
                             orr_tensor_describe(mask, a, sizeof a), orr_shape_str(4, full, b, sizeof b));
        stride[d] = size == 1 ? 0 : s;
        s *= size;
    }
    return ORR_OK;
}

#ifdef ORR_HAVE_CUDA
/* On the device q, k, v and out share one dtype: bf16 when q, k and v all
 * are (the tensor-core kernel), else f32. */
static orr_status attention_cuda(orr_tensor *out, const orr_tensor *q, const orr_tensor *k, const orr_tensor *v,
                                 const orr_tensor *mask, orr_attn_mask *m, const orr_attn_dims *dims, float scale,
                                 bool causal) {
    const orr_dtype dt = q->dtype == ORR_BF16 && k->dtype == ORR_BF16 && v->dtype == ORR_BF16 ? ORR_BF16 : ORR_F32;
    orr_tensor *tq = NULL, *tk = NULL, *tv = NULL, *tm = NULL, *to = NULL;
    const void *pq, *pk, *pv;
    void *po = out->data;
    orr_status st;
    if (!(st = orr_input_as(q, dt, &tq, &pq)) && !(st = orr_input_as(k, dt, &tk, &pk)) &&
        !(st = orr_input_as(v, dt, &tv, &pv)) && !(st = mask ? orr_input_f32(mask, &tm, &m->data) : ORR_OK) &&
        !(out->dtype == dt && orr_tensor_is_contiguous(out))) {
        if (!(st = orr_tensor_empty_on(ORR_CUDA, &to, dt, out->ndim, out->shape))) po = to->data;
    }
    if (!st) st = orr_cuda_attention(po, pq, pk, pv, dt, m, dims, scale, causal, orr_cuda_stream());
    if (!st && to) st = orr_copy(out, to);
    orr_tensor_free(tq);
    orr_tensor_free(tk);
    orr_tensor_free(tv);
    orr_tensor_free(tm);
    orr_tensor_free(to);
    return st;
}
#endif

orr_status orr_attention(orr_tensor *out, const orr_tensor *q, const orr_tensor *k, const orr_tensor *v,
                         const orr_tensor *mask, float scale, bool causal) {
    orr_status st;
    orr_device dev;
    if ((st = orr_op_device(OP, "out", out, &dev)) || (st = orr_check_device(OP, "q", q, dev)) ||
        (st = orr_check_device(OP, "k", k, dev)) || (st = orr_check_device(OP, "v", v, dev)) ||
        (mask && (st = orr_check_device(OP, "mask", mask, dev))))
        return st;
    if ((st = check_shapes(out, q, k, v))) return st;
    if (!isfinite(scale)) return orr_error(ORR_ERR_ARGUMENT, "%s: scale is %g; it must be finite", OP, scale);
    orr_attn_dims dims = {
        .batch = q->shape[0], .heads = q->shape[1], .kv_heads = k->shape[1], .q_len = q->shape[2],
        .kv_len = k->shape[2], .head_dim = q->shape[3], .v_dim = v->shape[3],
    };
    orr_attn_mask m = {0};
    if (mask) {
        int64_t full[4] = {dims.batch, dims.heads, dims.q_len, dims.kv_len};
        if ((st = mask_strides(mask, full, m.stride))) return st;
    }
    if (orr_tensor_numel(out) == 0) return ORR_OK;
#ifdef ORR_HAVE_CUDA
    if (dev == ORR_CUDA) return attention_cuda(out, q, k, v, mask, &m, &dims, scale, causal);
#endif

    orr_tensor *tq = NULL, *tk = NULL, *tv = NULL, *tm = NULL, *to = NULL;
    const float *pq, *pk, *pv;
    float *po;
    if (!(st = orr_input_f32(q, &tq, &pq)) && !(st = orr_input_f32(k, &tk, &pk)) &&
        !(st = orr_input_f32(v, &tv, &pv)) && !(st = mask ? orr_input_f32(mask, &tm, &m.data) : ORR_OK) &&
        !(st = orr_output_f32_begin(out, &to, &po))) {
        st = orr_cpu_attention(po, pq, pk, pv, &m, &dims, scale, causal);
        if (!st) st = orr_output_f32_end(out, to);
        else orr_tensor_free(to);
    }
    orr_tensor_free(tq);
    orr_tensor_free(tk);
    orr_tensor_free(tv);
    orr_tensor_free(tm);
    return st;
}
