/* test_torch_save.c — orr_torch_save_tensor: round trips through
 * orr_ckpt_open for every dtype (strided and empty tensors included), the
 * archive layout torch writes (64-byte aligned records, data descriptors
 * with the right CRC, the root folder named after the file), the records of
 * a file PyTorch 1.13 saved compared byte for byte, and failures that leave
 * nothing behind. Where a python3 with torch is found, torch.load reads
 * every file written here and its torch.save'd copies are read back. */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "io/zip.h"

static char dir[] = "/tmp/orr_torch_save_XXXXXX";
#include "test_files.h"

/* torch.save(torch.arange(6, dtype=torch.float32).reshape(2, 3), "a.pt")
 * by PyTorch 1.13.1 (no byteorder record: torch 2.1 added it). */
static const char reference_hex[] =
    "504b0304000008080000000000000000000000000000000000000a001800612f646174612e706b6c464214005a5a5a5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a800263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f"
    "76320a71002828580700000073746f72616765710163746f7263680a466c6f617453746f726167650a71025801000000"
    "307103580300000063707571044b06747105514b004b024b038671064b034b018671078963636f6c6c656374696f6e73"
    "0a4f726465726564446963740a71082952710974710a52710b2e504b0708c77353279a0000009a000000504b03040000"
    "080800000000000000000000000000000000000008003000612f646174612f3046422c005a5a5a5a5a5a5a5a5a5a5a5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a000000000000803f0000004000004040"
    "000080400000a040504b07081790e7911800000018000000504b03040000080800000000000000000000000000000000"
    "000009003100612f76657273696f6e46422d005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a330a504b0708d19e67550200000002000000504b010200000000080800000000"
    "0000c77353279a0000009a0000000a0000000000000000000000000000000000612f646174612e706b6c504b01020000"
    "000008080000000000001790e79118000000180000000800000000000000000000000000ea000000612f646174612f30"
    "504b0102000000000808000000000000d19e67550200000002000000090000000000000000000000000068010000612f"
    "76657273696f6e504b06062c000000000000001e032d00000000000000000003000000000000000300000000000000a5"
    "00000000000000d201000000000000504b060700000000770200000000000001000000504b05060000000003000300a5"
    "000000d20100000000";

static unsigned char *reference_bytes(size_t *n) {
    *n = (sizeof reference_hex - 1) / 2;
    unsigned char *b = malloc(*n);
    for (size_t i = 0; b && i < *n; i++) {
        unsigned v;
        sscanf(reference_hex + 2 * i, "%2x", &v);
        b[i] = (unsigned char)v;
    }
    return b;
}

/* Zip's CRC-32, one bit at a time: an oracle for the writer's tables. */
static uint32_t crc32_bitwise(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Same dtype, shape and elements. */
static bool same_tensor(const orr_tensor *a, const orr_tensor *b) {
    if (a->dtype != b->dtype || !orr_tensor_same_shape(a, b)) return false;
    orr_tensor *ca = NULL, *cb = NULL;
    bool same = !orr_tensor_contiguous(&ca, a) && !orr_tensor_contiguous(&cb, b) &&
                !memcmp(ca->data, cb->data, orr_tensor_nbytes(ca));
    orr_tensor_free(ca);
    orr_tensor_free(cb);
    return same;
}

/* The file's single tensor, through orrery's reader. */
static orr_tensor *read_back(const char *path, const char *prefix) {
    orr_checkpoint *ck = NULL;
    orr_tensor *t = NULL;
    CHECK_OK(orr_ckpt_open(path, &ck));
    if (!ck) return NULL;
    CHECK(orr_ckpt_format(ck) == ORR_CKPT_TORCH);
    CHECK(orr_ckpt_count(ck) == 1);
    CHECK_OK(orr_ckpt_get(ck, "tensor", &t));
    const char *root = orr_ckpt_metadata(ck, "archive_prefix"), *version = orr_ckpt_metadata(ck, "archive_version");
    CHECK(root && !strcmp(root, prefix));
    CHECK(version && !strcmp(version, "3"));
    orr_ckpt_close(ck);
    return t;
}

/* Every record stored, its bytes 64-byte aligned, followed by a data
 * descriptor whose CRC is right; the records in torch's order. */
static void check_layout(const char *path, const char *prefix) {
    size_t n = 0;
    unsigned char *bytes = read_all(path, &n);
    orr_zip *zip = NULL;
    CHECK(bytes != NULL);
    CHECK_OK(orr_zip_open(bytes, n, path, &zip));
    if (!zip) goto done;
    static const char *order[] = {"data.pkl", "byteorder", "data/0", "version"};
    CHECK(orr_zip_count(zip) == 4);
    for (int64_t i = 0; i < orr_zip_count(zip) && i < 4; i++) {
        const orr_zip_entry *e = orr_zip_entry_at(zip, i);
        char name[600];
        snprintf(name, sizeof name, "%s/%s", prefix, order[i]);
        CHECK(!strcmp(e->name, name));
        CHECK(e->method == ORR_ZIP_STORED);
        CHECK(e->data_offset % 64 == 0);
        if (e->size) {
            const unsigned char *d = bytes + e->data_offset + e->size;
            CHECK(rd32(d) == 0x08074b50u);
            CHECK(rd32(d + 4) == crc32_bitwise(bytes + e->data_offset, (size_t)e->size));
        }
    }
done:
    orr_zip_close(zip);
    free(bytes);
}

/* ---- round trips --------------------------------------------------------- */

typedef struct sample {
    const char *file;
    orr_dtype dtype;
    int ndim;
    int64_t shape[ORR_MAX_DIMS];
} sample;

static const sample samples[] = {
    {"f32.pt", ORR_F32, 2, {2, 3}},
    {"f16.pt", ORR_F16, 3, {3, 1, 4}},
    {"bf16.pt", ORR_BF16, 0, {0}},
    {"i64.pt", ORR_I64, 3, {2, 3, 4}},
    {"u8.pt", ORR_U8, 5, {1, 2, 1, 3, 2}},
    {"bool.pt", ORR_BOOL, 1, {5}},
    {"i32.pt", ORR_I32, 2, {4, 2}},
    {"f64.pt", ORR_F64, 1, {3}},
    {"i8.pt", ORR_I8, 2, {2, 2}},
    {"i16.pt", ORR_I16, 2, {2, 3}},
    {"empty.pt", ORR_F32, 2, {0, 3}},
    {"map.pt", ORR_F32, 3, {7, 33, 65}}, /* a weight map [T,H,W] */
    {"big.pt", ORR_F32, 2, {70000, 1}},  /* sizes past BININT2 in the pickle */
};
enum { N_SAMPLES = sizeof samples / sizeof samples[0] };

static orr_tensor *sample_tensor(const sample *s, unsigned seed) {
    orr_tensor *t = test_tensor_filled(s->dtype, s->ndim, s->shape, seed, s->dtype == ORR_BOOL ? 1.0f : 100.0f);
    if (t && s->dtype == ORR_BOOL)
        for (int64_t i = 0; i < orr_tensor_numel(t); i++) ((uint8_t *)t->data)[i] = (uint8_t)(i % 3 == 0);
    return t;
}

static void test_round_trips(void) {
    for (int i = 0; i < N_SAMPLES; i++) {
        const sample *s = &samples[i];
        orr_tensor *t = sample_tensor(s, (unsigned)i + 1), *back = NULL;
        const char *path = in_dir(s->file);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(strlen(s->file) - 3), s->file);
        CHECK_OK(orr_torch_save_tensor(t, path));
        back = read_back(path, prefix);
        if (back && !same_tensor(back, t)) {
            char a[128], b[128];
            fprintf(stderr, "%s: read back %s, wrote %s (or the elements differ)\n", s->file,
                    orr_tensor_describe(back, a, sizeof a), orr_tensor_describe(t, b, sizeof b));
            CHECK(false);
        }
        check_layout(path, prefix);
        orr_tensor_free(back);
        orr_tensor_free(t);
    }
}

/* Views that are not contiguous are written as their elements in order. */
static void test_strided(void) {
    int64_t shape[3] = {4, 5, 6};
    orr_tensor *t = test_tensor_filled(ORR_F32, 3, shape, 7, 1.0f), *perm = NULL, *narrow = NULL, *back = NULL;
    int order[3] = {2, 0, 1};
    CHECK_OK(orr_tensor_permute(&perm, t, order));
    CHECK(perm && !orr_tensor_is_contiguous(perm));
    CHECK_OK(orr_torch_save_tensor(perm, in_dir("perm.pt")));
    back = read_back(in_dir("perm.pt"), "perm");
    CHECK(back && same_tensor(back, perm) && orr_tensor_is_contiguous(back));
    orr_tensor_free(back);

    CHECK_OK(orr_tensor_narrow(&narrow, perm, 1, 1, 2));
    CHECK_OK(orr_torch_save_tensor(narrow, in_dir("narrow.pt")));
    back = read_back(in_dir("narrow.pt"), "narrow");
    CHECK(back && same_tensor(back, narrow));
    int64_t want[3] = {6, 2, 5};
    CHECK(back && back->ndim == 3 && !memcmp(back->shape, want, sizeof want));
    orr_tensor_free(back);
    orr_tensor_free(narrow);
    orr_tensor_free(perm);
    orr_tensor_free(t);
}

/* The records PyTorch wrote for the same tensor, byte for byte: the first
 * record (header, pickle, descriptor) and every record's contents. */
static void test_matches_pytorch(void) {
    size_t ref_size = 0, mine_size = 0;
    unsigned char *ref = reference_bytes(&ref_size), *mine = NULL;
    int64_t shape[2] = {2, 3};
    orr_tensor *t = NULL, *back = NULL;
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, 2, shape));
    for (int i = 0; t && i < 6; i++) ((float *)t->data)[i] = (float)i;

    /* PyTorch's file through orrery's reader. */
    orr_checkpoint *ck = NULL;
    CHECK_OK(orr_ckpt_open_memory(ref, ref_size, "a.pt", &ck));
    CHECK_OK(orr_ckpt_get(ck, "tensor", &back));
    CHECK(back && t && same_tensor(back, t));
    orr_tensor_free(back);
    orr_ckpt_close(ck);

    const char *path = in_dir("a.pt");
    CHECK_OK(orr_torch_save_tensor(t, path));
    mine = read_all(path, &mine_size);
    orr_zip *zr = NULL, *zm = NULL;
    CHECK_OK(orr_zip_open(ref, ref_size, "reference", &zr));
    CHECK_OK(orr_zip_open(mine, mine_size, path, &zm));
    const orr_zip_entry *pkl = zr ? orr_zip_find(zr, "a/data.pkl") : NULL;
    CHECK(pkl && mine_size > 234 && !memcmp(mine, ref, 234)); /* through data.pkl's descriptor */
    static const char *records[] = {"a/data.pkl", "a/data/0", "a/version"};
    for (int i = 0; zr && zm && i < 3; i++) {
        const orr_zip_entry *r = orr_zip_find(zr, records[i]), *m = orr_zip_find(zm, records[i]);
        CHECK(r && m && r->size == m->size && !memcmp(ref + r->data_offset, mine + m->data_offset, (size_t)r->size));
    }
    const orr_zip_entry *order = zm ? orr_zip_find(zm, "a/byteorder") : NULL;
    CHECK(order && order->size == 6 && !memcmp(mine + order->data_offset, "little", 6));
    orr_zip_close(zr);
    orr_zip_close(zm);
    free(ref);
    free(mine);
    orr_tensor_free(t);
}

/* torch's archive names: the base name up to its last '.'. */
static void test_archive_names(void) {
    int64_t shape[1] = {2};
    orr_tensor *t = NULL, *back;
    CHECK_OK(orr_tensor_zeros(&t, ORR_F32, 1, shape));
    struct {
        const char *file, *root;
    } cases[] = {{"edge.weights.pt", "edge.weights"}, {"noext", "noext"}, {".pt", "archive"}};
    for (int i = 0; i < 3; i++) {
        CHECK_OK(orr_torch_save_tensor(t, in_dir(cases[i].file)));
        back = read_back(in_dir(cases[i].file), cases[i].root);
        orr_tensor_free(back);
    }
    orr_tensor_free(t);
}

/* ---- torch itself ------------------------------------------------------- */

static const char *python_with_torch(void) {
    static const char *candidates[] = {"python3", "/usr/bin/python3"};
    for (int i = 0; i < 2; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", candidates[i]);
        if (system(cmd) == 0) return candidates[i];
    }
    return NULL;
}

/* torch.load reads each file (checking the CRCs as it goes) and saves what
 * it read, as is and transposed; orrery reads those back. */
static void test_torch_load(void) {
    const char *python = python_with_torch();
    if (!python) {
        printf("test_torch_save: no python3 with torch: torch.load not checked\n");
        return;
    }
    char script[1024];
    snprintf(script, sizeof script, "%s -c '\n"
             "import sys, torch\n"
             "for src in sys.argv[1:]:\n"
             "    x = torch.load(src)\n"
             "    assert isinstance(x, torch.Tensor) and not x.requires_grad, src\n"
             "    torch.save(x, src[:-3] + \"_torch.pt\")\n"
             "    torch.save(x.transpose(0, -1) if x.dim() > 1 else x, src[:-3] + \"_torcht.pt\")\n"
             "'", python);
    size_t len = strlen(script);
    for (int i = 0; i < N_SAMPLES; i++) len += (size_t)snprintf(script + len, sizeof script - len, " %s",
                                                                  in_dir(samples[i].file));
    CHECK(len < sizeof script);
    CHECK(system(script) == 0);
    for (int i = 0; i < N_SAMPLES; i++) {
        const sample *s = &samples[i];
        orr_tensor *t = sample_tensor(s, (unsigned)i + 1), *expect_t = NULL;
        char file[64], prefix[64];
        int stem = (int)strlen(s->file) - 3;
        snprintf(file, sizeof file, "%.*s_torch.pt", stem, s->file);
        snprintf(prefix, sizeof prefix, "%.*s_torch", stem, s->file);
        orr_tensor *back = read_back(in_dir(file), prefix);
        CHECK(back && same_tensor(back, t));
        orr_tensor_free(back);

        snprintf(file, sizeof file, "%.*s_torcht.pt", stem, s->file);
        snprintf(prefix, sizeof prefix, "%.*s_torcht", stem, s->file);
        if (s->ndim > 1) CHECK_OK(orr_tensor_transpose(&expect_t, t, 0, -1));
        back = read_back(in_dir(file), prefix);
        CHECK(back && same_tensor(back, expect_t ? expect_t : t));
        orr_tensor_free(back);
        orr_tensor_free(expect_t);
        orr_tensor_free(t);
    }
}

/* ---- failures ------------------------------------------------------------ */

static void test_errors(void) {
    int64_t shape[1] = {3};
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_zeros(&t, ORR_F32, 1, shape));
    CHECK_FAILS(orr_torch_save_tensor(NULL, in_dir("x.pt")), ORR_ERR_ARGUMENT, "torch_save: t is NULL");
    CHECK_FAILS(orr_torch_save_tensor(t, NULL), ORR_ERR_ARGUMENT, "torch_save: path is NULL");
    CHECK_FAILS(orr_torch_save_tensor(t, ""), ORR_ERR_ARGUMENT, "torch_save: path is empty");
    CHECK(!file_exists(in_dir("x.pt")));

    /* No directory to create the temporary file in: nothing appears. */
    const char *nowhere = in_dir("no/such/dir/w.pt");
    CHECK_FAILS(orr_torch_save_tensor(t, nowhere), ORR_ERR_IO, "cannot create");
    CHECK(!file_exists(nowhere));

    /* A directory in the way of the rename: the temporary file goes. */
    const char *taken = in_dir("taken.pt");
    CHECK(mkdir(taken, 0755) == 0);
    CHECK_FAILS(orr_torch_save_tensor(t, taken), ORR_ERR_IO, "cannot rename");
    rmdir(taken);
    CHECK(count_temporaries(dir) == 0);

    /* Saving over an existing file replaces it whole. */
    const char *path = in_dir("again.pt");
    CHECK_OK(orr_torch_save_tensor(t, path));
    int64_t shape2[2] = {2, 2};
    orr_tensor *t2 = test_tensor_filled(ORR_F32, 2, shape2, 3, 1.0f), *back;
    CHECK_OK(orr_torch_save_tensor(t2, path));
    back = read_back(path, "again");
    CHECK(back && same_tensor(back, t2));
    orr_tensor_free(back);
    orr_tensor_free(t2);
    orr_tensor_free(t);
    CHECK(count_temporaries(dir) == 0);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trips();
    test_strided();
    test_matches_pytorch();
    test_archive_names();
    test_torch_load();
    test_errors();
    remove_all(dir);
    return test_finish("test_torch_save");
}
