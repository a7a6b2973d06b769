/* test_safetensors.c — safetensors round trips for every dtype, zero-copy
 * views, the reference writer's exact bytes, and one malformed file per
 * validation rule. Every fixture is built here, in a temporary directory. */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "test_util.h"

static char dir[] = "/tmp/orr_test_st_XXXXXX";
#include "test_files.h"

/* A file: header length (as given, little-endian), header text, then
 * data_len bytes of a pattern. */
static unsigned char *make_file(uint64_t header_len, const char *header, size_t data_len, size_t *size) {
    size_t h = strlen(header);
    *size = 8 + h + data_len;
    unsigned char *b = malloc(*size);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(header_len >> (8 * i));
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < data_len; i++) b[8 + h + i] = (unsigned char)(i * 13 + 1);
    return b;
}

static orr_mem_stats stats(void) {
    orr_mem_stats s;
    orr_mem_get_stats(ORR_CPU, &s);
    return s;
}

/* ---- malformed files ------------------------------------------------------ */

/* Both the file and the in-memory reader must refuse `bytes` with `status`,
 * a message holding `needle`, and the file's name. */
static void check_bad_bytes(const unsigned char *bytes, size_t size, orr_status status, const char *needle, int line) {
    const char *path = in_dir("bad.safetensors");
    write_all(path, bytes, size);
    orr_safetensors *st = (orr_safetensors *)1;
    orr_status got = orr_st_open(path, &st);
    test_checks++;
    if (got != status || st != NULL || !strstr(orr_last_error(), needle) || !strstr(orr_last_error(), path)) {
        test_failures++;
        fprintf(stderr, "line %d: orr_st_open -> %s \"%s\", wanted %s with \"%s\"\n", line, orr_status_name(got),
                orr_last_error(), orr_status_name(status), needle);
    }
    if (got == ORR_OK) orr_st_close(st);
    st = (orr_safetensors *)1;
    got = orr_st_open_memory(bytes, size, "mem.safetensors", &st);
    test_checks++;
    if (got != status || st != NULL || !strstr(orr_last_error(), needle) ||
        !strstr(orr_last_error(), "mem.safetensors")) {
        test_failures++;
        fprintf(stderr, "line %d: orr_st_open_memory -> %s \"%s\"\n", line, orr_status_name(got), orr_last_error());
    }
    if (got == ORR_OK) orr_st_close(st);
}

static void check_bad_header(const char *header, size_t data_len, orr_status status, const char *needle, int line) {
    size_t size;
    unsigned char *b = make_file(strlen(header), header, data_len, &size);
    check_bad_bytes(b, size, status, needle, line);
    free(b);
}
#define BAD(header, data_len, status, needle) check_bad_header((header), (data_len), (status), (needle), __LINE__)
#define F32_2 "\"dtype\":\"F32\",\"shape\":[2]"

static void test_malformed(void) {
    size_t size;
    unsigned char *b;

    check_bad_bytes((const unsigned char *)"", 0, ORR_ERR_FORMAT, "file is 0 bytes, shorter than the 8-byte", __LINE__);
    check_bad_bytes((const unsigned char *)"\x02\0\0\0\0", 5, ORR_ERR_FORMAT, "file is 5 bytes", __LINE__);

    b = make_file(100, "{}", 0, &size);
    check_bad_bytes(b, size, ORR_ERR_FORMAT, "header length 100 runs past the end of the 10-byte file", __LINE__);
    free(b);
    b = make_file(1ull << 40, "{}", 0, &size);
    check_bad_bytes(b, size, ORR_ERR_FORMAT, "header length 1099511627776 is larger than the 100 MB limit", __LINE__);
    free(b);
    b = make_file(UINT64_MAX, "{}", 0, &size);
    check_bad_bytes(b, size, ORR_ERR_FORMAT, "larger than the 100 MB limit", __LINE__);
    free(b);
    /* A length that leaves the header short of its end is a JSON error. */
    b = make_file(1, "{}", 0, &size);
    check_bad_bytes(b, size, ORR_ERR_FORMAT, "header: json: expected a string key at byte 1", __LINE__);
    free(b);

    BAD("{\"a\":", 0, ORR_ERR_FORMAT, "header: json: expected a value at byte 5");
    BAD("{\"a\":{}} trailing", 0, ORR_ERR_FORMAT, "header: json: unexpected 't' after the value");
    BAD("[]", 0, ORR_ERR_FORMAT, "header must be a JSON object (found array)");
    BAD("\"text\"", 0, ORR_ERR_FORMAT, "header must be a JSON object (found string)");
    BAD("{\"\xff\":{}}", 0, ORR_ERR_FORMAT, "header: json: invalid UTF-8 at byte 2");
    BAD("{\"a\":5}", 0, ORR_ERR_FORMAT, "tensor 'a': entry must be an object (found number)");
    BAD("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT, "tensor 'a': \"dtype\" is missing");
    BAD("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT, "tensor 'a': \"shape\" is missing");
    BAD("{\"a\":{" F32_2 "}}", 8, ORR_ERR_FORMAT, "tensor 'a': \"data_offsets\" is missing");
    BAD("{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "tensor 'a': \"dtype\" must be a string (found number)");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "tensor 'a': \"shape\" must be an array (found string)");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "must be an array (found object)");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[0]}}", 8, ORR_ERR_FORMAT,
        "tensor 'a': \"data_offsets\" must be an array of two integers");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[0,8,8]}}", 8, ORR_ERR_FORMAT, "must be an array of two integers");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":{\"0\":8}}}", 8, ORR_ERR_FORMAT, "must be an array of two integers");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[\"0\",8]}}", 8, ORR_ERR_FORMAT,
        "tensor 'a': \"data_offsets\" must be non-negative integers");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[-8,0]}}", 8, ORR_ERR_FORMAT, "must be non-negative integers");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[0,8.5]}}", 8, ORR_ERR_FORMAT, "must be non-negative integers");
    BAD("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "tensor 'a': unknown dtype \"F33\"");
    BAD("{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT, "unknown dtype \"f32\"");
    BAD("{\"a\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, ORR_ERR_UNSUPPORTED,
        "tensor 'a': dtype U16 is not supported by orrery");
    BAD("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, ORR_ERR_UNSUPPORTED,
        "dtype F8_E4M3 is not supported");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "tensor 'a': shape[0] is not a non-negative integer");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1.5],\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "tensor 'a': shape[1] is not a non-negative integer");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "shape[0] is not a non-negative integer");
    BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, ORR_ERR_UNSUPPORTED,
        "tensor 'a': 7 dims, more than orrery's limit of 6");
    BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}}", 1, ORR_ERR_FORMAT,
        "tensor 'a': shape [4294967296,4294967296] has more elements than fit in 64 bits");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,1]}}", 1, ORR_ERR_FORMAT,
        "tensor 'a': f32[4611686018427387904] is larger than 2^63 bytes");
    BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, ORR_ERR_FORMAT,
        "tensor 'a': f32[2] needs 8 bytes but data_offsets [0,4] hold 4");
    BAD("{\"a\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,1]}}", 1, ORR_ERR_FORMAT,
        "tensor 'a': bf16[] needs 2 bytes but data_offsets [0,1] hold 1");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[8,0]}}", 8, ORR_ERR_FORMAT,
        "tensor 'a': data_offsets [8,0] end before they begin");
    /* A truncated file: the last tensor runs past what is there. */
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[0,8]},\"b\":{" F32_2 ",\"data_offsets\":[8,16]}}", 12, ORR_ERR_FORMAT,
        "tensor 'b': data_offsets [8,16] run past the end of the 12-byte data section (truncated file?)");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[0,8]},\"b\":{" F32_2 ",\"data_offsets\":[4,12]}}", 12, ORR_ERR_FORMAT,
        "tensors 'a' [0,8] and 'b' [4,12] overlap");
    BAD("{\"b\":{" F32_2 ",\"data_offsets\":[0,8]},\"a\":{" F32_2 ",\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "tensors 'b' [0,8] and 'a' [0,8] overlap");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[0,8]},\"b\":{" F32_2 ",\"data_offsets\":[12,20]}}", 20, ORR_ERR_FORMAT,
        "a gap of 4 unused bytes before tensor 'b' [12,20]");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[4,12]}}", 12, ORR_ERR_FORMAT, "a gap of 4 unused bytes before tensor 'a'");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[0,8]}}", 11, ORR_ERR_FORMAT,
        "3 unused bytes after the last tensor: the tensors cover 8 of the 11-byte data section");
    BAD("{}", 4, ORR_ERR_FORMAT, "4 unused bytes after the last tensor");
    BAD("{\"a\":{" F32_2 ",\"data_offsets\":[0,8]},\"a\":{" F32_2 ",\"data_offsets\":[8,16]}}", 16, ORR_ERR_FORMAT,
        "header: json: duplicate key \"a\" at byte 54");
    BAD("{\"a\\u0000b\":{" F32_2 ",\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "tensor name 'a...' contains a NUL character");
    BAD("{\"__metadata__\":[],\"a\":{" F32_2 ",\"data_offsets\":[0,8]}}", 8, ORR_ERR_FORMAT,
        "__metadata__ must be an object of strings (found array)");
    BAD("{\"__metadata__\":{\"k\":\"v\",\"n\":1}}", 0, ORR_ERR_FORMAT,
        "__metadata__ 'n' must be a string (found number)");
    BAD("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0, ORR_ERR_FORMAT,
        "__metadata__ 'k' must be a string (found object)");
    BAD("{\"__metadata__\":{\"k\":\"a\\u0000\"}}", 0, ORR_ERR_FORMAT, "__metadata__ 'k' contains a NUL character");

    orr_safetensors *st = NULL;
    CHECK_FAILS(orr_st_open(in_dir("missing.safetensors"), &st), ORR_ERR_IO, "cannot open");
    CHECK_FAILS(orr_st_open(dir, &st), ORR_ERR_IO, "it is a directory");
    CHECK_FAILS(orr_st_open(NULL, &st), ORR_ERR_ARGUMENT, "path is NULL");
    CHECK_FAILS(orr_st_open("x", NULL), ORR_ERR_ARGUMENT, "out is NULL");
    CHECK_FAILS(orr_st_open_memory(NULL, 8, "m", &st), ORR_ERR_ARGUMENT, "m: data is NULL");
}

/* ---- valid files written by hand ------------------------------------------- */

static orr_safetensors *open_header(const char *header, size_t data_len) {
    size_t size;
    unsigned char *b = make_file(strlen(header), header, data_len, &size);
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open_memory(b, size, "hand.safetensors", &st));
    free(b);
    return st;
}

static void test_edge_cases(void) {
    /* Empty tensors anywhere, a 0-dim tensor, header order unlike data order,
     * unknown entry keys ignored (as the reference reader does), space padding. */
    orr_safetensors *st = open_header(
        "{\"e2\":{\"dtype\":\"U8\",\"shape\":[3,0],\"data_offsets\":[4,4]},"
        "\"s\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4],\"extra\":[1,{}]},"
        "\"e1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}   ",
        4);
    CHECK(st != NULL);
    if (!st) return;
    CHECK(orr_st_count(st) == 3);
    CHECK(!strcmp(orr_st_name(st, 0), "e1") && !strcmp(orr_st_name(st, 1), "s") && !strcmp(orr_st_name(st, 2), "e2"));
    CHECK(orr_st_name(st, 3) == NULL && orr_st_name(st, -1) == NULL);
    CHECK(orr_st_metadata_count(st) == 0 && orr_st_metadata(st, "x") == NULL && orr_st_metadata_key(st, 0) == NULL);
    orr_dtype dtype;
    int ndim = -1;
    int64_t shape[ORR_MAX_DIMS] = {0};
    CHECK_OK(orr_st_info(st, "s", &dtype, &ndim, shape));
    CHECK(dtype == ORR_I32 && ndim == 0);
    CHECK_OK(orr_st_info(st, "e2", &dtype, &ndim, shape));
    CHECK(dtype == ORR_U8 && ndim == 2 && shape[0] == 3 && shape[1] == 0);
    orr_tensor *s = NULL, *e1 = NULL, *e2 = NULL;
    CHECK_OK(orr_st_get(st, "s", &s));
    CHECK_OK(orr_st_get(st, "e1", &e1));
    CHECK_OK(orr_st_get(st, "e2", &e2));
    if (s && e1 && e2) {
        CHECK(s->ndim == 0 && orr_tensor_numel(s) == 1);
        int32_t want = 1 | 14 << 8 | 27 << 16 | 40 << 24; /* the make_file pattern */
        CHECK(orr_tensor_get(s, 0) == (double)want);
        CHECK(orr_tensor_numel(e1) == 0 && orr_tensor_numel(e2) == 0 && e2->shape[0] == 3);
    }
    orr_tensor_free(s);
    orr_tensor_free(e1);
    orr_tensor_free(e2);
    CHECK(!orr_st_has(st, "x") && orr_st_has(st, "e2") && !orr_st_has(st, NULL));
    CHECK_FAILS(orr_st_get(st, "x", &s), ORR_ERR_NOT_FOUND, "hand.safetensors: no tensor named 'x'");
    CHECK(s == NULL);
    CHECK_FAILS(orr_st_info(st, "nope", NULL, NULL, NULL), ORR_ERR_NOT_FOUND, "no tensor named 'nope'");
    CHECK(!strcmp(orr_st_path(st), "hand.safetensors"));
    orr_st_close(st);
    orr_st_close(NULL);
    CHECK(orr_st_count(NULL) == 0 && orr_st_name(NULL, 0) == NULL && orr_st_metadata(NULL, "k") == NULL);

    /* No tensors at all. */
    st = open_header("{}", 0);
    CHECK(st && orr_st_count(st) == 0);
    orr_st_close(st);

    /* A header without padding leaves this tensor misaligned: it comes back
     * as an aligned copy with the same values. */
    const char *header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t h = strlen(header), size = 8 + h + 8;
    CHECK((8 + h) % 4 != 0);
    unsigned char *b = malloc(size);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    float values[2] = {1.5f, -2.25f};
    memcpy(b + 8 + h, values, 8);
    const char *path = in_dir("misaligned.safetensors");
    write_all(path, b, size);
    free(b);
    st = NULL;
    CHECK_OK(orr_st_open(path, &st));
    orr_tensor *a = NULL;
    if (st) CHECK_OK(orr_st_get(st, "a", &a));
    if (a) {
        CHECK((uintptr_t)a->data % 4 == 0);
        CHECK(orr_tensor_get(a, 0) == 1.5 && orr_tensor_get(a, 1) == -2.25);
    }
    orr_st_close(st);
    orr_tensor_free(a);
}

/* ---- round trips ------------------------------------------------------------- */

/* A value every dtype holds exactly. */
static double value_for(orr_dtype dtype, int64_t i, int salt) {
    int64_t k = i * 37 + salt;
    switch (dtype) {
    case ORR_F32:
    case ORR_F64:
    case ORR_BF16:
    case ORR_F16: return (double)(k % 61 - 30) * 0.25;
    case ORR_I64: return (double)((k % 1000 - 500) * (1ll << 40));
    case ORR_I32: return (double)((k % 100000 - 50000) * 1000);
    case ORR_I16: return (double)(k % 60000 - 30000);
    case ORR_I8: return (double)(k % 256 - 128);
    case ORR_U8: return (double)(k % 256);
    case ORR_BOOL: return (double)(k % 3 == 0);
    default: return 0;
    }
}

static void fill(orr_tensor *t, int salt) {
    for (int64_t i = 0; i < orr_tensor_numel(t); i++) orr_tensor_set(t, i, value_for(t->dtype, i, salt));
}

static bool same_values(const orr_tensor *a, const orr_tensor *b) {
    if (a->dtype != b->dtype || !orr_tensor_same_shape(a, b)) return false;
    for (int64_t i = 0; i < orr_tensor_numel(a); i++)
        if (orr_tensor_get(a, i) != orr_tensor_get(b, i)) return false;
    return true;
}

enum { N_SAVED = ORR_DTYPE_COUNT + 5 };

static void test_round_trip(void) {
    orr_tensor *src[N_SAVED] = {0};
    char names[N_SAVED][64];
    const char *name_ptrs[N_SAVED];
    int n = 0;
    for (int d = 0; d < ORR_DTYPE_COUNT; d++) {
        int64_t shape[3] = {2 + d % 3, 5, 1 + d % 2};
        CHECK_OK(orr_tensor_empty(&src[n], (orr_dtype)d, 3, shape));
        fill(src[n], d);
        snprintf(names[n++], sizeof names[0], "t.%s", orr_dtype_name((orr_dtype)d));
    }
    /* Strided inputs are written contiguous. */
    orr_tensor *base = NULL;
    int64_t base_shape[2] = {3, 4};
    CHECK_OK(orr_tensor_empty(&base, ORR_F32, 2, base_shape));
    fill(base, 99);
    CHECK_OK(orr_tensor_transpose(&src[n], base, 0, 1));
    snprintf(names[n++], sizeof names[0], "transposed");
    CHECK_OK(orr_tensor_narrow(&src[n], base, 1, 1, 2));
    snprintf(names[n++], sizeof names[0], "narrowed");
    CHECK_OK(orr_tensor_empty(&src[n], ORR_F16, 0, NULL));
    orr_tensor_set(src[n], 0, 3.25);
    snprintf(names[n++], sizeof names[0], "scalar");
    int64_t empty_shape[2] = {0, 4}, six[6] = {1, 2, 1, 2, 1, 3};
    CHECK_OK(orr_tensor_empty(&src[n], ORR_I64, 2, empty_shape));
    snprintf(names[n++], sizeof names[0], "empty");
    CHECK_OK(orr_tensor_empty(&src[n], ORR_U8, 6, six));
    fill(src[n], 7);
    snprintf(names[n++], sizeof names[0], "blocks.0.\"odd\\name\n\xc3\xa9");
    CHECK(n == N_SAVED);
    for (int i = 0; i < n; i++) name_ptrs[i] = names[i];

    const char *keys[] = {"format", "note", "unicode", "empty"};
    const char *vals[] = {"pt", "a \"quoted\" \\ line\nbreak\t", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", ""};
    const char *path = in_dir("round.safetensors");
    CHECK_OK(orr_st_save(path, n, name_ptrs, (const orr_tensor *const *)src, 4, keys, vals));

    size_t file_size = 0;
    unsigned char *bytes = read_all(path, &file_size);
    CHECK(bytes != NULL);
    uint64_t header_len = 0;
    for (int i = 7; bytes && i >= 0; i--) header_len = header_len << 8 | bytes[i];
    CHECK(header_len % 8 == 0);

    orr_mem_stats before = stats();
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open(path, &st));
    if (!st) return;
    CHECK(stats().bytes_mapped - before.bytes_mapped == (int64_t)file_size);
    CHECK(orr_st_count(st) == n);

    /* Data order: larger elements first, the caller's order among equals. */
    int k = 0;
    for (size_t esize = 8; esize >= 1; esize /= 2)
        for (int i = 0; i < n; i++)
            if (orr_dtype_size(src[i]->dtype) == esize) {
                const char *got = orr_st_name(st, k++);
                CHECK(got && !strcmp(got, names[i]));
            }

    CHECK(orr_st_metadata_count(st) == 4);
    for (int i = 0; i < 4; i++) {
        CHECK(!strcmp(orr_st_metadata_key(st, i), keys[i]));
        CHECK(!strcmp(orr_st_metadata(st, keys[i]), vals[i]));
    }
    CHECK(orr_st_metadata_key(st, 4) == NULL && orr_st_metadata_key(st, -1) == NULL);

    orr_tensor *got[N_SAVED] = {0};
    for (int i = 0; i < n; i++) {
        CHECK_OK(orr_st_get(st, names[i], &got[i]));
        if (!got[i]) continue;
        if (!same_values(got[i], src[i])) {
            test_failures++;
            fprintf(stderr, "round trip of '%s' changed it\n", names[i]);
        }
        CHECK(orr_tensor_is_contiguous(got[i]));
        /* Zero-copy: a view into the file's mapping, aligned for its dtype. */
        const char *map = orr_storage_base(got[i]->storage);
        CHECK(orr_storage_bytes(got[i]->storage) == file_size);
        CHECK((const char *)got[i]->data >= map && (const char *)got[i]->data <= map + file_size);
        CHECK((uintptr_t)got[i]->data % orr_dtype_size(got[i]->dtype) == 0);
        if (bytes && orr_tensor_numel(got[i]))
            CHECK(!memcmp(got[i]->data, bytes + ((const char *)got[i]->data - map), orr_tensor_nbytes(got[i])));
        orr_dtype dtype;
        int ndim;
        int64_t shape[ORR_MAX_DIMS];
        CHECK_OK(orr_st_info(st, names[i], &dtype, &ndim, shape));
        CHECK(dtype == src[i]->dtype && ndim == src[i]->ndim && !memcmp(shape, src[i]->shape, ndim * sizeof *shape));
    }
    CHECK(stats().bytes_in_use == before.bytes_in_use); /* nothing was copied */

    /* Views outlive the file object; the mapping goes with the last view. */
    orr_st_close(st);
    CHECK(stats().bytes_mapped - before.bytes_mapped == (int64_t)file_size);
    CHECK(got[0] && same_values(got[0], src[0]));
    /* Writing into a view changes a private copy of the page, not the file. */
    if (got[0]) orr_tensor_set(got[0], 0, 100.0);
    CHECK(got[0] && orr_tensor_get(got[0], 0) == 100.0);
    for (int i = 0; i < n; i++) orr_tensor_free(got[i]);
    CHECK(stats().bytes_mapped == before.bytes_mapped);
    size_t again_size = 0;
    unsigned char *again = read_all(path, &again_size);
    CHECK(again && bytes && again_size == file_size && !memcmp(again, bytes, file_size));
    free(again);

    /* The in-memory reader copies its buffer. */
    if (bytes) {
        CHECK_OK(orr_st_open_memory(bytes, file_size, "copy", &st));
        memset(bytes, 0xff, file_size);
        orr_tensor *t = NULL;
        if (st) CHECK_OK(orr_st_get(st, names[3], &t));
        CHECK(t && same_values(t, src[3]));
        orr_tensor_free(t);
        CHECK(!strcmp(orr_st_path(st), "copy"));
        orr_st_close(st);
    }
    free(bytes);

    /* Saving over a file that is open: old views keep the old bytes. */
    CHECK_OK(orr_st_open(path, &st));
    orr_tensor *old = NULL;
    if (st) CHECK_OK(orr_st_get(st, names[0], &old));
    fill(src[0], 1234);
    CHECK_OK(orr_st_save(path, 1, name_ptrs, (const orr_tensor *const *)src, 0, NULL, NULL));
    orr_safetensors *fresh = NULL;
    CHECK_OK(orr_st_open(path, &fresh));
    orr_tensor *now = NULL;
    if (fresh) CHECK_OK(orr_st_get(fresh, names[0], &now));
    CHECK(now && same_values(now, src[0]) && orr_st_count(fresh) == 1 && orr_st_metadata_count(fresh) == 0);
    CHECK(old && !same_values(old, src[0]));
    orr_tensor_free(now);
    orr_tensor_free(old);
    orr_st_close(fresh);
    orr_st_close(st);

    for (int i = 0; i < n; i++) orr_tensor_free(src[i]);
    orr_tensor_free(base);
}

/* The reference writer's own test vectors (huggingface/safetensors,
 * tensor.rs): same layout, same key order, same space padding. */
static void check_file_bytes(const char *path, const unsigned char *want, size_t n, int line) {
    size_t size = 0;
    unsigned char *got = read_all(path, &size);
    test_checks++;
    if (!got || size != n || memcmp(got, want, n)) {
        test_failures++;
        fprintf(stderr, "line %d: %s differs from the reference writer's bytes (%zu vs %zu bytes)\n", line, path,
                size, n);
    }
    free(got);
}

static void test_reference_bytes(void) {
    const char *path = in_dir("ref.safetensors");
    orr_tensor *t = NULL;
    int64_t shape[4] = {1, 2, 3};
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, 3, shape));
    for (int i = 0; i < 6; i++) orr_tensor_set(t, i, i);
    const char *name = "attn.0";
    CHECK_OK(orr_st_save(path, 1, &name, (const orr_tensor *const *)&t, 0, NULL, NULL));
    static const unsigned char want1[] = {
        64,  0,   0,   0,   0,   0,   0,   0,   123, 34,  97,  116, 116, 110, 46,  48,  34,  58,  123, 34,  100,
        116, 121, 112, 101, 34,  58,  34,  70,  51,  50,  34,  44,  34,  115, 104, 97,  112, 101, 34,  58,  91,
        49,  44,  50,  44,  51,  93,  44,  34,  100, 97,  116, 97,  95,  111, 102, 102, 115, 101, 116, 115, 34,
        58,  91,  48,  44,  50,  52,  93,  125, 125, 0,   0,   0,   0,   0,   0,   128, 63,  0,   0,   0,   64,
        0,   0,   64,  64,  0,   0,   128, 64,  0,   0,   160, 64};
    check_file_bytes(path, want1, sizeof want1, __LINE__);
    orr_tensor_free(t);

    int64_t shape2[4] = {1, 1, 2, 3};
    CHECK_OK(orr_tensor_empty(&t, ORR_F32, 4, shape2));
    for (int i = 0; i < 6; i++) orr_tensor_set(t, i, i);
    name = "attn0";
    CHECK_OK(orr_st_save(path, 1, &name, (const orr_tensor *const *)&t, 0, NULL, NULL));
    static const unsigned char want2[] = {
        72,  0,   0,   0,   0,   0,   0,   0,   123, 34,  97,  116, 116, 110, 48,  34,  58,  123, 34,  100, 116,
        121, 112, 101, 34,  58,  34,  70,  51,  50,  34,  44,  34,  115, 104, 97,  112, 101, 34,  58,  91,  49,
        44,  49,  44,  50,  44,  51,  93,  44,  34,  100, 97,  116, 97,  95,  111, 102, 102, 115, 101, 116, 115,
        34,  58,  91,  48,  44,  50,  52,  93,  125, 125, 32,  32,  32,  32,  32,  32,  32,  0,   0,   0,   0,
        0,   0,   128, 63,  0,   0,   0,   64,  0,   0,   64,  64,  0,   0,   128, 64,  0,   0,   160, 64};
    check_file_bytes(path, want2, sizeof want2, __LINE__);
    orr_tensor_free(t);

    CHECK_OK(orr_st_save(path, 0, NULL, NULL, 0, NULL, NULL));
    static const unsigned char want3[] = {8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32};
    check_file_bytes(path, want3, sizeof want3, __LINE__);

    const char *key = "framework", *value = "pt";
    CHECK_OK(orr_st_save(path, 0, NULL, NULL, 1, &key, &value));
    static const unsigned char want4[] = {40,  0,   0,   0,   0,   0,   0,  0,   123, 34,  95,  95,  109, 101,
                                          116, 97,  100, 97,  116, 97,  95, 95,  34,  58,  123, 34,  102, 114,
                                          97,  109, 101, 119, 111, 114, 107, 34, 58,  34,  112, 116, 34,  125,
                                          125, 32,  32,  32,  32,  32};
    check_file_bytes(path, want4, sizeof want4, __LINE__);
}

/* ---- writer failures ----------------------------------------------------------- */

static void test_save_errors(void) {
    orr_tensor *t = NULL;
    int64_t shape[1] = {4};
    CHECK_OK(orr_tensor_zeros(&t, ORR_F32, 1, shape));
    const orr_tensor *two[2] = {t, t}, *with_null[2] = {t, NULL};
    const char *path = in_dir("never.safetensors");

    /* A missing directory: the temporary file cannot be created, nothing is left. */
    const char *nowhere = in_dir("no/such/dir/x.safetensors");
    const char *name = "w";
    CHECK_FAILS(orr_st_save(nowhere, 1, &name, two, 0, NULL, NULL), ORR_ERR_IO, "cannot create");
    CHECK(!file_exists(nowhere));

    const char *dup[2] = {"w", "w"}, *ok2[2] = {"a", "b"}, *null_name[2] = {"a", NULL};
    const char *reserved = "__metadata__", *bad_utf8 = "w\xff";
    CHECK_FAILS(orr_st_save(path, 2, dup, two, 0, NULL, NULL), ORR_ERR_ARGUMENT, "names 'w' appears twice");
    CHECK_FAILS(orr_st_save(path, 2, null_name, two, 0, NULL, NULL), ORR_ERR_ARGUMENT, "names[1] is NULL");
    CHECK_FAILS(orr_st_save(path, 1, &reserved, two, 0, NULL, NULL), ORR_ERR_ARGUMENT, "'__metadata__' is reserved");
    CHECK_FAILS(orr_st_save(path, 1, &bad_utf8, two, 0, NULL, NULL), ORR_ERR_ARGUMENT, "names[0] is not valid UTF-8");
    CHECK_FAILS(orr_st_save(path, 2, ok2, with_null, 0, NULL, NULL), ORR_ERR_ARGUMENT, "b is NULL");
    CHECK_FAILS(orr_st_save(path, -1, ok2, two, 0, NULL, NULL), ORR_ERR_ARGUMENT, "negative count");
    CHECK_FAILS(orr_st_save(path, 1, NULL, two, 0, NULL, NULL), ORR_ERR_ARGUMENT, "names or tensors is NULL");
    CHECK_FAILS(orr_st_save(NULL, 1, ok2, two, 0, NULL, NULL), ORR_ERR_ARGUMENT, "path is NULL");
    const char *vals[2] = {"x", "y"}, *null_val[2] = {"x", NULL}, *bad_val = "\xc3";
    CHECK_FAILS(orr_st_save(path, 1, ok2, two, 2, dup, vals), ORR_ERR_ARGUMENT, "meta_keys 'w' appears twice");
    CHECK_FAILS(orr_st_save(path, 1, ok2, two, 2, ok2, null_val), ORR_ERR_ARGUMENT,
                "the value of metadata 'b' is NULL");
    CHECK_FAILS(orr_st_save(path, 1, ok2, two, 1, ok2, &bad_val), ORR_ERR_ARGUMENT, "metadata 'a' is not valid UTF-8");
    CHECK_FAILS(orr_st_save(path, 1, ok2, two, 1, NULL, vals), ORR_ERR_ARGUMENT, "meta_keys or meta_values is NULL");
    CHECK(!file_exists(path));
    orr_tensor_free(t);

    /* Successful saves leave no temporary files behind either. */
    CHECK(count_temporaries(dir) == 0);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    orr_mem_stats start = stats();
    test_malformed();
    test_edge_cases();
    test_round_trip();
    test_reference_bytes();
    test_save_errors();
    orr_mem_stats end = stats();
    CHECK(end.bytes_in_use == start.bytes_in_use && end.allocations == start.allocations);
    CHECK(end.bytes_mapped == start.bytes_mapped);
    remove_all(dir);
    return test_finish("test_safetensors");
}
