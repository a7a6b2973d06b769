/* dit_config.c — the GeneralDIT / VideoExtendGeneralDIT constructor
 * arguments from JSON, with the defaults of the official signatures
 * (general_dit.py, general_dit_video_conditioned.py). Arguments that do not
 * change the numbers are accepted and ignored: use_cross_attn_mask (the
 * TransformerEngine attention runs with attn_mask_type "no_mask" either way),
 * pos_emb_learnable (VideoRopePosition3DEmb drops it) and the
 * extra_*_extrapolation_ratio (LearnablePosEmbAxis drops them). */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "dit.h"
#include "json.h"

const char orr_dit_config_7b_text2world[] =
    "{\"max_img_h\": 240, \"max_img_w\": 240, \"max_frames\": 128, \"in_channels\": 16, \"out_channels\": 16,"
    " \"patch_spatial\": 2, \"patch_temporal\": 1, \"concat_padding_mask\": true, \"block_config\": \"FA-CA-MLP\","
    " \"model_channels\": 4096, \"num_blocks\": 28, \"num_heads\": 32, \"mlp_ratio\": 4.0,"
    " \"block_x_format\": \"THWBD\", \"crossattn_emb_channels\": 1024, \"use_cross_attn_mask\": false,"
    " \"pos_emb_cls\": \"rope3d\", \"pos_emb_learnable\": false, \"pos_emb_interpolation\": \"crop\","
    " \"affline_emb_norm\": true, \"use_adaln_lora\": true, \"adaln_lora_dim\": 256,"
    " \"rope_h_extrapolation_ratio\": 1.0, \"rope_w_extrapolation_ratio\": 1.0, \"rope_t_extrapolation_ratio\": 2.0,"
    " \"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\"}";

typedef struct reader {
    const orr_json_value *obj;
    const char *network;
    orr_status st;
} reader;

static const orr_json_value *member(reader *r, const char *key, orr_json_type type) {
    const orr_json_value *v = orr_json_get(r->obj, key);
    if (!v || r->st) return NULL;
    orr_json_type t = orr_json_type_of(v);
    if (t != type) {
        r->st = orr_error(ORR_ERR_FORMAT, "dit config (%s): '%s' is a %s, expected a %s", r->network, key,
                          orr_json_type_name(t), orr_json_type_name(type));
        return NULL;
    }
    return v;
}

static int read_int(reader *r, const char *key, int def, int min) {
    const orr_json_value *v = member(r, key, ORR_JSON_NUMBER);
    if (!v) return def;
    int64_t i;
    if (!orr_json_int64(v, &i) || i < min || i > (1 << 30)) {
        r->st = orr_error(ORR_ERR_FORMAT, "dit config (%s): '%s' = %g must be an integer >= %d", r->network, key,
                          orr_json_number(v), min);
        return def;
    }
    return (int)i;
}

static double read_number(reader *r, const char *key, double def) {
    const orr_json_value *v = member(r, key, ORR_JSON_NUMBER);
    if (!v) return def;
    double x = orr_json_number(v);
    if (!isfinite(x) || x <= 0) {
        r->st = orr_error(ORR_ERR_FORMAT, "dit config (%s): '%s' = %g must be positive", r->network, key, x);
        return def;
    }
    return x;
}

static bool read_bool(reader *r, const char *key, bool def) {
    const orr_json_value *v = member(r, key, ORR_JSON_BOOL);
    return v ? orr_json_bool(v) : def;
}

static const char *read_string(reader *r, const char *key, const char *def) {
    const orr_json_value *v = member(r, key, ORR_JSON_STRING);
    return v ? orr_json_string(v, NULL) : def;
}

/* "FA-CA-MLP" -> sub-block kinds, as GeneralDITTransformerBlock splits it. */
static orr_status parse_block_config(dit_config *cfg, const char *network, const char *spec) {
    cfg->n_subblocks = 0;
    const char *p = spec;
    for (;;) {
        size_t len = strcspn(p, "-");
        char name[32];
        if (len == 0 || len >= sizeof name)
            return orr_error(ORR_ERR_FORMAT, "dit config (%s): block_config '%s' has an empty or overlong part",
                             network, spec);
        memcpy(name, p, len);
        name[len] = '\0';
        dit_subblock_kind kind;
        if (!strcasecmp(name, "fa") || !strcasecmp(name, "full_attn"))
            kind = DIT_FULL_ATTN;
        else if (!strcasecmp(name, "ca") || !strcasecmp(name, "cross_attn"))
            kind = DIT_CROSS_ATTN;
        else if (!strcasecmp(name, "mlp") || !strcasecmp(name, "ff"))
            kind = DIT_MLP;
        else
            return orr_error(ORR_ERR_FORMAT,
                             "dit config (%s): block_config '%s': unknown block type '%s' (fa, ca, mlp and their "
                             "long names)",
                             network, spec, name);
        if (cfg->n_subblocks == ORR_DIT_MAX_SUBBLOCKS)
            return orr_error(ORR_ERR_FORMAT, "dit config (%s): block_config '%s' has more than %d parts", network,
                             spec, ORR_DIT_MAX_SUBBLOCKS);
        cfg->subblocks[cfg->n_subblocks++] = kind;
        if (!p[len]) return ORR_OK;
        p += len + 1;
    }
}

int orr_dit_len_t(const dit_config *cfg) { return cfg->max_frames / cfg->patch_temporal; }
int orr_dit_len_h(const dit_config *cfg) { return cfg->max_img_h / cfg->patch_spatial; }
int orr_dit_len_w(const dit_config *cfg) { return cfg->max_img_w / cfg->patch_spatial; }

int orr_dit_max_tp(const dit_config *cfg) {
    /* the learnable table has len_t rows; the RoPE's `seq` buffer covers the
     * longest of the three axes */
    if (cfg->extra_pos_emb) return orr_dit_len_t(cfg);
    int n = orr_dit_len_t(cfg);
    if (orr_dit_len_h(cfg) > n) n = orr_dit_len_h(cfg);
    if (orr_dit_len_w(cfg) > n) n = orr_dit_len_w(cfg);
    return n;
}

orr_status orr_dit_config_parse(dit_config *cfg, const char *network, const char *json) {
    memset(cfg, 0, sizeof *cfg);
    if (!network) return orr_error(ORR_ERR_ARGUMENT, "dit: network name is NULL");
    if (!strcmp(network, "VideoExtendGeneralDIT"))
        cfg->video_conditioned = true;
    else if (strcmp(network, "GeneralDIT"))
        return orr_error(ORR_ERR_ARGUMENT, "dit: unknown network '%s' (GeneralDIT or VideoExtendGeneralDIT)",
                         network);
    if (!json) return orr_error(ORR_ERR_ARGUMENT, "dit (%s): config JSON is NULL", network);

    orr_json *doc;
    orr_status st = orr_json_parse(json, strlen(json), NULL, &doc);
    if (st) return orr_error_context(st, "dit config (%s): ", network);
    reader r = {orr_json_root(doc), network, ORR_OK};
    if (orr_json_type_of(r.obj) != ORR_JSON_OBJECT) {
        orr_json_free(doc);
        return orr_error(ORR_ERR_FORMAT, "dit config (%s): expected a JSON object", network);
    }
    static const char *required[] = {"max_img_h", "max_img_w", "max_frames", "out_channels", "patch_spatial",
                                     "patch_temporal"};
    for (size_t i = 0; i < sizeof required / sizeof required[0] && !r.st; i++)
        if (!orr_json_get(r.obj, required[i]))
            r.st = orr_error(ORR_ERR_FORMAT, "dit config (%s): '%s' is missing (it has no default)", network,
                             required[i]);
    if (!cfg->video_conditioned && !r.st && !orr_json_get(r.obj, "in_channels"))
        r.st = orr_error(ORR_ERR_FORMAT, "dit config (%s): 'in_channels' is missing (it has no default)", network);

    cfg->max_img_h = read_int(&r, "max_img_h", 0, 1);
    cfg->max_img_w = read_int(&r, "max_img_w", 0, 1);
    cfg->max_frames = read_int(&r, "max_frames", 0, 1);
    cfg->in_channels = read_int(&r, "in_channels", ORR_DIT_V2W_IN_CHANNELS, 1);
    cfg->out_channels = read_int(&r, "out_channels", 0, 1);
    cfg->patch_spatial = read_int(&r, "patch_spatial", 0, 1);
    cfg->patch_temporal = read_int(&r, "patch_temporal", 0, 1);
    cfg->concat_padding_mask = read_bool(&r, "concat_padding_mask", true);
    const char *blocks = read_string(&r, "block_config", "FA-CA-MLP");
    cfg->model_channels = read_int(&r, "model_channels", 768, 1);
    cfg->num_blocks = read_int(&r, "num_blocks", 10, 0);
    cfg->num_heads = read_int(&r, "num_heads", 16, 1);
    double mlp_ratio = read_number(&r, "mlp_ratio", 4.0);
    const char *x_format = read_string(&r, "block_x_format", "BTHWD");
    cfg->crossattn_channels = read_int(&r, "crossattn_emb_channels", 1024, 1);
    read_bool(&r, "use_cross_attn_mask", false);
    const char *pos_cls = read_string(&r, "pos_emb_cls", "sincos");
    read_bool(&r, "pos_emb_learnable", false);
    const char *interpolation = read_string(&r, "pos_emb_interpolation", "crop");
    cfg->affline_emb_norm = read_bool(&r, "affline_emb_norm", false);
    cfg->use_adaln_lora = read_bool(&r, "use_adaln_lora", false);
    cfg->adaln_lora_dim = read_int(&r, "adaln_lora_dim", 256, 1);
    cfg->rope_ratio_h = read_number(&r, "rope_h_extrapolation_ratio", 1.0);
    cfg->rope_ratio_w = read_number(&r, "rope_w_extrapolation_ratio", 1.0);
    cfg->rope_ratio_t = read_number(&r, "rope_t_extrapolation_ratio", 1.0);
    cfg->extra_pos_emb = read_bool(&r, "extra_per_block_abs_pos_emb", false);
    const char *extra_type = read_string(&r, "extra_per_block_abs_pos_emb_type", "sincos");
    read_number(&r, "extra_h_extrapolation_ratio", 1.0);
    read_number(&r, "extra_w_extrapolation_ratio", 1.0);
    read_number(&r, "extra_t_extrapolation_ratio", 1.0);
    bool augment_sigma_emb = read_bool(&r, "add_augment_sigma_embedding", false);

    st = r.st;
    if (!st) st = parse_block_config(cfg, network, blocks);
    int D = cfg->model_channels, heads = cfg->num_heads;
    if (!st && D % heads)
        st = orr_error(ORR_ERR_FORMAT, "dit config (%s): model_channels %d is not a multiple of num_heads %d", network,
                       D, heads);
    /* the RoPE splits head_dim into t, h, w parts of even sizes */
    if (!st && (D / heads < 6 || (D / heads) % 2))
        st = orr_error(ORR_ERR_FORMAT, "dit config (%s): head dim %d must be even and >= 6 for the 3-D RoPE", network,
                       D / heads);
    if (!st && D % 2)
        st = orr_error(ORR_ERR_FORMAT, "dit config (%s): model_channels %d must be even", network, D);
    if (!st) {
        cfg->mlp_hidden = (int)(D * mlp_ratio);
        if (cfg->mlp_hidden < 1)
            st = orr_error(ORR_ERR_FORMAT, "dit config (%s): mlp_ratio %g gives no hidden units", network, mlp_ratio);
    }
    if (!st && strcmp(x_format, "THWBD") && strcmp(x_format, "BTHWD"))
        st = orr_error(ORR_ERR_FORMAT, "dit config (%s): block_x_format '%s' (THWBD or BTHWD)", network, x_format);
    cfg->block_x_thwbd = !st && !strcmp(x_format, "THWBD");
    if (!st && strcmp(pos_cls, "rope3d"))
        st = orr_error(ORR_ERR_UNSUPPORTED, "dit config (%s): pos_emb_cls '%s' (only rope3d exists in Predict1)",
                       network, pos_cls);
    if (!st && strcmp(interpolation, "crop"))
        st = orr_error(ORR_ERR_UNSUPPORTED, "dit config (%s): pos_emb_interpolation '%s' (only crop)", network,
                       interpolation);
    if (!st && cfg->extra_pos_emb && strcasecmp(extra_type, "learnable"))
        st = orr_error(ORR_ERR_UNSUPPORTED, "dit config (%s): extra_per_block_abs_pos_emb_type '%s' (only learnable)",
                       network, extra_type);
    /* the official class never builds this embedder (its builder is not
     * called), so no checkpoint can hold it */
    if (!st && augment_sigma_emb)
        st = orr_error(ORR_ERR_UNSUPPORTED, "dit config (%s): add_augment_sigma_embedding is not supported", network);
    if (!st && cfg->video_conditioned && cfg->in_channels < 2)
        st = orr_error(ORR_ERR_FORMAT, "dit config (%s): in_channels %d leaves no latent channel beside the mask",
                       network, cfg->in_channels);
    if (!st && (orr_dit_len_t(cfg) < 1 || orr_dit_len_h(cfg) < 1 || orr_dit_len_w(cfg) < 1))
        st = orr_error(ORR_ERR_FORMAT, "dit config (%s): max sizes %dx%dx%d are smaller than one patch", network,
                       cfg->max_frames, cfg->max_img_h, cfg->max_img_w);
    orr_json_free(doc);
    return st;
}
