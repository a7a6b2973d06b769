/* test_zip.c — the zip reader under the checkpoint reader: torch's layout
 * (sizes only in the central directory, 64-byte aligned data), ZIP64 end
 * records and extra fields, and every damaged archive refused cleanly. */
#include "test_util.h"
#include "ckpt_builder.h"
#include "io/zip.h"

static const char alpha[] = "alpha bytes", beta[] = "b", gamma_[100] = {1, 2, 3};

static unsigned char *three_entries(size_t *size) {
    tb_entry e[3] = {{"root/data.pkl", alpha, sizeof alpha}, {"root/data/0", beta, 1}, {"root/data/1", gamma_, 100}};
    return tb_zip(e, 3, size);
}

static uint32_t rd32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr16(unsigned char *p, unsigned v) { p[0] = v & 0xff, p[1] = v >> 8 & 0xff; }
static void wr32(unsigned char *p, uint32_t v) { wr16(p, v & 0xffff), wr16(p + 2, v >> 16); }

/* The central directory record of entry i. */
static unsigned char *central(unsigned char *z, size_t size, int i) {
    unsigned char *p = z + rd32(z + size - 22 + 16);
    while (i--) p += 46 + (p[28] | p[29] << 8) + (p[30] | p[31] << 8) + (p[32] | p[33] << 8);
    return p;
}

static void test_read(void) {
    size_t size;
    unsigned char *z = three_entries(&size);
    orr_zip *zip = NULL;
    CHECK_OK(orr_zip_open(z, size, "three.zip", &zip));
    CHECK(orr_zip_count(zip) == 3);
    const orr_zip_entry *e = orr_zip_find(zip, "root/data/1");
    const uint8_t *bytes = NULL;
    CHECK(e && e->size == 100 && e->method == ORR_ZIP_STORED && e->data_offset % 64 == 0);
    if (e) CHECK_OK(orr_zip_stored_data(zip, e, &bytes));
    CHECK(bytes && !memcmp(bytes, gamma_, 100));
    CHECK(!strcmp(orr_zip_entry_at(zip, 0)->name, "root/data.pkl"));
    CHECK(orr_zip_entry_at(zip, 3) == NULL && orr_zip_entry_at(zip, -1) == NULL);
    CHECK(orr_zip_find(zip, "root/data/2") == NULL && orr_zip_find(zip, "root") == NULL);
    orr_zip_close(zip);

    /* an archive comment, even one holding an end-record signature */
    unsigned char *c = malloc(size + 30);
    memcpy(c, z, size);
    wr16(c + size - 2, 30);
    memset(c + size, 'x', 30);
    memcpy(c + size + 4, "PK\5\6", 4);
    CHECK_OK(orr_zip_open(c, size + 30, "comment.zip", &zip));
    CHECK(orr_zip_count(zip) == 3);
    orr_zip_close(zip);
    free(c);

    /* a compressed entry is listed but not read in place */
    wr16(central(z, size, 1) + 10, ORR_ZIP_DEFLATED);
    CHECK_OK(orr_zip_open(z, size, "deflated.zip", &zip));
    e = orr_zip_find(zip, "root/data/0");
    CHECK(e && e->method == ORR_ZIP_DEFLATED);
    if (e) CHECK_FAILS(orr_zip_stored_data(zip, e, &bytes), ORR_ERR_UNSUPPORTED, "entry 'root/data/0' is compressed");
    orr_zip_close(zip);
    free(z);

    unsigned char empty[22] = {'P', 'K', 5, 6};
    CHECK_OK(orr_zip_open(empty, sizeof empty, "empty.zip", &zip));
    CHECK(orr_zip_count(zip) == 0);
    orr_zip_close(zip);
}

static void test_truncated_everywhere(void) {
    size_t size;
    unsigned char *z = three_entries(&size);
    int refused = 0;
    for (size_t n = 0; n < size; n++) {
        orr_zip *zip = NULL;
        /* a fresh copy of exactly n bytes, so ASan sees any read past it */
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, z, n);
        if (orr_zip_open(cut, n, "cut.zip", &zip) != ORR_OK && zip == NULL) refused++;
        orr_zip_close(zip);
        free(cut);
    }
    CHECK(refused == (int)size);
    free(z);
}

/* Each damage, done to a fresh archive, with the words of its message. */
static void test_damaged(void) {
    static const struct {
        const char *what;
        const char *message;
    } cases[] = {
        {"local signature", "entry 'root/data.pkl': no local header at offset 0"},
        {"local name", "does not match the central directory"},
        {"central signature", "central directory entry 1 at offset"},
        {"duplicate", "entry 'root/data/0' appears twice"},
        {"nul", "NUL byte in its name"},
        {"count", "bytes left in the central directory after its 2 entries"},
        {"too many", "entries cannot fit in a"},
        {"size", "run into the central directory"},
        {"offset", "is not before the central directory"},
        {"saturated", "needs a ZIP64 end record, which is missing"},
        {"zip64 without extra", "without a ZIP64 extra field"},
        {"disk", "multi-disk archives are not supported"},
        {"directory offset", "does not end before the end record"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size;
        unsigned char *z = three_entries(&size), *end = z + size - 22;
        const char *w = cases[i].what;
        if (!strcmp(w, "local signature")) z[0] = 'Q';
        if (!strcmp(w, "local name")) z[30] = 'R';
        if (!strcmp(w, "central signature")) central(z, size, 1)[0] = 'Q';
        if (!strcmp(w, "duplicate")) {
            unsigned char *c = central(z, size, 2);
            c[46 + 10] = z[rd32(c + 42) + 30 + 10] = '0';
        }
        if (!strcmp(w, "nul")) central(z, size, 2)[46 + 3] = 0;
        if (!strcmp(w, "count")) wr16(end + 8, 2), wr16(end + 10, 2);
        if (!strcmp(w, "too many")) wr16(end + 8, 999), wr16(end + 10, 999);
        if (!strcmp(w, "size")) wr32(central(z, size, 2) + 20, 5000), wr32(central(z, size, 2) + 24, 5000);
        if (!strcmp(w, "offset")) wr32(central(z, size, 1) + 42, 100000);
        if (!strcmp(w, "saturated")) wr32(end + 16, 0xffffffffu);
        if (!strcmp(w, "zip64 without extra")) wr32(central(z, size, 0) + 42, 0xffffffffu);
        if (!strcmp(w, "disk")) wr16(end + 4, 1);
        if (!strcmp(w, "directory offset")) wr32(end + 16, (uint32_t)size);
        orr_zip *zip = NULL;
        orr_status st = orr_zip_open(z, size, "damaged.zip", &zip);
        if (st != ORR_ERR_FORMAT || zip || !strstr(orr_last_error(), cases[i].message)) {
            fprintf(stderr, "%s: got %s \"%s\", wanted \"%s\"\n", w, orr_status_name(st), orr_last_error(),
                    cases[i].message);
            test_failures++;
        }
        test_checks++;
        orr_zip_close(zip);
        free(z);
    }
}

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(*size);
    if (data && fread(data, 1, *size, f) != *size) {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

/* The ZIP64 fixture (end records and extra fields as miniz writes them past
 * 4 GiB) holds the same entries as the plain one. */
static void test_zip64(void) {
    size_t n32, n64;
    unsigned char *a = read_all("data/ckpt/dit_model_bf16.pt", &n32), *b = read_all("data/ckpt/dit_model_bf16_zip64.pt", &n64);
    orr_zip *plain = NULL, *wide = NULL;
    CHECK(a && b);
    if (a) CHECK_OK(orr_zip_open(a, n32, "dit_model_bf16.pt", &plain));
    if (b) CHECK_OK(orr_zip_open(b, n64, "dit_model_bf16_zip64.pt", &wide));
    CHECK(plain && wide && orr_zip_count(plain) == orr_zip_count(wide) && orr_zip_count(wide) > 50);
    int same = 0;
    for (int64_t i = 0; plain && wide && i < orr_zip_count(wide); i++) {
        const orr_zip_entry *w = orr_zip_entry_at(wide, i), *p = orr_zip_find(plain, w->name);
        const uint8_t *wb, *pb;
        if (p && p->size == w->size && !orr_zip_stored_data(wide, w, &wb) && !orr_zip_stored_data(plain, p, &pb) &&
            !memcmp(wb, pb, (size_t)w->size))
            same++;
    }
    CHECK(wide && same == orr_zip_count(wide));
    orr_zip_close(plain);
    orr_zip_close(wide);
    free(a);
    free(b);
}

int main(void) {
    test_read();
    test_truncated_everywhere();
    test_damaged();
    test_zip64();
    return test_finish("test_zip");
}
