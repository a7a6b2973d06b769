/* ops/linear.c — orr_linear and orr_matmul. Operands that BLAS can read in
 * place (row-strided rows, transposed matrices, broadcast batch dims) are
 * handed over as they are; anything else is copied to a contiguous f32
 * tensor first. 16-bit linear weights are never widened whole here: the
 * kernel widens them a panel at a time. */
#include <limits.h>

#include "cuda/device.h"
#include "internal.h"
#include "linear.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/linear.h"
#endif

/* Whether the dims of t before its last merge into one dim of *rows rows,
 * row i starting i * *ld elements in (size-1 dims take any stride). */
static bool rows_collapse(const orr_tensor *t, int64_t *rows, int64_t *ld) {
    int64_t count = 1, inner = -1, expect = 0;
    for (int d = t->ndim - 2; d >= 0; d--) {
        count *= t->shape[d];
        if (t->shape[d] == 1) continue;
        if (inner < 0)
            inner = t->stride[d];
        else if (t->stride[d] != expect)
            return false;
        expect = t->stride[d] * t->shape[d];
    }
    *rows = count;
    *ld = inner >= 0 ? inner : t->shape[t->ndim - 1];
    return true;
}

/* Whether t can serve as a `dtype` matrix of `cols` columns that BLAS
 * (or cuBLASLt) reads or writes in place. */
static bool rows_in_place(const orr_tensor *t, orr_dtype dtype, int64_t cols, int64_t *ld) {
    int64_t rows;
    if (t->dtype != dtype) return false;
    if (cols > 1 && t->stride[t->ndim - 1] != 1) return false;
    if (!rows_collapse(t, &rows, ld)) return false;
    return rows <= 1 || *ld >= (cols > 1 ? cols : 1);
}

static orr_status check_blas_size(const char *op, const char *arg, int64_t v) {
    if (v > INT_MAX)
        return orr_error(ORR_ERR_UNSUPPORTED, "%s: %s has an extent or stride of %lld, beyond BLAS's int", op, arg,
                         (long long)v);
    return ORR_OK;
}

/* Whether w's rows are contiguous with a row stride >= K, as both kernels
 * read it; *ldw is that stride. */
static bool weight_in_place(const orr_tensor *w, int64_t in, int64_t out, int64_t *ldw) {
    if (!((in <= 1 || w->stride[1] == 1) && (out <= 1 || w->stride[0] >= (in > 1 ? in : 1)))) return false;
    *ldw = out > 1 ? w->stride[0] : in;
    return true;
}

#ifdef ORR_HAVE_CUDA
/* On the device the product runs in w's dtype: 16-bit weights take x
 * rounded to theirs (products in bf16/f16, accumulated in f32, as cuBLASLt
 * does it), and y is written as f32 or in that dtype. */
static orr_status linear_cuda(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, const orr_tensor *b,
                              int64_t rows, int64_t in, int64_t out) {
    if (rows == 0 || out == 0) return ORR_OK;
    if (in == 0) return b ? orr_copy(y, b) : orr_fill(y, 0.0);
    const orr_dtype dt = w->dtype, yt = y->dtype == dt ? dt : ORR_F32;
    orr_tensor *x_tmp = NULL, *w_tmp = NULL, *b_tmp = NULL, *y_tmp = NULL;
    const void *xd = x->data, *wd = w->data, *bd = NULL;
    void *yd = y->data;
    int64_t ldx, ldw, ldy;
    orr_status st = ORR_OK;
    if (!rows_in_place(x, dt, in, &ldx)) {
        if ((st = orr_tensor_clone(&x_tmp, x, dt))) goto done;
        xd = x_tmp->data;
        ldx = in;
    }
    if (!weight_in_place(w, in, out, &ldw)) {
        if ((st = orr_tensor_clone(&w_tmp, w, dt))) goto done;
        wd = w_tmp->data;
        ldw = in;
    }
    if (b && b->dtype == yt && orr_tensor_is_contiguous(b)) {
        bd = b->data;
    } else if (b) {
        if ((st = orr_tensor_clone(&b_tmp, b, yt))) goto done;
        bd = b_tmp->data;
    }
    if (!rows_in_place(y, yt, out, &ldy)) {
        if ((st = orr_tensor_empty_on(ORR_CUDA, &y_tmp, yt, y->ndim, y->shape))) goto done;
        yd = y_tmp->data;
        ldy = out;
    }
    st = orr_cuda_linear(yd, yt, ldy, xd, ldx, wd, dt, ldw, bd, rows, in, out, 0, orr_cuda_stream());
    if (!st && y_tmp) st = orr_copy(y, y_tmp);
done:
    orr_tensor_free(y_tmp);
    orr_tensor_free(x_tmp);
    orr_tensor_free(w_tmp);
    orr_tensor_free(b_tmp);
    return st;
}
#endif

orr_status orr_linear(orr_tensor *y, const orr_tensor *x, const orr_tensor *w, const orr_tensor *b) {
    const char *op = "linear";
    orr_status st;
    char dx[200], dw[200], dy[200], db[200];
    orr_device dev;
    if ((st = orr_op_device(op, "y", y, &dev)) || (st = orr_check_device(op, "x", x, dev)) ||
        (st = orr_check_device(op, "w", w, dev)))
        return st;
    if (b && (st = orr_check_device(op, "b", b, dev))) return st;
    if (w->dtype != ORR_F32 && w->dtype != ORR_BF16 && w->dtype != ORR_F16)
        return orr_error(ORR_ERR_DTYPE, "linear: w is %s; it must be f32, bf16 or f16",
                         orr_tensor_describe(w, dw, sizeof dw));
    if (w->ndim != 2)
        return orr_error(ORR_ERR_SHAPE, "linear: w is %s but must be [N,K]", orr_tensor_describe(w, dw, sizeof dw));
    if (x->ndim < 1) return orr_error(ORR_ERR_SHAPE, "linear: x is a scalar; it needs a last dim of K");
    int64_t in = w->shape[1], out = w->shape[0];
    if (x->shape[x->ndim - 1] != in)
        return orr_error(ORR_ERR_SHAPE, "linear: w is %s but x's last dim is %lld (x is %s)",
                         orr_tensor_describe(w, dw, sizeof dw), (long long)x->shape[x->ndim - 1],
                         orr_tensor_describe(x, dx, sizeof dx));
    if (b && (b->ndim != 1 || b->shape[0] != out))
        return orr_error(ORR_ERR_SHAPE, "linear: b is %s but w has %lld rows (N)",
                         orr_tensor_describe(b, db, sizeof db), (long long)out);
    bool y_ok = y->ndim == x->ndim && y->shape[y->ndim - 1] == out;
    for (int d = 0; y_ok && d < x->ndim - 1; d++) y_ok = y->shape[d] == x->shape[d];
    if (!y_ok)
        return orr_error(ORR_ERR_SHAPE,
                         "linear: y is %s but x is %s and w is %s, so y must be x's shape with last dim %lld",
                         orr_tensor_describe(y, dy, sizeof dy), orr_tensor_describe(x, dx, sizeof dx),
                         orr_tensor_describe(w, dw, sizeof dw), (long long)out);

    int64_t rows = 1, ldx = in, ldy = out, ldw = in;
    for (int d = 0; d < x->ndim - 1; d++) rows *= x->shape[d];
#ifdef ORR_HAVE_CUDA
    if (dev == ORR_CUDA) return linear_cuda(y, x, w, b, rows, in, out);
#endif
    orr_tensor *x_tmp = NULL, *w_tmp = NULL, *b_tmp = NULL, *y_tmp = NULL;
    const float *xd = NULL, *bd = NULL;
    float *yd = NULL;
    const void *wd = w->data;
    if (!rows_in_place(x, ORR_F32, in, &ldx)) {
        if ((st = orr_input_f32(x, &x_tmp, &xd))) goto done;
        ldx = in;
    } else {
        xd = x->data;
    }
    /* else a same-dtype copy */
    if (!weight_in_place(w, in, out, &ldw)) {
        if ((st = orr_tensor_clone(&w_tmp, w, w->dtype))) goto done;
        wd = w_tmp->data;
    }
    if (b && (st = orr_input_f32(b, &b_tmp, &bd))) goto done;
    if (rows_in_place(y, ORR_F32, out, &ldy)) {
        yd = y->data;
    } else {
        if ((st = orr_output_f32_begin(y, &y_tmp, &yd))) goto done;
        ldy = out;
    }
    /* the kernel cuts rows and outputs into blocks; K and the row strides go to BLAS whole */
    if ((st = check_blas_size(op, "x", in)) || (st = check_blas_size(op, "x", ldx)) ||
        (st = check_blas_size(op, "w", ldw)) || (st = check_blas_size(op, "y", ldy)))
        goto done;
    if ((st = orr_cpu_linear(yd, ldy, xd, ldx, wd, w->dtype, ldw, bd, rows, in, out))) goto done;
    st = orr_output_f32_end(y, y_tmp);
    y_tmp = NULL;
done:
    orr_tensor_free(y_tmp);
    orr_tensor_free(x_tmp);
    orr_tensor_free(w_tmp);
    orr_tensor_free(b_tmp);
    return st;
}

/* ---- matmul ---------------------------------------------------------------- */

/* The batch strides of t against c's batch dims (right-aligned; a missing
 * or size-1 dim broadcasts with stride 0). */
static void batch_strides(const orr_tensor *t, int batch_ndim, int64_t *strides) {
    int t_batch = t->ndim - 2;
    for (int d = 0; d < batch_ndim; d++) {
        int td = d - (batch_ndim - t_batch);
        strides[d] = td >= 0 && t->shape[td] != 1 ? t->stride[td] : 0;
    }
}

/* An operand of `dtype` the kernel reads in place (row- or column-major),
 * or a contiguous copy in that dtype; *view is the one to read. */
static orr_status matmul_operand(const orr_tensor *t, orr_dtype dtype, orr_tensor **tmp, const orr_tensor **view) {
    bool trans;
    int64_t ld;
    int n = t->ndim;
    *tmp = NULL;
    *view = t;
    if (t->dtype == dtype &&
        orr_cpu_blas_layout(t->stride[n - 2], t->stride[n - 1], t->shape[n - 2], t->shape[n - 1], &trans, &ld))
        return ORR_OK;
    orr_status st = orr_tensor_clone(tmp, t, dtype);
    if (!st) *view = *tmp;
    return st;
}

static orr_status check_matmul_shapes(const orr_tensor *c, const orr_tensor *a, const orr_tensor *b) {
    char da[200], db[200], dc[200];
    if (a->ndim < 2 || b->ndim < 2 || c->ndim < 2)
        return orr_error(ORR_ERR_SHAPE, "matmul: a is %s, b is %s and c is %s; each needs at least 2 dims",
                         orr_tensor_describe(a, da, sizeof da), orr_tensor_describe(b, db, sizeof db),
                         orr_tensor_describe(c, dc, sizeof dc));
    int64_t m = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1], n = b->shape[b->ndim - 1];
    if (b->shape[b->ndim - 2] != k)
        return orr_error(ORR_ERR_SHAPE, "matmul: a is %s but b is %s: a's last dim %lld must equal b's dim -2",
                         orr_tensor_describe(a, da, sizeof da), orr_tensor_describe(b, db, sizeof db), (long long)k);
    int batch_ndim = c->ndim - 2;
    bool ok = c->shape[c->ndim - 2] == m && c->shape[c->ndim - 1] == n && a->ndim <= c->ndim && b->ndim <= c->ndim;
    for (int d = 0; ok && d < batch_ndim; d++) {
        int ad = d - (c->ndim - a->ndim), bd = d - (c->ndim - b->ndim);
        int64_t as = ad >= 0 ? a->shape[ad] : 1, bs = bd >= 0 ? b->shape[bd] : 1;
        if (as != 1 && bs != 1 && as != bs) {
            return orr_error(ORR_ERR_SHAPE, "matmul: batch dims of a (%s) and b (%s) do not broadcast",
                             orr_tensor_describe(a, da, sizeof da), orr_tensor_describe(b, db, sizeof db));
        }
        ok = c->shape[d] == (as != 1 ? as : bs);
    }
    if (!ok)
        return orr_error(ORR_ERR_SHAPE, "matmul: c is %s but a is %s and b is %s",
                         orr_tensor_describe(c, dc, sizeof dc), orr_tensor_describe(a, da, sizeof da),
                         orr_tensor_describe(b, db, sizeof db));
    return ORR_OK;
}

orr_status orr_matmul(orr_tensor *c, const orr_tensor *a, const orr_tensor *b) {
    const char *op = "matmul";
    orr_status st;
    orr_device dev;
    if ((st = orr_op_device(op, "c", c, &dev)) || (st = orr_check_device(op, "a", a, dev)) ||
        (st = orr_check_device(op, "b", b, dev)))
        return st;
    if ((st = check_matmul_shapes(c, a, b))) return st;
    if (dev == ORR_CUDA && (orr_tensor_numel(c) == 0 || a->shape[a->ndim - 1] == 0))
        return orr_tensor_numel(c) ? orr_fill(c, 0.0) : ORR_OK; /* cuBLASLt takes no empty product */

    /* the cpu computes in f32; the device multiplies 16-bit a and b of one
     * dtype as they are (f32 accumulation) and may write c in that dtype */
    orr_dtype ab = ORR_F32, ct = ORR_F32;
    if (dev == ORR_CUDA && a->dtype == b->dtype && (a->dtype == ORR_BF16 || a->dtype == ORR_F16)) {
        ab = a->dtype;
        ct = c->dtype == ab ? ab : ORR_F32;
    }
    orr_tensor *a_tmp = NULL, *b_tmp = NULL, *c_tmp = NULL;
    const orr_tensor *av, *bv, *cv = c;
    void *cd = c->data;
    if ((st = matmul_operand(a, ab, &a_tmp, &av)) || (st = matmul_operand(b, ab, &b_tmp, &bv))) goto done;
    bool trans;
    int64_t ld;
    bool c_broadcast = false; /* an expanded c would be written by several items at once */
    for (int d = 0; d < c->ndim - 2; d++) c_broadcast |= c->shape[d] > 1 && c->stride[d] == 0;
    if (!(c->dtype == ct && !c_broadcast &&
          orr_cpu_blas_layout(c->stride[c->ndim - 2], c->stride[c->ndim - 1], c->shape[c->ndim - 2],
                              c->shape[c->ndim - 1], &trans, &ld))) {
        float *staged;
        if ((st = orr_output_f32_begin(c, &c_tmp, &staged))) goto done;
        cd = staged;
        cv = c_tmp;
        ct = ORR_F32;
    }
    orr_matmul_shape s = {.m = c->shape[c->ndim - 2], .k = a->shape[a->ndim - 1], .n = c->shape[c->ndim - 1],
                          .batch_ndim = c->ndim - 2};
    for (int d = 0; d < s.batch_ndim; d++) s.batch_shape[d] = c->shape[d];
    batch_strides(av, s.batch_ndim, s.a_batch_stride);
    batch_strides(bv, s.batch_ndim, s.b_batch_stride);
    batch_strides(cv, s.batch_ndim, s.c_batch_stride);
    s.a_rs = av->stride[av->ndim - 2];
    s.a_cs = av->stride[av->ndim - 1];
    s.b_rs = bv->stride[bv->ndim - 2];
    s.b_cs = bv->stride[bv->ndim - 1];
    s.c_rs = cv->stride[cv->ndim - 2];
    s.c_cs = cv->stride[cv->ndim - 1];
#ifdef ORR_HAVE_CUDA
    if (dev == ORR_CUDA) {
        st = orr_cuda_matmul(cd, ct, av->data, bv->data, ab, &s, 0, orr_cuda_stream());
    } else
#endif
    {
        int64_t extents[] = {s.m, s.n, s.k, s.a_rs, s.a_cs, s.b_rs, s.b_cs, s.c_rs, s.c_cs};
        for (size_t i = 0; i < sizeof extents / sizeof extents[0]; i++)
            if ((st = check_blas_size(op, "an operand", extents[i]))) goto done;
        orr_cpu_matmul(cd, av->data, bv->data, &s);
    }
    if (!st) st = orr_output_f32_end(c, c_tmp);
    else orr_tensor_free(c_tmp);
    c_tmp = NULL;
done:
    orr_tensor_free(c_tmp);
    orr_tensor_free(a_tmp);
    orr_tensor_free(b_tmp);
    return st;
}
