/* The samplers: the schedules (diffusers' float32 Karras, RES's float64,
 * arrays, functions, checks), the official loops against the cut sampler
 * fixtures of tests/data/dit (teacher-forced steps and the free-running
 * sample: Euler T2W and V2W, RES "2ab"), the other samplers (Heun,
 * DPM-Solver++(2M)) converging to the same ODE solution, callbacks
 * (progress, preview, cancel, per-step guidance), seeds, video-to-video
 * starts, bf16 emulation and the error paths. */
#include <math.h>
#include <stdlib.h>

#include "models/dit.h"
#include "test_util.h"

#define DATA "data/dit/"

typedef struct fixture {
    orr_safetensors *data, *weights;
    orr_dit *dit;
    orr_diffusion_cond cond;
    orr_sampler_params p;
    double sigmas[64];
    int64_t shape[5], n;
} fixture;

static orr_tensor *get(const orr_safetensors *f, const char *name) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_st_get(f, name, &t));
    return t;
}

/* Step k's slice of a [k, state...] record. */
static const float *row(const orr_tensor *t, int64_t k, int64_t n) { return (const float *)t->data + k * n; }

static bool open_fixture(fixture *f, const char *data, const char *weights, const char *config_file,
                         const char *network, orr_sampler_kind kind) {
    memset(f, 0, sizeof *f);
    orr_safetensors *cf = NULL;
    CHECK_OK(orr_st_open(data, &f->data));
    CHECK_OK(orr_st_open(weights, &f->weights));
    CHECK_OK(orr_st_open(config_file, &cf));
    if (!f->data || !f->weights || !cf) return false;
    const char *config = orr_st_metadata(cf, "config");
    if (!config) config = orr_st_metadata(cf, "dit_config");
    CHECK_OK(orr_dit_load(&f->dit, network, config, f->weights));
    orr_st_close(cf);
    if (!f->dit) return false;
    orr_diffusion_cond_init(&f->cond);
    f->cond.text = get(f->data, "t5_text_embeddings");
    f->cond.neg_text = get(f->data, "neg_t5_text_embeddings");
    f->cond.padding_mask = get(f->data, "padding_mask");
    orr_tensor *fps = get(f->data, "fps");
    f->cond.fps = (float)orr_tensor_get(fps, 0);
    orr_tensor_free(fps);
    orr_sampler_params_init(&f->p, kind);
    CHECK_OK(orr_sampler_sigmas(&f->p, f->sigmas, 64));
    int64_t shape[5] = {1, 16, 4, 8, 8};
    memcpy(f->shape, shape, sizeof shape);
    f->n = 16 * 4 * 8 * 8;
    return true;
}

static void close_fixture(fixture *f) {
    const orr_tensor *ts[] = {f->cond.text, f->cond.neg_text, f->cond.padding_mask, f->cond.condition_latent,
                              f->cond.augment_noise};
    for (int i = 0; i < 5; i++) orr_tensor_free((orr_tensor *)ts[i]);
    orr_dit_free(f->dit);
    orr_st_close(f->data);
    orr_st_close(f->weights);
}

static void test_schedules(void) {
    orr_safetensors *t2w = NULL, *res = NULL;
    CHECK_OK(orr_st_open(DATA "sampler_t2w.safetensors", &t2w));
    CHECK_OK(orr_st_open(DATA "sampler_res.safetensors", &res));
    if (!t2w || !res) return;
    orr_sampler_params p;
    double s[40];
    /* diffusers 0.32.2 computes the Karras schedule in float32: the official
     * first sigma is 79.99998, not 80 */
    orr_sampler_params_init(&p, ORR_SAMPLER_EULER);
    CHECK_OK(orr_sampler_sigmas(&p, s, 40));
    orr_tensor *sigma = get(t2w, "sigma"), *timestep = get(t2w, "timestep");
    /* within a few float32 ulps: torch's vectorised linspace and pow round
     * a few entries differently */
    for (int i = 0; i < 35; i++) {
        CHECK_NEAR(s[i], orr_tensor_get(sigma, i), 3e-6 * s[i]);
        CHECK_NEAR(orr_edm_scalings(s[i], 0.5).c_noise, orr_tensor_get(timestep, i), 1e-6);
    }
    CHECK(s[35] == 0.0);
    orr_tensor_free(sigma);
    orr_tensor_free(timestep);

    /* RES: float64, 36 points down to 0.002 */
    orr_sampler_params_init(&p, ORR_SAMPLER_RES_2AB);
    CHECK_OK(orr_sampler_sigmas(&p, s, 40));
    orr_tensor *calls = get(res, "calls"), *x0fn_sigma = get(res, "x0fn_sigma");
    for (int64_t k = 0; k < orr_tensor_numel(calls); k++)
        CHECK((float)s[(int)orr_tensor_get(calls, k)] == (float)orr_tensor_get(x0fn_sigma, k));
    CHECK_NEAR(s[35], 0.002, 1e-15);
    orr_tensor_free(calls);
    orr_tensor_free(x0fn_sigma);

    /* an explicit schedule, a function, and the checks */
    double given[4] = {10, 3, 1, 0};
    orr_sampler_params_init(&p, ORR_SAMPLER_HEUN);
    p.steps = 3;
    p.sigmas = given;
    CHECK_OK(orr_sampler_sigmas(&p, s, 4));
    CHECK(s[0] == 10 && s[1] == 3 && s[2] == 1 && s[3] == 0);
    given[2] = 3;
    CHECK_FAILS(orr_sampler_sigmas(&p, s, 4), ORR_ERR_ARGUMENT, "not decreasing: sigma[2] = 3 >= sigma[1] = 3");
    given[2] = 0;
    CHECK_FAILS(orr_sampler_sigmas(&p, s, 4), ORR_ERR_ARGUMENT, "sigma[2] = 0");
    given[2] = NAN;
    CHECK_FAILS(orr_sampler_sigmas(&p, s, 4), ORR_ERR_ARGUMENT, "sigma[2] = nan");
    CHECK_FAILS(orr_sampler_sigmas(&p, s, 3), ORR_ERR_ARGUMENT, "need 4 sigmas, room for 3");
    p.sigmas = NULL;
    p.steps = 0;
    CHECK_FAILS(orr_sampler_sigmas(&p, s, 4), ORR_ERR_ARGUMENT, "steps 0");
    p.steps = 3;
    p.sigma_min = 100;
    CHECK_FAILS(orr_sampler_sigmas(&p, s, 4), ORR_ERR_ARGUMENT, "sigma_max 80 > sigma_min 100");
    orr_st_close(t2w);
    orr_st_close(res);
}

static double linear_schedule(void *user, int i, int steps) { return *(double *)user * (steps - i) / steps; }

static void test_schedule_function(void) {
    orr_sampler_params p;
    orr_sampler_params_init(&p, ORR_SAMPLER_DPMPP_2M);
    double top = 8, s[5];
    p.steps = 4;
    p.schedule = linear_schedule;
    p.schedule_user = &top;
    CHECK_OK(orr_sampler_sigmas(&p, s, 5));
    CHECK(s[0] == 8 && s[1] == 6 && s[2] == 4 && s[3] == 2 && s[4] == 0);
}

/* Teacher-forced Euler steps and the free-running sample of a T2W or V2W
 * cut fixture. */
static void check_euler_fixture(fixture *f, bool video) {
    orr_denoiser d;
    CHECK_OK(orr_denoiser_init(&d, f->dit, &f->cond, f->shape, 0.5, false, NULL));
    orr_tensor *steps = get(f->data, "steps"), *start = get(f->data, "x_start"), *noise = get(f->data, "init_noise");
    static const char *names[6] = {"x_before_step", "net_in", "net_out_cond", "net_out_uncond", "guided",
                                   "x_after_step"};
    orr_tensor *want[6];
    for (int k = 0; k < 6; k++) want[k] = get(f->data, names[k]);
    orr_tensor *got[5];
    for (int k = 0; k < 5; k++) CHECK_OK(orr_tensor_empty(&got[k], ORR_F32, 5, f->shape));
    float *x = malloc(f->n * sizeof *x), *x0 = malloc(f->n * sizeof *x0), *after = malloc(f->n * sizeof *after);
    f->p.init_noise = noise;
    CHECK_OK(orr_sampler_initial_state(x, noise, &f->p, f->sigmas[0], NULL));
    float *init = malloc(f->n * sizeof *init);
    memcpy(init, x, f->n * sizeof *x);
    for (int64_t k = 0; k < orr_tensor_numel(steps); k++) {
        int i = (int)orr_tensor_get(steps, k);
        if (i > 0) memcpy(x, row(start, k, f->n), f->n * sizeof *x);
        else memcpy(x, init, f->n * sizeof *x);
        denoise_trace tr = {got[0], got[1], got[2], got[3], got[4]};
        CHECK_OK(orr_denoise(&d, x0, got[0]->data, x, f->sigmas[i], f->p.guidance, &tr));
        orr_euler_step(after, got[0]->data, x0, f->n, (float)f->sigmas[i], (float)f->sigmas[i + 1]);
        for (int q = 0; q < 5; q++) CHECK_CLOSE(names[q], (float *)got[q]->data, row(want[q], k, f->n), f->n, 1e-5);
        CHECK_CLOSE("x_after_step", after, row(want[5], k, f->n), f->n, 1e-5);
    }
    /* free running, through the public call */
    orr_tensor *samples = get(f->data, "samples"), *out = NULL;
    CHECK_OK(orr_tensor_empty(&out, ORR_F32, 5, f->shape));
    CHECK_OK(orr_dit_sample(f->dit, out, &f->cond, &f->p));
    CHECK_CLOSE(video ? "V2W sample" : "T2W sample", (float *)out->data, (float *)samples->data, f->n, 1e-4);
    if (video) {
        orr_tensor *mc = get(f->data, "cond_video_input_mask_cond");
        CHECK_CLOSE("condition mask", (float *)d.cond_mask->data, (float *)mc->data, orr_tensor_numel(mc), 0);
        orr_tensor_free(mc);
    }
    orr_tensor *all[] = {steps, start, noise, samples, out};
    for (int k = 0; k < 5; k++) orr_tensor_free(all[k]);
    for (int k = 0; k < 6; k++) orr_tensor_free(want[k]);
    for (int k = 0; k < 5; k++) orr_tensor_free(got[k]);
    free(x);
    free(x0);
    free(after);
    free(init);
    orr_denoiser_free(&d);
}

static void test_t2w_fixture(void) {
    fixture f;
    if (open_fixture(&f, DATA "sampler_t2w.safetensors", DATA "t2w/weights.safetensors", DATA "t2w/weights.safetensors",
                     "GeneralDIT", ORR_SAMPLER_EULER))
        check_euler_fixture(&f, false);
    close_fixture(&f);
}

static void test_v2w_fixture(void) {
    fixture f;
    if (open_fixture(&f, DATA "sampler_v2w.safetensors", DATA "v2w/weights.safetensors", DATA "v2w/weights.safetensors",
                     "VideoExtendGeneralDIT", ORR_SAMPLER_EULER)) {
        f.cond.condition_latent = get(f.data, "condition_latent");
        f.cond.augment_noise = get(f.data, "augment_noise");
        f.cond.condition_frames = 1;
        check_euler_fixture(&f, true);
    }
    close_fixture(&f);
}

static void test_res_fixture(void) {
    fixture f;
    if (!open_fixture(&f, DATA "sampler_res.safetensors", DATA "t2w/weights.safetensors", DATA "t2w/weights.safetensors",
                      "GeneralDIT", ORR_SAMPLER_RES_2AB)) {
        close_fixture(&f);
        return;
    }
    orr_denoiser d;
    CHECK_OK(orr_denoiser_init(&d, f.dit, &f.cond, f.shape, 0.5, false, NULL));
    orr_tensor *calls = get(f.data, "calls"), *xs = get(f.data, "x0fn_x"), *outs = get(f.data, "x0fn_out");
    float *x0 = malloc(f.n * sizeof *x0), *x = malloc(f.n * sizeof *x), *next = malloc(f.n * sizeof *next);
    double *xd = malloc(f.n * sizeof *xd);
    int64_t kept = orr_tensor_numel(calls);
    for (int64_t k = 0; k < kept; k++) {
        int i = (int)orr_tensor_get(calls, k);
        memcpy(x, row(xs, k, f.n), f.n * sizeof *x);
        CHECK_OK(orr_denoise(&d, x0, x, x, f.sigmas[i], f.p.guidance, NULL));
        CHECK_CLOSE("x0fn_out", x0, row(outs, k, f.n), f.n, 1e-5);
        /* the update into the next kept call, from the recorded estimates */
        if (k + 1 < kept && orr_tensor_get(calls, k + 1) == i + 1) {
            for (int64_t q = 0; q < f.n; q++) xd[q] = row(xs, k, f.n)[q];
            orr_res_2ab_update(xd, row(outs, k, f.n), i > 0 ? row(outs, k - 1, f.n) : NULL, f.n, f.sigmas[i],
                               f.sigmas[i + 1], i > 0 ? f.sigmas[i - 1] : 0.0);
            for (int64_t q = 0; q < f.n; q++) next[q] = (float)xd[q];
            CHECK_CLOSE("x0fn_x", next, row(xs, k + 1, f.n), f.n, 1e-6);
        }
    }
    orr_tensor *x_T = get(f.data, "x_T"), *samples = get(f.data, "samples");
    memcpy(x, x_T->data, f.n * sizeof *x);
    CHECK_OK(orr_sampler_run(&d, x, f.sigmas, &f.p));
    CHECK_CLOSE("RES sample", x, (float *)samples->data, f.n, 1e-4);
    orr_tensor *all[] = {calls, xs, outs, x_T, samples};
    for (int k = 0; k < 5; k++) orr_tensor_free(all[k]);
    free(x0);
    free(x);
    free(next);
    free(xd);
    orr_denoiser_free(&d);
    close_fixture(&f);
}

/* ---- the samplers on a random net ------------------------------------------------ */

static const char *random_config =
    "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, \"in_channels\": %d, \"out_channels\": 4,"
    " \"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 32, \"num_blocks\": 2, \"num_heads\": 2,"
    " \"block_x_format\": \"THWBD\", \"crossattn_emb_channels\": 8, \"pos_emb_cls\": \"rope3d\","
    " \"affline_emb_norm\": true, \"use_adaln_lora\": true, \"adaln_lora_dim\": 8,"
    " \"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\"}";

typedef struct small_world {
    orr_dit *dit;
    orr_tensor *text, *neg, *out, *latent;
    orr_diffusion_cond cond;
} small_world;

static orr_tensor *filled(int ndim, const int64_t *shape, unsigned seed, float scale) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, ndim, shape));
    if (t) {
        test_fill(t->data, (long)orr_tensor_numel(t), seed);
        CHECK_OK(orr_affine(t, t, scale, 0.0f));
    }
    return t;
}

static bool small_world_init(small_world *w, bool video) {
    memset(w, 0, sizeof *w);
    char cfg[1024];
    snprintf(cfg, sizeof cfg, random_config, video ? 5 : 4);
    CHECK_OK(orr_dit_create_random(&w->dit, video ? "VideoExtendGeneralDIT" : "GeneralDIT", cfg, 21));
    if (!w->dit) return false;
    /* larger weights than the default 0.02 so that the network matters */
    for (int b = 0; b < 2; b++)
        for (int s = 0; s < 3; s++) {
            dit_subblock *sb = &w->dit->blocks[b].sub[s];
            orr_tensor *ts[] = {sb->adaln.w2, sb->fc2, sb->out};
            for (int i = 0; i < 3; i++)
                if (ts[i]) CHECK_OK(orr_affine(ts[i], ts[i], 3.0f, 0.0f));
        }
    w->text = filled(3, (int64_t[]){1, 5, 8}, 1, 1.0f);
    w->neg = filled(3, (int64_t[]){1, 5, 8}, 2, 1.0f);
    w->latent = filled(5, (int64_t[]){1, 4, 3, 6, 6}, 3, 0.5f);
    CHECK_OK(orr_tensor_empty(&w->out, ORR_F32, 5, (int64_t[]){1, 4, 3, 6, 6}));
    orr_diffusion_cond_init(&w->cond);
    w->cond.text = w->text;
    w->cond.neg_text = w->neg;
    if (video) w->cond.condition_latent = w->latent;
    return true;
}

static void small_world_free(small_world *w) {
    orr_tensor *ts[] = {w->text, w->neg, w->out, w->latent};
    for (int i = 0; i < 4; i++) orr_tensor_free(ts[i]);
    orr_dit_free(w->dit);
}

static orr_tensor *sample(small_world *w, const orr_sampler_params *p) {
    orr_tensor *out = NULL;
    CHECK_OK(orr_tensor_empty(&out, ORR_F32, 5, w->out->shape));
    CHECK_OK(orr_dit_sample(w->dit, out, &w->cond, p));
    return out;
}

static double rel_diff(const orr_tensor *a, const orr_tensor *b) {
    double ref, d = test_max_abs_diff(a->data, b->data, (long)orr_tensor_numel(a), &ref);
    return d / (ref > 0 ? ref : 1);
}

/* Heun, RES and DPM-Solver++(2M) land nearer a fine Euler solution of the
 * same ODE than Euler with as many steps (the RES schedule ends at its own sigma_min with
 * the clean step, so all share the Karras schedule to 0.002 here). */
static void test_samplers_converge(void) {
    small_world w;
    if (!small_world_init(&w, false)) return;
    orr_sampler_params p;
    orr_sampler_params_init(&p, ORR_SAMPLER_EULER);
    p.guidance = 1.0;
    p.sigma_min = 0.002;
    p.seed = 5;
    p.steps = 400;
    orr_tensor *fine = sample(&w, &p);
    int steps = 35;
    p.steps = steps;
    orr_tensor *euler = sample(&w, &p);
    double e_euler = rel_diff(euler, fine);
    orr_sampler_kind kinds[] = {ORR_SAMPLER_HEUN, ORR_SAMPLER_DPMPP_2M, ORR_SAMPLER_RES_2AB};
    for (int k = 0; k < 3; k++) {
        orr_sampler_params q;
        orr_sampler_params_init(&q, kinds[k]);
        q.guidance = 1.0;
        q.sigma_min = 0.002;
        q.seed = 5;
        q.steps = steps;
        /* same starting noise as the Euler runs (which scale it by sqrt(s^2+1)) */
        orr_tensor *noise = filled(5, w.out->shape, 0, 0.0f);
        orr_rng rng;
        orr_rng_init(&rng, 5);
        CHECK_OK(orr_rng_normal(&rng, noise, 0.0f, 1.0f));
        CHECK_OK(orr_affine(noise, noise, (float)(sqrt(80.0 * 80 + 1) / 80.0), 0.0f));
        q.init_noise = noise;
        orr_tensor *s = sample(&w, &q);
        double e = rel_diff(s, fine);
        printf("  %d steps: euler %.2e, %s %.2e (vs 400 Euler steps)\n", steps, e_euler,
               k == 0 ? "heun" : k == 1 ? "dpmpp_2m" : "res_2ab", e);
        CHECK(e < e_euler);
        CHECK(e < 0.05);
        orr_tensor_free(s);
        orr_tensor_free(noise);
    }
    orr_tensor_free(fine);
    orr_tensor_free(euler);
    small_world_free(&w);
}

typedef struct events {
    int progress, previews, last_step, cancel_after, guidance_calls;
    double last_sigma, eta;
} events;

static void on_progress(void *user, const orr_sampler_progress *pr) {
    events *e = user;
    CHECK(pr->step == e->progress && pr->steps == 6);
    CHECK(pr->sigma_next < pr->sigma && pr->seconds_per_step >= 0 && pr->eta_seconds >= 0);
    e->progress++;
    e->eta = pr->eta_seconds;
}

static void on_preview(void *user, int step, const orr_tensor *x, const orr_tensor *x0) {
    events *e = user;
    CHECK(x0->ndim == 5 && x0->shape[1] == 4 && orr_tensor_same_shape(x, x0) && x->data != x0->data);
    e->previews++;
    e->last_step = step;
}

static bool on_cancel(void *user) {
    events *e = user;
    return e->progress >= e->cancel_after;
}

static double stepped_guidance(void *user, int i, double sigma) {
    events *e = user;
    e->guidance_calls++;
    return i < 3 ? 4.0 : 0.0;
}

static void test_callbacks(void) {
    small_world w;
    if (!small_world_init(&w, false)) return;
    orr_sampler_params p;
    orr_sampler_params_init(&p, ORR_SAMPLER_EULER);
    p.steps = 6;
    events e = {0};
    e.cancel_after = 100;
    p.progress = on_progress;
    p.progress_user = &e;
    p.preview = on_preview;
    p.preview_user = &e;
    p.preview_every = 4;
    p.cancel = on_cancel;
    p.cancel_user = &e;
    p.guidance_fn = stepped_guidance;
    p.guidance_user = &e;
    orr_tensor *a = sample(&w, &p);
    CHECK(e.progress == 6 && e.eta == 0);
    CHECK(e.previews == 3 && e.last_step == 5); /* steps 0 and 4, and the last */
    CHECK(e.guidance_calls == 6);

    /* guidance 0 ignores the negative prompt: swapping it changes nothing */
    p.guidance_fn = NULL;
    p.guidance = 0.0;
    p.progress = NULL;
    p.preview = NULL;
    orr_tensor *g0 = sample(&w, &p);
    w.cond.neg_text = NULL;
    orr_tensor *g0_no_neg = sample(&w, &p);
    CHECK_CLOSE("guidance 0 with and without a negative prompt", (float *)g0->data, (float *)g0_no_neg->data,
                orr_tensor_numel(g0), 0);
    w.cond.neg_text = w.neg;

    e.progress = 0;
    e.cancel_after = 2;
    p.progress = on_progress;
    orr_tensor *c = NULL;
    CHECK_OK(orr_tensor_empty(&c, ORR_F32, 5, w.out->shape));
    CHECK_FAILS(orr_dit_sample(w.dit, c, &w.cond, &p), ORR_ERR_CANCELLED, "cancelled before step 2 of 6");
    CHECK(e.progress == 2);
    orr_tensor *all[] = {a, g0, g0_no_neg, c};
    for (int i = 0; i < 4; i++) orr_tensor_free(all[i]);
    small_world_free(&w);
}

static void test_seeds_and_strength(void) {
    small_world w;
    if (!small_world_init(&w, false)) return;
    orr_sampler_params p;
    orr_sampler_params_init(&p, ORR_SAMPLER_EULER);
    p.steps = 5;
    p.seed = 42;
    orr_tensor *a = sample(&w, &p), *b = sample(&w, &p);
    p.seed = 43;
    orr_tensor *c = sample(&w, &p);
    CHECK(rel_diff(a, b) == 0);
    CHECK(rel_diff(a, c) > 1e-3);
    /* video-to-video: from the latent at a low sigma the result stays near it */
    p.init_latent = w.latent;
    p.sigma_max = 0.3;
    orr_tensor *v2v = sample(&w, &p);
    p.sigma_max = 80;
    orr_tensor *from_noise = sample(&w, &p);
    double near = rel_diff(v2v, w.latent), far = rel_diff(from_noise, w.latent);
    CHECK(near < far);
    /* bf16 emulation: finite, close to float32, not identical */
    p.init_latent = NULL;
    p.seed = 42;
    p.bf16 = true;
    orr_tensor *h = sample(&w, &p);
    double dh = rel_diff(h, a);
    CHECK(dh > 0 && dh < 0.1);
    orr_tensor *all[] = {a, b, c, v2v, from_noise, h};
    for (int i = 0; i < 6; i++) orr_tensor_free(all[i]);
    small_world_free(&w);
}

/* The Video2World denoiser re-imposes the condition frames on the state
 * (scaled as a noisy sample at sigma) and replaces their network output by
 * the official, inexact reverse preconditioning, so that
 * x0 = gt + c_skip (1 - c_out) x_in there; the rest of the state is left
 * alone, and at sigma <= augment_sigma the condition is dropped. */
static void test_video_conditioning(void) {
    small_world w;
    if (!small_world_init(&w, true)) return;
    w.cond.condition_frames = 2;
    w.cond.augment_sigma = 0.0f;
    int64_t n = orr_tensor_numel(w.latent), frame = 6 * 6, T = 3;
    orr_denoiser d;
    orr_rng rng;
    orr_rng_init(&rng, 1);
    CHECK_OK(orr_denoiser_init(&d, w.dit, &w.cond, w.latent->shape, 0.5, false, &rng));
    float *x = malloc(n * sizeof *x), *x0 = malloc(n * sizeof *x0), *xe = malloc(n * sizeof *xe);
    test_fill(x, (long)n, 17);
    const float *gt = w.latent->data;
    double sigmas[2] = {1.5, 1e-4};
    for (int k = 0; k < 2; k++) {
        float s = (float)sigmas[k];
        w.cond.augment_sigma = k ? 0.001f : 0.0f;
        CHECK_OK(orr_denoise(&d, x0, xe, x, s, 7.0, NULL));
        edm_scalings e = orr_edm_scalings(s, 0.5);
        double worst_x = 0, worst_x0 = 0, worst_free = 0;
        for (int64_t i = 0; i < n; i++) {
            bool cond_frame = k == 0 && (i / frame) % T < 2;
            if (cond_frame) {
                float want_x = gt[i] * 2.0f / e.c_in; /* c_in(0) = 2 */
                worst_x = fmax(worst_x, fabs(xe[i] - want_x));
                worst_x0 = fmax(worst_x0, fabs(x0[i] - (gt[i] + e.c_skip * (1 - e.c_out) * xe[i])));
            } else {
                worst_free = fmax(worst_free, fabs(xe[i] - x[i]));
            }
        }
        CHECK(worst_x < 1e-5 && worst_x0 < 1e-5 && worst_free == 0);
    }
    free(x);
    free(x0);
    free(xe);
    orr_denoiser_free(&d);
    /* every kind takes the conditioning */
    orr_sampler_kind kinds[] = {ORR_SAMPLER_EULER, ORR_SAMPLER_HEUN, ORR_SAMPLER_RES_2AB, ORR_SAMPLER_DPMPP_2M};
    for (int k = 0; k < 4; k++) {
        orr_sampler_params q;
        orr_sampler_params_init(&q, kinds[k]);
        q.steps = 4;
        orr_tensor *out = sample(&w, &q);
        int64_t bad = -1;
        CHECK_OK(orr_count_nonfinite(out, &bad));
        CHECK(bad == 0);
        orr_tensor_free(out);
    }
    small_world_free(&w);
}

/* Prompt lengths zero the embedding past them, as the T5 encoding does. */
static void test_text_lengths(void) {
    small_world w;
    if (!small_world_init(&w, false)) return;
    orr_sampler_params p;
    orr_sampler_params_init(&p, ORR_SAMPLER_EULER);
    p.steps = 3;
    int len[1] = {2}, neg_len[1] = {4};
    w.cond.text_lengths = len;
    w.cond.neg_text_lengths = neg_len;
    orr_tensor *a = sample(&w, &p);
    w.cond.text_lengths = w.cond.neg_text_lengths = NULL;
    float *t = w.text->data, *n = w.neg->data;
    memset(t + 2 * 8, 0, 3 * 8 * sizeof *t);
    memset(n + 4 * 8, 0, 1 * 8 * sizeof *n);
    orr_tensor *b = sample(&w, &p);
    CHECK(rel_diff(a, b) == 0);
    len[0] = 6;
    w.cond.text_lengths = len;
    CHECK_FAILS(orr_dit_sample(w.dit, w.out, &w.cond, &p), ORR_ERR_ARGUMENT, "text length 6 of item 0 is outside [0, 5]");
    orr_tensor_free(a);
    orr_tensor_free(b);
    small_world_free(&w);
}

static void test_errors(void) {
    small_world w, v;
    if (!small_world_init(&w, false) || !small_world_init(&v, true)) return;
    orr_sampler_params p;
    orr_sampler_params_init(&p, ORR_SAMPLER_EULER);
    p.steps = 2;
    orr_tensor *nan_latent = filled(5, w.out->shape, 4, 1.0f);
    ((float *)nan_latent->data)[11] = NAN;
    p.init_latent = nan_latent;
    CHECK_FAILS(orr_dit_sample(w.dit, w.out, &w.cond, &p), ORR_ERR_NONFINITE, "initial state holds 1 NaN/Inf");
    p.init_latent = NULL;

    orr_tensor *wide = filled(3, (int64_t[]){1, 5, 9}, 1, 1.0f);
    w.cond.text = wide;
    CHECK_FAILS(orr_dit_sample(w.dit, w.out, &w.cond, &p), ORR_ERR_SHAPE, "text embedding is f32[1,5,9], expected [1,L,8]");
    w.cond.text = w.text;
    w.cond.neg_text = wide;
    CHECK_FAILS(orr_dit_sample(w.dit, w.out, &w.cond, &p), ORR_ERR_SHAPE, "neg_text is f32[1,5,9], expected [1,5,8]");
    w.cond.neg_text = w.neg;

    double bad[3] = {5, 6, 0};
    p.sigmas = bad;
    CHECK_FAILS(orr_dit_sample(w.dit, w.out, &w.cond, &p), ORR_ERR_ARGUMENT, "not decreasing");
    p.sigmas = NULL;

    orr_tensor *odd = NULL;
    CHECK_OK(orr_tensor_empty(&odd, ORR_F32, 5, (int64_t[]){1, 4, 3, 5, 6}));
    CHECK_FAILS(orr_dit_sample(w.dit, odd, &w.cond, &p), ORR_ERR_SHAPE, "spatial patch 2");
    orr_tensor *five = NULL;
    CHECK_OK(orr_tensor_empty(&five, ORR_F32, 5, (int64_t[]){1, 5, 3, 6, 6}));
    CHECK_FAILS(orr_dit_sample(w.dit, five, &w.cond, &p), ORR_ERR_SHAPE, "the latent has 5 channels but the network takes 4");

    w.cond.condition_latent = w.latent;
    CHECK_FAILS(orr_dit_sample(w.dit, w.out, &w.cond, &p), ORR_ERR_ARGUMENT, "GeneralDIT is not video-conditioned");
    w.cond.condition_latent = NULL;
    v.cond.condition_latent = NULL;
    CHECK_FAILS(orr_dit_sample(v.dit, v.out, &v.cond, &p), ORR_ERR_ARGUMENT, "needs cond->condition_latent");
    v.cond.condition_latent = v.latent;
    v.cond.condition_frames = 4;
    CHECK_FAILS(orr_dit_sample(v.dit, v.out, &v.cond, &p), ORR_ERR_ARGUMENT, "condition_frames 4 is outside [0, 3]");
    orr_tensor *all[] = {nan_latent, wide, odd, five};
    for (int i = 0; i < 4; i++) orr_tensor_free(all[i]);
    small_world_free(&w);
    small_world_free(&v);
}

int main(void) {
    test_schedules();
    test_schedule_function();
    test_t2w_fixture();
    test_v2w_fixture();
    test_res_fixture();
    test_samplers_converge();
    test_callbacks();
    test_seeds_and_strength();
    test_video_conditioning();
    test_text_lengths();
    test_errors();
    return test_finish("test_sampler");
}
