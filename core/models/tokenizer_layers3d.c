/* tokenizer_layers3d.c — the causal 3-D building blocks of the Cosmos video
 * tokenizers (cosmos_predict1/tokenizer/modules/layers3d.py and utils.py):
 * CausalConv3d, CausalNormalize (GroupNorm(1) per frame), the factorized
 * residual block, the spatial and causal temporal attention blocks, and the
 * hybrid down/upsamplers. Activations are contiguous f32 [B,C,T,H,W]; each
 * step makes its output and frees what it no longer needs. */
#include <math.h>
#include <stdio.h>

#include "tokenizer.h"

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
    c->cout = cout;
    c->k[0] = kt;
    c->k[1] = kh;
    c->k[2] = kw;
    int64_t fan_in = cin * kt * kh * kw;
    orr_status st =
        tok_param(ld, &c->w, TOK_INIT_FAN_IN, fan_in, 5, (int64_t[]){cout, cin, kt, kh, kw}, "%s.conv3d.weight", name);
    return st ? st : tok_param(ld, &c->b, TOK_INIT_FAN_IN, fan_in, 1, &cout, "%s.conv3d.bias", name);
}

orr_status tok_conv3d_run(const tok_conv *c, const orr_tensor *x, orr_tensor **out) {
    int64_t shape[5] = {x->shape[0], c->cout, 0, 0, 0};
    for (int d = 0; d < 3; d++) {
        int64_t padded = x->shape[2 + d] + (d == 0 ? c->p.causal_pad : 2 * c->p.padding[d]);
        shape[2 + d] = (padded - c->k[d]) / c->p.stride[d] + 1;
    }
    orr_status st = tok_new(out, 5, shape);
    if (!st) st = orr_conv3d(*out, x, c->w, c->b, &c->p);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

orr_status tok_conv3d_residual(const tok_conv *c, orr_tensor **x) {
    orr_tensor *y = NULL;
    orr_status st = tok_conv3d_run(c, *x, &y);
    if (!st) st = tok_add_into(y, *x);
    if (st) {
        orr_tensor_free(y);
        return st;
    }
    orr_tensor_free(*x);
    *x = y;
    return ORR_OK;
}

orr_status tok_conv3d_pair_run(const tok_conv pair[2], const orr_tensor *x, orr_tensor **out) {
    orr_tensor *mid = NULL;
    orr_status st = tok_conv3d_run(&pair[0], x, &mid);
    if (!st) st = tok_conv3d_run(&pair[1], mid, out);
    orr_tensor_free(mid);
    return st;
}

/* ------------------------------------------------------------------------ */
/* CausalNormalize                                                           */

orr_status tok_norm_load(tok_loader *ld, tok_norm *n, const char *name, int64_t channels) {
    orr_status st = tok_param(ld, &n->w, TOK_INIT_ONES, 0, 1, &channels, "%s.norm.weight", name);
    return st ? st : tok_param(ld, &n->b, TOK_INIT_ZEROS, 0, 1, &channels, "%s.norm.bias", name);
}

/* GroupNorm(1) over (C,H,W) of each frame: for each batch entry the
 * [C,T,H,W] block viewed as T samples of [C,H,W]. */
orr_status tok_frame_norm_run(const tok_norm *n, const orr_tensor *x, bool silu, orr_tensor **out) {
    orr_status st = tok_new(out, 5, x->shape);
    for (int64_t b = 0; !st && b < x->shape[0]; b++) {
        orr_tensor *xb = NULL, *yb = NULL, *xt = NULL, *yt = NULL;
        st = orr_tensor_select(&xb, x, 0, b);
        if (!st) st = orr_tensor_select(&yb, *out, 0, b);
        if (!st) st = orr_tensor_transpose(&xt, xb, 0, 1);
        if (!st) st = orr_tensor_transpose(&yt, yb, 0, 1);
        if (!st) st = orr_group_norm(yt, xt, 1, n->w, n->b, 1e-6f);
        orr_tensor_free(xb);
        orr_tensor_free(yb);
        orr_tensor_free(xt);
        orr_tensor_free(yt);
    }
    if (!st && silu) st = orr_unary(*out, *out, ORR_SILU);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* CausalResnetBlockFactorized3d                                             */

static orr_status conv_pair_load(tok_loader *ld, tok_conv pair[2], const char *name, int64_t cin, int64_t cout) {
    char sub[TOK_NAME];
    tok_name(sub, "%s.0", name);
    orr_status st = tok_conv3d_load(ld, &pair[0], sub, cin, cout, 1, 3, 3, 1, 1, 1);
    tok_name(sub, "%s.1", name);
    return st ? st : tok_conv3d_load(ld, &pair[1], sub, cout, cout, 3, 1, 1, 1, 1, 0);
}

orr_status tok_resblock3d_load(tok_loader *ld, tok_resblock3d *r, const char *name, int64_t cin, int64_t cout) {
    char sub[TOK_NAME];
    tok_name(sub, "%s.norm1", name);
    orr_status st = tok_norm_load(ld, &r->norm1, sub, cin);
    tok_name(sub, "%s.conv1", name);
    if (!st) st = conv_pair_load(ld, r->conv1, sub, cin, cout);
    tok_name(sub, "%s.norm2", name);
    if (!st) st = tok_norm_load(ld, &r->norm2, sub, cout);
    tok_name(sub, "%s.conv2", name);
    if (!st) st = conv_pair_load(ld, r->conv2, sub, cout, cout);
    r->has_shortcut = cin != cout;
    tok_name(sub, "%s.nin_shortcut", name);
    if (!st && r->has_shortcut) st = tok_conv3d_load(ld, &r->nin_shortcut, sub, cin, cout, 1, 1, 1, 1, 1, 0);
    return st;
}

orr_status tok_resblock3d_run(const tok_resblock3d *r, orr_tensor **x) {
    orr_tensor *a = NULL, *h = NULL;
    orr_status st = tok_frame_norm_run(&r->norm1, *x, true, &a);
    if (!st) st = tok_conv3d_pair_run(r->conv1, a, &h);
    orr_tensor_free(a);
    a = NULL;
    if (!st) st = tok_frame_norm_run(&r->norm2, h, true, &a);
    orr_tensor_free(h);
    h = NULL;
    if (!st) st = tok_conv3d_pair_run(r->conv2, a, &h);
    orr_tensor_free(a);
    a = NULL;
    if (!st && r->has_shortcut) {
        st = tok_conv3d_run(&r->nin_shortcut, *x, &a);
        if (!st) {
            orr_tensor_free(*x);
            *x = a;
        }
    }
    if (!st) st = tok_add_into(h, *x);
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

orr_status tok_attn3d_load(tok_loader *ld, tok_attn3d *a, const char *name, int64_t channels, bool temporal) {
    char sub[TOK_NAME];
    a->temporal = temporal;
    tok_name(sub, "%s.norm", name);
    orr_status st = tok_norm_load(ld, &a->norm, sub, channels);
    tok_conv *convs[4] = {&a->q, &a->k, &a->v, &a->proj_out};
    static const char *names[4] = {"q", "k", "v", "proj_out"};
    for (int i = 0; i < 4 && !st; i++) {
        tok_name(sub, "%s.%s", name, names[i]);
        st = tok_conv3d_load(ld, convs[i], sub, channels, channels, 1, 1, 1, 1, 1, 0);
    }
    return st;
}

/* [B,C,T,H,W] seen as attention's [batch, heads, tokens, dim]: spatial
 * attention takes [B, T, H*W, C] (every frame on its own); temporal takes
 * [B, H*W, T, C] (every pixel over its frames). Views, no copies. */
static orr_status token_view(const orr_tensor *t, bool temporal, orr_tensor **out) {
    const int64_t b = t->shape[0], c = t->shape[1], f = t->shape[2], hw = t->shape[3] * t->shape[4];
    orr_tensor *flat = NULL;
    orr_status st = orr_tensor_view_as(&flat, t, 4, (int64_t[]){b, c, f, hw});
    if (!st) st = orr_tensor_permute(out, flat, temporal ? (int[]){0, 3, 2, 1} : (int[]){0, 2, 3, 1});
    orr_tensor_free(flat);
    return st;
}

orr_status tok_attn3d_run(const tok_attn3d *a, orr_tensor **x) {
    orr_tensor *hn = NULL, *q = NULL, *k = NULL, *v = NULL, *o = NULL, *p = NULL;
    orr_tensor *qv = NULL, *kv = NULL, *vv = NULL, *ov = NULL;
    orr_status st = tok_frame_norm_run(&a->norm, *x, false, &hn);
    if (!st) st = tok_conv3d_run(&a->q, hn, &q);
    if (!st) st = tok_conv3d_run(&a->k, hn, &k);
    if (!st) st = tok_conv3d_run(&a->v, hn, &v);
    orr_tensor_free(hn);
    if (!st) st = tok_new(&o, 5, (*x)->shape);
    if (!st) st = token_view(q, a->temporal, &qv);
    if (!st) st = token_view(k, a->temporal, &kv);
    if (!st) st = token_view(v, a->temporal, &vv);
    if (!st) st = token_view(o, a->temporal, &ov);
    /* One head of dimension C, scale C^-0.5; the temporal block masks the
     * future (torch.tril). */
    if (!st) st = orr_attention(ov, qv, kv, vv, NULL, (float)(1.0 / sqrt((double)(*x)->shape[1])), a->temporal);
    orr_tensor_free(qv);
    orr_tensor_free(kv);
    orr_tensor_free(vv);
    orr_tensor_free(ov);
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

/* x = conv(xp) + avg_pool3d(xp) for the padded input xp (frees xp). */
static orr_status conv_plus_pool(const tok_conv *c, orr_tensor *xp, const int kernel[3], orr_tensor **out) {
    orr_tensor *pooled = NULL;
    int64_t shape[5] = {xp->shape[0], xp->shape[1], 0, 0, 0};
    for (int d = 0; d < 3; d++) shape[2 + d] = (xp->shape[2 + d] - kernel[d]) / kernel[d] + 1;
    orr_status st = tok_conv3d_run(c, xp, out);
    if (!st) st = tok_new(&pooled, 5, shape);
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
    orr_status st = tok_new(out, 5, shape);
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

/* Each element `repeats` times along `dim` (nearest-neighbour upsampling). */
static orr_status repeat_dim(orr_tensor **x, int dim, int64_t repeats) {
    int64_t shape[5];
    for (int d = 0; d < 5; d++) shape[d] = (*x)->shape[d];
    shape[dim] *= repeats;
    orr_tensor *y = NULL;
    orr_status st = tok_new(&y, 5, shape);
    if (!st) st = orr_repeat_interleave(y, *x, dim, repeats);
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
    if (r->temporal && (*x)->shape[2] > 1) {
        orr_tensor *rep = *x, *view = NULL, *y = NULL;
        *x = NULL;
        st = repeat_dim(&rep, 2, 2);
        if (!st) st = orr_tensor_narrow(&view, rep, 2, 1, rep->shape[2] - 1);
        if (!st) st = orr_tensor_contiguous(&y, view);
        orr_tensor_free(view);
        orr_tensor_free(rep);
        if (st) return st;
        *x = y;
    }
    if (r->temporal) st = tok_conv3d_residual(&r->conv1, x);
    if (!st && r->spatial) {
        st = repeat_dim(x, 3, 2);
        if (!st) st = repeat_dim(x, 4, 2);
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
