/* test_elementwise_cuda.c — the CUDA elementwise kernels against the
 * orr_ref_ oracles: broadcasting binaries (merged, strided and flat paths,
 * aligned and not), every unary op in f32 and bf16, affine, reductions
 * along each axis kind, reduce_all, the non-finite count, softmax, the
 * three pad modes and the DiT's gated residual; NaN propagation as the
 * CPU contract promises. Tolerances: exact where the operations are the
 * same (binary, affine, max/min, count, pad, gated residual), 1e-5
 * relative for the libm maps and softmax, 1e-6 for sums (double on both
 * sides), 1e-2 for bf16. Skipped (77) without a usable device. */
#include "cuda/cuda_internal.h"
#include "cuda/elementwise.h"
#include "elementwise.h"
#include "gpu_test_util.h"

static cudaStream_t stream;

/* got and want agree within rel (of max |want|, at least 1); NaN must sit
 * in the same places. */
static void check_close_nan(const char *what, const float *got, const float *want, long n, double rel) {
    double max_ref = 1, max_diff = 0;
    long nan_mismatch = 0;
    for (long i = 0; i < n; i++) {
        if (isnan(want[i]) || isnan(got[i])) {
            nan_mismatch += isnan(want[i]) != isnan(got[i]);
            continue;
        }
        if (isinf(want[i]) || isinf(got[i])) {
            nan_mismatch += got[i] != want[i];
            continue;
        }
        if (fabs(want[i]) > max_ref) max_ref = fabs(want[i]);
        if (fabs((double)got[i] - want[i]) > max_diff) max_diff = fabs((double)got[i] - want[i]);
    }
    test_checks++;
    if (nan_mismatch || max_diff > rel * max_ref) {
        test_failures++;
        fprintf(stderr, "%s: max diff %.3g (limit %.3g), %ld NaN/Inf mismatches\n", what, max_diff, rel * max_ref,
                nan_mismatch);
    }
}

/* ---- binary ------------------------------------------------------------------ */

/* a and b have their own shapes (1 where broadcast) of out's rank;
 * `offset` shifts every device buffer by that many floats (misaligned). */
static void binary_case(int ndim, const int64_t *shape, const int64_t *a_shape, const int64_t *b_shape,
                        orr_binary_op op, int offset, bool with_nan) {
    int64_t as[ORR_MAX_DIMS], bs[ORR_MAX_DIMS], na = 1, nb = 1, total = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        as[d] = a_shape[d] == 1 ? 0 : na;
        bs[d] = b_shape[d] == 1 ? 0 : nb;
        na *= a_shape[d];
        nb *= b_shape[d];
        total *= shape[d];
    }
    float *a = test_filled(na, 11, 2.0f, 0.0f), *b = test_filled(nb, 12, 2.0f, 0.0f);
    if (op == ORR_DIV)
        for (long i = 0; i < nb; i++) b[i] += b[i] < 0 ? -0.25f : 0.25f;
    if (with_nan) {
        a[na / 2] = NAN;
        b[0] = NAN;
    }
    float *want = malloc(sizeof(float) * (size_t)total), *got = malloc(sizeof(float) * (size_t)total);
    orr_ref_binary(want, a, as, b, bs, ndim, shape, op);
    float *da = gpu_alloc(sizeof(float) * (size_t)(na + offset));
    float *db = gpu_alloc(sizeof(float) * (size_t)(nb + offset));
    float *dout = gpu_alloc(sizeof(float) * (size_t)(total + offset));
    CHECK(cudaMemcpy(da + offset, a, sizeof(float) * (size_t)na, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cudaMemcpy(db + offset, b, sizeof(float) * (size_t)nb, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK_OK(orr_cuda_binary(dout + offset, da + offset, as, db + offset, bs, ndim, shape, op, stream));
    gpu_download(got, dout + offset, sizeof(float) * (size_t)total, stream);
    char what[96];
    snprintf(what, sizeof what, "binary op %d ndim %d total %lld offset %d", (int)op, ndim, (long long)total, offset);
    check_exact(what, got, want, total);
    GPU_FREE(da, db, dout);
    HOST_FREE(a, b, want, got);
}

static void test_binary(void) {
    const int64_t s3[3] = {3, 5, 7}, row[3] = {1, 5, 1}, col[3] = {3, 1, 7}, one[3] = {1, 1, 1};
    const int64_t flat[1] = {100003};
    const int64_t big[4] = {2, 3, 67, 129}, bcast[4] = {2, 1, 67, 1};
    for (orr_binary_op op = ORR_ADD; op <= ORR_MIN; op++) {
        binary_case(3, s3, s3, s3, op, 0, false);
        binary_case(3, s3, s3, row, op, 0, false);
        binary_case(3, s3, col, row, op, 1, false);
        binary_case(3, s3, s3, one, op, 0, false);
        binary_case(1, flat, flat, flat, op, 0, false);
        binary_case(1, flat, flat, flat, op, 1, false);
        binary_case(4, big, big, bcast, op, 0, false);
        binary_case(0, NULL, NULL, NULL, op, 0, false);
    }
    /* NaN wins max and min on either side, and flows through arithmetic */
    for (orr_binary_op op = ORR_ADD; op <= ORR_MIN; op++) binary_case(3, s3, s3, row, op, 0, true);
    const int64_t neg[1] = {-1}, zero_stride[1] = {0};
    CHECK_FAILS(orr_cuda_binary(NULL, NULL, zero_stride, NULL, zero_stride, 1, neg, ORR_ADD, stream),
                ORR_ERR_ARGUMENT, "negative");
    const int64_t empty[2] = {4, 0}, st2[2] = {0, 1};
    CHECK_OK(orr_cuda_binary(NULL, NULL, st2, NULL, st2, 2, empty, ORR_ADD, stream));
}

/* ---- unary, affine -------------------------------------------------------------- */

static void test_unary(void) {
    const long n = 4099;
    float *a = test_filled(n, 21, 4.0f, 0.0f), *want = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    a[7] = NAN;
    a[8] = INFINITY;
    a[9] = -INFINITY;
    a[10] = 0.0f;
    float *da = gpu_upload(a, sizeof(float) * n), *dout = gpu_alloc(sizeof(float) * n);
    uint16_t *abf = malloc(sizeof(uint16_t) * n), *gotbf = malloc(sizeof(uint16_t) * n);
    float *arounded = malloc(sizeof(float) * n), *gotf = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) {
        abf[i] = orr_f32_to_bf16(a[i]);
        arounded[i] = orr_bf16_to_f32(abf[i]);
    }
    uint16_t *dabf = gpu_upload(abf, sizeof(uint16_t) * n), *doutbf = gpu_alloc(sizeof(uint16_t) * n);
    for (orr_unary_op op = ORR_IDENTITY; op <= ORR_COS; op++) {
        char what[64];
        orr_ref_unary(want, a, n, op);
        CHECK_OK(orr_cuda_unary(dout, da, n, op, stream));
        gpu_download(got, dout, sizeof(float) * n, stream);
        snprintf(what, sizeof what, "unary op %d", (int)op);
        check_close_nan(what, got, want, n, 1e-5);
        /* in place, on an odd count from a misaligned start */
        CHECK(cudaMemcpyAsync(dout, da, sizeof(float) * n, cudaMemcpyDeviceToDevice, stream) == cudaSuccess);
        CHECK_OK(orr_cuda_unary(dout + 1, dout + 1, n - 2, op, stream));
        gpu_download(got, dout + 1, sizeof(float) * (n - 2), stream);
        snprintf(what, sizeof what, "unary op %d in place", (int)op);
        check_close_nan(what, got, want + 1, n - 2, 1e-5);
        /* bf16: the oracle on the rounded inputs, rounded */
        orr_ref_unary(want, arounded, n, op);
        for (long i = 0; i < n; i++) want[i] = orr_bf16_to_f32(orr_f32_to_bf16(want[i]));
        CHECK_OK(orr_cuda_unary_bf16(doutbf, dabf, n, op, stream));
        gpu_download(gotbf, doutbf, sizeof(uint16_t) * n, stream);
        test_widen(gotf, gotbf, ORR_BF16, n);
        snprintf(what, sizeof what, "unary_bf16 op %d", (int)op);
        check_close_nan(what, gotf, want, n, 1e-2);
    }
    orr_ref_affine(want, a, n, 1.75f, -0.3f);
    CHECK_OK(orr_cuda_affine(dout, da, n, 1.75f, -0.3f, stream));
    gpu_download(got, dout, sizeof(float) * n, stream);
    check_exact("affine", got, want, n);
    CHECK_OK(orr_cuda_affine(dout + 3, da + 3, n - 3, 1.75f, -0.3f, stream));
    gpu_download(got, dout + 3, sizeof(float) * (n - 3), stream);
    check_exact("affine misaligned", got, want + 3, n - 3);
    CHECK_FAILS(orr_cuda_unary(dout, da, -1, ORR_EXP, stream), ORR_ERR_ARGUMENT, "negative");
    CHECK_FAILS(orr_cuda_unary(dout, da, 4, (orr_unary_op)99, stream), ORR_ERR_ARGUMENT, "op");
    CHECK_OK(orr_cuda_unary(dout, da, 0, ORR_EXP, stream));
    GPU_FREE(da, dout, dabf, doutbf);
    HOST_FREE(a, want, got, abf, gotbf, arounded, gotf);
}

/* ---- reductions ------------------------------------------------------------------ */

static void reduce_case(int64_t outer, int64_t n, int64_t inner, bool with_nan) {
    const long total = (long)(outer * n * inner), outs = (long)(outer * inner);
    float *a = test_filled(total, 31, 3.0f, 0.0f);
    float *want = malloc(sizeof(float) * (outs + 1)), *got = malloc(sizeof(float) * (outs + 1));
    if (with_nan && total) a[total / 3] = NAN;
    float *da = gpu_upload(a, sizeof(float) * total), *dout = gpu_alloc(sizeof(float) * (outs + 1));
    for (orr_reduce_op op = ORR_SUM; op <= ORR_AMIN; op++) {
        if (n == 0 && op >= ORR_AMAX) continue;
        char what[96];
        orr_ref_reduce(want, a, outer, n, inner, op);
        CHECK_OK(orr_cuda_reduce(dout, da, outer, n, inner, op, stream));
        gpu_download(got, dout, sizeof(float) * outs, stream);
        snprintf(what, sizeof what, "reduce op %d [%lld, %lld, %lld]%s", (int)op, (long long)outer, (long long)n,
                 (long long)inner, with_nan ? " with NaN" : "");
        if (op >= ORR_AMAX) check_exact(what, got, want, outs);
        else check_close_nan(what, got, want, outs, 1e-6);
    }
    GPU_FREE(da, dout);
    HOST_FREE(a, want, got);
}

static void reduce_all_case(long n, bool with_nan) {
    float *a = test_filled(n, 41, 1.0f, 0.0f);
    if (with_nan && n) a[n - 1] = NAN;
    double abs_sum = 0;
    for (long i = 0; i < n; i++) abs_sum += fabs(a[i]);
    float *da = gpu_upload(a, sizeof(float) * n);
    double *dout = gpu_alloc(sizeof(double)), got;
    for (orr_reduce_op op = ORR_SUM; op <= ORR_AMIN; op++) {
        if (n == 0 && op >= ORR_AMAX) {
            CHECK_FAILS(orr_cuda_reduce_all(dout, da, n, op, stream), ORR_ERR_ARGUMENT, "no elements");
            continue;
        }
        double want = orr_ref_reduce_all(a, n, op);
        CHECK_OK(orr_cuda_reduce_all(dout, da, n, op, stream));
        gpu_download(&got, dout, sizeof got, stream);
        test_checks++;
        bool ok = isnan(want) ? isnan(got) : fabs(got - want) <= 1e-12 * (abs_sum > 1 ? abs_sum : 1);
        if (!ok) {
            test_failures++;
            fprintf(stderr, "reduce_all op %d n %ld: %.17g vs %.17g\n", (int)op, n, got, want);
        }
    }
    int64_t *dcount = gpu_alloc(sizeof(int64_t)), count = -1;
    CHECK_OK(orr_cuda_count_nonfinite(dcount, da, n, stream));
    gpu_download(&count, dcount, sizeof count, stream);
    CHECK(count == orr_ref_count_nonfinite(a, n));
    GPU_FREE(da, dout, dcount);
    free(a);
}

static void test_reduce(void) {
    reduce_case(3, 17, 1, false);
    reduce_case(4, 1000, 1, false);
    reduce_case(2, 33, 5, false);
    reduce_case(3, 7, 45, false);
    reduce_case(1, 4097, 1, true);
    reduce_case(2, 33, 5, true);
    reduce_case(2, 0, 3, false); /* SUM 0, MEAN NaN */
    reduce_all_case(0, false);
    reduce_all_case(1, false);
    reduce_all_case(1003, false);
    reduce_all_case((1 << 20) + 5, false);
    reduce_all_case(70001, true);
    /* the non-finite count over every kind */
    const long n = 100003;
    float *a = test_filled(n, 51, 1.0f, 0.0f);
    for (long i = 0; i < n; i += 997) a[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
    float *da = gpu_upload(a, sizeof(float) * n);
    int64_t *dcount = gpu_alloc(sizeof(int64_t)), count = -1;
    CHECK_OK(orr_cuda_count_nonfinite(dcount, da, n, stream));
    gpu_download(&count, dcount, sizeof count, stream);
    CHECK(count == orr_ref_count_nonfinite(a, n) && count > 0);
    CHECK_FAILS(orr_cuda_reduce(NULL, da, 1, 0, 1, ORR_AMAX, stream), ORR_ERR_ARGUMENT, "empty");
    GPU_FREE(da, dcount);
    free(a);
}

/* ---- softmax ---------------------------------------------------------------------- */

static void softmax_case(int64_t outer, int64_t n, int64_t inner, int special) {
    const long total = (long)(outer * n * inner);
    float *a = test_filled(total, 61, 6.0f, 0.0f);
    float *want = malloc(sizeof(float) * total), *got = malloc(sizeof(float) * total);
    if (special == 1)
        for (int64_t i = 0; i < n; i++) a[i * inner] = -INFINITY; /* first row -> NaN */
    if (special == 2) a[total - 1] = NAN;                          /* its row -> NaN */
    orr_ref_softmax(want, a, outer, n, inner);
    float *da = gpu_upload(a, sizeof(float) * total), *dout = gpu_alloc(sizeof(float) * total);
    CHECK_OK(orr_cuda_softmax(dout, da, outer, n, inner, stream));
    gpu_download(got, dout, sizeof(float) * total, stream);
    char what[96];
    snprintf(what, sizeof what, "softmax [%lld, %lld, %lld] case %d", (long long)outer, (long long)n,
             (long long)inner, special);
    check_close_nan(what, got, want, total, 1e-5);
    CHECK_OK(orr_cuda_softmax(da, da, outer, n, inner, stream)); /* in place */
    gpu_download(got, da, sizeof(float) * total, stream);
    check_close_nan(what, got, want, total, 1e-5);
    GPU_FREE(da, dout);
    HOST_FREE(a, want, got);
}

static void test_softmax(void) {
    softmax_case(5, 37, 1, 0);
    softmax_case(3, 5000, 1, 0);
    softmax_case(2, 7, 3, 0);
    softmax_case(3, 9, 1, 1);
    softmax_case(3, 9, 1, 2);
    softmax_case(2, 7, 3, 1);
    softmax_case(2, 7, 3, 2);
}

/* ---- pad -------------------------------------------------------------------------- */

static void pad_case(int ndim, const int64_t *in_shape, const int64_t *pads, orr_pad_mode mode) {
    int64_t nin = 1, nout = 1;
    for (int d = 0; d < ndim; d++) {
        nin *= in_shape[d];
        nout *= in_shape[d] + pads[2 * d] + pads[2 * d + 1];
    }
    float *in = test_filled(nin, 71, 1.0f, 0.0f);
    float *want = malloc(sizeof(float) * nout), *got = malloc(sizeof(float) * nout);
    orr_ref_pad(want, in, ndim, in_shape, pads, mode, 2.5f);
    float *din = gpu_upload(in, sizeof(float) * nin), *dout = gpu_alloc(sizeof(float) * nout);
    CHECK_OK(orr_cuda_pad(dout, din, ndim, in_shape, pads, mode, 2.5f, stream));
    gpu_download(got, dout, sizeof(float) * nout, stream);
    char what[64];
    snprintf(what, sizeof what, "pad mode %d ndim %d", (int)mode, ndim);
    check_exact(what, got, want, nout);
    GPU_FREE(din, dout);
    HOST_FREE(in, want, got);
}

static void test_pad(void) {
    const int64_t shape[3] = {3, 5, 7}, pads[6] = {1, 0, 2, 3, 4, 1}, crop[6] = {0, -1, -2, 1, 3, -3};
    const int64_t shape5[5] = {2, 3, 4, 5, 6}, pads5[10] = {0, 0, 1, 1, 2, 0, 0, 3, 1, 2};
    for (orr_pad_mode mode = ORR_PAD_CONSTANT; mode <= ORR_PAD_REFLECT; mode++) {
        pad_case(3, shape, pads, mode);
        pad_case(3, shape, crop, mode);
        pad_case(5, shape5, pads5, mode);
    }
    const int64_t bad[6] = {0, 0, 5, 0, 0, 0};
    CHECK_FAILS(orr_cuda_pad(NULL, NULL, 3, shape, bad, ORR_PAD_REFLECT, 0.0f, stream), ORR_ERR_ARGUMENT, "reflect");
}

/* ---- gated residual ---------------------------------------------------------------- */

static void test_gated_residual(void) {
    const int64_t B = 2, N = 37, D = 67, rows = B * N, stride = 3 * D;
    float *x = test_filled(rows * D, 81, 1.0f, 0.0f), *y = test_filled(rows * D, 82, 1.0f, 0.0f);
    float *mod = test_filled(B * stride, 83, 1.0f, 0.0f);
    float *want = malloc(sizeof(float) * rows * D), *got = malloc(sizeof(float) * rows * D);
    uint16_t *ybf = malloc(sizeof(uint16_t) * rows * D);
    for (int64_t i = 0; i < rows * D; i++) ybf[i] = orr_f32_to_bf16(y[i]);
    const float *gate = mod + 2 * D;
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t i = 0; i < D; i++) {
                float yv = pass ? orr_bf16_to_f32(ybf[r * D + i]) : y[r * D + i];
                float prod = gate[r / N * stride + i] * yv;
                want[r * D + i] = x[r * D + i] + prod;
            }
        float *dx = gpu_upload(x, sizeof(float) * rows * D), *dmod = gpu_upload(mod, sizeof(float) * B * stride);
        void *dy = pass ? gpu_upload(ybf, sizeof(uint16_t) * rows * D) : gpu_upload(y, sizeof(float) * rows * D);
        CHECK_OK(orr_cuda_gated_residual(dx, dy, pass ? ORR_BF16 : ORR_F32, dmod + 2 * D, rows, D, N, stride, stream));
        gpu_download(got, dx, sizeof(float) * rows * D, stream);
        check_exact(pass ? "gated_residual bf16" : "gated_residual f32", got, want, rows * D);
        GPU_FREE(dx, dmod, dy);
    }
    CHECK_FAILS(orr_cuda_gated_residual(NULL, NULL, ORR_F16, NULL, 1, 1, 1, 3, stream), ORR_ERR_DTYPE, "f16");
    HOST_FREE(x, y, mod, want, got, ybf);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_elementwise_cuda");
    stream = orr_cuda_stream();
    CHECK(stream != NULL);
    test_binary();
    test_unary();
    test_reduce();
    test_softmax();
    test_pad();
    test_gated_residual();
    return test_finish("test_elementwise_cuda");
}
