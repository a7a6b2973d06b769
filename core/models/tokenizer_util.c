/* tokenizer_util.c — the small run-time helpers the tokenizer files share:
 * names of modules, new activations, traces of intermediates, NaN checks. */
#include <stdarg.h>
#include <stdio.h>

#include "tokenizer.h"

void tok_name(char *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, TOK_NAME, fmt, ap);
    va_end(ap);
}

orr_status tok_new(orr_tensor **out, int ndim, const int64_t *shape) {
    return orr_tensor_empty(out, ORR_F32, ndim, shape);
}

orr_status tok_trace(orr_tensor_list *trace, const char *name, const orr_tensor *t) {
    if (!trace) return ORR_OK;
    orr_tensor *copy = NULL;
    orr_status st = orr_tensor_clone(&copy, t, ORR_F32);
    return st ? st : orr_tensor_list_add(trace, name, copy);
}

orr_status tok_check_finite(const orr_tensor *t, const char *stage) {
    int64_t bad = 0;
    orr_status st = orr_count_nonfinite(t, &bad);
    if (st) return st;
    if (bad) return orr_error(ORR_ERR_NONFINITE, "tokenizer: %lld NaN/Inf values after %s", (long long)bad, stage);
    return ORR_OK;
}

orr_status tok_add_into(orr_tensor *x, const orr_tensor *r) { return orr_binary(x, x, r, ORR_ADD); }

orr_status tok_stage(orr_tensor_list *trace, const char *name, const orr_tensor *t) {
    orr_status st = tok_check_finite(t, name);
    return st ? st : tok_trace(trace, name, t);
}

int64_t tok_haar_len(int64_t n, int p) {
    for (int q = p; q > 1; q /= 2) n = (n + 1) / 2;
    return n;
}
