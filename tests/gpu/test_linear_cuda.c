/* test_linear_cuda.c — orr_cuda_linear and orr_cuda_matmul against the
 * scalar oracles orr_ref_linear / orr_ref_matmul, computed on the host from
 * the same (rounded) inputs. Tolerances, relative to max(|ref|, 1):
 *   f32 (TF32 off)           1e-5
 *   f32 with TF32            5e-3  (10-bit mantissa products)
 *   bf16/f16 in, f32 out     1e-4  (exact products, f32 sums)
 *   bf16/f16 in, 16-bit out  1e-2  (one rounding of the output)
 *   GELU epilogue (tanh)     2e-4  (cuBLASLt's own tanh)
 * Shapes include odd sizes, one row, padded row strides, broadcast and
 * transposed batched operands. Skipped (77) without a usable device. */
#include "cuda/cuda_internal.h"
#include "cuda/linear.h"
#include "gpu_test_util.h"

static double gelu_tanh(double x) { return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }

/* ---- linear ------------------------------------------------------------- */

typedef struct linear_case {
    int64_t rows, in, out, ldx_pad, ldy_pad;
    orr_dtype in_dtype, y_dtype;
    bool bias;
    unsigned flags;
    double tol;
} linear_case;

static void run_linear(const linear_case *c, cudaStream_t stream) {
    const int64_t ldx = c->in + c->ldx_pad, ldy = c->out + c->ldy_pad, ldw = c->in;
    long nx = (long)(c->rows * ldx), nw = (long)(c->out * ldw), ny = (long)(c->rows * ldy);
    void *x_raw, *w_raw, *b_raw = NULL;
    float *x = test_rounded(nx, 11, 1.0f, c->in_dtype, 0, &x_raw);
    float *w = test_rounded(nw, 12, 0.5f, c->in_dtype, 0, &w_raw);
    float *b = c->bias ? test_rounded(c->out, 13, 1.0f, c->y_dtype, 0, &b_raw) : NULL;
    float *ref = calloc((size_t)ny, sizeof(float)), *got = calloc((size_t)ny, sizeof(float));
    void *y_raw = calloc((size_t)ny, orr_dtype_size(c->y_dtype));

    /* the oracle takes f32 or 16-bit weights and f32 x: x is given rounded */
    orr_ref_linear(ref, ldy, x, ldx, c->in_dtype == ORR_F32 ? (const void *)w : w_raw, c->in_dtype, ldw, b, c->rows,
                   c->in, c->out);
    if (c->flags & ORR_CUDA_GEMM_GELU_TANH)
        for (long i = 0; i < ny; i++) ref[i] = (float)gelu_tanh(ref[i]);

    size_t in_size = orr_dtype_size(c->in_dtype), y_size = orr_dtype_size(c->y_dtype);
    void *dx = gpu_upload(x_raw, (size_t)nx * in_size), *dw = gpu_upload(w_raw, (size_t)nw * in_size);
    void *db = b ? gpu_upload(b_raw, (size_t)c->out * y_size) : NULL;
    void *dy = gpu_upload(y_raw, (size_t)ny * y_size);
    CHECK_OK(orr_cuda_linear(dy, c->y_dtype, ldy, dx, ldx, dw, c->in_dtype, ldw, db, c->rows, c->in, c->out, c->flags,
                             stream));
    gpu_download(y_raw, dy, (size_t)ny * y_size, stream);
    test_widen(got, y_raw, c->y_dtype, ny);
    /* only the row's first `out` elements are written: compare those */
    for (int64_t r = 0; r < c->rows; r++)
        for (int64_t j = c->out; j < ldy; j++) got[r * ldy + j] = ref[r * ldy + j] = 0.0f;

    char what[160];
    snprintf(what, sizeof what, "linear %s->%s rows %lld in %lld out %lld ldx %lld ldy %lld%s flags %u",
             orr_dtype_name(c->in_dtype), orr_dtype_name(c->y_dtype), (long long)c->rows, (long long)c->in,
             (long long)c->out, (long long)ldx, (long long)ldy, c->bias ? " bias" : "", c->flags);
    double max_ref, diff = test_max_abs_diff(got, ref, ny, &max_ref);
    printf("%s: max diff %.3g (max |ref| %.3g)\n", what, diff, max_ref);
    CHECK_CLOSE(what, got, ref, ny, c->tol);

    GPU_FREE(dx, dw, db, dy);
    HOST_FREE(x, w, b, x_raw, w_raw, b_raw, y_raw, ref, got);
}

static void test_linear(cudaStream_t stream) {
    const linear_case cases[] = {
        {1, 7, 5, 0, 0, ORR_F32, ORR_F32, true, 0, 1e-5},
        {3, 17, 33, 0, 0, ORR_F32, ORR_F32, false, 0, 1e-5},
        {130, 257, 67, 3, 5, ORR_F32, ORR_F32, true, 0, 1e-5},
        {64, 128, 96, 0, 0, ORR_F32, ORR_F32, true, ORR_CUDA_GEMM_TF32, 5e-3},
        {77, 96, 200, 0, 0, ORR_F32, ORR_F32, true, ORR_CUDA_GEMM_GELU_TANH, 2e-4},
        {96, 320, 128, 0, 0, ORR_BF16, ORR_F32, true, 0, 1e-4},
        {33, 72, 40, 8, 8, ORR_BF16, ORR_F32, false, 0, 1e-4},
        {256, 512, 384, 0, 0, ORR_BF16, ORR_BF16, true, 0, 1e-2},
        {45, 64, 136, 0, 0, ORR_BF16, ORR_BF16, true, ORR_CUDA_GEMM_GELU_TANH, 1e-2},
        {1, 1024, 3072, 0, 0, ORR_BF16, ORR_BF16, false, 0, 1e-2},
        {50, 80, 24, 0, 0, ORR_F16, ORR_F16, true, 0, 1e-2},
        {50, 80, 24, 0, 0, ORR_F16, ORR_F32, false, 0, 1e-4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_linear(&cases[i], stream);
    /* the same shape again: the cached algorithm */
    run_linear(&cases[2], stream);
}

/* ---- batched matmul ----------------------------------------------------- */

/* Elements a strided operand spans (largest offset + 1). */
static long span(int64_t rows, int64_t cols, int64_t rs, int64_t cs, int nd, const int64_t *shape,
                 const int64_t *bstride) {
    int64_t last = (rows - 1) * rs + (cols - 1) * cs;
    for (int d = 0; d < nd; d++) last += (shape[d] - 1) * bstride[d];
    return (long)last + 1;
}

static void run_matmul(const orr_matmul_shape *s, orr_dtype ab_dtype, orr_dtype c_dtype, double tol, const char *name,
                       cudaStream_t stream) {
    long na = span(s->m, s->k, s->a_rs, s->a_cs, s->batch_ndim, s->batch_shape, s->a_batch_stride);
    long nb = span(s->k, s->n, s->b_rs, s->b_cs, s->batch_ndim, s->batch_shape, s->b_batch_stride);
    long nc = span(s->m, s->n, s->c_rs, s->c_cs, s->batch_ndim, s->batch_shape, s->c_batch_stride);
    void *a_raw, *b_raw;
    float *a = test_rounded(na, 21, 1.0f, ab_dtype, 0, &a_raw), *b = test_rounded(nb, 22, 1.0f, ab_dtype, 0, &b_raw);
    float *ref = calloc((size_t)nc, sizeof(float)), *got = calloc((size_t)nc, sizeof(float));
    void *c_raw = calloc((size_t)nc, orr_dtype_size(c_dtype));
    orr_ref_matmul(ref, a, b, s);
    size_t ab = orr_dtype_size(ab_dtype), cs = orr_dtype_size(c_dtype);
    void *da = gpu_upload(a_raw, (size_t)na * ab), *db = gpu_upload(b_raw, (size_t)nb * ab),
         *dc = gpu_upload(c_raw, (size_t)nc * cs);
    CHECK_OK(orr_cuda_matmul(dc, c_dtype, da, db, ab_dtype, s, 0, stream));
    gpu_download(c_raw, dc, (size_t)nc * cs, stream);
    test_widen(got, c_raw, c_dtype, nc);
    double max_ref, diff = test_max_abs_diff(got, ref, nc, &max_ref);
    printf("matmul %s (%s->%s): max diff %.3g (max |ref| %.3g)\n", name, orr_dtype_name(ab_dtype),
           orr_dtype_name(c_dtype), diff, max_ref);
    CHECK_CLOSE(name, got, ref, nc, tol);
    GPU_FREE(da, db, dc);
    HOST_FREE(a, b, a_raw, b_raw, c_raw, ref, got);
}

/* Row-major contiguous [batch..., m, k] x [batch..., k, n] -> [batch..., m, n]. */
static orr_matmul_shape packed(int nd, const int64_t *batch, int64_t m, int64_t k, int64_t n) {
    orr_matmul_shape s;
    memset(&s, 0, sizeof s);
    s.m = m;
    s.k = k;
    s.n = n;
    s.batch_ndim = nd;
    int64_t sa = m * k, sb = k * n, sc = m * n;
    for (int d = nd - 1; d >= 0; d--) {
        s.batch_shape[d] = batch[d];
        s.a_batch_stride[d] = sa;
        s.b_batch_stride[d] = sb;
        s.c_batch_stride[d] = sc;
        sa *= batch[d];
        sb *= batch[d];
        sc *= batch[d];
    }
    s.a_rs = k;
    s.a_cs = 1;
    s.b_rs = n;
    s.b_cs = 1;
    s.c_rs = n;
    s.c_cs = 1;
    return s;
}

static void test_matmul(cudaStream_t stream) {
    const int64_t b23[2] = {2, 3};
    orr_matmul_shape s = packed(2, b23, 19, 33, 27);
    run_matmul(&s, ORR_F32, ORR_F32, 1e-5, "packed [2,3] batch", stream);
    run_matmul(&s, ORR_BF16, ORR_F32, 1e-4, "packed [2,3] batch", stream);
    run_matmul(&s, ORR_BF16, ORR_BF16, 1e-2, "packed [2,3] batch", stream);

    /* b broadcast over the outer dim: 2 calls of a strided batch of 3 */
    orr_matmul_shape bc = packed(2, b23, 21, 40, 17);
    bc.b_batch_stride[0] = 0;
    run_matmul(&bc, ORR_F32, ORR_F32, 1e-5, "b broadcast over dim 0", stream);

    /* a column-major (a transposed view), c column-major */
    orr_matmul_shape t = packed(1, b23 + 1, 23, 31, 29);
    t.a_rs = 1;
    t.a_cs = 23;
    t.c_rs = 1;
    t.c_cs = 23;
    run_matmul(&t, ORR_F32, ORR_F32, 1e-5, "a and c column-major", stream);

    /* no batch, b column-major with a padded leading dimension */
    orr_matmul_shape p = packed(0, NULL, 40, 24, 36);
    p.b_rs = 1;
    p.b_cs = 30;
    run_matmul(&p, ORR_F16, ORR_F32, 1e-4, "b column-major, ld 30", stream);
}

/* ---- errors ------------------------------------------------------------- */

static void test_errors(cudaStream_t stream) {
    void *d = gpu_alloc(1 << 16);
    CHECK_FAILS(orr_cuda_linear(d, ORR_F32, 8, d, 8, d, ORR_I8, 8, NULL, 4, 8, 8, 0, stream), ORR_ERR_DTYPE,
                "x and w are i8");
    CHECK_FAILS(orr_cuda_linear(d, ORR_BF16, 8, d, 8, d, ORR_F32, 8, NULL, 4, 8, 8, 0, stream), ORR_ERR_DTYPE,
                "y is bf16");
    CHECK_FAILS(orr_cuda_linear(d, ORR_F32, 8, d, 4, d, ORR_F32, 8, NULL, 4, 8, 8, 0, stream), ORR_ERR_SHAPE, "ldx 4");
    CHECK_FAILS(orr_cuda_linear(d, ORR_F32, 8, d, 8, d, ORR_F32, 8, NULL, 4, 0, 8, 0, stream), ORR_ERR_SHAPE, "in 0");
    orr_matmul_shape s = packed(0, NULL, 4, 4, 4);
    s.a_rs = 2;
    s.a_cs = 2;
    CHECK_FAILS(orr_cuda_matmul(d, ORR_F32, d, d, ORR_F32, &s, 0, stream), ORR_ERR_UNSUPPORTED, "a strides (2, 2)");
    const int64_t b2[1] = {2};
    orr_matmul_shape o = packed(1, b2, 4, 4, 4);
    o.c_batch_stride[0] = 0;
    CHECK_FAILS(orr_cuda_matmul(d, ORR_F32, d, d, ORR_F32, &o, 0, stream), ORR_ERR_ARGUMENT, "batch stride 0");
    cudaFree(d);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_linear_cuda");
    cudaStream_t rt = orr_cuda_stream();
    CHECK(rt != NULL);
    if (!rt) return test_finish("test_linear_cuda");
    test_linear(rt);
    test_matmul(rt);
    test_errors(rt);

    /* a stream of the caller's own: the launchers order themselves with it */
    cudaStream_t own = NULL;
    CHECK(cudaStreamCreateWithFlags(&own, cudaStreamNonBlocking) == cudaSuccess);
    if (own) {
        const linear_case c = {70, 130, 90, 0, 0, ORR_BF16, ORR_F32, true, 0, 1e-4};
        run_linear(&c, own);
        cudaStreamDestroy(own);
    }
    return test_finish("test_linear_cuda");
}
