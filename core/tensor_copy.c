/* tensor_copy.c — copying between any strides and dtypes, and the float32
 * staging every CPU op uses for its inputs and outputs. */
#include <string.h>

#include "internal.h"

double orr_load_element(const void *p, orr_dtype dtype) {
    switch (dtype) {
    case ORR_F32: return *(const float *)p;
    case ORR_F64: return *(const double *)p;
    case ORR_BF16: return orr_bf16_to_f32(*(const uint16_t *)p);
    case ORR_F16: return orr_f16_to_f32(*(const uint16_t *)p);
    case ORR_I64: return (double)*(const int64_t *)p;
    case ORR_I32: return *(const int32_t *)p;
    case ORR_I16: return *(const int16_t *)p;
    case ORR_I8: return *(const int8_t *)p;
    case ORR_U8: return *(const uint8_t *)p;
    case ORR_BOOL: return *(const uint8_t *)p != 0;
    default: return 0;
    }
}

void orr_store_element(void *p, orr_dtype dtype, double v) {
    switch (dtype) {
    case ORR_F32: *(float *)p = (float)v; break;
    case ORR_F64: *(double *)p = v; break;
    case ORR_BF16: *(uint16_t *)p = orr_f32_to_bf16((float)v); break;
    case ORR_F16: *(uint16_t *)p = orr_f32_to_f16((float)v); break;
    case ORR_I64: *(int64_t *)p = (int64_t)v; break;
    case ORR_I32: *(int32_t *)p = (int32_t)v; break;
    case ORR_I16: *(int16_t *)p = (int16_t)v; break;
    case ORR_I8: *(int8_t *)p = (int8_t)v; break;
    case ORR_U8: *(uint8_t *)p = (uint8_t)v; break;
    case ORR_BOOL: *(uint8_t *)p = v != 0; break;
    default: break;
    }
}

/* One innermost row: n elements with element strides ds/ss. */
static void copy_row(char *dst, orr_dtype dt, int64_t ds, const char *src, orr_dtype st, int64_t ss, int64_t n) {
    size_t dsz = orr_dtype_size(dt), ssz = orr_dtype_size(st);
    if (dt == st && ds == 1 && ss == 1) {
        memcpy(dst, src, (size_t)n * dsz);
    } else if (dt == st) {
        for (int64_t i = 0; i < n; i++) memcpy(dst + i * ds * (int64_t)dsz, src + i * ss * (int64_t)ssz, dsz);
    } else if (dt == ORR_F32 && st == ORR_BF16 && ds == 1 && ss == 1) {
        for (int64_t i = 0; i < n; i++) ((float *)dst)[i] = orr_bf16_bits_to_f32(((const uint16_t *)src)[i]);
    } else if (dt == ORR_BF16 && st == ORR_F32 && ds == 1 && ss == 1) {
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = orr_f32_to_bf16_bits(((const float *)src)[i]);
    } else if (dt == ORR_F32 && st == ORR_BF16) {
        for (int64_t i = 0; i < n; i++)
            ((float *)dst)[i * ds] = orr_bf16_bits_to_f32(((const uint16_t *)src)[i * ss]);
    } else if (dt == ORR_F32 && st == ORR_F16) {
        for (int64_t i = 0; i < n; i++)
            ((float *)dst)[i * ds] = orr_f16_to_f32(((const uint16_t *)src)[i * ss]);
    } else if (dt == ORR_BF16 && st == ORR_F32) {
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i * ds] = orr_f32_to_bf16_bits(((const float *)src)[i * ss]);
    } else {
        for (int64_t i = 0; i < n; i++)
            orr_store_element(dst + i * ds * (int64_t)dsz, dt, orr_load_element(src + i * ss * (int64_t)ssz, st));
    }
}

typedef struct copy_job {
    const orr_tensor *dst, *src; /* src already expanded to dst's shape */
    int64_t rows, row_len;
} copy_job;

static void copy_rows(void *user, int64_t begin, int64_t end) {
    const copy_job *j = user;
    const orr_tensor *d = j->dst, *s = j->src;
    int nd = d->ndim;
    int64_t dsz = (int64_t)orr_dtype_size(d->dtype), ssz = (int64_t)orr_dtype_size(s->dtype);
    for (int64_t r = begin; r < end; r++) {
        int64_t rem = r, doff = 0, soff = 0;
        for (int k = nd - 2; k >= 0; k--) {
            int64_t i = rem % d->shape[k];
            rem /= d->shape[k];
            doff += i * d->stride[k];
            soff += i * s->stride[k];
        }
        copy_row((char *)d->data + doff * dsz, d->dtype, nd ? d->stride[nd - 1] : 1,
                 (const char *)s->data + soff * ssz, s->dtype, nd ? s->stride[nd - 1] : 1, j->row_len);
    }
}

orr_status orr_copy(orr_tensor *dst, const orr_tensor *src) {
    orr_status st;
    if ((st = orr_check_cpu("copy", "dst", dst)) || (st = orr_check_cpu("copy", "src", src))) return st;
    orr_tensor *expanded;
    if ((st = orr_tensor_expand(&expanded, src, dst->ndim, dst->shape)))
        return orr_error_context(st, "copy: ");
    copy_job job = {dst, expanded, 1, dst->ndim ? dst->shape[dst->ndim - 1] : 1};
    for (int d = 0; d + 1 < dst->ndim; d++) job.rows *= dst->shape[d];
    if (orr_tensor_numel(dst) > 0) {
        if (job.rows * job.row_len >= (1 << 16))
            orr_parallel_for(job.rows, copy_rows, &job);
        else
            copy_rows(&job, 0, job.rows);
    }
    orr_tensor_free(expanded);
    return ORR_OK;
}

orr_status orr_tensor_clone(orr_tensor **out, const orr_tensor *t, orr_dtype dtype) {
    orr_status st;
    *out = NULL;
    if ((st = orr_check_cpu("clone", "tensor", t))) return st;
    if ((st = orr_tensor_empty(out, dtype, t->ndim, t->shape))) return st;
    if ((st = orr_copy(*out, t))) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

orr_status orr_input_f32(const orr_tensor *t, orr_tensor **tmp, const float **data) {
    *tmp = NULL;
    *data = NULL;
    if (t->dtype == ORR_F32 && orr_tensor_is_contiguous(t)) {
        *data = t->data;
        return ORR_OK;
    }
    orr_status st = orr_tensor_clone(tmp, t, ORR_F32);
    if (!st) *data = (*tmp)->data;
    return st;
}

orr_status orr_output_f32_begin(orr_tensor *out, orr_tensor **tmp, float **data) {
    *tmp = NULL;
    *data = NULL;
    if (out->dtype == ORR_F32 && orr_tensor_is_contiguous(out)) {
        *data = out->data;
        return ORR_OK;
    }
    orr_status st = orr_tensor_empty(tmp, ORR_F32, out->ndim, out->shape);
    if (!st) *data = (*tmp)->data;
    return st;
}

orr_status orr_output_f32_end(orr_tensor *out, orr_tensor *tmp) {
    if (!tmp) return ORR_OK;
    orr_status st = orr_copy(out, tmp);
    orr_tensor_free(tmp);
    return st;
}
