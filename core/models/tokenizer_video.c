/* tokenizer_video.c — the video encoder and decoder of the Cosmos CV and DV
 * tokenizers (layers3d.py: EncoderFactorized, DecoderFactorized): Haar
 * patching, factorized causal convs, residual levels with hybrid
 * resampling, the mid block with spatial and causal temporal attention. */
#include <stdio.h>

#include "tokenizer.h"

/* The feature resolution the official code compares with attn_resolutions. */
static int64_t patched_resolution(const tok_config *cfg) { return cfg->resolution / cfg->patch_size; }

static orr_status attn_pair_load(tok_loader *ld, tok_attn3d pair[2], const char *name, int64_t channels) {
    char sub[TOK_NAME];
    tok_name(sub, "%s.0", name);
    orr_status st = tok_attn3d_load(ld, &pair[0], sub, channels, false);
    tok_name(sub, "%s.1", name);
    return st ? st : tok_attn3d_load(ld, &pair[1], sub, channels, true);
}

static orr_status attn_pair_run(const tok_attn3d pair[2], orr_tensor **x) {
    orr_status st = tok_attn3d_run(&pair[0], x);
    return st ? st : tok_attn3d_run(&pair[1], x);
}

static orr_status mid_load(tok_loader *ld, const char *half, tok_resblock3d *b1, tok_attn3d attn[2], tok_resblock3d *b2,
                           int64_t channels) {
    char name[TOK_NAME];
    tok_name(name, "%s.mid.block_1", half);
    orr_status st = tok_resblock3d_load(ld, b1, name, channels, channels);
    tok_name(name, "%s.mid.attn_1", half);
    if (!st) st = attn_pair_load(ld, attn, name, channels);
    tok_name(name, "%s.mid.block_2", half);
    return st ? st : tok_resblock3d_load(ld, b2, name, channels, channels);
}

/* The level's blocks (and attention pairs at an attention resolution). */
static orr_status level_load(tok_loader *ld, tok_level3d *lv, const char *name, int n_blocks, int64_t *block_in,
                             int64_t block_out, bool attn) {
    char sub[TOK_NAME];
    orr_status st = ORR_OK;
    lv->n_blocks = n_blocks;
    lv->has_attn = attn;
    for (int j = 0; j < n_blocks && !st; j++) {
        tok_name(sub, "%s.block.%d", name, j);
        st = tok_resblock3d_load(ld, &lv->block[j], sub, *block_in, block_out);
        *block_in = block_out;
        tok_name(sub, "%s.attn.%d", name, j);
        if (!st && attn) st = attn_pair_load(ld, lv->attn[j], sub, block_out);
    }
    return st;
}

static orr_status level_blocks_run(const tok_level3d *lv, orr_tensor **x) {
    orr_status st = ORR_OK;
    for (int j = 0; j < lv->n_blocks && !st; j++) {
        st = tok_resblock3d_run(&lv->block[j], x);
        if (!st && lv->has_attn) st = attn_pair_run(lv->attn[j], x);
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Encoder                                                                   */

orr_status tok_encoder3d_load(tok_loader *ld, tok_encoder3d *e, const tok_config *cfg) {
    char name[TOK_NAME];
    const int64_t p = cfg->patch_size, ch = cfg->channels;
    e->patch_size = cfg->patch_size;
    e->n_levels = cfg->n_levels;
    orr_status st = tok_check_haar_buffers(ld, "encoder.patcher3d", cfg->patch_size, true);
    if (!st) st = tok_conv3d_pair_load(ld, e->conv_in, "encoder.conv_in", cfg->in_channels * p * p * p, ch);
    int64_t curr_res = patched_resolution(cfg), block_in = ch;
    for (int i = 0; i < cfg->n_levels && !st; i++) {
        tok_level3d *lv = &e->down[i];
        tok_name(name, "encoder.down.%d", i);
        block_in = ch * (i == 0 ? 1 : cfg->channels_mult[i - 1]);
        st = level_load(ld, lv, name, cfg->num_res_blocks, &block_in, ch * cfg->channels_mult[i],
                        tok_config_attn_at(cfg, curr_res));
        lv->has_resample = i != cfg->n_levels - 1;
        if (!st && lv->has_resample) {
            tok_name(name, "encoder.down.%d.downsample", i);
            st = tok_resample3d_load(ld, &lv->resample, name, block_in, i < cfg->spatial_steps, i < cfg->temporal_steps,
                                     false);
            curr_res /= 2;
        }
    }
    if (!st) st = mid_load(ld, "encoder", &e->mid_block_1, e->mid_attn, &e->mid_block_2, block_in);
    if (!st) st = tok_norm_load(ld, &e->norm_out, "encoder.norm_out", block_in);
    if (!st)
        st = tok_conv3d_pair_load(ld, e->conv_out, "encoder.conv_out", block_in,
                                  (int64_t)cfg->z_factor * cfg->z_channels);
    return st;
}

orr_status tok_encoder3d_run(const tok_encoder3d *e, const orr_tensor *x, orr_tensor **out, orr_tensor_list *trace) {
    const int p = e->patch_size;
    char name[TOK_NAME];
    orr_tensor *h = NULL, *y = NULL;
    *out = NULL;
    int64_t shape[5] = {x->shape[0], x->shape[1] * p * p * p, tok_haar_len(x->shape[2] + p - 1, p),
                        tok_haar_len(x->shape[3], p), tok_haar_len(x->shape[4], p)};
    orr_status st = tok_new(&h, x->device, 5, shape);
    if (!st) st = orr_haar3d_patch(h, x, p);
    if (!st) st = tok_stage(trace, "encoder.patcher3d", h);
    if (!st) st = tok_conv3d_pair_run(e->conv_in, h, NULL, &y);
    orr_tensor_free(h);
    h = y;
    if (!st) st = tok_stage(trace, "encoder.conv_in", h);
    for (int i = 0; i < e->n_levels && !st; i++) {
        st = level_blocks_run(&e->down[i], &h);
        if (!st && e->down[i].has_resample) st = tok_resample3d_run(&e->down[i].resample, &h);
        tok_name(name, "encoder.down.%d", i);
        if (!st) st = tok_stage(trace, name, h);
    }
    if (!st) st = tok_resblock3d_run(&e->mid_block_1, &h);
    if (!st) st = tok_stage(trace, "encoder.mid.block_1", h);
    if (!st) st = attn_pair_run(e->mid_attn, &h);
    if (!st) st = tok_stage(trace, "encoder.mid.attn_1", h);
    if (!st) st = tok_resblock3d_run(&e->mid_block_2, &h);
    if (!st) st = tok_stage(trace, "encoder.mid.block_2", h);
    /* h is needed no more once normed */
    if (!st) st = tok_frame_norm_inplace(&e->norm_out, h, true);
    y = h;
    h = NULL;
    if (!st) st = tok_conv3d_pair_run(e->conv_out, y, NULL, &h);
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

/* ------------------------------------------------------------------------ */
/* Decoder                                                                   */

orr_status tok_decoder3d_load(tok_loader *ld, tok_decoder3d *d, const tok_config *cfg) {
    char name[TOK_NAME];
    const int64_t p = cfg->patch_size, ch = cfg->channels;
    const int n = cfg->n_levels;
    d->patch_size = cfg->patch_size;
    d->n_levels = n;
    int64_t block_in = ch * cfg->channels_mult[n - 1];
    int64_t curr_res = patched_resolution(cfg) >> (n - 1);
    orr_status st = tok_check_haar_buffers(ld, "decoder.unpatcher3d", cfg->patch_size, false);
    if (!st) st = tok_conv3d_pair_load(ld, d->conv_in, "decoder.conv_in", cfg->z_channels, block_in);
    if (!st) st = mid_load(ld, "decoder", &d->mid_block_1, d->mid_attn, &d->mid_block_2, block_in);
    for (int i = n - 1; i >= 0 && !st; i--) {
        tok_level3d *lv = &d->up[i];
        tok_name(name, "decoder.up.%d", i);
        st = level_load(ld, lv, name, cfg->num_res_blocks + 1, &block_in, ch * cfg->channels_mult[i],
                        tok_config_attn_at(cfg, curr_res));
        lv->has_resample = i != 0;
        if (!st && lv->has_resample) {
            bool spatial, temporal;
            tok_config_up_flags(cfg, i, &spatial, &temporal);
            tok_name(name, "decoder.up.%d.upsample", i);
            st = tok_resample3d_load(ld, &lv->resample, name, block_in, spatial, temporal, true);
            curr_res *= 2;
        }
    }
    if (!st) st = tok_norm_load(ld, &d->norm_out, "decoder.norm_out", block_in);
    if (!st) st = tok_conv3d_pair_load(ld, d->conv_out, "decoder.conv_out", block_in, cfg->out_channels * p * p * p);
    return st;
}

orr_status tok_decoder3d_run(const tok_decoder3d *d, const orr_tensor *z, orr_tensor **out, orr_tensor_list *trace) {
    const int p = d->patch_size;
    char name[TOK_NAME];
    orr_tensor *h = NULL, *y = NULL;
    *out = NULL;
    orr_status st = tok_conv3d_pair_run(d->conv_in, z, NULL, &h);
    if (!st) st = tok_stage(trace, "decoder.conv_in", h);
    if (!st) st = tok_resblock3d_run(&d->mid_block_1, &h);
    if (!st) st = tok_stage(trace, "decoder.mid.block_1", h);
    if (!st) st = attn_pair_run(d->mid_attn, &h);
    if (!st) st = tok_stage(trace, "decoder.mid.attn_1", h);
    if (!st) st = tok_resblock3d_run(&d->mid_block_2, &h);
    if (!st) st = tok_stage(trace, "decoder.mid.block_2", h);
    for (int i = d->n_levels - 1; i >= 0 && !st; i--) {
        st = level_blocks_run(&d->up[i], &h);
        if (!st && d->up[i].has_resample) st = tok_resample3d_run(&d->up[i].resample, &h);
        tok_name(name, "decoder.up.%d", i);
        if (!st) st = tok_stage(trace, name, h);
    }
    if (!st) st = tok_frame_norm_inplace(&d->norm_out, h, true);
    y = h;
    h = NULL;
    if (!st) st = tok_conv3d_pair_run(d->conv_out, y, NULL, &h);
    orr_tensor_free(y);
    y = NULL;
    if (!st) st = tok_stage(trace, "decoder.conv_out", h);
    if (!st) {
        int64_t shape[5] = {h->shape[0], h->shape[1] / (p * p * p), h->shape[2] * p - (p - 1), h->shape[3] * p,
                            h->shape[4] * p};
        st = tok_new(&y, h->device, 5, shape);
    }
    if (!st) st = orr_haar3d_unpatch(y, h, p);
    orr_tensor_free(h);
    if (!st) st = tok_stage(trace, "decoder", y);
    if (st) {
        orr_tensor_free(y);
        return st;
    }
    *out = y;
    return ORR_OK;
}
