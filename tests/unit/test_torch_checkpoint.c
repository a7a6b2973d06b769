/* test_torch_checkpoint.c — orr_ckpt_* on the official fixtures (torch.save
 * and torch.jit.save files made by PyTorch 1.13 from the official modules,
 * each with the exact tensors a reader must produce), on the malformed
 * ones, and on hand-built pickles for every rule of the safe subset. */
#include <sys/stat.h>

#include "test_util.h"
#include "ckpt_builder.h"

#define DATA "data/ckpt/"
/* The full fixture set, present on development machines only. */
#define GOLDEN "../../shared/golden/ckpt/"

static bool exists(const char *path) {
    struct stat s;
    return stat(path, &s) == 0;
}

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(*size ? *size : 1);
    if (data && fread(data, 1, *size, f) != *size) {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

/* Same dtype, shape and bytes (t may be strided; e is contiguous). */
static bool same_tensor(const orr_tensor *t, const orr_tensor *e) {
    if (t->dtype != e->dtype || !orr_tensor_same_shape(t, e)) return false;
    orr_tensor *c = NULL;
    if (orr_tensor_contiguous(&c, t) != ORR_OK) return false;
    bool same = !memcmp(c->data, e->data, orr_tensor_nbytes(e));
    orr_tensor_free(c);
    return same;
}

/* Every tensor of `expected`, in its order, with its name, dtype, shape and
 * bytes; `skip_suffix` names entries left out of the comparison. */
static void check_against(const char *path, const char *expected_path, const char *skip_suffix) {
    orr_checkpoint *ck = NULL;
    orr_safetensors *ex = NULL;
    CHECK_OK(orr_ckpt_open(path, &ck));
    CHECK_OK(orr_st_open(expected_path, &ex));
    if (!ck || !ex) goto done;
    CHECK(orr_ckpt_count(ck) == orr_st_count(ex));
    int64_t mismatches = 0;
    for (int64_t i = 0; i < orr_st_count(ex) && i < orr_ckpt_count(ck); i++) {
        const char *name = orr_st_name(ex, i);
        size_t len = strlen(name), skip = skip_suffix ? strlen(skip_suffix) : 0;
        if (strcmp(orr_ckpt_name(ck, i), name) != 0) {
            fprintf(stderr, "%s: tensor %lld is '%s', expected '%s'\n", path, (long long)i, orr_ckpt_name(ck, i), name);
            mismatches++;
            continue;
        }
        if (skip && len >= skip && !strcmp(name + len - skip, skip_suffix)) continue;
        orr_tensor *t = NULL, *e = NULL;
        CHECK_OK(orr_ckpt_get(ck, name, &t));
        CHECK_OK(orr_st_get(ex, name, &e));
        if (t && e && !same_tensor(t, e)) {
            char a[128], b[128];
            fprintf(stderr, "%s: '%s' is %s, expected %s (or its bytes differ)\n", path, name,
                    orr_tensor_describe(t, a, sizeof a), orr_tensor_describe(e, b, sizeof b));
            mismatches++;
        }
        orr_tensor_free(t);
        orr_tensor_free(e);
    }
    CHECK(mismatches == 0);
done:
    orr_ckpt_close(ck);
    orr_st_close(ex);
}

static void test_fixtures(void) {
    check_against(DATA "mean_std.pt", DATA "mean_std.expected.safetensors", NULL);
    check_against(DATA "views.pt", DATA "views.expected.safetensors", NULL);
    check_against(DATA "dit_model_bf16.pt", DATA "dit_model_bf16.expected.safetensors", NULL);
    check_against(DATA "dit_model_bf16_zip64.pt", DATA "dit_model_bf16.expected.safetensors", NULL);
    check_against(DATA "encoder_bf16cast.jit", DATA "encoder_bf16cast.expected.safetensors", NULL);
    /* TransformerEngine 2.x keeps its extra state as a real u8 tensor: the
     * pickle of None, protocol 4. */
    check_against(DATA "dit_model_te2_bf16.pt", DATA "dit_model_bf16.expected.safetensors", "._extra_state");
    orr_checkpoint *ck = NULL;
    orr_tensor *t = NULL;
    CHECK_OK(orr_ckpt_open(DATA "dit_model_te2_bf16.pt", &ck));
    CHECK_OK(orr_ckpt_get(ck, "net.blocks.block1.blocks.0.block.attn.attn_op._extra_state", &t));
    CHECK(t && t->dtype == ORR_U8 && t->ndim == 1 && t->shape[0] == 4 &&
          !memcmp(t->data, "\x80\x04\x4e\x2e", 4));
    orr_tensor_free(t);
    orr_ckpt_close(ck);
}

/* Every good file of the shared set, where it is present. */
static void test_golden_set(void) {
    static const char *const files[] = {"dit_model.pt",  "dit_model_bf16.pt", "dit_model_bf16_zip64.pt",
                                        "dit_model_te2_bf16.pt", "dit_iter_ema.pt", "encoder.jit",
                                        "decoder.jit",   "encoder_bf16cast.jit", "mean_std.pt", "views.pt"};
    if (!exists(GOLDEN "README.md")) {
        printf("shared golden set absent: checked the copies in tests/data/ckpt only\n");
        return;
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512], expected[512];
        snprintf(path, sizeof path, GOLDEN "%s", files[i]);
        snprintf(expected, sizeof expected, GOLDEN "%.*s.expected.safetensors",
                 (int)(strrchr(files[i], '.') - files[i]), files[i]);
        check_against(path, expected, NULL);
    }
}

static void test_views_share_the_mapping(void) {
    orr_mem_stats before, after;
    orr_mem_get_stats(ORR_CPU, &before);
    orr_checkpoint *ck = NULL;
    CHECK_OK(orr_ckpt_open(DATA "views.pt", &ck));
    if (!ck) return;
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_mapped - before.bytes_mapped == 74523);
    orr_tensor *base = NULL, *transposed = NULL, *strided = NULL, *param = NULL;
    CHECK_OK(orr_ckpt_get(ck, "base", &base));
    CHECK_OK(orr_ckpt_get(ck, "transposed", &transposed));
    CHECK_OK(orr_ckpt_get(ck, "strided", &strided));
    CHECK_OK(orr_ckpt_get(ck, "param", &param));
    CHECK(orr_ckpt_format(ck) == ORR_CKPT_TORCH);
    CHECK(!strcmp(orr_ckpt_metadata(ck, "format"), "torch"));
    CHECK(!strcmp(orr_ckpt_metadata(ck, "archive_prefix"), "views"));
    CHECK(!strcmp(orr_ckpt_metadata(ck, "archive_version"), "3"));
    CHECK(orr_ckpt_metadata(ck, "nothing") == NULL);
    orr_ckpt_close(ck);
    if (base && transposed && strided && param) {
        /* zero-copy: one storage, the file's strides, alive after close */
        CHECK(base->storage == transposed->storage);
        CHECK(transposed->stride[0] == 1 && transposed->stride[1] == 7);
        CHECK(!orr_tensor_is_contiguous(strided));
        CHECK(orr_tensor_get(transposed, 1) == orr_tensor_get(base, 7));
        CHECK(param->shape[0] == 2 && param->shape[1] == 2);
    }
    orr_tensor_free(base);
    orr_tensor_free(transposed);
    orr_tensor_free(strided);
    orr_tensor_free(param);
    orr_mem_get_stats(ORR_CPU, &after);
    CHECK(after.bytes_mapped == before.bytes_mapped);
}

static void test_torchscript(void) {
    orr_checkpoint *ck = NULL;
    orr_dtype dtype;
    int ndim;
    int64_t shape[ORR_MAX_DIMS];
    CHECK_OK(orr_ckpt_open(DATA "encoder_bf16cast.jit", &ck));
    CHECK(orr_ckpt_format(ck) == ORR_CKPT_TORCHSCRIPT);
    CHECK(!strcmp(orr_ckpt_metadata(ck, "format"), "torchscript"));
    CHECK(!strcmp(orr_ckpt_metadata(ck, "archive_prefix"), "encoder_bf16cast"));
    CHECK_OK(orr_ckpt_info(ck, "encoder.conv_in.0.conv3d.weight", &dtype, &ndim, shape));
    CHECK(dtype == ORR_BF16 && ndim == 5 && shape[0] == 8 && shape[1] == 192 && shape[4] == 3);
    CHECK(orr_ckpt_has(ck, "quant_conv.conv3d.bias") && !orr_ckpt_has(ck, "training"));
    CHECK_FAILS(orr_ckpt_info(ck, "encoder.nope", NULL, NULL, NULL), ORR_ERR_NOT_FOUND, "encoder.nope");
    orr_tensor *t = NULL;
    CHECK_FAILS(orr_ckpt_get(ck, "encoder.nope", &t), ORR_ERR_NOT_FOUND, "no tensor named 'encoder.nope'");
    CHECK(t == NULL);
    orr_ckpt_close(ck);
}

static void test_malformed_fixtures(void) {
    orr_checkpoint *ck = NULL;
    CHECK_FAILS(orr_ckpt_open(DATA "bad_global_os_system.pt", &ck), ORR_ERR_FORMAT, "global 'os.system' is not allowed");
    CHECK(strstr(orr_last_error(), "byte "));
    CHECK_FAILS(orr_ckpt_open(DATA "bad_stack_global_os_system.pt", &ck), ORR_ERR_FORMAT,
                "global 'os.system' is not allowed");
    CHECK_FAILS(orr_ckpt_open(DATA "bad_storage_short.pt", &ck), ORR_ERR_FORMAT,
                "FloatStorage of 16 elements but its record 'bad_storage_short/data/0' holds 40 bytes");
    CHECK_FAILS(orr_ckpt_open(DATA "bad_view_oob.pt", &ck), ORR_ERR_FORMAT, "reaches past the end of its storage");
    CHECK_FAILS(orr_ckpt_open(DATA "bad_missing_record.pt", &ck), ORR_ERR_FORMAT,
                "has no record 'bad_missing_record/data/1'");
    CHECK(ck == NULL);

    /* bad_truncated.pt: the first 60 % of dit_model_bf16.pt, and every
     * other length on the way there */
    size_t size;
    unsigned char *data = read_all(DATA "dit_model_bf16.pt", &size);
    CHECK(data != NULL);
    if (!data) return;
    CHECK_FAILS(orr_ckpt_open_memory(data, size * 6 / 10, "bad_truncated.pt", &ck), ORR_ERR_FORMAT,
                "no end-of-central-directory record");
    int refused = 0;
    for (size_t n = 0; n < size; n += 997) refused += orr_ckpt_open_memory(data, n, "cut", &ck) != ORR_OK;
    CHECK(refused == (int)((size - 1) / 997 + 1));
    CHECK(ck == NULL);
    free(data);
    CHECK_FAILS(orr_ckpt_open(DATA "no_such_file.pt", &ck), ORR_ERR_IO, "no_such_file.pt");
    CHECK_FAILS(orr_ckpt_open(DATA, &ck), ORR_ERR_IO, "directory");
}

/* ---- hand-built archives ------------------------------------------------- */

static float storage0[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* Opens an archive of `pickle` with storage "0" = storage0 (64 bytes). */
static orr_status open_pickle(const tb_buf *pickle, orr_checkpoint **ck) {
    const char *keys[] = {"0"};
    const void *data[] = {storage0};
    size_t sizes[] = {sizeof storage0}, size;
    unsigned char *zip = tb_torch_archive(pickle, 1, keys, data, sizes, &size);
    orr_status st = orr_ckpt_open_memory(zip, size, "built.pt", ck);
    free(zip);
    return st;
}

static void test_built_state_dicts(void) {
    orr_checkpoint *ck = NULL;
    orr_tensor *t = NULL;
    tb_buf p = {0};
    const int64_t shape[2] = {2, 3}, stride[2] = {1, 4}, vshape[1] = {16}, vstride[1] = {1};

    /* nested dicts, int keys, a list, non-tensor leaves skipped */
    pk_proto(&p);
    pk_dict_begin(&p);
    pk_str(&p, "model");
    pk_dict_begin(&p);
    pk_str(&p, "w");
    pk_tensor(&p, "FloatStorage", "0", 16, 5, 2, shape, stride);
    pk_str(&p, "step");
    pk_int(&p, 1000);
    pk_dict_end(&p);
    pk_int(&p, 7);
    tb_byte(&p, ']');
    tb_byte(&p, '(');
    pk_tensor(&p, "FloatStorage", "0", 16, 0, 1, vshape, vstride);
    tb_byte(&p, 'N');
    tb_byte(&p, 'e');
    pk_dict_end(&p);
    pk_stop(&p);
    CHECK_OK(open_pickle(&p, &ck));
    CHECK(orr_ckpt_count(ck) == 2);
    CHECK(ck && !strcmp(orr_ckpt_name(ck, 0), "model/w") && !strcmp(orr_ckpt_name(ck, 1), "7/0"));
    CHECK_OK(orr_ckpt_get(ck, "model/w", &t));
    /* element [1,2] = storage[5 + 1*1 + 2*4] */
    CHECK(t && orr_tensor_get(t, 5) == 14.0);
    orr_tensor_free(t);
    orr_ckpt_close(ck);

    /* a bare tensor */
    p.size = 0;
    pk_proto(&p);
    pk_tensor(&p, "FloatStorage", "0", 16, 0, 1, vshape, vstride);
    pk_stop(&p);
    CHECK_OK(open_pickle(&p, &ck));
    CHECK(orr_ckpt_count(ck) == 1 && !strcmp(orr_ckpt_name(ck, 0), "tensor"));
    orr_ckpt_close(ck);

    /* two names for one key */
    p.size = 0;
    pk_proto(&p);
    pk_dict_begin(&p);
    pk_str(&p, "a");
    pk_tensor(&p, "FloatStorage", "0", 16, 0, 1, vshape, vstride);
    pk_str(&p, "a");
    pk_tensor(&p, "FloatStorage", "0", 16, 0, 1, vshape, vstride);
    pk_dict_end(&p);
    pk_stop(&p);
    CHECK_FAILS(open_pickle(&p, &ck), ORR_ERR_FORMAT, "two tensors are named 'a'");

    /* the storage read as another dtype must still match its record */
    p.size = 0;
    pk_proto(&p);
    pk_tensor(&p, "LongStorage", "0", 16, 0, 1, vshape, vstride);
    pk_stop(&p);
    CHECK_FAILS(open_pickle(&p, &ck), ORR_ERR_FORMAT, "LongStorage of 16 elements but its record");

    /* views past the end, through the offset or the strides, and overflow */
    const int64_t big[2] = {INT64_MAX / 2, 3}, huge_stride[2] = {INT64_MAX / 2, 1};
    p.size = 0;
    pk_proto(&p);
    pk_tensor(&p, "FloatStorage", "0", 16, 11, 2, shape, stride);
    pk_stop(&p);
    CHECK_FAILS(open_pickle(&p, &ck), ORR_ERR_FORMAT, "reaches past the end of its storage '0'");
    p.size = 0;
    pk_proto(&p);
    pk_tensor(&p, "FloatStorage", "0", 16, 0, 2, big, huge_stride);
    pk_stop(&p);
    CHECK_FAILS(open_pickle(&p, &ck), ORR_ERR_FORMAT, "reaches past the end");
    free(p.data);
}

/* Pickles that must be refused, each with the words of its message. */
static void test_refused_pickles(void) {
    static const struct {
        const char *bytes;
        size_t size;
        const char *message;
    } cases[] = {
#define PICKLE(s) "\x80\x02" s, sizeof "\x80\x02" s - 1
        {PICKLE("cposix\nsystem\n)R."), "global 'posix.system' is not allowed"},
        {PICKLE("cbuiltins\neval\n)R."), "global 'builtins.eval' is not allowed"},
        {PICKLE("(cos\nsystem\nX\x02\x00\x00\x00lsi."), "global 'os.system' is not allowed"},
        {PICKLE("(X\x02\x00\x00\x00lsios\nsystem\n."), "opcode INST (0x69) is not allowed"},
        {PICKLE("(X\x02\x00\x00\x00lso."), "opcode OBJ (0x6f) is not allowed"},
        {PICKLE("\x82\x01."), "opcode EXT1"},
        {PICKLE("Vxyz\n."), "opcode UNICODE"},
        {PICKLE("I1\n."), "opcode INT"},
        {PICKLE("}q\x00h\x01."), "memo entry 1 was never stored"},
        {PICKLE("N0."), "opcode POP"},
        {PICKLE("NN."), "STOP with 2 values"},
        {PICKLE("N"), "ends without STOP"},
        {PICKLE("X\xff\x00\x00\x00" "ab."), "needs 255 more bytes"},
        {PICKLE("X\x02\x00\x00\x00\xc3(."), "not valid UTF-8"},
        {PICKLE("ccollections\nOrderedDict\nN\x85R."), "OrderedDict is only allowed with no arguments"},
        {PICKLE("ctorch\nFloatStorage\n)R."), "cannot be called with REDUCE"},
        {PICKLE("]q\x00h\x00" "a."), "nested more than 64 levels deep"},
        {PICKLE("}N\x85" "b."), "BUILD of a dict with a tuple state"},
        {PICKLE("(X\x01\x00\x00\x00gX\x01\x00\x00\x00hX\x01\x00\x00\x00iX\x01\x00\x00\x00jt.\x00"),
         "1 bytes follow STOP"},
        {PICKLE("(X\x01\x00\x00\x00gX\x01\x00\x00\x00hX\x01\x00\x00\x00iX\x01\x00\x00\x00j"
                "X\x01\x00\x00\x00ktQ."),
         "persistent id is not a ('storage'"},
        {PICKLE("(X\x07\x00\x00\x00storagec_io\nBytesIO\nX\x01\x00\x00\x00/X\x03\x00\x00\x00" "cpuK\x01tQ."),
         "persistent id names _io.BytesIO, not a torch storage type"},
        {PICKLE("c_io\nBytesIO\n)\x81N\x85" "b."), "BUILD of a BytesIO needs"},
        {PICKLE("c_codecs\nencode\nX\x02\x00\x00\x00\xc4\x80X\x06\x00\x00\x00latin1\x86R."),
         "does not fit in latin-1"},
        {"\x80\x06N.", 4, "protocol 6 is newer than 5"},
        {PICKLE("c__torch__.m\nC\nK\x01\x85\x81."), "takes no arguments"},
        {PICKLE("c__torch__.m\nC\n)\x81}(X\x01\x00\x00\x00xK\x01ub}b."), "needs one dict of attributes"},
        {PICKLE("c__torch__.m\nC\n)\x81}(NK\x02ub."), "a dict key made at pickle byte"},
#undef PICKLE
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tb_buf p = {0};
        orr_checkpoint *ck = NULL;
        tb_put(&p, cases[i].bytes, cases[i].size);
        orr_status st = open_pickle(&p, &ck);
        if (st == ORR_OK || !strstr(orr_last_error(), cases[i].message)) {
            fprintf(stderr, "case %zu: got %s \"%s\", wanted \"%s\"\n", i, orr_status_name(st), orr_last_error(),
                    cases[i].message);
            test_failures++;
        }
        test_checks++;
        orr_ckpt_close(ck);
        free(p.data);
    }
}

/* The protocol-4 spellings of the same data are read. */
static void test_protocol4(void) {
    static const char bytes[] =
        "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00"
        "\x8c\x0b" "collections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94"
        "\x8c\x01k\x8c\x05value\x73" /* {'k': 'value'}: a string leaf, skipped */
        "\x8c\x01x\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80s" /* a LONG1 of -2^63 */
        ".";
    tb_buf p = {0};
    orr_checkpoint *ck = NULL;
    tb_put(&p, bytes, sizeof bytes - 1);
    CHECK_OK(open_pickle(&p, &ck));
    CHECK(ck && orr_ckpt_count(ck) == 0);
    orr_ckpt_close(ck);
    free(p.data);
}

static void test_legacy_and_safetensors(void) {
    orr_checkpoint *ck = NULL;
    CHECK_FAILS(orr_ckpt_open_memory("\x80\x02\x8a\x0a", 4, "old.pt", &ck), ORR_ERR_UNSUPPORTED,
                "legacy torch.save format");
    CHECK_FAILS(orr_ckpt_open_memory("hello world", 11, "text.bin", &ck), ORR_ERR_FORMAT,
                "neither a PyTorch zip archive nor safetensors");
    CHECK_OK(orr_ckpt_open(DATA "mean_std.expected.safetensors", &ck));
    CHECK(orr_ckpt_format(ck) == ORR_CKPT_SAFETENSORS && orr_ckpt_count(ck) == 2);
    CHECK(!strcmp(orr_ckpt_metadata(ck, "format"), "safetensors"));
    CHECK(!strcmp(orr_ckpt_metadata(ck, "source_file"), "mean_std.pt"));
    orr_ckpt_close(ck);
}

int main(void) {
    test_fixtures();
    test_golden_set();
    test_views_share_the_mapping();
    test_torchscript();
    test_malformed_fixtures();
    test_built_state_dicts();
    test_refused_pickles();
    test_protocol4();
    test_legacy_and_safetensors();
    return test_finish("test_torch_checkpoint");
}
