/* tokenizer_layers2d.c — the 2-D blocks of the Cosmos image tokenizers
 * (cosmos_predict1/tokenizer/modules/layers2d.py, Stable-Diffusion style):
 * GroupNorm(32, eps 1e-6), 3x3 convs, the residual block, single-head
 * attention over all pixels, Downsample (pad right/bottom, stride-2 conv)
 * and Upsample (nearest x2, conv). Activations are contiguous f32 [B,C,H,W]
 * on the weights' device (where a conv takes its input in the weights'
 * dtype). */
#include <stdio.h>

#include "tokenizer.h"

#define TOK_IMAGE_GROUPS 32

orr_status tok_conv2d_load(tok_loader *ld, tok_conv2d *c, const char *name, int64_t cin, int64_t cout, int k,
                           int stride, int pad) {
    orr_conv_params_init(&c->p);
    c->p.stride[1] = c->p.stride[2] = stride;
    c->p.padding[1] = c->p.padding[2] = pad;
    c->cout = cout;
    c->k = k;
    int64_t fan_in = cin * k * k;
    orr_status st = tok_param(ld, &c->w, TOK_INIT_FAN_IN, fan_in, 4, (int64_t[]){cout, cin, k, k}, "%s.weight", name);
    return st ? st : tok_param(ld, &c->b, TOK_INIT_FAN_IN, fan_in, 1, &cout, "%s.bias", name);
}

orr_status tok_conv2d_run(const tok_conv2d *c, const orr_tensor *x, orr_tensor **out) {
    int64_t shape[4] = {x->shape[0], c->cout, 0, 0};
    for (int d = 1; d < 3; d++) shape[1 + d] = (x->shape[1 + d] + 2 * c->p.padding[d] - c->k) / c->p.stride[d] + 1;
    orr_tensor *in = NULL;
    orr_status st = tok_new(out, x->device, 4, shape);
    if (!st && x->dtype != c->w->dtype) st = orr_tensor_clone(&in, x, c->w->dtype);
    if (!st) st = orr_conv2d(*out, in ? in : x, c->w, c->b, &c->p);
    orr_tensor_free(in);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

/* *x = conv(*x). */
static orr_status conv2d_replace(const tok_conv2d *c, orr_tensor **x) {
    orr_tensor *y = NULL;
    orr_status st = tok_conv2d_run(c, *x, &y);
    if (st) return st;
    orr_tensor_free(*x);
    *x = y;
    return ORR_OK;
}

orr_status tok_gnorm_load(tok_loader *ld, tok_gnorm *n, const char *name, int64_t channels) {
    if (channels % TOK_IMAGE_GROUPS)
        return orr_error(ORR_ERR_FORMAT, "tokenizer: %s has %lld channels, not a multiple of GroupNorm's %d groups",
                         name, (long long)channels, TOK_IMAGE_GROUPS);
    orr_status st = tok_param(ld, &n->w, TOK_INIT_ONES, 0, 1, &channels, "%s.weight", name);
    return st ? st : tok_param(ld, &n->b, TOK_INIT_ZEROS, 0, 1, &channels, "%s.bias", name);
}

static orr_status gnorm_run(const tok_gnorm *n, const orr_tensor *x, bool silu, orr_tensor **out) {
    orr_status st = tok_new(out, x->device, x->ndim, x->shape);
    if (!st) st = orr_group_norm(*out, x, TOK_IMAGE_GROUPS, n->w, n->b, 1e-6f);
    if (!st && silu) st = orr_unary(*out, *out, ORR_SILU);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

orr_status tok_gnorm_silu_run(const tok_gnorm *n, const orr_tensor *x, orr_tensor **out) {
    return gnorm_run(n, x, true, out);
}

orr_status tok_resblock2d_load(tok_loader *ld, tok_resblock2d *r, const char *name, int64_t cin, int64_t cout) {
    char sub[TOK_NAME];
    tok_name(sub, "%s.norm1", name);
    orr_status st = tok_gnorm_load(ld, &r->norm1, sub, cin);
    tok_name(sub, "%s.conv1", name);
    if (!st) st = tok_conv2d_load(ld, &r->conv1, sub, cin, cout, 3, 1, 1);
    tok_name(sub, "%s.norm2", name);
    if (!st) st = tok_gnorm_load(ld, &r->norm2, sub, cout);
    tok_name(sub, "%s.conv2", name);
    if (!st) st = tok_conv2d_load(ld, &r->conv2, sub, cout, cout, 3, 1, 1);
    r->has_shortcut = cin != cout;
    tok_name(sub, "%s.nin_shortcut", name);
    if (!st && r->has_shortcut) st = tok_conv2d_load(ld, &r->nin_shortcut, sub, cin, cout, 1, 1, 0);
    return st;
}

orr_status tok_resblock2d_run(const tok_resblock2d *r, orr_tensor **x) {
    orr_tensor *a = NULL, *h = NULL;
    orr_status st = gnorm_run(&r->norm1, *x, true, &a);
    if (!st) st = tok_conv2d_run(&r->conv1, a, &h);
    orr_tensor_free(a);
    a = NULL;
    if (!st) st = gnorm_run(&r->norm2, h, true, &a);
    orr_tensor_free(h);
    h = NULL;
    if (!st) st = tok_conv2d_run(&r->conv2, a, &h);
    orr_tensor_free(a);
    if (!st && r->has_shortcut) st = conv2d_replace(&r->nin_shortcut, x);
    if (!st) st = tok_add_into(h, *x);
    if (st) {
        orr_tensor_free(h);
        return st;
    }
    orr_tensor_free(*x);
    *x = h;
    return ORR_OK;
}

orr_status tok_attn2d_load(tok_loader *ld, tok_attn2d *a, const char *name, int64_t channels) {
    char sub[TOK_NAME];
    tok_name(sub, "%s.norm", name);
    orr_status st = tok_gnorm_load(ld, &a->norm, sub, channels);
    tok_conv2d *convs[4] = {&a->q, &a->k, &a->v, &a->proj_out};
    static const char *names[4] = {"q", "k", "v", "proj_out"};
    for (int i = 0; i < 4 && !st; i++) {
        tok_name(sub, "%s.%s", name, names[i]);
        st = tok_conv2d_load(ld, convs[i], sub, channels, channels, 1, 1, 0);
    }
    return st;
}

orr_status tok_attn2d_run(const tok_attn2d *a, orr_tensor **x) {
    orr_tensor *hn = NULL, *q = NULL, *k = NULL, *v = NULL, *o = NULL, *p = NULL;
    orr_status st = gnorm_run(&a->norm, *x, false, &hn);
    if (!st) st = tok_conv2d_run(&a->q, hn, &q);
    if (!st) st = tok_conv2d_run(&a->k, hn, &k);
    if (!st) st = tok_conv2d_run(&a->v, hn, &v);
    orr_tensor_free(hn);
    if (!st) st = tok_new(&o, (*x)->device, 4, (*x)->shape);
    if (!st) st = tok_attend(o, q, k, v, false);
    orr_tensor_free(q);
    orr_tensor_free(k);
    orr_tensor_free(v);
    if (!st) st = tok_conv2d_run(&a->proj_out, o, &p);
    orr_tensor_free(o);
    if (!st) st = tok_add_into(*x, p);
    orr_tensor_free(p);
    return st;
}

orr_status tok_downsample2d_run(const tok_conv2d *c, orr_tensor **x) {
    const orr_tensor *t = *x;
    orr_tensor *padded = NULL;
    int64_t shape[4] = {t->shape[0], t->shape[1], t->shape[2] + 1, t->shape[3] + 1};
    orr_status st = tok_new(&padded, t->device, 4, shape);
    if (!st) st = orr_pad(padded, t, (int64_t[]){0, 0, 0, 0, 0, 1, 0, 1}, ORR_PAD_CONSTANT, 0.0f);
    if (!st) st = conv2d_replace(c, &padded);
    if (st) {
        orr_tensor_free(padded);
        return st;
    }
    orr_tensor_free(*x);
    *x = padded;
    return ORR_OK;
}

orr_status tok_upsample2d_run(const tok_conv2d *c, orr_tensor **x) {
    for (int dim = 2; dim < 4; dim++) {
        int64_t shape[4] = {(*x)->shape[0], (*x)->shape[1], (*x)->shape[2], (*x)->shape[3]};
        shape[dim] *= 2;
        orr_tensor *y = NULL;
        orr_status st = tok_new(&y, (*x)->device, 4, shape);
        if (!st) st = orr_repeat_interleave(y, *x, dim, 2);
        if (st) {
            orr_tensor_free(y);
            return st;
        }
        orr_tensor_free(*x);
        *x = y;
    }
    return conv2d_replace(c, x);
}
