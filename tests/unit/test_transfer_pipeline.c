/* The Transfer1 long-video pipeline on a tiny random tokenizer and
 * network: one chunk equals encode -> orr_transfer_sample -> decode done by
 * hand; several chunks cover the video (padded to whole chunks and cut
 * back), run deterministically, with an input video and weight maps; the
 * error paths. */
#include "test_util.h"

static const char *cv_config =
    "{\"name\": \"CV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [16], \"resolution\": 64, \"patch_size\": 4, \"patch_method\": \"haar\","
    " \"latent_channels\": 16, \"z_channels\": 16, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8, \"temporal_compression\": 8, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\", \"formulation\": \"AE\", \"legacy_mode\": false, \"dropout\": 0.0}";

#define NET                                                                                                            \
    "\"max_img_h\": 8, \"max_img_w\": 8, \"max_frames\": 8, \"in_channels\": 17, \"out_channels\": 16, "               \
    "\"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 32, \"num_blocks\": 2, \"num_heads\": 2, "       \
    "\"crossattn_emb_channels\": 8, \"use_adaln_lora\": true, \"adaln_lora_dim\": 8, \"affline_emb_norm\": true, "     \
    "\"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\", "                     \
    "\"pos_emb_cls\": \"rope3d\""

static orr_tensor *random_tensor(int ndim, const int64_t *shape, uint64_t seed, float lo, float hi) {
    orr_tensor *t = NULL;
    orr_rng rng;
    orr_rng_init(&rng, seed);
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, ndim, shape));
    CHECK_OK(orr_rng_uniform(&rng, t));
    CHECK_OK(orr_affine(t, t, hi - lo, lo));
    return t;
}

static orr_tensor *u8(int ndim, const int64_t *shape) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_U8, ndim, shape));
    return t;
}

static bool same(const orr_tensor *a, const orr_tensor *b) {
    return orr_tensor_nbytes(a) == orr_tensor_nbytes(b) && !memcmp(a->data, b->data, orr_tensor_nbytes(a));
}

int main(void) {
    orr_tokenizer *tok = NULL;
    orr_transfer *tr = NULL;
    CHECK_OK(orr_tokenizer_create_random(&tok, cv_config, 1));
    CHECK_OK(orr_transfer_create_random(&tr, "{" NET "}", 2));
    CHECK_OK(orr_transfer_add_control_random(tr, ORR_CONTROL_EDGE, "{" NET ", \"num_control_blocks\": 1}", 3));
    CHECK_OK(orr_transfer_add_control_random(tr, ORR_CONTROL_DEPTH,
                                             "{" NET ", \"hint_channels\": 16, \"num_control_blocks\": 2}", 4));
    if (!tok || !tr) return test_finish("test_transfer_pipeline");
    orr_transfer_params p;
    orr_transfer_params_init(&p);
    CHECK(p.chunk_frames == 121 && p.sigma_max == 70 && p.sampler.guidance == 5);
    p.chunk_frames = 9;
    p.sampler.steps = 2;
    orr_tensor *text = random_tensor(3, (int64_t[]){1, 4, 8}, 5, -1, 1),
               *neg = random_tensor(3, (int64_t[]){1, 4, 8}, 6, -1, 1);

    /* one chunk by hand: hints = encode(control) * 0.5, sample, decode */
    orr_tensor *ctl1 = random_tensor(6, (int64_t[]){1, 2, 3, 9, 16, 16}, 7, -1, 1),
               *video1 = u8(5, (int64_t[]){1, 3, 9, 16, 16});
    CHECK_OK(orr_transfer_generate(tr, tok, video1, ctl1, NULL, text, neg, NULL, &p, NULL));
    orr_tensor *hint = NULL, *lat = NULL, *z = NULL, *pix = NULL, *sample = NULL;
    CHECK_OK(orr_tensor_empty(&hint, ORR_F32, 6, (int64_t[]){1, 2, 16, 2, 2, 2}));
    CHECK_OK(orr_tensor_empty(&lat, ORR_F32, 5, (int64_t[]){1, 16, 2, 2, 2}));
    for (int n = 0; n < 2; n++) {
        orr_tensor *c = NULL, *h = NULL, *pc = NULL;
        CHECK_OK(orr_tensor_select(&c, ctl1, 1, n));
        CHECK_OK(orr_tensor_clone(&pc, c, ORR_F32));
        CHECK_OK(orr_tokenizer_encode(tok, lat, NULL, pc));
        CHECK_OK(orr_tensor_select(&h, hint, 1, n));
        CHECK_OK(orr_affine(h, lat, 0.5f, 0.0f));
        orr_tensor_free(c), orr_tensor_free(h), orr_tensor_free(pc);
    }
    orr_transfer_cond cond = p.cond;
    cond.base.text = text;
    cond.base.neg_text = neg;
    cond.latent_hint = hint;
    CHECK_OK(orr_tensor_empty(&sample, ORR_F32, 5, lat->shape));
    CHECK_OK(orr_transfer_sample(tr, sample, &cond, &p.sampler));
    CHECK_OK(orr_tensor_empty(&z, ORR_F32, 5, lat->shape));
    CHECK_OK(orr_affine(z, sample, 2.0f, 0.0f));
    CHECK_OK(orr_tensor_empty(&pix, ORR_F32, 5, video1->shape));
    CHECK_OK(orr_tokenizer_decode(tok, pix, z));
    const float *f = pix->data;
    const uint8_t *v = video1->data;
    int64_t bad = 0;
    for (int64_t i = 0; i < orr_tensor_numel(pix); i++) {
        float x = 1.0f + f[i];
        x = x < 0 ? 0 : x > 2 ? 2 : x;
        bad += v[i] != (uint8_t)(x / 2.0f * 255.0f);
    }
    CHECK(bad == 0);

    /* 20 frames: 3 chunks of 9 sharing a frame (25 frames), cut back to 20 */
    orr_tensor *ctl = random_tensor(6, (int64_t[]){1, 2, 3, 20, 16, 16}, 8, -1, 1),
               *input = random_tensor(5, (int64_t[]){1, 3, 20, 16, 16}, 9, -1, 1),
               *maps = random_tensor(4, (int64_t[]){2, 9, 16, 16}, 10, 0, 1),
               *video = u8(5, (int64_t[]){1, 3, 20, 16, 16}), *again = u8(5, (int64_t[]){1, 3, 20, 16, 16}),
               *fvideo = NULL;
    orr_world_timings t;
    CHECK_OK(orr_transfer_generate(tr, tok, video, ctl, input, text, neg, maps, &p, &t));
    CHECK_OK(orr_transfer_generate(tr, tok, again, ctl, input, text, neg, maps, &p, NULL));
    CHECK(same(video, again));
    CHECK(t.sample_seconds > 0 && t.encode_seconds > 0 && t.decode_seconds > 0);
    /* the first chunk alone is the same video's first 9 frames */
    orr_tensor *head = NULL, *ctl_head = NULL, *in_head = NULL, *video_head = u8(5, (int64_t[]){1, 3, 9, 16, 16}),
               *c9 = NULL;
    CHECK_OK(orr_tensor_narrow(&ctl_head, ctl, 3, 0, 9));
    CHECK_OK(orr_tensor_narrow(&in_head, input, 2, 0, 9));
    CHECK_OK(orr_transfer_generate(tr, tok, video_head, ctl_head, in_head, text, neg, maps, &p, NULL));
    CHECK_OK(orr_tensor_narrow(&head, video, 2, 0, 9));
    CHECK_OK(orr_tensor_clone(&c9, head, ORR_U8));
    CHECK(same(c9, video_head));
    /* float output: the same frames in [-1, 1] */
    CHECK_OK(orr_tensor_empty(&fvideo, ORR_F32, 5, video->shape));
    CHECK_OK(orr_transfer_generate(tr, tok, fvideo, ctl, input, text, neg, maps, &p, NULL));
    CHECK_NEAR(orr_tensor_get(fvideo, 1234), orr_tensor_get(video, 1234) * 2.0 / 255.0 - 1.0, 1e-6);

    /* errors */
    p.chunk_frames = 10;
    CHECK_FAILS(orr_transfer_generate(tr, tok, video, ctl, NULL, text, neg, NULL, &p, NULL), ORR_ERR_ARGUMENT,
                "chunk_frames 10 must be 1 + k*8");
    p.chunk_frames = 9;
    CHECK_FAILS(orr_transfer_generate(tr, tok, video, ctl_head, NULL, text, neg, NULL, &p, NULL), ORR_ERR_SHAPE,
                "video is u8[1,3,20,16,16], expected the controls' [1,3,9,16,16]");
    CHECK_FAILS(orr_transfer_generate(tr, tok, video, input, NULL, text, neg, NULL, &p, NULL), ORR_ERR_SHAPE,
                "controls is f32[1,3,20,16,16], expected [B,2,3,T,H,W]");
    CHECK_FAILS(orr_transfer_generate(tr, tok, video, ctl, NULL, text, neg, text, &p, NULL), ORR_ERR_SHAPE,
                "weights is f32[1,4,8], expected [2] or [2,T,H,W]");

    orr_tensor *all[] = {text,  neg,  ctl1,  video1, hint,   lat,  z,        pix,     sample,     ctl,
                         input, maps, video, again,  fvideo, head, ctl_head, in_head, video_head, c9};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_transfer_free(tr);
    orr_tokenizer_free(tok);
    return test_finish("test_transfer_pipeline");
}
