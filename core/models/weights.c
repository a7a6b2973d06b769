/* weights.c — parameter lookup across files and key prefixes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "weights.h"

void orr_weights_init(orr_weights *w) { memset(w, 0, sizeof *w); }

static orr_status add(orr_weights *w, orr_weights_file file) {
    if (!file.st && !file.ckpt) return orr_error(ORR_ERR_ARGUMENT, "weights: file is NULL");
    if (w->n_files == ORR_WEIGHTS_MAX_FILES)
        return orr_error(ORR_ERR_ARGUMENT, "weights: more than %d files", ORR_WEIGHTS_MAX_FILES);
    w->files[w->n_files++] = file;
    return ORR_OK;
}

orr_status orr_weights_add_file(orr_weights *w, const orr_safetensors *file) {
    return add(w, (orr_weights_file){.st = file});
}

orr_status orr_weights_add_checkpoint(orr_weights *w, const orr_checkpoint *ckpt) {
    return add(w, (orr_weights_file){.ckpt = ckpt});
}

static bool file_has(const orr_weights_file *f, const char *key) {
    return f->st ? orr_st_has(f->st, key) : orr_ckpt_has(f->ckpt, key);
}

static int64_t file_count(const orr_weights_file *f) { return f->st ? orr_st_count(f->st) : orr_ckpt_count(f->ckpt); }

static const char *file_name(const orr_weights_file *f, int64_t i) {
    return f->st ? orr_st_name(f->st, i) : orr_ckpt_name(f->ckpt, i);
}

static const char *file_path(const orr_weights_file *f) { return f->st ? orr_st_path(f->st) : orr_ckpt_path(f->ckpt); }

orr_status orr_weights_add_prefix(orr_weights *w, const char *prefix) {
    if (w->n_prefixes == 4) return orr_error(ORR_ERR_ARGUMENT, "weights: more than 4 key prefixes");
    w->prefixes[w->n_prefixes++] = prefix;
    return ORR_OK;
}

/* The file and full key holding `name`, trying each prefix in turn. */
static const orr_weights_file *find(const orr_weights *w, const char *name, char *key, size_t size) {
    int n_prefixes = w->n_prefixes ? w->n_prefixes : 1;
    for (int p = 0; p < n_prefixes; p++) {
        snprintf(key, size, "%s%s", w->n_prefixes ? w->prefixes[p] : "", name);
        for (int f = 0; f < w->n_files; f++)
            if (file_has(&w->files[f], key)) return &w->files[f];
    }
    return NULL;
}

bool orr_weights_has(const orr_weights *w, const char *name) {
    char key[512];
    return find(w, name, key, sizeof key) != NULL;
}

bool orr_weights_has_prefix(const orr_weights *w, const char *prefix) {
    size_t n = strlen(prefix);
    for (int f = 0; f < w->n_files; f++)
        for (int64_t i = 0; i < file_count(&w->files[f]); i++)
            if (strncmp(file_name(&w->files[f], i), prefix, n) == 0) return true;
    return false;
}

orr_status orr_weights_get(const orr_weights *w, const char *name, int ndim, const int64_t *shape, orr_tensor **out) {
    char key[512], got[200], want[200];
    *out = NULL;
    const orr_weights_file *file = find(w, name, key, sizeof key);
    if (!file)
        return orr_error(ORR_ERR_NOT_FOUND, "weights: missing tensor '%s'%s%s", name,
                         w->n_files ? " in " : "", w->n_files ? file_path(&w->files[0]) : "");
    orr_status st = file->st ? orr_st_get(file->st, key, out) : orr_ckpt_get(file->ckpt, key, out);
    if (st) return st;
    bool same = (*out)->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = (*out)->shape[d] == shape[d];
    if (!same) {
        st = orr_error(ORR_ERR_SHAPE, "weights: '%s' in %s is %s but the config needs %s", key, file_path(file),
                       orr_tensor_describe(*out, got, sizeof got), orr_shape_str(ndim, shape, want, sizeof want));
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

orr_status orr_weights_getf(const orr_weights *w, orr_tensor **out, int ndim, const int64_t *shape, const char *fmt,
                            ...) {
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return orr_weights_get(w, name, ndim, shape, out);
}
