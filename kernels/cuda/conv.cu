/* cuda/conv.cu — conv3d through cuDNN's convolution API, with the bias added
 * by a small kernel of our own (cuDNN's bias paths do not take bf16 NCDHW
 * with f32 compute everywhere). */
#include <climits>
#include <cstdint>
#include <cstring>

#include <cuda_bf16.h>
#include <cudnn.h>

extern "C" {
#include "internal.h"
}
#include "conv.h"
#include "cuda/algo_cache.cuh"
#include "cuda/cuda_internal.h"
#include "cuda/element.cuh"
#include "cuda/grid.cuh"

namespace {

const char *OP = "conv3d";

/* ---- the per-shape cache of the chosen algorithm ------------------------ */

/* The key: device, dtype and flags, then the shape's words (all int64). */
static_assert(sizeof(orr_conv_shape) % sizeof(int64_t) == 0, "orr_conv_shape is made of int64 fields");
enum { KEY_WORDS = 3 + sizeof(orr_conv_shape) / sizeof(int64_t), CACHE_SIZE = 128 };

struct algo_entry {
    int64_t key[KEY_WORDS];
    cudnnConvolutionFwdAlgo_t algo;
    cudnnMathType_t math;
    size_t workspace;
};

algo_cache<algo_entry, CACHE_SIZE> cache;

void make_key(const orr_conv_shape *s, orr_dtype dtype, unsigned flags, int device, int64_t key[KEY_WORDS]) {
    key[0] = device;
    key[1] = dtype;
    key[2] = flags;
    memcpy(key + 3, s, sizeof *s);
}

/* ---- descriptors -------------------------------------------------------- */

struct descriptors {
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    descriptors() = default;
    descriptors(const descriptors &) = delete;
    descriptors &operator=(const descriptors &) = delete;
    ~descriptors() {
        if (conv) cudnnDestroyConvolutionDescriptor(conv);
        if (w) cudnnDestroyFilterDescriptor(w);
        if (y) cudnnDestroyTensorDescriptor(y);
        if (x) cudnnDestroyTensorDescriptor(x);
    }
};

bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

orr_status describe(const orr_conv_shape *s, cudnnDataType_t type, cudnnMathType_t math, descriptors *d) {
    const int64_t sp_in = s->in[0] * s->in[1] * s->in[2], sp_out = s->out[0] * s->out[1] * s->out[2];
    /* a stride over a dim of size 1 is never used: the packed one stands in */
    const int64_t xs1 = s->in_channels > 1 ? s->x_stride[1] : sp_in,
                  ys1 = s->out_channels > 1 ? s->y_stride[1] : sp_out;
    const int64_t xs0 = s->batch > 1 ? s->x_stride[0] : s->in_channels * xs1;
    const int64_t ys0 = s->batch > 1 ? s->y_stride[0] : s->out_channels * ys1;
    const int64_t vals[] = {s->batch, s->in_channels, s->out_channels, xs0,      xs1,      ys0,
                            ys1,      sp_in,          sp_out,          s->in[0], s->in[1], s->in[2]};
    for (int64_t v : vals)
        if (!fits_int(v))
            return orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: an extent or stride of %lld does not fit cuDNN's int", OP,
                             (long long)v);
    const int xdim[5] = {(int)s->batch, (int)s->in_channels, (int)s->in[0], (int)s->in[1], (int)s->in[2]};
    const int xstr[5] = {(int)xs0, (int)xs1, (int)(s->in[1] * s->in[2]), (int)s->in[2], 1};
    const int ydim[5] = {(int)s->batch, (int)s->out_channels, (int)s->out[0], (int)s->out[1], (int)s->out[2]};
    const int ystr[5] = {(int)ys0, (int)ys1, (int)(s->out[1] * s->out[2]), (int)s->out[2], 1};
    const int wdim[5] = {(int)s->out_channels, (int)(s->in_channels / s->groups), (int)s->kernel[0], (int)s->kernel[1],
                         (int)s->kernel[2]};
    const int pad[3] = {(int)s->padding[0], (int)s->padding[1], (int)s->padding[2]};
    const int str[3] = {(int)s->stride[0], (int)s->stride[1], (int)s->stride[2]};
    const int dil[3] = {(int)s->dilation[0], (int)s->dilation[1], (int)s->dilation[2]};

    orr_status st = orr_cuda_check_cudnn(cudnnCreateTensorDescriptor(&d->x), OP, "cudnnCreateTensorDescriptor");
    if (!st) st = orr_cuda_check_cudnn(cudnnCreateTensorDescriptor(&d->y), OP, "cudnnCreateTensorDescriptor");
    if (!st) st = orr_cuda_check_cudnn(cudnnCreateFilterDescriptor(&d->w), OP, "cudnnCreateFilterDescriptor");
    if (!st)
        st = orr_cuda_check_cudnn(cudnnCreateConvolutionDescriptor(&d->conv), OP, "cudnnCreateConvolutionDescriptor");
    if (!st) st = orr_cuda_check_cudnn(cudnnSetTensorNdDescriptor(d->x, type, 5, xdim, xstr), OP, "describing x");
    if (!st) st = orr_cuda_check_cudnn(cudnnSetTensorNdDescriptor(d->y, type, 5, ydim, ystr), OP, "describing y");
    if (!st)
        st = orr_cuda_check_cudnn(cudnnSetFilterNdDescriptor(d->w, type, CUDNN_TENSOR_NCHW, 5, wdim), OP,
                                  "describing w");
    if (!st)
        st = orr_cuda_check_cudnn(
            cudnnSetConvolutionNdDescriptor(d->conv, 3, pad, str, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), OP,
            "describing the convolution");
    if (!st)
        st = orr_cuda_check_cudnn(cudnnSetConvolutionGroupCount(d->conv, (int)s->groups), OP, "setting the groups");
    if (!st) st = orr_cuda_check_cudnn(cudnnSetConvolutionMathType(d->conv, math), OP, "setting the math type");
    if (st) return st;
    int out[5];
    st = orr_cuda_check_cudnn(cudnnGetConvolutionNdForwardOutputDim(d->conv, d->x, d->w, 5, out), OP,
                              "computing the output size");
    if (st) return st;
    for (int a = 0; a < 5; a++)
        if (out[a] != ydim[a])
            return orr_error(ORR_ERR_SHAPE,
                             "cuda %s: cuDNN makes y [%d,%d,%d,%d,%d] where the shape says [%d,%d,%d,%d,%d]", OP,
                             out[0], out[1], out[2], out[3], out[4], ydim[0], ydim[1], ydim[2], ydim[3], ydim[4]);
    return ORR_OK;
}

/* Times cuDNN's algorithms on these buffers and keeps the fastest that
 * fits the workspace bound. The search ran under the descriptor's math
 * type; for strict f32 the result is run under FMA math whatever math type
 * it reports (as PyTorch does with TF32 off). */
orr_status choose(cudnnHandle_t handle, const descriptors &d, const void *x, const void *w, void *y, bool strict_fma,
                  algo_entry *e) {
    void *ws = nullptr;
    orr_status st = orr_cuda_scratch_alloc(ORR_CUDA_CONV_WORKSPACE, &ws);
    if (st) return st;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    st = orr_cuda_check_cudnn(cudnnFindConvolutionForwardAlgorithmEx(handle, d.x, x, d.w, w, d.conv, d.y, y,
                                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf, ws,
                                                                     ORR_CUDA_CONV_WORKSPACE),
                              OP, "cudnnFindConvolutionForwardAlgorithmEx");
    orr_cuda_scratch_free(ws, ORR_CUDA_CONV_WORKSPACE);
    if (st) return st;
    for (int i = 0; i < found; i++) { /* sorted fastest first */
        if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > ORR_CUDA_CONV_WORKSPACE) continue;
        e->algo = perf[i].algo;
        e->math = strict_fma ? CUDNN_FMA_MATH : perf[i].mathType;
        e->workspace = perf[i].memory;
        return ORR_OK;
    }
    return orr_error(ORR_ERR_UNSUPPORTED,
                     "cuda %s: cuDNN has no algorithm for this shape and dtype within %d MiB of workspace%s", OP,
                     ORR_CUDA_CONV_WORKSPACE >> 20, strict_fma ? " without TF32" : "");
}

/* ---- bias --------------------------------------------------------------- */

/* y[n, c, :] += b[c] over planes of `spatial` contiguous elements; grid.y
 * walks the (n, c) planes, grid.x the elements of a plane. */
template <typename T>
__global__ void add_bias(T *y, const T *b, int64_t spatial, int64_t batch_stride, int64_t channel_stride) {
    const int64_t n = blockIdx.z, c = blockIdx.y;
    const float bias = load(b, c);
    T *plane = y + n * batch_stride + c * channel_stride;
    for (int64_t i = thread_index(); i < spatial; i += thread_count())
        store(plane, i, load(plane, i) + bias);
}

orr_status launch_bias(void *y, const void *b, orr_dtype dtype, const orr_conv_shape *s, cudaStream_t stream) {
    if (s->out_channels > 65535 || s->batch > 65535)
        return orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: bias over %lld channels x batch %lld exceeds the grid", OP,
                         (long long)s->out_channels, (long long)s->batch);
    const int64_t spatial = s->out[0] * s->out[1] * s->out[2];
    const int threads = 256;
    int64_t blocks = (spatial + threads - 1) / threads;
    if (blocks > 1024) blocks = 1024;
    dim3 grid((unsigned)blocks, (unsigned)s->out_channels, (unsigned)s->batch);
    if (dtype == ORR_F32)
        add_bias<float>
            <<<grid, threads, 0, stream>>>((float *)y, (const float *)b, spatial, s->y_stride[0], s->y_stride[1]);
    else
        add_bias<__nv_bfloat16><<<grid, threads, 0, stream>>>((__nv_bfloat16 *)y, (const __nv_bfloat16 *)b, spatial,
                                                              s->y_stride[0], s->y_stride[1]);
    return orr_cuda_check_launch(OP);
}

orr_status check_shape(const orr_conv_shape *s) {
    if (s->causal_pad != 0)
        return orr_error(ORR_ERR_UNSUPPORTED, "cuda %s: causal_pad %lld: prepend the frames before the call", OP,
                         (long long)s->causal_pad);
    if (s->batch < 0 || s->in_channels < 1 || s->out_channels < 1 || s->groups < 1 || s->in_channels % s->groups ||
        s->out_channels % s->groups)
        return orr_error(ORR_ERR_SHAPE, "cuda %s: batch %lld, in_channels %lld, out_channels %lld, groups %lld", OP,
                         (long long)s->batch, (long long)s->in_channels, (long long)s->out_channels,
                         (long long)s->groups);
    for (int a = 0; a < 3; a++) {
        if (s->in[a] < 1 || s->kernel[a] < 1 || s->stride[a] < 1 || s->dilation[a] < 1 || s->padding[a] < 0)
            return orr_error(ORR_ERR_SHAPE,
                             "cuda %s: axis %d: in %lld, kernel %lld, stride %lld, dilation %lld, padding %lld", OP, a,
                             (long long)s->in[a], (long long)s->kernel[a], (long long)s->stride[a],
                             (long long)s->dilation[a], (long long)s->padding[a]);
        int64_t want = orr_conv_out_extent(s, a);
        if (want < 1 || s->out[a] != want)
            return orr_error(ORR_ERR_SHAPE, "cuda %s: axis %d: out %lld, the geometry gives %lld", OP, a,
                             (long long)s->out[a], (long long)want);
    }
    const int64_t sp_in = s->in[0] * s->in[1] * s->in[2], sp_out = s->out[0] * s->out[1] * s->out[2];
    const bool x_bad =
        (s->in_channels > 1 && s->x_stride[1] < sp_in) ||
        (s->batch > 1 && s->x_stride[0] < s->in_channels * (s->in_channels > 1 ? s->x_stride[1] : sp_in));
    const bool y_bad =
        (s->out_channels > 1 && s->y_stride[1] < sp_out) ||
        (s->batch > 1 && s->y_stride[0] < s->out_channels * (s->out_channels > 1 ? s->y_stride[1] : sp_out));
    if (x_bad || y_bad)
        return orr_error(
            ORR_ERR_SHAPE, "cuda %s: strides x (%lld, %lld), y (%lld, %lld) overlap the blocks they step over", OP,
            (long long)s->x_stride[0], (long long)s->x_stride[1], (long long)s->y_stride[0], (long long)s->y_stride[1]);
    return ORR_OK;
}

/* The convolution (and bias) on the runtime's stream, with the algorithm
 * of e->key found or chosen now. */
orr_status run(cudnnHandle_t handle, const descriptors &d, void *y, const void *x, const void *w, const void *b,
               orr_dtype dtype, const orr_conv_shape *s, bool strict_fma, algo_entry *e, cudaStream_t rt) {
    orr_status st;
    if (!cache.find(e)) {
        if ((st = choose(handle, d, x, w, y, strict_fma, e))) return st;
        cache.store(*e);
    }
    if ((st = orr_cuda_check_cudnn(cudnnSetConvolutionMathType(d.conv, e->math), OP, "setting the math type")))
        return st;
    void *ws = nullptr;
    if (e->workspace && (st = orr_cuda_scratch_alloc(e->workspace, &ws))) return st;
    const float one = 1.0f, zero = 0.0f;
    st = orr_cuda_check_cudnn(
        cudnnConvolutionForward(handle, &one, d.x, x, d.w, w, d.conv, e->algo, ws, e->workspace, &zero, d.y, y), OP,
        "cudnnConvolutionForward");
    if (ws) orr_cuda_scratch_free(ws, e->workspace);
    if (!st && b) st = launch_bias(y, b, dtype, s, rt);
    return st;
}

} /* namespace */

extern "C" orr_status orr_cuda_conv3d(void *y, const void *x, const void *w, const void *b, orr_dtype dtype,
                                      const orr_conv_shape *s, unsigned flags, cudaStream_t stream) {
    if (!y || !x || !w || !s) return orr_error(ORR_ERR_ARGUMENT, "cuda %s: y, x, w and the shape must not be NULL", OP);
    if (dtype != ORR_F32 && dtype != ORR_BF16)
        return orr_error(ORR_ERR_DTYPE, "cuda %s: dtype %s (f32 or bf16)", OP, orr_dtype_name(dtype));
    orr_status st = check_shape(s);
    if (st || s->batch == 0) return st;

    cudaStream_t rt = orr_cuda_stream();
    if (!rt) return ORR_ERR_UNSUPPORTED;
    cudnnHandle_t handle;
    if ((st = orr_cuda_cudnn(&handle))) return st;
    const bool strict_fma = dtype == ORR_F32 && !(flags & ORR_CUDA_CONV_TF32);
    const cudnnDataType_t type = dtype == ORR_F32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_BFLOAT16;
    descriptors d;
    if ((st = describe(s, type, strict_fma ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH, &d))) return st;

    int device = 0;
    if ((st = orr_cuda_check(cudaGetDevice(&device), OP, "cudaGetDevice"))) return st;
    algo_entry e;
    make_key(s, dtype, flags & ORR_CUDA_CONV_TF32, device, e.key);
    if ((st = orr_cuda_order_after(OP, rt, stream))) return st;
    st = run(handle, d, y, x, w, b, dtype, s, strict_fma, &e, rt);
    const orr_status joined = orr_cuda_order_after(OP, stream, rt);
    return st ? st : joined;
}
