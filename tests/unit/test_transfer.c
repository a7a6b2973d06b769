/* Cosmos-Transfer1: the MultiControlNet forward (two branches, one branch,
 * the base alone) and its trace against the cut transfer_ctrl fixture, the
 * weight maps (bf16 exact, float32, scalars), the sampling loop against the
 * cut transfer_sampler fixture (free-running and one traced call), the
 * callbacks, and the error paths. Data: tests/data/transfer (README.md). */
#include "models/transfer.h"
#include "test_util.h"

#define DATA "data/transfer/"

static orr_tensor *get(const orr_safetensors *f, const char *name) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_st_get(f, name, &t));
    return t;
}

static orr_tensor *empty(int ndim, const int64_t *shape) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, ndim, shape));
    return t;
}

/* The fixture's network: base_model.net.* and the first n hint encoders. */
static orr_transfer *network(const orr_safetensors *w, int n) {
    const char *base = orr_st_metadata(w, "base_config"), *ctrl = orr_st_metadata(w, "ctrl_config");
    orr_transfer *tr = NULL;
    CHECK_OK(orr_transfer_create(&tr, base, w));
    static const orr_control_kind kinds[2] = {ORR_CONTROL_EDGE, ORR_CONTROL_VIS};
    for (int i = 0; tr && i < n; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "net.hint_encoders.%d.", i);
        CHECK_OK(orr_transfer_add_control(tr, kinds[i], ctrl, w, prefix));
    }
    return tr;
}

static void check_close_tensor(const char *what, const orr_tensor *got, const orr_tensor *want, double tol) {
    CHECK(got && want && orr_tensor_numel(got) == orr_tensor_numel(want));
    if (!got || !want || orr_tensor_numel(got) != orr_tensor_numel(want)) return;
    orr_tensor *a = NULL, *b = NULL;
    CHECK_OK(orr_tensor_clone(&a, got, ORR_F32));
    CHECK_OK(orr_tensor_clone(&b, want, ORR_F32));
    CHECK_CLOSE(what, (float *)a->data, (float *)b->data, orr_tensor_numel(want), tol);
    orr_tensor_free(a);
    orr_tensor_free(b);
}

static void test_names(void) {
    orr_control_kind k;
    CHECK_OK(orr_control_kind_from_name("depth", &k));
    CHECK(k == ORR_CONTROL_DEPTH && !strcmp(orr_control_kind_name(ORR_CONTROL_LIDAR), "lidar"));
    CHECK(orr_control_kind_name(ORR_CONTROL_KIND_COUNT) == NULL);
    CHECK_FAILS(orr_control_kind_from_name("normal", &k), ORR_ERR_NOT_FOUND, "unknown modality 'normal'");
}

static void test_forward(void) {
    orr_safetensors *w = NULL, *d = NULL;
    CHECK_OK(orr_st_open(DATA "weights.safetensors", &w));
    CHECK_OK(orr_st_open(DATA "ctrl.safetensors", &d));
    if (!w || !d) return;
    orr_transfer *two = network(w, 2), *one = network(w, 1);
    if (!two || !one) return;
    orr_transfer_info info;
    CHECK_OK(orr_transfer_get_info(two, &info));
    CHECK(info.controls == 2 && info.kind[1] == ORR_CONTROL_VIS && info.control_blocks[0] == 2);
    CHECK(info.hint_channels[0] == 32 && info.base.num_blocks == 3);
    CHECK(info.parameters == info.base.parameters + info.control_parameters[0] + info.control_parameters[1]);

    orr_tensor *x = get(d, "x"), *t = get(d, "timesteps"), *ctx = get(d, "crossattn_emb"), *fps = get(d, "fps"),
               *pm = get(d, "padding_mask"), *cm = get(d, "condition_video_input_mask"),
               *hint = get(d, "control_input_multi"), *cw = get(d, "control_weight_token");
    orr_tensor *out = empty(5, x->shape);
    orr_transfer_inputs in = {{x, t, ctx, fps, pm, cm}, hint, cw};
    orr_tensor_list *trace = NULL;
    CHECK_OK(orr_tensor_list_create(&trace));
    CHECK_OK(orr_transfer_forward(two, out, &in, trace));
    orr_tensor *want = get(d, "out");
    check_close_tensor("out", out, want, 1e-4);
    orr_tensor_free(want);
    static const char *stages[] = {"branch0.guided_hint", "branch1.residual.block1", "x_ctrl.block0",
                                   "base.blocks.block2"};
    for (int i = 0; i < 4; i++) {
        want = get(d, stages[i]);
        check_close_tensor(stages[i], orr_tensor_list_find(trace, stages[i]), want, 1e-4);
        orr_tensor_free(want);
    }
    CHECK(orr_tensor_list_find(trace, "branch1.rope_emb") && orr_tensor_list_find(trace, "base.final_layer"));

    /* the base alone, and the single-control path with weight [:1] */
    CHECK_OK(orr_dit_forward(orr_transfer_base(two), out, &in.net, NULL));
    want = get(d, "out_base_only");
    check_close_tensor("out_base_only", out, want, 1e-4);
    orr_tensor_free(want);
    orr_tensor *hint1 = NULL, *cw1 = NULL;
    CHECK_OK(orr_tensor_narrow(&hint1, hint, 1, 0, 1));
    CHECK_OK(orr_tensor_narrow(&cw1, cw, 0, 0, 1));
    orr_transfer_inputs in1 = {in.net, hint1, cw1};
    CHECK_OK(orr_transfer_forward(one, out, &in1, NULL));
    want = get(d, "out_single_ctrl0");
    check_close_tensor("out_single_ctrl0", out, want, 1e-4);
    orr_tensor_free(want);

    /* scalar weights act as constant maps; NULL is 1 for every branch */
    orr_tensor *scalars = empty(1, (int64_t[]){2}), *maps = empty(6, cw->shape), *out2 = empty(5, x->shape);
    orr_tensor_set(scalars, 0, 0.5);
    orr_tensor_set(scalars, 1, 0.25);
    orr_tensor *m0 = NULL, *m1 = NULL;
    CHECK_OK(orr_tensor_narrow(&m0, maps, 0, 0, 1));
    CHECK_OK(orr_tensor_narrow(&m1, maps, 0, 1, 1));
    CHECK_OK(orr_fill(m0, 0.5));
    CHECK_OK(orr_fill(m1, 0.25));
    in.control_weight = scalars;
    CHECK_OK(orr_transfer_forward(two, out, &in, NULL));
    in.control_weight = maps;
    CHECK_OK(orr_transfer_forward(two, out2, &in, NULL));
    CHECK_CLOSE("scalars vs maps", (float *)out->data, (float *)out2->data, orr_tensor_numel(out), 1e-6);
    CHECK_OK(orr_fill(maps, 1.0));
    CHECK_OK(orr_transfer_forward(two, out2, &in, NULL));
    in.control_weight = NULL;
    CHECK_OK(orr_transfer_forward(two, out, &in, NULL));
    CHECK_CLOSE("NULL vs ones", (float *)out->data, (float *)out2->data, orr_tensor_numel(out), 1e-6);

    /* errors name the argument and the shape */
    in.control_weight = cw1;
    CHECK_FAILS(orr_transfer_forward(two, out, &in, NULL), ORR_ERR_SHAPE, "control_weight is f32[1,2,1,4,4,4]");
    in.control_weight = cw;
    in.latent_hint = hint1;
    CHECK_FAILS(orr_transfer_forward(two, out, &in, NULL), ORR_ERR_SHAPE,
                "latent_hint is f32[2,1,16,4,8,8], expected [2,2,C,4,8,8]");
    in.latent_hint = NULL;
    CHECK_FAILS(orr_transfer_forward(two, out, &in, NULL), ORR_ERR_ARGUMENT, "latent_hint is NULL but 2 branches");
    in.latent_hint = hint;
    in.net.condition_mask = NULL;
    CHECK_FAILS(orr_transfer_forward(two, out, &in, NULL), ORR_ERR_SHAPE, "needs condition_mask");
    const char *base = orr_st_metadata(w, "base_config");
    CHECK_FAILS(orr_transfer_add_control(two, ORR_CONTROL_DEPTH, base, w, "net.hint_encoders.0."), ORR_ERR_FORMAT,
                "neither 'layer_mask' nor 'num_control_blocks'");
    CHECK_FAILS(orr_transfer_add_control(
                    two, ORR_CONTROL_DEPTH,
                    "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, "
                    "\"out_channels\": 16, \"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 32, "
                    "\"num_heads\": 4, \"pos_emb_cls\": \"rope3d\", \"num_control_blocks\": 1}",
                    w, NULL),
                ORR_ERR_FORMAT, "does not match the base");
    CHECK_FAILS(orr_transfer_add_control(two, ORR_CONTROL_DEPTH, orr_st_metadata(w, "ctrl_config"), w, "net.nothing."),
                ORR_ERR_NOT_FOUND, "transfer control 'depth'");
    CHECK(two->n_branches == 2);

    orr_tensor *all[] = {x, t, ctx, fps, pm, cm, hint, cw, out, out2, hint1, cw1, scalars, maps, m0, m1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_tensor_list_free(trace);
    orr_transfer_free(two);
    orr_transfer_free(one);
    orr_st_close(w);
    orr_st_close(d);
}

static void test_weight_maps(void) {
    orr_safetensors *d = NULL;
    CHECK_OK(orr_st_open(DATA "ctrl.safetensors", &d));
    if (!d) return;
    orr_tensor *m0 = get(d, "weight_map.0.b0"), *m1 = get(d, "weight_map.1.b0");
    orr_control_weight ws[2] = {{0, m0}, {0, m1}};
    orr_tensor *px = empty(4, (int64_t[]){2, 25, 64, 64});
    CHECK_OK(orr_control_weights_normalize(px, 2, ws, true));
    /* bf16 as the official: exact */
    orr_tensor *want = get(d, "control_weight_pixel_b0_frames0to4"), *first = NULL;
    CHECK_OK(orr_tensor_narrow(&first, px, 1, 0, 5));
    check_close_tensor("pixel maps", first, want, 0.0);
    orr_tensor_free(want);
    /* to the token grid; item 0 of the official [N, B, 1, t, h, w] */
    orr_tensor *tok = empty(4, (int64_t[]){2, 4, 4, 4}), *tok_b = empty(6, (int64_t[]){2, 2, 1, 4, 4, 4});
    orr_tensor *px_b = empty(6, (int64_t[]){2, 2, 1, 25, 64, 64}), *b0 = NULL, *b1 = NULL;
    for (int b = 0; b < 2; b++) {
        orr_tensor *item = NULL, *maps = NULL;
        CHECK_OK(orr_tensor_select(&item, px_b, 1, b));
        CHECK_OK(orr_tensor_select(&maps, item, 1, 0));
        CHECK_OK(orr_copy(maps, px));
        orr_tensor_free(item);
        orr_tensor_free(maps);
    }
    CHECK_OK(orr_control_weights_to_tokens(tok_b, px_b, true));
    want = get(d, "control_weight_token");
    orr_tensor *want0 = NULL, *got0 = NULL;
    CHECK_OK(orr_tensor_narrow(&want0, want, 1, 0, 1));
    CHECK_OK(orr_tensor_narrow(&got0, tok_b, 1, 0, 1));
    check_close_tensor("token maps", got0, want0, 0.0);
    /* float32 from the same maps: within bf16's precision of the official */
    CHECK_OK(orr_control_weights_to_tokens(tok, px, false));
    check_close_tensor("token maps, float32", tok, want0, 8e-3);

    /* scalars: rescaled where they sum past 1, in bf16 */
    orr_tensor *s = empty(1, (int64_t[]){3});
    orr_control_weight sc[3] = {{0.5, NULL}, {0.3, NULL}, {0.7, NULL}};
    CHECK_OK(orr_control_weights_normalize(s, 3, sc, true));
    CHECK(orr_tensor_get(s, 0) == orr_bf16_to_f32(orr_f32_to_bf16(0.5f / orr_bf16_to_f32(orr_f32_to_bf16(1.5f)))));
    orr_control_weight half[1] = {{0.5, NULL}};
    orr_tensor *s1 = empty(1, (int64_t[]){1});
    CHECK_OK(orr_control_weights_normalize(s1, 1, half, false));
    CHECK(orr_tensor_get(s1, 0) == 0.5); /* a single 0.5 stays 0.5 */
    /* a [H, W] map holds for every frame; a scalar beside a map is a constant map */
    orr_tensor *hw = empty(2, (int64_t[]){8, 8}), *mix = empty(4, (int64_t[]){2, 3, 8, 8});
    CHECK_OK(orr_fill(hw, 0.75));
    orr_tensor_set(hw, 0, 2.0);
    orr_control_weight mixed[2] = {{0, hw}, {0.5, NULL}};
    CHECK_OK(orr_control_weights_normalize(mix, 2, mixed, false));
    CHECK_NEAR(orr_tensor_get(mix, 64 * 2), 2.0 / 2.5, 1e-6);      /* frame 2, pixel 0: 2 / (2 + 0.5) */
    CHECK_NEAR(orr_tensor_get(mix, 64 + 1), 0.75 / 1.25, 1e-6);    /* frame 1, pixel 1 */
    CHECK_NEAR(orr_tensor_get(mix, 3 * 64 + 1), 0.5 / 1.25, 1e-6); /* weight 1 there */

    sc[1].value = -0.1;
    CHECK_FAILS(orr_control_weights_normalize(s, 3, sc, true), ORR_ERR_ARGUMENT, "weight 1 is -0.1; it must be >= 0");
    CHECK_FAILS(orr_control_weights_normalize(s, 2, ws, true), ORR_ERR_SHAPE, "expected [2,T,H,W]");
    CHECK_FAILS(orr_control_weights_normalize(px, 1, half, true), ORR_ERR_SHAPE, "scalar weights give [1]");
    orr_tensor *bad = empty(4, (int64_t[]){2, 3, 4, 4});
    CHECK_FAILS(orr_control_weights_to_tokens(tok, bad, true), ORR_ERR_SHAPE,
                "have 3 frames; 4 token frames take 4 or 25");
    orr_tensor *all[] = {m0, m1, px, first, tok, tok_b, px_b, b0, b1, want, want0, got0, s, s1, hw, mix, bad};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_st_close(d);
}

static int progress_calls;
static void on_progress(void *user, const orr_sampler_progress *p) {
    (void)user;
    progress_calls += p->steps == 5;
}
static bool cancel_at_two(void *user) { return ++*(int *)user > 2; }

static void test_sampler(void) {
    orr_safetensors *w = NULL, *d = NULL;
    CHECK_OK(orr_st_open(DATA "weights.safetensors", &w));
    CHECK_OK(orr_st_open(DATA "sampler.safetensors", &d));
    if (!w || !d) return;
    orr_transfer *tr = network(w, 2);
    if (!tr) return;
    orr_transfer_cond cond;
    orr_transfer_cond_init(&cond);
    orr_tensor *text = get(d, "t5_text_embeddings"), *neg = get(d, "neg_t5_text_embeddings"),
               *pm = get(d, "padding_mask"), *hint = get(d, "latent_hint"), *cw = get(d, "control_weight"),
               *lat = get(d, "condition_latent"), *noise = get(d, "augment_noise"), *x_T = get(d, "x_T");
    cond.base.text = text;
    cond.base.neg_text = neg;
    cond.base.fps = 30;
    cond.base.padding_mask = pm;
    cond.base.condition_latent = lat;
    cond.base.condition_frames = 1;
    cond.base.augment_noise = noise;
    cond.latent_hint = hint;
    cond.control_weight = cw;
    orr_sampler_params p;
    orr_transfer_sampler_params_init(&p);
    CHECK(p.kind == ORR_SAMPLER_RES_2AB && p.guidance == 5.0 && p.steps == 35);
    p.steps = 5;
    p.progress = on_progress;
    /* the official start: unit noise times sigma_max */
    orr_tensor *unit = empty(5, x_T->shape), *out = empty(5, x_T->shape);
    CHECK_OK(orr_affine(unit, x_T, 1.0f / 80.0f, 0.0f));
    p.init_noise = unit;
    CHECK_OK(orr_transfer_sample(tr, out, &cond, &p));
    orr_tensor *want = get(d, "samples");
    check_close_tensor("samples", out, want, 1e-4);
    orr_tensor_free(want);
    CHECK(progress_calls == 5);

    /* one traced call: x0 of call 3 from the recorded x */
    transfer_denoiser dn;
    double sigmas[6];
    CHECK_OK(orr_sampler_sigmas(&p, sigmas, 6));
    CHECK_OK(orr_transfer_denoiser_init(&dn, tr, &cond, x_T->shape, &p, NULL));
    orr_tensor *xs = get(d, "x"), *guided = empty(5, x_T->shape), *uncond = empty(5, x_T->shape);
    float *x0 = malloc(sizeof(float) * 16 * 4 * 8 * 8);
    int64_t n = orr_tensor_numel(x_T);
    for (int i = 0; i <= 3; i++) {
        transfer_trace trc = {0};
        trc.x0_guided = i == 3 ? guided : NULL;
        trc.x0_uncond = i == 3 ? uncond : NULL;
        CHECK_OK(orr_transfer_denoise(&dn, x0, (float *)xs->data + i * n, sigmas[i], 5.0, &trc));
    }
    orr_tensor *rec = get(d, "x0_guided"), *rec3 = NULL;
    CHECK_OK(orr_tensor_select(&rec3, rec, 0, 3));
    check_close_tensor("x0_guided[3]", guided, rec3, 1e-4);
    orr_tensor_free(rec);
    orr_tensor_free(rec3);
    rec = get(d, "x0_uncond");
    CHECK_OK(orr_tensor_select(&rec3, rec, 0, 3));
    check_close_tensor("x0_uncond[3]", uncond, rec3, 1e-4);
    /* the one-tile blending mask: 0.01 on row 0 and column 0, 0.0001 at
     * their corner (x0 m / (m + 1e-6) scales them by 0.9999 and 0.990099) */
    CHECK(dn.merge[0] == 0.01f * 0.01f && dn.merge[5] == 0.01f && dn.merge[8] == 0.01f && dn.merge[9] == 1.0f);
    orr_transfer_denoiser_free(&dn);

    /* cancel, and the loops the official pipeline does not have */
    int polls = 0;
    p.cancel = cancel_at_two;
    p.cancel_user = &polls;
    CHECK_FAILS(orr_transfer_sample(tr, out, &cond, &p), ORR_ERR_CANCELLED, "cancelled before step 2 of 5");
    p.cancel = NULL;
    p.kind = ORR_SAMPLER_EULER;
    CHECK_FAILS(orr_transfer_sample(tr, out, &cond, &p), ORR_ERR_UNSUPPORTED, "RES \"2ab\"");
    p.kind = ORR_SAMPLER_RES_2AB;
    cond.latent_hint = NULL;
    CHECK_FAILS(orr_transfer_sample(tr, out, &cond, &p), ORR_ERR_ARGUMENT, "latent_hint is NULL");
    cond.latent_hint = hint;
    cond.base.condition_frames = 9;
    CHECK_FAILS(orr_transfer_sample(tr, out, &cond, &p), ORR_ERR_ARGUMENT, "condition_frames 9 is outside [0, 4]");

    orr_tensor *all[] = {text, neg, pm, hint, cw, lat, noise, x_T, unit, out, xs, guided, uncond, rec, rec3};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    free(x0);
    orr_transfer_free(tr);
    orr_st_close(w);
    orr_st_close(d);
}

static void test_random(void) {
    /* random branches fit the base and run (the benchmark's path) */
    const char *base = "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, \"in_channels\": 17, "
                       "\"out_channels\": 16, \"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 32, "
                       "\"num_blocks\": 3, \"num_heads\": 2, \"crossattn_emb_channels\": 8, \"use_adaln_lora\": true, "
                       "\"adaln_lora_dim\": 8, \"affline_emb_norm\": true, \"extra_per_block_abs_pos_emb\": true, "
                       "\"extra_per_block_abs_pos_emb_type\": \"learnable\", \"pos_emb_cls\": \"rope3d\"}";
    char ctrl[1024];
    snprintf(ctrl, sizeof ctrl, "%.*s, \"hint_channels\": 16, \"num_control_blocks\": 2}", (int)strlen(base) - 1, base);
    orr_transfer *tr = NULL;
    CHECK_OK(orr_transfer_create_random(&tr, base, 1));
    if (!tr) return;
    CHECK_OK(orr_transfer_add_control_random(tr, ORR_CONTROL_EDGE, ctrl, 2));
    CHECK_OK(orr_transfer_add_control_random(tr, ORR_CONTROL_DEPTH, ctrl, 3));
    orr_tensor *x = empty(5, (int64_t[]){1, 16, 2, 4, 4}), *t = empty(1, (int64_t[]){1}),
               *ctx = empty(3, (int64_t[]){1, 3, 8}), *fps = empty(1, (int64_t[]){1}),
               *cm = empty(5, (int64_t[]){1, 1, 2, 4, 4}), *hint = empty(6, (int64_t[]){1, 2, 16, 2, 4, 4}),
               *out = empty(5, (int64_t[]){1, 16, 2, 4, 4});
    orr_rng rng;
    orr_rng_init(&rng, 7);
    CHECK_OK(orr_rng_normal(&rng, x, 0, 1));
    CHECK_OK(orr_rng_normal(&rng, hint, 0, 1));
    CHECK_OK(orr_rng_normal(&rng, ctx, 0, 1));
    CHECK_OK(orr_fill(t, 0.3));
    CHECK_OK(orr_fill(fps, 24));
    CHECK_OK(orr_fill(cm, 0));
    orr_transfer_inputs in = {{x, t, ctx, fps, NULL, cm}, hint, NULL};
    CHECK_OK(orr_transfer_forward(tr, out, &in, NULL));
    int64_t bad = -1;
    CHECK_OK(orr_count_nonfinite(out, &bad));
    CHECK(bad == 0);
    orr_tensor *all[] = {x, t, ctx, fps, cm, hint, out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_transfer_free(tr);
}

int main(void) {
    test_names();
    test_forward();
    test_weight_maps();
    test_sampler();
    test_random();
    return test_finish("test_transfer");
}
