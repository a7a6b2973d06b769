/* Models load straight from the released file formats: a DiT from a
 * torch.save model.pt (bf16, "net." keys, TransformerEngine extra state)
 * and a tokenizer encoder from a TorchScript .jit, computing exactly what
 * the same weights give from safetensors. */
#include "test_util.h"

#define DATA "data/ckpt/"

static orr_tensor *random_tensor(int ndim, const int64_t *shape, uint64_t seed) {
    orr_tensor *t;
    orr_rng rng;
    orr_rng_init(&rng, seed);
    if (orr_tensor_empty(&t, ORR_F32, ndim, shape) || orr_rng_normal(&rng, t, 0, 1)) return NULL;
    return t;
}

static bool identical(const orr_tensor *a, const orr_tensor *b) {
    return orr_tensor_same_shape(a, b) && memcmp(a->data, b->data, orr_tensor_nbytes(a)) == 0;
}

static void test_dit_from_pt(void) {
    orr_safetensors *expected;
    orr_checkpoint *pt;
    CHECK_OK(orr_st_open(DATA "dit_model_bf16.expected.safetensors", &expected));
    CHECK_OK(orr_ckpt_open(DATA "dit_model_bf16.pt", &pt));
    if (!expected || !pt) return;
    const char *config = orr_st_metadata(expected, "config");
    orr_dit *from_st = NULL, *from_pt = NULL;
    CHECK_OK(orr_dit_load(&from_st, "GeneralDIT", config, expected));
    CHECK_OK(orr_dit_load_checkpoint(&from_pt, "GeneralDIT", config, pt));
    if (from_st && from_pt) {
        orr_tensor *x = random_tensor(5, (int64_t[]){1, 16, 2, 4, 4}, 1);
        orr_tensor *t = random_tensor(1, (int64_t[]){1}, 2);
        orr_tensor *ctx = random_tensor(3, (int64_t[]){1, 5, 32}, 3);
        orr_tensor *fps, *a, *b;
        orr_tensor_empty(&fps, ORR_F32, 1, (int64_t[]){1});
        orr_tensor_set(fps, 0, 24);
        orr_tensor_empty(&a, ORR_F32, 5, x->shape);
        orr_tensor_empty(&b, ORR_F32, 5, x->shape);
        orr_dit_inputs in = {x, t, ctx, fps, NULL, NULL};
        CHECK_OK(orr_dit_forward(from_st, a, &in, NULL));
        CHECK_OK(orr_dit_forward(from_pt, b, &in, NULL));
        CHECK(identical(a, b));
        orr_tensor *all[] = {x, t, ctx, fps, a, b};
        for (int i = 0; i < 6; i++) orr_tensor_free(all[i]);
    }
    /* a config these weights do not fit names the first mismatch */
    char wider[4096];
    const char *at = strstr(config, "\"model_channels\": 64");
    CHECK(at != NULL && strlen(config) < sizeof wider);
    if (at && strlen(config) < sizeof wider) {
        snprintf(wider, sizeof wider, "%.*s\"model_channels\": 128%s", (int)(at - config), config,
                 at + strlen("\"model_channels\": 64"));
        orr_dit *wrong = NULL;
        CHECK_FAILS(orr_dit_load_checkpoint(&wrong, "GeneralDIT", wider, pt), ORR_ERR_SHAPE, "dit_model_bf16.pt");
    }
    orr_dit_free(from_st);
    orr_dit_free(from_pt);
    orr_ckpt_close(pt);
    orr_st_close(expected);
}

static void test_tokenizer_from_jit(void) {
    orr_safetensors *expected;
    CHECK_OK(orr_st_open(DATA "encoder_bf16cast.expected.safetensors", &expected));
    if (!expected) return;
    const char *config = orr_st_metadata(expected, "config");
    orr_tokenizer *from_st = NULL, *from_jit = NULL;
    CHECK_OK(orr_tokenizer_load(&from_st, config, DATA "encoder_bf16cast.expected.safetensors", NULL));
    CHECK_OK(orr_tokenizer_load(&from_jit, config, DATA "encoder_bf16cast.jit", NULL));
    if (from_st && from_jit) {
        orr_tokenizer_info info;
        orr_tokenizer_get_info(from_jit, &info);
        CHECK(info.has_encoder && !info.has_decoder);
        int64_t pixel_shape[5] = {1, 3, 9, 32, 32}, latent_shape[5];
        CHECK_OK(orr_tokenizer_latent_shape(from_jit, 5, pixel_shape, latent_shape));
        orr_tensor *video = random_tensor(5, pixel_shape, 4), *a, *b;
        orr_tensor_empty(&a, ORR_F32, 5, latent_shape);
        orr_tensor_empty(&b, ORR_F32, 5, latent_shape);
        CHECK_OK(orr_tokenizer_encode(from_st, a, NULL, video));
        CHECK_OK(orr_tokenizer_encode(from_jit, b, NULL, video));
        CHECK(identical(a, b));
        orr_tensor_free(video);
        orr_tensor_free(a);
        orr_tensor_free(b);
    }
    orr_tokenizer *bad = NULL;
    CHECK_FAILS(orr_tokenizer_load(&bad, config, DATA "bad_view_oob.pt", NULL), ORR_ERR_FORMAT, "bad_view_oob.pt");
    orr_tokenizer_free(from_st);
    orr_tokenizer_free(from_jit);
    orr_st_close(expected);
}

int main(void) {
    test_dit_from_pt();
    test_tokenizer_from_jit();
    return test_finish("test_load_checkpoint");
}
