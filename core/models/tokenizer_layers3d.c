/* tokenizer_layers3d.c — the causal 3-D building blocks of the Cosmos video
 * tokenizers (cosmos_predict1/tokenizer/modules/layers3d.py and utils.py):
 * CausalConv3d, CausalNormalize (GroupNorm(1) per frame), the factorized
 * residual block, the spatial and causal temporal attention blocks, and the
 * hybrid down/upsamplers. Activations are contiguous f32 [B,C,T,H,W] on the
 * weights' device; each step makes its output and frees what it no longer
 * needs. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "conv_temporal.h"
#include "tokenizer.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/tokenizer_fused.h"
#endif

/* ------------------------------------------------------------------------ */
/* CausalConv3d                                                              */

orr_status tok_conv3d_load(tok_loader *ld, tok_conv *c, const char *name, int64_t cin, int64_t cout, int kt, int kh,
                           int kw, int stride, int time_stride, int pad) {
    orr_conv_params_init(&c->p);
    c->p.stride[0] = time_stride;
    c->p.stride[1] = c->p.stride[2] = stride;
    c->p.padding[1] = c->p.padding[2] = pad;
    /* time_pad = time_dilation*(kt-1) + (1-time_stride), frames of frame 0. */
    c->p.causal_pad = (kt - 1) + (1 - time_stride);
    c->cin = cin;
    c->cout = cout;
    c->k[0] = kt;
    c->k[1] = kh;
    c->k[2] = kw;
    c->transposed = kt > 1 && kh == 1 && kw == 1 && stride == 1 && time_stride == 1 && pad == 0;
    int64_t fan_in = cin * kt * kh * kw, shape[5] = {cout, cin, kt, kh, kw};
    char key[TOK_NAME + 32];
    snprintf(key, sizeof key, "%s.conv3d.weight", name);
    orr_status st = c->transposed ? tok_param_transposed(ld, &c->w, shape, key)
                                  : tok_param(ld, &c->w, TOK_INIT_FAN_IN, fan_in, 5, shape, "%s", key);
    return st ? st : tok_param(ld, &c->b, TOK_INIT_FAN_IN, fan_in, 1, &cout, "%s.conv3d.bias", name);
}

/* Whether t is contiguous f32 on the cpu with the given shape. */
static bool plain_f32(const orr_tensor *t, const int64_t shape[5]) {
    if (t->dtype != ORR_F32 || t->device != ORR_CPU || !orr_tensor_is_contiguous(t) || t->ndim != 5) return false;
    for (int d = 0; d < 5; d++)
        if (t->shape[d] != shape[d]) return false;
    return true;
}

/* y = the temporal conv c of x, plus add (NULL, or contiguous with y's
 * shape), by the kernel for transposed weights; x must be contiguous
 * [B,cin,T,H,W] f32 on the cpu (what the tokenizer's steps make). */
static orr_status temporal_run(const tok_conv *c, const orr_tensor *x, const orr_tensor *add, orr_tensor *y) {
    char dx[160];
    if (x->ndim != 5 || !plain_f32(x, (int64_t[]){x->shape[0], c->cin, x->shape[2], x->shape[3], x->shape[4]}))
        return orr_error(ORR_ERR_SHAPE, "tokenizer: temporal conv takes contiguous f32 [B,%lld,T,H,W] on the cpu, "
                         "not %s", (long long)c->cin, orr_tensor_describe(x, dx, sizeof dx));
    const int64_t plane = x->shape[3] * x->shape[4], in_len = x->shape[2] * plane, out_len = y->shape[2] * plane;
    if (in_len > INT_MAX || out_len > INT_MAX)
        return orr_error(ORR_ERR_UNSUPPORTED, "tokenizer: temporal conv input %s passes BLAS's int extents",
                         orr_tensor_describe(x, dx, sizeof dx));
    orr_conv_shape s = {.batch = x->shape[0], .in_channels = c->cin, .out_channels = c->cout, .groups = 1,
                        .in = {x->shape[2], x->shape[3], x->shape[4]}, .kernel = {c->k[0], 1, 1},
                        .out = {y->shape[2], x->shape[3], x->shape[4]}, .stride = {1, 1, 1}, .padding = {0, 0, 0},
                        .dilation = {1, 1, 1}, .causal_pad = c->p.causal_pad,
                        .x_stride = {c->cin * in_len, in_len}, .y_stride = {c->cout * out_len, out_len}};
    orr_cpu_conv3d_temporal_co_inner(y->data, x->data, c->w->data, c->b->data, add ? add->data : NULL, &s);
    return ORR_OK;
}

/* x with `frames` copies of its frame 0 in front, as a new `dtype` tensor
 * (cuDNN pads with zeros only). */
static orr_status prepend_frames(const orr_tensor *x, int64_t frames, orr_dtype dtype, orr_tensor **out) {
    int64_t shape[5] = {x->shape[0], x->shape[1], x->shape[2] + frames, x->shape[3], x->shape[4]};
    orr_tensor *head = NULL, *first = NULL, *rest = NULL;
    orr_status st = orr_tensor_empty_on(x->device, out, dtype, 5, shape);
    if (!st) st = orr_tensor_narrow(&head, *out, 2, 0, frames);
    if (!st) st = orr_tensor_narrow(&first, x, 2, 0, 1);
    if (!st) st = orr_copy(head, first); /* broadcast over the frames */
    if (!st) st = orr_tensor_narrow(&rest, *out, 2, frames, x->shape[2]);
    if (!st) st = orr_copy(rest, x);
    orr_tensor_free(head);
    orr_tensor_free(first);
    orr_tensor_free(rest);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

/* y = c(x) off the cpu: the input in the weights' dtype with its causal
 * frames in front, made in one copy. */
static orr_status device_conv(const tok_conv *c, const orr_tensor *x, orr_tensor *y) {
    const orr_dtype dtype = c->w->dtype;
    orr_conv_params p = c->p;
    orr_tensor *in = NULL;
    orr_status st = ORR_OK;
    if (p.causal_pad > 0) {
        st = prepend_frames(x, p.causal_pad, dtype, &in);
        p.causal_pad = 0;
    } else if (x->dtype != dtype) {
        st = orr_tensor_clone(&in, x, dtype);
    }
    if (!st) st = orr_conv3d(y, in ? in : x, c->w, c->b, &p);
    orr_tensor_free(in);
    return st;
}

/* out = c(x) + residual (NULL: nothing added); on the cpu the temporal
 * kernel adds the residual as it writes its output. */
static orr_status conv3d_add_run(const tok_conv *c, const orr_tensor *x, const orr_tensor *residual,
                                 orr_tensor **out) {
    int64_t shape[5] = {x->shape[0], c->cout, 0, 0, 0};
    for (int d = 0; d < 3; d++) {
        int64_t padded = x->shape[2 + d] + (d == 0 ? c->p.causal_pad : 2 * c->p.padding[d]);
        shape[2 + d] = (padded - c->k[d]) / c->p.stride[d] + 1;
    }
    const bool cpu = x->device == ORR_CPU;
    bool fused = cpu && c->transposed && residual && plain_f32(residual, shape);
    orr_status st = tok_new(out, x->device, 5, shape);
    if (!st && !cpu)
        st = device_conv(c, x, *out);
    else if (!st)
        st = c->transposed ? temporal_run(c, x, fused ? residual : NULL, *out) : orr_conv3d(*out, x, c->w, c->b, &c->p);
    if (!st && residual && !fused) st = tok_add_into(*out, residual);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

orr_status tok_conv3d_run(const tok_conv *c, const orr_tensor *x, orr_tensor **out) {
    return conv3d_add_run(c, x, NULL, out);
}

orr_status tok_conv3d_residual(const tok_conv *c, orr_tensor **x) {
    orr_tensor *y = NULL;
    orr_status st = conv3d_add_run(c, *x, *x, &y);
    if (st) return st;
    orr_tensor_free(*x);
    *x = y;
    return ORR_OK;
}

orr_status tok_conv3d_pair_load(tok_loader *ld, tok_conv pair[2], const char *name, int64_t cin, int64_t cout) {
    char sub[TOK_NAME];
    tok_name(sub, "%s.0", name);
    orr_status st = tok_conv3d_load(ld, &pair[0], sub, cin, cout, 1, 3, 3, 1, 1, 1);
    tok_name(sub, "%s.1", name);
    return st ? st : tok_conv3d_load(ld, &pair[1], sub, cout, cout, 3, 1, 1, 1, 1, 0);
}

orr_status tok_conv3d_pair_run(const tok_conv pair[2], const orr_tensor *x, const orr_tensor *residual,
                               orr_tensor **out) {
    orr_tensor *mid = NULL;
    orr_status st = tok_conv3d_run(&pair[0], x, &mid);
    if (!st) st = conv3d_add_run(&pair[1], mid, residual, out);
    orr_tensor_free(mid);
    return st;
}

/* ------------------------------------------------------------------------ */
/* CausalNormalize                                                           */

orr_status tok_norm_load(tok_loader *ld, tok_norm *n, const char *name, int64_t channels) {
    orr_status st = tok_param(ld, &n->w, TOK_INIT_ONES, 0, 1, &channels, "%s.norm.weight", name);
    return st ? st : tok_param(ld, &n->b, TOK_INIT_ZEROS, 0, 1, &channels, "%s.norm.bias", name);
}

/* y = GroupNorm(1) over (C,H,W) of each frame of x (y may be x): for each
 * batch entry the [C,T,H,W] block viewed as T samples of [C,H,W]; then
 * SiLU when `silu`. */
static orr_status frame_norm_into(const tok_norm *n, const orr_tensor *x, bool silu, orr_tensor *y) {
    orr_status st = ORR_OK;
    for (int64_t b = 0; !st && b < x->shape[0]; b++) {
        orr_tensor *xb = NULL, *yb = NULL, *xt = NULL, *yt = NULL;
        st = orr_tensor_select(&xb, x, 0, b);
        if (!st) st = orr_tensor_select(&yb, y, 0, b);
        if (!st) st = orr_tensor_transpose(&xt, xb, 0, 1);
        if (!st) st = orr_tensor_transpose(&yt, yb, 0, 1);
        if (!st) st = orr_group_norm(yt, xt, 1, n->w, n->b, 1e-6f);
        orr_tensor_free(xb);
        orr_tensor_free(yb);
        orr_tensor_free(xt);
        orr_tensor_free(yt);
    }
    return st || !silu ? st : orr_unary(y, y, ORR_SILU);
}

orr_status tok_frame_norm_run(const tok_norm *n, const orr_tensor *x, bool silu, orr_tensor **out) {
    orr_status st = tok_new(out, x->device, 5, x->shape);
    if (!st) st = frame_norm_into(n, x, silu, *out);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

orr_status tok_frame_norm_inplace(const tok_norm *n, orr_tensor *x, bool silu) {
    return frame_norm_into(n, x, silu, x);
}

/* ------------------------------------------------------------------------ */
/* CausalResnetBlockFactorized3d                                             */

orr_status tok_resblock3d_load(tok_loader *ld, tok_resblock3d *r, const char *name, int64_t cin, int64_t cout) {
    char sub[TOK_NAME];
    tok_name(sub, "%s.norm1", name);
    orr_status st = tok_norm_load(ld, &r->norm1, sub, cin);
    tok_name(sub, "%s.conv1", name);
    if (!st) st = tok_conv3d_pair_load(ld, r->conv1, sub, cin, cout);
    tok_name(sub, "%s.norm2", name);
    if (!st) st = tok_norm_load(ld, &r->norm2, sub, cout);
    tok_name(sub, "%s.conv2", name);
    if (!st) st = tok_conv3d_pair_load(ld, r->conv2, sub, cout, cout);
    r->has_shortcut = cin != cout;
    tok_name(sub, "%s.nin_shortcut", name);
    if (!st && r->has_shortcut) st = tok_conv3d_load(ld, &r->nin_shortcut, sub, cin, cout, 1, 1, 1, 1, 1, 0);
    return st;
}

orr_status tok_resblock3d_run(const tok_resblock3d *r, orr_tensor **x) {
    orr_tensor *a = NULL, *h = NULL;
    orr_status st = tok_frame_norm_run(&r->norm1, *x, true, &a);
    if (!st) st = tok_conv3d_pair_run(r->conv1, a, NULL, &h);
    orr_tensor_free(a);
    a = NULL;
    /* h is needed no more once normed */
    if (!st) st = tok_frame_norm_inplace(&r->norm2, h, true);
    /* without a shortcut conv, x is added as the last conv writes h */
    if (!st) st = tok_conv3d_pair_run(r->conv2, h, r->has_shortcut ? NULL : *x, &a);
    orr_tensor_free(h);
    h = a;
    a = NULL;
    if (!st && r->has_shortcut) {
        st = tok_conv3d_run(&r->nin_shortcut, *x, &a);
        if (!st) {
            orr_tensor_free(*x);
            *x = a;
        }
        if (!st) st = tok_add_into(h, *x);
    }
    if (st) {
        orr_tensor_free(h);
        return st;
    }
    orr_tensor_free(*x);
    *x = h;
    return ORR_OK;
}

/* ------------------------------------------------------------------------ */
/* CausalAttnBlock / CausalTemporalAttnBlock                                 */

/* q, k and v (1x1x1 convs of `channels`) as one conv to 3 * channels, the
 * official parameters being views of its weight and bias. */
static orr_status qkv_load(tok_loader *ld, tok_conv *c, const char *name, int64_t channels) {
    const int64_t cout = 3 * channels;
    orr_conv_params_init(&c->p);
    c->cin = channels;
    c->cout = cout;
    c->k[0] = c->k[1] = c->k[2] = 1;
    c->transposed = false;
    c->w = c->b = NULL;
    orr_status st = orr_tensor_empty(&c->w, ORR_F32, 5, (int64_t[]){cout, channels, 1, 1, 1});
    if (!st) st = orr_tensor_empty(&c->b, ORR_F32, 1, &cout);
    static const char *names[3] = {"q", "k", "v"};
    for (int i = 0; i < 3 && !st; i++) {
        char key[TOK_NAME + 32];
        orr_tensor *w = NULL, *b = NULL;
        snprintf(key, sizeof key, "%s.%s.conv3d.weight", name, names[i]);
        st = orr_tensor_narrow(&w, c->w, 0, i * channels, channels);
        if (!st) st = tok_param_into(ld, w, TOK_INIT_FAN_IN, channels, key);
        snprintf(key, sizeof key, "%s.%s.conv3d.bias", name, names[i]);
        if (!st) st = orr_tensor_narrow(&b, c->b, 0, i * channels, channels);
        if (!st) st = tok_param_into(ld, b, TOK_INIT_FAN_IN, channels, key);
    }
    /* the loader owns the stacked tensors too (the names are not keys) */
    char key[TOK_NAME + 32];
    snprintf(key, sizeof key, "%s.qkv.weight (q, k, v stacked)", name);
    orr_status held = c->w ? tok_param_holder(ld, c->w, key) : ORR_OK;
    snprintf(key, sizeof key, "%s.qkv.bias (q, k, v stacked)", name);
    if (!held && c->b) held = tok_param_holder(ld, c->b, key);
    return st ? st : held;
}

orr_status tok_attn3d_load(tok_loader *ld, tok_attn3d *a, const char *name, int64_t channels, bool temporal) {
    char sub[TOK_NAME];
    a->temporal = temporal;
    tok_name(sub, "%s.norm", name);
    orr_status st = tok_norm_load(ld, &a->norm, sub, channels);
    if (!st) st = qkv_load(ld, &a->qkv, name, channels);
    tok_name(sub, "%s.proj_out", name);
    return st ? st : tok_conv3d_load(ld, &a->proj_out, sub, channels, channels, 1, 1, 1, 1, 1, 0);
}

orr_status tok_attn3d_run(const tok_attn3d *a, orr_tensor **x) {
    orr_tensor *hn = NULL, *qkv = NULL, *q = NULL, *k = NULL, *v = NULL, *o = NULL, *p = NULL;
    const int64_t c = (*x)->shape[1];
    orr_status st = tok_frame_norm_run(&a->norm, *x, false, &hn);
    if (!st) st = tok_conv3d_run(&a->qkv, hn, &qkv);
    orr_tensor_free(hn);
    if (!st) st = orr_tensor_narrow(&q, qkv, 1, 0, c);
    if (!st) st = orr_tensor_narrow(&k, qkv, 1, c, c);
    if (!st) st = orr_tensor_narrow(&v, qkv, 1, 2 * c, c);
    orr_tensor_free(qkv);
    if (!st) st = tok_new(&o, (*x)->device, 5, (*x)->shape);
    if (!st) st = tok_attend(o, q, k, v, a->temporal);
    orr_tensor_free(q);
    orr_tensor_free(k);
    orr_tensor_free(v);
    if (!st) st = tok_conv3d_run(&a->proj_out, o, &p);
    orr_tensor_free(o);
    if (!st) st = tok_add_into(*x, p);
    orr_tensor_free(p);
    return st;
}

/* ------------------------------------------------------------------------ */
/* CausalHybridDownsample3d / CausalHybridUpsample3d                         */

orr_status tok_resample3d_load(tok_loader *ld, tok_resample3d *r, const char *name, int64_t channels, bool spatial,
                               bool temporal, bool up) {
    char sub[TOK_NAME];
    r->spatial = spatial;
    r->temporal = temporal;
    r->up = up;
    orr_status st = ORR_OK;
    /* Disabled convs are nn.Identity in cosmos_predict1 and hold no weights. */
    if (up) {
        tok_name(sub, "%s.conv1", name);
        if (temporal) st = tok_conv3d_load(ld, &r->conv1, sub, channels, channels, 3, 1, 1, 1, 1, 0);
        tok_name(sub, "%s.conv2", name);
        if (!st && spatial) st = tok_conv3d_load(ld, &r->conv2, sub, channels, channels, 1, 3, 3, 1, 1, 1);
    } else {
        tok_name(sub, "%s.conv1", name);
        if (spatial) st = tok_conv3d_load(ld, &r->conv1, sub, channels, channels, 1, 3, 3, 2, 1, 0);
        tok_name(sub, "%s.conv2", name);
        if (!st && temporal) st = tok_conv3d_load(ld, &r->conv2, sub, channels, channels, 3, 1, 1, 1, 2, 0);
    }
    tok_name(sub, "%s.conv3", name);
    if (!st && (spatial || temporal)) st = tok_conv3d_load(ld, &r->conv3, sub, channels, channels, 1, 1, 1, 1, 1, 0);
    return st;
}

#ifdef ORR_HAVE_CUDA
/* y += avg_pool3d(xp) (stride = kernel) in one pass on the device. */
static orr_status device_pool_add(orr_tensor *y, const orr_tensor *xp, const int kernel[3], const int64_t shape[5]) {
    char dy[200], want[200];
    for (int d = 0; d < 5; d++)
        if (y->shape[d] != shape[d])
            return orr_error(ORR_ERR_SHAPE, "tokenizer: the downsampling conv makes %s but the pooling %s",
                             orr_tensor_describe(y, dy, sizeof dy), orr_shape_str(5, shape, want, sizeof want));
    const int64_t in[3] = {xp->shape[2], xp->shape[3], xp->shape[4]}, k[3] = {kernel[0], kernel[1], kernel[2]};
    return orr_cuda_tok_pool_add(y->data, xp->data, xp->shape[0] * xp->shape[1], in, k, shape + 2, orr_cuda_stream());
}
#endif

/* x = conv(xp) + avg_pool3d(xp) for the padded input xp (frees xp). */
static orr_status conv_plus_pool(const tok_conv *c, orr_tensor *xp, const int kernel[3], orr_tensor **out) {
    orr_tensor *pooled = NULL;
    int64_t shape[5] = {xp->shape[0], xp->shape[1], 0, 0, 0};
    for (int d = 0; d < 3; d++) shape[2 + d] = (xp->shape[2 + d] - kernel[d]) / kernel[d] + 1;
    orr_status st = tok_conv3d_run(c, xp, out);
#ifdef ORR_HAVE_CUDA
    if (!st && xp->device == ORR_CUDA) {
        st = device_pool_add(*out, xp, kernel, shape);
        orr_tensor_free(xp);
        if (st) {
            orr_tensor_free(*out);
            *out = NULL;
        }
        return st;
    }
#endif
    if (!st) st = tok_new(&pooled, xp->device, 5, shape);
    if (!st) st = orr_avg_pool3d(pooled, xp, kernel, kernel);
    if (!st) st = tok_add_into(*out, pooled);
    orr_tensor_free(pooled);
    orr_tensor_free(xp);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

/* A new tensor: x padded along (t, h, w) by before/after amounts. */
static orr_status pad3(const orr_tensor *x, const int64_t tp[2], const int64_t hp[2], const int64_t wp[2],
                       orr_pad_mode mode, orr_tensor **out) {
    int64_t pads[10] = {0, 0, 0, 0, tp[0], tp[1], hp[0], hp[1], wp[0], wp[1]};
    int64_t shape[5] = {x->shape[0], x->shape[1], x->shape[2] + tp[0] + tp[1], x->shape[3] + hp[0] + hp[1],
                        x->shape[4] + wp[0] + wp[1]};
    orr_status st = tok_new(out, x->device, 5, shape);
    if (!st) st = orr_pad(*out, x, pads, mode, 0.0f);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

static orr_status downsample_run(const tok_resample3d *r, orr_tensor **x) {
    static const int64_t none[2] = {0, 0}, after[2] = {0, 1}, before[2] = {1, 0};
    orr_tensor *xp = NULL, *y = NULL;
    orr_status st = ORR_OK;
    if (r->spatial) {
        /* Zeros on the right and bottom, then a stride-2 conv plus a 2x2 mean. */
        st = pad3(*x, none, after, after, ORR_PAD_CONSTANT, &xp);
        if (!st) st = conv_plus_pool(&r->conv1, xp, (int[]){1, 2, 2}, &y);
        if (st) return st;
        orr_tensor_free(*x);
        *x = y;
    }
    if (r->temporal) {
        /* Frame 0 once more in front (utils.replication_pad); conv2 adds its
         * own causal frame. */
        st = pad3(*x, before, none, none, ORR_PAD_REPLICATE, &xp);
        if (!st) st = conv_plus_pool(&r->conv2, xp, (int[]){2, 1, 1}, &y);
        if (st) return st;
        orr_tensor_free(*x);
        *x = y;
    }
    st = tok_conv3d_run(&r->conv3, *x, &y);
    if (st) return st;
    orr_tensor_free(*x);
    *x = y;
    return ORR_OK;
}

/* Nearest-neighbour upsampling of contiguous f32 [B,C,T,H,W], in one pass:
 * along time every frame twice but frame 0 once (T -> 2T-1), or in space
 * every row and column twice. */
typedef struct upsample_job {
    const float *x;
    float *y;
    int64_t frames, rows, cols; /* of x */
} upsample_job;

/* Output frames [begin, end) of all (batch, channel) planes in order. */
static void upsample_frames(void *user, int64_t begin, int64_t end) {
    const upsample_job *j = user;
    const int64_t out_frames = 2 * j->frames - 1, plane = j->rows * j->cols;
    for (int64_t f = begin; f < end; f++) {
        int64_t bc = f / out_frames, t = f % out_frames;
        memcpy(j->y + f * plane, j->x + (bc * j->frames + (t + 1) / 2) * plane, sizeof(float) * (size_t)plane);
    }
}

/* Input rows [begin, end) of all (batch, channel, frame) planes, each
 * written as two rows of doubled columns. */
static void upsample_rows(void *user, int64_t begin, int64_t end) {
    const upsample_job *j = user;
    for (int64_t r = begin; r < end; r++) {
        const float *src = j->x + r * j->cols;
        float *dst = j->y + r * 4 * j->cols;
        for (int64_t c = 0; c < j->cols; c++) dst[2 * c] = dst[2 * c + 1] = src[c];
        memcpy(dst + 2 * j->cols, dst, sizeof(float) * (size_t)(2 * j->cols));
    }
}

static orr_status upsample(orr_tensor **x, bool temporal) {
    orr_tensor *src = NULL, *y = NULL;
    int64_t shape[5];
    for (int d = 0; d < 5; d++) shape[d] = (*x)->shape[d];
    if (temporal) {
        shape[2] = 2 * shape[2] - 1;
    } else {
        shape[3] *= 2;
        shape[4] *= 2;
    }
    if ((*x)->dtype != ORR_F32)
        return orr_error(ORR_ERR_DTYPE, "tokenizer: upsampling takes f32 activations, not %s",
                         orr_dtype_name((*x)->dtype));
    orr_status st = orr_tensor_contiguous(&src, *x);
    if (!st) st = tok_new(&y, src->device, 5, shape);
    if (!st) {
        const int64_t planes = src->shape[0] * src->shape[1];
#ifdef ORR_HAVE_CUDA
        if (src->device == ORR_CUDA) {
            st = orr_cuda_tok_upsample(y->data, src->data, planes, src->shape[2], src->shape[3], src->shape[4],
                                       temporal, orr_cuda_stream());
        } else
#endif
        {
            upsample_job j = {src->data, y->data, src->shape[2], src->shape[3], src->shape[4]};
            if (temporal)
                orr_parallel_for(planes * shape[2], upsample_frames, &j);
            else
                orr_parallel_for(planes * j.frames * j.rows, upsample_rows, &j);
        }
    }
    orr_tensor_free(src);
    if (st) {
        orr_tensor_free(y);
        return st;
    }
    orr_tensor_free(*x);
    *x = y;
    return ORR_OK;
}

static orr_status upsample_run(const tok_resample3d *r, orr_tensor **x) {
    orr_status st = ORR_OK;
    /* Every frame twice, then the first copy of frame 0 dropped: T -> 2T-1
     * (a single frame stays single, as the official time_factor does). */
    if (r->temporal && (*x)->shape[2] > 1) st = upsample(x, true);
    if (!st && r->temporal) st = tok_conv3d_residual(&r->conv1, x);
    if (!st && r->spatial) {
        st = upsample(x, false);
        if (!st) st = tok_conv3d_residual(&r->conv2, x);
    }
    orr_tensor *y = NULL;
    if (!st) st = tok_conv3d_run(&r->conv3, *x, &y);
    if (st) return st;
    orr_tensor_free(*x);
    *x = y;
    return ORR_OK;
}

orr_status tok_resample3d_run(const tok_resample3d *r, orr_tensor **x) {
    if (!r->spatial && !r->temporal) return ORR_OK;
    return r->up ? upsample_run(r, x) : downsample_run(r, x);
}
