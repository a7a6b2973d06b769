/* bench_cuda.c — the GPU half of orrery-bench: per-op throughput and MFU of
 * the CUDA kernels at the shapes of the 7B Cosmos DiT (width 4096, MLP
 * 16384, 32 heads of 128; 121x704x1280 video = latent 16x88x160, 2x2
 * patches: 16x44x80 = 56320 tokens; T5 text 512x1024) and of the CV8x8x8
 * tokenizer's decoder at 720p (704x1280: 512 channels at 88x160, 256-512 at
 * 176x320 over 31 patched frames), in bf16 with f32 accumulation.
 *
 * Each row is the median of several calls timed with CUDA events on the
 * runtime's stream after a warm-up call (which also runs the cuBLASLt
 * heuristic and cuDNN's algorithm search). MFU is against the GPU's dense
 * bf16 tensor peak, looked up from its name (H100/H200 SXM 989 TFLOP/s,
 * H100 PCIe 756, A100 312); "-" where unknown or for f32 rows. One forward
 * of the DiT runs each GEMM row once per block (x28) and twice per step
 * with guidance (batch 2 doubles the token rows).
 *
 * --quick (orr_bench_cuda(true)) shrinks the token count and the frames
 * so that the whole table takes seconds. */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/attention.h"
#include "cuda/conv.h"
#include "cuda/cuda_internal.h"
#include "cuda/linear.h"
#include "internal.h"

void orr_bench_cuda(bool quick);

typedef orr_status (*gpu_call)(void *ctx, cudaStream_t stream);

static double peak_tflops; /* dense bf16; 0 = unknown */

static double bf16_peak_of(const char *name) {
    if (strstr(name, "H100") && strstr(name, "PCIe")) return 756.0;
    if (strstr(name, "H100") || strstr(name, "H200") || strstr(name, "H800") || strstr(name, "H20 ")) return 989.0;
    if (strstr(name, "A100") || strstr(name, "A800")) return 312.0;
    if (strstr(name, "L40S")) return 362.0;
    return 0.0;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of `runs` timed calls after `warmup` untimed ones. */
static orr_status median_ms(gpu_call fn, void *ctx, cudaStream_t stream, int warmup, int runs, double *ms) {
    enum { MAX_RUNS = 16 };
    cudaEvent_t ev[2 * MAX_RUNS];
    double times[MAX_RUNS];
    if (runs > MAX_RUNS) runs = MAX_RUNS;
    int made = 0;
    orr_status st = ORR_OK;
    for (; made < 2 * runs && !st; made++) st = orr_cuda_check(cudaEventCreate(&ev[made]), "bench", "cudaEventCreate");
    for (int i = 0; i < warmup && !st; i++) st = fn(ctx, stream);
    for (int r = 0; r < runs && !st; r++) {
        st = orr_cuda_check(cudaEventRecord(ev[2 * r], stream), "bench", "cudaEventRecord");
        if (!st) st = fn(ctx, stream);
        if (!st) st = orr_cuda_check(cudaEventRecord(ev[2 * r + 1], stream), "bench", "cudaEventRecord");
    }
    if (!st) st = orr_cuda_check(cudaStreamSynchronize(stream), "bench", "the timed calls");
    for (int r = 0; r < runs && !st; r++) {
        float t = 0;
        st = orr_cuda_check(cudaEventElapsedTime(&t, ev[2 * r], ev[2 * r + 1]), "bench", "cudaEventElapsedTime");
        times[r] = t;
    }
    for (int i = 0; i < made; i++) cudaEventDestroy(ev[i]);
    if (st) return st;
    qsort(times, (size_t)runs, sizeof times[0], compare_double);
    *ms = runs % 2 ? times[runs / 2] : 0.5 * (times[runs / 2 - 1] + times[runs / 2]);
    return ORR_OK;
}

/* A device buffer of n elements of dtype (f32 or bf16) holding values in
 * [-scale, scale) from a repeating host pattern; NULL (message printed)
 * when it cannot be had. */
static void *device_random(size_t n, orr_dtype dtype, float scale) {
    enum { PATTERN = 1 << 22 };
    size_t es = orr_dtype_size(dtype), chunk = n < PATTERN ? n : PATTERN;
    void *d = NULL, *host = malloc(chunk * es);
    if (!host || cudaMalloc(&d, n * es) != cudaSuccess) {
        fprintf(stderr, "bench: cannot allocate %.1f MiB on the device\n", (double)(n * es) / 1048576.0);
        free(host);
        cudaGetLastError();
        return NULL;
    }
    unsigned s = 12345u;
    for (size_t i = 0; i < chunk; i++) {
        s = s * 1664525u + 1013904223u;
        float v = ((float)(s >> 8) * (1.0f / 8388608.0f) - 1.0f) * scale;
        if (dtype == ORR_BF16)
            ((uint16_t *)host)[i] = orr_f32_to_bf16(v);
        else
            ((float *)host)[i] = v;
    }
    for (size_t at = 0; at < n; at += chunk) {
        size_t count = n - at < chunk ? n - at : chunk;
        if (cudaMemcpy((char *)d + at * es, host, count * es, cudaMemcpyHostToDevice) != cudaSuccess) {
            fprintf(stderr, "bench: filling a device buffer failed\n");
            cudaFree(d);
            d = NULL;
            break;
        }
    }
    free(host);
    return d;
}

static void print_row(const char *op, const char *shape, orr_dtype dtype, double flops, orr_status st, double ms) {
    if (st) {
        printf("| %s | %s | %s | failed: %s: %s | | |\n", op, shape, orr_dtype_name(dtype), orr_status_name(st),
               orr_last_error());
    } else {
        double tflops = flops / (ms * 1e-3) / 1e12;
        char mfu[32] = "-";
        if (peak_tflops > 0 && dtype == ORR_BF16) snprintf(mfu, sizeof mfu, "%.1f%%", 100.0 * tflops / peak_tflops);
        printf("| %s | %s | %s | %.3f | %.1f | %s |\n", op, shape, orr_dtype_name(dtype), ms, tflops, mfu);
    }
    fflush(stdout);
}

/* ---- GEMMs -------------------------------------------------------------- */

typedef struct gemm_ctx {
    void *x, *w, *y;
    orr_dtype dtype;
    int64_t m, k, n;
    unsigned flags;
} gemm_ctx;

static orr_status call_linear(void *ctx, cudaStream_t stream) {
    gemm_ctx *g = ctx;
    return orr_cuda_linear(g->y, g->dtype, g->n, g->x, g->k, g->w, g->dtype, g->k, NULL, g->m, g->k, g->n, g->flags,
                           stream);
}

static void bench_gemm(const char *op, int64_t m, int64_t k, int64_t n, orr_dtype dtype, unsigned flags, int runs,
                       cudaStream_t stream) {
    char shape[96];
    snprintf(shape, sizeof shape, "%lld x %lld -> %lld", (long long)m, (long long)k, (long long)n);
    gemm_ctx g = {device_random((size_t)(m * k), dtype, 1.0f),
                  device_random((size_t)(n * k), dtype, 0.05f),
                  NULL,
                  dtype,
                  m,
                  k,
                  n,
                  flags};
    double ms = 0;
    orr_status st = ORR_ERR_MEMORY;
    if (g.x && g.w && cudaMalloc(&g.y, (size_t)(m * n) * orr_dtype_size(dtype)) == cudaSuccess)
        st = median_ms(call_linear, &g, stream, 1, runs, &ms);
    else
        orr_error(ORR_ERR_MEMORY, "bench: out of device memory");
    print_row(op, shape, dtype, 2.0 * (double)m * (double)k * (double)n, st, ms);
    cudaFree(g.x);
    cudaFree(g.w);
    cudaFree(g.y);
}

/* ---- attention ---------------------------------------------------------- */

typedef struct attn_ctx {
    void *q, *k, *v, *out;
    orr_attn_dims dims;
    float scale;
} attn_ctx;

static orr_status call_attention(void *ctx, cudaStream_t stream) {
    attn_ctx *a = ctx;
    return orr_cuda_attention(a->out, a->q, a->k, a->v, ORR_BF16, NULL, &a->dims, a->scale, false, stream);
}

static void bench_attention(const char *op, int64_t heads, int64_t q_len, int64_t kv_len, int64_t head_dim, int runs,
                            cudaStream_t stream) {
    char shape[96];
    snprintf(shape, sizeof shape, "%lld heads x %lld, %lld queries, %lld keys", (long long)heads, (long long)head_dim,
             (long long)q_len, (long long)kv_len);
    attn_ctx a = {device_random((size_t)(heads * q_len * head_dim), ORR_BF16, 2.0f),
                  device_random((size_t)(heads * kv_len * head_dim), ORR_BF16, 1.0f),
                  device_random((size_t)(heads * kv_len * head_dim), ORR_BF16, 1.0f),
                  NULL,
                  {1, heads, heads, q_len, kv_len, head_dim, head_dim},
                  1.0f / sqrtf((float)head_dim)};
    double ms = 0;
    orr_status st = ORR_ERR_MEMORY;
    if (a.q && a.k && a.v && cudaMalloc(&a.out, (size_t)(heads * q_len * head_dim) * 2) == cudaSuccess)
        st = median_ms(call_attention, &a, stream, 1, runs, &ms);
    else
        orr_error(ORR_ERR_MEMORY, "bench: out of device memory");
    print_row(op, shape, ORR_BF16, 4.0 * (double)heads * (double)q_len * (double)kv_len * (double)head_dim, st, ms);
    cudaFree(a.q);
    cudaFree(a.k);
    cudaFree(a.v);
    cudaFree(a.out);
}

/* ---- conv3d ------------------------------------------------------------- */

typedef struct conv_ctx {
    void *x, *w, *b, *y;
    orr_conv_shape s;
} conv_ctx;

static orr_status call_conv(void *ctx, cudaStream_t stream) {
    conv_ctx *c = ctx;
    return orr_cuda_conv3d(c->y, c->x, c->w, c->b, ORR_BF16, &c->s, 0, stream);
}

/* x [1, cin, t, h, w] * a (kt, kh, kw) kernel, stride 1, zero padding
 * `pad` on h and w (time padding is the caller's: t includes it). */
static void bench_conv(const char *op, int64_t cin, int64_t cout, int64_t t, int64_t h, int64_t w, int64_t kt,
                       int64_t kh, int64_t kw, int64_t pad, int runs, cudaStream_t stream) {
    conv_ctx c;
    memset(&c, 0, sizeof c);
    orr_conv_shape *s = &c.s;
    s->batch = 1;
    s->in_channels = cin;
    s->out_channels = cout;
    s->groups = 1;
    const int64_t in[3] = {t, h, w}, kernel[3] = {kt, kh, kw};
    for (int a = 0; a < 3; a++) {
        s->in[a] = in[a];
        s->kernel[a] = kernel[a];
        s->stride[a] = 1;
        s->dilation[a] = 1;
        s->padding[a] = a == 0 ? 0 : pad;
    }
    for (int a = 0; a < 3; a++) s->out[a] = orr_conv_out_extent(s, a);
    s->x_stride[1] = t * h * w;
    s->x_stride[0] = cin * s->x_stride[1];
    s->y_stride[1] = s->out[0] * s->out[1] * s->out[2];
    s->y_stride[0] = cout * s->y_stride[1];

    char shape[128];
    snprintf(shape, sizeof shape, "[%lld,%lld,%lld,%lld] (%lld,%lld,%lld) -> %lld ch", (long long)cin, (long long)t,
             (long long)h, (long long)w, (long long)kt, (long long)kh, (long long)kw, (long long)cout);
    c.x = device_random((size_t)(cin * t * h * w), ORR_BF16, 1.0f);
    c.w = device_random((size_t)(cout * cin * kt * kh * kw), ORR_BF16, 0.02f);
    c.b = device_random((size_t)cout, ORR_BF16, 0.1f);
    double ms = 0;
    orr_status st = ORR_ERR_MEMORY;
    if (c.x && c.w && c.b && cudaMalloc(&c.y, (size_t)(cout * s->y_stride[1]) * 2) == cudaSuccess)
        st = median_ms(call_conv, &c, stream, 1, runs, &ms);
    else
        orr_error(ORR_ERR_MEMORY, "bench: out of device memory");
    double flops = 2.0 * (double)cout * (double)(cin * kt * kh * kw) * (double)s->y_stride[1];
    print_row(op, shape, ORR_BF16, flops, st, ms);
    cudaFree(c.x);
    cudaFree(c.w);
    cudaFree(c.b);
    cudaFree(c.y);
}

/* ---- the tables --------------------------------------------------------- */

static void table_header(const char *title) {
    printf("\n%s\n\n| op | shape | dtype | ms (median) | TFLOP/s | MFU |\n| --- | --- | --- | ---: | ---: | ---: |\n",
           title);
}

void orr_bench_cuda(bool quick) {
    if (!orr_cuda_available()) {
        printf("\nCUDA: no usable device, GPU rows skipped\n");
        return;
    }
    orr_cuda_info info;
    if (orr_cuda_get_info(&info)) {
        printf("\nCUDA: %s\n", orr_last_error());
        return;
    }
    cudaStream_t stream = orr_cuda_stream();
    if (!stream) {
        printf("\nCUDA: %s\n", orr_last_error());
        return;
    }
    peak_tflops = bf16_peak_of(info.name);
    printf("\nGPU: %s (sm_%d%d, %d SMs, %.0f GiB); dense bf16 peak ", info.name, info.major, info.minor,
           info.multiprocessors, (double)info.total_memory / 1073741824.0);
    if (peak_tflops > 0)
        printf("%.0f TFLOP/s\n", peak_tflops);
    else
        printf("unknown (MFU not shown)\n");

    const int runs = quick ? 3 : 7;
    /* latent 16x88x160 with 2x2 patches; --quick: 4 latent frames */
    const int64_t tokens = (quick ? 4 : 16) * 44 * 80, width = 4096, mlp = 16384;
    char title[160];
    snprintf(title, sizeof title, "DiT 7B GEMMs (y = x w^T, %lld tokens = %s x 44 x 80, batch 1)", (long long)tokens,
             quick ? "4" : "16");
    table_header(title);
    bench_gemm("q / k / v / out projection", tokens, width, width, ORR_BF16, 0, runs, stream);
    bench_gemm("q, k, v fused", tokens, width, 3 * width, ORR_BF16, 0, runs, stream);
    bench_gemm("MLP up", tokens, width, mlp, ORR_BF16, 0, runs, stream);
    bench_gemm("MLP up + GELU (tanh) epilogue", tokens, width, mlp, ORR_BF16, ORR_CUDA_GEMM_GELU_TANH, runs, stream);
    bench_gemm("MLP down", tokens, mlp, width, ORR_BF16, 0, runs, stream);
    bench_gemm("cross-attn k / v of the text", 512, 1024, width, ORR_BF16, 0, runs, stream);
    bench_gemm("patch embedding (17 ch x 1x2x2)", tokens, 68, width, ORR_BF16, 0, runs, stream);
    bench_gemm("final layer (2x2 patch x 16 ch)", tokens, width, 64, ORR_BF16, 0, runs, stream);
    bench_gemm("AdaLN-LoRA down", 2, width, 256, ORR_BF16, 0, runs, stream);
    bench_gemm("AdaLN-LoRA up (shift, scale, gate)", 2, 256, 3 * width, ORR_BF16, 0, runs, stream);
    bench_gemm("f32, TF32 off", 8192, width, width, ORR_F32, 0, runs, stream);
    bench_gemm("f32, TF32 on", 8192, width, width, ORR_F32, ORR_CUDA_GEMM_TF32, runs, stream);

    table_header("Attention (fused flash kernel, bf16 in, f32 accumulation, batch 1)");
    bench_attention("DiT self-attention", 32, tokens, tokens, 128, quick ? 3 : 5, stream);
    bench_attention("DiT cross-attention (T5 text)", 32, tokens, 512, 128, runs, stream);
    const int64_t frame_tokens = quick ? 44 * 80 : 88 * 160;
    bench_attention("tokenizer mid-block (one frame, SIMT path)", 1, frame_tokens, frame_tokens, 512, 3, stream);

    /* 720p: 88x160 latent grid, 176x320 after the 4x4x4 Haar patcher,
     * 16 latent / 31 patched frames (--quick: 2 / 3) */
    const int64_t tl = quick ? 2 : 16, tp = quick ? 3 : 31;
    table_header("CV8x8x8 tokenizer convolutions at 720p (cuDNN, bf16; time padding is in the frames)");
    bench_conv("decoder (1,3,3) 512 at latent size", 512, 512, tl, 88, 160, 1, 3, 3, 1, runs, stream);
    bench_conv("decoder (3,1,1) 512 at latent size", 512, 512, tl + 2, 88, 160, 3, 1, 1, 0, runs, stream);
    bench_conv("decoder upsample (1,3,3) 512", 512, 512, tp, 176, 320, 1, 3, 3, 1, runs, stream);
    bench_conv("decoder up[0] nin 1x1x1 512->256", 512, 256, tp, 176, 320, 1, 1, 1, 0, runs, stream);
    bench_conv("decoder up[0] (1,3,3) 256", 256, 256, tp, 176, 320, 1, 3, 3, 1, runs, stream);
    bench_conv("decoder up[0] (3,1,1) 256", 256, 256, tp + 2, 176, 320, 3, 1, 1, 0, runs, stream);
    bench_conv("decoder conv_out (1,3,3) 256->192", 256, 192, tp, 176, 320, 1, 3, 3, 1, runs, stream);
    bench_conv("encoder conv_in (1,3,3) 192->128", 192, 128, tp, 176, 320, 1, 3, 3, 1, runs, stream);
}
