/* weights.h — looking up a model's parameters by official key name across
 * one or more safetensors files, with the shape checked on the way in. */
#ifndef ORR_WEIGHTS_H
#define ORR_WEIGHTS_H

#include "internal.h"

#define ORR_WEIGHTS_MAX_FILES 8

/* A borrowed set of open files — safetensors, or checkpoints of any format
 * orr_ckpt_open reads — and the key prefixes to try ("" and, say, "net."
 * for released DiT checkpoints). Lookups return zero-copy views. */
typedef struct orr_weights_file {
    const orr_safetensors *st; /* exactly one of the two is set */
    const orr_checkpoint *ckpt;
} orr_weights_file;

typedef struct orr_weights {
    orr_weights_file files[ORR_WEIGHTS_MAX_FILES];
    int n_files;
    const char *prefixes[4];
    int n_prefixes;
} orr_weights;

void orr_weights_init(orr_weights *w);
orr_status orr_weights_add_file(orr_weights *w, const orr_safetensors *file);
orr_status orr_weights_add_checkpoint(orr_weights *w, const orr_checkpoint *ckpt);
orr_status orr_weights_add_prefix(orr_weights *w, const char *prefix);

bool orr_weights_has(const orr_weights *w, const char *name);
/* Whether any key of any file starts with `prefix` (a half of a model). */
bool orr_weights_has_prefix(const orr_weights *w, const char *prefix);
/* The named tensor, which must have exactly `shape` (ndim dims); the error
 * names the key, the shape found and the shape the config implies. */
orr_status orr_weights_get(const orr_weights *w, const char *name, int ndim, const int64_t *shape, orr_tensor **out);
/* printf-style name: orr_weights_getf(w, &t, 2, (int64_t[]){n, k}, "blocks.%d.w", i). */
orr_status orr_weights_getf(const orr_weights *w, orr_tensor **out, int ndim, const int64_t *shape, const char *fmt,
                            ...) ORR_PRINTF(5, 6);

#endif
