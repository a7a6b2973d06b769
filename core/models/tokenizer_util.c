/* tokenizer_util.c — the small run-time helpers the tokenizer files share:
 * names of modules, new activations, staging on the computing device,
 * traces of intermediates, NaN checks, the uint8 video conversions. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "tokenizer.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/tokenizer_fused.h"
#endif

void tok_name(char *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, TOK_NAME, fmt, ap);
    va_end(ap);
}

orr_status tok_new(orr_tensor **out, orr_device device, int ndim, const int64_t *shape) {
    return orr_tensor_empty_on(device, out, ORR_F32, ndim, shape);
}

orr_status tok_input(const orr_tensor *t, orr_device device, orr_tensor **tmp, const float **data) {
    if (t->device == device) return orr_input_f32(t, tmp, data);
    *data = NULL;
    orr_status st = tok_new(tmp, device, t->ndim, t->shape);
    if (!st) st = orr_copy(*tmp, t);
    if (st) {
        orr_tensor_free(*tmp);
        *tmp = NULL;
        return st;
    }
    *data = (*tmp)->data;
    return ORR_OK;
}

orr_status tok_output_begin(orr_tensor *out, orr_device device, orr_tensor **tmp, float **data) {
    if (out->device == device) return orr_output_f32_begin(out, tmp, data);
    *data = NULL;
    orr_status st = tok_new(tmp, device, out->ndim, out->shape);
    if (!st) *data = (*tmp)->data;
    return st;
}

orr_status tok_trace(orr_tensor_list *trace, const char *name, const orr_tensor *t) {
    if (!trace) return ORR_OK;
    orr_tensor *copy = NULL;
    orr_status st = orr_tensor_clone(&copy, t, ORR_F32);
    return st ? st : orr_tensor_list_add(trace, name, copy);
}

orr_status tok_check_finite(const orr_tensor *t, const char *stage) {
    int64_t bad = 0;
    orr_status st = orr_count_nonfinite(t, &bad);
    if (st) return st;
    if (bad) return orr_error(ORR_ERR_NONFINITE, "tokenizer: %lld NaN/Inf values after %s", (long long)bad, stage);
    return ORR_OK;
}

orr_status tok_add_into(orr_tensor *x, const orr_tensor *r) { return orr_binary(x, x, r, ORR_ADD); }

orr_status tok_stage(orr_tensor_list *trace, const char *name, const orr_tensor *t) {
    orr_status st = tok_check_finite(t, name);
    return st ? st : tok_trace(trace, name, t);
}

int64_t tok_haar_len(int64_t n, int p) {
    for (int q = p; q > 1; q /= 2) n = (n + 1) / 2;
    return n;
}

/* [B,C,(T,)H,W] seen as attention's [batch, heads, tokens, dim]: spatial
 * attention takes [B, T, H*W, C] (every frame on its own; T = 1 in 2-D);
 * temporal takes [B, H*W, T, C] (every pixel over its frames). A view. */
static orr_status token_view(const orr_tensor *t, bool temporal, orr_tensor **out) {
    const int n = t->ndim;
    const int64_t frames = n == 5 ? t->shape[2] : 1, hw = t->shape[n - 2] * t->shape[n - 1];
    orr_tensor *flat = NULL;
    orr_status st = orr_tensor_view_as(&flat, t, 4, (int64_t[]){t->shape[0], t->shape[1], frames, hw});
    if (!st) st = orr_tensor_permute(out, flat, temporal ? (int[]){0, 3, 2, 1} : (int[]){0, 2, 3, 1});
    orr_tensor_free(flat);
    return st;
}

orr_status tok_attend(orr_tensor *o, const orr_tensor *q, const orr_tensor *k, const orr_tensor *v, bool temporal) {
    orr_tensor *qv = NULL, *kv = NULL, *vv = NULL, *ov = NULL;
    orr_status st = token_view(q, temporal, &qv);
    if (!st) st = token_view(k, temporal, &kv);
    if (!st) st = token_view(v, temporal, &vv);
    if (!st) st = token_view(o, temporal, &ov);
    /* torch.tril: the temporal block masks the future */
    if (!st) st = orr_attention(ov, qv, kv, vv, NULL, (float)(1.0 / sqrt((double)o->shape[1])), temporal);
    orr_tensor_free(qv);
    orr_tensor_free(kv);
    orr_tensor_free(vv);
    orr_tensor_free(ov);
    return st;
}

/* The conversions of one tensor pair: src staged as contiguous `src_dtype`
 * on its device, dst written through a contiguous scratch there when it is
 * elsewhere or strided. */
typedef struct u8_pair {
    orr_tensor *src_tmp, *dst_tmp;
    const void *src;
    void *dst;
} u8_pair;

static orr_status u8_pair_begin(u8_pair *p, orr_tensor *dst, orr_dtype dst_dtype, const orr_tensor *src,
                                orr_dtype src_dtype, orr_device device, const char *op) {
    char a[200], b[200];
    *p = (u8_pair){0};
    if (dst->dtype != dst_dtype || src->dtype != src_dtype || !orr_tensor_same_shape(dst, src))
        return orr_error(ORR_ERR_ARGUMENT, "%s: out is %s and the input %s; want %s and %s of one shape", op,
                         orr_tensor_describe(dst, a, sizeof a), orr_tensor_describe(src, b, sizeof b),
                         orr_dtype_name(dst_dtype), orr_dtype_name(src_dtype));
    orr_status st = ORR_OK;
    if (src->device == device && orr_tensor_is_contiguous(src))
        p->src = src->data;
    else if (!(st = orr_tensor_empty_on(device, &p->src_tmp, src_dtype, src->ndim, src->shape)) &&
             !(st = orr_copy(p->src_tmp, src)))
        p->src = p->src_tmp->data;
    if (!st && dst->device == device && orr_tensor_is_contiguous(dst))
        p->dst = dst->data;
    else if (!st && !(st = orr_tensor_empty_on(device, &p->dst_tmp, dst_dtype, dst->ndim, dst->shape)))
        p->dst = p->dst_tmp->data;
    return st;
}

static orr_status u8_pair_end(u8_pair *p, orr_tensor *dst, orr_status st) {
    if (!st && p->dst_tmp) st = orr_copy(dst, p->dst_tmp);
    orr_tensor_free(p->src_tmp);
    orr_tensor_free(p->dst_tmp);
    return st;
}

orr_status tok_to_u8(orr_tensor *out, const orr_tensor *x) {
    u8_pair p;
    const int64_t n = orr_tensor_numel(x);
    orr_status st = u8_pair_begin(&p, out, ORR_U8, x, ORR_F32, x->device, "tokenizer to_u8");
    if (st) return u8_pair_end(&p, out, st);
#ifdef ORR_HAVE_CUDA
    if (x->device == ORR_CUDA) return u8_pair_end(&p, out, orr_cuda_tok_to_u8(p.dst, p.src, n, orr_cuda_stream()));
#endif
    const float *src = p.src;
    uint8_t *dst = p.dst;
    for (int64_t i = 0; i < n; i++) {
        float v = 1.0f + src[i];
        v = v < 0.0f ? 0.0f : v > 2.0f ? 2.0f : v;
        dst[i] = (uint8_t)(v / 2.0f * 255.0f);
    }
    return u8_pair_end(&p, out, ORR_OK);
}

orr_status tok_from_u8(orr_tensor *out, const orr_tensor *u) {
    u8_pair p;
    const int64_t n = orr_tensor_numel(u);
    orr_status st = u8_pair_begin(&p, out, ORR_F32, u, ORR_U8, out->device, "tokenizer from_u8");
    if (st) return u8_pair_end(&p, out, st);
#ifdef ORR_HAVE_CUDA
    if (out->device == ORR_CUDA) return u8_pair_end(&p, out, orr_cuda_tok_from_u8(p.dst, p.src, n, orr_cuda_stream()));
#endif
    const uint8_t *src = p.src;
    float *dst = p.dst;
    for (int64_t i = 0; i < n; i++) dst[i] = src[i] / 255.0f * 2.0f - 1.0f;
    return u8_pair_end(&p, out, ORR_OK);
}
