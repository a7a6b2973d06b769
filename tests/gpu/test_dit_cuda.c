/* The DiT on cuda against the same DiT on the cpu: the official dit_t2w and
 * dit_v2w fixture nets (tests/data/dit, head dim 16: the SIMT attention)
 * and a random net of head dim 64 (the tensor-core attention), output and
 * every traced stage; f32 weights within 1e-4 of the largest |cpu value|
 * (at least 1: f32 GEMMs and attention accumulate in another order), bf16
 * weights within 3e-2 of the cpu with the same weights (the device rounds
 * the GEMM inputs and the attention probabilities to bf16, over 2-4
 * blocks); the streamed mode equal to the resident one (to 1e-6: the
 * same kernels on the same numbers) over several calls; back on the cpu,
 * exactly the cpu's numbers again; a Euler and a RES sampler run (noise drawn on
 * the device) within 1e-3; the memory estimate against the device memory a
 * forward holds; inputs on the wrong device refused. Skipped (77) without
 * a usable device. */
#include "gpu_test_util.h"
#include "models/dit.h"

#define T2W_DIR "data/dit/t2w"
#define V2W_DIR "data/dit/v2w"

typedef struct inputs {
    orr_tensor *t[6]; /* x, timesteps, crossattn_emb, fps, padding_mask, condition_mask */
} inputs;

static orr_dit_inputs as_dit_inputs(const inputs *in) {
    return (orr_dit_inputs){in->t[0], in->t[1], in->t[2], in->t[3], in->t[4], in->t[5]};
}

static void free_inputs(inputs *in) {
    for (int i = 0; i < 6; i++) orr_tensor_free(in->t[i]);
}

static inputs fixture_inputs(const char *dir, bool video) {
    inputs in = {{NULL}};
    char path[256];
    snprintf(path, sizeof path, "%s/inputs.safetensors", dir);
    orr_safetensors *f = NULL;
    CHECK_OK(orr_st_open(path, &f));
    if (!f) return in;
    static const char *names[6] = {"x",   "timesteps",    "crossattn_emb",
                                   "fps", "padding_mask", "condition_video_input_mask"};
    for (int i = 0; i < (video ? 6 : 5); i++) {
        orr_tensor *view = NULL;
        CHECK_OK(orr_st_get(f, names[i], &view));
        if (view) CHECK_OK(orr_tensor_clone(&in.t[i], view, ORR_F32));
        orr_tensor_free(view);
    }
    orr_st_close(f);
    return in;
}

static inputs on(const inputs *host, orr_device device) {
    inputs d = {{NULL}};
    for (int i = 0; i < 6; i++)
        if (host->t[i]) CHECK_OK(orr_tensor_to(&d.t[i], host->t[i], device));
    return d;
}

/* out and trace of one forward, both on the host. */
typedef struct result {
    orr_tensor *out;
    orr_tensor_list *trace;
} result;

static result forward(orr_dit *dit, const inputs *in, bool traced) {
    result r = {NULL, NULL};
    orr_dit_info info;
    CHECK_OK(orr_dit_get_info(dit, &info));
    const orr_tensor *x = in->t[0];
    if (!x) return r;
    int64_t shape[5] = {x->shape[0], info.out_channels, x->shape[2], x->shape[3], x->shape[4]};
    orr_tensor *out = NULL;
    CHECK_OK(orr_tensor_empty_on(orr_dit_device(dit), &out, ORR_F32, 5, shape));
    if (traced) CHECK_OK(orr_tensor_list_create(&r.trace));
    orr_dit_inputs di = as_dit_inputs(in);
    if (out) CHECK_OK(orr_dit_forward(dit, out, &di, r.trace));
    if (out) CHECK_OK(orr_tensor_to(&r.out, out, ORR_CPU));
    orr_tensor_free(out);
    return r;
}

static void free_result(result *r) {
    orr_tensor_free(r->out);
    orr_tensor_list_free(r->trace);
}

static void expect_close(const char *what, const result *got, const result *want, double tol) {
    char name[160];
    if (!got->out || !want->out) return;
    snprintf(name, sizeof name, "%s: out", what);
    CHECK_CLOSE(name, (const float *)got->out->data, (const float *)want->out->data, orr_tensor_numel(want->out), tol);
    for (int64_t i = 0; want->trace && got->trace && i < orr_tensor_list_count(want->trace); i++) {
        const char *stage = orr_tensor_list_name(want->trace, i);
        const orr_tensor *w = orr_tensor_list_get(want->trace, i), *g = orr_tensor_list_find(got->trace, stage);
        snprintf(name, sizeof name, "%s: %s", what, stage);
        CHECK(g != NULL && orr_tensor_same_shape(g, w));
        if (g && orr_tensor_same_shape(g, w))
            CHECK_CLOSE(name, (const float *)g->data, (const float *)w->data, orr_tensor_numel(w), tol);
    }
}

/* Device memory in use now against the estimate for this forward. */
static void expect_within_estimate(const orr_dit *dit, const inputs *in, orr_dtype dtype, orr_dit_memory_mode mode,
                                   int64_t extra) {
    orr_dit_memory m;
    CHECK_OK(orr_dit_memory_estimate(dit, ORR_CUDA, dtype, mode, in->t[0]->shape, in->t[2]->shape[1], &m));
    orr_mem_stats s;
    orr_mem_get_stats(ORR_CUDA, &s);
    /* the inputs and the output the test holds are not the forward's */
    CHECK(s.bytes_in_use >= m.weights + m.activations);
    CHECK(s.bytes_in_use <= m.total + extra + (4 << 20));
}

static int64_t input_bytes(const inputs *in) {
    int64_t n = 0;
    for (int i = 0; i < 6; i++)
        if (in->t[i]) n += (int64_t)orr_tensor_nbytes(in->t[i]);
    return n;
}

/* One net through every placement. */
static void check_net(const char *what, orr_dit *dit, const inputs *host) {
    result cpu = forward(dit, host, true);
    inputs dev = on(host, ORR_CUDA);

    /* weights on cuda, inputs on the cpu: refused */
    CHECK_OK(orr_dit_to_device(dit, ORR_CUDA, ORR_F32, ORR_DIT_RESIDENT));
    CHECK(orr_dit_device(dit) == ORR_CUDA);
    orr_tensor *out = NULL;
    CHECK_OK(orr_tensor_empty_on(ORR_CUDA, &out, ORR_F32, 5, cpu.out ? cpu.out->shape : host->t[0]->shape));
    orr_dit_inputs di = as_dit_inputs(host);
    CHECK_FAILS(orr_dit_forward(dit, out, &di, NULL), ORR_ERR_ARGUMENT,
                "x is on cpu but the DiT's weights are on cuda");
    orr_tensor_free(out);

    char name[96];
    result f32 = forward(dit, &dev, true);
    snprintf(name, sizeof name, "%s f32 resident", what);
    expect_close(name, &f32, &cpu, 1e-4);
    expect_within_estimate(dit, &dev, ORR_F32, ORR_DIT_RESIDENT,
                           input_bytes(&dev) + (cpu.out ? (int64_t)orr_tensor_nbytes(cpu.out) : 0));

    CHECK_OK(orr_dit_to_device(dit, ORR_CUDA, ORR_F32, ORR_DIT_STREAMED));
    for (int call = 0; call < 2; call++) {
        result s = forward(dit, &dev, call == 0);
        snprintf(name, sizeof name, "%s f32 streamed, call %d", what, call);
        expect_close(name, &s, &f32, 1e-6);
        free_result(&s);
    }

    /* back on the cpu with the f32 weights: exactly the cpu's numbers */
    CHECK_OK(orr_dit_to_device(dit, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT));
    CHECK(orr_dit_device(dit) == ORR_CPU);
    result back = forward(dit, host, false);
    snprintf(name, sizeof name, "%s back on the cpu", what);
    expect_close(name, &back, &cpu, 0.0);

    /* the released models' dtype: against the cpu with the same bf16
     * weights (and f32 activations) */
    CHECK_OK(orr_dit_to_device(dit, ORR_CPU, ORR_BF16, ORR_DIT_RESIDENT));
    result cpu_bf = forward(dit, host, false);
    CHECK_OK(orr_dit_to_device(dit, ORR_CUDA, ORR_BF16, ORR_DIT_RESIDENT));
    result bf = forward(dit, &dev, false);
    snprintf(name, sizeof name, "%s bf16 resident", what);
    expect_close(name, &bf, &cpu_bf, 3e-2);
    CHECK_OK(orr_dit_to_device(dit, ORR_CUDA, ORR_BF16, ORR_DIT_STREAMED));
    result bs = forward(dit, &dev, false);
    snprintf(name, sizeof name, "%s bf16 streamed", what);
    expect_close(name, &bs, &bf, 1e-6);

    result *all[] = {&cpu, &f32, &back, &cpu_bf, &bf, &bs};
    for (int i = 0; i < 6; i++) free_result(all[i]);
    free_inputs(&dev);
}

static void test_fixture(const char *dir, const char *network) {
    char path[256];
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    orr_safetensors *w = NULL;
    orr_dit *dit = NULL;
    CHECK_OK(orr_st_open(path, &w));
    if (!w) return;
    CHECK_OK(orr_dit_load(&dit, network, orr_st_metadata(w, "config"), w));
    orr_st_close(w);
    inputs in = fixture_inputs(dir, strcmp(network, "VideoExtendGeneralDIT") == 0);
    if (dit && in.t[0]) check_net(network, dit, &in);
    free_inputs(&in);
    orr_dit_free(dit);
}

/* Head dim 64 (the tensor-core attention), 4 blocks (the streamed mode's
 * two buffers each reused), no padding mask. */
static const char *wide_config =
    "{\"max_img_h\": 32, \"max_img_w\": 32, \"max_frames\": 8, \"in_channels\": 16, \"out_channels\": 16,"
    " \"patch_spatial\": 2, \"patch_temporal\": 1, \"concat_padding_mask\": true, \"block_config\": \"FA-CA-MLP\","
    " \"model_channels\": 128, \"num_blocks\": 4, \"num_heads\": 2, \"mlp_ratio\": 4.0, \"block_x_format\": \"THWBD\","
    " \"crossattn_emb_channels\": 64, \"pos_emb_cls\": \"rope3d\", \"affline_emb_norm\": true,"
    " \"use_adaln_lora\": true, \"adaln_lora_dim\": 32, \"rope_t_extrapolation_ratio\": 2.0,"
    " \"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\"}";

static orr_tensor *filled(int ndim, const int64_t *shape, unsigned seed, float scale) {
    return test_tensor_filled(ORR_F32, ndim, shape, seed, scale);
}

static void test_wide(void) {
    orr_dit *dit = NULL;
    CHECK_OK(orr_dit_create_random(&dit, "GeneralDIT", wide_config, 3));
    inputs in = {{filled(5, (int64_t[]){2, 16, 3, 16, 24}, 1, 1.0f), filled(1, (int64_t[]){2}, 2, 1.0f),
                  filled(3, (int64_t[]){2, 77, 64}, 3, 1.0f), NULL, NULL, NULL}};
    CHECK_OK(orr_tensor_empty(&in.t[3], ORR_F32, 1, (int64_t[]){2}));
    if (in.t[3]) CHECK_OK(orr_fill(in.t[3], 24.0));
    if (dit) check_net("wide", dit, &in);
    free_inputs(&in);
    orr_dit_free(dit);
}

/* The same sampling run with the net on the cpu and on cuda. */
static void test_sampler(orr_sampler_kind kind) {
    orr_dit *dit = NULL;
    CHECK_OK(orr_dit_create_random(&dit, "GeneralDIT", wide_config, 11));
    if (!dit) return;
    orr_tensor *text = filled(3, (int64_t[]){1, 20, 64}, 5, 1.0f), *cpu = NULL, *dev = NULL, *back = NULL;
    const int64_t shape[5] = {1, 16, 3, 16, 16};
    orr_diffusion_cond cond;
    orr_diffusion_cond_init(&cond);
    cond.text = text;
    orr_sampler_params p;
    orr_sampler_params_init(&p, kind);
    p.steps = 4;
    p.seed = 42;
    CHECK_OK(orr_tensor_empty(&cpu, ORR_F32, 5, shape));
    if (cpu) CHECK_OK(orr_dit_sample(dit, cpu, &cond, &p));
    CHECK_OK(orr_dit_to_device(dit, ORR_CUDA, ORR_F32, ORR_DIT_RESIDENT));
    CHECK_OK(orr_tensor_empty_on(ORR_CUDA, &dev, ORR_F32, 5, shape));
    if (dev) CHECK_OK(orr_dit_sample(dit, dev, &cond, &p));
    if (dev) CHECK_OK(orr_tensor_to(&back, dev, ORR_CPU));
    if (back && cpu)
        CHECK_CLOSE(kind == ORR_SAMPLER_EULER ? "euler sample" : "res sample", (const float *)back->data,
                    (const float *)cpu->data, orr_tensor_numel(cpu), 1e-3);
    orr_tensor *all[] = {text, cpu, dev, back};
    for (int i = 0; i < 4; i++) orr_tensor_free(all[i]);
    orr_dit_free(dit);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_dit_cuda");
    test_fixture(T2W_DIR, "GeneralDIT");
    test_fixture(V2W_DIR, "VideoExtendGeneralDIT");
    test_wide();
    test_sampler(ORR_SAMPLER_EULER);
    test_sampler(ORR_SAMPLER_RES_2AB);
    return test_finish("test_dit_cuda");
}
