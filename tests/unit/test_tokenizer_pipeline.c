/* The tokenizers on inputs of any size: official padding and cropping,
 * independent temporal windows, tiled decoding and its memory plan, and the
 * diffusion latent normalisation. Small random models; the results are
 * checked against the same steps done by hand with the public API. */
#include "test_util.h"

static const char *cv_small =
    "{\"name\": \"CV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [32], \"resolution\": 1024, \"patch_size\": 4, \"patch_method\": \"haar\","
    " \"latent_channels\": 16, \"z_channels\": 16, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8, \"temporal_compression\": 8, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\"}";

static const char *dv_small =
    "{\"name\": \"DV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [32], \"resolution\": 1024, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"z_channels\": 8, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 4, \"temporal_compression\": 4, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\", \"quantizer\": \"FSQ\", \"embedding_dim\": 3, \"levels\": [8, 5, 5]}";

static const char *ci_small =
    "{\"name\": \"CI\", \"channels\": 32, \"channels_mult\": [1, 2], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [8], \"resolution\": 32, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"latent_channels\": 4, \"z_channels\": 4, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8}";

static orr_tensor *new_tensor(int ndim, const int64_t *shape) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, ndim, shape));
    return t;
}

static orr_tensor *random_tensor(int ndim, const int64_t *shape, uint64_t seed) {
    orr_tensor *t = new_tensor(ndim, shape);
    orr_rng rng;
    orr_rng_init(&rng, seed);
    CHECK_OK(orr_rng_uniform(&rng, t));
    CHECK_OK(orr_affine(t, t, 2.0f, -1.0f));
    return t;
}

static double max_abs_diff(const orr_tensor *a, const orr_tensor *b) {
    if (!orr_tensor_same_shape(a, b)) return INFINITY;
    double m = 0;
    for (int64_t i = 0; i < orr_tensor_numel(a); i++) {
        double d = fabs(orr_tensor_get(a, i) - orr_tensor_get(b, i));
        if (!(d <= m)) m = d;
    }
    return m;
}

/* encode + decode through the public API on a valid size. */
static orr_tensor *roundtrip(orr_tokenizer *tok, const orr_tensor *x) {
    int64_t ls[5], ps[5];
    CHECK_OK(orr_tokenizer_latent_shape(tok, x->ndim, x->shape, ls));
    CHECK_OK(orr_tokenizer_pixel_shape(tok, x->ndim, ls, ps));
    orr_tensor *latent = new_tensor(x->ndim, ls), *y = new_tensor(x->ndim, ps);
    CHECK_OK(orr_tokenizer_encode(tok, latent, NULL, x));
    CHECK_OK(orr_tokenizer_decode(tok, y, latent));
    orr_tensor_free(latent);
    return y;
}

/* The official pad_video_batch by hand: black (-1) rows and columns split
 * around the frame, then the first/last frames repeated. */
static orr_tensor *pad_by_hand(const orr_tensor *x, int64_t top, int64_t bottom, int64_t left, int64_t right,
                               int64_t front, int64_t back) {
    int64_t s1[5] = {x->shape[0], x->shape[1], x->shape[2], x->shape[3] + top + bottom, x->shape[4] + left + right};
    int64_t s2[5] = {s1[0], s1[1], s1[2] + front + back, s1[3], s1[4]};
    orr_tensor *a = new_tensor(5, s1), *b = new_tensor(5, s2);
    CHECK_OK(orr_pad(a, x, (int64_t[]){0, 0, 0, 0, 0, 0, top, bottom, left, right}, ORR_PAD_CONSTANT, -1.0f));
    CHECK_OK(orr_pad(b, a, (int64_t[]){0, 0, 0, 0, front, back, 0, 0, 0, 0}, ORR_PAD_REPLICATE, 0.0f));
    orr_tensor_free(a);
    return b;
}

/* The part of y at [t0, t0+t) x [y0, y0+h) x [x0, x0+w), as a new tensor. */
static orr_tensor *crop(const orr_tensor *y, int64_t t0, int64_t t, int64_t y0, int64_t h, int64_t x0, int64_t w) {
    orr_tensor *a = NULL, *b = NULL, *c = NULL, *out = NULL;
    CHECK_OK(orr_tensor_narrow(&a, y, 2, t0, t));
    CHECK_OK(orr_tensor_narrow(&b, a, 3, y0, h));
    CHECK_OK(orr_tensor_narrow(&c, b, 4, x0, w));
    CHECK_OK(orr_tensor_contiguous(&out, c));
    orr_tensor_free(a);
    orr_tensor_free(b);
    orr_tensor_free(c);
    return out;
}

static void test_padding_and_windows(void) {
    orr_tokenizer *tok = NULL;
    CHECK_OK(orr_tokenizer_create_random(&tok, cv_small, 21));
    if (!tok) return;
    orr_tokenizer_params p;
    orr_tokenizer_params_init(&p);
    CHECK(p.temporal_window == 17 && p.spatial_align == 16 && p.temporal_align == 8);

    /* A valid size in one window is exactly encode + decode. */
    orr_tensor *x = random_tensor(5, (int64_t[]){1, 3, 9, 16, 16}, 1);
    orr_tensor *out = new_tensor(5, x->shape), *want = roundtrip(tok, x);
    CHECK_OK(orr_tokenizer_autoencode(tok, out, x, &p));
    CHECK(max_abs_diff(out, want) == 0);
    orr_tensor_free(x);
    orr_tensor_free(out);
    orr_tensor_free(want);

    /* 10 frames of 12x20: H to 16 (2+2), W to 32 (6+6), T-1 to 16 (3 frames
     * before, 4 after), then cropped back. */
    x = random_tensor(5, (int64_t[]){1, 3, 10, 12, 20}, 2);
    out = new_tensor(5, x->shape);
    p.temporal_window = 0;
    CHECK_OK(orr_tokenizer_autoencode(tok, out, x, &p));
    orr_tensor *padded = pad_by_hand(x, 2, 2, 6, 6, 3, 4);
    orr_tensor *full = roundtrip(tok, padded);
    want = crop(full, 3, 10, 2, 12, 6, 20);
    CHECK(max_abs_diff(out, want) == 0);
    orr_tensor_free(padded);
    orr_tensor_free(full);
    orr_tensor_free(want);

    /* Windows of 8 frames: [0,8) and [8,10), each padded on its own. */
    p.temporal_window = 8;
    CHECK_OK(orr_tokenizer_autoencode(tok, out, x, &p));
    orr_tensor *w0 = NULL, *w1 = NULL;
    CHECK_OK(orr_tensor_narrow(&w0, x, 2, 0, 8));
    CHECK_OK(orr_tensor_narrow(&w1, x, 2, 8, 2));
    orr_tensor *o0 = new_tensor(5, w0->shape), *o1 = new_tensor(5, w1->shape);
    p.temporal_window = 0;
    CHECK_OK(orr_tokenizer_autoencode(tok, o0, w0, &p));
    CHECK_OK(orr_tokenizer_autoencode(tok, o1, w1, &p));
    orr_tensor *g0 = crop(out, 0, 8, 0, 12, 0, 20), *g1 = crop(out, 8, 2, 0, 12, 0, 20);
    CHECK(max_abs_diff(g0, o0) == 0);
    CHECK(max_abs_diff(g1, o1) == 0);

    orr_tensor *nan = random_tensor(5, (int64_t[]){1, 3, 4, 8, 8}, 3), *nan_out = new_tensor(5, nan->shape);
    orr_tensor_set(nan, 7, NAN);
    CHECK_FAILS(orr_tokenizer_autoencode(tok, nan_out, nan, &p), ORR_ERR_NONFINITE, "NaN");
    CHECK_FAILS(orr_tokenizer_autoencode(tok, nan_out, x, &p), ORR_ERR_SHAPE, "out");
    orr_tensor *two = random_tensor(5, (int64_t[]){1, 2, 4, 8, 8}, 3);
    CHECK_FAILS(orr_tokenizer_autoencode(tok, two, two, &p), ORR_ERR_SHAPE, "pixels");

    orr_tensor *all[] = {x, out, w0, w1, o0, o1, g0, g1, nan, nan_out, two};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_tokenizer_free(tok);
}

static void test_discrete_and_image(void) {
    orr_tokenizer *dv = NULL, *ci = NULL;
    CHECK_OK(orr_tokenizer_create_random(&dv, dv_small, 31));
    CHECK_OK(orr_tokenizer_create_random(&ci, ci_small, 32));
    if (!dv || !ci) return;
    /* DV: the round trip goes through the FSQ codes. */
    orr_tensor *x = random_tensor(5, (int64_t[]){1, 3, 5, 8, 8}, 4);
    orr_tensor *codes = new_tensor(5, (int64_t[]){1, 3, 2, 2, 2}), *y = new_tensor(5, x->shape);
    orr_tensor *out = new_tensor(5, x->shape);
    CHECK_OK(orr_tokenizer_encode(dv, codes, NULL, x));
    CHECK_OK(orr_tokenizer_decode(dv, y, codes));
    orr_tokenizer_params p;
    orr_tokenizer_params_init(&p);
    p.spatial_align = p.temporal_align = 4; /* nothing to pad */
    CHECK_OK(orr_tokenizer_autoencode(dv, out, x, &p));
    CHECK(max_abs_diff(out, y) == 0);

    /* CI: a 20x28 image pads to 32x32 (6+6 rows, 2+2 columns). */
    orr_tensor *img = random_tensor(4, (int64_t[]){1, 3, 20, 28}, 5), *img_out = new_tensor(4, img->shape);
    CHECK_OK(orr_tokenizer_autoencode(ci, img_out, img, NULL));
    orr_tensor *pad = new_tensor(4, (int64_t[]){1, 3, 32, 32}), *latent = new_tensor(4, (int64_t[]){1, 4, 4, 4});
    orr_tensor *rec = new_tensor(4, pad->shape), *a = NULL, *b = NULL;
    CHECK_OK(orr_pad(pad, img, (int64_t[]){0, 0, 0, 0, 6, 6, 2, 2}, ORR_PAD_CONSTANT, -1.0f));
    CHECK_OK(orr_tokenizer_encode(ci, latent, NULL, pad));
    CHECK_OK(orr_tokenizer_decode(ci, rec, latent));
    CHECK_OK(orr_tensor_narrow(&a, rec, 2, 6, 20));
    CHECK_OK(orr_tensor_narrow(&b, a, 3, 2, 28));
    CHECK(max_abs_diff(img_out, b) == 0);

    orr_tensor *all[] = {x, codes, y, out, img, img_out, pad, latent, rec, a, b};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_tokenizer_free(dv);
    orr_tokenizer_free(ci);
}

static void test_tiles(void) {
    orr_tokenizer *tok = NULL;
    CHECK_OK(orr_tokenizer_create_random(&tok, cv_small, 41));
    if (!tok) return;
    orr_tensor *latent = random_tensor(5, (int64_t[]){1, 16, 2, 6, 7}, 6);
    int64_t ps[5];
    CHECK_OK(orr_tokenizer_pixel_shape(tok, 5, latent->shape, ps));
    orr_tensor *full = new_tensor(5, ps), *tiled = new_tensor(5, ps);
    orr_tokenizer_params p;
    orr_tokenizer_params_init(&p);

    /* One tile over everything is the plain decode. */
    orr_mem_stats before, after;
    orr_mem_get_stats(ORR_CPU, &before);
    orr_mem_reset_peak(ORR_CPU);
    CHECK_OK(orr_tokenizer_decode(tok, full, latent));
    orr_mem_get_stats(ORR_CPU, &after);
    orr_tokenizer_plan plan;
    CHECK_OK(orr_tokenizer_plan_decode(tok, 5, latent->shape, &p, &plan));
    CHECK(plan.tiles_y == 1 && plan.tiles_x == 1 && plan.tile_h == 6 && plan.tile_w == 7);
    /* The estimate bounds the measured activation peak, and not loosely. */
    int64_t measured = after.bytes_peak - before.bytes_in_use;
    CHECK(measured <= plan.peak_tile_bytes);
    CHECK(plan.peak_tile_bytes <= 2 * measured);
    CHECK(plan.weight_bytes > 0 && plan.output_bytes == (3 * 9 * 48 * 56 + 48 * 56) * 4);
    CHECK_OK(orr_tokenizer_decode_tiled(tok, tiled, latent, &p));
    CHECK(max_abs_diff(tiled, full) == 0);

    /* Tiles of 4 with overlap 2: rows at 0, 2 (flush), columns at 0, 2, 3. */
    p.tile = 4;
    p.tile_overlap = 2;
    FILE *report = tmpfile();
    p.plan_report = report;
    CHECK_OK(orr_tokenizer_plan_decode(tok, 5, latent->shape, &p, &plan));
    CHECK(plan.tiles_y == 2 && plan.tiles_x == 3 && plan.tile_h == 4 && plan.tile_w == 4);
    if (report) {
        char text[2048] = "";
        rewind(report);
        size_t n = fread(text, 1, sizeof text - 1, report);
        text[n] = '\0';
        CHECK(strstr(text, "tiles      2 x 3 of 4 x 4") != NULL);
        CHECK(strstr(text, "per tile") != NULL);
        fclose(report);
    }
    p.plan_report = NULL;
    CHECK_OK(orr_tokenizer_decode_tiled(tok, tiled, latent, &p));
    /* Where only the first tile reaches (weight 1), the result is that tile's
     * own decode. */
    orr_tensor *corner = NULL, *rows = NULL, *tile_px = new_tensor(5, (int64_t[]){1, 3, 9, 32, 32});
    CHECK_OK(orr_tensor_narrow(&rows, latent, 3, 0, 4));
    CHECK_OK(orr_tensor_narrow(&corner, rows, 4, 0, 4));
    CHECK_OK(orr_tokenizer_decode(tok, tile_px, corner));
    orr_tensor *got = crop(tiled, 0, 9, 0, 16, 0, 16), *want = crop(tile_px, 0, 9, 0, 16, 0, 16);
    CHECK(max_abs_diff(got, want) <= 1e-6);
    int64_t bad = -1;
    CHECK_OK(orr_count_nonfinite(tiled, &bad));
    CHECK(bad == 0);

    /* A budget picks the tile; one too small is refused. */
    p.tile = 0;
    p.tile_overlap = 1;
    p.memory_budget = plan.peak_tile_bytes;
    orr_tokenizer_plan fit;
    CHECK_OK(orr_tokenizer_plan_decode(tok, 5, latent->shape, &p, &fit));
    CHECK(fit.tile_h <= 4 && fit.peak_tile_bytes <= p.memory_budget);
    p.memory_budget = 1000;
    CHECK_FAILS(orr_tokenizer_plan_decode(tok, 5, latent->shape, &p, &fit), ORR_ERR_MEMORY, "budget");
    p.memory_budget = 0;
    p.tile = 2;
    p.tile_overlap = 2;
    CHECK_FAILS(orr_tokenizer_decode_tiled(tok, tiled, latent, &p), ORR_ERR_ARGUMENT, "overlap");

    orr_tensor *all[] = {latent, full, tiled, corner, rows, tile_px, got, want};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_tokenizer_free(tok);
}

static void test_latent_normalization(void) {
    /* C = 2 channels, N = 3 frames of statistics, a latent of 2 frames. */
    orr_tensor *mean = new_tensor(2, (int64_t[]){2, 3}), *std = new_tensor(1, (int64_t[]){6});
    const float m[6] = {0.1f, 0.2f, 0.3f, -1, -2, -3}, s[6] = {1, 2, 4, 0.5f, 0.25f, 8};
    for (int i = 0; i < 6; i++) orr_tensor_set(mean, i, m[i]), orr_tensor_set(std, i, s[i]);
    orr_tensor *z = random_tensor(5, (int64_t[]){2, 2, 2, 1, 3}, 7);
    orr_tensor *n = new_tensor(5, z->shape), *back = new_tensor(5, z->shape);
    CHECK_OK(orr_tokenizer_normalize_latent(n, z, mean, std, 0.5f));
    for (int64_t i = 0; i < orr_tensor_numel(z); i++) {
        int64_t c = i / 6 % 2, t = i / 3 % 2;
        double want = ((float)orr_tensor_get(z, i) - m[c * 3 + t]) / s[c * 3 + t] * 0.5f;
        CHECK_NEAR(orr_tensor_get(n, i), want, 1e-6);
    }
    CHECK_OK(orr_tokenizer_denormalize_latent(back, n, mean, std, 0.5f));
    CHECK(max_abs_diff(back, z) <= 1e-5);
    orr_tensor *long_z = random_tensor(5, (int64_t[]){1, 2, 4, 1, 1}, 8), *long_n = new_tensor(5, long_z->shape);
    CHECK_FAILS(orr_tokenizer_normalize_latent(long_n, long_z, mean, std, 0.5f), ORR_ERR_SHAPE, "latent frames");
    CHECK_FAILS(orr_tokenizer_normalize_latent(n, z, mean, std, 0.0f), ORR_ERR_ARGUMENT, "sigma_data");
    CHECK_FAILS(orr_tokenizer_normalize_latent(long_n, z, mean, std, 0.5f), ORR_ERR_SHAPE, "out");
    orr_tensor *all[] = {mean, std, z, n, back, long_z, long_n};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
}

int main(void) {
    orr_set_num_threads(2);
    test_latent_normalization();
    test_padding_and_windows();
    test_discrete_and_image();
    test_tiles();
    return test_finish("tokenizer_pipeline");
}
