/* tokenizer_params.c — the tokenizers' parameters: looked up by official key
 * and shape-checked, or drawn at random for benchmarks; and the checks of
 * the non-learned buffers (Haar wavelets, FSQ levels) the official state
 * dicts carry. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer.h"

static orr_status random_param(tok_loader *ld, orr_tensor *t, tok_init init, int64_t fan_in) {
    if (init == TOK_INIT_ONES) return orr_fill(t, 1.0);
    if (init == TOK_INIT_ZEROS) return orr_fill(t, 0.0);
    double bound = 1.0 / sqrt((double)(fan_in > 0 ? fan_in : 1));
    orr_status st = orr_rng_uniform(&ld->rng, t);
    return st ? st : orr_affine(t, t, (float)(2.0 * bound), (float)-bound);
}

orr_status tok_param(tok_loader *ld, orr_tensor **out, tok_init init, int64_t fan_in, int ndim, const int64_t *shape,
                     const char *fmt, ...) {
    char name[TOK_NAME + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    *out = NULL;
    orr_tensor *t = NULL;
    orr_status st;
    if (ld->weights) {
        orr_tensor *view = NULL;
        st = orr_weights_get(ld->weights, name, ndim, shape, &view);
        if (st) return st;
        /* Computing in f32 from contiguous memory: convert once here rather
         * than on every call. */
        if (view->dtype == ORR_F32 && orr_tensor_is_contiguous(view)) {
            t = view;
        } else {
            st = orr_tensor_clone(&t, view, ORR_F32);
            orr_tensor_free(view);
            if (st) return st;
        }
    } else {
        st = orr_tensor_empty(&t, ORR_F32, ndim, shape);
        if (!st) st = random_param(ld, t, init, fan_in);
        if (st) {
            orr_tensor_free(t);
            return st;
        }
    }
    ld->n_params += orr_tensor_numel(t);
    st = orr_tensor_list_add(ld->params, name, t); /* takes t, also on failure */
    if (!st) *out = t;
    return st;
}

bool tok_loader_has_prefix(const tok_loader *ld, const char *prefix) {
    return !ld->weights || orr_weights_has_prefix(ld->weights, prefix);
}

/* An optional buffer: absent is fine, present must have `n` elements equal
 * to want[] (within the precision of its dtype: checkpoints cast to bf16
 * carry 0.70703 for the Haar wavelets' 1/sqrt(2)). */
static orr_status check_buffer(const tok_loader *ld, const char *name, int64_t n, const double *want) {
    if (!ld->weights || !orr_weights_has(ld->weights, name)) return ORR_OK;
    orr_tensor *t = NULL;
    orr_status st = orr_weights_get(ld->weights, name, 1, &n, &t);
    if (st) return st;
    const double tolerance = t->dtype == ORR_BF16 || t->dtype == ORR_F16 ? 4e-3 : 1e-6;
    for (int64_t i = 0; i < n && !st; i++) {
        double v = orr_tensor_get(t, i);
        if (fabs(v - want[i]) > tolerance)
            st = orr_error(ORR_ERR_FORMAT, "weights: buffer '%s'[%lld] is %g but the config implies %g", name,
                           (long long)i, v, want[i]);
    }
    orr_tensor_free(t);
    return st;
}

orr_status tok_check_haar_buffers(const tok_loader *ld, const char *module, int patch_size, bool has_size_buffer) {
    char name[TOK_NAME];
    const double wavelets[2] = {0.7071067811865476, 0.7071067811865476}, arange[2] = {0, 1}, size = patch_size;
    tok_name(name, "%s.wavelets", module);
    orr_status st = check_buffer(ld, name, 2, wavelets);
    tok_name(name, "%s._arange", module);
    if (!st) st = check_buffer(ld, name, 2, arange);
    tok_name(name, "%s.patch_size_buffer", module);
    if (!st && has_size_buffer) st = check_buffer(ld, name, 1, &size);
    return st;
}

orr_status tok_check_fsq_buffers(const tok_loader *ld, const char *module, const tok_config *cfg) {
    char name[TOK_NAME];
    double levels[TOK_MAX_FSQ], basis[TOK_MAX_FSQ], size = 1;
    for (int i = 0; i < cfg->n_fsq; i++) {
        levels[i] = cfg->levels[i];
        basis[i] = size;
        size *= cfg->levels[i];
    }
    tok_name(name, "%s._levels", module);
    orr_status st = check_buffer(ld, name, cfg->n_fsq, levels);
    tok_name(name, "%s._basis", module);
    if (!st) st = check_buffer(ld, name, cfg->n_fsq, basis);
    tok_name(name, "%s.implicit_codebook", module);
    if (!st && ld->weights && orr_weights_has(ld->weights, name)) {
        orr_tensor *t = NULL;
        st = orr_weights_get(ld->weights, name, 2, (int64_t[]){(int64_t)size, cfg->n_fsq}, &t);
        orr_tensor_free(t);
    }
    return st;
}
