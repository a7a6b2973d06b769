/* tensor_view.c — O(1) views: new tensor headers over the same storage. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static orr_status new_header(orr_tensor **out, const orr_tensor *t) {
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "view: tensor is NULL");
    orr_tensor *v = malloc(sizeof *v);
    if (!v) return orr_error(ORR_ERR_MEMORY, "view: out of host memory");
    *v = *t;
    orr_storage_retain(v->storage);
    *out = v;
    return ORR_OK;
}

static void move_offset(orr_tensor *v, int64_t delta) {
    v->offset += delta;
    v->data = (char *)v->data + delta * (int64_t)orr_dtype_size(v->dtype);
}

orr_status orr_tensor_view(orr_tensor **out, const orr_tensor *t) { return new_header(out, t); }

orr_status orr_tensor_narrow(orr_tensor **out, const orr_tensor *t, int dim, int64_t start, int64_t length) {
    orr_status st;
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "narrow: tensor is NULL");
    if ((st = orr_norm_dim("narrow", t->ndim, &dim))) return st;
    if (start < 0 || length < 0 || start + length > t->shape[dim])
        return orr_error(ORR_ERR_SHAPE, "narrow: [%lld, %lld) is outside dim %d of size %lld", (long long)start,
                         (long long)(start + length), dim, (long long)t->shape[dim]);
    if ((st = new_header(out, t))) return st;
    move_offset(*out, start * t->stride[dim]);
    (*out)->shape[dim] = length;
    return ORR_OK;
}

orr_status orr_tensor_select(orr_tensor **out, const orr_tensor *t, int dim, int64_t index) {
    orr_status st;
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "select: tensor is NULL");
    if ((st = orr_norm_dim("select", t->ndim, &dim))) return st;
    if (index < 0) index += t->shape[dim];
    if (index < 0 || index >= t->shape[dim])
        return orr_error(ORR_ERR_SHAPE, "select: index %lld is outside dim %d of size %lld", (long long)index, dim,
                         (long long)t->shape[dim]);
    if ((st = new_header(out, t))) return st;
    orr_tensor *v = *out;
    move_offset(v, index * t->stride[dim]);
    for (int d = dim; d + 1 < v->ndim; d++) {
        v->shape[d] = v->shape[d + 1];
        v->stride[d] = v->stride[d + 1];
    }
    v->ndim--;
    return ORR_OK;
}

orr_status orr_tensor_permute(orr_tensor **out, const orr_tensor *t, const int *order) {
    orr_status st;
    *out = NULL;
    if (!t || !order) return orr_error(ORR_ERR_ARGUMENT, "permute: tensor or order is NULL");
    bool seen[ORR_MAX_DIMS] = {false};
    int norm[ORR_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) {
        norm[d] = order[d];
        if ((st = orr_norm_dim("permute", t->ndim, &norm[d]))) return st;
        if (seen[norm[d]]) return orr_error(ORR_ERR_ARGUMENT, "permute: dim %d appears twice in the order", norm[d]);
        seen[norm[d]] = true;
    }
    if ((st = new_header(out, t))) return st;
    for (int d = 0; d < t->ndim; d++) {
        (*out)->shape[d] = t->shape[norm[d]];
        (*out)->stride[d] = t->stride[norm[d]];
    }
    return ORR_OK;
}

orr_status orr_tensor_transpose(orr_tensor **out, const orr_tensor *t, int dim0, int dim1) {
    orr_status st;
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "transpose: tensor is NULL");
    if ((st = orr_norm_dim("transpose", t->ndim, &dim0)) || (st = orr_norm_dim("transpose", t->ndim, &dim1)))
        return st;
    int order[ORR_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) order[d] = d;
    order[dim0] = dim1;
    order[dim1] = dim0;
    return orr_tensor_permute(out, t, order);
}

orr_status orr_tensor_unsqueeze(orr_tensor **out, const orr_tensor *t, int dim) {
    orr_status st;
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "unsqueeze: tensor is NULL");
    if (t->ndim == ORR_MAX_DIMS) return orr_error(ORR_ERR_SHAPE, "unsqueeze: already %d dims", ORR_MAX_DIMS);
    if ((st = orr_norm_dim("unsqueeze", t->ndim + 1, &dim))) return st;
    if ((st = new_header(out, t))) return st;
    orr_tensor *v = *out;
    for (int d = v->ndim; d > dim; d--) {
        v->shape[d] = v->shape[d - 1];
        v->stride[d] = v->stride[d - 1];
    }
    v->shape[dim] = 1;
    v->stride[dim] = dim < v->ndim ? v->stride[dim + 1] * v->shape[dim + 1] : 1;
    v->ndim++;
    return ORR_OK;
}

orr_status orr_tensor_squeeze(orr_tensor **out, const orr_tensor *t, int dim) {
    orr_status st;
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "squeeze: tensor is NULL");
    if ((st = orr_norm_dim("squeeze", t->ndim, &dim))) return st;
    if (t->shape[dim] != 1)
        return orr_error(ORR_ERR_SHAPE, "squeeze: dim %d has size %lld, not 1", dim, (long long)t->shape[dim]);
    if ((st = new_header(out, t))) return st;
    orr_tensor *v = *out;
    for (int d = dim; d + 1 < v->ndim; d++) {
        v->shape[d] = v->shape[d + 1];
        v->stride[d] = v->stride[d + 1];
    }
    v->ndim--;
    return ORR_OK;
}

orr_status orr_tensor_expand(orr_tensor **out, const orr_tensor *t, int ndim, const int64_t *shape) {
    char a[200], b[200];
    orr_status st;
    *out = NULL;
    if (!t || (!shape && ndim)) return orr_error(ORR_ERR_ARGUMENT, "expand: tensor or shape is NULL");
    if (ndim < t->ndim || ndim > ORR_MAX_DIMS)
        return orr_error(ORR_ERR_SHAPE, "expand: cannot expand %s to %d dims", orr_tensor_describe(t, a, sizeof a),
                         ndim);
    int lead = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) {
        int64_t have = d < lead ? 1 : t->shape[d - lead];
        if (have != shape[d] && have != 1)
            return orr_error(ORR_ERR_SHAPE, "expand: cannot expand %s to %s", orr_tensor_describe(t, a, sizeof a),
                             orr_shape_str(ndim, shape, b, sizeof b));
    }
    if ((st = new_header(out, t))) return st;
    orr_tensor *v = *out;
    for (int d = ndim - 1; d >= 0; d--) {
        int64_t have = d < lead ? 1 : t->shape[d - lead];
        v->stride[d] = have == shape[d] && d >= lead ? t->stride[d - lead] : 0;
        v->shape[d] = shape[d];
    }
    v->ndim = ndim;
    return ORR_OK;
}

/* Resolves one -1 in a requested shape against numel. */
static orr_status infer_shape(const char *op, const orr_tensor *t, int ndim, const int64_t *shape, int64_t *resolved) {
    char a[200], b[200];
    int64_t numel = orr_tensor_numel(t), known = 1;
    int infer = -1;
    if (ndim < 0 || ndim > ORR_MAX_DIMS || (!shape && ndim))
        return orr_error(ORR_ERR_SHAPE, "%s: invalid target of %d dims", op, ndim);
    for (int d = 0; d < ndim; d++) {
        resolved[d] = shape[d];
        if (shape[d] == -1) {
            if (infer >= 0) return orr_error(ORR_ERR_SHAPE, "%s: more than one -1 in the shape", op);
            infer = d;
        } else if (shape[d] < 0 || orr_mul_overflows(known, shape[d], &known)) {
            return orr_error(ORR_ERR_SHAPE, "%s: invalid shape %s", op, orr_shape_str(ndim, shape, b, sizeof b));
        }
    }
    if (infer >= 0 && known && numel % known == 0) resolved[infer] = numel / known;
    int64_t total = 1;
    for (int d = 0; d < ndim; d++) total *= resolved[d];
    if (total != numel || (infer >= 0 && !known))
        return orr_error(ORR_ERR_SHAPE, "%s: cannot reshape %s to %s", op, orr_tensor_describe(t, a, sizeof a),
                         orr_shape_str(ndim, shape, b, sizeof b));
    return ORR_OK;
}

/* Strides for a view of t with `shape`, when each chunk of old dims that
 * merges or splits is itself contiguous (the rule PyTorch's view uses). */
static bool view_strides(const orr_tensor *t, int ndim, const int64_t *shape, int64_t *strides) {
    if (orr_tensor_numel(t) == 0) {
        int64_t s = 1;
        for (int d = ndim - 1; d >= 0; d--) strides[d] = s, s *= shape[d] ? shape[d] : 1;
        return true;
    }
    int view_d = ndim - 1;
    int64_t chunk_base_stride = t->ndim ? t->stride[t->ndim - 1] : 1, tensor_numel = 1, view_numel = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        tensor_numel *= t->shape[d];
        if (d == 0 || (t->shape[d - 1] != 1 && t->stride[d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
                strides[view_d] = view_numel * chunk_base_stride;
                view_numel *= shape[view_d];
                view_d--;
            }
            if (view_numel != tensor_numel) return false;
            if (d > 0) {
                chunk_base_stride = t->stride[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    while (view_d >= 0) strides[view_d--] = chunk_base_stride; /* trailing size-1 dims */
    return true;
}

orr_status orr_tensor_view_as(orr_tensor **out, const orr_tensor *t, int ndim, const int64_t *shape) {
    char a[200], b[200];
    int64_t resolved[ORR_MAX_DIMS], strides[ORR_MAX_DIMS];
    orr_status st;
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "view_as: tensor is NULL");
    if ((st = infer_shape("view_as", t, ndim, shape, resolved))) return st;
    if (!view_strides(t, ndim, resolved, strides))
        return orr_error(ORR_ERR_SHAPE, "view_as: %s with its strides cannot be viewed as %s (use reshape)",
                         orr_tensor_describe(t, a, sizeof a), orr_shape_str(ndim, resolved, b, sizeof b));
    if ((st = new_header(out, t))) return st;
    (*out)->ndim = ndim;
    memcpy((*out)->shape, resolved, sizeof(int64_t) * (size_t)ndim);
    memcpy((*out)->stride, strides, sizeof(int64_t) * (size_t)ndim);
    return ORR_OK;
}

orr_status orr_tensor_reshape(orr_tensor **out, const orr_tensor *t, int ndim, const int64_t *shape) {
    int64_t resolved[ORR_MAX_DIMS], strides[ORR_MAX_DIMS];
    orr_status st;
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "reshape: tensor is NULL");
    if ((st = infer_shape("reshape", t, ndim, shape, resolved))) return st;
    if (view_strides(t, ndim, resolved, strides)) return orr_tensor_view_as(out, t, ndim, resolved);
    orr_tensor *copy;
    if ((st = orr_tensor_clone(&copy, t, t->dtype))) return st;
    st = orr_tensor_view_as(out, copy, ndim, resolved);
    orr_tensor_free(copy);
    return st;
}

orr_status orr_tensor_contiguous(orr_tensor **out, const orr_tensor *t) {
    *out = NULL;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "contiguous: tensor is NULL");
    if (orr_tensor_is_contiguous(t)) return new_header(out, t);
    return orr_tensor_clone(out, t, t->dtype);
}
