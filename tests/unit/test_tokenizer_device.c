/* The tokenizers' placement API on the cpu (the device runs are
 * tests/gpu/test_tokenizer_cuda.c): orr_tokenizer_to_device's argument
 * errors, a failed move to an absent device leaving the tokenizer as it
 * was, a move to the cpu as a no-op with the cpu's numbers, the weight walk
 * covering every parameter of all four classes (weight bytes = 4 x the
 * parameter count in f32), and the uint8 video conversions. */
#include "models/tokenizer.h"
#include "test_util.h"

static const char *configs[4] = {
    /* CV: spatial and temporal resampling, mid attention */
    "{\"name\": \"CV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [16], \"resolution\": 64, \"patch_size\": 4, \"patch_method\": \"haar\","
    " \"latent_channels\": 16, \"z_channels\": 16, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8, \"temporal_compression\": 8, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\"}",
    /* DV: FSQ */
    "{\"name\": \"DV\", \"channels\": 8, \"channels_mult\": [2, 4, 4], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [32], \"resolution\": 1024, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"z_channels\": 8, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 4, \"temporal_compression\": 4, \"encoder\": \"FACTORIZED\","
    " \"decoder\": \"FACTORIZED\", \"quantizer\": \"FSQ\", \"embedding_dim\": 3, \"levels\": [8, 5, 5]}",
    /* CI: GroupNorm(32), level attention */
    "{\"name\": \"CI\", \"channels\": 32, \"channels_mult\": [1, 2], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [8], \"resolution\": 32, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"latent_channels\": 4, \"z_channels\": 4, \"z_factor\": 1, \"in_channels\": 3, \"out_channels\": 3,"
    " \"spatial_compression\": 8}",
    /* DI */
    "{\"name\": \"DI\", \"channels\": 32, \"channels_mult\": [1, 2], \"num_res_blocks\": 1,"
    " \"attn_resolutions\": [32], \"resolution\": 32, \"patch_size\": 2, \"patch_method\": \"haar\","
    " \"z_channels\": 32, \"in_channels\": 3, \"out_channels\": 3, \"spatial_compression\": 4,"
    " \"quantizer\": \"FSQ\", \"embedding_dim\": 4, \"levels\": [5, 4, 3, 3]}",
};

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

/* encode then decode; the reconstruction (and the latent in *latent). */
static orr_tensor *roundtrip(orr_tokenizer *tok, const orr_tensor *x, orr_tensor **latent) {
    int64_t ls[5], ps[5];
    orr_tensor *y = NULL;
    *latent = NULL;
    CHECK_OK(orr_tokenizer_latent_shape(tok, x->ndim, x->shape, ls));
    CHECK_OK(orr_tokenizer_pixel_shape(tok, x->ndim, ls, ps));
    CHECK_OK(orr_tensor_empty(latent, ORR_F32, x->ndim, ls));
    CHECK_OK(orr_tensor_empty(&y, ORR_F32, x->ndim, ps));
    if (*latent) CHECK_OK(orr_tokenizer_encode(tok, *latent, NULL, x));
    if (*latent && y) CHECK_OK(orr_tokenizer_decode(tok, y, *latent));
    return y;
}

static bool same_bits(const orr_tensor *a, const orr_tensor *b) {
    if (!a || !b || !orr_tensor_same_shape(a, b)) return false;
    for (int64_t i = 0; i < orr_tensor_numel(a); i++)
        if (((const float *)a->data)[i] != ((const float *)b->data)[i]) return false;
    return true;
}

static void test_placement_errors(void) {
    orr_tokenizer *tok = NULL;
    CHECK_OK(orr_tokenizer_create_random(&tok, configs[0], 1));
    if (!tok) return;
    CHECK(orr_tokenizer_device(tok) == ORR_CPU && orr_tokenizer_device(NULL) == ORR_CPU);
    CHECK_FAILS(orr_tokenizer_to_device(NULL, ORR_CPU, ORR_F32), ORR_ERR_ARGUMENT, "tok is NULL");
    CHECK_FAILS(orr_tokenizer_to_device(tok, (orr_device)7, ORR_F32), ORR_ERR_ARGUMENT, "unknown device 7");
    CHECK_FAILS(orr_tokenizer_to_device(tok, ORR_CPU, ORR_BF16), ORR_ERR_DTYPE, "cannot be bf16 on cpu");
    CHECK_FAILS(orr_tokenizer_to_device(tok, ORR_CUDA, ORR_F16), ORR_ERR_DTYPE, "f32 or bf16");
    CHECK_FAILS(orr_tokenizer_to_device(tok, ORR_CUDA, ORR_I32), ORR_ERR_DTYPE, "i32");

    orr_tensor *x = random_pixels(5, (int64_t[]){1, 3, 9, 16, 16}, 2), *z0 = NULL, *z1 = NULL;
    orr_tensor *y0 = roundtrip(tok, x, &z0);
    /* without a device the move fails and changes nothing */
    if (!orr_cuda_available()) {
        CHECK_FAILS(orr_tokenizer_to_device(tok, ORR_CUDA, ORR_F32), ORR_ERR_UNSUPPORTED, "tokenizer_to_device");
        CHECK(orr_tokenizer_device(tok) == ORR_CPU);
    }
    /* the cpu in f32 is where it is: nothing moves */
    CHECK_OK(orr_tokenizer_to_device(tok, ORR_CPU, ORR_F32));
    orr_tensor *y1 = roundtrip(tok, x, &z1);
    CHECK(same_bits(z0, z1) && same_bits(y0, y1));
    orr_tensor *all[] = {x, z0, z1, y0, y1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_tokenizer_free(tok);
}

static void test_weight_walk(void) {
    for (int k = 0; k < 4; k++) {
        orr_tokenizer *tok = NULL;
        CHECK_OK(orr_tokenizer_create_random(&tok, configs[k], 10 + k));
        if (!tok) continue;
        orr_tokenizer_info info;
        orr_tokenizer_get_info(tok, &info);
        /* every parameter once: q, k, v stacked count as themselves */
        CHECK(tok_weight_bytes(tok) == 4 * info.n_params);
        if (tok_weight_bytes(tok) != 4 * info.n_params)
            fprintf(stderr, "config %d: %lld weight bytes for %lld parameters\n", k, (long long)tok_weight_bytes(tok),
                    (long long)info.n_params);
        orr_tokenizer_free(tok);
    }
}

static void test_u8_conversions(void) {
    const float values[6] = {-1.0f, 1.0f, 0.0f, -2.0f, 3.0f, 0.5f};
    const uint8_t want[6] = {0, 255, 127, 0, 255, 191};
    orr_tensor *x = NULL, *u = NULL, *back = NULL, *bad = NULL;
    CHECK_OK(orr_tensor_empty(&x, ORR_F32, 2, (int64_t[]){2, 3}));
    CHECK_OK(orr_tensor_empty(&u, ORR_U8, 2, (int64_t[]){2, 3}));
    CHECK_OK(orr_tensor_empty(&back, ORR_F32, 2, (int64_t[]){2, 3}));
    CHECK_OK(orr_tensor_empty(&bad, ORR_U8, 2, (int64_t[]){3, 2}));
    if (!x || !u || !back || !bad) return;
    for (int i = 0; i < 6; i++) ((float *)x->data)[i] = values[i];
    CHECK_OK(tok_to_u8(u, x));
    for (int i = 0; i < 6; i++) CHECK(((uint8_t *)u->data)[i] == want[i]);
    CHECK_OK(tok_from_u8(back, u));
    for (int i = 0; i < 6; i++) CHECK(((float *)back->data)[i] == want[i] / 255.0f * 2.0f - 1.0f);
    CHECK_FAILS(tok_to_u8(bad, x), ORR_ERR_ARGUMENT, "one shape");
    CHECK_FAILS(tok_from_u8(x, back), ORR_ERR_ARGUMENT, "u8");
    /* a strided destination goes through a scratch */
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_transpose(&t, u, 0, 1));
    orr_tensor *xt = NULL, *ut = NULL;
    CHECK_OK(orr_tensor_transpose(&xt, x, 0, 1));
    CHECK_OK(orr_tensor_clone(&ut, xt, ORR_F32));
    if (t && ut) {
        CHECK_OK(tok_to_u8(t, ut));
        for (int i = 0; i < 6; i++) CHECK(((uint8_t *)u->data)[i] == want[i]);
    }
    orr_tensor *all[] = {x, u, back, bad, t, xt, ut};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
}

int main(void) {
    orr_set_num_threads(2);
    test_placement_errors();
    test_weight_walk();
    test_u8_conversions();
    return test_finish("tokenizer_device");
}
