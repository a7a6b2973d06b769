/* registry.c — the released Cosmos models: their official network class and
 * constructor arguments (cosmos-predict1 diffusion/config/base/net.py,
 * tokenizer/networks/configs.py, autoregressive/configs/base/model_config.py),
 * the files of their download folders, and tensors those files must hold,
 * derived from the configs. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* ---- configs ------------------------------------------------------------ */

#define DIT_CONFIG(channels, blocks, heads, in_channels, rope_hw, extra_ratio)                                          \
    "{\"max_img_h\": 240, \"max_img_w\": 240, \"max_frames\": 128, \"in_channels\": " #in_channels                    \
    ", \"out_channels\": 16, \"patch_spatial\": 2, \"patch_temporal\": 1, \"concat_padding_mask\": true, "            \
    "\"block_config\": \"FA-CA-MLP\", \"model_channels\": " #channels ", \"num_blocks\": " #blocks                    \
    ", \"num_heads\": " #heads ", \"mlp_ratio\": 4.0, \"block_x_format\": \"THWBD\", "                                \
    "\"crossattn_emb_channels\": 1024, \"use_cross_attn_mask\": false, \"pos_emb_cls\": \"rope3d\", "                 \
    "\"pos_emb_learnable\": false, \"pos_emb_interpolation\": \"crop\", \"affline_emb_norm\": true, "                 \
    "\"use_adaln_lora\": true, \"adaln_lora_dim\": 256, \"rope_h_extrapolation_ratio\": " #rope_hw                    \
    ", \"rope_w_extrapolation_ratio\": " #rope_hw ", \"rope_t_extrapolation_ratio\": 2.0, "                           \
    "\"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\", "                    \
    "\"extra_h_extrapolation_ratio\": " #extra_ratio ", \"extra_w_extrapolation_ratio\": " #extra_ratio               \
    ", \"extra_t_extrapolation_ratio\": " #extra_ratio "}"

/* Every tokenizer: channels 128 x [2,4,4], 2 res blocks, attention at 32. */
#define TOK_COMMON                                                                                                     \
    "\"in_channels\": 3, \"out_channels\": 3, \"channels\": 128, \"channels_mult\": [2, 4, 4], "                      \
    "\"num_res_blocks\": 2, \"attn_resolutions\": [32], \"dropout\": 0.0, \"resolution\": 1024, "                    \
    "\"patch_method\": \"haar\", \"legacy_mode\": false, \"z_factor\": 1, "
#define TOK_VIDEO(name, patch, spatial, temporal, z, latent)                                                           \
    "{\"name\": \"" name "\", " TOK_COMMON "\"patch_size\": " #patch ", \"spatial_compression\": " #spatial            \
    ", \"temporal_compression\": " #temporal ", \"z_channels\": " #z ", " latent ", \"num_groups\": 1, "              \
    "\"encoder\": \"FACTORIZED\", \"decoder\": \"FACTORIZED\"}"
#define TOK_IMAGE(name, spatial, z, latent)                                                                            \
    "{\"name\": \"" name "\", " TOK_COMMON "\"patch_size\": 2, \"spatial_compression\": " #spatial                     \
    ", \"z_channels\": " #z ", " latent "}"
#define CONTINUOUS "\"latent_channels\": 16, \"formulation\": \"AE\""
#define FSQ "\"embedding_dim\": 6, \"quantizer\": \"FSQ\", \"levels\": [8, 8, 8, 5, 5, 5]"

#define AR_CONFIG(layers, dim, vocab, cross)                                                                           \
    "{\"n_layers\": " #layers ", \"dim\": " #dim ", \"n_heads\": 32, \"n_kv_heads\": 8, \"head_dim\": 128, "          \
    "\"ffn_hidden_size\": 14336, \"norm_eps\": 1e-05, \"rope_theta\": 500000, \"vocab_size\": " #vocab                \
    ", \"original_vocab_size\": 64000, \"use_qk_normalization\": true, \"insert_cross_attn\": " #cross "}"

/* ---- files -------------------------------------------------------------- */

static const orr_model_file dit_files[] = {
    {"model.pt", "the network's state dict (net.*, bf16)", false},
};

static const orr_model_file cv720_files[] = {
    {"encoder.jit", "encoder (TorchScript)", false},
    {"decoder.jit", "decoder (TorchScript)", false},
    {"mean_std.pt", "per-channel, per-frame latent mean and std for the diffusion models", false},
    {"autoencoder.jit", "encoder and decoder in one (TorchScript)", true},
    {"model.pt", "training checkpoint", true},
};

static const orr_model_file tokenizer_files[] = {
    {"encoder.jit", "encoder (TorchScript)", false},
    {"decoder.jit", "decoder (TorchScript)", false},
    {"autoencoder.jit", "encoder and decoder in one (TorchScript)", true},
    {"model.pt", "training checkpoint", true},
};

static const orr_model_file transfer_files[] = {
    {"base_model.pt", "the 7B base network", false},
    {"vis_control.pt", "control branch: blurred video", false},
    {"edge_control.pt", "control branch: Canny edges", false},
    {"depth_control.pt", "control branch: depth", false},
    {"seg_control.pt", "control branch: segmentation", false},
    {"keypoint_control.pt", "control branch: human keypoints", true},
    {"4kupscaler_control.pt", "control branch: 4K upscaler", true},
    {"edge_control_distilled.pt", "distilled edge model (one step)", true},
};

static const orr_model_file ar_files[] = {
    {"model.pt", "the transformer's state dict", false},
};

#define FILES(f) (int)(sizeof f / sizeof f[0]), f

static const orr_model_info models[] = {
    {"Cosmos-Predict1-7B-Text2World", "diffusion", "GeneralDIT", DIT_CONFIG(4096, 28, 32, 16, 1.0, 1.0),
     7236192768, "Cosmos-Tokenize1-CV8x8x8-720p", FILES(dit_files)},
    {"Cosmos-Predict1-7B-Video2World", "diffusion", "VideoExtendGeneralDIT", DIT_CONFIG(4096, 28, 32, 17, 1.0, 1.0),
     7236209152, "Cosmos-Tokenize1-CV8x8x8-720p", FILES(dit_files)},
    {"Cosmos-Predict1-14B-Text2World", "diffusion", "GeneralDIT", DIT_CONFIG(5120, 36, 40, 16, 2.0, 2.0),
     14267149824, "Cosmos-Tokenize1-CV8x8x8-720p", FILES(dit_files)},
    {"Cosmos-Predict1-14B-Video2World", "diffusion", "VideoExtendGeneralDIT", DIT_CONFIG(5120, 36, 40, 17, 2.0, 2.0),
     14267170304, "Cosmos-Tokenize1-CV8x8x8-720p", FILES(dit_files)},
    {"Cosmos-Tokenize1-CV8x8x8-720p", "tokenizer", "CausalContinuousVideoTokenizer",
     TOK_VIDEO("CV", 4, 8, 8, 16, CONTINUOUS), 105700000, NULL, FILES(cv720_files)},
    {"Cosmos-Tokenize1-CV4x8x8-360p", "tokenizer", "CausalContinuousVideoTokenizer",
     TOK_VIDEO("CV", 2, 8, 4, 16, CONTINUOUS), 110200000, NULL, FILES(tokenizer_files)},
    {"Cosmos-Tokenize1-DV8x16x16-720p", "tokenizer", "CausalDiscreteVideoTokenizer",
     TOK_VIDEO("DV", 4, 16, 8, 16, FSQ), 110900000, NULL, FILES(tokenizer_files)},
    {"Cosmos-Tokenize1-DV4x8x8-360p", "tokenizer", "CausalDiscreteVideoTokenizer",
     TOK_VIDEO("DV", 2, 8, 4, 256, FSQ), 112600000, NULL, FILES(tokenizer_files)},
    {"Cosmos-Tokenize1-CI8x8-360p", "tokenizer", "ContinuousImageTokenizer", TOK_IMAGE("CI", 8, 16, CONTINUOUS), 0,
     NULL, FILES(tokenizer_files)},
    {"Cosmos-Tokenize1-CI16x16-360p", "tokenizer", "ContinuousImageTokenizer", TOK_IMAGE("CI", 16, 16, CONTINUOUS),
     0, NULL, FILES(tokenizer_files)},
    {"Cosmos-Tokenize1-DI8x8-360p", "tokenizer", "DiscreteImageTokenizer", TOK_IMAGE("DI", 8, 256, FSQ), 0, NULL,
     FILES(tokenizer_files)},
    {"Cosmos-Tokenize1-DI16x16-360p", "tokenizer", "DiscreteImageTokenizer", TOK_IMAGE("DI", 16, 256, FSQ), 0, NULL,
     FILES(tokenizer_files)},
    {"Cosmos-Transfer1-7B", "transfer", "GeneralDITEncoder", NULL, 0, "Cosmos-Tokenize1-CV8x8x8-720p",
     FILES(transfer_files)},
    {"Cosmos-Predict1-4B", "autoregressive", "Transformer", AR_CONFIG(16, 4096, 64000, false), 4010000000,
     "Cosmos-Tokenize1-DV8x16x16-720p", FILES(ar_files)},
    {"Cosmos-Predict1-12B", "autoregressive", "Transformer", AR_CONFIG(40, 5120, 64000, false), 11560000000,
     "Cosmos-Tokenize1-DV8x16x16-720p", FILES(ar_files)},
    {"Cosmos-Predict1-5B-Video2World", "autoregressive", "Transformer", AR_CONFIG(16, 4096, 64064, true),
     4590000000, "Cosmos-Tokenize1-DV8x16x16-720p", FILES(ar_files)},
    {"Cosmos-Predict1-13B-Video2World", "autoregressive", "Transformer", AR_CONFIG(40, 5120, 64064, true),
     13320000000, "Cosmos-Tokenize1-DV8x16x16-720p", FILES(ar_files)},
};

/* ---- tensors the files must hold ------------------------------------------ */

/* A tensor of a model's file and its shape, or (name NULL) the number of
 * tensors named prefix... in that file, _extra_state entries left out. */
typedef struct expected_tensor {
    const char *model, *file, *name;
    int ndim;
    int64_t shape[5];
    const char *prefix;
    int64_t count;
} expected_tensor;

#define DIT_EXPECTED(model, D, blocks, last, in_features)                                                              \
    {model, "model.pt", NULL, 0, {0}, "net.", 20 * (blocks) + 11},                                                    \
        {model, "model.pt", "net.x_embedder.proj.1.weight", 2, {D, in_features}, NULL, 0},                            \
        {model, "model.pt", "net.extra_pos_embedder.pos_emb_t", 2, {128, D}, NULL, 0},                                \
        {model, "model.pt", "net.blocks.block0.blocks.1.block.attn.to_k.0.weight", 2, {D, 1024}, NULL, 0},           \
        {model, "model.pt", "net.blocks.block" #last ".blocks.2.block.layer2.weight", 2, {D, 4 * (D)}, NULL, 0},     \
        {model, "model.pt", "net.final_layer.linear.weight", 2, {64, D}, NULL, 0}

/* patch p: 3 p^3 pixel channels after the Haar transform */
#define VIDEO_TOK_EXPECTED(model, p, z, latent)                                                                        \
    {model, "encoder.jit", "encoder.conv_in.0.conv3d.weight", 5, {128, 3 * (p) * (p) * (p), 1, 3, 3}, NULL, 0},      \
        {model, "encoder.jit", "quant_conv.conv3d.weight", 5, {latent, z, 1, 1, 1}, NULL, 0},                          \
        {model, "decoder.jit", "post_quant_conv.conv3d.weight", 5, {z, latent, 1, 1, 1}, NULL, 0},                     \
    {                                                                                                                  \
        model, "decoder.jit", "decoder.conv_out.1.conv3d.weight", 5, {3 * (p) * (p) * (p), 3 * (p) * (p) * (p), 3, 1, 1}, \
            NULL, 0                                                                                                    \
    }

#define IMAGE_TOK_EXPECTED(model, z, latent)                                                                           \
    {model, "encoder.jit", "encoder.conv_in.weight", 4, {128, 12, 3, 3}, NULL, 0},                                    \
        {model, "encoder.jit", "quant_conv.weight", 4, {latent, z, 1, 1}, NULL, 0},                                    \
        {model, "decoder.jit", "post_quant_conv.weight", 4, {z, latent, 1, 1}, NULL, 0}

static const expected_tensor expected[] = {
    DIT_EXPECTED("Cosmos-Predict1-7B-Text2World", 4096, 28, 27, 68),
    DIT_EXPECTED("Cosmos-Predict1-7B-Video2World", 4096, 28, 27, 72),
    DIT_EXPECTED("Cosmos-Predict1-14B-Text2World", 5120, 36, 35, 68),
    DIT_EXPECTED("Cosmos-Predict1-14B-Video2World", 5120, 36, 35, 72),
    VIDEO_TOK_EXPECTED("Cosmos-Tokenize1-CV8x8x8-720p", 4, 16, 16),
    VIDEO_TOK_EXPECTED("Cosmos-Tokenize1-CV4x8x8-360p", 2, 16, 16),
    VIDEO_TOK_EXPECTED("Cosmos-Tokenize1-DV8x16x16-720p", 4, 16, 6),
    VIDEO_TOK_EXPECTED("Cosmos-Tokenize1-DV4x8x8-360p", 2, 256, 6),
    IMAGE_TOK_EXPECTED("Cosmos-Tokenize1-CI8x8-360p", 16, 16),
    IMAGE_TOK_EXPECTED("Cosmos-Tokenize1-CI16x16-360p", 16, 16),
    IMAGE_TOK_EXPECTED("Cosmos-Tokenize1-DI8x8-360p", 256, 6),
    IMAGE_TOK_EXPECTED("Cosmos-Tokenize1-DI16x16-360p", 256, 6),
    {"Cosmos-Tokenize1-CV8x8x8-720p", "mean_std.pt", NULL, 0, {0}, "", 2},
};

/* ---- lookups ------------------------------------------------------------ */

int orr_model_count(void) { return (int)(sizeof models / sizeof models[0]); }

const orr_model_info *orr_model_at(int index) {
    return index >= 0 && index < orr_model_count() ? &models[index] : NULL;
}

const orr_model_info *orr_model_find(const char *name) {
    if (!name) return NULL;
    if (!strncmp(name, "nvidia/", 7)) name += 7;
    for (int i = 0; i < orr_model_count(); i++)
        if (!strcmp(models[i].name, name)) return &models[i];
    return NULL;
}

static bool is_file(const char *path) {
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

orr_status orr_model_path(const char *dir, const char *name, const char *file, char *buf, size_t size) {
    if (!dir || !name || !file || !buf || !size) return orr_error(ORR_ERR_ARGUMENT, "models: an argument is NULL");
    const orr_model_info *m = orr_model_find(name);
    if (!m) return orr_error(ORR_ERR_NOT_FOUND, "models: unknown model '%s' (`orrery models` lists them)", name);
    char nvidia[4096];
    int n = snprintf(buf, size, "%s/%s/%s", dir, m->name, file);
    snprintf(nvidia, sizeof nvidia, "%s/nvidia/%s/%s", dir, m->name, file);
    if (n < 0 || (size_t)n >= size) return orr_error(ORR_ERR_ARGUMENT, "models: the path of %s/%s is too long", m->name, file);
    if (is_file(buf)) return ORR_OK;
    if (is_file(nvidia) && strlen(nvidia) < size) {
        snprintf(buf, size, "%s", nvidia);
        return ORR_OK;
    }
    return orr_error(ORR_ERR_NOT_FOUND, "models: %s: missing %s (nor in %s/nvidia/%s/): download the model with the "
                     "official scripts into %s", m->name, buf, dir, m->name, dir);
}

/* ---- checks ------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static orr_status check_tensors(const orr_model_info *m, const char *file, const char *path, const orr_checkpoint *ck) {
    char got[160], want[160];
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const expected_tensor *e = &expected[i];
        if (strcmp(e->model, m->name) || strcmp(e->file, file)) continue;
        if (!e->name) {
            int64_t count = 0;
            for (int64_t k = 0; k < orr_ckpt_count(ck); k++) {
                const char *name = orr_ckpt_name(ck, k);
                count += !strncmp(name, e->prefix, strlen(e->prefix)) && !ends_with(name, "_extra_state");
            }
            if (count != e->count)
                return orr_error(ORR_ERR_NOT_FOUND, "models: %s: %s holds %lld tensors %s* where the %s has %lld",
                                 m->name, path, (long long)count, e->prefix, m->network, (long long)e->count);
            continue;
        }
        orr_dtype dtype;
        int ndim;
        int64_t shape[ORR_MAX_DIMS];
        if (orr_ckpt_info(ck, e->name, &dtype, &ndim, shape) != ORR_OK)
            return orr_error(ORR_ERR_NOT_FOUND, "models: %s: %s has no tensor '%s'", m->name, path, e->name);
        bool same = ndim == e->ndim;
        for (int d = 0; same && d < ndim; d++) same = shape[d] == e->shape[d];
        if (!same)
            return orr_error(ORR_ERR_SHAPE, "models: %s: '%s' in %s is %s%s where the config implies %s", m->name,
                             e->name, path, orr_dtype_name(dtype), orr_shape_str(ndim, shape, got, sizeof got),
                             orr_shape_str(e->ndim, e->shape, want, sizeof want));
    }
    return ORR_OK;
}

/* One model's files; the first failure is returned, every file reported. */
static orr_status check_model(const char *dir, const orr_model_info *m, FILE *report) {
    orr_status first = ORR_OK;
    char first_message[1024] = "";
    for (int f = 0; f < m->n_files; f++) {
        const orr_model_file *file = &m->files[f];
        char path[4096];
        orr_status st = orr_model_path(dir, m->name, file->name, path, sizeof path);
        orr_checkpoint *ck = NULL;
        if (st && file->optional) {
            if (report) fprintf(report, "  --    %s/%s (optional, absent)\n", m->name, file->name);
            continue;
        }
        if (!st && !(st = orr_ckpt_open(path, &ck))) st = check_tensors(m, file->name, path, ck);
        if (report) {
            if (st)
                fprintf(report, "  FAIL  %s\n", orr_last_error());
            else
                fprintf(report, "  ok    %s: %lld tensors (%s)\n", path, (long long)orr_ckpt_count(ck),
                        orr_ckpt_metadata(ck, "format"));
        }
        orr_ckpt_close(ck);
        if (st && !first) {
            first = st;
            snprintf(first_message, sizeof first_message, "%s", orr_last_error());
        }
    }
    if (first) orr_error(first, "%s", first_message);
    return first;
}

orr_status orr_model_check(const char *dir, const char *name, void *report) {
    if (!dir || !name) return orr_error(ORR_ERR_ARGUMENT, "models: directory or name is NULL");
    const orr_model_info *m = orr_model_find(name);
    if (!m) return orr_error(ORR_ERR_NOT_FOUND, "models: unknown model '%s' (`orrery models` lists them)", name);
    FILE *out = report;
    if (out) fprintf(out, "%s (%s, %s)\n", m->name, m->kind, m->network);
    orr_status st = check_model(dir, m, out);
    const orr_model_info *needed = orr_model_find(m->requires);
    if (needed) {
        char message[1024];
        snprintf(message, sizeof message, "%s", orr_last_error());
        if (out) fprintf(out, "%s (needed by %s)\n", needed->name, m->name);
        orr_status st2 = check_model(dir, needed, out);
        if (st) orr_error(st, "%s", message);
        else st = st2;
    }
    if (out) fprintf(out, "%s: %s\n", m->name, st ? "INCOMPLETE" : "complete");
    return st;
}
