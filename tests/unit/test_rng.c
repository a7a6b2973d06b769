/* Philox 4x32-10 against the Random123 known-answer vectors, and the
 * promises the fills make: same seed, same numbers, at any thread count. */
#include "test_util.h"

static void check_vector(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                         const uint32_t want[4]) {
    uint32_t counter[4] = {c0, c1, c2, c3}, key[2] = {k0, k1}, out[4];
    orr_philox4x32_10(counter, key, out);
    for (int i = 0; i < 4; i++) {
        if (out[i] != want[i]) fprintf(stderr, "philox word %d: %08x, want %08x\n", i, out[i], want[i]);
        CHECK(out[i] == want[i]);
    }
}

static orr_tensor *normal_fill(uint64_t seed, int threads, int64_t n) {
    orr_tensor *t;
    orr_rng rng;
    orr_set_num_threads(threads);
    orr_rng_init(&rng, seed);
    if (orr_tensor_empty(&t, ORR_F32, 1, &n)) return NULL;
    orr_rng_normal(&rng, t, 0, 1);
    return t;
}

int main(void) {
    /* kat_vectors of Random123 (philox4x32_10) */
    check_vector(0, 0, 0, 0, 0, 0, (const uint32_t[4]){0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    check_vector(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
                 (const uint32_t[4]){0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    check_vector(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
                 (const uint32_t[4]){0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});

    int64_t n = 1 << 18;
    orr_tensor *a = normal_fill(7, 1, n), *b = normal_fill(7, 2, n), *c = normal_fill(8, 2, n);
    CHECK(memcmp(a->data, b->data, (size_t)n * 4) == 0);
    CHECK(memcmp(a->data, c->data, (size_t)n * 4) != 0);
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = ((float *)a->data)[i];
        sum += v;
        sq += v * v;
    }
    CHECK_NEAR(sum / n, 0.0, 0.01);
    CHECK_NEAR(sq / n, 1.0, 0.01);

    /* fills advance the offset: two fills of 6 equal one fill of 12 only
     * where blocks line up (6 -> 2 blocks, so element 8 starts block 2) */
    orr_rng rng;
    orr_rng_init(&rng, 99);
    orr_tensor *x, *y, *z;
    CHECK_OK(orr_tensor_empty(&x, ORR_F32, 1, (int64_t[]){6}));
    CHECK_OK(orr_tensor_empty(&y, ORR_F32, 1, (int64_t[]){4}));
    CHECK_OK(orr_tensor_empty(&z, ORR_F32, 1, (int64_t[]){12}));
    CHECK_OK(orr_rng_uniform(&rng, x));
    CHECK(rng.offset == 2);
    CHECK_OK(orr_rng_uniform(&rng, y));
    orr_rng_init(&rng, 99);
    CHECK_OK(orr_rng_uniform(&rng, z));
    CHECK(memcmp(x->data, z->data, 6 * 4) == 0);
    CHECK(memcmp(y->data, (float *)z->data + 8, 4 * 4) == 0);
    bool in_range = true;
    for (int i = 0; i < 12; i++) in_range &= ((float *)z->data)[i] >= 0 && ((float *)z->data)[i] < 1;
    CHECK(in_range);

    /* a strided bf16 destination gets the same values, rounded */
    orr_tensor *m, *mt;
    CHECK_OK(orr_tensor_empty(&m, ORR_BF16, 2, (int64_t[]){4, 3}));
    CHECK_OK(orr_tensor_transpose(&mt, m, 0, 1));
    orr_rng_init(&rng, 99);
    CHECK_OK(orr_rng_uniform(&rng, mt));
    CHECK(orr_tensor_get(mt, 5) == orr_bf16_to_f32(orr_f32_to_bf16(((float *)z->data)[5])));
    CHECK_FAILS(orr_rng_uniform(NULL, m), ORR_ERR_ARGUMENT, "generator is NULL");

    orr_tensor *list[] = {a, b, c, x, y, z, m, mt};
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) orr_tensor_free(list[i]);
    return test_finish("test_rng");
}
