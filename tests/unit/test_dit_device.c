/* The DiT's placement API on any machine: orr_dit_memory_estimate against
 * the weights and the activation arena a cpu forward really takes, the 7B
 * Text2World model's figures (resident in bf16 on one GPU, and within 24 GB
 * when streamed), moving the weights between dtypes on the cpu, and the
 * error paths of orr_dit_to_device (a cuda placement without a device
 * among them). The device forward itself is tests/gpu/test_dit_cuda.c. */
#include "models/dit.h"
#include "test_util.h"

static const char *tiny_config(bool lora) {
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, \"in_channels\": 4, \"out_channels\": 4,"
             " \"patch_spatial\": 2, \"patch_temporal\": 1, \"block_config\": \"FA-CA-MLP\", \"model_channels\": 32,"
             " \"num_blocks\": 3, \"num_heads\": 2, \"mlp_ratio\": 2.0, \"block_x_format\": \"THWBD\","
             " \"crossattn_emb_channels\": 8, \"pos_emb_cls\": \"rope3d\", \"affline_emb_norm\": true,"
             " \"use_adaln_lora\": %s, \"adaln_lora_dim\": 8, \"extra_per_block_abs_pos_emb\": true,"
             " \"extra_per_block_abs_pos_emb_type\": \"learnable\"}",
             lora ? "true" : "false");
    return buf;
}

static orr_tensor *filled(int ndim, const int64_t *shape, unsigned seed) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, ndim, shape));
    if (t) test_fill(t->data, (long)orr_tensor_numel(t), seed);
    return t;
}

typedef struct run {
    orr_tensor *x, *t, *ctx, *fps, *out;
} run;

static run make_run(void) {
    run r = {filled(5, (int64_t[]){2, 4, 2, 8, 8}, 1), filled(1, (int64_t[]){2}, 2), filled(3, (int64_t[]){2, 5, 8}, 3),
             NULL, NULL};
    CHECK_OK(orr_tensor_empty(&r.fps, ORR_F32, 1, (int64_t[]){2}));
    if (r.fps) CHECK_OK(orr_fill(r.fps, 24.0));
    CHECK_OK(orr_tensor_empty(&r.out, ORR_F32, 5, (int64_t[]){2, 4, 2, 8, 8}));
    return r;
}

static orr_status forward(orr_dit *dit, run *r) {
    orr_dit_inputs in = {r->x, r->t, r->ctx, r->fps, NULL, NULL};
    return orr_dit_forward(dit, r->out, &in, NULL);
}

static void free_run(run *r) {
    orr_tensor *all[] = {r->x, r->t, r->ctx, r->fps, r->out};
    for (int i = 0; i < 5; i++) orr_tensor_free(all[i]);
}

/* The estimate's weights and activations are what the cpu net holds. */
static void test_estimate_matches_cpu(bool lora) {
    orr_dit *dit = NULL;
    CHECK_OK(orr_dit_create_random(&dit, "GeneralDIT", tiny_config(lora), 5));
    if (!dit) return;
    run r = make_run();
    const int64_t x_shape[5] = {2, 4, 2, 8, 8};
    orr_dit_memory m;
    CHECK_OK(orr_dit_memory_estimate(dit, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT, x_shape, 5, &m));
    orr_dit_info info;
    CHECK_OK(orr_dit_get_info(dit, &info));
    CHECK(m.weights == info.parameters * 4);
    CHECK(m.pinned_weights == 0 && m.workspace == 0);
    CHECK_OK(forward(dit, &r));
    CHECK(dit->arena && (int64_t)orr_arena_capacity(dit->arena) == m.activations);
    CHECK(dit->pos.bytes + dit->kv.bytes == (size_t)m.caches);
    CHECK(m.total == m.weights + m.activations + m.caches);

    /* bf16 matrices halve all but the norms, biases and position tables */
    orr_dit_memory h;
    CHECK_OK(orr_dit_memory_estimate(dit, ORR_CPU, ORR_BF16, ORR_DIT_RESIDENT, x_shape, 5, &h));
    /* position tables, q/k norms of the 2 attention sub-blocks of 3 blocks, affine norm, biases */
    int64_t pos = orr_tensor_numel(dit->pos_t) + orr_tensor_numel(dit->pos_h) + orr_tensor_numel(dit->pos_w);
    int64_t small = pos + 3 * 2 * (2 * 16) + 32 + (lora ? 0 : 2 * 32);
    CHECK(h.weights == 4 * small + 2 * (info.parameters - small));

    /* streamed on cuda: two staged blocks on the device, all blocks pinned */
    orr_dit_memory res, str;
    CHECK_OK(orr_dit_memory_estimate(dit, ORR_CUDA, ORR_BF16, ORR_DIT_RESIDENT, x_shape, 5, &res));
    CHECK_OK(orr_dit_memory_estimate(dit, ORR_CUDA, ORR_BF16, ORR_DIT_STREAMED, x_shape, 5, &str));
    CHECK(res.weights == h.weights && res.pinned_weights == 0);
    int64_t staged = str.pinned_weights / 3;
    CHECK(str.pinned_weights % 3 == 0 && staged > 0);
    int64_t outside = str.weights - 2 * staged, blocks = res.weights - outside;
    /* a block staged is its matrices, each rounded up to 256 bytes */
    CHECK(outside > 0 && blocks <= 3 * staged && 3 * staged - blocks < 3 * 3 * 8 * 256);
    CHECK(str.activations == res.activations && str.caches == res.caches && res.workspace == 32 << 20);
    CHECK(res.total == res.weights + res.activations + res.caches + res.workspace);
    free_run(&r);
    orr_dit_free(dit);
}

/* The released 7B Text2World at 121x704x1280 (latent 16x88x160), guided
 * (batch 2), T5 text of 512 tokens. */
static void test_estimate_7b(void) {
    dit_config cfg;
    CHECK_OK(orr_dit_config_parse(&cfg, "GeneralDIT", orr_dit_config_7b_text2world));
    const int64_t x_shape[5] = {2, 16, 16, 88, 160};
    orr_dit_memory res, str;
    CHECK_OK(orr_dit_memory_estimate_config(&cfg, ORR_CUDA, ORR_BF16, ORR_DIT_RESIDENT, x_shape, 512, &res));
    CHECK_OK(orr_dit_memory_estimate_config(&cfg, ORR_CUDA, ORR_BF16, ORR_DIT_STREAMED, x_shape, 512, &str));
    printf("7B bf16 at 2x16x16x88x160: resident %.2f GB (weights %.2f, activations %.2f, caches %.2f); "
           "streamed %.2f GB on the device + %.2f GB pinned\n",
           res.total / 1e9, res.weights / 1e9, res.activations / 1e9, res.caches / 1e9, str.total / 1e9,
           str.pinned_weights / 1e9);
    /* 7.24 B parameters, a few million of them f32 */
    CHECK(res.weights > (int64_t)14.4e9 && res.weights < (int64_t)14.6e9);
    CHECK(res.total < (int64_t)80e9);
    CHECK(str.total < (int64_t)24e9);
    CHECK(str.pinned_weights > (int64_t)14.3e9);
}

/* Moving between dtypes on the cpu; a failed move leaves the net as it was. */
static void test_to_device(void) {
    orr_dit *dit = NULL;
    CHECK_OK(orr_dit_create_random(&dit, "GeneralDIT", tiny_config(true), 9));
    if (!dit) return;
    run r = make_run();
    orr_tensor *want = NULL, *bf = NULL;
    CHECK_OK(forward(dit, &r));
    CHECK_OK(orr_tensor_clone(&want, r.out, ORR_F32));

    CHECK_FAILS(orr_dit_to_device(NULL, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT), ORR_ERR_ARGUMENT, "dit is NULL");
    CHECK_FAILS(orr_dit_to_device(dit, (orr_device)7, ORR_F32, ORR_DIT_RESIDENT), ORR_ERR_ARGUMENT, "unknown device 7");
    CHECK_FAILS(orr_dit_to_device(dit, ORR_CPU, ORR_F32, ORR_DIT_STREAMED), ORR_ERR_ARGUMENT, "the device is cpu");
    CHECK_FAILS(orr_dit_to_device(dit, ORR_CPU, ORR_F32, (orr_dit_memory_mode)5), ORR_ERR_ARGUMENT, "memory mode 5");
    CHECK_FAILS(orr_dit_to_device(dit, ORR_CPU, ORR_I32, ORR_DIT_RESIDENT), ORR_ERR_DTYPE, "cannot be i32 on cpu");
    CHECK_FAILS(orr_dit_to_device(dit, ORR_CUDA, ORR_F16, ORR_DIT_RESIDENT), ORR_ERR_DTYPE, "f32 or bf16");
    if (!orr_cuda_available()) {
        CHECK_FAILS(orr_dit_to_device(dit, ORR_CUDA, ORR_BF16, ORR_DIT_RESIDENT), ORR_ERR_UNSUPPORTED, "dit_to_device");
        CHECK_FAILS(orr_dit_to_device(dit, ORR_CUDA, ORR_BF16, ORR_DIT_STREAMED), ORR_ERR_UNSUPPORTED, "dit_to_device");
    }
    CHECK(orr_dit_device(dit) == ORR_CPU && orr_dit_device(NULL) == ORR_CPU);
    CHECK_OK(forward(dit, &r));
    if (want)
        CHECK_CLOSE("after the failed moves", (float *)r.out->data, (float *)want->data, orr_tensor_numel(want), 0);

    /* bf16 matrices on the cpu: the activations stay f32 */
    CHECK_OK(orr_dit_to_device(dit, ORR_CPU, ORR_BF16, ORR_DIT_RESIDENT));
    CHECK(dit->blocks[0].sub[0].q->dtype == ORR_BF16 && dit->blocks[0].sub[0].q_norm->dtype == ORR_F32);
    CHECK(dit->pos_t->dtype == ORR_F32 && dit->patch_embed->dtype == ORR_BF16);
    CHECK_OK(forward(dit, &r));
    CHECK_OK(orr_tensor_clone(&bf, r.out, ORR_F32));
    if (want && bf)
        CHECK_CLOSE("bf16 weights on the cpu", (float *)bf->data, (float *)want->data, orr_tensor_numel(want), 2e-2);
    /* back to f32: the bf16 values, widened exactly */
    CHECK_OK(orr_dit_to_device(dit, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT));
    CHECK(dit->blocks[0].sub[0].q->dtype == ORR_F32);
    CHECK_OK(forward(dit, &r));
    if (bf) CHECK_CLOSE("bf16 values in f32", (float *)r.out->data, (float *)bf->data, orr_tensor_numel(bf), 1e-6);

    const int64_t x_shape[5] = {2, 4, 2, 8, 8}, odd[5] = {2, 4, 2, 7, 8};
    orr_dit_memory m;
    CHECK_FAILS(orr_dit_memory_estimate(NULL, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT, x_shape, 5, &m), ORR_ERR_ARGUMENT,
                "dit is NULL");
    CHECK_FAILS(orr_dit_memory_estimate(dit, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT, odd, 5, &m), ORR_ERR_SHAPE,
                "7, 8 must be multiples");
    CHECK_FAILS(orr_dit_memory_estimate(dit, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT, x_shape, 0, &m), ORR_ERR_SHAPE,
                "text_len 0");
    CHECK_FAILS(orr_dit_memory_estimate(dit, ORR_CPU, ORR_F32, ORR_DIT_STREAMED, x_shape, 5, &m), ORR_ERR_ARGUMENT,
                "streamed mode");
    orr_tensor_free(want);
    orr_tensor_free(bf);
    free_run(&r);
    orr_dit_free(dit);
}

int main(void) {
    test_estimate_matches_cpu(true);
    test_estimate_matches_cpu(false);
    test_estimate_7b();
    test_to_device();
    return test_finish("test_dit_device");
}
