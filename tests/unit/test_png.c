/* test_png.c — PNG round trips are exact for every format orrery writes;
 * palettes, transparency and low bit depths read as documented; text
 * chunks round trip; damaged, truncated and mislabelled files are refused
 * with a clear message, and a failed write leaves no file. */
#include <dirent.h>
#include <png.h>
#include <stdint.h>
#include <unistd.h>

#include "test_util.h"

static char dir[] = "/tmp/orr_test_png_XXXXXX";
#include "test_files.h"

/* An image of dtype/shape with every value different (mod the range). */
static orr_tensor *pattern(orr_dtype dtype, int ndim, int64_t h, int64_t w, int64_t c, int64_t range) {
    int64_t shape[3] = {h, w, c};
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_empty(&t, dtype, ndim, shape));
    int64_t n = orr_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) orr_tensor_set(t, i, (double)((i * 7919 + i / 3) % range));
    if (range > 2) {
        orr_tensor_set(t, 0, 0);
        orr_tensor_set(t, n - 1, (double)(range - 1));
    }
    return t;
}

static bool same_values(const orr_tensor *a, const orr_tensor *b) {
    if (orr_tensor_numel(a) != orr_tensor_numel(b)) return false;
    for (int64_t i = 0; i < orr_tensor_numel(a); i++)
        if (orr_tensor_get(a, i) != orr_tensor_get(b, i)) return false;
    return true;
}

static void check_round_trip(const char *what, orr_dtype dtype, int ndim, int64_t c, int64_t range) {
    orr_tensor *image = pattern(dtype, ndim, 23, 37, c, range), *back = NULL;
    const char *path = in_dir("round.png");
    CHECK_OK(orr_png_write(path, image, NULL));
    CHECK_OK(orr_png_read(path, &back, NULL));
    if (back) {
        CHECK(back->dtype == dtype && back->ndim == 3 && back->shape[0] == 23 && back->shape[1] == 37 &&
              back->shape[2] == c);
        if (!same_values(image, back)) {
            test_failures++;
            fprintf(stderr, "round trip of %s is not exact\n", what);
        }
    }
    orr_tensor_free(image);
    orr_tensor_free(back);
}

static void test_round_trips(void) {
    check_round_trip("u8 gray [H,W]", ORR_U8, 2, 1, 256);
    check_round_trip("u8 gray", ORR_U8, 3, 1, 256);
    check_round_trip("u8 gray+alpha", ORR_U8, 3, 2, 256);
    check_round_trip("u8 RGB", ORR_U8, 3, 3, 256);
    check_round_trip("u8 RGBA", ORR_U8, 3, 4, 256);
    check_round_trip("16-bit gray", ORR_I32, 3, 1, 65536);
    check_round_trip("16-bit RGBA", ORR_I32, 3, 4, 65536);

    /* A strided view (a transposed image) writes its logical pixels. */
    orr_tensor *image = pattern(ORR_U8, 3, 16, 24, 3, 256), *t = NULL, *back = NULL;
    int order[3] = {1, 0, 2};
    CHECK_OK(orr_tensor_permute(&t, image, order));
    CHECK_OK(orr_png_write(in_dir("strided.png"), t, NULL));
    CHECK_OK(orr_png_read(in_dir("strided.png"), &back, NULL));
    CHECK(back && back->shape[0] == 24 && back->shape[1] == 16 && same_values(t, back));
    orr_tensor_free(image);
    orr_tensor_free(t);
    orr_tensor_free(back);
}

static void test_text(void) {
    orr_metadata *meta = NULL, *got = NULL;
    CHECK_OK(orr_metadata_create(&meta));
    CHECK_OK(orr_metadata_create(&got));
    CHECK_OK(orr_metadata_set(meta, "seed", "1234"));
    CHECK_OK(orr_metadata_set(meta, "prompt", "a robot arm stacks cubes, \"slowly\"\nsecond line"));
    CHECK_OK(orr_metadata_set(meta, "guidance", "7"));
    CHECK_OK(orr_metadata_set(meta, "guidance", "7.5")); /* replaced in place */
    CHECK_OK(orr_metadata_set(meta, "caption", "caf\xc3\xa9 \xe2\x86\x92 \xe4\xb8\x96\xe7\x95\x8c"));
    CHECK(orr_metadata_count(meta) == 4 && strcmp(orr_metadata_key(meta, 2), "guidance") == 0);

    orr_tensor *image = pattern(ORR_U8, 3, 8, 8, 3, 256), *back = NULL;
    CHECK_OK(orr_png_write(in_dir("text.png"), image, meta));
    CHECK_OK(orr_png_read(in_dir("text.png"), &back, got));
    CHECK(orr_metadata_count(got) == 4);
    for (int64_t i = 0; i < orr_metadata_count(meta); i++) {
        const char *want = orr_metadata_value(meta, i), *have = orr_metadata_get(got, orr_metadata_key(meta, i));
        CHECK(have && strcmp(want, have) == 0);
    }
    CHECK(orr_metadata_get(got, "missing") == NULL);

    CHECK_OK(orr_metadata_set(meta, " leading space", "x"));
    CHECK_FAILS(orr_png_write(in_dir("badkey.png"), image, meta), ORR_ERR_ARGUMENT, "' leading space' is not a PNG keyword");
    CHECK(access(in_dir("badkey.png"), F_OK) != 0);
    orr_metadata_free(meta);
    orr_metadata_free(got);
    orr_tensor_free(image);
    orr_tensor_free(back);
}

/* Files orrery does not write itself, made with libpng directly. */
static void write_with_libpng(const char *path, int width, int height, int depth, int color_type,
                              const png_color *palette, int n_palette, const png_byte *trans, int n_trans,
                              const uint8_t *rows, size_t row_bytes) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) abort();
    png_init_io(png, f);
    png_set_IHDR(png, info, width, height, depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, n_palette);
    if (trans) png_set_tRNS(png, info, trans, n_trans, NULL);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, rows + y * row_bytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void test_expansions(void) {
    /* A 4x2 palette image whose entry 1 is half transparent -> RGBA. */
    png_color palette[3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    png_byte trans[2] = {255, 128};
    uint8_t indices[8] = {0, 1, 2, 0, 2, 2, 1, 0};
    write_with_libpng(in_dir("palette.png"), 4, 2, 8, PNG_COLOR_TYPE_PALETTE, palette, 3, trans, 2, indices, 4);
    orr_tensor *t = NULL;
    CHECK_OK(orr_png_read(in_dir("palette.png"), &t, NULL));
    if (t) {
        CHECK(t->dtype == ORR_U8 && t->shape[0] == 2 && t->shape[1] == 4 && t->shape[2] == 4);
        /* pixel (0,1) is entry 1: green, alpha 128; pixel (1,0) entry 2: blue, opaque */
        CHECK(orr_tensor_get(t, 4) == 0 && orr_tensor_get(t, 5) == 255 && orr_tensor_get(t, 7) == 128);
        CHECK(orr_tensor_get(t, 16 + 2) == 255 && orr_tensor_get(t, 16 + 3) == 255);
    }
    orr_tensor_free(t);

    /* 1-bit gray: 0b10110000 -> 255, 0, 255, 255, 0 ... */
    uint8_t bits[2] = {0xb0, 0x40};
    write_with_libpng(in_dir("onebit.png"), 5, 2, 1, PNG_COLOR_TYPE_GRAY, NULL, 0, NULL, 0, bits, 1);
    t = NULL;
    CHECK_OK(orr_png_read(in_dir("onebit.png"), &t, NULL));
    if (t) {
        CHECK(t->dtype == ORR_U8 && t->shape[2] == 1);
        double want[10] = {255, 0, 255, 255, 0, 0, 255, 0, 0, 0};
        for (int i = 0; i < 10; i++) CHECK(orr_tensor_get(t, i) == want[i]);
    }
    orr_tensor_free(t);
}

static void test_write_errors(void) {
    orr_tensor *image = pattern(ORR_U8, 3, 4, 4, 3, 256), *f32 = NULL, *wide = NULL, *five = NULL;
    int64_t shape[3] = {4, 4, 3}, shape5[3] = {4, 4, 5};
    CHECK_OK(orr_tensor_zeros(&f32, ORR_F32, 3, shape));
    CHECK_OK(orr_tensor_zeros(&five, ORR_U8, 3, shape5));
    CHECK_OK(orr_tensor_zeros(&wide, ORR_I32, 3, shape));
    orr_tensor_set(wide, 5, 70000);
    int files_before = count_files(dir);

    CHECK_FAILS(orr_png_write(in_dir("f32.png"), f32, NULL), ORR_ERR_DTYPE, "image is f32[4,4,3]");
    CHECK_FAILS(orr_png_write(in_dir("five.png"), five, NULL), ORR_ERR_SHAPE, "C 1..4");
    CHECK_FAILS(orr_png_write(in_dir("wide.png"), wide, NULL), ORR_ERR_ARGUMENT, "value 70000 at flat index 5");
    CHECK_FAILS(orr_png_write(in_dir("no/such/dir/x.png"), image, NULL), ORR_ERR_IO, "cannot create");
    CHECK(count_files(dir) == files_before);

    /* A write over an existing file replaces it whole. */
    orr_tensor *other = pattern(ORR_U8, 3, 5, 7, 1, 256), *back = NULL;
    CHECK_OK(orr_png_write(in_dir("replace.png"), image, NULL));
    CHECK_OK(orr_png_write(in_dir("replace.png"), other, NULL));
    CHECK_OK(orr_png_read(in_dir("replace.png"), &back, NULL));
    CHECK(back && same_values(back, other) && count_files(dir) == files_before + 1);
    unlink(in_dir("replace.png"));
    orr_tensor_free(other);
    orr_tensor_free(back);
    orr_tensor_free(image);
    orr_tensor_free(f32);
    orr_tensor_free(five);
    orr_tensor_free(wide);
}

/* The CRC of PNG chunks (ISO 3309), to forge a header. */
static uint32_t crc32(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static void test_bad_files(void) {
    orr_tensor *image = pattern(ORR_U8, 3, 16, 16, 3, 256), *t = NULL;
    orr_metadata *meta = NULL;
    CHECK_OK(orr_metadata_create(&meta));
    CHECK_OK(orr_metadata_set(meta, "seed", "7"));
    CHECK_OK(orr_png_write(in_dir("good.png"), image, meta));
    size_t size = 0;
    unsigned char *good = read_all(in_dir("good.png"), &size);
    CHECK(good && size > 100);

    CHECK_FAILS(orr_png_read(in_dir("absent.png"), &t, NULL), ORR_ERR_IO, "absent.png: cannot open");
    const unsigned char jpeg[16] = {0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0};
    write_all(in_dir("photo.png"), jpeg, sizeof jpeg);
    CHECK_FAILS(orr_png_read(in_dir("photo.png"), &t, NULL), ORR_ERR_FORMAT, "not a PNG file (it starts with ff d8 ff e0)");
    CHECK_FAILS(orr_png_read_memory(good, 5, "tiny", &t, NULL), ORR_ERR_FORMAT, "tiny: not a PNG file (only 5 bytes)");

    /* Every truncation fails with a message and no tensor. */
    int refused = 0;
    for (size_t n = 0; n < size; n++) {
        orr_tensor *cut = NULL;
        orr_status st = orr_png_read_memory(good, n, "cut.png", &cut, NULL);
        refused += st == ORR_ERR_FORMAT && !cut && strstr(orr_last_error(), "cut.png");
        orr_tensor_free(cut);
    }
    printf("png truncations refused: %d of %zu\n", refused, size);
    CHECK(refused == (int)size);
    CHECK_FAILS(orr_png_read_memory(good, size / 2, "half.png", &t, NULL), ORR_ERR_FORMAT, "truncated");
    printf("half a png: %s\n", orr_last_error());

    /* A flipped byte in the image data breaks its CRC. */
    unsigned char *bad = malloc(size);
    memcpy(bad, good, size);
    bad[size - 30] ^= 0x55;
    CHECK_FAILS(orr_png_read_memory(bad, size, "flipped.png", &t, NULL), ORR_ERR_FORMAT, "flipped.png");

    /* A header claiming 60000x60000 pixels in a small file: refused before
     * allocating (deflate cannot expand that far). */
    memcpy(bad, good, size);
    const unsigned char dims[8] = {0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60};
    memcpy(bad + 16, dims, 8);
    uint32_t crc = crc32(bad + 12, 17);
    bad[29] = (unsigned char)(crc >> 24), bad[30] = (unsigned char)(crc >> 16);
    bad[31] = (unsigned char)(crc >> 8), bad[32] = (unsigned char)crc;
    CHECK_FAILS(orr_png_read_memory(bad, size, "bomb.png", &t, NULL), ORR_ERR_FORMAT, "claims 60000x60000 pixels");
    CHECK(t == NULL);

    free(bad);
    free(good);
    unlink(in_dir("good.png"));
    unlink(in_dir("photo.png"));
    orr_metadata_free(meta);
    orr_tensor_free(image);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trips();
    test_text();
    test_expansions();
    test_write_errors();
    test_bad_files();
    remove_all(dir);
    return test_finish("test_png");
}
