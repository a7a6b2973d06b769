/* Text2World and Video2World end to end on small random networks (a CV
 * tokenizer and DiTs whose latent matches it): shapes, the uint8
 * conversion, seeds, timings, the latent statistics, and the argument
 * checks. */
#include "test_util.h"

static const char *cv_config =
    "{\"name\": \"CV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [16], \"resolution\": 64, \"patch_size\": 4, \"patch_method\": \"haar\","
    " \"latent_channels\": 16, \"z_channels\": 16, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8, \"temporal_compression\": 8, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\", \"formulation\": \"AE\", \"legacy_mode\": false, \"dropout\": 0.0}";

static const char *dit_config =
    "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, \"in_channels\": %d, \"out_channels\": 16,"
    " \"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 32, \"num_blocks\": 1, \"num_heads\": 2,"
    " \"block_x_format\": \"THWBD\", \"crossattn_emb_channels\": 8, \"pos_emb_cls\": \"rope3d\","
    " \"affline_emb_norm\": true, \"use_adaln_lora\": true, \"adaln_lora_dim\": 8,"
    " \"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\"}";

static orr_dit *make_dit(bool video) {
    char cfg[1024];
    snprintf(cfg, sizeof cfg, dit_config, video ? 17 : 16);
    orr_dit *dit = NULL;
    CHECK_OK(orr_dit_create_random(&dit, video ? "VideoExtendGeneralDIT" : "GeneralDIT", cfg, 3));
    return dit;
}

static orr_tensor *filled(orr_dtype dtype, int ndim, const int64_t *shape, unsigned seed) {
    orr_tensor *t = NULL, *f = NULL;
    CHECK_OK(orr_tensor_empty(&f, ORR_F32, ndim, shape));
    if (!f) return NULL;
    test_fill(f->data, (long)orr_tensor_numel(f), seed);
    CHECK_OK(orr_tensor_clone(&t, f, dtype));
    orr_tensor_free(f);
    return t;
}

static void small_params(orr_world_params *p) {
    orr_world_params_init(p);
    p->frames = 9;
    p->height = 32;
    p->width = 32;
    p->sampler.steps = 3;
}

static void test_text2world(orr_tokenizer *tok) {
    orr_dit *dit = make_dit(false);
    if (!dit) return;
    orr_world_params p;
    small_params(&p);
    orr_tensor *text = filled(ORR_F32, 3, (int64_t[]){1, 4, 8}, 1), *neg = filled(ORR_F32, 3, (int64_t[]){1, 4, 8}, 2);
    orr_tensor *a = NULL, *b = NULL, *f = NULL;
    int64_t shape[5] = {1, 3, 9, 32, 32};
    CHECK_OK(orr_tensor_empty(&a, ORR_U8, 5, shape));
    CHECK_OK(orr_tensor_empty(&b, ORR_U8, 5, shape));
    CHECK_OK(orr_tensor_empty(&f, ORR_F32, 5, shape));
    orr_world_timings t;
    CHECK_OK(orr_world_generate(dit, tok, a, text, neg, NULL, &p, &t));
    CHECK(t.sample_seconds > 0 && t.decode_seconds > 0 && t.encode_seconds < 1e-3);
    CHECK_OK(orr_world_generate(dit, tok, b, text, neg, NULL, &p, NULL));
    CHECK(!memcmp(a->data, b->data, orr_tensor_nbytes(a)));
    /* the float output is what the uint8 conversion truncates */
    CHECK_OK(orr_world_generate(dit, tok, f, text, neg, NULL, &p, NULL));
    int64_t off = 0;
    for (int64_t i = 0; i < orr_tensor_numel(f); i++) {
        float v = 1.0f + ((float *)f->data)[i];
        v = v < 0 ? 0 : v > 2 ? 2 : v;
        off += ((uint8_t *)a->data)[i] != (uint8_t)(v / 2 * 255);
    }
    CHECK(off == 0);
    p.sampler.seed = 2;
    CHECK_OK(orr_world_generate(dit, tok, b, text, neg, NULL, &p, NULL));
    CHECK(memcmp(a->data, b->data, orr_tensor_nbytes(a)) != 0);

    /* per-channel, per-frame latent statistics */
    orr_tensor *mean = filled(ORR_F32, 1, (int64_t[]){16 * 2}, 5), *std = NULL;
    CHECK_OK(orr_tensor_empty(&std, ORR_F32, 1, (int64_t[]){16 * 2}));
    CHECK_OK(orr_fill(std, 2.0));
    p.latent_mean = mean;
    p.latent_std = std;
    CHECK_OK(orr_world_generate(dit, tok, b, text, neg, NULL, &p, NULL));
    p.latent_std = NULL;
    CHECK_FAILS(orr_world_generate(dit, tok, b, text, neg, NULL, &p, NULL), ORR_ERR_ARGUMENT, "come together");
    p.latent_mean = NULL;

    orr_tensor *wrong = NULL;
    CHECK_OK(orr_tensor_empty(&wrong, ORR_U8, 5, (int64_t[]){1, 3, 8, 32, 32}));
    CHECK_FAILS(orr_world_generate(dit, tok, wrong, text, neg, NULL, &p, NULL), ORR_ERR_SHAPE,
                "video is u8[1,3,8,32,32], expected [B,3,9,32,32]");
    CHECK_FAILS(orr_world_generate(dit, tok, a, text, neg, a, &p, NULL), ORR_ERR_ARGUMENT,
                "input frames are given but the network is Text2World");
    orr_tensor *all[] = {text, neg, a, b, f, mean, std, wrong};
    for (int i = 0; i < 8; i++) orr_tensor_free(all[i]);
    orr_dit_free(dit);
}

static void test_video2world(orr_tokenizer *tok) {
    orr_dit *dit = make_dit(true);
    if (!dit) return;
    orr_world_params p;
    small_params(&p);
    orr_tensor *text = filled(ORR_F32, 3, (int64_t[]){1, 4, 8}, 1);
    orr_tensor *input = filled(ORR_F32, 5, (int64_t[]){1, 3, 9, 32, 32}, 9), *video = NULL;
    CHECK_OK(orr_tensor_empty(&video, ORR_F32, 5, (int64_t[]){1, 3, 9, 32, 32}));
    orr_world_timings t;
    CHECK_OK(orr_world_generate(dit, tok, video, text, NULL, input, &p, &t));
    CHECK(t.encode_seconds > 0);
    p.input_frames = 9;
    CHECK_OK(orr_world_generate(dit, tok, video, text, NULL, input, &p, NULL));
    p.input_frames = 4;
    CHECK_FAILS(orr_world_generate(dit, tok, video, text, NULL, input, &p, NULL), ORR_ERR_ARGUMENT,
                "input_frames 4 must be 1 + k*8");
    p.input_frames = 1;
    CHECK_FAILS(orr_world_generate(dit, tok, video, text, NULL, NULL, &p, NULL), ORR_ERR_ARGUMENT,
                "a Video2World network needs input frames");
    orr_tensor *small = filled(ORR_F32, 5, (int64_t[]){1, 3, 1, 16, 32}, 4);
    CHECK_FAILS(orr_world_generate(dit, tok, video, text, NULL, small, &p, NULL), ORR_ERR_SHAPE,
                "input is f32[1,3,1,16,32], expected [1,3,T,32,32]");
    orr_tensor *all[] = {text, input, video, small};
    for (int i = 0; i < 4; i++) orr_tensor_free(all[i]);
    orr_dit_free(dit);
}

int main(void) {
    orr_tokenizer *tok = NULL;
    CHECK_OK(orr_tokenizer_create_random(&tok, cv_config, 1));
    if (tok) {
        test_text2world(tok);
        test_video2world(tok);
    }
    orr_tokenizer_free(tok);
    return test_finish("test_dit_pipeline");
}
