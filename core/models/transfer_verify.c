/* transfer_verify.c — `orrery verify` runner for the Transfer1 network
 * fixture (transfer_ctrl): the multi-control forward as the official
 * get_x0_fn_from_batch wires it, the base alone, the single-control path,
 * and the weight maps of load_spatial_temporal_weights and
 * resize_control_weight_map (bf16 as the official code, and float32 for
 * the *_f32 intermediates).
 *
 * Fixture layout: base_model.net.* is the base, net.hint_encoders.<i>.* the
 * branch of modality i ("modalities" metadata); control_input_multi holds
 * the control latents [B, N, C, T, H, W]; control_weight_token is what the
 * network multiplies; weight_map.<i>.b<b> are the maps of modality i for
 * batch item b. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transfer.h"

static const char *metadata(const orr_fixture *fx, const char *key) {
    const orr_safetensors *files[] = {fx->inputs, fx->weights, fx->outputs};
    for (int i = 0; i < 3; i++) {
        const char *v = files[i] ? orr_st_metadata(files[i], key) : NULL;
        if (v) return v;
    }
    return NULL;
}

/* The modalities, in the fixture's order, from its JSON list. */
static orr_status fixture_kinds(const orr_fixture *fx, orr_control_kind *kinds, int *n) {
    const char *json = metadata(fx, "modalities");
    if (!json) return orr_error(ORR_ERR_FORMAT, "verify transfer: no 'modalities' metadata");
    orr_json *doc;
    orr_status st = orr_json_parse(json, strlen(json), NULL, &doc);
    if (st) return st;
    const orr_json_value *list = orr_json_root(doc);
    *n = (int)orr_json_length(list);
    if (orr_json_type_of(list) != ORR_JSON_ARRAY || *n < 1 || *n > ORR_TRANSFER_MAX_CONTROLS)
        st = orr_error(ORR_ERR_FORMAT, "verify transfer: 'modalities' is not a list of 1 to %d names",
                       ORR_TRANSFER_MAX_CONTROLS);
    for (int i = 0; !st && i < *n; i++)
        st = orr_control_kind_from_name(orr_json_string(orr_json_at(list, i), NULL), &kinds[i]);
    orr_json_free(doc);
    return st;
}

/* A MultiControlNet of the fixture's base and its first n branches. */
orr_status orr_transfer_fixture_network(const orr_fixture *fx, int n, orr_transfer **out) {
    const char *base = metadata(fx, "base_config"), *ctrl = metadata(fx, "ctrl_config");
    if (!base || !ctrl) return orr_error(ORR_ERR_FORMAT, "verify transfer: no 'base_config' / 'ctrl_config' metadata");
    orr_control_kind kinds[ORR_TRANSFER_MAX_CONTROLS];
    int count = 0;
    orr_status st = fixture_kinds(fx, kinds, &count);
    if (!st && (n < 0 || n > count)) n = count;
    if (!st) st = orr_transfer_create(out, base, fx->weights);
    for (int i = 0; !st && i < n; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "net.hint_encoders.%d.", i);
        st = orr_transfer_add_control(*out, kinds[i], ctrl, fx->weights, prefix);
    }
    if (st) {
        orr_transfer_free(*out);
        *out = NULL;
    }
    return st;
}

typedef struct inputs {
    orr_tensor *t[8];
    orr_transfer_inputs in;
} inputs;

static orr_status read_inputs(const orr_fixture *fx, inputs *s) {
    static const char *names[] = {"x",
                                  "timesteps",
                                  "crossattn_emb",
                                  "fps",
                                  "padding_mask",
                                  "condition_video_input_mask",
                                  "control_input_multi",
                                  "control_weight_token"};
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++) {
        orr_status st = orr_st_get(fx->inputs, names[i], &s->t[i]);
        if (st) return st;
    }
    s->in.net = (orr_dit_inputs){s->t[0], s->t[1], s->t[2], s->t[3], s->t[4], s->t[5]};
    s->in.latent_hint = s->t[6];
    s->in.control_weight = s->t[7];
    return ORR_OK;
}

static void free_inputs(inputs *s) {
    for (int i = 0; i < 8; i++) orr_tensor_free(s->t[i]);
}

/* Runs net on the inputs (latent_hint and weights narrowed to its
 * branches) and adds the output as `name`. */
static orr_status forward_into(orr_transfer *net, const inputs *s, const char *name, orr_tensor_list *results,
                               orr_tensor_list *trace) {
    const orr_tensor *x = s->in.net.x;
    orr_tensor *out = NULL, *hint = NULL, *w = NULL;
    int n = net->n_branches;
    orr_status st = orr_tensor_empty(
        &out, ORR_F32, 5, (int64_t[]){x->shape[0], net->base->cfg.out_channels, x->shape[2], x->shape[3], x->shape[4]});
    if (!st) st = orr_tensor_narrow(&hint, s->in.latent_hint, 1, 0, n);
    if (!st) st = orr_tensor_narrow(&w, s->in.control_weight, 0, 0, n);
    if (!st) {
        orr_transfer_inputs in = {s->in.net, hint, w};
        st = orr_transfer_forward(net, out, &in, trace);
    }
    orr_tensor_free(hint);
    orr_tensor_free(w);
    if (!st) return orr_tensor_list_add(results, name, out);
    orr_tensor_free(out);
    return st;
}

/* The base DiT without x_ctrl. */
static orr_status base_only(orr_transfer *net, const inputs *s, orr_tensor_list *results) {
    const orr_tensor *x = s->in.net.x;
    orr_tensor *out = NULL;
    orr_status st = orr_tensor_empty(
        &out, ORR_F32, 5, (int64_t[]){x->shape[0], net->base->cfg.out_channels, x->shape[2], x->shape[3], x->shape[4]});
    if (!st) st = orr_dit_forward(net->base, out, &s->in.net, NULL);
    if (!st) return orr_tensor_list_add(results, "out_base_only", out);
    orr_tensor_free(out);
    return st;
}

/* control_weight_pixel[_f32] [N, B, 1, T, H, W] over the pixels of x's
 * latent (8x compression: T = 8(t-1)+1) from the maps weight_map.<i>.b<b>,
 * and control_weight_token[_f32] over the token grid. */
static orr_status weight_maps(const orr_fixture *fx, const orr_transfer *net, const orr_tensor *x, bool bf16,
                              orr_tensor_list *results) {
    int n = net->n_branches;
    const dit_config *c = &net->base->cfg;
    int64_t B = x->shape[0], t = x->shape[2], h = x->shape[3], w = x->shape[4];
    int64_t pixel[6] = {n, B, 1, 8 * (t - 1) + 1, 8 * h, 8 * w};
    int64_t token[6] = {n, B, 1, t / c->patch_temporal, h / c->patch_spatial, w / c->patch_spatial};
    orr_tensor *px = NULL, *tk = NULL, *maps[ORR_TRANSFER_MAX_CONTROLS] = {NULL};
    orr_status st = orr_tensor_empty(&px, ORR_F32, 6, pixel);
    if (!st) st = orr_tensor_empty(&tk, ORR_F32, 6, token);
    for (int64_t b = 0; b < B && !st; b++) {
        orr_control_weight ws[ORR_TRANSFER_MAX_CONTROLS];
        for (int i = 0; i < n && !st; i++) {
            char name[64];
            snprintf(name, sizeof name, "weight_map.%d.b%lld", i, (long long)b);
            orr_tensor_free(maps[i]);
            maps[i] = NULL;
            st = orr_st_get(fx->inputs, name, &maps[i]);
            ws[i] = (orr_control_weight){0.0, maps[i]};
        }
        /* out[:, b, 0] is the [N, T, H, W] map set of item b */
        orr_tensor *item = NULL, *frame = NULL;
        if (!st) st = orr_tensor_select(&item, px, 1, b);
        if (!st) st = orr_tensor_select(&frame, item, 1, 0);
        if (!st) st = orr_control_weights_normalize(frame, n, ws, bf16);
        orr_tensor_free(item);
        orr_tensor_free(frame);
    }
    for (int i = 0; i < n; i++) orr_tensor_free(maps[i]);
    if (!st) st = orr_control_weights_to_tokens(tk, px, bf16);
    if (!st) {
        st = orr_tensor_list_add(results, bf16 ? "control_weight_pixel" : "control_weight_pixel_f32", px);
        px = NULL;
    }
    if (!st) {
        st = orr_tensor_list_add(results, bf16 ? "control_weight_token" : "control_weight_token_f32", tk);
        tk = NULL;
    }
    orr_tensor_free(px);
    orr_tensor_free(tk);
    return st;
}

static orr_status run_ctrl(const orr_fixture *fx, orr_tensor_list *results) {
    orr_transfer *full = NULL, *single = NULL;
    inputs s;
    orr_status st = read_inputs(fx, &s);
    if (!st) st = orr_transfer_fixture_network(fx, -1, &full);
    if (!st) st = orr_transfer_fixture_network(fx, 1, &single);
    if (!st) st = forward_into(full, &s, "out", results, results);
    if (!st) st = base_only(full, &s, results);
    if (!st) st = forward_into(single, &s, "out_single_ctrl0", results, NULL);
    if (!st) st = weight_maps(fx, full, s.in.net.x, true, results);
    if (!st) st = weight_maps(fx, full, s.in.net.x, false, results);
    orr_transfer_free(full);
    orr_transfer_free(single);
    free_inputs(&s);
    return st;
}

/* ---- generate_world_from_control (transfer_sampler) ---------------------------- */

/* The number after "key=" in the fixture's `call` string. */
static double call_arg(const char *call, const char *key, double def) {
    size_t len = strlen(key);
    for (const char *p = call ? strstr(call, key) : NULL; p; p = strstr(p + 1, key)) {
        bool starts = p == call || p[-1] == '(' || p[-1] == ' ' || p[-1] == ',';
        if (starts && p[len] == '=') {
            char *end;
            double v = strtod(p + len + 1, &end);
            if (end != p + len + 1) return v;
        }
    }
    return def;
}

/* A new f32 tensor [count, state...] in the results. */
static orr_status stacked(orr_tensor_list *results, const char *name, int64_t count, const int64_t *shape,
                          orr_tensor **out) {
    int64_t s[6] = {count, shape[0], shape[1], shape[2], shape[3], shape[4]};
    orr_status st = orr_tensor_empty(out, ORR_F32, 6, s);
    if (!st) st = orr_tensor_list_add(results, name, *out);
    if (st) *out = NULL;
    return st;
}

static float *row(const orr_tensor *t, int64_t i, int64_t n) { return (float *)t->data + i * n; }

/* Every x0_fn call teacher-forced (call i denoises the recorded x of call
 * i; the RES update from the recorded estimates gives x of call i+1), then
 * the whole loop free-running from x_T. */
static orr_status run_sampler(const orr_fixture *fx, orr_tensor_list *results) {
    const char *call = metadata(fx, "call");
    orr_transfer *net = NULL;
    orr_tensor *in[9] = {NULL}, *xs = NULL, *x0s = NULL, *rec_x0 = NULL;
    static const char *names[9] = {
        "t5_text_embeddings", "neg_t5_text_embeddings", "fps",           "padding_mask", "latent_hint",
        "control_weight",     "condition_latent",       "augment_noise", "x_T"};
    orr_status st = orr_transfer_fixture_network(fx, -1, &net);
    for (int i = 0; i < 9 && !st; i++) st = orr_st_get(fx->inputs, names[i], &in[i]);
    if (!st) st = orr_st_get(fx->outputs, "x", &xs);
    if (!st) st = orr_st_get(fx->outputs, "x0", &x0s);
    orr_sampler_params p;
    orr_transfer_sampler_params_init(&p);
    p.steps = (int)call_arg(call, "num_steps", p.steps);
    p.guidance = call_arg(call, "guidance", p.guidance);
    orr_transfer_cond cond;
    orr_transfer_cond_init(&cond);
    if (!st) {
        cond.base.text = in[0];
        cond.base.neg_text = in[1];
        cond.base.fps = (float)orr_tensor_get(in[2], 0);
        cond.base.padding_mask = in[3];
        cond.latent_hint = in[4];
        cond.control_weight = in[5];
        cond.base.condition_latent = in[6];
        cond.base.augment_noise = in[7];
        /* one pixel frame of input is one latent frame */
        cond.base.condition_frames = (int)call_arg(call, "num_input_frames", 1) > 0 ? 1 : 0;
    }
    int calls = p.steps + 1;
    double sigmas[calls];
    transfer_denoiser d = {0};
    int64_t shape[5] = {0};
    if (!st) {
        memcpy(shape, in[8]->shape, sizeof shape);
        st = orr_sampler_sigmas(&p, sigmas, calls);
    }
    if (!st) st = orr_transfer_denoiser_init(&d, net, &cond, shape, &p, NULL);
    int64_t n = d.n;
    static const char *traced[9] = {"x",       "net_in_cond", "net_in_uncond", "net_out_cond", "net_out_uncond",
                                    "x0_cond", "x0_uncond",   "x0_guided",     "x0_merged"};
    orr_tensor *rec[9] = {NULL};
    for (int k = 0; k < 9 && !st; k++) st = stacked(results, traced[k], calls, shape, &rec[k]);
    if (!st) st = stacked(results, "x0", calls, shape, &rec_x0);
    orr_tensor *sig = NULL, *ts = NULL;
    if (!st) st = orr_tensor_empty(&sig, ORR_F32, 2, (int64_t[]){calls, 1});
    if (!st) st = orr_tensor_list_add(results, "sigma", sig);
    if (!st) st = orr_tensor_empty(&ts, ORR_F32, 2, (int64_t[]){calls, 1});
    if (!st) st = orr_tensor_list_add(results, "timestep", ts);
    for (int i = 0; i < calls && !st; i++) {
        ((float *)sig->data)[i] = (float)sigmas[i];
        ((float *)ts->data)[i] = orr_edm_scalings(sigmas[i], p.sigma_data).c_noise;
    }
    double *xd = NULL;
    if (!st && !(xd = malloc((size_t)n * sizeof *xd))) st = orr_error(ORR_ERR_MEMORY, "verify: out of host memory");
    if (!st) memcpy(row(rec[0], 0, n), in[8]->data, (size_t)n * sizeof(float));
    for (int i = 0; i < calls && !st; i++) {
        const float *x = row(xs, i, n);
        transfer_trace tr = {0};
        orr_tensor *slices[8] = {NULL};
        for (int k = 0; k < 8 && !st; k++) st = orr_tensor_select(&slices[k], rec[k + 1], 0, i);
        if (!st) {
            tr = (transfer_trace){slices[0], slices[1], slices[2], slices[3],
                                  slices[4], slices[5], slices[6], slices[7]};
            st = orr_transfer_denoise(&d, row(rec_x0, i, n), x, sigmas[i], p.guidance, &tr);
        }
        for (int k = 0; k < 8; k++) orr_tensor_free(slices[k]);
        if (st || i == calls - 1) continue;
        for (int64_t k = 0; k < n; k++) xd[k] = x[k];
        orr_res_2ab_update(xd, row(x0s, i, n), i ? row(x0s, i - 1, n) : NULL, n, sigmas[i], sigmas[i + 1],
                           i ? sigmas[i - 1] : 0.0);
        float *next = row(rec[0], i + 1, n);
        for (int64_t k = 0; k < n; k++) next[k] = (float)xd[k];
    }
    free(xd);
    orr_transfer_denoiser_free(&d);
    /* free-running, with a fresh denoiser (the condition state restarts) */
    orr_tensor *sample = NULL, *mask = NULL;
    if (!st) st = orr_transfer_denoiser_init(&d, net, &cond, shape, &p, NULL);
    if (!st) {
        st = orr_tensor_clone(&sample, in[8], ORR_F32);
        if (!st) st = orr_transfer_sampler_run(&d, sample->data, sigmas, &p);
        if (!st) st = orr_tensor_narrow(&mask, d.cond_mask, 0, 0, shape[0]);
        orr_tensor *copy = NULL;
        if (!st) st = orr_tensor_clone(&copy, mask, ORR_F32);
        if (!st) st = orr_tensor_list_add(results, "cond_video_input_mask", copy);
        orr_tensor_free(mask);
        orr_transfer_denoiser_free(&d);
    }
    if (!st) {
        st = orr_tensor_list_add(results, "samples", sample);
        sample = NULL;
    }
    orr_tensor_free(sample);
    for (int i = 0; i < 9; i++) orr_tensor_free(in[i]);
    orr_tensor_free(xs);
    orr_tensor_free(x0s);
    orr_transfer_free(net);
    return st;
}

void orr_transfer_register_verify(void) {
    /* the verifier names a fixture's network by its metadata up to the
     * first '(': "GeneralDITEncoder (hint_encoders x2) + ..." */
    orr_verify_register("GeneralDITEncoder", run_ctrl);
    orr_verify_register("generate_world_from_control", run_sampler);
}
