/* test_conv_cuda.c — orr_cuda_conv3d (cuDNN) against the scalar oracle
 * orr_ref_conv3d on the host: the tokenizer's (1,3,3), (3,1,1) and 1x1x1
 * kernels, strides, dilation, groups, time slices of bigger tensors
 * (batch/channel strides), with and without bias, computed from the same
 * rounded inputs. Tolerances, relative to max(|ref|, 1):
 *   f32 (FMA algorithms)  1e-4  (cuDNN may pick FFT or Winograd transforms)
 *   f32 with TF32         5e-3
 *   bf16                  1e-2  (f32 accumulation, output rounded)
 * Skipped (77) without a usable device. */
#include "cuda/conv.h"
#include "gpu_test_util.h"

typedef struct conv_case {
    const char *name;
    int64_t batch, cin, cout, groups;
    int64_t in[3], kernel[3], stride[3], padding[3], dilation[3];
    int64_t frames_before, frames_after; /* x is a time slice of a longer tensor */
    int64_t y_channel_pad;               /* extra elements between y's channel blocks */
    orr_dtype dtype;
    bool bias;
    unsigned flags;
    double tol;
} conv_case;

static orr_conv_shape shape_of(const conv_case *c) {
    orr_conv_shape s;
    memset(&s, 0, sizeof s);
    s.batch = c->batch;
    s.in_channels = c->cin;
    s.out_channels = c->cout;
    s.groups = c->groups;
    for (int a = 0; a < 3; a++) {
        s.in[a] = c->in[a];
        s.kernel[a] = c->kernel[a];
        s.stride[a] = c->stride[a];
        s.padding[a] = c->padding[a];
        s.dilation[a] = c->dilation[a];
    }
    for (int a = 0; a < 3; a++) s.out[a] = orr_conv_out_extent(&s, a);
    int64_t frames = c->frames_before + c->in[0] + c->frames_after;
    s.x_stride[1] = frames * c->in[1] * c->in[2];
    s.x_stride[0] = c->cin * s.x_stride[1];
    s.y_stride[1] = s.out[0] * s.out[1] * s.out[2] + c->y_channel_pad;
    s.y_stride[0] = c->cout * s.y_stride[1];
    return s;
}

static void run_case(const conv_case *c, cudaStream_t stream) {
    orr_conv_shape s = shape_of(c);
    const int64_t offset = c->frames_before * c->in[1] * c->in[2]; /* x's first element in its buffer */
    long nx = (long)(c->batch * s.x_stride[0]);
    long nw = (long)(c->cout * (c->cin / c->groups) * c->kernel[0] * c->kernel[1] * c->kernel[2]);
    long ny = (long)(c->batch * s.y_stride[0]);
    void *x_raw, *w_raw, *b_raw = NULL;
    float *x = test_rounded(nx, 41, 1.0f, c->dtype, 0, &x_raw);
    float *w = test_rounded(nw, 42, 0.3f, c->dtype, 0, &w_raw);
    float *b = c->bias ? test_rounded(c->cout, 43, 1.0f, c->dtype, 0, &b_raw) : NULL;
    float *ref = calloc((size_t)ny, sizeof(float)), *got = calloc((size_t)ny, sizeof(float));
    orr_ref_conv3d(ref, x + offset, w, b, &s);

    size_t es = orr_dtype_size(c->dtype);
    char *dx = gpu_upload(x_raw, (size_t)nx * es);
    void *dw = gpu_upload(w_raw, (size_t)nw * es), *db = b ? gpu_upload(b_raw, (size_t)c->cout * es) : NULL;
    void *y_raw = calloc((size_t)ny, es);
    void *dy = gpu_upload(y_raw, (size_t)ny * es); /* zeros: the padding between channels stays zero */
    CHECK_OK(orr_cuda_conv3d(dy, dx + offset * (int64_t)es, dw, db, c->dtype, &s, c->flags, stream));
    gpu_download(y_raw, dy, (size_t)ny * es, stream);
    test_widen(got, y_raw, c->dtype, ny);

    double max_ref, diff = test_max_abs_diff(got, ref, ny, &max_ref);
    printf("%s: y [%lld,%lld,%lld,%lld,%lld] max diff %.3g (max |ref| %.3g)\n", c->name, (long long)c->batch,
           (long long)c->cout, (long long)s.out[0], (long long)s.out[1], (long long)s.out[2], diff, max_ref);
    CHECK_CLOSE(c->name, got, ref, ny, c->tol);

    GPU_FREE(dx, dw, db, dy);
    HOST_FREE(x, w, b, x_raw, w_raw, b_raw, y_raw, ref, got);
}

static void test_errors(cudaStream_t stream) {
    const conv_case c = {"errors", 1, 4, 4, 1, {3, 5, 5}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1},
                         0, 0, 0, ORR_F32, false, 0, 0};
    orr_conv_shape s = shape_of(&c);
    void *p = gpu_alloc(1 << 16);
    orr_conv_shape bad = s;
    bad.causal_pad = 2;
    CHECK_FAILS(orr_cuda_conv3d(p, p, p, NULL, ORR_F32, &bad, 0, stream), ORR_ERR_UNSUPPORTED, "causal_pad 2");
    bad = s;
    bad.out[2] = 4;
    CHECK_FAILS(orr_cuda_conv3d(p, p, p, NULL, ORR_F32, &bad, 0, stream), ORR_ERR_SHAPE, "axis 2: out 4");
    bad = s;
    bad.groups = 3;
    CHECK_FAILS(orr_cuda_conv3d(p, p, p, NULL, ORR_F32, &bad, 0, stream), ORR_ERR_SHAPE, "groups 3");
    CHECK_FAILS(orr_cuda_conv3d(p, p, p, NULL, ORR_F16, &s, 0, stream), ORR_ERR_DTYPE, "f16");
    cudaFree(p);
}

int main(void) {
    GPU_TEST_REQUIRE_DEVICE("test_conv_cuda");
    cudaStream_t stream = NULL;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
    /* name, batch, in/out channels, groups, in, kernel, stride, padding, dilation,
     * frames before/after the slice, y channel padding, dtype, bias, flags, tolerance */
    const conv_case cases[] = {
        {"f32 (1,3,3) pad 1", 2, 5, 7, 1, {3, 9, 11}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1},
         0, 0, 0, ORR_F32, true, 0, 1e-4},
        {"f32 (3,1,1) time stride 2", 1, 6, 4, 1, {7, 5, 6}, {3, 1, 1}, {2, 1, 1}, {0, 0, 0}, {1, 1, 1},
         0, 0, 0, ORR_F32, true, 0, 1e-4},
        {"f32 3x3x3 groups 2 dilation 2", 2, 4, 6, 2, {5, 10, 9}, {3, 3, 3}, {1, 2, 2}, {1, 2, 1}, {1, 2, 2},
         0, 0, 0, ORR_F32, false, 0, 1e-4},
        {"f32 (1,3,3) stride 2 no pad (downsample)", 1, 8, 8, 1, {2, 13, 16}, {1, 3, 3}, {1, 2, 2}, {0, 0, 0},
         {1, 1, 1}, 0, 0, 0, ORR_F32, true, 0, 1e-4},
        {"f32 time slice of a longer x, padded y", 2, 3, 5, 1, {4, 6, 7}, {3, 3, 3}, {1, 1, 1}, {0, 1, 1},
         {1, 1, 1}, 2, 1, 7, ORR_F32, true, 0, 1e-4},
        {"f32 1x1x1", 1, 16, 24, 1, {3, 8, 8}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1},
         0, 0, 0, ORR_F32, true, 0, 1e-4},
        {"f32 (1,3,3) tf32", 1, 32, 32, 1, {2, 12, 12}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1},
         0, 0, 0, ORR_F32, true, ORR_CUDA_CONV_TF32, 5e-3},
        {"f32 conv2d (T=1)", 3, 3, 8, 1, {1, 17, 15}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1},
         0, 0, 0, ORR_F32, true, 0, 1e-4},
        {"bf16 (1,3,3) 64->64", 1, 64, 64, 1, {3, 20, 24}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1},
         0, 0, 0, ORR_BF16, true, 0, 1e-2},
        {"bf16 (3,1,1) 32->32", 1, 32, 32, 1, {6, 10, 12}, {3, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1},
         0, 0, 0, ORR_BF16, true, 0, 1e-2},
        {"bf16 1x1x1 48->16", 2, 48, 16, 1, {2, 9, 7}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1},
         0, 0, 0, ORR_BF16, false, 0, 1e-2},
        {"bf16 odd channels 5->3", 1, 5, 3, 1, {3, 7, 9}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1},
         0, 0, 0, ORR_BF16, true, 0, 1e-2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], stream);
    run_case(&cases[0], stream); /* the cached algorithm */
    test_errors(stream);
    cudaStreamDestroy(stream);
    return test_finish("test_conv_cuda");
}
