/* The tokenizers on cuda against the same tokenizer on the cpu: the CV
 * fixture of tests/data (official weights), the golden CV/DV/CI fixtures
 * when $ORR_GOLDEN (default /work/shared/golden) holds them, and small
 * random CV, DV, CI and DI nets; every traced stage, encode, decode and
 * decode_indices.
 *
 * Tolerances, as max |cuda - cpu| over max(1, max |cpu|):
 *  - f32 weights: 1e-4 (cuDNN's FMA algorithms, the f32 attention and the
 *    norms sum in another order than the cpu; measured ~1e-6);
 *  - bf16 weights: 3e-2 against the cpu holding the same bf16-rounded
 *    weights (moved to cuda in bf16 and back), so that what remains is the
 *    rounding of every conv's input to bf16 over some 30 convs;
 *  - DV/DI indices: equal, except at a position where some channel's cpu
 *    value before rounding (FSQ's `bounded`) lies within eps of a rounding
 *    boundary k + 1/2, eps = half_l * max |z_cuda - z_cpu| + 1e-6 (the
 *    pre-quantizer latents differ by the f32 tolerance above, and the
 *    shifted tanh moves by at most half_l times as much); such positions
 *    must stay under 1% with f32 weights;
 *  - decode_tiled on cuda: against the cpu's tiled decode 1e-4; one tile
 *    over everything against the untiled decode on cuda within 1e-5 (the
 *    same kernels: equal in practice);
 *  - the latent normalisation and the uint8 conversions on cuda: the cpu's
 *    numbers exactly; back on the cpu an f32 tokenizer gives the cpu's
 *    numbers exactly.
 * Also: inputs and outputs on either device, autoencode (padding and
 * windows), the decode plan's peak against the device memory measured,
 * bad indices and NaN inputs refused on cuda, and Text2World/Video2World
 * and a two-chunk Transfer1 run with the DiT (networks) and the tokenizer
 * on cuda against the cpu. Skipped (77) without a usable device. */
#include <stdlib.h>

#include "gpu_test_util.h"
#include "models/tokenizer.h"

#define CV_FIXTURE "data/tokenizer/cv"
#define F32_TOL 1e-4
#define BF16_TOL 3e-2

static const char *cv_small =
    "{\"name\": \"CV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [16], \"resolution\": 64, \"patch_size\": 4, \"patch_method\": \"haar\","
    " \"latent_channels\": 16, \"z_channels\": 16, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8, \"temporal_compression\": 8, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\"}";

static const char *dv_small =
    "{\"name\": \"DV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [32], \"resolution\": 1024, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"z_channels\": 8, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 4, \"temporal_compression\": 4, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\", \"quantizer\": \"FSQ\", \"embedding_dim\": 6, \"levels\": [8, 8, 8, 5, 5, 5]}";

static const char *ci_small =
    "{\"name\": \"CI\", \"channels\": 32, \"channels_mult\": [1, 2], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [8], \"resolution\": 32, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"latent_channels\": 4, \"z_channels\": 4, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8}";

static const char *di_small =
    "{\"name\": \"DI\", \"channels\": 32, \"channels_mult\": [1, 2], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [32], \"resolution\": 32, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"z_channels\": 32, \"in_channels\": 3, \"out_channels\": 3, \"spatial_compression\": 4,"
    " \"quantizer\": \"FSQ\", \"embedding_dim\": 4, \"levels\": [5, 4, 3, 3]}";

static orr_tensor *random_pixels(int ndim, const int64_t *shape, uint64_t seed) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, ndim, shape));
    if (!t) return NULL;
    orr_rng rng;
    orr_rng_init(&rng, seed);
    CHECK_OK(orr_rng_uniform(&rng, t));
    CHECK_OK(orr_affine(t, t, 2.0f, -1.0f));
    return t;
}

/* t as a contiguous f32 host tensor (NULL stays NULL). */
static orr_tensor *host_f32(const orr_tensor *t) {
    orr_tensor *h = NULL;
    if (t) CHECK_OK(orr_tensor_empty(&h, ORR_F32, t->ndim, t->shape));
    if (h) CHECK_OK(orr_copy(h, t));
    return h;
}

/* max |got - want| / max(1, max |want|), both on any device; prints it. */
static double compare(const char *what, const orr_tensor *got, const orr_tensor *want, double tol) {
    orr_tensor *g = host_f32(got), *w = host_f32(want);
    double rel = INFINITY;
    test_checks++;
    if (g && w && orr_tensor_same_shape(g, w)) {
        double ref = 0, d = test_max_abs_diff(g->data, w->data, (long)orr_tensor_numel(w), &ref);
        rel = d / (ref > 1 ? ref : 1);
        printf("  %-44s max abs %.3e  max |cpu| %.3e  rel %.3e\n", what, d, ref, rel);
    }
    if (!(rel <= tol)) {
        test_failures++;
        fprintf(stderr, "%s: rel %.3e > %.1e\n", what, rel, tol);
    }
    orr_tensor_free(g);
    orr_tensor_free(w);
    return rel;
}

static bool same_bits(const orr_tensor *a, const orr_tensor *b) {
    orr_tensor *x = NULL, *y = NULL;
    if (a) CHECK_OK(orr_tensor_to(&x, a, ORR_CPU));
    if (b) CHECK_OK(orr_tensor_to(&y, b, ORR_CPU));
    orr_tensor *xc = NULL, *yc = NULL;
    if (x) CHECK_OK(orr_tensor_contiguous(&xc, x));
    if (y) CHECK_OK(orr_tensor_contiguous(&yc, y));
    bool same = xc && yc && xc->dtype == yc->dtype && orr_tensor_same_shape(xc, yc) &&
                !memcmp(xc->data, yc->data, orr_tensor_nbytes(xc));
    orr_tensor *all[] = {x, y, xc, yc};
    for (int i = 0; i < 4; i++) orr_tensor_free(all[i]);
    return same;
}

static orr_tensor *empty_on(orr_device device, orr_dtype dtype, int ndim, const int64_t *shape) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty_on(device, &t, dtype, ndim, shape));
    return t;
}

/* A pair: the cpu reference and the same weights on cuda in `dtype`; for
 * bf16 the reference holds the bf16-rounded weights. */
typedef struct pair {
    orr_tokenizer *cpu, *gpu;
} pair;

static pair make_pair(const char *config, const char *path, uint64_t seed, orr_dtype dtype) {
    pair p = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        orr_tokenizer **t = i ? &p.gpu : &p.cpu;
        CHECK_OK(path ? orr_tokenizer_load(t, config, path, NULL) : orr_tokenizer_create_random(t, config, seed));
    }
    if (!p.cpu || !p.gpu) return p;
    CHECK_OK(orr_tokenizer_to_device(p.gpu, ORR_CUDA, dtype));
    CHECK(orr_tokenizer_device(p.gpu) == ORR_CUDA);
    if (dtype == ORR_BF16) {
        CHECK_OK(orr_tokenizer_to_device(p.cpu, ORR_CUDA, ORR_BF16));
        CHECK_OK(orr_tokenizer_to_device(p.cpu, ORR_CPU, ORR_F32));
    }
    return p;
}

static void free_pair(pair p) {
    orr_tokenizer_free(p.cpu);
    orr_tokenizer_free(p.gpu);
}

/* Every traced stage of both networks, on the cpu's input x and latent. */
static void compare_stages(const char *name, pair p, const orr_tensor *x, double tol) {
    orr_tensor_list *tc = NULL, *tg = NULL;
    orr_tensor *zc = NULL, *zg = NULL, *yc = NULL, *yg = NULL, *xg = NULL;
    CHECK_OK(orr_tensor_list_create(&tc));
    CHECK_OK(orr_tensor_list_create(&tg));
    CHECK_OK(orr_tensor_to(&xg, x, ORR_CUDA));
    if (!tc || !tg || !xg) return;
    CHECK_OK(tok_encode_raw(p.cpu, x, &zc, tc));
    CHECK_OK(tok_encode_raw(p.gpu, xg, &zg, tg));
    if (zc) CHECK_OK(tok_decode_raw(p.cpu, zc, &yc, tc));
    orr_tensor *zcg = NULL;
    if (zc) CHECK_OK(orr_tensor_to(&zcg, zc, ORR_CUDA));
    /* the decoder from the cpu's latent: the halves checked apart */
    if (zcg) CHECK_OK(tok_decode_raw(p.gpu, zcg, &yg, tg));
    CHECK(orr_tensor_list_count(tc) == orr_tensor_list_count(tg) && orr_tensor_list_count(tc) > 10);
    for (int64_t i = 0; i < orr_tensor_list_count(tc); i++) {
        const char *stage = orr_tensor_list_name(tc, i);
        char what[200];
        snprintf(what, sizeof what, "%s %s", name, stage);
        compare(what, orr_tensor_list_find(tg, stage), orr_tensor_list_get(tc, i), tol);
    }
    orr_tensor *all[] = {zc, zg, yc, yg, xg, zcg};
    for (int i = 0; i < 6; i++) orr_tensor_free(all[i]);
    orr_tensor_list_free(tc);
    orr_tensor_list_free(tg);
}

/* CV/CI: encode and decode through the public API, pixels on the host and
 * latent on the device for the cuda tokenizer (and the reverse). */
static void compare_continuous(const char *name, pair p, const orr_tensor *x, double tol) {
    int64_t ls[5], ps[5];
    CHECK_OK(orr_tokenizer_latent_shape(p.cpu, x->ndim, x->shape, ls));
    CHECK_OK(orr_tokenizer_pixel_shape(p.cpu, x->ndim, ls, ps));
    orr_tensor *lc = empty_on(ORR_CPU, ORR_F32, x->ndim, ls), *lg = empty_on(ORR_CUDA, ORR_F32, x->ndim, ls);
    orr_tensor *yc = empty_on(ORR_CPU, ORR_F32, x->ndim, ps), *yg = empty_on(ORR_CPU, ORR_F32, x->ndim, ps);
    orr_tensor *lh = empty_on(ORR_CPU, ORR_F32, x->ndim, ls);
    char what[200];
    CHECK_OK(orr_tokenizer_encode(p.cpu, lc, NULL, x));
    CHECK_OK(orr_tokenizer_encode(p.gpu, lg, NULL, x));
    snprintf(what, sizeof what, "%s encode", name);
    compare(what, lg, lc, tol);
    /* the same latent decoded: host latent, host pixels */
    CHECK_OK(orr_tokenizer_decode(p.cpu, yc, lc));
    CHECK_OK(orr_tokenizer_decode(p.gpu, yg, lc));
    snprintf(what, sizeof what, "%s decode", name);
    compare(what, yg, yc, tol);
    /* a host latent output from the cuda tokenizer: the same numbers */
    CHECK_OK(orr_tokenizer_encode(p.gpu, lh, NULL, x));
    CHECK(same_bits(lh, lg));
    orr_tensor *all[] = {lc, lg, yc, yg, lh};
    for (int i = 0; i < 5; i++) orr_tensor_free(all[i]);
}

/* DV/DI: indices by the rule in the header, codes, decode_indices. */
static void compare_discrete(const char *name, pair p, const orr_tensor *x, double tol) {
    int64_t ls[5], ps[5], is[4];
    const int nd = x->ndim;
    CHECK_OK(orr_tokenizer_latent_shape(p.cpu, nd, x->shape, ls));
    CHECK_OK(orr_tokenizer_pixel_shape(p.cpu, nd, ls, ps));
    is[0] = ls[0];
    for (int d = 2; d < nd; d++) is[d - 1] = ls[d];
    orr_tensor *cc = empty_on(ORR_CPU, ORR_F32, nd, ls), *cg = empty_on(ORR_CUDA, ORR_F32, nd, ls);
    orr_tensor *ic = empty_on(ORR_CPU, ORR_I64, nd - 1, is), *ig = empty_on(ORR_CPU, ORR_I32, nd - 1, is);
    CHECK_OK(orr_tokenizer_encode(p.cpu, cc, ic, x));
    CHECK_OK(orr_tokenizer_encode(p.gpu, cg, ig, x));
    /* the pre-quantizer latents and the cpu's values before rounding */
    orr_tensor *zc = NULL, *zg = NULL, *xg = NULL, *bounded = NULL;
    CHECK_OK(orr_tensor_to(&xg, x, ORR_CUDA));
    CHECK_OK(tok_encode_raw(p.cpu, x, &zc, NULL));
    if (xg) CHECK_OK(tok_encode_raw(p.gpu, xg, &zg, NULL));
    char what[200];
    snprintf(what, sizeof what, "%s pre-quantizer z", name);
    compare(what, zg, zc, tol);
    const tok_fsq *q = &p.cpu->fsq;
    const int64_t n = ic ? orr_tensor_numel(ic) : 0;
    CHECK_OK(orr_tensor_empty(&bounded, ORR_F32, 2, (int64_t[]){n, q->n}));
    if (zc && bounded) CHECK_OK(tok_fsq_quantize(q, zc, NULL, NULL, bounded));
    orr_tensor *zch = host_f32(zc), *zgh = host_f32(zg), *igh = host_f32(ig);
    if (zch && zgh && igh && bounded) {
        double dz = test_max_abs_diff(zgh->data, zch->data, (long)orr_tensor_numel(zch), NULL), half_l = 0;
        for (int c = 0; c < q->n; c++) half_l = q->half_l[c] > half_l ? q->half_l[c] : half_l;
        const double eps = half_l * dz + 1e-6;
        int64_t differ = 0, unexplained = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t a = (int64_t)orr_tensor_get(ic, i), b = (int64_t)((float *)igh->data)[i];
            if (a == b) continue;
            differ++;
            for (int c = 0; c < q->n; c++) {
                if ((a / q->basis[c]) % q->levels[c] == (b / q->basis[c]) % q->levels[c]) continue;
                double v = ((float *)bounded->data)[i * q->n + c];
                if (!(fabs(v - (floor(v) + 0.5)) <= eps)) unexplained++;
            }
        }
        printf("  %-44s %lld of %lld differ (eps %.2e), %lld not at a boundary\n", name, (long long)differ,
               (long long)n, eps, (long long)unexplained);
        CHECK(unexplained == 0);
        if (tol == F32_TOL) CHECK(differ * 100 <= n);
    }
    /* the cpu's indices decoded on both (i64 on the host; i32 on the device) */
    orr_tensor *yc = empty_on(ORR_CPU, ORR_F32, nd, ps), *yg = empty_on(ORR_CUDA, ORR_F32, nd, ps);
    orr_tensor *icg = NULL;
    if (ic) CHECK_OK(orr_tensor_clone(&icg, ic, ORR_I32));
    orr_tensor *icd = NULL;
    if (icg) CHECK_OK(orr_tensor_to(&icd, icg, ORR_CUDA));
    CHECK_OK(orr_tokenizer_decode_indices(p.cpu, yc, ic));
    if (icd) CHECK_OK(orr_tokenizer_decode_indices(p.gpu, yg, icd));
    snprintf(what, sizeof what, "%s decode_indices", name);
    compare(what, yg, yc, tol);
    /* an index outside the codebook, found on the device */
    if (icd) {
        orr_tensor_set(icd, n - 1, (double)q->codebook_size);
        CHECK_FAILS(orr_tokenizer_decode_indices(p.gpu, yg, icd), ORR_ERR_ARGUMENT, "outside the codebook");
    }
    orr_tensor *all[] = {cc, cg, ic, ig, zc, zg, xg, bounded, zch, zgh, igh, yc, yg, icg, icd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
}

static void check_tokenizer(const char *name, const char *config, const char *path, uint64_t seed,
                            const orr_tensor *x) {
    static const orr_dtype dtypes[2] = {ORR_F32, ORR_BF16};
    for (int k = 0; k < 2; k++) {
        pair p = make_pair(config, path, seed, dtypes[k]);
        char label[120];
        snprintf(label, sizeof label, "%s %s", name, orr_dtype_name(dtypes[k]));
        const double tol = dtypes[k] == ORR_F32 ? F32_TOL : BF16_TOL;
        if (p.cpu && p.gpu && x) {
            printf("%s\n", label);
            compare_stages(label, p, x, tol);
            if (p.cpu->cfg.discrete)
                compare_discrete(label, p, x, tol);
            else
                compare_continuous(label, p, x, tol);
        }
        free_pair(p);
    }
}

/* cpu -> cuda (f32) -> cpu gives the cpu's numbers exactly. */
static void test_round_trip(const orr_tensor *x) {
    orr_tokenizer *a = NULL, *b = NULL;
    CHECK_OK(orr_tokenizer_create_random(&a, cv_small, 5));
    CHECK_OK(orr_tokenizer_create_random(&b, cv_small, 5));
    if (!a || !b) return;
    CHECK_OK(orr_tokenizer_to_device(b, ORR_CUDA, ORR_F32));
    CHECK_OK(orr_tokenizer_to_device(b, ORR_CPU, ORR_F32));
    CHECK(orr_tokenizer_device(b) == ORR_CPU);
    int64_t ls[5];
    CHECK_OK(orr_tokenizer_latent_shape(a, 5, x->shape, ls));
    orr_tensor *la = empty_on(ORR_CPU, ORR_F32, 5, ls), *lb = empty_on(ORR_CPU, ORR_F32, 5, ls);
    orr_tensor *ya = empty_on(ORR_CPU, ORR_F32, 5, x->shape), *yb = empty_on(ORR_CPU, ORR_F32, 5, x->shape);
    CHECK_OK(orr_tokenizer_encode(a, la, NULL, x));
    CHECK_OK(orr_tokenizer_encode(b, lb, NULL, x));
    CHECK_OK(orr_tokenizer_decode(a, ya, la));
    CHECK_OK(orr_tokenizer_decode(b, yb, la));
    CHECK(same_bits(la, lb) && same_bits(ya, yb));
    orr_tensor *all[] = {la, lb, ya, yb};
    for (int i = 0; i < 4; i++) orr_tensor_free(all[i]);
    orr_tokenizer_free(a);
    orr_tokenizer_free(b);
}

/* autoencode, the latent normalisation, tiles and their plan, NaN inputs. */
static void test_pipeline(void) {
    pair p = make_pair(cv_small, NULL, 7, ORR_F32);
    if (!p.cpu || !p.gpu) {
        free_pair(p);
        return;
    }
    printf("pipeline\n");
    /* 10 frames of 20 x 28: padded to 17 x 32 x 32, windows of 9 */
    orr_tensor *x = random_pixels(5, (int64_t[]){1, 3, 10, 20, 28}, 8);
    orr_tensor *ac = empty_on(ORR_CPU, ORR_F32, 5, x->shape), *ag = empty_on(ORR_CUDA, ORR_F32, 5, x->shape);
    orr_tokenizer_params tp;
    orr_tokenizer_params_init(&tp);
    tp.temporal_window = 9;
    CHECK_OK(orr_tokenizer_autoencode(p.cpu, ac, x, &tp));
    CHECK_OK(orr_tokenizer_autoencode(p.gpu, ag, x, &tp));
    compare("autoencode (padding, windows)", ag, ac, F32_TOL);

    /* the latent normalisation: the cpu's numbers */
    orr_tensor *lat = random_pixels(5, (int64_t[]){2, 16, 3, 4, 5}, 9), *mean = random_pixels(1, (int64_t[]){64}, 10);
    orr_tensor *std = random_pixels(1, (int64_t[]){64}, 11), *latg = NULL;
    if (std) CHECK_OK(orr_affine(std, std, 0.5f, 1.0f)); /* in [0.5, 1.5) */
    CHECK_OK(orr_tensor_to(&latg, lat, ORR_CUDA));
    orr_tensor *nc = empty_on(ORR_CPU, ORR_F32, 5, lat->shape), *ng = empty_on(ORR_CUDA, ORR_F32, 5, lat->shape);
    for (int inverse = 0; inverse < 2; inverse++) {
        orr_status (*fn)(orr_tensor *, const orr_tensor *, const orr_tensor *, const orr_tensor *, float) =
            inverse ? orr_tokenizer_denormalize_latent : orr_tokenizer_normalize_latent;
        CHECK_OK(fn(nc, lat, mean, std, 0.5f));
        CHECK_OK(fn(ng, latg, mean, std, 0.5f));
        CHECK(same_bits(nc, ng));
    }

    /* tiles: several against the cpu's; one over everything against the plain decode */
    orr_tensor *z = random_pixels(5, (int64_t[]){1, 16, 2, 6, 7}, 12), *zg = NULL;
    CHECK_OK(orr_tensor_to(&zg, z, ORR_CUDA));
    int64_t ps[5];
    CHECK_OK(orr_tokenizer_pixel_shape(p.cpu, 5, z->shape, ps));
    orr_tensor *tc = empty_on(ORR_CPU, ORR_F32, 5, ps), *tg = empty_on(ORR_CUDA, ORR_F32, 5, ps);
    orr_tensor *full = empty_on(ORR_CUDA, ORR_F32, 5, ps);
    tp.tile = 4;
    tp.tile_overlap = 2;
    CHECK_OK(orr_tokenizer_decode_tiled(p.cpu, tc, z, &tp));
    CHECK_OK(orr_tokenizer_decode_tiled(p.gpu, tg, zg, &tp));
    compare("decode_tiled 2 x 3 tiles", tg, tc, F32_TOL);
    tp.tile = 0;
    orr_mem_stats before, after;
    orr_mem_get_stats(ORR_CUDA, &before);
    orr_mem_reset_peak(ORR_CUDA);
    CHECK_OK(orr_tokenizer_decode(p.gpu, full, zg));
    CHECK_OK(orr_cuda_synchronize());
    orr_mem_get_stats(ORR_CUDA, &after);
    orr_tokenizer_plan plan;
    CHECK_OK(orr_tokenizer_plan_decode(p.gpu, 5, z->shape, &tp, &plan));
    const int64_t measured = after.bytes_peak - before.bytes_in_use;
    printf("  decode plan on cuda: %lld bytes estimated, %lld measured\n", (long long)plan.peak_tile_bytes,
           (long long)measured);
    CHECK(plan.tiles_y == 1 && plan.tiles_x == 1 && measured <= plan.peak_tile_bytes);
    CHECK_OK(orr_tokenizer_decode_tiled(p.gpu, tg, zg, &tp));
    compare("decode_tiled one tile vs decode", tg, full, 1e-5);

    /* NaN in, refused; a NaN appearing inside names its stage */
    orr_tensor_set(x, 5, NAN);
    CHECK_FAILS(orr_tokenizer_autoencode(p.gpu, ag, x, &tp), ORR_ERR_NONFINITE, "NaN");
    orr_tensor *all[] = {x, ac, ag, lat, mean, std, latg, nc, ng, z, zg, tc, tg, full};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    free_pair(p);
}

static void test_u8(void) {
    orr_tensor *x = random_pixels(2, (int64_t[]){7, 1000}, 13), *xg = NULL;
    if (x) CHECK_OK(orr_affine(x, x, 1.2f, 0.0f)); /* past [-1, 1] too */
    CHECK_OK(orr_tensor_to(&xg, x, ORR_CUDA));
    orr_tensor *uc = empty_on(ORR_CPU, ORR_U8, 2, x->shape), *ug = empty_on(ORR_CUDA, ORR_U8, 2, x->shape);
    orr_tensor *bc = empty_on(ORR_CPU, ORR_F32, 2, x->shape), *bg = empty_on(ORR_CUDA, ORR_F32, 2, x->shape);
    CHECK_OK(tok_to_u8(uc, x));
    CHECK_OK(tok_to_u8(ug, xg));
    CHECK(same_bits(uc, ug));
    CHECK_OK(tok_from_u8(bc, uc));
    CHECK_OK(tok_from_u8(bg, ug));
    CHECK(same_bits(bc, bg));
    orr_tensor *all[] = {x, xg, uc, ug, bc, bg};
    for (int i = 0; i < 6; i++) orr_tensor_free(all[i]);
}

static const char *dit_config =
    "{\"max_img_h\": 16, \"max_img_w\": 16, \"max_frames\": 8, \"in_channels\": %d, \"out_channels\": 16,"
    " \"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 32, \"num_blocks\": 1, \"num_heads\": 2,"
    " \"block_x_format\": \"THWBD\", \"crossattn_emb_channels\": 8, \"pos_emb_cls\": \"rope3d\","
    " \"affline_emb_norm\": true, \"use_adaln_lora\": true, \"adaln_lora_dim\": 8,"
    " \"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\"}";

/* Text2World and Video2World with the DiT and the tokenizer on cuda (and
 * only the DiT) against both on the cpu: the float video. */
static void test_world(bool video) {
    char cfg[1024];
    snprintf(cfg, sizeof cfg, dit_config, video ? 17 : 16);
    orr_dit *dit = NULL;
    orr_tokenizer *tok = NULL;
    CHECK_OK(orr_dit_create_random(&dit, video ? "VideoExtendGeneralDIT" : "GeneralDIT", cfg, 3));
    CHECK_OK(orr_tokenizer_create_random(&tok, cv_small, 1));
    if (!dit || !tok) return;
    orr_world_params p;
    orr_world_params_init(&p);
    p.frames = 9;
    p.height = p.width = 32;
    p.sampler.steps = 3;
    orr_tensor *text = random_pixels(3, (int64_t[]){1, 4, 8}, 14), *input = NULL;
    if (video) input = random_pixels(5, (int64_t[]){1, 3, 9, 32, 32}, 15);
    int64_t shape[5] = {1, 3, 9, 32, 32};
    orr_tensor *vc = empty_on(ORR_CPU, ORR_F32, 5, shape), *vg = empty_on(ORR_CPU, ORR_F32, 5, shape);
    orr_tensor *vm = empty_on(ORR_CPU, ORR_F32, 5, shape), *u8 = empty_on(ORR_CPU, ORR_U8, 5, shape);
    CHECK_OK(orr_world_generate(dit, tok, vc, text, NULL, input, &p, NULL));
    CHECK_OK(orr_dit_to_device(dit, ORR_CUDA, ORR_F32, ORR_DIT_RESIDENT));
    CHECK_OK(orr_world_generate(dit, tok, vm, text, NULL, input, &p, NULL));
    CHECK_OK(orr_tokenizer_to_device(tok, ORR_CUDA, ORR_F32));
    CHECK_OK(orr_world_generate(dit, tok, vg, text, NULL, input, &p, NULL));
    CHECK_OK(orr_world_generate(dit, tok, u8, text, NULL, input, &p, NULL));
    compare(video ? "video2world dit cuda, tokenizer cpu" : "text2world dit cuda, tokenizer cpu", vm, vc, 2e-3);
    compare(video ? "video2world both on cuda" : "text2world both on cuda", vg, vc, 2e-3);
    /* the uint8 video is the float one converted (on the device) */
    orr_tensor *want = empty_on(ORR_CPU, ORR_U8, 5, shape);
    if (want) CHECK_OK(tok_to_u8(want, vg));
    CHECK(same_bits(u8, want));
    orr_tensor *all[] = {text, input, vc, vg, vm, u8, want};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_dit_free(dit);
    orr_tokenizer_free(tok);
}

#define NET                                                                                                            \
    "\"max_img_h\": 8, \"max_img_w\": 8, \"max_frames\": 8, \"in_channels\": 17, \"out_channels\": 16, "               \
    "\"patch_spatial\": 2, \"patch_temporal\": 1, \"model_channels\": 32, \"num_blocks\": 2, \"num_heads\": 2, "       \
    "\"crossattn_emb_channels\": 8, \"use_adaln_lora\": true, \"adaln_lora_dim\": 8, \"affline_emb_norm\": true, "     \
    "\"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\", "                     \
    "\"pos_emb_cls\": \"rope3d\""

/* Two chunks with an input video: the networks and the tokenizer on cuda
 * against the cpu, as uint8 frames (a level may flip where the floats sit
 * on a truncation boundary, and the second chunk sees the first's frame). */
static void test_transfer(void) {
    orr_tokenizer *tok = NULL;
    orr_transfer *tr = NULL;
    CHECK_OK(orr_tokenizer_create_random(&tok, cv_small, 1));
    CHECK_OK(orr_transfer_create_random(&tr, "{" NET "}", 2));
    CHECK_OK(orr_transfer_add_control_random(tr, ORR_CONTROL_EDGE, "{" NET ", \"num_control_blocks\": 1}", 3));
    if (!tok || !tr) return;
    orr_transfer_params p;
    orr_transfer_params_init(&p);
    p.chunk_frames = 9;
    p.sampler.steps = 2;
    orr_tensor *text = random_pixels(3, (int64_t[]){1, 4, 8}, 16);
    orr_tensor *ctl = random_pixels(6, (int64_t[]){1, 1, 3, 17, 16, 16}, 17);
    orr_tensor *input = random_pixels(5, (int64_t[]){1, 3, 17, 16, 16}, 18);
    int64_t shape[5] = {1, 3, 17, 16, 16};
    orr_tensor *vc = empty_on(ORR_CPU, ORR_U8, 5, shape), *vg = empty_on(ORR_CPU, ORR_U8, 5, shape);
    CHECK_OK(orr_transfer_generate(tr, tok, vc, ctl, input, text, NULL, NULL, &p, NULL));
    CHECK_OK(orr_transfer_to_device(tr, ORR_CUDA, ORR_F32, ORR_DIT_RESIDENT));
    CHECK_OK(orr_tokenizer_to_device(tok, ORR_CUDA, ORR_F32));
    CHECK_OK(orr_transfer_generate(tr, tok, vg, ctl, input, text, NULL, NULL, &p, NULL));
    if (vc && vg) {
        const uint8_t *a = vc->data, *b = vg->data;
        int64_t n = orr_tensor_numel(vc), sum = 0, worst = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
            sum += d;
            worst = d > worst ? d : worst;
        }
        printf("  transfer uint8 frames: mean |diff| %.4f levels, max %lld\n", (double)sum / (double)n,
               (long long)worst);
        CHECK(sum * 2 <= n && worst <= 16);
    }
    orr_tensor *all[] = {text, ctl, input, vc, vg};
    for (int i = 0; i < 5; i++) orr_tensor_free(all[i]);
    orr_transfer_free(tr);
    orr_tokenizer_free(tok);
}

/* The golden fixture `name` when present: its video or image input. */
static void check_golden(const char *name, const char *input) {
    const char *root = getenv("ORR_GOLDEN") ? getenv("ORR_GOLDEN") : "/work/shared/golden";
    char weights[512], inputs[512];
    snprintf(weights, sizeof weights, "%s/%s/weights.safetensors", root, name);
    snprintf(inputs, sizeof inputs, "%s/%s/inputs.safetensors", root, name);
    orr_safetensors *f = NULL;
    if (orr_st_open(inputs, &f) != ORR_OK) {
        printf("%s: not found under %s, skipped\n", name, root);
        return;
    }
    orr_tensor *view = NULL, *x = NULL;
    CHECK_OK(orr_st_get(f, input, &view));
    if (view) CHECK_OK(orr_tensor_clone(&x, view, ORR_F32));
    check_tokenizer(name, NULL, weights, 0, x);
    orr_tensor_free(view);
    orr_tensor_free(x);
    orr_st_close(f);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("tokenizer_cuda");
    orr_set_num_threads(2);
    orr_cuda_info info;
    CHECK_OK(orr_cuda_get_info(&info));
    printf("device: %s\n", info.name);

    /* the official CV weights cut for CI, on their own input */
    orr_safetensors *f = NULL;
    CHECK_OK(orr_st_open(CV_FIXTURE "/inputs.safetensors", &f));
    orr_tensor *view = NULL, *video = NULL;
    if (f) CHECK_OK(orr_st_get(f, "video", &view));
    if (view) CHECK_OK(orr_tensor_clone(&video, view, ORR_F32));
    orr_tensor_free(view);
    orr_st_close(f);
    check_tokenizer("cv fixture", NULL, CV_FIXTURE "/weights.safetensors", 0, video);
    orr_tensor_free(video);

    check_golden("tokenizer_cv", "video");
    check_golden("tokenizer_dv", "video");
    check_golden("tokenizer_ci", "image");

    orr_tensor *x5 = random_pixels(5, (int64_t[]){1, 3, 9, 32, 32}, 1);
    orr_tensor *x4 = random_pixels(4, (int64_t[]){2, 3, 16, 16}, 2);
    check_tokenizer("random CV", cv_small, NULL, 3, x5);
    check_tokenizer("random DV", dv_small, NULL, 4, x5);
    check_tokenizer("random CI", ci_small, NULL, 5, x4);
    check_tokenizer("random DI", di_small, NULL, 6, x4);
    test_round_trip(x5);
    orr_tensor_free(x5);
    orr_tensor_free(x4);

    test_pipeline();
    test_u8();
    test_world(false);
    test_world(true);
    test_transfer();
    return test_finish("tokenizer_cuda");
}
