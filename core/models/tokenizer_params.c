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

/* The parameter `name` as a new f32 contiguous tensor, not yet owned by
 * the loader. */
static orr_status load_param(tok_loader *ld, orr_tensor **out, tok_init init, int64_t fan_in, int ndim,
                             const int64_t *shape, const char *name) {
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
    *out = t;
    return ORR_OK;
}

/* Hands t (counted as the parameter `name`) to the loader, also on failure. */
static orr_status keep_param(tok_loader *ld, orr_tensor *t, const char *name, int64_t numel) {
    ld->n_params += numel;
    return orr_tensor_list_add(ld->params, name, t);
}

orr_status tok_param(tok_loader *ld, orr_tensor **out, tok_init init, int64_t fan_in, int ndim, const int64_t *shape,
                     const char *fmt, ...) {
    char name[TOK_NAME + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    orr_tensor *t = NULL;
    *out = NULL;
    orr_status st = load_param(ld, &t, init, fan_in, ndim, shape, name);
    if (!st) st = keep_param(ld, t, name, orr_tensor_numel(t));
    if (!st) *out = t;
    return st;
}

orr_status tok_param_into(tok_loader *ld, orr_tensor *dst, tok_init init, int64_t fan_in, const char *name) {
    orr_status st;
    if (ld->weights) {
        orr_tensor *file = NULL;
        st = orr_weights_get(ld->weights, name, dst->ndim, dst->shape, &file);
        if (!st) st = orr_copy(dst, file);
        orr_tensor_free(file);
    } else {
        st = random_param(ld, dst, init, fan_in);
    }
    if (st) {
        orr_tensor_free(dst);
        return st;
    }
    return keep_param(ld, dst, name, orr_tensor_numel(dst));
}

orr_status tok_param_holder(tok_loader *ld, orr_tensor *t, const char *name) { return keep_param(ld, t, name, 0); }

/* Output channels loaded (drawn, or converted to f32) and transposed at a
 * time: a few hundred KiB. */
#define CHUNK 16

/* Chunk of rows [co0, co0 + n) of the weight, as f32 [n][k_rows]: from the
 * file (a view where it is f32 already) or drawn at random, in the order
 * of the official layout either way. */
static orr_status chunk_rows(tok_loader *ld, const orr_tensor *file, int64_t co0, int64_t n, int64_t k_rows,
                             orr_tensor **out) {
    if (!file) {
        orr_status st = orr_tensor_empty(out, ORR_F32, 2, (int64_t[]){n, k_rows});
        return st ? st : random_param(ld, *out, TOK_INIT_FAN_IN, k_rows);
    }
    orr_tensor *rows = NULL;
    orr_status st = orr_tensor_narrow(&rows, file, 0, co0, n);
    if (!st) st = rows->dtype == ORR_F32 && orr_tensor_is_contiguous(rows) ? orr_tensor_view(out, rows)
                                                                            : orr_tensor_clone(out, rows, ORR_F32);
    orr_tensor_free(rows);
    return st;
}

orr_status tok_param_transposed(tok_loader *ld, orr_tensor **out, const int64_t shape[5], const char *name) {
    const int64_t cout = shape[0], k_rows = shape[1] * shape[2] * shape[3] * shape[4];
    orr_tensor *file = NULL, *w_t = NULL, *view = NULL;
    *out = NULL;
    orr_status st = ld->weights ? orr_weights_get(ld->weights, name, 5, shape, &file) : ORR_OK;
    if (!st) st = orr_tensor_empty(&w_t, ORR_F32, 5, (int64_t[]){shape[1], shape[2], shape[3], shape[4], cout});
    /* a chunk at a time: a whole copy made and freed would leave its hole
     * in the heap */
    for (int64_t co0 = 0; !st && co0 < cout; co0 += CHUNK) {
        int64_t n = cout - co0 < CHUNK ? cout - co0 : CHUNK;
        orr_tensor *rows = NULL;
        st = chunk_rows(ld, file, co0, n, k_rows, &rows);
        if (!st) {
            const float *src = rows->data;
            float *dst = w_t->data;
            for (int64_t r = 0; r < k_rows; r++)
                for (int64_t c = 0; c < n; c++) dst[r * cout + co0 + c] = src[c * k_rows + r];
        }
        orr_tensor_free(rows);
    }
    orr_tensor_free(file);
    /* the official [cout,cin,kt,kh,kw] indexing of that storage */
    if (!st) st = orr_tensor_permute(&view, w_t, (int[]){4, 0, 1, 2, 3});
    orr_tensor_free(w_t);
    if (!st) st = keep_param(ld, view, name, cout * k_rows);
    if (!st) *out = view;
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
