/* The DiT (GeneralDIT, VideoExtendGeneralDIT): the official dit_t2w and
 * dit_v2w fixtures (copied into tests/data/dit), the released-checkpoint
 * conventions (net. prefix, bf16 weights, _extra_state and non-network
 * keys), the switches the fixtures do not exercise (no AdaLN-LoRA, no
 * affine-embedding norm, BTHWD, other block orders, temporal patches) on
 * random nets, batch independence, the padding-mask resize, and the error
 * paths (config, weights, inputs, NaN inside the network). */
#include <stdlib.h>
#include <unistd.h>

#include "models/dit.h"
#include "test_util.h"

#define T2W_DIR "data/dit/t2w"
#define V2W_DIR "data/dit/v2w"

/* A tiny config with every switch of the released nets and the given
 * variations (in a static buffer: copy it to keep it across calls). */
static char *tiny_config(int in_channels, const char *x_format, const char *blocks, bool lora, bool affine_norm,
                         int patch_t) {
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"max_img_h\": 16, \"max_img_w\": 24, \"max_frames\": 8, \"in_channels\": %d, \"out_channels\": 4,"
             " \"patch_spatial\": 2, \"patch_temporal\": %d, \"block_config\": \"%s\", \"model_channels\": 32,"
             " \"num_blocks\": 2, \"num_heads\": 2, \"mlp_ratio\": 2.0, \"block_x_format\": \"%s\","
             " \"crossattn_emb_channels\": 8, \"pos_emb_cls\": \"rope3d\", \"affline_emb_norm\": %s,"
             " \"use_adaln_lora\": %s, \"adaln_lora_dim\": 8, \"rope_t_extrapolation_ratio\": 2.0,"
             " \"rope_h_extrapolation_ratio\": 2.0, \"extra_per_block_abs_pos_emb\": true,"
             " \"extra_per_block_abs_pos_emb_type\": \"learnable\"}",
             in_channels, patch_t, blocks, x_format, affine_norm ? "true" : "false", lora ? "true" : "false");
    return buf;
}

static orr_tensor *tensor(int ndim, const int64_t *shape, unsigned seed) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, ndim, shape));
    if (t) test_fill(t->data, (long)orr_tensor_numel(t), seed);
    return t;
}

static orr_tensor *constant(int ndim, const int64_t *shape, double v) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, ndim, shape));
    if (t) CHECK_OK(orr_fill(t, v));
    return t;
}

static void test_fixtures(void) {
    orr_verify_params p;
    orr_verify_params_init(&p);
    p.verbose = false;
    CHECK_OK(orr_verify_dir(T2W_DIR, &p, NULL));
    CHECK_OK(orr_verify_dir(V2W_DIR, &p, NULL));
}

/* Runs the t2w fixture inputs through a net and returns its output. */
static orr_tensor *fixture_forward(orr_dit *dit) {
    orr_safetensors *in = NULL;
    orr_tensor *x = NULL, *t = NULL, *ctx = NULL, *fps = NULL, *pm = NULL, *out = NULL;
    CHECK_OK(orr_st_open(T2W_DIR "/inputs.safetensors", &in));
    if (!in || !dit) return NULL;
    CHECK_OK(orr_st_get(in, "x", &x));
    CHECK_OK(orr_st_get(in, "timesteps", &t));
    CHECK_OK(orr_st_get(in, "crossattn_emb", &ctx));
    CHECK_OK(orr_st_get(in, "fps", &fps));
    CHECK_OK(orr_st_get(in, "padding_mask", &pm));
    CHECK_OK(orr_tensor_empty(&out, ORR_F32, 5, (int64_t[]){2, 16, 4, 8, 8}));
    orr_dit_inputs inputs = {x, t, ctx, fps, pm, NULL};
    CHECK_OK(orr_dit_forward(dit, out, &inputs, NULL));
    orr_tensor *all[] = {x, t, ctx, fps, pm};
    for (int i = 0; i < 5; i++) orr_tensor_free(all[i]);
    orr_st_close(in);
    return out;
}

/* Released checkpoints: "net." keys, bf16 weights, TransformerEngine
 * _extra_state entries and training-only keys beside the network. The bf16
 * net must equal the f32 net whose weights were rounded to bf16. */
static void test_checkpoint_conventions(void) {
    orr_safetensors *w = NULL;
    CHECK_OK(orr_st_open(T2W_DIR "/weights.safetensors", &w));
    if (!w) return;
    const char *config = orr_st_metadata(w, "config");
    int64_t n = orr_st_count(w);
    int64_t total = 2 * n + 2;
    char **names = calloc((size_t)total, sizeof *names);
    orr_tensor **ts = calloc((size_t)total, sizeof *ts);
    for (int64_t i = 0; i < n; i++) {
        orr_tensor *t = NULL, *bf = NULL;
        CHECK_OK(orr_st_get(w, orr_st_name(w, i), &t));
        CHECK_OK(orr_tensor_clone(&bf, t, ORR_BF16));
        names[i] = malloc(strlen(orr_st_name(w, i)) + 8);
        sprintf(names[i], "net.%s", orr_st_name(w, i));
        ts[i] = bf;
        /* the same values, rounded to bf16, stored as f32 under the bare names */
        names[n + i] = strdup(orr_st_name(w, i));
        CHECK_OK(orr_tensor_clone(&ts[n + i], bf, ORR_F32));
        orr_tensor_free(t);
    }
    names[2 * n] = strdup("net.blocks.block0.blocks.0.block.attn.to_q.0._extra_state");
    CHECK_OK(orr_tensor_zeros(&ts[2 * n], ORR_U8, 1, (int64_t[]){5}));
    names[2 * n + 1] = strdup("logvar.0.freqs");
    ts[2 * n + 1] = constant(1, (int64_t[]){128}, 1.0);

    char bf_path[] = "/tmp/orr_test_dit_XXXXXX", f32_path[] = "/tmp/orr_test_dit_XXXXXX";
    int fd1 = mkstemp(bf_path), fd2 = mkstemp(f32_path);
    CHECK(fd1 >= 0 && fd2 >= 0);
    close(fd1);
    close(fd2);
    const char *bf_names[total], *f_names[n];
    const orr_tensor *bf_ts[total], *f_ts[n];
    int64_t nb = 0;
    for (int64_t i = 0; i < n; i++) bf_names[nb] = names[i], bf_ts[nb++] = ts[i];
    bf_names[nb] = names[2 * n], bf_ts[nb++] = ts[2 * n];
    bf_names[nb] = names[2 * n + 1], bf_ts[nb++] = ts[2 * n + 1];
    for (int64_t i = 0; i < n; i++) f_names[i] = names[n + i], f_ts[i] = ts[n + i];
    CHECK_OK(orr_st_save(bf_path, nb, bf_names, bf_ts, 0, NULL, NULL));
    CHECK_OK(orr_st_save(f32_path, n, f_names, f_ts, 0, NULL, NULL));

    orr_safetensors *bf_file = NULL, *f_file = NULL;
    orr_dit *bf_net = NULL, *f_net = NULL;
    CHECK_OK(orr_st_open(bf_path, &bf_file));
    CHECK_OK(orr_st_open(f32_path, &f_file));
    CHECK_OK(orr_dit_load(&bf_net, "GeneralDIT", config, bf_file));
    CHECK_OK(orr_dit_load(&f_net, "GeneralDIT", config, f_file));
    orr_st_close(bf_file); /* the net keeps the mapping alive */
    orr_tensor *a = fixture_forward(bf_net), *b = fixture_forward(f_net);
    if (a && b) CHECK_CLOSE("bf16 weights vs the same values in f32", (float *)a->data, (float *)b->data, orr_tensor_numel(a), 1e-5);
    orr_dit_info info;
    CHECK_OK(orr_dit_get_info(bf_net, &info));
    CHECK(info.num_blocks == 2 && info.head_dim == 16 && info.latent_channels == 16 && !info.video_conditioned);
    CHECK(info.max_t == 8 && info.max_h == 16 && info.max_w == 16);
    orr_tensor_free(a);
    orr_tensor_free(b);
    orr_dit_free(bf_net);
    orr_dit_free(f_net);
    orr_st_close(f_file);
    unlink(bf_path);
    unlink(f32_path);
    for (int64_t i = 0; i < total; i++) {
        free(names[i]);
        orr_tensor_free(ts[i]);
    }
    free(names);
    free(ts);
    orr_st_close(w);
}

typedef struct net_inputs {
    orr_tensor *x, *t, *ctx, *fps, *pm, *cm, *out;
} net_inputs;

static net_inputs make_inputs(const orr_dit *dit, int64_t B, int64_t T, int64_t H, int64_t W, int64_t L, unsigned seed) {
    orr_dit_info info;
    CHECK_OK(orr_dit_get_info(dit, &info));
    net_inputs n = {0};
    n.x = tensor(5, (int64_t[]){B, info.latent_channels, T, H, W}, seed);
    n.t = tensor(1, (int64_t[]){B}, seed + 1);
    n.ctx = tensor(3, (int64_t[]){B, L, info.crossattn_channels}, seed + 2);
    n.fps = constant(1, (int64_t[]){B}, 24.0);
    n.pm = constant(4, (int64_t[]){B, 1, H * 8, W * 8}, 0.0);
    if (info.video_conditioned) {
        n.cm = constant(5, (int64_t[]){B, 1, T, H, W}, 0.0);
        for (int64_t i = 0; i < B * H * W; i++) ((float *)n.cm->data)[i / (H * W) * T * H * W + i % (H * W)] = 1.0f;
    }
    CHECK_OK(orr_tensor_empty(&n.out, ORR_F32, 5, (int64_t[]){B, info.out_channels, T, H, W}));
    return n;
}

static void free_inputs(net_inputs *n) {
    orr_tensor *all[] = {n->x, n->t, n->ctx, n->fps, n->pm, n->cm, n->out};
    for (int i = 0; i < 7; i++) orr_tensor_free(all[i]);
}

static orr_status forward(orr_dit *dit, net_inputs *n, orr_tensor_list *trace) {
    orr_dit_inputs in = {n->x, n->t, n->ctx, n->fps, n->pm, n->cm};
    return orr_dit_forward(dit, n->out, &in, trace);
}

/* Item 0 of a batch-2 forward equals the forward of item 0 alone. */
static void check_batch_independence(orr_dit *dit, net_inputs *two) {
    net_inputs one = {0};
    orr_tensor **src[] = {&two->x, &two->t, &two->ctx, &two->fps, &two->pm, &two->cm, &two->out};
    orr_tensor **dst[] = {&one.x, &one.t, &one.ctx, &one.fps, &one.pm, &one.cm, &one.out};
    for (int i = 0; i < 7; i++)
        if (*src[i]) CHECK_OK(orr_tensor_narrow(dst[i], *src[i], 0, 0, 1));
    orr_tensor *alone = NULL;
    CHECK_OK(orr_tensor_empty(&alone, ORR_F32, 5, one.out->shape));
    orr_tensor *batch_out = one.out;
    one.out = alone;
    CHECK_OK(forward(dit, &one, NULL));
    CHECK_CLOSE("item 0 alone vs in a batch of 2", (float *)alone->data, (float *)batch_out->data,
                orr_tensor_numel(alone), 1e-5);
    one.out = batch_out;
    free_inputs(&one);
    orr_tensor_free(alone);
}

static void test_switches(void) {
    struct {
        const char *network, *x_format, *blocks;
        int in_channels, patch_t;
        bool lora, affine;
    } cases[] = {
        {"GeneralDIT", "THWBD", "FA-CA-MLP", 4, 1, true, true},
        {"GeneralDIT", "BTHWD", "ca-full_attn-ff-mlp", 4, 1, false, false},
        {"GeneralDIT", "THWBD", "MLP-FA", 4, 2, true, false},
        {"VideoExtendGeneralDIT", "THWBD", "FA-CA-MLP", 5, 1, true, true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        orr_dit *dit = NULL;
        const char *cfg = tiny_config(cases[c].in_channels, cases[c].x_format, cases[c].blocks, cases[c].lora,
                                      cases[c].affine, cases[c].patch_t);
        CHECK_OK(orr_dit_create_random(&dit, cases[c].network, cfg, 7 + c));
        if (!dit) continue;
        /* a non-square latent of 2 x 3 x 5 patches, text of 3 slots */
        net_inputs n = make_inputs(dit, 2, 2 * cases[c].patch_t, 6, 10, 3, 11 + c);
        orr_tensor_list *trace = NULL;
        CHECK_OK(orr_tensor_list_create(&trace));
        CHECK_OK(forward(dit, &n, trace));
        int64_t bad = -1;
        CHECK_OK(orr_count_nonfinite(n.out, &bad));
        CHECK(bad == 0);
        orr_tensor *blk = orr_tensor_list_find(trace, "blocks.block1");
        CHECK(blk && blk->ndim == 5);
        if (blk) {
            bool thwbd = !strcmp(cases[c].x_format, "THWBD");
            int64_t want[5] = {2, 2, 3, 5, 32};
            if (thwbd) memcpy(want, (int64_t[]){2, 3, 5, 2, 32}, sizeof want);
            CHECK(!memcmp(blk->shape, want, sizeof want));
        }
        static const char *names[] = {"x_embedder", "extra_pos_embedder", "pos_embedder", "t_embedder.0",
                                      "t_embedder.1", "affline_norm", "blocks.block0", "final_layer"};
        for (int i = 0; i < 8; i++) CHECK(orr_tensor_list_find(trace, names[i]) != NULL);
        orr_tensor *lora = orr_tensor_list_find(trace, "t_embedder.1");
        CHECK(lora && lora->shape[1] == (cases[c].lora ? 96 : 32));
        check_batch_independence(dit, &n);
        orr_tensor_list_free(trace);
        free_inputs(&n);
        orr_dit_free(dit);
    }
}

/* The padding mask is resized to the latent by nearest neighbour
 * (source index floor(dst * in / out)): a 2x mask equals its even samples. */
static void test_padding_mask_resize(void) {
    orr_dit *dit = NULL;
    CHECK_OK(orr_dit_create_random(&dit, "GeneralDIT", tiny_config(4, "THWBD", "FA-CA-MLP", true, true, 1), 3));
    if (!dit) return;
    net_inputs n = make_inputs(dit, 1, 2, 4, 6, 3, 5);
    orr_tensor *big = tensor(4, (int64_t[]){1, 1, 8, 12}, 9), *small = NULL, *out_big = NULL;
    CHECK_OK(orr_tensor_empty(&small, ORR_F32, 4, (int64_t[]){1, 1, 4, 6}));
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 6; x++) ((float *)small->data)[y * 6 + x] = ((float *)big->data)[2 * y * 12 + 2 * x];
    orr_tensor_free(n.pm);
    n.pm = big;
    CHECK_OK(forward(dit, &n, NULL));
    CHECK_OK(orr_tensor_clone(&out_big, n.out, ORR_F32));
    n.pm = small;
    CHECK_OK(forward(dit, &n, NULL));
    CHECK_CLOSE("mask 8x12 vs its nearest 4x6", (float *)n.out->data, (float *)out_big->data, orr_tensor_numel(n.out), 1e-6);
    /* and the mask matters at all */
    CHECK_OK(orr_fill(small, 0.0));
    CHECK_OK(forward(dit, &n, NULL));
    double ref, d = test_max_abs_diff(n.out->data, out_big->data, (long)orr_tensor_numel(n.out), &ref);
    CHECK(d > 1e-4 * ref);
    orr_tensor_free(big);
    orr_tensor_free(out_big);
    free_inputs(&n);
    orr_dit_free(dit);
}

static void test_config_errors(void) {
    orr_dit *dit = NULL;
    char good[1024];
    snprintf(good, sizeof good, "%s", tiny_config(4, "THWBD", "FA-CA-MLP", true, true, 1));
    CHECK_FAILS(orr_dit_create_random(&dit, "MiniTrainDIT", good, 1), ORR_ERR_ARGUMENT, "unknown network");
    CHECK_FAILS(orr_dit_create_random(&dit, "GeneralDIT", "{\"max_img_h\": 16,", 1), ORR_ERR_FORMAT, "json");
    CHECK_FAILS(orr_dit_create_random(&dit, "GeneralDIT", "[1, 2]", 1), ORR_ERR_FORMAT, "JSON object");
    CHECK_FAILS(orr_dit_create_random(&dit, "GeneralDIT",
                                      "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, \"out_channels\": 4,"
                                      " \"patch_spatial\": 2, \"patch_temporal\": 1}",
                                      1),
                ORR_ERR_FORMAT, "'in_channels' is missing");
    CHECK_FAILS(orr_dit_create_random(&dit, "GeneralDIT", tiny_config(4, "THWBD", "FA-XA-MLP", true, true, 1), 1),
                ORR_ERR_FORMAT, "unknown block type 'XA'");
    CHECK_FAILS(orr_dit_create_random(&dit, "GeneralDIT", tiny_config(4, "TBHWD", "FA", true, true, 1), 1),
                ORR_ERR_FORMAT, "block_x_format 'TBHWD'");
    char cfg[1200];
    snprintf(cfg, sizeof cfg, "%.*s, \"model_channels\": 30}", (int)strlen(good) - 1, good);
    CHECK_FAILS(orr_dit_create_random(&dit, "GeneralDIT", cfg, 1), ORR_ERR_FORMAT, "duplicate");
    const char *odd_heads =
        "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, \"in_channels\": 4, \"out_channels\": 4,"
        " \"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 30, \"num_heads\": 6, \"pos_emb_cls\": \"rope3d\"}";
    CHECK_FAILS(orr_dit_create_random(&dit, "GeneralDIT", odd_heads, 1), ORR_ERR_FORMAT, "head dim 5");
    const char *sincos =
        "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, \"in_channels\": 4, \"out_channels\": 4,"
        " \"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 32, \"num_heads\": 2}";
    CHECK_FAILS(orr_dit_create_random(&dit, "GeneralDIT", sincos, 1), ORR_ERR_UNSUPPORTED, "pos_emb_cls 'sincos'");
    const char *typed =
        "{\"max_img_h\": \"16\", \"max_img_w\": 16, \"max_frames\": 8, \"in_channels\": 4, \"out_channels\": 4,"
        " \"patch_spatial\": 2, \"patch_temporal\": 1}";
    CHECK_FAILS(orr_dit_create_random(&dit, "GeneralDIT", typed, 1), ORR_ERR_FORMAT, "'max_img_h' is a string");
    CHECK(dit == NULL);

    /* weights that do not fit the config */
    orr_safetensors *w = NULL, *wv = NULL;
    CHECK_OK(orr_st_open(T2W_DIR "/weights.safetensors", &w));
    CHECK_OK(orr_st_open(V2W_DIR "/weights.safetensors", &wv));
    CHECK_FAILS(orr_dit_load(&dit, "GeneralDIT", orr_st_metadata(w, "config"), wv), ORR_ERR_SHAPE,
                "'x_embedder.proj.1.weight' in data/dit/v2w/weights.safetensors is f32[64,72] but the config needs [64,68]");
    orr_st_close(wv);
    CHECK_FAILS(orr_dit_load(&dit, "GeneralDIT", tiny_config(4, "THWBD", "FA-CA-MLP", true, true, 1), w),
                ORR_ERR_SHAPE, "but the config needs");
    char three_blocks[2048];
    const char *cfg0 = orr_st_metadata(w, "config");
    const char *nb = strstr(cfg0, "\"num_blocks\": 2");
    CHECK(nb != NULL);
    if (nb) {
        snprintf(three_blocks, sizeof three_blocks, "%.*s\"num_blocks\": 3%s", (int)(nb - cfg0), cfg0,
                 nb + strlen("\"num_blocks\": 2"));
        CHECK_FAILS(orr_dit_load(&dit, "GeneralDIT", three_blocks, w), ORR_ERR_NOT_FOUND,
                    "missing tensor 'blocks.block2.blocks.0.adaLN_modulation.1.weight'");
    }
    orr_st_close(w);
}

static void test_input_errors(void) {
    orr_dit *dit = NULL, *v2w = NULL;
    CHECK_OK(orr_dit_create_random(&dit, "GeneralDIT", tiny_config(4, "THWBD", "FA-CA-MLP", true, true, 1), 2));
    CHECK_OK(orr_dit_create_random(&v2w, "VideoExtendGeneralDIT", tiny_config(5, "THWBD", "FA-CA-MLP", true, true, 1), 2));
    if (!dit || !v2w) return;
    net_inputs n = make_inputs(dit, 1, 2, 4, 6, 3, 1);
    orr_dit_inputs in = {n.x, n.t, n.ctx, n.fps, n.pm, NULL};

    orr_tensor *odd = tensor(5, (int64_t[]){1, 4, 2, 5, 6}, 3), *odd_out = NULL;
    CHECK_OK(orr_tensor_empty(&odd_out, ORR_F32, 5, (int64_t[]){1, 4, 2, 5, 6}));
    in.x = odd;
    CHECK_FAILS(orr_dit_forward(dit, odd_out, &in, NULL), ORR_ERR_SHAPE, "multiple of the temporal patch 1 and H, W of the spatial patch 2");
    in.x = n.x;

    orr_tensor *wide = tensor(3, (int64_t[]){1, 3, 9}, 4);
    in.crossattn_emb = wide;
    CHECK_FAILS(orr_dit_forward(dit, n.out, &in, NULL), ORR_ERR_SHAPE, "crossattn_emb is f32[1,3,9], expected [1,L,8]");
    in.crossattn_emb = n.ctx;

    orr_tensor *big = tensor(5, (int64_t[]){1, 4, 2, 18, 6}, 5), *big_out = NULL;
    CHECK_OK(orr_tensor_empty(&big_out, ORR_F32, 5, (int64_t[]){1, 4, 2, 18, 6}));
    in.x = big;
    CHECK_FAILS(orr_dit_forward(dit, big_out, &in, NULL), ORR_ERR_SHAPE, "cover at most 8 x 16 x 24");
    in.x = n.x;

    orr_tensor *t2 = tensor(1, (int64_t[]){2}, 6);
    in.timesteps = t2;
    CHECK_FAILS(orr_dit_forward(dit, n.out, &in, NULL), ORR_ERR_SHAPE, "timesteps is f32[2], expected 1 values");
    in.timesteps = n.t;

    in.fps = NULL;
    CHECK_FAILS(orr_dit_forward(dit, n.out, &in, NULL), ORR_ERR_ARGUMENT, "fps is NULL (an image) but x has T = 2");
    in.fps = n.fps;

    CHECK_FAILS(orr_dit_forward(dit, odd_out, &in, NULL), ORR_ERR_SHAPE, "out is f32[1,4,2,5,6], expected [1,4,2,4,6]");
    CHECK_FAILS(orr_dit_forward(v2w, n.out, &in, NULL), ORR_ERR_SHAPE, "needs condition_mask [1,1,2,4,6], got NULL");
    in.condition_mask = n.x;
    CHECK_FAILS(orr_dit_forward(dit, n.out, &in, NULL), ORR_ERR_ARGUMENT, "GeneralDIT takes none");
    in.condition_mask = NULL;

    ((float *)n.x->data)[7] = NAN;
    CHECK_FAILS(orr_dit_forward(dit, n.out, &in, NULL), ORR_ERR_NONFINITE, "x holds 1 NaN/Inf");
    ((float *)n.x->data)[7] = 0.5f;

    /* a NaN born inside the network is reported with its sub-block */
    float *w = dit->blocks[1].sub[2].fc1->data;
    w[3] = NAN;
    CHECK_FAILS(orr_dit_forward(dit, n.out, &in, NULL), ORR_ERR_NONFINITE, "in blocks.block1.blocks.2 (MLP)");
    w[3] = 0.0f;
    CHECK_OK(orr_dit_forward(dit, n.out, &in, NULL));

    orr_tensor *all[] = {odd, odd_out, wide, big, big_out, t2};
    for (int i = 0; i < 6; i++) orr_tensor_free(all[i]);
    free_inputs(&n);
    orr_dit_free(dit);
    orr_dit_free(v2w);
}

int main(void) {
    test_fixtures();
    test_checkpoint_conventions();
    test_switches();
    test_padding_mask_resize();
    test_config_errors();
    test_input_errors();
    return test_finish("test_dit");
}
