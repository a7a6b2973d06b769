/* tensor_copy.c — copying between any strides, dtypes and devices, and the
 * float32 staging every op uses for its inputs and outputs (on the device
 * its operands are on). */
#include <string.h>

#include "cuda/device.h"
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

/* Across devices the bytes go over once, in src's dtype and shape (a
 * broadcast is expanded on the receiving side): a strided src is packed
 * where it is, and the landed copy is converted and scattered into dst's
 * strides there, unless dst can take the bytes as they are. */
static orr_status copy_between(orr_tensor *dst, const orr_tensor *src) {
    orr_tensor *packed = NULL, *landed = NULL;
    orr_status st = orr_tensor_contiguous(&packed, src);
    if (st) return orr_error_context(st, "copy to %s: ", orr_device_name(dst->device));
    bool direct = dst->dtype == src->dtype && orr_tensor_same_shape(dst, src) && orr_tensor_is_contiguous(dst);
    if (!direct) st = orr_tensor_empty_on(dst->device, &landed, src->dtype, src->ndim, src->shape);
    if (!st) {
        void *target = direct ? dst->data : landed->data;
        size_t bytes = orr_tensor_nbytes(src);
        st = dst->device == ORR_CPU ? orr_cuda_download(target, packed->data, bytes)
                                    : orr_cuda_upload(target, packed->data, bytes);
    }
    if (!st && landed) st = orr_copy(dst, landed);
    orr_tensor_free(packed);
    orr_tensor_free(landed);
    return st;
}

orr_status orr_copy(orr_tensor *dst, const orr_tensor *src) {
    orr_status st;
    if ((st = orr_check_backend("copy", "dst", dst)) || (st = orr_check_backend("copy", "src", src))) return st;
    orr_tensor *expanded;
    if ((st = orr_tensor_expand(&expanded, src, dst->ndim, dst->shape)))
        return orr_error_context(st, "copy: ");
    if (dst->device != src->device) {
        st = copy_between(dst, src);
    } else if (dst->device != ORR_CPU) {
        st = orr_cuda_copy_tensor(dst, expanded);
    } else if (orr_tensor_numel(dst) > 0) {
        copy_job job = {dst, expanded, 1, dst->ndim ? dst->shape[dst->ndim - 1] : 1};
        for (int d = 0; d + 1 < dst->ndim; d++) job.rows *= dst->shape[d];
        if (job.rows * job.row_len >= (1 << 16))
            orr_parallel_for(job.rows, copy_rows, &job);
        else
            copy_rows(&job, 0, job.rows);
    }
    orr_tensor_free(expanded);
    return st;
}

orr_status orr_tensor_clone(orr_tensor **out, const orr_tensor *t, orr_dtype dtype) {
    orr_status st;
    *out = NULL;
    if ((st = orr_check_backend("clone", "tensor", t))) return st;
    if ((st = orr_tensor_empty_on(t->device, out, dtype, t->ndim, t->shape))) return st;
    if ((st = orr_copy(*out, t))) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

orr_status orr_input_as(const orr_tensor *t, orr_dtype dtype, orr_tensor **tmp, const void **data) {
    *tmp = NULL;
    *data = NULL;
    if (t->dtype == dtype && orr_tensor_is_contiguous(t)) {
        *data = t->data;
        return ORR_OK;
    }
    orr_status st = orr_tensor_clone(tmp, t, dtype);
    if (!st) *data = (*tmp)->data;
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
    orr_status st = orr_tensor_empty_on(out->device, tmp, ORR_F32, out->ndim, out->shape);
    if (!st) *data = (*tmp)->data;
    return st;
}

orr_status orr_output_f32_end(orr_tensor *out, orr_tensor *tmp) {
    if (!tmp) return ORR_OK;
    orr_status st = orr_copy(out, tmp);
    orr_tensor_free(tmp);
    return st;
}
