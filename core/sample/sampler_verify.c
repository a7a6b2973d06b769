/* sampler_verify.c — `orrery verify` runners for the sampler fixtures:
 * DiffusionT2WModel / DiffusionV2WModel.generate_samples_from_batch (the
 * official Euler loop) and the training code's RES Sampler.
 *
 * Every recorded step is checked teacher-forced (step i starts from the
 * recorded state after step i-1 and must reproduce what step i recorded),
 * and the whole loop free-running from the recorded initial noise must
 * reproduce the final sample. The initial noise came from torch's generator,
 * which orrery does not replicate: it is an input, handed back unchanged.
 * The loop's arguments are read from the `call` metadata. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../models/dit.h"

/* The number after "key=" in a call string like "f(guidance=7.0, num_steps=35)". */
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

static bool call_flag(const char *call, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "%s=True", key);
    return call && strstr(call, pat);
}

static const char *fixture_call(const orr_fixture *fx) {
    const orr_safetensors *files[] = {fx->inputs, fx->outputs, fx->weights};
    for (int i = 0; i < 3; i++) {
        const char *c = orr_st_metadata(files[i], "call");
        if (c) return c;
    }
    return "";
}

typedef struct run_ctx {
    const orr_fixture *fx;
    orr_tensor_list *results;
    orr_dit *dit;
    orr_diffusion_cond cond;
    orr_sampler_params p;
    double *sigmas;
    orr_tensor *owned[16]; /* inputs read from the fixture */
    int n_owned;
    int64_t shape[5];     /* the state */
    int64_t n;
} run_ctx;

static orr_status fixture_tensor(run_ctx *r, const orr_safetensors *file, const char *name, bool required,
                                 orr_tensor **out) {
    *out = NULL;
    if (!orr_st_has(file, name))
        return required ? orr_error(ORR_ERR_NOT_FOUND, "verify: the fixture has no '%s'", name) : ORR_OK;
    if (r->n_owned == (int)(sizeof r->owned / sizeof r->owned[0]))
        return orr_error(ORR_ERR_MEMORY, "verify: too many fixture tensors");
    orr_status st = orr_st_get(file, name, out);
    if (!st) r->owned[r->n_owned++] = *out;
    return st;
}

/* A new f32 tensor [count, state...] for one recorded quantity per step. */
static orr_status stacked(run_ctx *r, const char *name, int64_t count, orr_tensor **out) {
    int64_t shape[6] = {count, r->shape[0], r->shape[1], r->shape[2], r->shape[3], r->shape[4]};
    orr_status st = orr_tensor_empty(out, ORR_F32, 6, shape);
    if (!st) st = orr_tensor_list_add(r->results, name, *out);
    if (st) *out = NULL;
    return st;
}

static orr_status slice(orr_tensor *t, int64_t i, orr_tensor **out) { return orr_tensor_select(out, t, 0, i); }

static orr_status add_scalars(run_ctx *r, const char *name, int64_t count, bool as_column, bool c_noise) {
    orr_tensor *t;
    int64_t shape[2] = {count, 1};
    orr_status st = orr_tensor_empty(&t, ORR_F32, as_column ? 2 : 1, shape);
    if (st) return st;
    for (int64_t i = 0; i < count; i++)
        ((float *)t->data)[i] = c_noise ? orr_edm_scalings(r->sigmas[i], r->p.sigma_data).c_noise : (float)r->sigmas[i];
    return orr_tensor_list_add(r->results, name, t);
}

/* Loads the net and the conditioning shared by all sampler fixtures. */
static orr_status setup(run_ctx *r, const orr_fixture *fx, orr_tensor_list *results, orr_sampler_kind kind,
                        const char *network, const orr_tensor *state_like) {
    const char *call = fixture_call(fx);
    const char *config = orr_dit_fixture_config(fx);
    if (!config) return orr_error(ORR_ERR_FORMAT, "verify: no 'dit_config' metadata in the fixture");
    dit_config cfg;
    orr_status st = orr_dit_config_parse(&cfg, network, config);
    if (st) return st;
    /* dit_config is the base net config; the Video2World model builds
     * VideoExtendGeneralDIT through LazyCall, which fills in the class's
     * signature default in_channels over it (research notes, section 2.1) */
    if (cfg.video_conditioned) cfg.in_channels = ORR_DIT_V2W_IN_CHANNELS;
    if ((st = orr_dit_load_config(&r->dit, &cfg, fx->weights))) return st;
    orr_sampler_params_init(&r->p, kind);
    const char *sched = orr_st_metadata(fx->inputs, "scheduler");
    r->p.steps = (int)call_arg(call, "num_steps", r->p.steps);
    r->p.guidance = call_arg(call, "guidance", r->p.guidance);
    r->p.sigma_max = call_arg(sched ? sched : call, "sigma_max", r->p.sigma_max);
    r->p.sigma_min = call_arg(sched ? sched : call, "sigma_min", r->p.sigma_min);
    r->p.rho = call_arg(call, "rho", r->p.rho);
    r->p.sigma_data = call_arg(sched, "sigma_data", r->p.sigma_data);
    if (!(r->sigmas = malloc((size_t)(r->p.steps + 1) * sizeof *r->sigmas)))
        return orr_error(ORR_ERR_MEMORY, "verify: out of host memory");
    if ((st = orr_sampler_sigmas(&r->p, r->sigmas, r->p.steps + 1))) return st;

    orr_diffusion_cond_init(&r->cond);
    orr_tensor *fps, *text, *neg, *pmask;
    if ((st = fixture_tensor(r, fx->inputs, "t5_text_embeddings", true, &text)) ||
        (st = fixture_tensor(r, fx->inputs, "neg_t5_text_embeddings", false, &neg)) ||
        (st = fixture_tensor(r, fx->inputs, "fps", false, &fps)) ||
        (st = fixture_tensor(r, fx->inputs, "padding_mask", false, &pmask)))
        return st;
    r->cond.text = text;
    /* the RES fixture's call names no flag but its x0_fn was built with the
     * negative prompt it stores */
    if (neg && (call_flag(call, "is_negative_prompt") || kind == ORR_SAMPLER_RES_2AB)) r->cond.neg_text = neg;
    if (fps) r->cond.fps = (float)orr_tensor_get(fps, 0);
    r->cond.padding_mask = pmask;
    r->fx = fx;
    r->results = results;
    memcpy(r->shape, state_like->shape + state_like->ndim - 5, sizeof r->shape);
    r->n = r->shape[0] * r->shape[1] * r->shape[2] * r->shape[3] * r->shape[4];
    return ORR_OK;
}

static void teardown(run_ctx *r) {
    for (int i = 0; i < r->n_owned; i++) orr_tensor_free(r->owned[i]);
    orr_dit_free(r->dit);
    free(r->sigmas);
}

/* Recorded state i of a [steps, state...] fixture tensor as float32. */
static orr_status recorded(const orr_tensor *t, int64_t i, int64_t n, float *dst) {
    orr_tensor *s, *d;
    orr_status st = orr_tensor_select(&s, t, 0, i);
    if (st) return st;
    if (orr_tensor_numel(s) != n) {
        orr_tensor_free(s);
        return orr_error(ORR_ERR_SHAPE, "verify: a recorded step does not hold %lld values", (long long)n);
    }
    st = orr_tensor_wrap(&d, dst, ORR_F32, s->ndim, s->shape, NULL, NULL);
    if (!st) st = orr_copy(d, s);
    orr_tensor_free(d);
    orr_tensor_free(s);
    return st;
}

static orr_status free_run(run_ctx *r, orr_denoiser *d, const float *x_init, const char *name) {
    orr_tensor *sample;
    orr_status st = orr_tensor_empty(&sample, ORR_F32, 5, r->shape);
    if (st) return st;
    memcpy(sample->data, x_init, (size_t)r->n * sizeof(float));
    st = orr_sampler_run(d, sample->data, r->sigmas, &r->p);
    if (!st) return orr_tensor_list_add(r->results, name, sample);
    orr_tensor_free(sample);
    return st;
}

/* generate_samples_from_batch: the Euler loop, T2W or V2W. */
static orr_status run_euler(const orr_fixture *fx, orr_tensor_list *results, bool video) {
    run_ctx r = {0};
    orr_denoiser d = {0};
    float *x = NULL, *x0 = NULL;
    orr_tensor *init_noise, *after;
    const char *call = fixture_call(fx);
    orr_status st = ORR_OK;
    if (!orr_st_has(fx->outputs, "init_noise"))
        return orr_error(ORR_ERR_NOT_FOUND, "verify: the fixture records no init_noise");
    if ((st = orr_st_get(fx->outputs, "init_noise", &init_noise))) return st;
    r.owned[r.n_owned++] = init_noise;
    st = setup(&r, fx, results, ORR_SAMPLER_EULER, video ? "VideoExtendGeneralDIT" : "GeneralDIT", init_noise);
    if (!st) st = fixture_tensor(&r, fx->outputs, "x_after_step", true, &after);
    if (!st && video) {
        orr_tensor *lat = NULL, *noise = NULL;
        st = fixture_tensor(&r, fx->inputs, "condition_latent", true, &lat);
        if (!st) st = fixture_tensor(&r, fx->inputs, "augment_noise", true, &noise);
        r.cond.condition_latent = lat;
        r.cond.augment_noise = noise;
        r.cond.condition_frames = (int)call_arg(call, "num_condition_t", 1);
        r.cond.augment_sigma = (float)call_arg(call, "condition_augment_sigma", 0.001);
    }
    r.p.init_noise = init_noise;
    if (!st) st = orr_denoiser_init(&d, r.dit, &r.cond, r.shape, r.p.sigma_data, false, NULL);
    if (st) {
        teardown(&r);
        return st;
    }
    int steps = r.p.steps;
    orr_tensor *noise_copy = NULL, *rec[6];
    static const char *names[6] = {"x_before_step", "net_in", "net_out_cond", "net_out_uncond", "guided",
                                   "x_after_step"};
    if (!(x = malloc((size_t)r.n * sizeof *x)) || !(x0 = malloc((size_t)r.n * sizeof *x0)))
        st = orr_error(ORR_ERR_MEMORY, "verify: out of host memory");
    if (!st) st = orr_tensor_clone(&noise_copy, init_noise, ORR_F32);
    if (!st) st = orr_tensor_list_add(results, "init_noise", noise_copy);
    if (!st) st = add_scalars(&r, "sigma", steps, false, false);
    if (!st) st = add_scalars(&r, "timestep", steps, false, true);
    for (int k = 0; k < 6 && !st; k++) st = stacked(&r, names[k], steps, &rec[k]);

    float *start = malloc((size_t)r.n * sizeof *start);
    if (!st && !start) st = orr_error(ORR_ERR_MEMORY, "verify: out of host memory");
    if (!st) st = orr_sampler_initial_state(start, init_noise, &r.p, r.sigmas[0], NULL);
    for (int i = 0; i < steps && !st; i++) {
        if (i == 0)
            memcpy(x, start, (size_t)r.n * sizeof *x);
        else
            st = recorded(after, i - 1, r.n, x);
        orr_tensor *s[6] = {NULL};
        for (int k = 0; k < 6 && !st; k++) st = slice(rec[k], i, &s[k]);
        if (!st) {
            denoise_trace tr = {s[0], s[1], s[2], s[3], s[4]};
            st = orr_denoise(&d, x0, s[0]->data, x, r.sigmas[i], r.p.guidance, &tr);
        }
        if (!st) orr_euler_step(s[5]->data, s[0]->data, x0, r.n, (float)r.sigmas[i], (float)r.sigmas[i + 1]);
        for (int k = 0; k < 6; k++) orr_tensor_free(s[k]);
    }
    if (!st) st = free_run(&r, &d, start, "samples");
    if (!st && video) {
        /* the network's condition-mask channel for the cond and uncond passes */
        orr_tensor *half;
        static const char *mask_names[2] = {"cond_video_input_mask_cond", "cond_video_input_mask_uncond"};
        for (int k = 0; k < 2 && !st; k++) {
            orr_tensor *copy = NULL;
            st = orr_tensor_narrow(&half, d.cond_mask, 0, k * r.shape[0], r.shape[0]);
            if (!st) st = orr_tensor_clone(&copy, half, ORR_F32);
            orr_tensor_free(half);
            if (!st) st = orr_tensor_list_add(results, mask_names[k], copy);
        }
    }
    free(start);
    free(x);
    free(x0);
    orr_denoiser_free(&d);
    teardown(&r);
    return st;
}

/* The training code's Sampler with solver "2ab": every x0_fn call (x,
 * sigma, x0) and the sample. Teacher-forced, call i denoises the recorded
 * x of call i and the update from call i builds x of call i+1 from the
 * recorded estimates. */
static orr_status run_res(const orr_fixture *fx, orr_tensor_list *results) {
    run_ctx r = {0};
    orr_denoiser d = {0};
    orr_tensor *x_T, *xs, *x0s, *rec_x, *rec_out;
    float *x = NULL, *x0 = NULL, *x0_prev = NULL;
    double *xd = NULL;
    orr_status st = orr_st_get(fx->inputs, "x_T", &x_T);
    if (st) return st;
    r.owned[r.n_owned++] = x_T;
    st = setup(&r, fx, results, ORR_SAMPLER_RES_2AB, "GeneralDIT", x_T);
    if (!st) st = fixture_tensor(&r, fx->outputs, "x0fn_x", true, &xs);
    if (!st) st = fixture_tensor(&r, fx->outputs, "x0fn_out", true, &x0s);
    if (!st) st = orr_denoiser_init(&d, r.dit, &r.cond, r.shape, r.p.sigma_data, false, NULL);
    if (st) {
        teardown(&r);
        return st;
    }
    int calls = r.p.steps + 1;
    if (!(x = malloc((size_t)r.n * sizeof *x)) || !(x0 = malloc((size_t)r.n * sizeof *x0)) ||
        !(x0_prev = malloc((size_t)r.n * sizeof *x0_prev)) || !(xd = malloc((size_t)r.n * sizeof *xd)))
        st = orr_error(ORR_ERR_MEMORY, "verify: out of host memory");
    if (!st) st = stacked(&r, "x0fn_x", calls, &rec_x);
    if (!st) st = stacked(&r, "x0fn_out", calls, &rec_out);
    if (!st) st = add_scalars(&r, "x0fn_sigma", calls, true, false);
    if (!st) st = recorded(x_T, 0, r.n, rec_x->data);
    for (int i = 0; i < calls && !st; i++) {
        float *out_i = (float *)rec_out->data + i * r.n;
        st = recorded(xs, i, r.n, x);
        if (!st) st = orr_denoise(&d, out_i, x, x, r.sigmas[i], r.p.guidance, NULL);
        if (st || i == calls - 1) continue;
        st = recorded(x0s, i, r.n, x0);
        if (!st && i > 0) st = recorded(x0s, i - 1, r.n, x0_prev);
        if (st) break;
        for (int64_t k = 0; k < r.n; k++) xd[k] = x[k];
        orr_res_2ab_update(xd, x0, i > 0 ? x0_prev : NULL, r.n, r.sigmas[i], r.sigmas[i + 1],
                           i > 0 ? r.sigmas[i - 1] : 0.0);
        float *next = (float *)rec_x->data + (i + 1) * r.n;
        for (int64_t k = 0; k < r.n; k++) next[k] = (float)xd[k];
    }
    if (!st) st = recorded(x_T, 0, r.n, x);
    if (!st) st = free_run(&r, &d, x, "samples");
    free(x);
    free(x0);
    free(x0_prev);
    free(xd);
    orr_denoiser_free(&d);
    teardown(&r);
    return st;
}

static orr_status run_t2w(const orr_fixture *fx, orr_tensor_list *results) { return run_euler(fx, results, false); }
static orr_status run_v2w(const orr_fixture *fx, orr_tensor_list *results) { return run_euler(fx, results, true); }

void orr_sampler_register_verify(void) {
    orr_verify_register("DiffusionT2WModel.generate_samples_from_batch", run_t2w);
    orr_verify_register("DiffusionV2WModel.generate_samples_from_batch", run_v2w);
    orr_verify_register("Sampler", run_res);
}
