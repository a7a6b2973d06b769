/* tokenizer_verify.c — the `orrery verify` runners of the four tokenizer
 * classes, following the golden fixtures' protocol (../shared/golden):
 *   continuous: latent = encode(x); recon = decode(latent); recon_z = decode(z)
 *   discrete:   indices, codes = encode(x); recon = decode_code(indices);
 *               recon_rand = decode_code(indices_rand)
 * with the stage outputs of encode and of the first decode as intermediates
 * (named by module, as the fixture's hooks named them). The config comes
 * from the fixture's `config` metadata, so any shape and size of the same
 * class runs. */
#include <string.h>

#include "tokenizer.h"

static const char *fixture_config(const orr_fixture *f) {
    const orr_safetensors *files[4] = {f->inputs, f->weights, f->outputs, f->intermediates};
    for (int i = 0; i < 4; i++) {
        const char *c = files[i] ? orr_st_metadata(files[i], "config") : NULL;
        if (c) return c;
    }
    return NULL;
}

static orr_status load_fixture(const orr_fixture *f, orr_tokenizer_kind kind, orr_tokenizer **out) {
    static const char *names[] = {"CV", "DV", "CI", "DI"};
    const char *json = fixture_config(f);
    if (!json) return orr_error(ORR_ERR_NOT_FOUND, "tokenizer verify: %s has no 'config' metadata", f->dir);
    tok_config cfg;
    orr_status st = tok_config_parse(&cfg, json);
    if (st) return st;
    if (cfg.kind != kind)
        return orr_error(ORR_ERR_FORMAT, "tokenizer verify: the config names a %s tokenizer, the network a %s one",
                         names[cfg.kind], names[kind]);
    orr_weights weights;
    orr_weights_init(&weights);
    st = orr_weights_add_file(&weights, f->weights);
    tok_loader ld = {.weights = &weights};
    if (!st) st = tok_build(out, &cfg, &ld);
    if (!st && (!(*out)->has_encoder || !(*out)->has_decoder))
        st = orr_error(ORR_ERR_NOT_FOUND, "tokenizer verify: %s/weights.safetensors lacks the %s", f->dir,
                       (*out)->has_encoder ? "decoder" : "encoder");
    return st;
}

/* The pixel input: "video" or "image". */
static orr_status pixels_input(const orr_fixture *f, const orr_tokenizer *tok, orr_tensor **out) {
    const char *name = tok->cfg.video ? "video" : "image";
    if (!orr_st_has(f->inputs, name))
        return orr_error(ORR_ERR_NOT_FOUND, "tokenizer verify: inputs.safetensors has no '%s'", name);
    orr_status st = orr_st_get(f->inputs, name, out);
    int64_t latent[ORR_MAX_DIMS];
    if (!st) st = orr_tokenizer_latent_shape(tok, (*out)->ndim, (*out)->shape, latent);
    return st;
}

/* Hands t to the list (which owns it from then on, also on failure). */
static orr_status give(orr_tensor_list *list, const char *name, orr_tensor **t) {
    orr_tensor *owned = *t;
    *t = NULL;
    return orr_tensor_list_add(list, name, owned);
}

/* A fresh tensor of the shape the fixture's output `name` has. */
static orr_status output_like(const orr_fixture *f, const char *name, orr_dtype dtype, orr_tensor **out) {
    orr_dtype file_dtype;
    int ndim;
    int64_t shape[ORR_MAX_DIMS];
    orr_status st = orr_st_info(f->outputs, name, &file_dtype, &ndim, shape);
    if (st) return orr_error_context(st, "tokenizer verify: outputs.safetensors: ");
    return orr_tensor_empty(out, dtype, ndim, shape);
}

static orr_status run_continuous(const orr_fixture *f, orr_tensor_list *results, orr_tokenizer_kind kind) {
    orr_tokenizer *tok = NULL;
    orr_tensor *x = NULL, *z = NULL, *latent = NULL, *recon = NULL, *recon_z = NULL;
    orr_status st = load_fixture(f, kind, &tok);
    if (!st) st = pixels_input(f, tok, &x);
    if (!st) st = tok_encode_raw(tok, x, &latent, results);
    if (!st) st = tok_decode_raw(tok, latent, &recon, results);
    if (!st) st = give(results, "latent", &latent);
    if (!st) st = give(results, "recon", &recon);
    /* recon_z through the public API, which checks the latent it is given. */
    if (!st && orr_st_has(f->inputs, "z")) {
        st = orr_st_get(f->inputs, "z", &z);
        if (!st) st = output_like(f, "recon_z", ORR_F32, &recon_z);
        if (!st) st = orr_tokenizer_decode(tok, recon_z, z);
        if (!st) st = give(results, "recon_z", &recon_z);
    }
    orr_tensor_free(x);
    orr_tensor_free(z);
    orr_tensor_free(latent);
    orr_tensor_free(recon);
    orr_tensor_free(recon_z);
    orr_tokenizer_free(tok);
    return st;
}

static orr_status run_discrete(const orr_fixture *f, orr_tensor_list *results, orr_tokenizer_kind kind) {
    orr_tokenizer *tok = NULL;
    orr_tensor *x = NULL, *z = NULL, *codes = NULL, *indices = NULL, *bounded = NULL, *dequant = NULL;
    orr_tensor *recon = NULL, *rand_idx = NULL, *recon_rand = NULL;
    orr_status st = load_fixture(f, kind, &tok);
    if (!st) st = pixels_input(f, tok, &x);
    if (!st) st = tok_encode_raw(tok, x, &z, results);
    if (!st) st = tok_new(&codes, z->device, z->ndim, z->shape);
    if (!st) st = output_like(f, "indices", ORR_I32, &indices);
    if (!st) {
        /* fsq_bounded is channels-last: [B, ..., d]. */
        int64_t shape[ORR_MAX_DIMS];
        shape[0] = z->shape[0];
        for (int d = 2; d < z->ndim; d++) shape[d - 1] = z->shape[d];
        shape[z->ndim - 1] = z->shape[1];
        st = tok_new(&bounded, z->device, z->ndim, shape);
    }
    if (!st) st = tok_fsq_quantize(&tok->fsq, z, codes, indices, bounded);
    /* recon decodes the indices, as the official decode_code does. */
    if (!st) st = tok_new(&dequant, codes->device, codes->ndim, codes->shape);
    if (!st) st = tok_fsq_dequantize(&tok->fsq, indices, dequant);
    if (!st) st = tok_decode_raw(tok, dequant, &recon, results);
    if (!st) st = give(results, "codes", &codes);
    if (!st) st = give(results, "indices", &indices);
    if (!st) st = give(results, "fsq_bounded", &bounded);
    if (!st) st = give(results, "recon", &recon);
    if (!st && orr_st_has(f->inputs, "indices_rand")) {
        st = orr_st_get(f->inputs, "indices_rand", &rand_idx);
        if (!st) st = output_like(f, "recon_rand", ORR_F32, &recon_rand);
        if (!st) st = orr_tokenizer_decode_indices(tok, recon_rand, rand_idx);
        if (!st) st = give(results, "recon_rand", &recon_rand);
    }
    orr_tensor *owned[] = {x, z, codes, indices, bounded, dequant, recon, rand_idx, recon_rand};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) orr_tensor_free(owned[i]);
    orr_tokenizer_free(tok);
    return st;
}

orr_status tok_verify_continuous_video(const orr_fixture *fixture, orr_tensor_list *results) {
    return run_continuous(fixture, results, ORR_TOKENIZER_CV);
}

orr_status tok_verify_discrete_video(const orr_fixture *fixture, orr_tensor_list *results) {
    return run_discrete(fixture, results, ORR_TOKENIZER_DV);
}

orr_status tok_verify_continuous_image(const orr_fixture *fixture, orr_tensor_list *results) {
    return run_continuous(fixture, results, ORR_TOKENIZER_CI);
}

orr_status tok_verify_discrete_image(const orr_fixture *fixture, orr_tensor_list *results) {
    return run_discrete(fixture, results, ORR_TOKENIZER_DI);
}
