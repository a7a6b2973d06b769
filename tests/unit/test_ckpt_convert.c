/* test_ckpt_convert.c — `orrery convert` (orr_ckpt_convert) and the
 * diffusers name maps: official files become safetensors the model loaders
 * take, and diffusers names come back to the official ones. */
#include <dirent.h>
#include <unistd.h>

#include "ckpt_builder.h"
#include "test_util.h"

#define DATA "data/ckpt/"

static char tmp_dir[64];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
    return p;
}

/* ---- diffusers' own renaming, run forwards ------------------------------- */

/* scripts/convert_cosmos_to_diffusers.py renames by str.replace of each
 * pair in turn (TRANSFORMER_KEYS_RENAME_DICT_COSMOS_1_0, VAE_KEYS_RENAME_DICT),
 * after dropping "net."; DiT blocks then go from blocks.block<i> to
 * transformer_blocks.<i>. */
static const char *const dit_pairs[][2] = {
    {"t_embedder.1", "time_embed.t_embedder"},
    {"affline_norm", "time_embed.norm"},
    {".blocks.0.block.attn", ".attn1"},
    {".blocks.1.block.attn", ".attn2"},
    {".blocks.2.block", ".ff"},
    {".blocks.0.adaLN_modulation.1", ".norm1.linear_1"},
    {".blocks.0.adaLN_modulation.2", ".norm1.linear_2"},
    {".blocks.1.adaLN_modulation.1", ".norm2.linear_1"},
    {".blocks.1.adaLN_modulation.2", ".norm2.linear_2"},
    {".blocks.2.adaLN_modulation.1", ".norm3.linear_1"},
    {".blocks.2.adaLN_modulation.2", ".norm3.linear_2"},
    {"to_q.0", "to_q"},
    {"to_q.1", "norm_q"},
    {"to_k.0", "to_k"},
    {"to_k.1", "norm_k"},
    {"to_v.0", "to_v"},
    {"layer1", "net.0.proj"},
    {"layer2", "net.2"},
    {"proj.1", "proj"},
    {"x_embedder", "patch_embed"},
    {"extra_pos_embedder", "learnable_pos_embed"},
    {"final_layer.adaLN_modulation.1", "norm_out.linear_1"},
    {"final_layer.adaLN_modulation.2", "norm_out.linear_2"},
    {"final_layer.linear", "proj_out"},
};

static const char *const vae_pairs[][2] = {
    {"down.0", "down_blocks.0"},
    {"down.1", "down_blocks.1"},
    {"down.2", "down_blocks.2"},
    {"up.0", "up_blocks.2"},
    {"up.1", "up_blocks.1"},
    {"up.2", "up_blocks.0"},
    {".block.", ".resnets."},
    {"downsample", "downsamplers.0"},
    {"upsample", "upsamplers.0"},
    {"mid.block_1", "mid_block.resnets.0"},
    {"mid.attn_1.0", "mid_block.attentions.0"},
    {"mid.attn_1.1", "mid_block.temp_attentions.0"},
    {"mid.block_2", "mid_block.resnets.1"},
    {".q.conv3d", ".to_q"},
    {".k.conv3d", ".to_k"},
    {".v.conv3d", ".to_v"},
    {".proj_out.conv3d", ".to_out.0"},
    {".0.conv3d", ".conv_s"},
    {".1.conv3d", ".conv_t"},
    {"conv1.conv3d", "conv1"},
    {"conv2.conv3d", "conv2"},
    {"conv3.conv3d", "conv3"},
    {"nin_shortcut.conv3d", "conv_shortcut"},
    {"quant_conv.conv3d", "quant_conv"},
    {"post_quant_conv.conv3d", "post_quant_conv"},
};

/* Python's s.replace(from, to) in place. */
static void replace_all(char *s, size_t size, const char *from, const char *to) {
    char out[512] = "";
    size_t n = strlen(from), used = 0;
    for (const char *p = s; *p;) {
        const char *add = !strncmp(p, from, n) ? to : NULL;
        size_t len = add ? strlen(to) : 1;
        if (used + len < sizeof out) memcpy(out + used, add ? to : p, len), used += len;
        p += add ? n : 1;
    }
    out[used] = 0;
    snprintf(s, size, "%s", out);
}

/* The diffusers name of an official DiT key; false for the keys it drops. */
static bool dit_forward(const char *official, char *out, size_t size) {
    if (!strncmp(official, "net.logvar", 10) || !strncmp(official, "logvar.", 7) || strstr(official, "pos_embedder.seq") ||
        strstr(official, "_extra_state"))
        return false;
    snprintf(out, size, "%s", strncmp(official, "net.", 4) ? official : official + 4);
    for (size_t i = 0; i < sizeof dit_pairs / sizeof dit_pairs[0]; i++) replace_all(out, size, dit_pairs[i][0], dit_pairs[i][1]);
    int block, at = 0;
    if (sscanf(out, "blocks.block%d%n", &block, &at) == 1) {
        char rest[512];
        snprintf(rest, sizeof rest, "%s", out + at);
        snprintf(out, size, "transformer_blocks.%d%s", block, rest);
    }
    return true;
}

static bool vae_forward(const char *official, char *out, size_t size) {
    if (strstr(official, "wavelets") || strstr(official, "_arange") || strstr(official, "patch_size_buffer")) return false;
    snprintf(out, size, "%s", official);
    for (size_t i = 0; i < sizeof vae_pairs / sizeof vae_pairs[0]; i++) replace_all(out, size, vae_pairs[i][0], vae_pairs[i][1]);
    return true;
}

/* Every name of `path`, sent through diffusers' renaming and back. */
static int round_trip_names(const char *path, orr_name_map map, bool (*forward)(const char *, char *, size_t)) {
    orr_checkpoint *ck = NULL;
    int checked = 0;
    CHECK_OK(orr_ckpt_open(path, &ck));
    for (int64_t i = 0; i < orr_ckpt_count(ck); i++) {
        const char *name = orr_ckpt_name(ck, i);
        char diffusers[512], back[512];
        if (!forward(name, diffusers, sizeof diffusers)) continue;
        orr_status st = orr_name_map_apply(map, diffusers, back, sizeof back);
        if (st || strcmp(back, name)) {
            fprintf(stderr, "%s -> %s -> %s (%s)\n", name, diffusers, st ? "error" : back, orr_last_error());
            test_failures++;
        }
        test_checks++;
        checked++;
    }
    orr_ckpt_close(ck);
    return checked;
}

static void test_name_maps(void) {
    CHECK(round_trip_names(DATA "dit_model_bf16.pt", ORR_NAMES_DIFFUSERS_DIT, dit_forward) == 50);
    CHECK(round_trip_names(DATA "encoder_bf16cast.jit", ORR_NAMES_DIFFUSERS_VAE, vae_forward) > 100);
    /* both halves of a tokenizer, decoder levels numbered the other way */
    CHECK(round_trip_names("data/tokenizer/cv/weights.safetensors", ORR_NAMES_DIFFUSERS_VAE, vae_forward) > 250);

    char buf[128];
    CHECK_FAILS(orr_name_map_apply(ORR_NAMES_DIFFUSERS_DIT, "transformer_blocks.x.attn1.to_q.weight", buf, sizeof buf),
                ORR_ERR_NOT_FOUND, "not a tensor name of the diffusers DiT layout");
    CHECK_FAILS(orr_name_map_apply(ORR_NAMES_DIFFUSERS_DIT, "rope.freqs", buf, sizeof buf), ORR_ERR_NOT_FOUND,
                "'rope.freqs'");
    CHECK_FAILS(orr_name_map_apply(ORR_NAMES_DIFFUSERS_VAE, "decoder.up_blocks.3.resnets.0.norm1.norm.weight", buf,
                                   sizeof buf), ORR_ERR_NOT_FOUND, "up_blocks.3");
    CHECK_FAILS(orr_name_map_apply(ORR_NAMES_DIFFUSERS_DIT, "transformer_blocks.27.ff.net.2.weight", buf, 10),
                ORR_ERR_ARGUMENT, "more than the 10 given");
    CHECK_FAILS(orr_name_map_apply(ORR_NAMES_AUTO, "x", buf, sizeof buf), ORR_ERR_ARGUMENT, "detected first");
    CHECK_OK(orr_name_map_apply(ORR_NAMES_DIFFUSERS_DIT, "transformer_blocks.27.ff.net.2.weight", buf, sizeof buf));
    CHECK(!strcmp(buf, "net.blocks.block27.blocks.2.block.layer2.weight"));
}

/* ---- conversions --------------------------------------------------------- */

/* The converted file holds exactly the tensors of `expected` but those
 * named ..._extra_state. */
static void check_converted(const char *path, const char *expected_path) {
    orr_safetensors *out = NULL, *ex = NULL;
    CHECK_OK(orr_st_open(path, &out));
    CHECK_OK(orr_st_open(expected_path, &ex));
    int64_t compared = 0, kept = 0;
    for (int64_t i = 0; out && ex && i < orr_st_count(ex); i++) {
        const char *name = orr_st_name(ex, i);
        if (strstr(name, "_extra_state")) continue;
        kept++;
        orr_tensor *a = NULL, *b = NULL;
        if (orr_st_get(out, name, &a) == ORR_OK && orr_st_get(ex, name, &b) == ORR_OK && a->dtype == b->dtype &&
            orr_tensor_same_shape(a, b) && !memcmp(a->data, b->data, orr_tensor_nbytes(b)))
            compared++;
        else
            fprintf(stderr, "%s: '%s' differs from %s\n", path, name, expected_path);
        orr_tensor_free(a);
        orr_tensor_free(b);
    }
    CHECK(compared == kept && kept > 0 && orr_st_count(out) == kept);
    orr_st_close(out);
    orr_st_close(ex);
}

static void test_convert_official(void) {
    orr_convert_params p;
    orr_convert_params_init(&p);
    CHECK(p.names == ORR_NAMES_AUTO && !p.bf16 && !p.extra_state && !p.prefix);
    const char *out = tmp_path("dit.safetensors");
    CHECK_OK(orr_ckpt_convert(DATA "dit_model_bf16_zip64.pt", out, NULL));
    check_converted(out, DATA "dit_model_bf16.expected.safetensors");
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open(out, &st));
    CHECK(st && !strcmp(orr_st_metadata(st, "source_format"), "torch"));
    CHECK(st && !strcmp(orr_st_metadata(st, "archive_prefix"), "model"));
    CHECK(st && !strcmp(orr_st_metadata(st, "source_names"), "official"));

    /* the converted weights are what the DiT loader takes, with the config
     * the fixture was made from */
    orr_safetensors *ex = NULL;
    CHECK_OK(orr_st_open(DATA "dit_model_bf16.expected.safetensors", &ex));
    orr_dit *dit = NULL;
    if (st && ex) CHECK_OK(orr_dit_load(&dit, "GeneralDIT", orr_st_metadata(ex, "config"), st));
    orr_dit_free(dit);
    orr_st_close(ex);
    orr_st_close(st);

    /* extra state kept on request: 431 bytes of a nested zip */
    p.extra_state = true;
    CHECK_OK(orr_ckpt_convert(DATA "dit_model_bf16.pt", out, &p));
    CHECK_OK(orr_st_open(out, &st));
    orr_dtype dtype;
    int ndim;
    int64_t shape[ORR_MAX_DIMS];
    CHECK_OK(orr_st_info(st, "net.blocks.block0.blocks.0.block.attn.attn_op._extra_state", &dtype, &ndim, shape));
    CHECK(dtype == ORR_U8 && ndim == 1 && shape[0] == 431);
    orr_st_close(st);

    /* the tokenizer's encoder from TorchScript, loadable as such */
    out = tmp_path("encoder.safetensors");
    CHECK_OK(orr_ckpt_convert(DATA "encoder_bf16cast.jit", out, NULL));
    check_converted(out, DATA "encoder_bf16cast.expected.safetensors");
    CHECK_OK(orr_st_open(DATA "encoder_bf16cast.expected.safetensors", &ex));
    orr_tokenizer *tok = NULL;
    if (ex) CHECK_OK(orr_tokenizer_load(&tok, orr_st_metadata(ex, "config"), out, NULL));
    orr_tokenizer_info info;
    if (tok) {
        orr_tokenizer_get_info(tok, &info);
        CHECK(info.has_encoder && !info.has_decoder);
    }
    orr_tokenizer_free(tok);
    orr_st_close(ex);
}

static void test_convert_bf16_and_prefix(void) {
    orr_convert_params p;
    orr_convert_params_init(&p);
    p.bf16 = true;
    const char *out = tmp_path("views_bf16.safetensors");
    CHECK_OK(orr_ckpt_convert(DATA "views.pt", out, &p));
    orr_safetensors *st = NULL;
    orr_checkpoint *ck = NULL;
    CHECK_OK(orr_st_open(out, &st));
    CHECK_OK(orr_ckpt_open(DATA "views.pt", &ck));
    for (int64_t i = 0; st && ck && i < orr_ckpt_count(ck); i++) {
        const char *name = orr_ckpt_name(ck, i);
        orr_tensor *a = NULL, *b = NULL;
        CHECK_OK(orr_ckpt_get(ck, name, &a));
        CHECK_OK(orr_st_get(st, name, &b));
        if (!a || !b) continue;
        bool is_float = a->dtype == ORR_F32 || a->dtype == ORR_F64 || a->dtype == ORR_F16;
        CHECK(b->dtype == (is_float ? ORR_BF16 : a->dtype) && orr_tensor_same_shape(a, b));
        for (int64_t k = 0; k < orr_tensor_numel(a); k++) {
            double want = orr_tensor_get(a, k);
            if (is_float) want = orr_bf16_to_f32(orr_f32_to_bf16((float)want));
            if (orr_tensor_get(b, k) != want) {
                fprintf(stderr, "views bf16: '%s'[%lld] is %g, not %g\n", name, (long long)k, orr_tensor_get(b, k), want);
                test_failures++;
                break;
            }
        }
        orr_tensor_free(a);
        orr_tensor_free(b);
    }
    orr_st_close(st);
    orr_ckpt_close(ck);

    /* one half of a {"model": ..., "ema": ...} file */
    tb_buf pk = {0};
    float w[4] = {1, 2, 3, 4};
    const int64_t shape[1] = {4}, stride[1] = {1};
    pk_proto(&pk);
    pk_dict_begin(&pk);
    pk_str(&pk, "model");
    pk_dict_begin(&pk);
    pk_str(&pk, "net.w");
    pk_tensor(&pk, "FloatStorage", "0", 4, 0, 1, shape, stride);
    pk_dict_end(&pk);
    pk_str(&pk, "ema");
    pk_dict_begin(&pk);
    pk_str(&pk, "net.w");
    pk_tensor(&pk, "FloatStorage", "0", 4, 0, 1, shape, stride);
    pk_dict_end(&pk);
    pk_dict_end(&pk);
    pk_stop(&pk);
    const char *keys[] = {"0"};
    const void *data[] = {w};
    size_t sizes[] = {sizeof w}, size;
    unsigned char *zip = tb_torch_archive(&pk, 1, keys, data, sizes, &size);
    const char *in = tmp_path("iter_ema.pt");
    FILE *f = fopen(in, "wb");
    CHECK(f && fwrite(zip, 1, size, f) == size);
    if (f) fclose(f);
    free(zip);
    free(pk.data);
    orr_convert_params_init(&p);
    p.prefix = "ema/";
    out = tmp_path("ema.safetensors");
    CHECK_OK(orr_ckpt_convert(in, out, &p));
    CHECK_OK(orr_st_open(out, &st));
    CHECK(st && orr_st_count(st) == 1 && orr_st_has(st, "net.w") && !strcmp(orr_st_metadata(st, "source_prefix"), "ema/"));
    orr_st_close(st);
    p.prefix = "optimizer/";
    CHECK_FAILS(orr_ckpt_convert(in, out, &p), ORR_ERR_NOT_FOUND, "none is named 'optimizer/...'");
}

/* A diffusers-named file (made here from the official one with diffusers'
 * renaming) converts back to the official names on its own. */
static void test_convert_diffusers(void) {
    orr_checkpoint *ck = NULL;
    CHECK_OK(orr_ckpt_open(DATA "dit_model_bf16.pt", &ck));
    if (!ck) return;
    int64_t n = 0;
    char names[64][256];
    const char *name_ptrs[64];
    orr_tensor *tensors[64];
    for (int64_t i = 0; i < orr_ckpt_count(ck) && n < 64; i++) {
        if (!dit_forward(orr_ckpt_name(ck, i), names[n], sizeof names[n])) continue;
        CHECK_OK(orr_ckpt_get(ck, orr_ckpt_name(ck, i), &tensors[n]));
        name_ptrs[n] = names[n];
        n++;
    }
    orr_checkpoint *check = NULL;
    const char *diffusers = tmp_path("diffusion_pytorch_model.safetensors"), *out = tmp_path("from_diffusers.safetensors");
    CHECK_OK(orr_st_save(diffusers, n, name_ptrs, (const orr_tensor *const *)tensors, 0, NULL, NULL));
    for (int64_t i = 0; i < n; i++) orr_tensor_free(tensors[i]);
    CHECK_OK(orr_ckpt_open(diffusers, &check));
    CHECK(orr_name_map_detect(check) == ORR_NAMES_DIFFUSERS_DIT);
    CHECK(orr_name_map_detect(ck) == ORR_NAMES_OFFICIAL);
    orr_ckpt_close(check);
    orr_ckpt_close(ck);
    CHECK_OK(orr_ckpt_convert(diffusers, out, NULL));
    orr_safetensors *st = NULL;
    CHECK_OK(orr_st_open(out, &st));
    CHECK(st && orr_st_count(st) == 50 && orr_st_has(st, "net.blocks.block1.blocks.2.block.layer1.weight") &&
          !strcmp(orr_st_metadata(st, "source_names"), "diffusers-dit"));
    orr_st_close(st);

    orr_convert_params p;
    orr_convert_params_init(&p);
    p.names = ORR_NAMES_DIFFUSERS_VAE;
    CHECK_FAILS(orr_ckpt_convert(diffusers, out, &p), ORR_ERR_NOT_FOUND, "diffusers VAE layout");
    p.names = (orr_name_map)42;
    CHECK_FAILS(orr_ckpt_convert(diffusers, out, &p), ORR_ERR_ARGUMENT, "not an orr_name_map");
    CHECK_FAILS(orr_ckpt_convert(DATA "bad_view_oob.pt", out, NULL), ORR_ERR_FORMAT, "reaches past the end");
}

static void remove_tmp_dir(void) {
    DIR *d = opendir(tmp_dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') unlink(tmp_path(e->d_name));
    if (d) closedir(d);
    rmdir(tmp_dir);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/orr_test_convert_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_name_maps();
    test_convert_official();
    test_convert_bf16_and_prefix();
    test_convert_diffusers();
    remove_tmp_dir();
    return test_finish("test_ckpt_convert");
}
