/* tokenizer_image.c — the image encoder and decoder of the Cosmos CI and DI
 * tokenizers (layers2d.py: Encoder, Decoder): 2-D Haar patching, residual
 * levels with stride-2 downsampling / nearest upsampling, a mid block with
 * one attention block. */
#include <stdio.h>

#include "tokenizer.h"

static orr_status mid_load(tok_loader *ld, const char *half, tok_resblock2d *b1, tok_attn2d *attn, tok_resblock2d *b2,
                           int64_t channels) {
    char name[TOK_NAME];
    tok_name(name, "%s.mid.block_1", half);
    orr_status st = tok_resblock2d_load(ld, b1, name, channels, channels);
    tok_name(name, "%s.mid.attn_1", half);
    if (!st) st = tok_attn2d_load(ld, attn, name, channels);
    tok_name(name, "%s.mid.block_2", half);
    return st ? st : tok_resblock2d_load(ld, b2, name, channels, channels);
}

static orr_status level_load(tok_loader *ld, tok_level2d *lv, const char *name, int n_blocks, int64_t *block_in,
                             int64_t block_out, bool attn) {
    char sub[TOK_NAME];
    orr_status st = ORR_OK;
    lv->n_blocks = n_blocks;
    lv->has_attn = attn;
    for (int j = 0; j < n_blocks && !st; j++) {
        tok_name(sub, "%s.block.%d", name, j);
        st = tok_resblock2d_load(ld, &lv->block[j], sub, *block_in, block_out);
        *block_in = block_out;
        tok_name(sub, "%s.attn.%d", name, j);
        if (!st && attn) st = tok_attn2d_load(ld, &lv->attn[j], sub, block_out);
    }
    return st;
}

static orr_status level_blocks_run(const tok_level2d *lv, orr_tensor **x) {
    orr_status st = ORR_OK;
    for (int j = 0; j < lv->n_blocks && !st; j++) {
        st = tok_resblock2d_run(&lv->block[j], x);
        if (!st && lv->has_attn) st = tok_attn2d_run(&lv->attn[j], x);
    }
    return st;
}

orr_status tok_encoder2d_load(tok_loader *ld, tok_encoder2d *e, const tok_config *cfg) {
    char name[TOK_NAME];
    const int64_t p = cfg->patch_size, ch = cfg->channels;
    e->patch_size = cfg->patch_size;
    e->n_levels = cfg->n_levels;
    orr_status st = tok_check_haar_buffers(ld, "encoder.patcher", cfg->patch_size, false);
    if (!st) st = tok_conv2d_load(ld, &e->conv_in, "encoder.conv_in", cfg->in_channels * p * p, ch, 3, 1, 1);
    int64_t curr_res = cfg->resolution / p, block_in = ch;
    for (int i = 0; i < cfg->n_levels && !st; i++) {
        tok_level2d *lv = &e->down[i];
        tok_name(name, "encoder.down.%d", i);
        block_in = ch * (i == 0 ? 1 : cfg->channels_mult[i - 1]);
        st = level_load(ld, lv, name, cfg->num_res_blocks, &block_in, ch * cfg->channels_mult[i],
                        tok_config_attn_at(cfg, curr_res));
        lv->has_resample = i < cfg->spatial_steps;
        if (!st && lv->has_resample) {
            tok_name(name, "encoder.down.%d.downsample.conv", i);
            st = tok_conv2d_load(ld, &lv->resample, name, block_in, block_in, 3, 2, 0);
            curr_res /= 2;
        }
    }
    if (!st) st = mid_load(ld, "encoder", &e->mid_block_1, &e->mid_attn, &e->mid_block_2, block_in);
    if (!st) st = tok_gnorm_load(ld, &e->norm_out, "encoder.norm_out", block_in);
    if (!st)
        st = tok_conv2d_load(ld, &e->conv_out, "encoder.conv_out", block_in, (int64_t)cfg->z_factor * cfg->z_channels,
                             3, 1, 1);
    return st;
}

orr_status tok_encoder2d_run(const tok_encoder2d *e, const orr_tensor *x, orr_tensor **out, orr_tensor_list *trace) {
    const int p = e->patch_size;
    char name[TOK_NAME];
    orr_tensor *h = NULL, *y = NULL;
    *out = NULL;
    int64_t shape[4] = {x->shape[0], x->shape[1] * p * p, tok_haar_len(x->shape[2], p), tok_haar_len(x->shape[3], p)};
    orr_status st = tok_new(&h, x->device, 4, shape);
    if (!st) st = orr_haar2d_patch(h, x, p);
    if (!st) st = tok_stage(trace, "encoder.patcher", h);
    if (!st) st = tok_conv2d_run(&e->conv_in, h, &y);
    orr_tensor_free(h);
    h = y;
    if (!st) st = tok_stage(trace, "encoder.conv_in", h);
    for (int i = 0; i < e->n_levels && !st; i++) {
        st = level_blocks_run(&e->down[i], &h);
        if (!st && e->down[i].has_resample) st = tok_downsample2d_run(&e->down[i].resample, &h);
        tok_name(name, "encoder.down.%d", i);
        if (!st) st = tok_stage(trace, name, h);
    }
    if (!st) st = tok_resblock2d_run(&e->mid_block_1, &h);
    if (!st) st = tok_stage(trace, "encoder.mid.block_1", h);
    if (!st) st = tok_attn2d_run(&e->mid_attn, &h);
    if (!st) st = tok_stage(trace, "encoder.mid.attn_1", h);
    if (!st) st = tok_resblock2d_run(&e->mid_block_2, &h);
    if (!st) st = tok_stage(trace, "encoder.mid.block_2", h);
    y = NULL;
    if (!st) st = tok_gnorm_silu_run(&e->norm_out, h, &y);
    orr_tensor_free(h);
    h = NULL;
    if (!st) st = tok_conv2d_run(&e->conv_out, y, &h);
    orr_tensor_free(y);
    if (!st) st = tok_stage(trace, "encoder.conv_out", h);
    if (!st) st = tok_trace(trace, "encoder", h);
    if (st) {
        orr_tensor_free(h);
        return st;
    }
    *out = h;
    return ORR_OK;
}

orr_status tok_decoder2d_load(tok_loader *ld, tok_decoder2d *d, const tok_config *cfg) {
    char name[TOK_NAME];
    const int64_t p = cfg->patch_size, ch = cfg->channels;
    const int n = cfg->n_levels;
    d->patch_size = cfg->patch_size;
    d->n_levels = n;
    int64_t block_in = ch * cfg->channels_mult[n - 1];
    int64_t curr_res = (cfg->resolution / p) >> (n - 1);
    orr_status st = tok_check_haar_buffers(ld, "decoder.unpatcher", cfg->patch_size, false);
    if (!st) st = tok_conv2d_load(ld, &d->conv_in, "decoder.conv_in", cfg->z_channels, block_in, 3, 1, 1);
    if (!st) st = mid_load(ld, "decoder", &d->mid_block_1, &d->mid_attn, &d->mid_block_2, block_in);
    for (int i = n - 1; i >= 0 && !st; i--) {
        tok_level2d *lv = &d->up[i];
        tok_name(name, "decoder.up.%d", i);
        st = level_load(ld, lv, name, cfg->num_res_blocks + 1, &block_in, ch * cfg->channels_mult[i],
                        tok_config_attn_at(cfg, curr_res));
        lv->has_resample = i >= n - cfg->spatial_steps;
        if (!st && lv->has_resample) {
            tok_name(name, "decoder.up.%d.upsample.conv", i);
            st = tok_conv2d_load(ld, &lv->resample, name, block_in, block_in, 3, 1, 1);
            curr_res *= 2;
        }
    }
    if (!st) st = tok_gnorm_load(ld, &d->norm_out, "decoder.norm_out", block_in);
    if (!st) st = tok_conv2d_load(ld, &d->conv_out, "decoder.conv_out", block_in, cfg->out_channels * p * p, 3, 1, 1);
    return st;
}

orr_status tok_decoder2d_run(const tok_decoder2d *d, const orr_tensor *z, orr_tensor **out, orr_tensor_list *trace) {
    const int p = d->patch_size;
    char name[TOK_NAME];
    orr_tensor *h = NULL, *y = NULL;
    *out = NULL;
    orr_status st = tok_conv2d_run(&d->conv_in, z, &h);
    if (!st) st = tok_stage(trace, "decoder.conv_in", h);
    if (!st) st = tok_resblock2d_run(&d->mid_block_1, &h);
    if (!st) st = tok_stage(trace, "decoder.mid.block_1", h);
    if (!st) st = tok_attn2d_run(&d->mid_attn, &h);
    if (!st) st = tok_stage(trace, "decoder.mid.attn_1", h);
    if (!st) st = tok_resblock2d_run(&d->mid_block_2, &h);
    if (!st) st = tok_stage(trace, "decoder.mid.block_2", h);
    for (int i = d->n_levels - 1; i >= 0 && !st; i--) {
        st = level_blocks_run(&d->up[i], &h);
        if (!st && d->up[i].has_resample) st = tok_upsample2d_run(&d->up[i].resample, &h);
        tok_name(name, "decoder.up.%d", i);
        if (!st) st = tok_stage(trace, name, h);
    }
    if (!st) st = tok_gnorm_silu_run(&d->norm_out, h, &y);
    orr_tensor_free(h);
    h = NULL;
    if (!st) st = tok_conv2d_run(&d->conv_out, y, &h);
    orr_tensor_free(y);
    y = NULL;
    if (!st) st = tok_stage(trace, "decoder.conv_out", h);
    if (!st) {
        int64_t shape[4] = {h->shape[0], h->shape[1] / (p * p), h->shape[2] * p, h->shape[3] * p};
        st = tok_new(&y, h->device, 4, shape);
    }
    if (!st) st = orr_haar2d_unpatch(y, h, p);
    orr_tensor_free(h);
    if (!st) st = tok_stage(trace, "decoder", y);
    if (st) {
        orr_tensor_free(y);
        return st;
    }
    *out = y;
    return ORR_OK;
}
