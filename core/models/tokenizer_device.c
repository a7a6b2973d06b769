/* tokenizer_device.c — where a tokenizer's weights live
 * (orr_tokenizer_to_device). On the cpu every weight is f32, the temporal
 * convs' transposed for their kernel (tokenizer_layers3d.c); on cuda the
 * conv weights and biases are contiguous in the official layout, in the
 * placement's dtype, for cuDNN, and the norms' gains and biases stay f32. */
#include <stdio.h>
#include <stdlib.h>

#include "tokenizer.h"

/* One weight: where the tokenizer points to it, whether it is a conv's
 * (weight or bias: the placement's dtype), and whether the cpu keeps it
 * transposed. */
typedef struct tok_slot {
    orr_tensor **t;
    bool conv, transposed;
} tok_slot;

/* The walk over every weight of a tokenizer: fills slots (when not NULL)
 * and counts them. */
typedef struct slot_walk {
    tok_slot *slots;
    int n;
} slot_walk;

static void add(slot_walk *w, orr_tensor **t, bool conv, bool transposed) {
    if (!*t) return; /* a resampler's disabled conv */
    if (w->slots) w->slots[w->n] = (tok_slot){t, conv, transposed};
    w->n++;
}

static void walk_conv(slot_walk *w, tok_conv *c) {
    add(w, &c->w, true, c->transposed);
    add(w, &c->b, true, false);
}

static void walk_norm(slot_walk *w, tok_norm *n) {
    add(w, &n->w, false, false);
    add(w, &n->b, false, false);
}

static void walk_resblock3d(slot_walk *w, tok_resblock3d *r) {
    walk_norm(w, &r->norm1);
    walk_conv(w, &r->conv1[0]);
    walk_conv(w, &r->conv1[1]);
    walk_norm(w, &r->norm2);
    walk_conv(w, &r->conv2[0]);
    walk_conv(w, &r->conv2[1]);
    if (r->has_shortcut) walk_conv(w, &r->nin_shortcut);
}

static void walk_attn3d(slot_walk *w, tok_attn3d *a) {
    walk_norm(w, &a->norm);
    walk_conv(w, &a->qkv);
    walk_conv(w, &a->proj_out);
}

static void walk_level3d(slot_walk *w, tok_level3d *lv) {
    for (int j = 0; j < lv->n_blocks; j++) {
        walk_resblock3d(w, &lv->block[j]);
        if (lv->has_attn) walk_attn3d(w, &lv->attn[j][0]), walk_attn3d(w, &lv->attn[j][1]);
    }
    if (lv->has_resample) {
        walk_conv(w, &lv->resample.conv1);
        walk_conv(w, &lv->resample.conv2);
        walk_conv(w, &lv->resample.conv3);
    }
}

static void walk_mid3d(slot_walk *w, tok_resblock3d *b1, tok_attn3d attn[2], tok_resblock3d *b2) {
    walk_resblock3d(w, b1);
    walk_attn3d(w, &attn[0]);
    walk_attn3d(w, &attn[1]);
    walk_resblock3d(w, b2);
}

static void walk_conv2d(slot_walk *w, tok_conv2d *c) {
    add(w, &c->w, true, false);
    add(w, &c->b, true, false);
}

static void walk_gnorm(slot_walk *w, tok_gnorm *n) {
    add(w, &n->w, false, false);
    add(w, &n->b, false, false);
}

static void walk_resblock2d(slot_walk *w, tok_resblock2d *r) {
    walk_gnorm(w, &r->norm1);
    walk_conv2d(w, &r->conv1);
    walk_gnorm(w, &r->norm2);
    walk_conv2d(w, &r->conv2);
    if (r->has_shortcut) walk_conv2d(w, &r->nin_shortcut);
}

static void walk_attn2d(slot_walk *w, tok_attn2d *a) {
    walk_gnorm(w, &a->norm);
    walk_conv2d(w, &a->q);
    walk_conv2d(w, &a->k);
    walk_conv2d(w, &a->v);
    walk_conv2d(w, &a->proj_out);
}

static void walk_level2d(slot_walk *w, tok_level2d *lv) {
    for (int j = 0; j < lv->n_blocks; j++) {
        walk_resblock2d(w, &lv->block[j]);
        if (lv->has_attn) walk_attn2d(w, &lv->attn[j]);
    }
    if (lv->has_resample) walk_conv2d(w, &lv->resample);
}

static void walk_mid2d(slot_walk *w, tok_resblock2d *b1, tok_attn2d *attn, tok_resblock2d *b2) {
    walk_resblock2d(w, b1);
    walk_attn2d(w, attn);
    walk_resblock2d(w, b2);
}

static void walk(slot_walk *w, orr_tokenizer *tok) {
    if (tok->enc3d) {
        tok_encoder3d *e = tok->enc3d;
        walk_conv(w, &e->conv_in[0]);
        walk_conv(w, &e->conv_in[1]);
        for (int i = 0; i < e->n_levels; i++) walk_level3d(w, &e->down[i]);
        walk_mid3d(w, &e->mid_block_1, e->mid_attn, &e->mid_block_2);
        walk_norm(w, &e->norm_out);
        walk_conv(w, &e->conv_out[0]);
        walk_conv(w, &e->conv_out[1]);
        walk_conv(w, &tok->quant_conv);
    }
    if (tok->dec3d) {
        tok_decoder3d *d = tok->dec3d;
        walk_conv(w, &tok->post_quant_conv);
        walk_conv(w, &d->conv_in[0]);
        walk_conv(w, &d->conv_in[1]);
        walk_mid3d(w, &d->mid_block_1, d->mid_attn, &d->mid_block_2);
        for (int i = d->n_levels - 1; i >= 0; i--) walk_level3d(w, &d->up[i]);
        walk_norm(w, &d->norm_out);
        walk_conv(w, &d->conv_out[0]);
        walk_conv(w, &d->conv_out[1]);
    }
    if (tok->enc2d) {
        tok_encoder2d *e = tok->enc2d;
        walk_conv2d(w, &e->conv_in);
        for (int i = 0; i < e->n_levels; i++) walk_level2d(w, &e->down[i]);
        walk_mid2d(w, &e->mid_block_1, &e->mid_attn, &e->mid_block_2);
        walk_gnorm(w, &e->norm_out);
        walk_conv2d(w, &e->conv_out);
        walk_conv2d(w, &tok->quant_conv2d);
    }
    if (tok->dec2d) {
        tok_decoder2d *d = tok->dec2d;
        walk_conv2d(w, &tok->post_quant_conv2d);
        walk_conv2d(w, &d->conv_in);
        walk_mid2d(w, &d->mid_block_1, &d->mid_attn, &d->mid_block_2);
        for (int i = d->n_levels - 1; i >= 0; i--) walk_level2d(w, &d->up[i]);
        walk_gnorm(w, &d->norm_out);
        walk_conv2d(w, &d->conv_out);
    }
}

int64_t tok_weight_bytes(const orr_tokenizer *tok) {
    slot_walk count = {NULL, 0};
    /* the walk only reads through the slots it hands out */
    walk(&count, (orr_tokenizer *)tok);
    slot_walk w = {calloc((size_t)(count.n ? count.n : 1), sizeof(tok_slot)), 0};
    if (!w.slots) return 0;
    walk(&w, (orr_tokenizer *)tok);
    int64_t bytes = 0;
    for (int i = 0; i < w.n; i++) bytes += (int64_t)orr_tensor_nbytes(*w.slots[i].t);
    free(w.slots);
    return bytes;
}

static orr_status check_placement(const char *op, orr_device device, orr_dtype dtype) {
    if (device != ORR_CPU && device != ORR_CUDA)
        return orr_error(ORR_ERR_ARGUMENT, "%s: unknown device %d", op, (int)device);
    bool ok = dtype == ORR_F32 || (device == ORR_CUDA && dtype == ORR_BF16);
    if (!ok)
        return orr_error(ORR_ERR_DTYPE, "%s: the conv weights cannot be %s on %s (%s)", op,
                         orr_dtype_name(dtype) ? orr_dtype_name(dtype) : "an invalid dtype", orr_device_name(device),
                         device == ORR_CUDA ? "f32 or bf16" : "f32: the cpu kernels compute from f32");
    if (device == ORR_CUDA && !orr_cuda_available()) {
        orr_cuda_info info;
        orr_status st = orr_cuda_get_info(&info);
        return st ? orr_error_context(st, "%s: ", op)
                  : orr_error(ORR_ERR_UNSUPPORTED, "%s: the cuda device cannot be used", op);
    }
    return ORR_OK;
}

/* The weight of slot s placed on `device`: on the cpu f32, transposed
 * storage for the temporal convs (the official indexing over it); on cuda
 * contiguous, conv weights in dtype. */
static orr_status placed(const tok_slot *s, orr_device device, orr_dtype dtype, orr_tensor **out) {
    const orr_tensor *old = *s->t;
    *out = NULL;
    if (device == ORR_CPU && s->transposed) {
        const int64_t *k = old->shape;
        orr_tensor *storage = NULL;
        orr_status st = orr_tensor_empty(&storage, ORR_F32, 5, (int64_t[]){k[1], k[2], k[3], k[4], k[0]});
        if (!st) st = orr_tensor_permute(out, storage, (int[]){4, 0, 1, 2, 3});
        orr_tensor_free(storage);
        if (!st) st = orr_copy(*out, old);
        if (st) {
            orr_tensor_free(*out);
            *out = NULL;
        }
        return st;
    }
    orr_status st = orr_tensor_empty_on(device, out, s->conv ? dtype : ORR_F32, old->ndim, old->shape);
    if (!st) st = orr_copy(*out, old);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

orr_status orr_tokenizer_to_device(orr_tokenizer *tok, orr_device device, orr_dtype dtype) {
    const char *op = "tokenizer_to_device";
    if (!tok) return orr_error(ORR_ERR_ARGUMENT, "%s: tok is NULL", op);
    orr_status st = check_placement(op, device, dtype);
    if (st || (device == tok->device && dtype == tok->dtype)) return st;
    slot_walk w = {NULL, 0};
    walk(&w, tok);
    const int n = w.n;
    w.slots = calloc((size_t)(n ? n : 1), sizeof *w.slots);
    orr_tensor **fresh = calloc((size_t)(n ? n : 1), sizeof *fresh);
    orr_tensor_list *params = NULL;
    if (!w.slots || !fresh) st = orr_error(ORR_ERR_MEMORY, "%s: out of host memory", op);
    if (!st) {
        w.n = 0;
        walk(&w, tok);
        st = orr_tensor_list_create(&params);
    }
    for (int i = 0; !st && i < n; i++) {
        st = placed(&w.slots[i], device, dtype, &fresh[i]);
        if (st) orr_error_context(st, "%s: weight %d of %d: ", op, i, n);
    }
    /* the new list owns the placed weights (the old one held file views
     * and the stacked q, k, v views too); it takes each also on failure */
    for (int i = 0; !st && i < n; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s %d", w.slots[i].conv ? "conv" : "norm", i);
        orr_tensor *t = fresh[i];
        fresh[i] = NULL;
        st = orr_tensor_list_add(params, name, t);
    }
    if (!st) {
        for (int i = 0; i < n; i++) *w.slots[i].t = orr_tensor_list_get(params, i);
        orr_tensor_list_free(tok->params);
        tok->params = params;
        params = NULL;
        tok->device = device;
        tok->dtype = dtype;
    }
    for (int i = 0; fresh && i < n; i++) orr_tensor_free(fresh[i]);
    orr_tensor_list_free(params);
    free(w.slots);
    free(fresh);
    return st;
}

orr_device orr_tokenizer_device(const orr_tokenizer *tok) { return tok ? tok->device : ORR_CPU; }
