/* Tensors: creation, O(1) views and their strides, reshape rules, copies
 * across dtypes and strides, and the messages of bad calls. */
#include "test_util.h"

static orr_tensor *arange(int ndim, const int64_t *shape) {
    orr_tensor *t;
    if (orr_tensor_empty(&t, ORR_F32, ndim, shape)) return NULL;
    for (int64_t i = 0; i < orr_tensor_numel(t); i++) ((float *)t->data)[i] = (float)i;
    return t;
}

static void test_create(void) {
    int64_t shape[5] = {2, 3, 4, 5, 6};
    orr_tensor *t = NULL;
    CHECK_OK(orr_tensor_zeros(&t, ORR_BF16, 5, shape));
    CHECK(orr_tensor_numel(t) == 720);
    CHECK(orr_tensor_nbytes(t) == 1440);
    CHECK(t->stride[0] == 360 && t->stride[4] == 1);
    CHECK(orr_tensor_is_contiguous(t));
    CHECK(orr_tensor_get(t, 719) == 0.0);
    char buf[64];
    CHECK(strcmp(orr_tensor_describe(t, buf, sizeof buf), "bf16[2,3,4,5,6]") == 0);
    orr_tensor_free(t);

    int64_t bad[2] = {3, -1};
    CHECK_FAILS(orr_tensor_empty(&t, ORR_F32, 2, bad), ORR_ERR_SHAPE, "invalid shape [3,-1]");
    CHECK(t == NULL);
    int64_t seven[7] = {1, 1, 1, 1, 1, 1, 1};
    CHECK_FAILS(orr_tensor_empty(&t, ORR_F32, 7, seven), ORR_ERR_SHAPE, "7 dims");
    int64_t huge[3] = {1LL << 40, 1LL << 40, 1LL << 10};
    CHECK_FAILS(orr_tensor_empty(&t, ORR_F32, 3, huge), ORR_ERR_SHAPE, "invalid shape");

    orr_tensor *scalar;
    CHECK_OK(orr_tensor_empty(&scalar, ORR_F64, 0, NULL));
    CHECK(orr_tensor_numel(scalar) == 1);
    orr_tensor_set(scalar, 0, 2.5);
    CHECK(orr_tensor_get(scalar, 0) == 2.5);
    orr_tensor_free(scalar);
}

static int wrap_released;
static void on_release(void *user) { wrap_released = *(int *)user; }

static void test_wrap(void) {
    float data[6] = {0, 1, 2, 3, 4, 5};
    int64_t shape[2] = {2, 3};
    int token = 42;
    orr_tensor *t, *v;
    CHECK_OK(orr_tensor_wrap(&t, data, ORR_F32, 2, shape, on_release, &token));
    CHECK_OK(orr_tensor_transpose(&v, t, 0, 1));
    orr_tensor_free(t);
    CHECK(wrap_released == 0); /* the view still holds the storage */
    CHECK(orr_tensor_get(v, 1) == 3.0);
    orr_tensor_free(v);
    CHECK(wrap_released == 42);
}

static void test_views(void) {
    int64_t shape[3] = {2, 3, 4};
    orr_tensor *t = arange(3, shape), *v, *w;

    CHECK_OK(orr_tensor_narrow(&v, t, 2, 1, 2)); /* [2,3,2] starting at 1 */
    CHECK(v->shape[2] == 2 && v->data == (float *)t->data + 1 && !orr_tensor_is_contiguous(v));
    CHECK(orr_tensor_get(v, 2) == 5.0);
    CHECK_OK(orr_tensor_select(&w, v, 0, 1)); /* [3,2] */
    CHECK(w->ndim == 2 && orr_tensor_get(w, 0) == 13.0);
    orr_tensor_free(w);
    orr_tensor_free(v);

    CHECK_OK(orr_tensor_select(&v, t, -1, -1));
    CHECK(v->ndim == 2 && orr_tensor_get(v, 1) == 7.0);
    orr_tensor_free(v);

    int order[3] = {2, 0, 1};
    CHECK_OK(orr_tensor_permute(&v, t, order)); /* [4,2,3] */
    CHECK(v->shape[0] == 4 && v->stride[0] == 1 && v->stride[1] == 12 && v->stride[2] == 4);
    CHECK(orr_tensor_get(v, 1) == 4.0); /* v[0,0,1] = t[0,1,0] */
    orr_tensor_free(v);

    CHECK_OK(orr_tensor_unsqueeze(&v, t, 1)); /* [2,1,3,4] */
    CHECK(v->ndim == 4 && v->shape[1] == 1 && v->stride[1] == 12 && orr_tensor_is_contiguous(v));
    CHECK_OK(orr_tensor_squeeze(&w, v, 1));
    CHECK(orr_tensor_same_shape(w, t));
    orr_tensor_free(w);
    CHECK_FAILS(orr_tensor_squeeze(&w, v, 0), ORR_ERR_SHAPE, "dim 0 has size 2");
    orr_tensor_free(v);

    int64_t big[4] = {5, 2, 3, 4};
    CHECK_OK(orr_tensor_expand(&v, t, 4, big));
    CHECK(v->stride[0] == 0 && orr_tensor_get(v, 24 * 4 + 23) == 23.0);
    orr_tensor_free(v);
    int64_t bad[3] = {2, 5, 4};
    CHECK_FAILS(orr_tensor_expand(&v, t, 3, bad), ORR_ERR_SHAPE, "cannot expand f32[2,3,4] to [2,5,4]");

    CHECK_FAILS(orr_tensor_narrow(&v, t, 1, 2, 2), ORR_ERR_SHAPE, "[2, 4) is outside dim 1 of size 3");
    CHECK_FAILS(orr_tensor_select(&v, t, 3, 0), ORR_ERR_ARGUMENT, "dim 3 is out of range");
    int twice[3] = {0, 0, 1};
    CHECK_FAILS(orr_tensor_permute(&v, t, twice), ORR_ERR_ARGUMENT, "dim 0 appears twice");
    orr_tensor_free(t);
}

static void test_reshape(void) {
    int64_t shape[3] = {2, 3, 4};
    orr_tensor *t = arange(3, shape), *v, *tt, *r;
    int64_t flat[2] = {6, -1};
    CHECK_OK(orr_tensor_view_as(&v, t, 2, flat));
    CHECK(v->shape[1] == 4 && v->data == t->data);
    orr_tensor_free(v);

    /* a transposed tensor can split its dims but not merge the swapped ones */
    CHECK_OK(orr_tensor_transpose(&tt, t, 1, 2)); /* [2,4,3] */
    int64_t split[4] = {2, 2, 2, 3};
    CHECK_OK(orr_tensor_view_as(&v, tt, 4, split));
    CHECK(v->data == t->data && orr_tensor_get(v, 3) == 1.0);
    orr_tensor_free(v);
    int64_t merged[2] = {2, 12};
    CHECK_FAILS(orr_tensor_view_as(&v, tt, 2, merged), ORR_ERR_SHAPE, "use reshape");
    CHECK_OK(orr_tensor_reshape(&r, tt, 2, merged)); /* copies */
    CHECK(r->data != t->data && orr_tensor_is_contiguous(r));
    for (int64_t i = 0; i < 24; i++) CHECK(orr_tensor_get(r, i) == orr_tensor_get(tt, i));
    orr_tensor_free(r);
    int64_t wrong[2] = {5, -1};
    CHECK_FAILS(orr_tensor_reshape(&r, t, 2, wrong), ORR_ERR_SHAPE, "cannot reshape f32[2,3,4] to [5,-1]");
    int64_t two_infer[2] = {-1, -1};
    CHECK_FAILS(orr_tensor_reshape(&r, t, 2, two_infer), ORR_ERR_SHAPE, "more than one -1");

    CHECK_OK(orr_tensor_contiguous(&r, tt));
    CHECK(orr_tensor_is_contiguous(r) && r->data != t->data);
    orr_tensor_free(r);
    CHECK_OK(orr_tensor_contiguous(&r, t));
    CHECK(r->data == t->data);
    orr_tensor_free(r);
    orr_tensor_free(tt);
    orr_tensor_free(t);
}

static void test_copy(void) {
    int64_t shape[2] = {3, 5};
    orr_tensor *t = arange(2, shape), *tt, *b, *back, *row;
    CHECK_OK(orr_tensor_transpose(&tt, t, 0, 1));
    CHECK_OK(orr_tensor_clone(&b, tt, ORR_BF16)); /* strided read, converting write */
    CHECK(b->shape[0] == 5 && orr_tensor_is_contiguous(b));
    CHECK(orr_tensor_get(b, 1) == 5.0 && orr_tensor_get(b, 14) == 14.0);
    CHECK_OK(orr_tensor_clone(&back, b, ORR_I64));
    CHECK(((int64_t *)back->data)[13] == 9);
    orr_tensor_free(back);

    /* broadcast a row into every row of a transposed destination */
    int64_t rshape[1] = {3};
    CHECK_OK(orr_tensor_empty(&row, ORR_F64, 1, rshape));
    for (int i = 0; i < 3; i++) orr_tensor_set(row, i, -i);
    CHECK_OK(orr_copy(tt, row));
    CHECK(orr_tensor_get(t, 5) == -1.0 && orr_tensor_get(t, 14) == -2.0);
    int64_t bad_shape[1] = {4};
    orr_tensor *bad;
    CHECK_OK(orr_tensor_empty(&bad, ORR_F32, 1, bad_shape));
    CHECK_FAILS(orr_copy(tt, bad), ORR_ERR_SHAPE, "copy: expand: cannot expand f32[4] to [5,3]");
    orr_tensor_free(bad);
    orr_tensor_free(row);
    orr_tensor_free(b);
    orr_tensor_free(tt);
    orr_tensor_free(t);

    /* a large copy takes the threaded path */
    int64_t big[3] = {64, 33, 65};
    orr_tensor *x = arange(3, big), *xp, *y;
    int order[3] = {2, 0, 1};
    CHECK_OK(orr_tensor_permute(&xp, x, order));
    CHECK_OK(orr_tensor_clone(&y, xp, ORR_F32));
    bool same = true;
    for (int64_t i = 0; i < orr_tensor_numel(y); i += 7) same &= orr_tensor_get(y, i) == orr_tensor_get(xp, i);
    CHECK(same);
    orr_tensor_free(y);
    orr_tensor_free(xp);
    orr_tensor_free(x);
}

static void test_dtypes(void) {
    orr_dtype d;
    CHECK_OK(orr_dtype_from_name("BF16", &d));
    CHECK(d == ORR_BF16);
    CHECK_OK(orr_dtype_from_name("float32", &d));
    CHECK(d == ORR_F32);
    CHECK_FAILS(orr_dtype_from_name("f8", &d), ORR_ERR_FORMAT, "unknown dtype 'f8'");
    /* round to nearest even, halfway cases included */
    CHECK(orr_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(orr_f32_to_bf16(1.00390625f) == 0x3f80);  /* halfway, tie to even */
    CHECK(orr_f32_to_bf16(1.01171875f) == 0x3f82);  /* halfway, tie to even upward */
    CHECK(orr_bf16_to_f32(0xc0a0) == -5.0f);
    CHECK(orr_f32_to_f16(1.0f) == 0x3c00 && orr_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(orr_f32_to_f16(65520.0f) == 0x7c00);      /* rounds to inf */
    CHECK(orr_f32_to_f16(5.9604645e-8f) == 0x0001); /* smallest subnormal */
    CHECK(orr_f16_to_f32(0x0001) == 5.9604645e-8f);
    CHECK(orr_f16_to_f32(0xc000) == -2.0f);
    CHECK(orr_f16_to_f32(0x7e00) != orr_f16_to_f32(0x7e00)); /* NaN */
    /* every f16 value survives f16 -> f32 -> f16 */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaN payloads */
        if (orr_f32_to_f16(orr_f16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECK(bad == 0);
}

int main(void) {
    test_create();
    test_wrap();
    test_views();
    test_reshape();
    test_copy();
    test_dtypes();
    return test_finish("test_tensor");
}
