/* torch_convert.c — `orrery convert`: any weights file orr_ckpt_open reads,
 * written as orrery's safetensors under the official names, optionally in
 * bf16. Tensors that keep their dtype are handed to the writer as views of
 * the mapped input, so converting a 14 GB model.pt costs page cache, not
 * memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void orr_convert_params_init(orr_convert_params *p) {
    memset(p, 0, sizeof *p);
    p->names = ORR_NAMES_AUTO;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static const char *layout_name(orr_name_map map) {
    return map == ORR_NAMES_DIFFUSERS_DIT   ? "diffusers-dit"
           : map == ORR_NAMES_DIFFUSERS_VAE ? "diffusers-vae"
                                            : "official";
}

typedef struct convert_job {
    const char *in_path;
    int64_t n;
    char **names;
    orr_tensor **tensors;
} convert_job;

/* The output name and tensor of input tensor `name`, or nothing when the
 * parameters leave it out. */
static orr_status take(convert_job *job, const orr_checkpoint *ck, const char *name, orr_name_map map,
                       const orr_convert_params *p) {
    size_t prefix = p->prefix ? strlen(p->prefix) : 0;
    if (prefix && (strncmp(name, p->prefix, prefix) != 0 || !name[prefix])) return ORR_OK;
    const char *rest = name + prefix;
    if (!p->extra_state && ends_with(rest, "_extra_state")) return ORR_OK;
    char official[1024];
    orr_status st = orr_name_map_apply(map, rest, official, sizeof official);
    if (st) return orr_error_context(st, "convert: %s: ", job->in_path);
    orr_tensor *t = NULL;
    if ((st = orr_ckpt_get(ck, name, &t))) return st;
    if (p->bf16 && (t->dtype == ORR_F32 || t->dtype == ORR_F64 || t->dtype == ORR_F16)) {
        orr_tensor *cast = NULL;
        st = orr_tensor_clone(&cast, t, ORR_BF16);
        orr_tensor_free(t);
        if (st) return orr_error_context(st, "convert: %s: tensor '%s' to bf16: ", job->in_path, name);
        t = cast;
    }
    if (!(job->names[job->n] = strdup(official))) {
        orr_tensor_free(t);
        return orr_error(ORR_ERR_MEMORY, "convert: %s: out of memory", job->in_path);
    }
    job->tensors[job->n++] = t;
    return ORR_OK;
}

orr_status orr_ckpt_convert(const char *in_path, const char *out_path, const orr_convert_params *params) {
    orr_convert_params defaults;
    orr_convert_params_init(&defaults);
    const orr_convert_params *p = params ? params : &defaults;
    if (!in_path || !out_path) return orr_error(ORR_ERR_ARGUMENT, "convert: input or output path is NULL");
    if ((unsigned)p->names > ORR_NAMES_DIFFUSERS_VAE)
        return orr_error(ORR_ERR_ARGUMENT, "convert: names is %d, not an orr_name_map", (int)p->names);
    orr_checkpoint *ck = NULL;
    orr_status st = orr_ckpt_open(in_path, &ck);
    if (st) return st;
    convert_job job = {.in_path = in_path};
    int64_t count = orr_ckpt_count(ck);
    job.names = calloc((size_t)(count ? count : 1), sizeof *job.names);
    job.tensors = calloc((size_t)(count ? count : 1), sizeof *job.tensors);
    if (!job.names || !job.tensors) {
        st = orr_error(ORR_ERR_MEMORY, "convert: %s: out of memory", in_path);
        goto done;
    }
    orr_name_map map = p->names == ORR_NAMES_AUTO ? orr_name_map_detect(ck) : p->names;
    for (int64_t i = 0; i < count && !st; i++) st = take(&job, ck, orr_ckpt_name(ck, i), map, p);
    if (st) goto done;
    if (!job.n) {
        st = orr_error(ORR_ERR_NOT_FOUND, "convert: %s: no tensor to write%s%s%s", in_path,
                       p->prefix ? " (none is named '" : "", p->prefix ? p->prefix : "", p->prefix ? "...')" : "");
        goto done;
    }
    const char *keys[5], *values[5];
    int64_t n_meta = 0;
    keys[n_meta] = "source_file", values[n_meta++] = in_path;
    keys[n_meta] = "source_format", values[n_meta++] = orr_ckpt_metadata(ck, "format");
    keys[n_meta] = "source_names", values[n_meta++] = layout_name(map);
    if (orr_ckpt_metadata(ck, "archive_prefix"))
        keys[n_meta] = "archive_prefix", values[n_meta++] = orr_ckpt_metadata(ck, "archive_prefix");
    if (p->prefix) keys[n_meta] = "source_prefix", values[n_meta++] = p->prefix;
    st = orr_st_save(out_path, job.n, (const char *const *)job.names, (const orr_tensor *const *)job.tensors, n_meta,
                     keys, values);
done:
    for (int64_t i = 0; i < job.n; i++) {
        free(job.names[i]);
        orr_tensor_free(job.tensors[i]);
    }
    free(job.names);
    free(job.tensors);
    orr_ckpt_close(ck);
    return st;
}
