/* tokenizer_config.c — the official tokenizer constructor arguments
 * (tokenizer/networks/configs.py, passed as **kwargs) read from JSON, with
 * the defaults the official constructors apply when a key is absent. */
#include <string.h>

#include "../json.h"
#include "tokenizer.h"

typedef struct reader {
    const orr_json_value *root;
    orr_status st;
} reader;

static bool fail(reader *r, orr_status st) {
    if (!r->st) r->st = st;
    return false;
}

/* An integer key: the value, `def` when absent and def_ok, else an error. */
static int get_int(reader *r, const char *key, bool required, int def, int min, int max) {
    if (r->st) return def;
    const orr_json_value *v = orr_json_get(r->root, key);
    if (!v) {
        if (required) fail(r, orr_error(ORR_ERR_FORMAT, "tokenizer config: missing key '%s'", key));
        return def;
    }
    int64_t n;
    if (!orr_json_int64(v, &n)) {
        fail(r, orr_error(ORR_ERR_FORMAT, "tokenizer config: '%s' must be an integer, got a %s", key,
                          orr_json_type_name(orr_json_type_of(v))));
        return def;
    }
    if (n < min || n > max) {
        fail(r, orr_error(ORR_ERR_FORMAT, "tokenizer config: '%s' is %lld, outside [%d, %d]", key, (long long)n, min,
                          max));
        return def;
    }
    return (int)n;
}

static int get_int_list(reader *r, const char *key, int *out, int cap, int min, int max) {
    if (r->st) return 0;
    const orr_json_value *v = orr_json_get(r->root, key);
    if (!v || orr_json_type_of(v) != ORR_JSON_ARRAY) {
        fail(r, orr_error(ORR_ERR_FORMAT, "tokenizer config: '%s' must be a list of integers", key));
        return 0;
    }
    size_t n = orr_json_length(v);
    if (n > (size_t)cap) {
        fail(r, orr_error(ORR_ERR_UNSUPPORTED, "tokenizer config: '%s' has %zu entries, at most %d are supported", key,
                          n, cap));
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t x;
        if (!orr_json_int64(orr_json_at(v, i), &x) || x < min || x > max) {
            fail(r, orr_error(ORR_ERR_FORMAT, "tokenizer config: '%s'[%zu] must be an integer in [%d, %d]", key, i, min,
                              max));
            return 0;
        }
        out[i] = (int)x;
    }
    return (int)n;
}

/* A string key that must be one of the values this implementation runs. */
static void check_string(reader *r, const char *key, const char *def, const char *want) {
    if (r->st) return;
    const orr_json_value *v = orr_json_get(r->root, key);
    const char *s = v ? orr_json_string(v, NULL) : def;
    if (v && !s) {
        fail(r, orr_error(ORR_ERR_FORMAT, "tokenizer config: '%s' must be a string", key));
        return;
    }
    if (strcmp(s, want) != 0)
        fail(r, orr_error(ORR_ERR_UNSUPPORTED, "tokenizer config: %s \"%s\"%s is not supported (only \"%s\")", key, s,
                          v ? "" : " (the official default)", want));
}

static int log2_exact(int x) {
    int n = 0;
    while ((1 << n) < x) n++;
    return (1 << n) == x ? n : -1;
}

static void check_pow2(reader *r, const char *key, int x) {
    if (!r->st && log2_exact(x) < 0)
        fail(r, orr_error(ORR_ERR_FORMAT, "tokenizer config: '%s' is %d, not a power of two", key, x));
}

static orr_status parse_root(tok_config *c, const orr_json_value *root) {
    reader r = {root, ORR_OK};
    if (orr_json_type_of(root) != ORR_JSON_OBJECT)
        return orr_error(ORR_ERR_FORMAT, "tokenizer config: expected a JSON object");

    const orr_json_value *name = orr_json_get(root, "name");
    const char *s = name ? orr_json_string(name, NULL) : NULL;
    if (!s) return orr_error(ORR_ERR_FORMAT, "tokenizer config: missing 'name' (\"CV\", \"DV\", \"CI\" or \"DI\")");
    static const char *names[] = {"CV", "DV", "CI", "DI"};
    int kind = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) kind = i;
    if (kind < 0)
        return orr_error(ORR_ERR_UNSUPPORTED, "tokenizer config: name \"%s\" is not one of CV, DV, CI, DI", s);
    c->kind = (orr_tokenizer_kind)kind;
    c->video = c->kind == ORR_TOKENIZER_CV || c->kind == ORR_TOKENIZER_DV;
    c->discrete = c->kind == ORR_TOKENIZER_DV || c->kind == ORR_TOKENIZER_DI;

    const int big = 1 << 16;
    c->in_channels = get_int(&r, "in_channels", true, 3, 1, big);
    c->out_channels = get_int(&r, "out_channels", true, 3, 1, big);
    c->channels = get_int(&r, "channels", true, 0, 1, big);
    c->n_levels = get_int_list(&r, "channels_mult", c->channels_mult, TOK_MAX_LEVELS, 1, big);
    if (!r.st && c->n_levels == 0) fail(&r, orr_error(ORR_ERR_FORMAT, "tokenizer config: 'channels_mult' is empty"));
    c->num_res_blocks = get_int(&r, "num_res_blocks", true, 0, 1, TOK_MAX_BLOCKS - 1);
    c->n_attn_res = get_int_list(&r, "attn_resolutions", c->attn_resolutions, TOK_MAX_ATTN_RES, 0, 1 << 30);
    c->resolution = get_int(&r, "resolution", true, 0, 1, 1 << 30);
    c->patch_size = get_int(&r, "patch_size", false, 1, 1, 64);
    check_pow2(&r, "patch_size", c->patch_size);
    check_string(&r, "patch_method", "rearrange", "haar");
    c->z_channels = get_int(&r, "z_channels", true, 0, 1, big);
    /* DiscreteImageTokenizer takes no z_factor: its encoder makes z_channels. */
    c->z_factor = c->kind == ORR_TOKENIZER_DI ? 1 : get_int(&r, "z_factor", true, 1, 1, 64);
    c->latent_channels =
        c->discrete ? get_int(&r, "embedding_dim", true, 0, 1, big) : get_int(&r, "latent_channels", true, 0, 1, big);
    c->spatial_compression = get_int(&r, "spatial_compression", !c->video, 16, 1, 1 << 12);
    check_pow2(&r, "spatial_compression", c->spatial_compression);
    c->temporal_compression = c->video ? get_int(&r, "temporal_compression", false, 8, 1, 1 << 12) : 1;
    check_pow2(&r, "temporal_compression", c->temporal_compression);
    if (c->video) {
        c->legacy_mode = false;
        const orr_json_value *lm = orr_json_get(root, "legacy_mode");
        if (lm && orr_json_type_of(lm) != ORR_JSON_BOOL)
            fail(&r, orr_error(ORR_ERR_FORMAT, "tokenizer config: 'legacy_mode' must be true or false"));
        c->legacy_mode = lm && orr_json_bool(lm);
        check_string(&r, "encoder", "BASE", "FACTORIZED");
        check_string(&r, "decoder", "BASE", "FACTORIZED");
    } else {
        check_string(&r, "encoder", "Default", "Default");
        check_string(&r, "decoder", "Default", "Default");
    }
    if (c->discrete) {
        check_string(&r, "quantizer", "RESFSQ", "FSQ");
        c->n_fsq = get_int_list(&r, "levels", c->levels, TOK_MAX_FSQ, 2, 1 << 12);
        if (!r.st && c->n_fsq != c->latent_channels)
            fail(&r, orr_error(ORR_ERR_FORMAT, "tokenizer config: FSQ has %d levels but embedding_dim is %d", c->n_fsq,
                               c->latent_channels));
    } else {
        check_string(&r, "formulation", "AE", "AE");
        if (!r.st && c->z_factor != 1)
            fail(&r, orr_error(ORR_ERR_UNSUPPORTED,
                               "tokenizer config: z_factor %d with the AE formulation leaves the "
                               "latent wider than the decoder takes (only 1)",
                               c->z_factor));
    }
    if (r.st) return r.st;

    int lp = log2_exact(c->patch_size);
    c->spatial_steps = log2_exact(c->spatial_compression) - lp;
    c->temporal_steps = c->video ? log2_exact(c->temporal_compression) - lp : 0;
    if (c->spatial_steps < 0 || c->spatial_steps > c->n_levels)
        return orr_error(ORR_ERR_FORMAT,
                         "tokenizer config: spatial_compression %d with patch_size %d needs %d downsamplings; "
                         "the %d levels allow 0..%d",
                         c->spatial_compression, c->patch_size, c->spatial_steps, c->n_levels, c->n_levels);
    if (c->video && (c->temporal_steps < 0 || c->temporal_steps > c->n_levels))
        return orr_error(ORR_ERR_FORMAT,
                         "tokenizer config: temporal_compression %d with patch_size %d needs %d downsamplings; "
                         "the %d levels allow 0..%d",
                         c->temporal_compression, c->patch_size, c->temporal_steps, c->n_levels, c->n_levels);
    /* The encoder resamples below the last level only. */
    if (c->video && (c->spatial_steps > c->n_levels - 1 || c->temporal_steps > c->n_levels - 1))
        return orr_error(ORR_ERR_FORMAT, "tokenizer config: %d levels resample at most %d times", c->n_levels,
                         c->n_levels - 1);
    return ORR_OK;
}

orr_status tok_config_parse(tok_config *cfg, const char *json) {
    memset(cfg, 0, sizeof *cfg);
    if (!json) return orr_error(ORR_ERR_ARGUMENT, "tokenizer config: NULL");
    orr_json *doc = NULL;
    orr_status st = orr_json_parse(json, strlen(json), NULL, &doc);
    if (st) return orr_error_context(st, "tokenizer config: ");
    st = parse_root(cfg, orr_json_root(doc));
    orr_json_free(doc);
    return st;
}

bool tok_config_attn_at(const tok_config *cfg, int64_t curr_res) {
    for (int i = 0; i < cfg->n_attn_res; i++)
        if (cfg->attn_resolutions[i] == curr_res) return true;
    return false;
}

void tok_config_up_flags(const tok_config *cfg, int level, bool *spatial, bool *temporal) {
    const int n = cfg->n_levels, ns = cfg->spatial_steps, nt = cfg->temporal_steps;
    if (!cfg->video) {
        *temporal = false;
        *spatial = level >= n - ns;
        return;
    }
    if (level == 0) {
        *spatial = *temporal = false;
        return;
    }
    const int r = n - 1 - level;
    *temporal = cfg->legacy_mode ? r < nt : (0 < r && r < nt + 1);
    *spatial = *temporal || (r < ns && ns > nt);
}
