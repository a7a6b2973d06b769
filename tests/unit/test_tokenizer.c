/* The Cosmos tokenizers: the official CV fixture (copied into tests/data),
 * exact FSQ against the official quantizer's numbers, causality, shapes of
 * all four classes on small random configs, and the error paths (config,
 * weights, inputs). */
#include <unistd.h>

#include "models/tokenizer.h"
#include "test_util.h"

#define CV_DIR "data/tokenizer/cv"
#define CV_WEIGHTS CV_DIR "/weights.safetensors"

static const char *cv_small =
    "{\"name\": \"CV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [16], \"resolution\": 64, \"patch_size\": 4, \"patch_method\": \"haar\","
    " \"latent_channels\": 16, \"z_channels\": 16, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8, \"temporal_compression\": 8, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\", \"formulation\": \"AE\", \"legacy_mode\": false, \"dropout\": 0.0}";

static const char *dv_small =
    "{\"name\": \"DV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [32], \"resolution\": 1024, \"patch_size\": 4, \"patch_method\": \"haar\","
    " \"z_channels\": 16, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 16, \"temporal_compression\": 8, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\", \"quantizer\": \"FSQ\", \"embedding_dim\": 6, \"levels\": [8, 8, 8, 5, 5, 5]}";

static const char *ci_small =
    "{\"name\": \"CI\", \"channels\": 32, \"channels_mult\": [1, 2], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [8], \"resolution\": 32, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"latent_channels\": 4, \"z_channels\": 4, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8, \"formulation\": \"AE\", \"encoder\": \"Default\", \"decoder\": \"Default\"}";

static const char *di_small =
    "{\"name\": \"DI\", \"channels\": 32, \"channels_mult\": [1, 2], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [32], \"resolution\": 32, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"z_channels\": 32, \"in_channels\": 3, \"out_channels\": 3, \"spatial_compression\": 4,"
    " \"quantizer\": \"FSQ\", \"embedding_dim\": 4, \"levels\": [5, 4, 3, 3], \"num_quantizers\": 4}";

static orr_tensor *new_tensor(orr_dtype dtype, int ndim, const int64_t *shape) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, dtype, ndim, shape));
    return t;
}

/* Pixels in [-1,1] from Philox. */
static orr_tensor *random_pixels(int ndim, const int64_t *shape, uint64_t seed) {
    orr_tensor *t = new_tensor(ORR_F32, ndim, shape);
    orr_rng rng;
    orr_rng_init(&rng, seed);
    CHECK_OK(orr_rng_uniform(&rng, t));
    CHECK_OK(orr_affine(t, t, 2.0f, -1.0f));
    return t;
}

static double max_abs_diff(const orr_tensor *a, const orr_tensor *b) {
    double m = 0;
    for (int64_t i = 0; i < orr_tensor_numel(a); i++) {
        double d = fabs(orr_tensor_get(a, i) - orr_tensor_get(b, i));
        if (!(d <= m)) m = d;
    }
    return m;
}

/* ------------------------------------------------------------------------ */

static void test_cv_fixture(void) {
    orr_verify_params p;
    orr_verify_params_init(&p);
    p.verbose = false;
    CHECK_OK(orr_verify_dir(CV_DIR, &p, stdout));

    /* The same weights through the public API, config from the metadata. */
    orr_tokenizer *tok = NULL;
    CHECK_OK(orr_tokenizer_load(&tok, NULL, CV_WEIGHTS, NULL));
    if (!tok) return;
    orr_tokenizer_info info;
    orr_tokenizer_get_info(tok, &info);
    CHECK(info.kind == ORR_TOKENIZER_CV && info.has_encoder && info.has_decoder);
    CHECK(info.latent_channels == 16 && info.spatial_compression == 8 && info.temporal_compression == 8);
    CHECK(info.n_params > 100000 && info.codebook_size == 0);

    orr_safetensors *in = NULL, *out = NULL;
    orr_tensor *video = NULL, *want = NULL;
    CHECK_OK(orr_st_open(CV_DIR "/inputs.safetensors", &in));
    CHECK_OK(orr_st_open(CV_DIR "/outputs.safetensors", &out));
    CHECK_OK(orr_st_get(in, "video", &video));
    CHECK_OK(orr_st_get(out, "latent", &want));
    orr_tensor *latent = new_tensor(ORR_F32, 5, want->shape);
    CHECK_OK(orr_tokenizer_encode(tok, latent, NULL, video));
    double ref = 0;
    CHECK_OK(orr_reduce_all(want, ORR_AMAX, &ref));
    CHECK(max_abs_diff(latent, want) <= 1e-4 * ref);
    /* A bf16 video, and a latent written into a strided view of a wider one. */
    orr_tensor *video16 = NULL, *wide = new_tensor(ORR_F32, 5, (int64_t[]){1, 32, 3, 4, 4}), *half = NULL;
    CHECK_OK(orr_tensor_clone(&video16, video, ORR_BF16));
    CHECK_OK(orr_tensor_narrow(&half, wide, 1, 8, 16));
    CHECK_OK(orr_tokenizer_encode(tok, half, NULL, video16));
    CHECK(max_abs_diff(half, want) <= 2e-2 * ref);
    orr_tensor_free(video16);
    orr_tensor_free(wide);
    orr_tensor_free(half);
    orr_tensor_free(latent);
    orr_tensor_free(want);
    orr_tensor_free(video);
    orr_st_close(in);
    orr_st_close(out);
    orr_tokenizer_free(tok);
}

/* Writes CV_WEIGHTS to path without `drop`, with `reshape` flattened to
 * 2-D, and with only the keys starting with `only` (NULL = all). */
static void rewrite_weights(const char *path, const char *drop, const char *reshape, const char *only) {
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open(CV_WEIGHTS, &st));
    if (!st) return;
    int64_t n = orr_st_count(st), kept = 0;
    const char **names = calloc((size_t)n, sizeof *names);
    orr_tensor **ts = calloc((size_t)n, sizeof *ts);
    for (int64_t i = 0; i < n; i++) {
        const char *name = orr_st_name(st, i);
        if (drop && strcmp(name, drop) == 0) continue;
        if (only && strncmp(name, only, strlen(only)) != 0) continue;
        orr_tensor *t = NULL;
        CHECK_OK(orr_st_get(st, name, &t));
        if (reshape && strcmp(name, reshape) == 0) {
            orr_tensor *flat = NULL;
            CHECK_OK(orr_tensor_view_as(&flat, t, 2, (int64_t[]){t->shape[0], -1}));
            orr_tensor_free(t);
            t = flat;
        }
        names[kept] = name;
        ts[kept++] = t;
    }
    CHECK_OK(orr_st_save(path, kept, names, (const orr_tensor *const *)ts, 1, (const char *[]){"config"},
                         (const char *[]){orr_st_metadata(st, "config")}));
    for (int64_t i = 0; i < kept; i++) orr_tensor_free(ts[i]);
    free(names);
    free(ts);
    orr_st_close(st);
}

/* The weights stored as bf16 (as released checkpoints may be) load, are
 * widened once, and give the latent within bf16's precision. */
static void test_bf16_weights(void) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/orr_test_tok_bf16_%d.safetensors", (int)getpid());
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open(CV_WEIGHTS, &st));
    if (!st) return;
    int64_t n = orr_st_count(st);
    const char **names = calloc((size_t)n, sizeof *names);
    orr_tensor **ts = calloc((size_t)n, sizeof *ts);
    for (int64_t i = 0; i < n; i++) {
        orr_tensor *t = NULL;
        names[i] = orr_st_name(st, i);
        CHECK_OK(orr_st_get(st, names[i], &t));
        CHECK_OK(orr_tensor_clone(&ts[i], t, t->dtype == ORR_F32 ? ORR_BF16 : t->dtype));
        orr_tensor_free(t);
    }
    CHECK_OK(orr_st_save(path, n, names, (const orr_tensor *const *)ts, 1, (const char *[]){"config"},
                         (const char *[]){orr_st_metadata(st, "config")}));
    orr_tokenizer *tok = NULL;
    CHECK_OK(orr_tokenizer_load(&tok, NULL, path, NULL));
    orr_safetensors *in = NULL, *out = NULL;
    orr_tensor *video = NULL, *want = NULL;
    CHECK_OK(orr_st_open(CV_DIR "/inputs.safetensors", &in));
    CHECK_OK(orr_st_open(CV_DIR "/outputs.safetensors", &out));
    CHECK_OK(orr_st_get(in, "video", &video));
    CHECK_OK(orr_st_get(out, "latent", &want));
    orr_tensor *latent = new_tensor(ORR_F32, 5, want->shape);
    CHECK_OK(orr_tokenizer_encode(tok, latent, NULL, video));
    double ref = 0;
    CHECK_OK(orr_reduce_all(want, ORR_AMAX, &ref));
    double err = max_abs_diff(latent, want);
    CHECK(err > 0 && err <= 5e-2 * ref);
    for (int64_t i = 0; i < n; i++) orr_tensor_free(ts[i]);
    free(names);
    free(ts);
    orr_tensor_free(video);
    orr_tensor_free(want);
    orr_tensor_free(latent);
    orr_st_close(in);
    orr_st_close(out);
    orr_st_close(st);
    orr_tokenizer_free(tok);
    unlink(path);
}

static void test_weight_errors(void) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/orr_test_tok_%d.safetensors", (int)getpid());
    orr_tokenizer *tok = NULL;

    rewrite_weights(path, "decoder.up.1.upsample.conv2.conv3d.bias", NULL, NULL);
    CHECK_FAILS(orr_tokenizer_load(&tok, NULL, path, NULL), ORR_ERR_NOT_FOUND,
                "decoder.up.1.upsample.conv2.conv3d.bias");
    CHECK(tok == NULL);

    rewrite_weights(path, NULL, "encoder.mid.attn_1.1.q.conv3d.weight", NULL);
    CHECK_FAILS(orr_tokenizer_load(&tok, NULL, path, NULL), ORR_ERR_SHAPE, "encoder.mid.attn_1.1.q.conv3d.weight");

    /* The config decides the shapes: a wider model does not fit these weights. */
    const char *wide = "{\"name\": \"CV\", \"channels\": 16, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 2,"
                       " \"attn_resolutions\": [32], \"resolution\": 1024, \"patch_size\": 4, \"patch_method\":"
                       " \"haar\", \"latent_channels\": 16, \"z_channels\": 16, \"z_factor\": 1, \"in_channels\": 3,"
                       " \"out_channels\": 3, \"spatial_compression\": 8, \"temporal_compression\": 8,"
                       " \"encoder\": \"FACTORIZED\", \"decoder\": \"FACTORIZED\"}";
    CHECK_FAILS(orr_tokenizer_load(&tok, wide, CV_WEIGHTS, NULL), ORR_ERR_SHAPE, "encoder.conv_in.0.conv3d.weight");

    /* post_quant_conv belongs to the decoder half. */
    rewrite_weights(path, "post_quant_conv.conv3d.weight", NULL, NULL);
    CHECK_FAILS(orr_tokenizer_load(&tok, NULL, path, NULL), ORR_ERR_NOT_FOUND, "post_quant_conv.conv3d.weight");
    /* A file holding neither half. */
    rewrite_weights(path, NULL, NULL, "quant_conv.");
    CHECK_FAILS(orr_tokenizer_load(&tok, NULL, path, NULL), ORR_ERR_NOT_FOUND, "no encoder.* or decoder.*");
    CHECK_FAILS(orr_tokenizer_load(&tok, NULL, "/nonexistent/w.safetensors", NULL), ORR_ERR_IO, "nonexistent");

    unlink(path);
}

static void test_halves(void) {
    /* Encoder file = encoder.* + quant_conv.*, decoder file = the rest. */
    char enc[256], dec[256];
    snprintf(enc, sizeof enc, "/tmp/orr_test_tok_enc_%d.safetensors", (int)getpid());
    snprintf(dec, sizeof dec, "/tmp/orr_test_tok_dec_%d.safetensors", (int)getpid());
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open(CV_WEIGHTS, &st));
    if (!st) return;
    int64_t n = orr_st_count(st), ne = 0, nd = 0;
    const char **en = calloc((size_t)n, sizeof *en), **dn = calloc((size_t)n, sizeof *dn);
    orr_tensor **et = calloc((size_t)n, sizeof *et), **dt = calloc((size_t)n, sizeof *dt);
    for (int64_t i = 0; i < n; i++) {
        const char *name = orr_st_name(st, i);
        bool is_enc = strncmp(name, "encoder.", 8) == 0 || strncmp(name, "quant_conv.", 11) == 0;
        orr_tensor *t = NULL;
        CHECK_OK(orr_st_get(st, name, &t));
        if (is_enc)
            en[ne] = name, et[ne++] = t;
        else
            dn[nd] = name, dt[nd++] = t;
    }
    const char *key[] = {"config"}, *val[] = {orr_st_metadata(st, "config")};
    CHECK_OK(orr_st_save(enc, ne, en, (const orr_tensor *const *)et, 1, key, val));
    CHECK_OK(orr_st_save(dec, nd, dn, (const orr_tensor *const *)dt, 1, key, val));

    orr_tokenizer *both = NULL, *e = NULL, *d = NULL;
    CHECK_OK(orr_tokenizer_load(&both, NULL, enc, dec));
    CHECK_OK(orr_tokenizer_load(&e, val[0], enc, NULL));
    CHECK_OK(orr_tokenizer_load(&d, NULL, NULL, dec));
    orr_tokenizer_info info;
    orr_tokenizer_get_info(e, &info);
    CHECK(info.has_encoder && !info.has_decoder);
    orr_tokenizer_get_info(d, &info);
    CHECK(!info.has_encoder && info.has_decoder);

    orr_tensor *video = random_pixels(5, (int64_t[]){1, 3, 9, 16, 16}, 5);
    orr_tensor *l1 = new_tensor(ORR_F32, 5, (int64_t[]){1, 16, 2, 2, 2});
    orr_tensor *l2 = new_tensor(ORR_F32, 5, (int64_t[]){1, 16, 2, 2, 2});
    orr_tensor *x1 = new_tensor(ORR_F32, 5, video->shape), *x2 = new_tensor(ORR_F32, 5, video->shape);
    CHECK_OK(orr_tokenizer_encode(both, l1, NULL, video));
    CHECK_OK(orr_tokenizer_encode(e, l2, NULL, video));
    CHECK(max_abs_diff(l1, l2) == 0);
    CHECK_OK(orr_tokenizer_decode(both, x1, l1));
    CHECK_OK(orr_tokenizer_decode(d, x2, l1));
    CHECK(max_abs_diff(x1, x2) == 0);
    CHECK_FAILS(orr_tokenizer_decode(e, x2, l1), ORR_ERR_UNSUPPORTED, "no decoder");
    CHECK_FAILS(orr_tokenizer_encode(d, l2, NULL, video), ORR_ERR_UNSUPPORTED, "no encoder");

    orr_tensor *all[] = {video, l1, l2, x1, x2};
    for (size_t i = 0; i < 5; i++) orr_tensor_free(all[i]);
    for (int64_t i = 0; i < ne; i++) orr_tensor_free(et[i]);
    for (int64_t i = 0; i < nd; i++) orr_tensor_free(dt[i]);
    free(en), free(dn), free(et), free(dt);
    orr_tokenizer_free(both);
    orr_tokenizer_free(e);
    orr_tokenizer_free(d);
    orr_st_close(st);
    unlink(enc);
    unlink(dec);
}

/* ------------------------------------------------------------------------ */

static void test_fsq_official(void) {
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open("data/tokenizer/fsq.safetensors", &st));
    if (!st) return;
    orr_tensor *z = NULL, *want_bounded = NULL, *want_codes = NULL, *want_idx = NULL;
    CHECK_OK(orr_st_get(st, "quant_conv", &z));
    CHECK_OK(orr_st_get(st, "fsq_bounded", &want_bounded));
    CHECK_OK(orr_st_get(st, "codes", &want_codes));
    CHECK_OK(orr_st_get(st, "indices", &want_idx));
    tok_fsq q;
    tok_fsq_init(&q, (int[]){8, 8, 8, 5, 5, 5}, 6);
    CHECK(q.codebook_size == 64000 && q.basis[5] == 12800);
    orr_tensor *codes = new_tensor(ORR_F32, 5, z->shape);
    orr_tensor *idx = new_tensor(ORR_I64, 4, want_idx->shape);
    orr_tensor *bounded = new_tensor(ORR_F32, 5, want_bounded->shape);
    CHECK_OK(tok_fsq_quantize(&q, z, codes, idx, bounded));
    CHECK(max_abs_diff(codes, want_codes) == 0);
    CHECK(max_abs_diff(idx, want_idx) == 0);
    CHECK(max_abs_diff(bounded, want_bounded) <= 1e-6);
    /* Decoding the indices gives the codes back exactly. */
    orr_tensor *back = new_tensor(ORR_F32, 5, z->shape);
    CHECK_OK(tok_fsq_dequantize(&q, want_idx, back));
    CHECK(max_abs_diff(back, want_codes) == 0);
    orr_tensor *all[] = {z, want_bounded, want_codes, want_idx, codes, idx, bounded, back};
    for (size_t i = 0; i < 8; i++) orr_tensor_free(all[i]);
    orr_st_close(st);
}

static void test_fsq_by_hand(void) {
    tok_fsq q;
    tok_fsq_init(&q, (int[]){8, 5}, 2);
    /* z = 0 is the middle level of each digit: 4 + 2*8; large |z| the ends. */
    orr_tensor *z = new_tensor(ORR_F32, 3, (int64_t[]){1, 2, 3});
    const float zs[6] = {0, 50, -50, 0, 50, -50}; /* [1, d=2, n=3] */
    for (int i = 0; i < 6; i++) orr_tensor_set(z, i, zs[i]);
    orr_tensor *codes = new_tensor(ORR_F32, 3, z->shape), *idx = new_tensor(ORR_I32, 2, (int64_t[]){1, 3});
    CHECK_OK(tok_fsq_quantize(&q, z, codes, idx, NULL));
    CHECK(orr_tensor_get(idx, 0) == 20 && orr_tensor_get(idx, 1) == 39 && orr_tensor_get(idx, 2) == 0);
    CHECK(orr_tensor_get(codes, 1) == 0.75 && orr_tensor_get(codes, 4) == 1.0 && orr_tensor_get(codes, 2) == -1.0);
    CHECK(orr_tensor_get(codes, 0) == 0.0 && orr_tensor_get(codes, 3) == 0.0);
    orr_tensor_set(idx, 1, 40);
    CHECK_FAILS(tok_fsq_dequantize(&q, idx, codes), ORR_ERR_ARGUMENT, "outside the codebook");
    CHECK_FAILS(tok_fsq_dequantize(&q, codes, codes), ORR_ERR_DTYPE, "integer");
    orr_tensor_free(z);
    orr_tensor_free(codes);
    orr_tensor_free(idx);
}

/* ------------------------------------------------------------------------ */

static void test_cv_random(void) {
    orr_tokenizer *tok = NULL;
    CHECK_OK(orr_tokenizer_create_random(&tok, cv_small, 1));
    if (!tok) return;
    int64_t lshape[5], pshape[5];
    CHECK_OK(orr_tokenizer_latent_shape(tok, 5, (int64_t[]){1, 3, 17, 16, 24}, lshape));
    CHECK(lshape[1] == 16 && lshape[2] == 3 && lshape[3] == 2 && lshape[4] == 3);
    CHECK_OK(orr_tokenizer_pixel_shape(tok, 5, lshape, pshape));
    CHECK(pshape[1] == 3 && pshape[2] == 17 && pshape[3] == 16 && pshape[4] == 24);

    /* Causality: the first latent frame sees only the first pixel frame, so
     * a lone frame encodes to the same latent as the start of a video. */
    orr_tensor *video = random_pixels(5, (int64_t[]){1, 3, 9, 16, 16}, 2);
    orr_tensor *frame0 = NULL, *first = NULL, *latent = new_tensor(ORR_F32, 5, (int64_t[]){1, 16, 2, 2, 2});
    orr_tensor *latent1 = new_tensor(ORR_F32, 5, (int64_t[]){1, 16, 1, 2, 2});
    CHECK_OK(orr_tokenizer_encode(tok, latent, NULL, video));
    CHECK_OK(orr_tensor_narrow(&frame0, video, 2, 0, 1));
    CHECK_OK(orr_tokenizer_encode(tok, latent1, NULL, frame0));
    CHECK_OK(orr_tensor_narrow(&first, latent, 2, 0, 1));
    CHECK(max_abs_diff(first, latent1) <= 1e-5);
    orr_tensor *recon = new_tensor(ORR_F32, 5, video->shape);
    CHECK_OK(orr_tokenizer_decode(tok, recon, latent));
    int64_t bad = -1;
    CHECK_OK(orr_count_nonfinite(recon, &bad));
    CHECK(bad == 0);

    /* Bad inputs. */
    orr_tensor *four = random_pixels(5, (int64_t[]){1, 4, 9, 16, 16}, 3);
    CHECK_FAILS(orr_tokenizer_encode(tok, NULL, NULL, four), ORR_ERR_SHAPE, "pixels");
    orr_tensor *t10 = random_pixels(5, (int64_t[]){1, 3, 10, 16, 16}, 3);
    CHECK_FAILS(orr_tokenizer_encode(tok, NULL, NULL, t10), ORR_ERR_SHAPE, "T = 1 + k*8");
    orr_tensor *h12 = random_pixels(5, (int64_t[]){1, 3, 9, 12, 16}, 3);
    CHECK_FAILS(orr_tokenizer_encode(tok, NULL, NULL, h12), ORR_ERR_SHAPE, "multiples of 8");
    orr_tensor *img = random_pixels(4, (int64_t[]){1, 3, 16, 16}, 3);
    CHECK_FAILS(orr_tokenizer_encode(tok, NULL, NULL, img), ORR_ERR_SHAPE, "video");
    orr_tensor_set(video, 100, NAN);
    CHECK_FAILS(orr_tokenizer_encode(tok, latent, NULL, video), ORR_ERR_NONFINITE, "NaN");
    CHECK_FAILS(orr_tokenizer_encode(tok, latent1, NULL, t10), ORR_ERR_SHAPE, "pixels");
    orr_tensor *small = new_tensor(ORR_F32, 5, (int64_t[]){1, 16, 1, 2, 2});
    orr_tensor_set(video, 100, 0.5);
    CHECK_FAILS(orr_tokenizer_encode(tok, small, NULL, video), ORR_ERR_SHAPE, "latent");
    orr_tensor *idx = new_tensor(ORR_I32, 4, (int64_t[]){1, 2, 2, 2});
    CHECK_FAILS(orr_tokenizer_encode(tok, latent, idx, video), ORR_ERR_ARGUMENT, "indices");
    CHECK_FAILS(orr_tokenizer_decode_indices(tok, recon, idx), ORR_ERR_UNSUPPORTED, "continuous");
    orr_tensor *wrong = new_tensor(ORR_F32, 5, (int64_t[]){1, 6, 2, 2, 2});
    CHECK_OK(orr_fill(wrong, 0));
    CHECK_FAILS(orr_tokenizer_decode(tok, recon, wrong), ORR_ERR_SHAPE, "latent");
    CHECK_FAILS(orr_tokenizer_decode(tok, img, latent), ORR_ERR_SHAPE, "pixels");

    /* Batch entries are independent (per-frame norms, attention, convs). */
    orr_tensor *pair = random_pixels(5, (int64_t[]){2, 3, 9, 16, 16}, 4), *second = NULL, *lat2 = NULL;
    orr_tensor *pair_latent = new_tensor(ORR_F32, 5, (int64_t[]){2, 16, 2, 2, 2});
    CHECK_OK(orr_tokenizer_encode(tok, pair_latent, NULL, pair));
    CHECK_OK(orr_tensor_narrow(&second, pair, 0, 1, 1));
    CHECK_OK(orr_tokenizer_encode(tok, latent, NULL, second));
    CHECK_OK(orr_tensor_narrow(&lat2, pair_latent, 0, 1, 1));
    CHECK(max_abs_diff(lat2, latent) <= 1e-5);
    orr_tensor *pair_recon = new_tensor(ORR_F32, 5, pair->shape), *recon2 = NULL;
    CHECK_OK(orr_tokenizer_decode(tok, pair_recon, pair_latent));
    CHECK_OK(orr_tokenizer_decode(tok, recon, latent));
    CHECK_OK(orr_tensor_narrow(&recon2, pair_recon, 0, 1, 1));
    CHECK(max_abs_diff(recon2, recon) <= 1e-4);
    orr_tensor *batch[] = {pair, second, lat2, pair_latent, pair_recon, recon2};
    for (size_t i = 0; i < 6; i++) orr_tensor_free(batch[i]);

    /* A non-finite value is reported with the stage where it appeared. */
    orr_tensor_set(tok->dec3d->mid_block_1.conv2[1].w, 0, INFINITY);
    CHECK_FAILS(orr_tokenizer_decode(tok, recon, latent), ORR_ERR_NONFINITE, "after decoder.mid.block_1");

    orr_tensor *all[] = {video, frame0, first, latent, latent1, recon, four, t10, h12, img, small, idx, wrong};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_tokenizer_free(tok);
}

static void test_dv_random(void) {
    orr_tokenizer *tok = NULL;
    CHECK_OK(orr_tokenizer_create_random(&tok, dv_small, 7));
    if (!tok) return;
    orr_tokenizer_info info;
    orr_tokenizer_get_info(tok, &info);
    CHECK(info.kind == ORR_TOKENIZER_DV && info.codebook_size == 64000 && info.latent_channels == 6);
    orr_tensor *video = random_pixels(5, (int64_t[]){1, 3, 9, 32, 32}, 8);
    orr_tensor *codes = new_tensor(ORR_F32, 5, (int64_t[]){1, 6, 2, 2, 2});
    orr_tensor *idx = new_tensor(ORR_I64, 4, (int64_t[]){1, 2, 2, 2});
    CHECK_OK(orr_tokenizer_encode(tok, codes, idx, video));
    for (int64_t i = 0; i < orr_tensor_numel(idx); i++) {
        double v = orr_tensor_get(idx, i);
        CHECK(v >= 0 && v < 64000);
    }
    for (int64_t i = 0; i < orr_tensor_numel(codes); i++) {
        double c = orr_tensor_get(codes, i), scaled = c * (i < 3 * 8 ? 4 : 2);
        CHECK(c >= -1 && c <= 1 && scaled == floor(scaled));
    }
    /* Decoding indices and decoding their codes are the same thing. */
    orr_tensor *a = new_tensor(ORR_F32, 5, video->shape), *b = new_tensor(ORR_F32, 5, video->shape);
    CHECK_OK(orr_tokenizer_decode_indices(tok, a, idx));
    CHECK_OK(orr_tokenizer_decode(tok, b, codes));
    CHECK(max_abs_diff(a, b) == 0);
    orr_tensor_set(idx, 3, 64000);
    CHECK_FAILS(orr_tokenizer_decode_indices(tok, a, idx), ORR_ERR_ARGUMENT, "outside the codebook");
    orr_tensor *fidx = new_tensor(ORR_F32, 4, (int64_t[]){1, 2, 2, 2});
    CHECK_OK(orr_fill(fidx, 1));
    CHECK_FAILS(orr_tokenizer_decode_indices(tok, a, fidx), ORR_ERR_DTYPE, "integer");
    orr_tensor *all[] = {video, codes, idx, a, b, fidx};
    for (size_t i = 0; i < 6; i++) orr_tensor_free(all[i]);
    orr_tokenizer_free(tok);
}

static void test_images_random(void) {
    orr_tokenizer *ci = NULL, *di = NULL;
    CHECK_OK(orr_tokenizer_create_random(&ci, ci_small, 11));
    CHECK_OK(orr_tokenizer_create_random(&di, di_small, 12));
    if (!ci || !di) return;
    orr_tensor *img = random_pixels(4, (int64_t[]){2, 3, 16, 16}, 13);
    orr_tensor *latent = new_tensor(ORR_F32, 4, (int64_t[]){2, 4, 2, 2});
    orr_tensor *recon = new_tensor(ORR_F32, 4, img->shape);
    CHECK_OK(orr_tokenizer_encode(ci, latent, NULL, img));
    CHECK_OK(orr_tokenizer_decode(ci, recon, latent));
    /* Batch entries are independent. */
    orr_tensor *img1 = NULL, *first = NULL, *latent1 = new_tensor(ORR_F32, 4, (int64_t[]){1, 4, 2, 2});
    CHECK_OK(orr_tensor_narrow(&img1, img, 0, 1, 1));
    CHECK_OK(orr_tokenizer_encode(ci, latent1, NULL, img1));
    CHECK_OK(orr_tensor_narrow(&first, latent, 0, 1, 1));
    CHECK(max_abs_diff(first, latent1) <= 1e-5);

    orr_tensor *codes = new_tensor(ORR_F32, 4, (int64_t[]){2, 4, 4, 4});
    orr_tensor *idx = new_tensor(ORR_I32, 3, (int64_t[]){2, 4, 4});
    CHECK_OK(orr_tokenizer_encode(di, codes, idx, img));
    for (int64_t i = 0; i < orr_tensor_numel(idx); i++) CHECK(orr_tensor_get(idx, i) < 5 * 4 * 3 * 3);
    CHECK_OK(orr_tokenizer_decode_indices(di, recon, idx));
    CHECK_FAILS(orr_tokenizer_encode(di, codes, idx, latent), ORR_ERR_SHAPE, "pixels");
    orr_tensor *all[] = {img, latent, recon, img1, first, latent1, codes, idx};
    for (size_t i = 0; i < 8; i++) orr_tensor_free(all[i]);
    orr_tokenizer_free(ci);
    orr_tokenizer_free(di);
}

static void test_config_errors(void) {
    orr_tokenizer *tok = NULL;
    CHECK_FAILS(orr_tokenizer_create_random(&tok, "{\"name\": \"CV\"", 1), ORR_ERR_FORMAT, "json");
    CHECK_FAILS(orr_tokenizer_create_random(&tok, "{\"name\": \"XV\"}", 1), ORR_ERR_UNSUPPORTED, "XV");
    CHECK_FAILS(orr_tokenizer_create_random(&tok, "{\"name\": \"CV\", \"in_channels\": 3}", 1), ORR_ERR_FORMAT,
                "out_channels");
    char buf[2048];
    /* Each edit of cv_small and the message it must give. */
    static const struct {
        const char *from, *to, *needle;
        orr_status status;
    } cases[] = {
        {"\"formulation\": \"AE\"", "\"formulation\": \"VAE\"", "formulation", ORR_ERR_UNSUPPORTED},
        {"\"patch_size\": 4", "\"patch_size\": 3", "power of two", ORR_ERR_FORMAT},
        {"\"patch_method\": \"haar\"", "\"patch_method\": \"rearrange\"", "patch_method", ORR_ERR_UNSUPPORTED},
        {"\"encoder\": \"FACTORIZED\"", "\"encoder\": \"BASE\"", "encoder", ORR_ERR_UNSUPPORTED},
        {"\"temporal_compression\": 8", "\"temporal_compression\": 64", "temporal_compression", ORR_ERR_FORMAT},
        {"\"channels\": 8", "\"channels\": 8.5", "'channels' must be an integer", ORR_ERR_FORMAT},
        {"\"channels_mult\": [2, 4, 4]", "\"channels_mult\": []", "channels_mult", ORR_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(cv_small, cases[i].from);
        CHECK(at != NULL);
        if (!at) continue;
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - cv_small), cv_small, cases[i].to, at + strlen(cases[i].from));
        CHECK_FAILS(orr_tokenizer_create_random(&tok, buf, 1), cases[i].status, cases[i].needle);
        CHECK(tok == NULL);
    }
}

int main(void) {
    orr_set_num_threads(2);
    test_config_errors();
    test_fsq_by_hand();
    test_fsq_official();
    test_cv_random();
    test_dv_random();
    test_images_random();
    test_cv_fixture();
    test_bf16_weights();
    test_weight_errors();
    test_halves();
    return test_finish("tokenizer");
}
