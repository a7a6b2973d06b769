/* tokenizer.c — the public orr_tokenizer handle: building the CV/DV/CI/DI
 * networks from a config and official weights (or random ones), and the
 * official encode / decode on inputs of a valid size. The networks
 * themselves are in tokenizer_video.c and tokenizer_image.c. They run where
 * the weights are; inputs elsewhere go over once, results come back to
 * wherever the outputs lie. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

/* ------------------------------------------------------------------------ */
/* Building                                                                  */

static orr_status build_video(orr_tokenizer *tok, tok_loader *ld) {
    const tok_config *cfg = &tok->cfg;
    const int64_t zf = cfg->z_factor, z = cfg->z_channels;
    const int64_t latent = cfg->discrete ? cfg->latent_channels : zf * cfg->latent_channels;
    orr_status st = ORR_OK;
    if (tok->has_encoder) {
        tok->enc3d = calloc(1, sizeof *tok->enc3d);
        if (!tok->enc3d) return orr_error(ORR_ERR_MEMORY, "tokenizer: out of memory");
        st = tok_encoder3d_load(ld, tok->enc3d, cfg);
        if (!st) st = tok_conv3d_load(ld, &tok->quant_conv, "quant_conv", zf * z, latent, 1, 1, 1, 1, 1, 0);
        if (!st && cfg->discrete) st = tok_check_fsq_buffers(ld, "quantizer", cfg);
    }
    if (!st && tok->has_decoder) {
        tok->dec3d = calloc(1, sizeof *tok->dec3d);
        if (!tok->dec3d) return orr_error(ORR_ERR_MEMORY, "tokenizer: out of memory");
        st = tok_conv3d_load(ld, &tok->post_quant_conv, "post_quant_conv", cfg->latent_channels, z, 1, 1, 1, 1, 1, 0);
        if (!st) st = tok_decoder3d_load(ld, tok->dec3d, cfg);
        if (!st && cfg->discrete) st = tok_check_fsq_buffers(ld, "inv_quant.quantizer", cfg);
    }
    return st;
}

static orr_status build_image(orr_tokenizer *tok, tok_loader *ld) {
    const tok_config *cfg = &tok->cfg;
    const int64_t zf = cfg->z_factor, z = cfg->z_channels;
    const int64_t latent = cfg->discrete ? cfg->latent_channels : zf * cfg->latent_channels;
    orr_status st = ORR_OK;
    if (tok->has_encoder) {
        tok->enc2d = calloc(1, sizeof *tok->enc2d);
        if (!tok->enc2d) return orr_error(ORR_ERR_MEMORY, "tokenizer: out of memory");
        st = tok_encoder2d_load(ld, tok->enc2d, cfg);
        if (!st) st = tok_conv2d_load(ld, &tok->quant_conv2d, "quant_conv", zf * z, latent, 1, 1, 0);
        if (!st && cfg->discrete) st = tok_check_fsq_buffers(ld, "quantizer", cfg);
    }
    if (!st && tok->has_decoder) {
        tok->dec2d = calloc(1, sizeof *tok->dec2d);
        if (!tok->dec2d) return orr_error(ORR_ERR_MEMORY, "tokenizer: out of memory");
        st = tok_conv2d_load(ld, &tok->post_quant_conv2d, "post_quant_conv", cfg->latent_channels, z, 1, 1, 0);
        if (!st) st = tok_decoder2d_load(ld, tok->dec2d, cfg);
        if (!st && cfg->discrete) st = tok_check_fsq_buffers(ld, "inv_quant.quantizer", cfg);
    }
    return st;
}

orr_status tok_build(orr_tokenizer **out, const tok_config *cfg, tok_loader *ld) {
    *out = NULL;
    orr_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) return orr_error(ORR_ERR_MEMORY, "tokenizer: out of memory");
    tok->cfg = *cfg;
    tok->device = ORR_CPU;
    tok->dtype = ORR_F32;
    tok->has_encoder = tok_loader_has_prefix(ld, "encoder.");
    tok->has_decoder = tok_loader_has_prefix(ld, "decoder.");
    if (cfg->discrete) tok_fsq_init(&tok->fsq, cfg->levels, cfg->n_fsq);
    orr_status st = orr_tensor_list_create(&ld->params);
    tok->params = ld->params;
    if (!st && !tok->has_encoder && !tok->has_decoder)
        st = orr_error(ORR_ERR_NOT_FOUND, "tokenizer: the weights hold no encoder.* or decoder.* tensors");
    if (!st) st = cfg->video ? build_video(tok, ld) : build_image(tok, ld);
    tok->n_params = ld->n_params;
    if (st) {
        orr_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return ORR_OK;
}

void orr_tokenizer_free(orr_tokenizer *tok) {
    if (!tok) return;
    orr_tensor_list_free(tok->params);
    free(tok->enc3d);
    free(tok->dec3d);
    free(tok->enc2d);
    free(tok->dec2d);
    free(tok);
}

orr_status orr_tokenizer_load(orr_tokenizer **out, const char *config_json, const char *path,
                              const char *decoder_path) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "tokenizer load: out is NULL");
    *out = NULL;
    if (!path && !decoder_path) return orr_error(ORR_ERR_ARGUMENT, "tokenizer load: no weight file given");
    orr_checkpoint *files[2] = {NULL, NULL};
    const char *paths[2] = {path, decoder_path};
    orr_weights weights;
    orr_weights_init(&weights);
    orr_status st = ORR_OK;
    for (int f = 0; f < 2 && !st; f++) {
        if (!paths[f]) continue;
        st = orr_ckpt_open(paths[f], &files[f]);
        if (!st) st = orr_weights_add_checkpoint(&weights, files[f]);
        if (!st && !config_json) config_json = orr_ckpt_metadata(files[f], "config");
    }
    if (!st && !config_json)
        st = orr_error(ORR_ERR_NOT_FOUND, "tokenizer load: no config given and %s has no 'config' metadata",
                       path ? path : decoder_path);
    tok_config cfg;
    if (!st) st = tok_config_parse(&cfg, config_json);
    tok_loader ld = {.weights = &weights};
    if (!st) st = tok_build(out, &cfg, &ld);
    /* Parameters are views that keep their mappings alive on their own. */
    orr_ckpt_close(files[0]);
    orr_ckpt_close(files[1]);
    return st;
}

orr_status orr_tokenizer_create_random(orr_tokenizer **out, const char *config_json, uint64_t seed) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "tokenizer: out is NULL");
    *out = NULL;
    tok_config cfg;
    orr_status st = tok_config_parse(&cfg, config_json);
    if (st) return st;
    tok_loader ld = {.weights = NULL};
    orr_rng_init(&ld.rng, seed);
    return tok_build(out, &cfg, &ld);
}

void orr_tokenizer_get_info(const orr_tokenizer *tok, orr_tokenizer_info *out) {
    memset(out, 0, sizeof *out);
    if (!tok) return;
    const tok_config *c = &tok->cfg;
    out->kind = c->kind;
    out->pixel_channels = c->in_channels;
    out->latent_channels = c->latent_channels;
    out->spatial_compression = c->spatial_compression;
    out->temporal_compression = c->temporal_compression;
    out->codebook_size = c->discrete ? tok->fsq.codebook_size : 0;
    out->has_encoder = tok->has_encoder;
    out->has_decoder = tok->has_decoder;
    out->n_params = tok->n_params;
}

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */

static int pixel_ndim(const orr_tokenizer *tok) { return tok->cfg.video ? 5 : 4; }

orr_status orr_tokenizer_latent_shape(const orr_tokenizer *tok, int ndim, const int64_t *pixel_shape,
                                      int64_t *latent_shape) {
    if (!tok || !pixel_shape || !latent_shape) return orr_error(ORR_ERR_ARGUMENT, "tokenizer: NULL argument");
    const tok_config *c = &tok->cfg;
    char buf[200];
    if (ndim != pixel_ndim(tok))
        return orr_error(ORR_ERR_SHAPE, "tokenizer encode: pixels have %d dims, the %s tokenizer takes %d", ndim,
                         c->video ? "video" : "image", pixel_ndim(tok));
    const int64_t sc = c->spatial_compression, tc = c->temporal_compression;
    const int64_t t = c->video ? pixel_shape[2] : 1, h = pixel_shape[ndim - 2], w = pixel_shape[ndim - 1];
    bool ok = pixel_shape[0] > 0 && pixel_shape[1] == c->in_channels && t >= 1 && (t - 1) % tc == 0 && h > 0 && w > 0 &&
              h % sc == 0 && w % sc == 0;
    if (!ok) {
        char frames[64] = "";
        if (c->video) snprintf(frames, sizeof frames, "T = 1 + k*%lld and ", (long long)tc);
        return orr_error(ORR_ERR_SHAPE,
                         "tokenizer encode: pixels %s are not [B,%d,%sH,W] with %sH, W multiples of %lld "
                         "(orr_tokenizer_autoencode pads other sizes)",
                         orr_shape_str(ndim, pixel_shape, buf, sizeof buf), c->in_channels, c->video ? "T," : "",
                         frames, (long long)sc);
    }
    latent_shape[0] = pixel_shape[0];
    latent_shape[1] = c->latent_channels;
    if (c->video) latent_shape[2] = 1 + (t - 1) / tc;
    latent_shape[ndim - 2] = h / sc;
    latent_shape[ndim - 1] = w / sc;
    return ORR_OK;
}

orr_status orr_tokenizer_pixel_shape(const orr_tokenizer *tok, int ndim, const int64_t *latent_shape,
                                     int64_t *pixel_shape) {
    if (!tok || !latent_shape || !pixel_shape) return orr_error(ORR_ERR_ARGUMENT, "tokenizer: NULL argument");
    const tok_config *c = &tok->cfg;
    char buf[200];
    bool ok = ndim == pixel_ndim(tok) && latent_shape[1] == c->latent_channels;
    for (int d = 0; ok && d < ndim; d++) ok = latent_shape[d] > 0;
    if (!ok)
        return orr_error(ORR_ERR_SHAPE, "tokenizer decode: latent %s is not [B,%d,%sh,w]",
                         orr_shape_str(ndim, latent_shape, buf, sizeof buf), c->latent_channels, c->video ? "t," : "");
    int64_t t = c->video ? latent_shape[2] : 1, h = latent_shape[ndim - 2], w = latent_shape[ndim - 1];
    for (int level = c->n_levels - 1; level >= 0; level--) {
        bool spatial, temporal;
        tok_config_up_flags(c, level, &spatial, &temporal);
        if (temporal && t > 1) t = 2 * t - 1;
        if (spatial) h *= 2, w *= 2;
    }
    const int64_t p = c->patch_size;
    pixel_shape[0] = latent_shape[0];
    pixel_shape[1] = c->out_channels;
    if (c->video) pixel_shape[2] = p * t - (p - 1);
    pixel_shape[ndim - 2] = h * p;
    pixel_shape[ndim - 1] = w * p;
    return ORR_OK;
}

/* ------------------------------------------------------------------------ */
/* The networks                                                              */

orr_status tok_encode_raw(orr_tokenizer *tok, const orr_tensor *x, orr_tensor **out, orr_tensor_list *trace) {
    orr_tensor *h = NULL;
    *out = NULL;
    orr_status st =
        tok->cfg.video ? tok_encoder3d_run(tok->enc3d, x, &h, trace) : tok_encoder2d_run(tok->enc2d, x, &h, trace);
    if (!st)
        st = tok->cfg.video ? tok_conv3d_run(&tok->quant_conv, h, out) : tok_conv2d_run(&tok->quant_conv2d, h, out);
    orr_tensor_free(h);
    if (!st) st = tok_stage(trace, "quant_conv", *out);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

orr_status tok_decode_raw(orr_tokenizer *tok, const orr_tensor *z, orr_tensor **out, orr_tensor_list *trace) {
    orr_tensor *h = NULL;
    *out = NULL;
    orr_status st =
        tok->cfg.video ? tok_conv3d_run(&tok->post_quant_conv, z, &h) : tok_conv2d_run(&tok->post_quant_conv2d, z, &h);
    if (!st) st = tok_stage(trace, "post_quant_conv", h);
    if (!st)
        st = tok->cfg.video ? tok_decoder3d_run(tok->dec3d, h, out, trace)
                            : tok_decoder2d_run(tok->dec2d, h, out, trace);
    orr_tensor_free(h);
    return st;
}

static orr_status check_output(const char *op, const char *arg, const orr_tensor *t, int ndim, const int64_t *shape) {
    char got[200], want[200];
    orr_status st = orr_check_backend(op, arg, t);
    if (st) return st;
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same)
        return orr_error(ORR_ERR_SHAPE, "%s: %s is %s but must be %s", op, arg, orr_tensor_describe(t, got, sizeof got),
                         orr_shape_str(ndim, shape, want, sizeof want));
    return ORR_OK;
}

static orr_status check_input(const char *op, const char *arg, const orr_tensor *t) {
    orr_status st = orr_check_backend(op, arg, t);
    int64_t bad = 0;
    if (!st) st = orr_count_nonfinite(t, &bad);
    if (!st && bad) st = orr_error(ORR_ERR_NONFINITE, "%s: %s hold %lld NaN/Inf values", op, arg, (long long)bad);
    return st;
}

orr_status orr_tokenizer_encode(orr_tokenizer *tok, orr_tensor *latent, orr_tensor *indices, const orr_tensor *pixels) {
    static const char *op = "tokenizer encode";
    if (!tok || !pixels) return orr_error(ORR_ERR_ARGUMENT, "%s: NULL tokenizer or pixels", op);
    if (!tok->has_encoder) return orr_error(ORR_ERR_UNSUPPORTED, "%s: no encoder weights were loaded", op);
    if (indices && !tok->cfg.discrete)
        return orr_error(ORR_ERR_ARGUMENT, "%s: indices given but a continuous tokenizer makes none", op);
    int64_t lshape[ORR_MAX_DIMS];
    const int nd = pixel_ndim(tok);
    orr_status st = check_input(op, "pixels", pixels);
    if (!st) st = orr_tokenizer_latent_shape(tok, pixels->ndim, pixels->shape, lshape);
    if (!st && latent) st = check_output(op, "latent", latent, nd, lshape);
    if (!st && indices) {
        int64_t ishape[ORR_MAX_DIMS] = {lshape[0]};
        for (int d = 2; d < nd; d++) ishape[d - 1] = lshape[d];
        st = check_output(op, "indices", indices, nd - 1, ishape);
    }
    orr_tensor *x = NULL, *z = NULL;
    if (!st) st = orr_tensor_to(&x, pixels, tok->device);
    if (!st) st = tok_encode_raw(tok, x, &z, NULL);
    if (!st && tok->cfg.discrete)
        st = tok_fsq_quantize(&tok->fsq, z, latent, indices, NULL);
    else if (!st && latent)
        st = orr_copy(latent, z);
    orr_tensor_free(x);
    orr_tensor_free(z);
    return st;
}

static orr_status decode_codes(orr_tokenizer *tok, orr_tensor *pixels, const orr_tensor *latent, const char *op) {
    int64_t pshape[ORR_MAX_DIMS];
    orr_status st = orr_tokenizer_pixel_shape(tok, latent->ndim, latent->shape, pshape);
    if (!st) st = check_output(op, "pixels", pixels, latent->ndim, pshape);
    orr_tensor *z = NULL, *x = NULL;
    if (!st) st = orr_tensor_to(&z, latent, tok->device);
    if (!st) st = tok_decode_raw(tok, z, &x, NULL);
    if (!st) st = orr_copy(pixels, x);
    orr_tensor_free(z);
    orr_tensor_free(x);
    return st;
}

orr_status orr_tokenizer_decode(orr_tokenizer *tok, orr_tensor *pixels, const orr_tensor *latent) {
    static const char *op = "tokenizer decode";
    if (!tok || !pixels || !latent) return orr_error(ORR_ERR_ARGUMENT, "%s: NULL argument", op);
    if (!tok->has_decoder) return orr_error(ORR_ERR_UNSUPPORTED, "%s: no decoder weights were loaded", op);
    orr_status st = check_input(op, "latent", latent);
    return st ? st : decode_codes(tok, pixels, latent, op);
}

orr_status orr_tokenizer_decode_indices(orr_tokenizer *tok, orr_tensor *pixels, const orr_tensor *indices) {
    static const char *op = "tokenizer decode_indices";
    if (!tok || !pixels || !indices) return orr_error(ORR_ERR_ARGUMENT, "%s: NULL argument", op);
    if (!tok->cfg.discrete) return orr_error(ORR_ERR_UNSUPPORTED, "%s: a continuous tokenizer has no indices", op);
    if (!tok->has_decoder) return orr_error(ORR_ERR_UNSUPPORTED, "%s: no decoder weights were loaded", op);
    char buf[200];
    const int nd = pixel_ndim(tok);
    orr_status st = orr_check_backend(op, "indices", indices);
    if (!st && indices->ndim != nd - 1)
        st = orr_error(ORR_ERR_SHAPE, "%s: indices are %s, want [B,%sh,w]", op,
                       orr_tensor_describe(indices, buf, sizeof buf), tok->cfg.video ? "t," : "");
    int64_t cshape[ORR_MAX_DIMS] = {0};
    orr_tensor *codes = NULL;
    if (!st) {
        cshape[0] = indices->shape[0];
        cshape[1] = tok->fsq.n;
        for (int d = 1; d < indices->ndim; d++) cshape[d + 1] = indices->shape[d];
        st = tok_new(&codes, tok->device, nd, cshape);
    }
    if (!st) st = tok_fsq_dequantize(&tok->fsq, indices, codes);
    if (!st) st = decode_codes(tok, pixels, codes, op);
    orr_tensor_free(codes);
    return st;
}
