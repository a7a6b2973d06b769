/* transfer_load.c — building a MultiControlNet: the base DiT and the
 * control branches (GeneralDITEncoder, general_dit_ctrl_enc.py) from their
 * weights or at random, with the branch's constructor arguments. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transfer.h"
#include "weights.h"

static const char *const kind_names[ORR_CONTROL_KIND_COUNT] = {"vis",      "edge",    "depth", "seg",
                                                               "keypoint", "upscale", "hdmap", "lidar"};

const char *orr_control_kind_name(orr_control_kind kind) {
    return (unsigned)kind < ORR_CONTROL_KIND_COUNT ? kind_names[kind] : NULL;
}

orr_status orr_control_kind_from_name(const char *name, orr_control_kind *out) {
    for (int k = 0; name && k < ORR_CONTROL_KIND_COUNT; k++)
        if (!strcmp(name, kind_names[k])) {
            *out = (orr_control_kind)k;
            return ORR_OK;
        }
    return orr_error(ORR_ERR_NOT_FOUND,
                     "control: unknown modality '%s' (vis, edge, depth, seg, keypoint, upscale, hdmap, lidar)",
                     name ? name : "(null)");
}

/* ---- the branch's constructor arguments ------------------------------------ */

orr_status orr_transfer_branch_config(dit_config *cfg, int *hint_channels, const char *config_json) {
    orr_status st = orr_dit_config_parse(cfg, "VideoExtendGeneralDIT", config_json);
    if (st) return orr_error_context(st, "transfer control config: ");
    orr_json *doc;
    if ((st = orr_json_parse(config_json, strlen(config_json), NULL, &doc))) return st;
    const orr_json_value *root = orr_json_root(doc);
    const orr_json_value *hc = orr_json_get(root, "hint_channels");
    const orr_json_value *mask = orr_json_get(root, "layer_mask");
    const orr_json_value *ncb = orr_json_get(root, "num_control_blocks");
    int64_t v = 16; /* GeneralDITEncoder's default */
    if (hc && (!orr_json_int64(hc, &v) || v < 1 || v > 1 << 20))
        st = orr_error(ORR_ERR_FORMAT, "transfer control config: 'hint_channels' must be a positive integer");
    *hint_channels = (int)v;
    /* the blocks built are those whose layer_mask entry is false, and the
     * forward feeds the first layer_mask.index(True) of them */
    int blocks = -1;
    if (!st && ncb && orr_json_type_of(ncb) != ORR_JSON_NULL) {
        if (!orr_json_int64(ncb, &v) || v < 1 || v > cfg->num_blocks)
            st = orr_error(ORR_ERR_FORMAT, "transfer control config: 'num_control_blocks' must be in [1, %d]",
                           cfg->num_blocks);
        blocks = (int)v;
    } else if (!st && mask && orr_json_type_of(mask) != ORR_JSON_NULL) {
        size_t n = orr_json_length(mask);
        if (orr_json_type_of(mask) != ORR_JSON_ARRAY || n != (size_t)cfg->num_blocks)
            st = orr_error(ORR_ERR_FORMAT,
                           "transfer control config: 'layer_mask' must be an array of %d booleans (one per block)",
                           cfg->num_blocks);
        for (size_t i = 0; !st && i < n; i++) {
            const orr_json_value *e = orr_json_at(mask, i);
            if (orr_json_type_of(e) != ORR_JSON_BOOL)
                st = orr_error(ORR_ERR_FORMAT, "transfer control config: 'layer_mask'[%zu] is not a boolean", i);
            else if (orr_json_bool(e) && blocks < 0)
                blocks = (int)i;
            else if (!orr_json_bool(e) && blocks >= 0)
                st = orr_error(ORR_ERR_UNSUPPORTED,
                               "transfer control config: 'layer_mask' keeps block %zu after a masked one (only a "
                               "prefix of the blocks can be copied)",
                               i);
        }
        if (!st && blocks < 0)
            st = orr_error(ORR_ERR_FORMAT, "transfer control config: 'layer_mask' masks no block (the official "
                                           "forward takes layer_mask.index(True) control blocks)");
    } else if (!st) {
        st = orr_error(ORR_ERR_FORMAT, "transfer control config: neither 'layer_mask' nor 'num_control_blocks' "
                                       "says how many blocks the branch copies");
    }
    if (!st && blocks < 1)
        st = orr_error(ORR_ERR_FORMAT, "transfer control config: the branch copies no block (layer_mask[0] is true)");
    if (!st && !cfg->video_conditioned)
        st = orr_error(ORR_ERR_FORMAT, "transfer control config: the branch must be video-conditioned");
    cfg->num_blocks = blocks;
    cfg->no_final_layer = true;
    orr_json_free(doc);
    return st;
}

/* ---- weights --------------------------------------------------------------------- */

typedef orr_status (*tensor_fn)(void *ctx, orr_tensor **out, int ndim, const int64_t *shape, const char *name);

static orr_status lookup(void *ctx, orr_tensor **out, int ndim, const int64_t *shape, const char *name) {
    orr_status st = orr_weights_get(ctx, name, ndim, shape, out);
    if (st || (*out)->dtype == ORR_F32) return st;
    /* the small hint MLP and projections are read as float32 */
    orr_tensor *c;
    st = orr_tensor_clone(&c, *out, ORR_F32);
    orr_tensor_free(*out);
    *out = st ? NULL : c;
    return st;
}

static orr_status draw(void *ctx, orr_tensor **out, int ndim, const int64_t *shape, const char *name) {
    (void)name;
    orr_status st = orr_tensor_empty(out, ORR_F32, ndim, shape);
    if (!st) st = orr_rng_normal(ctx, *out, 0.0f, 0.02f);
    return st;
}

static orr_status branch_tensor(transfer_branch *br, tensor_fn get, void *ctx, orr_tensor **out, int ndim, int64_t d0,
                                int64_t d1, const char *fmt, ...) ORR_PRINTF(8, 9);

static orr_status branch_tensor(transfer_branch *br, tensor_fn get, void *ctx, orr_tensor **out, int ndim, int64_t d0,
                                int64_t d1, const char *fmt, ...) {
    char name[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    orr_status st = get(ctx, out, ndim, (int64_t[]){d0, d1}, name);
    if (!st) br->parameters += orr_tensor_numel(*out);
    return st;
}

/* The hint path and the zero projections on top of the branch's DiT. */
static orr_status build_extras(transfer_branch *br, tensor_fn get, void *ctx) {
    const dit_config *c = &br->dit->cfg;
    int64_t D = c->model_channels;
    int64_t hint_in =
        (int64_t)(br->hint_channels + c->concat_padding_mask) * c->patch_temporal * c->patch_spatial * c->patch_spatial;
    orr_status st = branch_tensor(br, get, ctx, &br->hint_embed, 2, D, hint_in, "x_embedder2.proj.1.weight");
    static const int widths[TRANSFER_HINT_LAYERS + 1] = {0, 16, 16, 32, 32, 96, 96, 256, 0};
    for (int i = 0; !st && i < TRANSFER_HINT_LAYERS; i++) {
        int64_t in = i ? widths[i] : D, out = i == TRANSFER_HINT_LAYERS - 1 ? D : widths[i + 1];
        st = branch_tensor(br, get, ctx, &br->hint_w[i], 2, out, in, "input_hint_block.%d.weight", 2 * i);
        if (!st) st = branch_tensor(br, get, ctx, &br->hint_b[i], 1, out, 0, "input_hint_block.%d.bias", 2 * i);
    }
    int n = c->num_blocks;
    if (!st && (!(br->zero_w = calloc((size_t)n, sizeof *br->zero_w)) ||
                !(br->zero_b = calloc((size_t)n, sizeof *br->zero_b))))
        st = orr_error(ORR_ERR_MEMORY, "transfer: out of host memory");
    for (int k = 0; !st && k < n; k++) {
        st = branch_tensor(br, get, ctx, &br->zero_w[k], 2, D, D, "zero_blocks.block%d.weight", k);
        if (!st) st = branch_tensor(br, get, ctx, &br->zero_b[k], 1, D, 0, "zero_blocks.block%d.bias", k);
    }
    return st;
}

static void free_branch(transfer_branch *br) {
    int n = br->dit ? br->dit->cfg.num_blocks : 0;
    orr_dit_free(br->dit);
    orr_tensor_free(br->hint_embed);
    for (int i = 0; i < TRANSFER_HINT_LAYERS; i++) {
        orr_tensor_free(br->hint_w[i]);
        orr_tensor_free(br->hint_b[i]);
    }
    for (int k = 0; k < n && br->zero_w; k++) orr_tensor_free(br->zero_w[k]);
    for (int k = 0; k < n && br->zero_b; k++) orr_tensor_free(br->zero_b[k]);
    free(br->zero_w);
    free(br->zero_b);
    memset(br, 0, sizeof *br);
}

void orr_transfer_free(orr_transfer *tr) {
    if (!tr) return;
    orr_dit_free(tr->base);
    for (int i = 0; i < tr->n_branches; i++) free_branch(&tr->branches[i]);
    free(tr);
}

orr_dit *orr_transfer_base(orr_transfer *tr) { return tr ? tr->base : NULL; }

static orr_status parse_base(dit_config *cfg, const char *json) {
    orr_status st = orr_dit_config_parse(cfg, "VideoExtendGeneralDIT", json);
    return st ? orr_error_context(st, "transfer base config: ") : ORR_OK;
}

orr_status orr_transfer_create(orr_transfer **out, const char *base_config_json, const orr_safetensors *base_weights) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "transfer_create: out is NULL");
    *out = NULL;
    if (!base_weights) return orr_error(ORR_ERR_ARGUMENT, "transfer_create: base_weights is NULL");
    dit_config cfg;
    orr_status st = parse_base(&cfg, base_config_json);
    if (st) return st;
    orr_weights w;
    orr_weights_init(&w);
    st = orr_weights_add_file(&w, base_weights);
    /* a pipeline state dict keeps the base under base_model.net. beside the
     * branch's own net.* keys: then only that prefix is the base */
    bool pipeline = !st && orr_weights_has_prefix(&w, "base_model.net.");
    if (!st) st = orr_weights_add_prefix(&w, pipeline ? "base_model.net." : "");
    if (!st && !pipeline) st = orr_weights_add_prefix(&w, "net.");
    orr_transfer *tr = calloc(1, sizeof *tr);
    if (!st && !tr) st = orr_error(ORR_ERR_MEMORY, "transfer: out of host memory");
    if (!st) st = orr_dit_load_weights(&tr->base, &cfg, &w);
    if (st) {
        orr_transfer_free(tr);
        return orr_error_context(st, "transfer base: ");
    }
    *out = tr;
    return ORR_OK;
}

orr_status orr_transfer_create_random(orr_transfer **out, const char *base_config_json, uint64_t seed) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "transfer_create_random: out is NULL");
    *out = NULL;
    dit_config cfg;
    orr_status st = parse_base(&cfg, base_config_json);
    if (st) return st;
    orr_transfer *tr = calloc(1, sizeof *tr);
    if (!tr) return orr_error(ORR_ERR_MEMORY, "transfer: out of host memory");
    orr_rng rng;
    orr_rng_init(&rng, seed);
    if ((st = orr_dit_create_random_config(&tr->base, &cfg, &rng))) {
        orr_transfer_free(tr);
        return st;
    }
    *out = tr;
    return ORR_OK;
}

/* The branch must fit the base: same width, heads, patches and text. */
static orr_status check_fits(const orr_transfer *tr, const dit_config *c) {
    const dit_config *b = &tr->base->cfg;
    if (c->model_channels != b->model_channels || c->num_heads != b->num_heads ||
        c->patch_spatial != b->patch_spatial || c->patch_temporal != b->patch_temporal ||
        c->crossattn_channels != b->crossattn_channels || c->in_channels != b->in_channels)
        return orr_error(ORR_ERR_FORMAT,
                         "transfer_add_control: the branch (model_channels %d, num_heads %d, patch %dx%d, "
                         "crossattn %d, in_channels %d) does not match the base (%d, %d, %dx%d, %d, %d)",
                         c->model_channels, c->num_heads, c->patch_temporal, c->patch_spatial, c->crossattn_channels,
                         c->in_channels, b->model_channels, b->num_heads, b->patch_temporal, b->patch_spatial,
                         b->crossattn_channels, b->in_channels);
    if (c->num_blocks > b->num_blocks)
        return orr_error(ORR_ERR_FORMAT, "transfer_add_control: the branch copies %d blocks but the base has %d",
                         c->num_blocks, b->num_blocks);
    return ORR_OK;
}

static orr_status add_control(orr_transfer *tr, orr_control_kind kind, const char *config_json,
                              const orr_safetensors *weights, const char *prefix, orr_rng *rng) {
    if (!tr) return orr_error(ORR_ERR_ARGUMENT, "transfer_add_control: tr is NULL");
    if (!config_json) return orr_error(ORR_ERR_ARGUMENT, "transfer_add_control: config_json is NULL");
    if (!orr_control_kind_name(kind))
        return orr_error(ORR_ERR_ARGUMENT, "transfer_add_control: kind %d is invalid", kind);
    if (tr->n_branches == ORR_TRANSFER_MAX_CONTROLS)
        return orr_error(ORR_ERR_ARGUMENT, "transfer_add_control: already %d branches", ORR_TRANSFER_MAX_CONTROLS);
    transfer_branch br = {.kind = kind};
    dit_config cfg;
    orr_status st = orr_transfer_branch_config(&cfg, &br.hint_channels, config_json);
    if (!st) st = check_fits(tr, &cfg);
    if (st) return st;
    orr_weights w;
    if (weights) {
        orr_weights_init(&w);
        st = orr_weights_add_file(&w, weights);
        if (!st && !prefix) prefix = orr_weights_has_prefix(&w, "net.") ? "net." : "";
        if (!st) st = orr_weights_add_prefix(&w, prefix);
        if (!st) st = orr_dit_load_weights(&br.dit, &cfg, &w);
        if (!st) br.parameters = br.dit->parameters;
        if (!st) st = build_extras(&br, lookup, &w);
    } else {
        st = orr_dit_create_random_config(&br.dit, &cfg, rng);
        if (!st) br.parameters = br.dit->parameters;
        if (!st) st = build_extras(&br, draw, rng);
    }
    if (st) {
        free_branch(&br);
        return orr_error_context(st, "transfer control '%s': ", kind_names[kind]);
    }
    tr->branches[tr->n_branches++] = br;
    return ORR_OK;
}

orr_status orr_transfer_add_control(orr_transfer *tr, orr_control_kind kind, const char *config_json,
                                    const orr_safetensors *weights, const char *prefix) {
    if (!weights) return orr_error(ORR_ERR_ARGUMENT, "transfer_add_control: weights is NULL");
    return add_control(tr, kind, config_json, weights, prefix, NULL);
}

orr_status orr_transfer_add_control_random(orr_transfer *tr, orr_control_kind kind, const char *config_json,
                                           uint64_t seed) {
    orr_rng rng;
    orr_rng_init(&rng, seed);
    return add_control(tr, kind, config_json, NULL, NULL, &rng);
}

orr_status orr_transfer_get_info(const orr_transfer *tr, orr_transfer_info *out) {
    if (!tr || !out) return orr_error(ORR_ERR_ARGUMENT, "transfer_get_info: NULL argument");
    memset(out, 0, sizeof *out);
    orr_status st = orr_dit_get_info(tr->base, &out->base);
    if (st) return st;
    out->controls = tr->n_branches;
    out->parameters = out->base.parameters;
    for (int i = 0; i < tr->n_branches; i++) {
        const transfer_branch *br = &tr->branches[i];
        out->kind[i] = br->kind;
        out->control_blocks[i] = br->dit->cfg.num_blocks;
        out->hint_channels[i] = br->hint_channels;
        out->control_parameters[i] = br->parameters;
        out->parameters += br->parameters;
    }
    return ORR_OK;
}

/* ---- placement ------------------------------------------------------------------- */

/* A branch's own weights beside its DiT; `matrix` marks the GEMM weights
 * (the placement's dtype; the biases stay f32). Returns the count, filling
 * the arrays when they are not NULL. */
static int extra_slots(transfer_branch *br, orr_tensor ***slots, bool *matrix) {
    int n = 0;
#define EXTRA(ptr, is_matrix)                                                                                          \
    do {                                                                                                               \
        if (slots) slots[n] = (ptr), matrix[n] = (is_matrix);                                                          \
        n++;                                                                                                           \
    } while (0)
    EXTRA(&br->hint_embed, true);
    for (int i = 0; i < TRANSFER_HINT_LAYERS; i++) {
        EXTRA(&br->hint_w[i], true);
        EXTRA(&br->hint_b[i], false);
    }
    for (int k = 0; k < br->dit->cfg.num_blocks; k++) {
        EXTRA(&br->zero_w[k], true);
        EXTRA(&br->zero_b[k], false);
    }
#undef EXTRA
    return n;
}

/* Copies of every branch's own weights placed as asked, in the order of
 * extra_slots over the branches; *out holds the *count of them. */
static orr_status place_extras(orr_transfer *tr, orr_device device, orr_dtype dtype, orr_tensor ***out, int *count) {
    int total = 0;
    for (int i = 0; i < tr->n_branches; i++) total += extra_slots(&tr->branches[i], NULL, NULL);
    *count = total;
    orr_tensor ***slots = calloc((size_t)(total ? total : 1), sizeof *slots);
    bool *matrix = calloc((size_t)(total ? total : 1), sizeof *matrix);
    orr_tensor **fresh = calloc((size_t)(total ? total : 1), sizeof *fresh);
    orr_status st =
        slots && matrix && fresh ? ORR_OK : orr_error(ORR_ERR_MEMORY, "transfer_to_device: out of host memory");
    for (int i = 0, at = 0; !st && i < tr->n_branches; i++)
        at += extra_slots(&tr->branches[i], slots + at, matrix + at);
    for (int k = 0; !st && k < total; k++) {
        const orr_tensor *old = *slots[k];
        st = orr_tensor_empty_on(device, &fresh[k], matrix[k] ? dtype : ORR_F32, old->ndim, old->shape);
        if (!st) st = orr_copy(fresh[k], old);
    }
    if (st && fresh)
        for (int k = 0; k < total; k++) orr_tensor_free(fresh[k]);
    if (st) {
        free(fresh);
        fresh = NULL;
    }
    free(slots);
    free(matrix);
    *out = fresh;
    return st;
}

typedef struct placement {
    orr_device device;
    orr_dtype dtype;
    orr_dit_memory_mode mode;
} placement;

orr_status orr_transfer_to_device(orr_transfer *tr, orr_device device, orr_dtype dtype, orr_dit_memory_mode mode) {
    if (!tr) return orr_error(ORR_ERR_ARGUMENT, "transfer_to_device: tr is NULL");
    int nets = 1 + tr->n_branches;
    orr_dit *dits[1 + ORR_TRANSFER_MAX_CONTROLS];
    placement was[1 + ORR_TRANSFER_MAX_CONTROLS];
    dits[0] = tr->base;
    for (int i = 0; i < tr->n_branches; i++) dits[1 + i] = tr->branches[i].dit;
    for (int i = 0; i < nets; i++) was[i] = (placement){dits[i]->device, dits[i]->dtype, dits[i]->mode};
    /* the base first: it checks the placement before anything has moved */
    orr_status st = orr_dit_to_device(tr->base, device, dtype, mode);
    if (st) return orr_error_context(st, "transfer_to_device: the base: ");
    orr_tensor **fresh = NULL;
    int count = 0, moved = 1; /* networks placed so far */
    st = place_extras(tr, device, dtype, &fresh, &count);
    if (st) orr_error_context(st, "transfer_to_device: the controls' hint paths and projections: ");
    while (!st && moved < nets) {
        if ((st = orr_dit_to_device(dits[moved], device, dtype, mode)))
            orr_error_context(st, "transfer_to_device: control %d (%s): ", moved - 1,
                              orr_control_kind_name(tr->branches[moved - 1].kind));
        else
            moved++;
    }
    if (st) {
        /* back where they were: a narrower dtype has rounded the numbers */
        for (int i = 0; i < moved; i++) orr_dit_to_device(dits[i], was[i].device, was[i].dtype, was[i].mode);
        for (int k = 0; fresh && k < count; k++) orr_tensor_free(fresh[k]);
        free(fresh);
        return st;
    }
    for (int i = 0, at = 0; i < tr->n_branches; i++) {
        transfer_branch *br = &tr->branches[i];
        orr_tensor **slots[2 * TRANSFER_HINT_LAYERS + 1 + 2 * br->dit->cfg.num_blocks];
        bool matrix[2 * TRANSFER_HINT_LAYERS + 1 + 2 * br->dit->cfg.num_blocks];
        int n = extra_slots(br, slots, matrix);
        for (int k = 0; k < n; k++, at++) {
            orr_tensor_free(*slots[k]);
            *slots[k] = fresh[at];
        }
    }
    free(fresh);
    return ORR_OK;
}

orr_device orr_transfer_device(const orr_transfer *tr) { return tr ? tr->base->device : ORR_CPU; }
