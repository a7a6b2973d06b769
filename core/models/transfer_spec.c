/* transfer_spec.c — the official Transfer1 control spec (the JSON of
 * transfer.py --controlnet_specs; inference_utils.py load_controlnet_specs
 * and validate_controlnet_specs), read as-is and written back.
 *
 * Top-level keys that name a modality hold its control (an object); every
 * other key is an argument of transfer.py (prompt, seed, sigma_max, ...;
 * unknown ones are kept, as the official keeps them), and an object under
 * any other key is an error. The spec keeps every member in document order
 * as canonical JSON text (numbers as written), so that writing it back
 * gives the same members in the same order; controls and documented
 * arguments are type-checked on the way in, errors naming the key. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transfer.h"

/* ---- a growing string ------------------------------------------------------------ */

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool failed;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t len) {
    if (b->failed) return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + len + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_quote(sbuf *b, const char *s, size_t len) {
    size_t need = orr_json_quote(NULL, 0, s, len);
    char *q = malloc(need + 1);
    if (!q) {
        b->failed = true;
        return;
    }
    orr_json_quote(q, need + 1, s, len);
    sb_add(b, q, need);
    free(q);
}

/* ---- canonical JSON of a parsed value -------------------------------------------- */

/* The text of the number at `offset` of the source, as written. */
static size_t number_span(const char *text, size_t offset) {
    size_t e = offset;
    while (strchr("+-0123456789.eE", text[e]) && text[e]) e++;
    return e - offset;
}

static void write_value(sbuf *b, const orr_json_value *v, const char *text) {
    switch (orr_json_type_of(v)) {
    case ORR_JSON_NULL: sb_str(b, "null"); break;
    case ORR_JSON_BOOL: sb_str(b, orr_json_bool(v) ? "true" : "false"); break;
    case ORR_JSON_NUMBER: sb_add(b, text + orr_json_offset(v), number_span(text, orr_json_offset(v))); break;
    case ORR_JSON_STRING: {
        size_t len;
        const char *s = orr_json_string(v, &len);
        sb_quote(b, s, len);
        break;
    }
    case ORR_JSON_ARRAY:
        sb_str(b, "[");
        for (size_t i = 0; i < orr_json_length(v); i++) {
            if (i) sb_str(b, ", ");
            write_value(b, orr_json_at(v, i), text);
        }
        sb_str(b, "]");
        break;
    case ORR_JSON_OBJECT:
        sb_str(b, "{");
        for (size_t i = 0; i < orr_json_length(v); i++) {
            size_t len;
            const char *k = orr_json_key_at(v, i, &len);
            if (i) sb_str(b, ", ");
            sb_quote(b, k, len);
            sb_str(b, ": ");
            write_value(b, orr_json_value_at(v, i), text);
        }
        sb_str(b, "}");
        break;
    }
}

static char *canonical(const orr_json_value *v, const char *text) {
    sbuf b = {0};
    write_value(&b, v, text);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- the spec ------------------------------------------------------------------------ */

typedef struct member {
    char *key, *json;
} member;

typedef struct members {
    member *v;
    int n;
} members;

/* Decoded strings handed out by orr_transfer_spec_control, per modality. */
typedef struct control_cache {
    char *input_control, *weight_path, *weight_prompt, *input_prompt, *ckpt_path;
    char **inputs;
    int n_inputs;
} control_cache;

struct orr_transfer_spec {
    members top;
    char name[128];
    control_cache cache[ORR_CONTROL_KIND_COUNT];
    char *arg_strings[3]; /* decoded prompt, negative_prompt, input_video_path */
};

static void members_clear(members *m) {
    for (int i = 0; i < m->n; i++) free(m->v[i].key), free(m->v[i].json);
    free(m->v);
    m->v = NULL, m->n = 0;
}

static int members_find(const members *m, const char *key) {
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].key, key)) return i;
    return -1;
}

/* Sets key to json (taken over), in place or appended. */
static orr_status members_set(members *m, const char *key, char *json) {
    int i = members_find(m, key);
    if (i >= 0) {
        free(m->v[i].json);
        m->v[i].json = json;
        return ORR_OK;
    }
    member *v = realloc(m->v, (size_t)(m->n + 1) * sizeof *v);
    char *k = strdup(key);
    if (!v || !k) {
        if (v) m->v = v;
        free(k), free(json);
        return orr_error(ORR_ERR_MEMORY, "transfer spec: out of host memory");
    }
    m->v = v;
    m->v[m->n++] = (member){k, json};
    return ORR_OK;
}

static void members_remove(members *m, int i) {
    free(m->v[i].key), free(m->v[i].json);
    memmove(m->v + i, m->v + i + 1, (size_t)(m->n - i - 1) * sizeof *m->v);
    m->n--;
}

static void cache_clear(control_cache *c) {
    free(c->input_control), free(c->weight_path), free(c->weight_prompt), free(c->input_prompt), free(c->ckpt_path);
    for (int i = 0; c->inputs && i < c->n_inputs; i++) free(c->inputs[i]);
    free(c->inputs);
    memset(c, 0, sizeof *c);
}

void orr_transfer_spec_free(orr_transfer_spec *s) {
    if (!s) return;
    members_clear(&s->top);
    for (int k = 0; k < ORR_CONTROL_KIND_COUNT; k++) cache_clear(&s->cache[k]);
    for (int i = 0; i < 3; i++) free(s->arg_strings[i]);
    free(s);
}

orr_status orr_transfer_spec_create(orr_transfer_spec **out) {
    if (!out) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return orr_error(ORR_ERR_MEMORY, "transfer spec: out of host memory");
    snprintf((*out)->name, sizeof(*out)->name, "%s", "spec");
    return ORR_OK;
}

/* ---- checks ------------------------------------------------------------------------- */

static orr_status spec_error(const orr_transfer_spec *s, orr_status st, const char *fmt, ...) ORR_PRINTF(3, 4);

static orr_status spec_error(const orr_transfer_spec *s, orr_status st, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return orr_error(st, "transfer spec (%s): %s", s->name, msg);
}

static bool kind_of(const char *key, orr_control_kind *kind) {
    for (int k = 0; k < ORR_CONTROL_KIND_COUNT; k++)
        if (!strcmp(key, orr_control_kind_name((orr_control_kind)k))) {
            *kind = (orr_control_kind)k;
            return true;
        }
    return false;
}

/* Python's float() of a string: the whole string, spaces around allowed. */
static bool parse_float(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s) return false;
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    *out = v;
    return !*end;
}

static bool ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

/* control_weight: a number >= 0, a numeric string, or a .pt map's path. */
static orr_status check_weight(const orr_transfer_spec *s, const char *kind, const orr_json_value *v) {
    orr_json_type t = orr_json_type_of(v);
    double x;
    if (t == ORR_JSON_STRING && ends_with(orr_json_string(v, NULL), ".pt")) return ORR_OK;
    if (t == ORR_JSON_NUMBER)
        x = orr_json_number(v);
    else if (t != ORR_JSON_STRING || !parse_float(orr_json_string(v, NULL), &x))
        return spec_error(s, ORR_ERR_FORMAT,
                          "'%s'.'control_weight' must be a non-negative number or a path to a .pt weight map", kind);
    if (!(x >= 0) || isinf(x))
        return spec_error(s, ORR_ERR_FORMAT, "'%s'.'control_weight' is %g; it must be a non-negative number", kind, x);
    return ORR_OK;
}

static orr_status check_control(const orr_transfer_spec *s, const char *kind, const orr_json_value *v) {
    if (orr_json_type_of(v) != ORR_JSON_OBJECT)
        return spec_error(s, ORR_ERR_FORMAT, "'%s' is a %s; a control is an object", kind,
                          orr_json_type_name(orr_json_type_of(v)));
    const orr_json_value *ic = orr_json_get(v, "input_control");
    if (ic) {
        bool ok = orr_json_type_of(ic) == ORR_JSON_STRING;
        if (orr_json_type_of(ic) == ORR_JSON_ARRAY) {
            ok = orr_json_length(ic) > 0;
            for (size_t i = 0; ok && i < orr_json_length(ic); i++)
                ok = orr_json_type_of(orr_json_at(ic, i)) == ORR_JSON_STRING;
        }
        if (!ok) return spec_error(s, ORR_ERR_FORMAT, "'%s'.'input_control' must be a path or a list of paths", kind);
    }
    const orr_json_value *w = orr_json_get(v, "control_weight");
    orr_status st = w ? check_weight(s, kind, w) : ORR_OK;
    static const char *strings[] = {"control_weight_prompt", "input_control_prompt", "ckpt_path"};
    for (int i = 0; i < 3 && !st; i++) {
        const orr_json_value *e = orr_json_get(v, strings[i]);
        if (e && orr_json_type_of(e) != ORR_JSON_STRING)
            st = spec_error(s, ORR_ERR_FORMAT, "'%s'.'%s' must be a string", kind, strings[i]);
    }
    return st;
}

/* The arguments of transfer.py and their types. */
typedef enum arg_type { ARG_STRING, ARG_INT, ARG_NUMBER, ARG_BOOL, ARG_PRESET, ARG_REGIONS } arg_type;
static const struct {
    const char *key;
    arg_type type;
} known_args[] = {
    {"prompt", ARG_STRING},
    {"negative_prompt", ARG_STRING},
    {"input_video_path", ARG_STRING},
    {"num_input_frames", ARG_INT},
    {"sigma_max", ARG_NUMBER},
    {"blur_strength", ARG_PRESET},
    {"canny_threshold", ARG_PRESET},
    {"is_av_sample", ARG_BOOL},
    {"checkpoint_dir", ARG_STRING},
    {"tokenizer_dir", ARG_STRING},
    {"video_save_name", ARG_STRING},
    {"video_save_folder", ARG_STRING},
    {"batch_input_path", ARG_STRING},
    {"batch_size", ARG_INT},
    {"num_steps", ARG_INT},
    {"guidance", ARG_NUMBER},
    {"fps", ARG_NUMBER},
    {"seed", ARG_INT},
    {"num_gpus", ARG_INT},
    {"offload_diffusion_transformer", ARG_BOOL},
    {"offload_text_encoder_model", ARG_BOOL},
    {"offload_guardrail_models", ARG_BOOL},
    {"upsample_prompt", ARG_BOOL},
    {"offload_prompt_upsampler", ARG_BOOL},
    {"use_distilled", ARG_BOOL},
    {"save_input_noise", ARG_BOOL},
    {"benchmark", ARG_BOOL},
    {"regional_prompts", ARG_REGIONS},
};

static orr_status check_arg(const orr_transfer_spec *s, const char *key, const orr_json_value *v) {
    orr_json_type t = orr_json_type_of(v);
    if (t == ORR_JSON_OBJECT)
        return spec_error(
            s, ORR_ERR_NOT_FOUND,
            "'%s' is an object but not a modality (vis, edge, depth, seg, keypoint, upscale, hdmap, lidar)", key);
    for (size_t i = 0; i < sizeof known_args / sizeof known_args[0]; i++) {
        if (strcmp(key, known_args[i].key)) continue;
        int64_t n;
        orr_control_preset p;
        switch (known_args[i].type) {
        case ARG_STRING:
            if (t != ORR_JSON_STRING) return spec_error(s, ORR_ERR_FORMAT, "'%s' must be a string", key);
            break;
        case ARG_INT:
            if (!orr_json_int64(v, &n)) return spec_error(s, ORR_ERR_FORMAT, "'%s' must be an integer", key);
            if (!strcmp(key, "num_input_frames") && n != 1)
                return spec_error(s, ORR_ERR_FORMAT, "'num_input_frames' is %lld; the official pipeline takes 1",
                                  (long long)n);
            if (!strcmp(key, "num_steps") && (n < 1 || n > 100000))
                return spec_error(s, ORR_ERR_FORMAT, "'num_steps' is %lld; it must be >= 1", (long long)n);
            break;
        case ARG_NUMBER:
            if (t != ORR_JSON_NUMBER || !isfinite(orr_json_number(v)))
                return spec_error(s, ORR_ERR_FORMAT, "'%s' must be a number", key);
            if ((!strcmp(key, "sigma_max") || !strcmp(key, "fps")) && !(orr_json_number(v) > 0))
                return spec_error(s, ORR_ERR_FORMAT, "'%s' is %g; it must be > 0", key, orr_json_number(v));
            break;
        case ARG_BOOL:
            if (t != ORR_JSON_BOOL) return spec_error(s, ORR_ERR_FORMAT, "'%s' must be true or false", key);
            break;
        case ARG_PRESET:
            if (t != ORR_JSON_STRING || orr_control_preset_from_name(orr_json_string(v, NULL), &p))
                return spec_error(s, ORR_ERR_FORMAT, "'%s' must be one of very_low, low, medium, high, very_high", key);
            break;
        case ARG_REGIONS:
            if (t != ORR_JSON_ARRAY) return spec_error(s, ORR_ERR_FORMAT, "'regional_prompts' must be a list");
            for (size_t r = 0; r < orr_json_length(v); r++) {
                const orr_json_value *e = orr_json_at(v, r), *pr = orr_json_get(e, "prompt");
                if (orr_json_type_of(e) != ORR_JSON_OBJECT || !pr || orr_json_type_of(pr) != ORR_JSON_STRING)
                    return spec_error(s, ORR_ERR_FORMAT, "'regional_prompts'[%zu] must be an object with a 'prompt'",
                                      r);
                if (!orr_json_get(e, "region_definitions_path") && !orr_json_get(e, "mask_prompt"))
                    return spec_error(s, ORR_ERR_FORMAT,
                                      "'regional_prompts'[%zu] needs 'region_definitions_path' or 'mask_prompt'", r);
            }
            break;
        }
    }
    return ORR_OK;
}

/* ---- reading ----------------------------------------------------------------------------- */

orr_status orr_transfer_spec_parse(orr_transfer_spec **out, const char *json, size_t size, const char *name) {
    if (!out || !json) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_parse: NULL argument");
    *out = NULL;
    orr_transfer_spec *s;
    orr_status st = orr_transfer_spec_create(&s);
    if (st) return st;
    if (name) snprintf(s->name, sizeof s->name, "%s", name);
    orr_json *doc;
    if ((st = orr_json_parse(json, size, NULL, &doc))) {
        orr_transfer_spec_free(s);
        return orr_error_context(st, "transfer spec (%s): ", name ? name : "spec");
    }
    const orr_json_value *root = orr_json_root(doc);
    if (orr_json_type_of(root) != ORR_JSON_OBJECT)
        st = spec_error(s, ORR_ERR_FORMAT, "expected a JSON object, found a %s",
                        orr_json_type_name(orr_json_type_of(root)));
    for (size_t i = 0; !st && i < orr_json_length(root); i++) {
        const char *key = orr_json_key_at(root, i, NULL);
        const orr_json_value *v = orr_json_value_at(root, i);
        orr_control_kind kind;
        st = kind_of(key, &kind) ? check_control(s, key, v) : check_arg(s, key, v);
        char *text = st ? NULL : canonical(v, json);
        if (!st && !text) st = orr_error(ORR_ERR_MEMORY, "transfer spec: out of host memory");
        if (!st) st = members_set(&s->top, key, text);
    }
    orr_json_free(doc);
    if (st) {
        orr_transfer_spec_free(s);
        return st;
    }
    *out = s;
    return ORR_OK;
}

orr_status orr_transfer_spec_read(orr_transfer_spec **out, const char *path) {
    if (!out || !path) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_read: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return orr_error(ORR_ERR_IO, "transfer spec: cannot open %s: %s", path, strerror(errno));
    sbuf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sb_add(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad || b.failed) {
        free(b.s);
        return orr_error(bad ? ORR_ERR_IO : ORR_ERR_MEMORY, "transfer spec: cannot read %s", path);
    }
    const char *base = strrchr(path, '/');
    orr_status st = orr_transfer_spec_parse(out, b.s ? b.s : "", b.n, base ? base + 1 : path);
    free(b.s);
    return st;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* One value, objects one member per line at `indent` (the controls). */
static void write_pretty(sbuf *b, const char *json, int indent) {
    orr_json *doc;
    if (orr_json_parse(json, strlen(json), NULL, &doc)) {
        b->failed = true;
        return;
    }
    const orr_json_value *v = orr_json_root(doc);
    if (orr_json_type_of(v) != ORR_JSON_OBJECT || !orr_json_length(v)) {
        sb_str(b, json);
    } else {
        sb_str(b, "{\n");
        for (size_t i = 0; i < orr_json_length(v); i++) {
            size_t len;
            const char *k = orr_json_key_at(v, i, &len);
            for (int s = 0; s < indent + 2; s++) sb_str(b, " ");
            sb_quote(b, k, len);
            sb_str(b, ": ");
            write_value(b, orr_json_value_at(v, i), json);
            sb_str(b, i + 1 < orr_json_length(v) ? ",\n" : "\n");
        }
        for (int s = 0; s < indent; s++) sb_str(b, " ");
        sb_str(b, "}");
    }
    orr_json_free(doc);
}

static orr_status to_text(const orr_transfer_spec *s, sbuf *b) {
    sb_str(b, "{\n");
    for (int i = 0; i < s->top.n; i++) {
        sb_str(b, "  ");
        sb_quote(b, s->top.v[i].key, strlen(s->top.v[i].key));
        sb_str(b, ": ");
        write_pretty(b, s->top.v[i].json, 2);
        sb_str(b, i + 1 < s->top.n ? ",\n" : "\n");
    }
    sb_str(b, "}\n");
    return b->failed ? orr_error(ORR_ERR_MEMORY, "transfer spec: out of host memory") : ORR_OK;
}

orr_status orr_transfer_spec_write(const orr_transfer_spec *s, char *buf, size_t cap, size_t *length) {
    if (!s) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_write: spec is NULL");
    sbuf b = {0};
    orr_status st = to_text(s, &b);
    if (!st) {
        if (length) *length = b.n;
        if (buf && cap) {
            size_t n = b.n < cap - 1 ? b.n : cap - 1;
            memcpy(buf, b.s, n);
            buf[n] = '\0';
        }
    }
    free(b.s);
    return st;
}

orr_status orr_transfer_spec_save(const orr_transfer_spec *s, const char *path) {
    if (!s || !path) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_save: NULL argument");
    sbuf b = {0};
    orr_status st = to_text(s, &b);
    if (st) {
        free(b.s);
        return st;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(b.s, 1, b.n, f) == b.n;
    if (f && fclose(f)) ok = false;
    free(b.s);
    if (!ok || rename(tmp, path)) {
        remove(tmp);
        return orr_error(ORR_ERR_IO, "transfer spec: cannot write %s: %s", path, strerror(errno));
    }
    return ORR_OK;
}

/* ---- arguments ---------------------------------------------------------------------------------- */

const char *orr_transfer_spec_get(const orr_transfer_spec *s, const char *key) {
    orr_control_kind kind;
    if (!s || !key || kind_of(key, &kind)) return NULL;
    int i = members_find(&s->top, key);
    return i >= 0 ? s->top.v[i].json : NULL;
}

orr_status orr_transfer_spec_set(orr_transfer_spec *s, const char *key, const char *json) {
    orr_control_kind kind;
    if (!s || !key) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_set: NULL argument");
    if (kind_of(key, &kind))
        return spec_error(s, ORR_ERR_ARGUMENT, "'%s' is a control: use orr_transfer_spec_set_control", key);
    if (!json) {
        int i = members_find(&s->top, key);
        if (i >= 0) members_remove(&s->top, i);
        return ORR_OK;
    }
    orr_json *doc;
    orr_status st = orr_json_parse(json, strlen(json), NULL, &doc);
    if (st) return orr_error_context(st, "transfer spec (%s): '%s': ", s->name, key);
    st = check_arg(s, key, orr_json_root(doc));
    char *text = st ? NULL : canonical(orr_json_root(doc), json);
    if (!st && !text) st = orr_error(ORR_ERR_MEMORY, "transfer spec: out of host memory");
    orr_json_free(doc);
    return st ? st : members_set(&s->top, key, text);
}

static const orr_json_value *arg_value(const orr_transfer_spec *s, const char *key, orr_json **doc) {
    const char *json = orr_transfer_spec_get(s, key);
    *doc = NULL;
    if (!json || orr_json_parse(json, strlen(json), NULL, doc)) return NULL;
    return orr_json_root(*doc);
}

orr_status orr_transfer_spec_args(orr_transfer_spec *s, orr_transfer_args *out) {
    if (!s || !out) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_args: NULL argument");
    memset(out, 0, sizeof *out);
    out->sigma_max = 70.0;
    out->guidance = 5.0;
    out->fps = 24.0;
    out->seed = 1;
    out->num_steps = 35;
    out->num_input_frames = 1;
    out->blur_strength = out->canny_threshold = ORR_PRESET_MEDIUM;
    int64_t n;
    orr_json *doc;
    const orr_json_value *v;
    if ((v = arg_value(s, "sigma_max", &doc))) out->sigma_max = orr_json_number(v);
    orr_json_free(doc);
    if ((v = arg_value(s, "guidance", &doc))) out->guidance = orr_json_number(v);
    orr_json_free(doc);
    if ((v = arg_value(s, "fps", &doc))) out->fps = orr_json_number(v);
    orr_json_free(doc);
    if ((v = arg_value(s, "seed", &doc)) && orr_json_int64(v, &n)) out->seed = n;
    orr_json_free(doc);
    if ((v = arg_value(s, "num_steps", &doc)) && orr_json_int64(v, &n)) out->num_steps = (int)n;
    orr_json_free(doc);
    if ((v = arg_value(s, "num_input_frames", &doc)) && orr_json_int64(v, &n)) out->num_input_frames = (int)n;
    orr_json_free(doc);
    if ((v = arg_value(s, "blur_strength", &doc)))
        orr_control_preset_from_name(orr_json_string(v, NULL), &out->blur_strength);
    orr_json_free(doc);
    if ((v = arg_value(s, "canny_threshold", &doc)))
        orr_control_preset_from_name(orr_json_string(v, NULL), &out->canny_threshold);
    orr_json_free(doc);
    if ((v = arg_value(s, "is_av_sample", &doc))) out->is_av_sample = orr_json_bool(v);
    orr_json_free(doc);
    if ((v = arg_value(s, "use_distilled", &doc))) out->use_distilled = orr_json_bool(v);
    orr_json_free(doc);
    static const char *keys[3] = {"prompt", "negative_prompt", "input_video_path"};
    const char **dst[3] = {&out->prompt, &out->negative_prompt, &out->input_video_path};
    for (int i = 0; i < 3; i++) {
        free(s->arg_strings[i]);
        s->arg_strings[i] = NULL;
        if ((v = arg_value(s, keys[i], &doc)) && !(s->arg_strings[i] = strdup(orr_json_string(v, NULL)))) {
            orr_json_free(doc);
            return orr_error(ORR_ERR_MEMORY, "transfer spec: out of host memory");
        }
        orr_json_free(doc);
        *dst[i] = s->arg_strings[i];
    }
    return ORR_OK;
}

/* ---- controls ------------------------------------------------------------------------------------ */

int orr_transfer_spec_controls(const orr_transfer_spec *s) {
    orr_control_kind kind;
    int n = 0;
    for (int i = 0; s && i < s->top.n; i++) n += kind_of(s->top.v[i].key, &kind);
    return n;
}

static char *dup_string(const orr_json_value *v) {
    const char *str = v ? orr_json_string(v, NULL) : NULL;
    return str ? strdup(str) : NULL;
}

/* Decodes member i (a control) into out, its strings in the cache. */
static orr_status decode_control(orr_transfer_spec *s, int i, orr_control_spec *out) {
    orr_control_kind kind = ORR_CONTROL_VIS;
    kind_of(s->top.v[i].key, &kind);
    control_cache *c = &s->cache[kind];
    cache_clear(c);
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->control_weight = 0.5; /* validate_controlnet_specs's default */
    orr_json *doc;
    const char *json = s->top.v[i].json;
    orr_status st = orr_json_parse(json, strlen(json), NULL, &doc);
    if (st) return st;
    const orr_json_value *v = orr_json_root(doc), *ic = orr_json_get(v, "input_control"),
                         *w = orr_json_get(v, "control_weight");
    if (ic && orr_json_type_of(ic) == ORR_JSON_ARRAY) {
        c->n_inputs = (int)orr_json_length(ic);
        if (!(c->inputs = calloc((size_t)c->n_inputs, sizeof *c->inputs))) st = ORR_ERR_MEMORY;
        for (int k = 0; !st && k < c->n_inputs; k++)
            if (!(c->inputs[k] = dup_string(orr_json_at(ic, (size_t)k)))) st = ORR_ERR_MEMORY;
        if (!st) c->input_control = strdup(c->inputs[0]);
    } else if (ic) {
        c->input_control = dup_string(ic);
        c->n_inputs = 1;
    }
    if (w && orr_json_type_of(w) == ORR_JSON_NUMBER) {
        out->control_weight = orr_json_number(w);
    } else if (w) {
        const char *str = orr_json_string(w, NULL);
        if (!parse_float(str, &out->control_weight)) c->weight_path = strdup(str);
    }
    out->has_control_weight = w != NULL;
    c->weight_prompt = dup_string(orr_json_get(v, "control_weight_prompt"));
    c->input_prompt = dup_string(orr_json_get(v, "input_control_prompt"));
    c->ckpt_path = dup_string(orr_json_get(v, "ckpt_path"));
    orr_json_free(doc);
    if (st) return orr_error(ORR_ERR_MEMORY, "transfer spec: out of host memory");
    out->input_control = c->input_control;
    out->n_input_controls = c->n_inputs;
    out->control_weight_path = c->weight_path;
    out->control_weight_prompt = c->weight_prompt;
    out->input_control_prompt = c->input_prompt;
    out->ckpt_path = c->ckpt_path;
    return ORR_OK;
}

orr_status orr_transfer_spec_control(orr_transfer_spec *s, int index, orr_control_spec *out) {
    if (!s || !out) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_control: NULL argument");
    orr_control_kind kind;
    for (int i = 0, n = 0; i < s->top.n; i++)
        if (kind_of(s->top.v[i].key, &kind) && n++ == index) return decode_control(s, i, out);
    return orr_error(ORR_ERR_NOT_FOUND, "transfer spec (%s): no control %d (it has %d)", s->name, index,
                     orr_transfer_spec_controls(s));
}

orr_status orr_transfer_spec_find(orr_transfer_spec *s, orr_control_kind kind, orr_control_spec *out) {
    if (!s || !out || !orr_control_kind_name(kind))
        return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_find: bad argument");
    int i = members_find(&s->top, orr_control_kind_name(kind));
    if (i < 0)
        return orr_error(ORR_ERR_NOT_FOUND, "transfer spec (%s): no '%s' control", s->name,
                         orr_control_kind_name(kind));
    return decode_control(s, i, out);
}

const char *orr_transfer_spec_input_control(orr_transfer_spec *s, orr_control_kind kind, int k) {
    orr_control_spec c;
    if (!s || orr_transfer_spec_find(s, kind, &c) || k < 0 || k >= c.n_input_controls) return NULL;
    control_cache *cache = &s->cache[kind];
    return cache->inputs ? cache->inputs[k] : cache->input_control;
}

/* A number as the shortest text that reads back the same. */
static void number_text(char *buf, size_t size, double v) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".eEn")) strncat(buf, ".0", size - strlen(buf) - 1);
}

orr_status orr_transfer_spec_set_control(orr_transfer_spec *s, const orr_control_spec *c) {
    if (!s || !c) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_set_control: NULL argument");
    const char *kind = orr_control_kind_name(c->kind);
    if (!kind) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_set_control: kind %d is invalid", c->kind);
    /* the members the struct holds, over the other members already there */
    sbuf b = {0};
    sb_str(&b, "{");
    bool first = true;
    const char *known[] = {"input_control", "control_weight", "control_weight_prompt", "input_control_prompt",
                           "ckpt_path"};
    int at = members_find(&s->top, kind);
    orr_json *old = NULL;
    if (at >= 0 && orr_json_parse(s->top.v[at].json, strlen(s->top.v[at].json), NULL, &old)) old = NULL;
    const orr_json_value *ov = old ? orr_json_root(old) : NULL;
    for (size_t i = 0; i < orr_json_length(ov); i++) {
        const char *k = orr_json_key_at(ov, i, NULL);
        bool mine = false;
        for (int j = 0; j < 5; j++) mine |= !strcmp(k, known[j]);
        /* a list of inputs stays when the first one is unchanged */
        if (!strcmp(k, "input_control") && orr_json_type_of(orr_json_value_at(ov, i)) == ORR_JSON_ARRAY &&
            c->input_control && c->n_input_controls > 1)
            mine = false;
        if (mine) continue;
        if (!first) sb_str(&b, ", ");
        first = false;
        sb_quote(&b, k, strlen(k));
        sb_str(&b, ": ");
        write_value(&b, orr_json_value_at(ov, i), s->top.v[at].json);
    }
    char num[40];
    number_text(num, sizeof num, c->control_weight);
    const char *strings[5] = {c->n_input_controls > 1 ? NULL : c->input_control, c->control_weight_path,
                              c->control_weight_prompt, c->input_control_prompt, c->ckpt_path};
    for (int j = 0; j < 5; j++) {
        bool weight = j == 1;
        if (!strings[j] && !(weight && c->has_control_weight)) continue;
        if (!first) sb_str(&b, ", ");
        first = false;
        sb_quote(&b, known[j], strlen(known[j]));
        sb_str(&b, ": ");
        if (strings[j])
            sb_quote(&b, strings[j], strlen(strings[j]));
        else
            sb_str(&b, num);
    }
    sb_str(&b, "}");
    orr_json_free(old);
    if (b.failed) {
        free(b.s);
        return orr_error(ORR_ERR_MEMORY, "transfer spec: out of host memory");
    }
    /* the same checks as a read */
    orr_json *doc;
    orr_status st = orr_json_parse(b.s, b.n, NULL, &doc);
    if (!st) {
        st = check_control(s, kind, orr_json_root(doc));
        orr_json_free(doc);
    }
    if (st) {
        free(b.s);
        return st;
    }
    return members_set(&s->top, kind, b.s);
}

orr_status orr_transfer_spec_remove_control(orr_transfer_spec *s, orr_control_kind kind) {
    if (!s || !orr_control_kind_name(kind))
        return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_remove_control: bad argument");
    int i = members_find(&s->top, orr_control_kind_name(kind));
    if (i < 0)
        return orr_error(ORR_ERR_NOT_FOUND, "transfer spec (%s): no '%s' control", s->name,
                         orr_control_kind_name(kind));
    members_remove(&s->top, i);
    return ORR_OK;
}

/* ---- validation: validate_controlnet_specs and what orrery can make ---------------------------- */

orr_status orr_transfer_spec_validate(orr_transfer_spec *s) {
    if (!s) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_validate: spec is NULL");
    orr_transfer_args args;
    orr_status st = orr_transfer_spec_args(s, &args);
    if (st) return st;
    int n = orr_transfer_spec_controls(s);
    if (!n)
        return spec_error(s, ORR_ERR_NOT_FOUND, "no control (vis, edge, depth, seg, keypoint, upscale, hdmap, lidar)");
    bool video = args.input_video_path && *args.input_video_path;
    if (!video && args.sigma_max < 80)
        return spec_error(s, ORR_ERR_ARGUMENT,
                          "'sigma_max' is %g but no 'input_video_path' is given (below 80 the official needs an input "
                          "video)",
                          args.sigma_max);
    for (int i = 0; i < n && !st; i++) {
        orr_control_spec c;
        if ((st = orr_transfer_spec_control(s, i, &c))) break;
        const char *kind = orr_control_kind_name(c.kind);
        bool made_here = c.kind == ORR_CONTROL_EDGE || c.kind == ORR_CONTROL_VIS || c.kind == ORR_CONTROL_UPSCALE;
        if (!c.input_control && !video)
            st = spec_error(s, ORR_ERR_NOT_FOUND, "'%s'.'input_control' is missing and no 'input_video_path' is given",
                            kind);
        else if (!c.input_control && !made_here)
            st = spec_error(s, ORR_ERR_UNSUPPORTED,
                            "'%s'.'input_control' is missing: orrery makes edge and vis controls from the input video, "
                            "but %s needs a model that is not part of orrery (%s); give its video",
                            kind, kind,
                            c.kind == ORR_CONTROL_DEPTH      ? "Depth-Anything"
                            : c.kind == ORR_CONTROL_SEG      ? "GroundingDINO and SAM2"
                            : c.kind == ORR_CONTROL_KEYPOINT ? "rtmlib's whole-body pose"
                                                             : "a renderer of the drive's data");
        else if (c.control_weight_prompt)
            st = spec_error(s, ORR_ERR_UNSUPPORTED,
                            "'%s'.'control_weight_prompt' needs GroundingDINO and SAM2, which are not part of orrery; "
                            "give the map as 'control_weight'",
                            kind);
    }
    return st;
}

/* ---- the weights ---------------------------------------------------------------------------------- */

bool orr_transfer_spec_has_maps(orr_transfer_spec *s) {
    int n = orr_transfer_spec_controls(s);
    for (int i = 0; i < n; i++) {
        orr_control_spec c;
        if (!orr_transfer_spec_control(s, i, &c) && c.control_weight_path) return true;
    }
    return false;
}

orr_status orr_transfer_spec_weights(orr_transfer_spec *s, orr_tensor *out, bool bf16) {
    if (!s || !out) return orr_error(ORR_ERR_ARGUMENT, "transfer_spec_weights: NULL argument");
    int n = orr_transfer_spec_controls(s);
    if (!n) return spec_error(s, ORR_ERR_NOT_FOUND, "no control to weigh");
    orr_control_weight w[ORR_TRANSFER_MAX_CONTROLS];
    orr_checkpoint *files[ORR_TRANSFER_MAX_CONTROLS] = {NULL};
    orr_tensor *maps[ORR_TRANSFER_MAX_CONTROLS] = {NULL};
    orr_status st = n > ORR_TRANSFER_MAX_CONTROLS
                        ? spec_error(s, ORR_ERR_ARGUMENT, "more than %d controls", ORR_TRANSFER_MAX_CONTROLS)
                        : ORR_OK;
    char a[200];
    for (int i = 0; i < n && !st; i++) {
        orr_control_spec c;
        if ((st = orr_transfer_spec_control(s, i, &c))) break;
        const char *kind = orr_control_kind_name(c.kind);
        w[i] = (orr_control_weight){c.control_weight, NULL};
        if (!c.control_weight_path) continue;
        /* torch.save of a tensor: the file's single tensor */
        st = orr_ckpt_open(c.control_weight_path, &files[i]);
        if (!st && orr_ckpt_count(files[i]) != 1)
            st = spec_error(s, ORR_ERR_FORMAT, "'%s'.'control_weight' (%s) holds %lld tensors, expected one map", kind,
                            c.control_weight_path, (long long)orr_ckpt_count(files[i]));
        if (!st) st = orr_ckpt_get(files[i], orr_ckpt_name(files[i], 0), &maps[i]);
        if (st) {
            orr_error_context(st, "transfer spec (%s): '%s'.'control_weight': ", s->name, kind);
            break;
        }
        if (maps[i]->ndim != 2 && maps[i]->ndim != 3)
            st = spec_error(s, ORR_ERR_SHAPE, "'%s'.'control_weight' (%s) is %s; a weight map is [T,H,W] or [H,W]",
                            kind, c.control_weight_path, orr_tensor_describe(maps[i], a, sizeof a));
        w[i].map = maps[i];
    }
    if (!st) st = orr_control_weights_normalize(out, n, w, bf16);
    for (int i = 0; i < n; i++) {
        orr_tensor_free(maps[i]);
        orr_ckpt_close(files[i]);
    }
    return st;
}
