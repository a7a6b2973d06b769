/* dit_load.c — the DiT's weights: every tensor the config implies, looked
 * up by its official key (or drawn at random), with its shape checked. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dit.h"
#include "weights.h"

/* Small weights are read element by element: widen them to f32 once. */
static orr_status to_f32(orr_tensor **t) {
    if (!*t || (*t)->dtype == ORR_F32) return ORR_OK;
    orr_tensor *c;
    orr_status st = orr_tensor_clone(&c, *t, ORR_F32);
    if (st) return st;
    orr_tensor_free(*t);
    *t = c;
    return ORR_OK;
}

typedef struct build_ctx {
    dit_weight_fn get;
    void *user;
    orr_dit *dit;
} build_ctx;

static orr_status weight(build_ctx *b, orr_tensor **out, bool small, bool is_norm, int ndim, int64_t d0, int64_t d1,
                         const char *fmt, ...) ORR_PRINTF(8, 9);

static orr_status weight(build_ctx *b, orr_tensor **out, bool small, bool is_norm, int ndim, int64_t d0, int64_t d1,
                         const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int64_t shape[2] = {d0, d1};
    orr_status st = b->get(b->user, name, ndim, shape, is_norm, out);
    if (st) return st;
    b->dit->parameters += orr_tensor_numel(*out);
    return small ? to_f32(out) : ORR_OK;
}

static orr_status build_adaln(build_ctx *b, dit_adaln *a, int chunks, const char *prefix) {
    const dit_config *c = &b->dit->cfg;
    int64_t D = c->model_channels;
    if (!c->use_adaln_lora) return weight(b, &a->w1, false, false, 2, chunks * D, D, "%s.adaLN_modulation.1.weight", prefix);
    orr_status st = weight(b, &a->w1, false, false, 2, c->adaln_lora_dim, D, "%s.adaLN_modulation.1.weight", prefix);
    if (!st) st = weight(b, &a->w2, false, false, 2, chunks * D, c->adaln_lora_dim, "%s.adaLN_modulation.2.weight", prefix);
    return st;
}

static orr_status build_subblock(build_ctx *b, dit_subblock *s, int block, int index) {
    const dit_config *c = &b->dit->cfg;
    int64_t D = c->model_channels, dh = D / c->num_heads;
    char p[96];
    snprintf(p, sizeof p, "blocks.block%d.blocks.%d", block, index);
    orr_status st = build_adaln(b, &s->adaln, 3, p);
    if (st) return st;
    if (s->kind == DIT_MLP) {
        st = weight(b, &s->fc1, false, false, 2, c->mlp_hidden, D, "%s.block.layer1.weight", p);
        if (!st) st = weight(b, &s->fc2, false, false, 2, D, c->mlp_hidden, "%s.block.layer2.weight", p);
        return st;
    }
    int64_t kv_in = s->kind == DIT_CROSS_ATTN ? c->crossattn_channels : D;
    st = weight(b, &s->q, false, false, 2, D, D, "%s.block.attn.to_q.0.weight", p);
    if (!st) st = weight(b, &s->q_norm, true, true, 1, dh, 0, "%s.block.attn.to_q.1.weight", p);
    if (!st) st = weight(b, &s->k, false, false, 2, D, kv_in, "%s.block.attn.to_k.0.weight", p);
    if (!st) st = weight(b, &s->k_norm, true, true, 1, dh, 0, "%s.block.attn.to_k.1.weight", p);
    if (!st) st = weight(b, &s->v, false, false, 2, D, kv_in, "%s.block.attn.to_v.0.weight", p);
    if (!st) st = weight(b, &s->out, false, false, 2, D, D, "%s.block.attn.to_out.0.weight", p);
    return st;
}

static void free_adaln(dit_adaln *a) {
    orr_tensor_free(a->w1);
    orr_tensor_free(a->w2);
}

void orr_dit_free(orr_dit *dit) {
    if (!dit) return;
    orr_tensor_free(dit->patch_embed);
    orr_tensor_free(dit->pos_t);
    orr_tensor_free(dit->pos_h);
    orr_tensor_free(dit->pos_w);
    orr_tensor_free(dit->t_fc1);
    orr_tensor_free(dit->t_fc1_bias);
    orr_tensor_free(dit->t_fc2);
    orr_tensor_free(dit->t_fc2_bias);
    orr_tensor_free(dit->affline_norm);
    for (int i = 0; dit->blocks && i < dit->cfg.num_blocks; i++)
        for (int j = 0; j < dit->cfg.n_subblocks; j++) {
            dit_subblock *s = &dit->blocks[i].sub[j];
            free_adaln(&s->adaln);
            orr_tensor *ts[] = {s->q, s->k, s->v, s->out, s->q_norm, s->k_norm, s->fc1, s->fc2};
            for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) orr_tensor_free(ts[k]);
        }
    free(dit->blocks);
    free_adaln(&dit->final_adaln);
    orr_tensor_free(dit->final_linear);
    orr_arena_free(dit->arena);
    if (dit->pos.data) orr_mem_free(ORR_CPU, dit->pos.data, dit->pos.bytes);
    if (dit->kv.data) orr_mem_free(ORR_CPU, dit->kv.data, dit->kv.bytes);
#ifdef ORR_HAVE_CUDA
    orr_dit_stream_free(dit->stream); /* after the block tensors, views of it */
    orr_dit_cuda_release(dit);
#endif
    free(dit);
}

static orr_status build(orr_dit **out, const dit_config *cfg, dit_weight_fn get, void *ctx) {
    const char *network = cfg->video_conditioned ? "VideoExtendGeneralDIT" : "GeneralDIT";
    orr_status st = ORR_OK;
    orr_dit *dit = calloc(1, sizeof *dit);
    if (!dit) return orr_error(ORR_ERR_MEMORY, "dit: out of host memory");
    dit->cfg = *cfg;
    const dit_config *c = &dit->cfg;
    build_ctx b = {get, ctx, dit};
    int64_t D = c->model_channels;
    int64_t features = (int64_t)(c->in_channels + c->concat_padding_mask) * c->patch_temporal * c->patch_spatial *
                       c->patch_spatial;
    if (!st) st = weight(&b, &dit->patch_embed, false, false, 2, D, features, "x_embedder.proj.1.weight");
    if (!st && c->extra_pos_emb) {
        st = weight(&b, &dit->pos_t, true, false, 2, orr_dit_len_t(c), D, "extra_pos_embedder.pos_emb_t");
        if (!st) st = weight(&b, &dit->pos_h, true, false, 2, orr_dit_len_h(c), D, "extra_pos_embedder.pos_emb_h");
        if (!st) st = weight(&b, &dit->pos_w, true, false, 2, orr_dit_len_w(c), D, "extra_pos_embedder.pos_emb_w");
    }
    if (!st) st = weight(&b, &dit->t_fc1, false, false, 2, D, D, "t_embedder.1.linear_1.weight");
    if (!st && c->use_adaln_lora) {
        st = weight(&b, &dit->t_fc2, false, false, 2, 3 * D, D, "t_embedder.1.linear_2.weight");
    } else if (!st) {
        /* without LoRA the timestep MLP keeps its biases */
        st = weight(&b, &dit->t_fc1_bias, true, false, 1, D, 0, "t_embedder.1.linear_1.bias");
        if (!st) st = weight(&b, &dit->t_fc2, false, false, 2, D, D, "t_embedder.1.linear_2.weight");
        if (!st) st = weight(&b, &dit->t_fc2_bias, true, false, 1, D, 0, "t_embedder.1.linear_2.bias");
    }
    if (!st && c->affline_emb_norm) st = weight(&b, &dit->affline_norm, true, true, 1, D, 0, "affline_norm.weight");
    if (!st && c->num_blocks > 0 && !(dit->blocks = calloc((size_t)c->num_blocks, sizeof *dit->blocks)))
        st = orr_error(ORR_ERR_MEMORY, "dit: out of host memory");
    for (int i = 0; !st && i < c->num_blocks; i++)
        for (int j = 0; !st && j < c->n_subblocks; j++) {
            dit->blocks[i].sub[j].kind = c->subblocks[j];
            st = build_subblock(&b, &dit->blocks[i].sub[j], i, j);
        }
    int64_t out_features = (int64_t)c->patch_spatial * c->patch_spatial * c->patch_temporal * c->out_channels;
    if (!st && !c->no_final_layer) st = build_adaln(&b, &dit->final_adaln, 2, "final_layer");
    if (!st && !c->no_final_layer)
        st = weight(&b, &dit->final_linear, false, false, 2, out_features, D, "final_layer.linear.weight");
    if (st) {
        orr_dit_free(dit);
        return orr_error_context(st, "dit (%s): ", network);
    }
    *out = dit;
    return ORR_OK;
}

static orr_status load_weight(void *ctx, const char *name, int ndim, const int64_t *shape, bool is_norm,
                              orr_tensor **out) {
    orr_status st = orr_weights_get(ctx, name, ndim, shape, out);
    if (st) return st;
    orr_dtype d = (*out)->dtype;
    if (d != ORR_F32 && d != ORR_BF16 && d != ORR_F16) {
        orr_tensor_free(*out);
        *out = NULL;
        return orr_error(ORR_ERR_DTYPE, "weights: '%s' is %s; the DiT takes f32, bf16 or f16", name,
                         orr_dtype_name(d));
    }
    return ORR_OK;
}

/* Keys are tried bare and with the "net." prefix of released checkpoints. */
static orr_status load_from(orr_dit **out, const dit_config *cfg, orr_weights *w) {
    orr_status st = orr_weights_add_prefix(w, "");
    if (!st) st = orr_weights_add_prefix(w, "net.");
    if (!st) st = build(out, cfg, load_weight, w);
    return st;
}

orr_status orr_dit_load_config(orr_dit **out, const dit_config *cfg, const orr_safetensors *weights) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "dit: out is NULL");
    *out = NULL;
    if (!weights) return orr_error(ORR_ERR_ARGUMENT, "dit: weights file is NULL");
    orr_weights w;
    orr_weights_init(&w);
    orr_status st = orr_weights_add_file(&w, weights);
    return st ? st : load_from(out, cfg, &w);
}

orr_status orr_dit_load_checkpoint(orr_dit **out, const char *network, const char *config_json,
                                   const orr_checkpoint *weights) {
    dit_config cfg;
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "dit: out is NULL");
    *out = NULL;
    if (!weights) return orr_error(ORR_ERR_ARGUMENT, "dit: checkpoint is NULL");
    orr_weights w;
    orr_weights_init(&w);
    orr_status st = orr_dit_config_parse(&cfg, network, config_json);
    if (!st) st = orr_weights_add_checkpoint(&w, weights);
    return st ? st : load_from(out, &cfg, &w);
}

orr_status orr_dit_load_weights(orr_dit **out, const dit_config *cfg, const orr_weights *weights) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "dit: out is NULL");
    *out = NULL;
    if (!weights) return orr_error(ORR_ERR_ARGUMENT, "dit: weights are NULL");
    return build(out, cfg, load_weight, (void *)weights);
}

orr_status orr_dit_load(orr_dit **out, const char *network, const char *config_json, const orr_safetensors *weights) {
    dit_config cfg;
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "dit: out is NULL");
    *out = NULL;
    orr_status st = orr_dit_config_parse(&cfg, network, config_json);
    return st ? st : orr_dit_load_config(out, &cfg, weights);
}

typedef struct random_ctx {
    orr_rng *rng;
    orr_device device;
    orr_dtype dtype; /* of the matrices (2-D weights other than the position tables) */
} random_ctx;

/* N(0, 0.02) weights (norm weights 1) drawn where they will live: the same
 * Philox numbers on any device, then rounded to the matrices' dtype. */
static orr_status random_weight(void *user, const char *name, int ndim, const int64_t *shape, bool is_norm,
                                orr_tensor **out) {
    random_ctx *r = user;
    orr_tensor *f32 = NULL;
    orr_status st = orr_tensor_empty_on(r->device, &f32, ORR_F32, ndim, shape);
    if (!st) st = is_norm ? orr_fill(f32, 1.0) : orr_rng_normal(r->rng, f32, 0.0f, 0.02f);
    bool matrix = ndim == 2 && strncmp(name, "extra_pos_embedder.", 19) != 0;
    if (!st && matrix && r->dtype != ORR_F32) {
        st = orr_tensor_clone(out, f32, r->dtype);
        orr_tensor_free(f32);
        return st;
    }
    if (st) orr_tensor_free(f32);
    else *out = f32;
    return st;
}

orr_status orr_dit_create_random(orr_dit **out, const char *network, const char *config_json, uint64_t seed) {
    dit_config cfg;
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "dit: out is NULL");
    *out = NULL;
    orr_status st = orr_dit_config_parse(&cfg, network, config_json);
    if (st) return st;
    orr_rng rng;
    orr_rng_init(&rng, seed);
    return orr_dit_create_random_config(out, &cfg, &rng);
}

orr_status orr_dit_create_random_config(orr_dit **out, const dit_config *cfg, orr_rng *rng) {
    return orr_dit_create_random_on(out, cfg, rng, ORR_CPU, ORR_F32);
}

orr_status orr_dit_create_random_on(orr_dit **out, const dit_config *cfg, orr_rng *rng, orr_device device,
                                    orr_dtype dtype) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "dit: out is NULL");
    *out = NULL;
    random_ctx r = {rng, device, dtype};
    orr_status st = build(out, cfg, random_weight, &r);
    if (!st) (*out)->device = device, (*out)->dtype = dtype, (*out)->mode = ORR_DIT_RESIDENT;
    return st;
}

orr_status orr_dit_get_info(const orr_dit *dit, orr_dit_info *out) {
    if (!dit || !out) return orr_error(ORR_ERR_ARGUMENT, "dit_get_info: NULL argument");
    const dit_config *c = &dit->cfg;
    *out = (orr_dit_info){
        .video_conditioned = c->video_conditioned,
        .latent_channels = c->in_channels - c->video_conditioned,
        .out_channels = c->out_channels,
        .model_channels = c->model_channels,
        .num_blocks = c->num_blocks,
        .num_heads = c->num_heads,
        .head_dim = c->model_channels / c->num_heads,
        .patch_spatial = c->patch_spatial,
        .patch_temporal = c->patch_temporal,
        .crossattn_channels = c->crossattn_channels,
        .max_t = orr_dit_max_tp(c) * c->patch_temporal,
        .max_h = orr_dit_len_h(c) * c->patch_spatial,
        .max_w = orr_dit_len_w(c) * c->patch_spatial,
        .parameters = dit->parameters,
    };
    return ORR_OK;
}
