/* bench_cuda_dit.c — the whole DiT on the GPU for orrery-bench: the
 * released 7B Text2World network's shape (width 4096, 28 blocks of 32
 * heads, FA-CA-MLP, AdaLN-LoRA 256; random bf16 weights drawn on the
 * device) at 121x704x1280 (latent 16x88x160: 56320 tokens per item),
 * batch 2 as a guided sampler step runs it:
 *  - the memory estimate, printed before the run;
 *  - one forward (median of 3 after a warm-up) with its MFU against the
 *    GPU's dense bf16 peak, and the peak device memory;
 *  - one block split into its GEMMs and its attentions, timed alone with
 *    the same launchers at the same shapes, the rest (norms, RoPE,
 *    modulation, residuals, copies) being the difference;
 *  - the streamed mode's forward (blocks from pinned host memory);
 *  - with ORR_BENCH_DIT_RUN=1 in the environment, a full 35-step Euler
 *    Text2World sampling run with guidance 7 (minutes; the official code
 *    takes about 380 s on one H100).
 * --quick keeps the width and heads but runs 4 blocks on 4x44x80 latents.
 * Rows are markdown tables headed by the GPU's name. */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cuda/attention.h"
#include "cuda/cuda_internal.h"
#include "cuda/linear.h"
#include "internal.h"
#include "models/dit.h"

void orr_bench_cuda_dit(bool quick);

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double dense_bf16_tflops(const char *name) {
    if (strstr(name, "H100") && strstr(name, "PCIe")) return 756.0;
    if (strstr(name, "H100") || strstr(name, "H200") || strstr(name, "H800")) return 989.0;
    if (strstr(name, "A100") || strstr(name, "A800")) return 312.0;
    if (strstr(name, "L40S")) return 362.0;
    return 0.0;
}

static void fail(const char *what, orr_status st) {
    printf("| %s | failed: %s: %s | | |\n", what, orr_status_name(st), orr_last_error());
    fflush(stdout);
}

/* ---- one block's pieces, timed alone ------------------------------------------ */

typedef orr_status (*piece_fn)(void *ctx);

/* Median milliseconds of 3 calls after one, timed with events on the
 * runtime's stream. */
static orr_status time_piece(piece_fn fn, void *ctx, double *ms) {
    cudaStream_t s = orr_cuda_stream();
    cudaEvent_t a[3], b[3];
    double t[3];
    orr_status st = fn(ctx);
    for (int i = 0; i < 3 && !st; i++) {
        cudaEventCreate(&a[i]);
        cudaEventCreate(&b[i]);
        cudaEventRecord(a[i], s);
        st = fn(ctx);
        cudaEventRecord(b[i], s);
    }
    if (!st) st = orr_cuda_synchronize();
    for (int i = 0; i < 3; i++) {
        float f = 0;
        if (!st) cudaEventElapsedTime(&f, a[i], b[i]);
        t[i] = f;
        cudaEventDestroy(a[i]);
        cudaEventDestroy(b[i]);
    }
    double lo = t[0] < t[1] ? t[0] : t[1], hi = t[0] < t[1] ? t[1] : t[0];
    *ms = t[2] < lo ? lo : t[2] > hi ? hi : t[2];
    return st;
}

typedef struct gemm_piece {
    void *x, *w, *y;
    int64_t rows, in, out;
} gemm_piece;

static orr_status run_gemm(void *ctx) {
    gemm_piece *g = ctx;
    return orr_cuda_linear(g->y, ORR_BF16, g->out, g->x, g->in, g->w, ORR_BF16, g->in, NULL, g->rows, g->in, g->out, 0,
                           orr_cuda_stream());
}

typedef struct attn_piece {
    void *q, *k, *v, *o;
    orr_attn_dims dims;
} attn_piece;

static orr_status run_attn(void *ctx) {
    attn_piece *a = ctx;
    orr_attn_mask none = {NULL, {0, 0, 0, 0}};
    return orr_cuda_attention(a->o, a->q, a->k, a->v, ORR_BF16, &none, &a->dims, 1.0f / sqrtf((float)a->dims.head_dim),
                              false, orr_cuda_stream());
}

static void *device_bf16(int64_t n, orr_rng *rng, orr_tensor **keep) {
    orr_tensor *f = NULL;
    *keep = NULL;
    if (orr_tensor_empty_on(ORR_CUDA, &f, ORR_F32, 1, &n) || orr_rng_normal(rng, f, 0.0f, 1.0f) ||
        orr_tensor_clone(keep, f, ORR_BF16)) {
        orr_tensor_free(f);
        return NULL;
    }
    orr_tensor_free(f);
    return (*keep)->data;
}

/* The block's GEMMs (steady state: the text's keys and values cached) and
 * its two attentions at M = B*N token rows. */
static void block_split(const dit_config *c, int64_t B, int64_t N, int64_t L, double block_ms, double *gemm_ms,
                        double *attn_ms, orr_rng *rng) {
    int64_t D = c->model_channels, H = c->mlp_hidden, M = B * N, dh = D / c->num_heads;
    orr_tensor *keep[8] = {NULL};
    void *x = device_bf16(M * H, rng, &keep[0]), *y = device_bf16(M * H, rng, &keep[1]);
    void *w = device_bf16(D * H, rng, &keep[2]);
    void *q = device_bf16(M * D, rng, &keep[3]), *k = device_bf16(M * D, rng, &keep[4]);
    void *v = device_bf16(M * D, rng, &keep[5]), *o = device_bf16(M * D, rng, &keep[6]);
    *gemm_ms = *attn_ms = 0;
    if (!x || !y || !w || !q || !k || !v || !o) {
        fail("block split: buffers", ORR_ERR_MEMORY);
    } else {
        /* self q, k, v, out; cross q, out; MLP up, down */
        gemm_piece g[4] = {{x, w, y, M, D, D}, {x, w, y, M, D, H}, {x, w, y, M, H, D}};
        double t[3] = {0};
        orr_status st = ORR_OK;
        for (int i = 0; i < 3 && !st; i++) st = time_piece(run_gemm, &g[i], &t[i]);
        *gemm_ms = 6 * t[0] + t[1] + t[2];
        attn_piece self = {q, k, v, o, {B, c->num_heads, c->num_heads, N, N, dh, dh}};
        attn_piece cross = {q, k, v, o, {B, c->num_heads, c->num_heads, N, L, dh, dh}};
        double ts = 0, tc = 0;
        if (!st) st = time_piece(run_attn, &self, &ts);
        if (!st) st = time_piece(run_attn, &cross, &tc);
        *attn_ms = ts + tc;
        if (st) fail("block split", st);
        double dd = (double)D, flops_gemm = 2.0 * M * (6 * dd * dd + 2 * dd * H);
        double flops_attn = 4.0 * B * c->num_heads * (double)N * (N + L) * dh;
        printf("\n| one block (%lld tokens) | ms | TFLOP/s |\n| --- | ---: | ---: |\n", (long long)M);
        printf("| GEMMs (6 x %lldx%lld, up %lld, down) | %.1f | %.0f |\n", (long long)D, (long long)D, (long long)H,
               *gemm_ms, flops_gemm / (*gemm_ms * 1e-3) / 1e12);
        printf("| attention (self %lld, cross %lld keys) | %.1f | %.0f |\n", (long long)N, (long long)L, *attn_ms,
               flops_attn / (*attn_ms * 1e-3) / 1e12);
        printf("| other (norms, RoPE, modulation, residuals, copies) | %.1f | |\n", block_ms - *gemm_ms - *attn_ms);
        printf("| the block in the forward (forward / blocks) | %.1f | |\n", block_ms);
    }
    for (int i = 0; i < 8; i++) orr_tensor_free(keep[i]);
}

/* ---- the whole network ------------------------------------------------------------- */

typedef struct net_run {
    orr_dit *dit;
    orr_tensor *x, *t, *text, *fps, *out;
} net_run;

static orr_status forward(net_run *r) {
    orr_dit_inputs in = {r->x, r->t, r->text, r->fps, NULL, NULL};
    return orr_dit_forward(r->dit, r->out, &in, NULL);
}

/* Median seconds of 3 forwards after one. */
static orr_status time_forward(net_run *r, double *seconds) {
    double t[3];
    orr_status st = forward(r);
    for (int i = 0; i < 3 && !st; i++) {
        double t0 = now_s();
        st = forward(r);
        t[i] = now_s() - t0;
    }
    if (st) return st;
    double lo = t[0] < t[1] ? t[0] : t[1], hi = t[0] < t[1] ? t[1] : t[0];
    *seconds = t[2] < lo ? lo : t[2] > hi ? hi : t[2];
    return ORR_OK;
}

static void print_estimate(const orr_dit *dit, orr_dit_memory_mode mode, const int64_t x_shape[5], int64_t L) {
    orr_dit_memory m;
    orr_status st = orr_dit_memory_estimate(dit, ORR_CUDA, ORR_BF16, mode, x_shape, L, &m);
    if (st) {
        fail("memory estimate", st);
        return;
    }
    printf("memory estimate (%s): weights %.2f GB on the device%s%.2f GB pinned, activations %.2f GB, caches %.2f "
           "GB, workspace %.2f GB: %.2f GB on the device\n",
           mode == ORR_DIT_STREAMED ? "streamed" : "resident", m.weights / 1e9, mode == ORR_DIT_STREAMED ? " + " : "",
           mode == ORR_DIT_STREAMED ? m.pinned_weights / 1e9 : 0.0, m.activations / 1e9, m.caches / 1e9,
           m.workspace / 1e9, m.total / 1e9);
}

static void full_run(orr_dit *dit, const int64_t latent[5], orr_tensor *text, double official_s) {
    orr_tensor *out = NULL;
    orr_diffusion_cond cond;
    orr_diffusion_cond_init(&cond);
    cond.text = text;
    orr_sampler_params p;
    orr_sampler_params_init(&p, ORR_SAMPLER_EULER);
    double t0 = now_s();
    orr_status st = orr_tensor_empty_on(ORR_CUDA, &out, ORR_F32, 5, latent);
    if (!st) st = orr_dit_sample(dit, out, &cond, &p);
    if (!st) st = orr_cuda_synchronize();
    double s = now_s() - t0;
    if (st)
        fail("Text2World 35 steps", st);
    else
        printf("| Text2World sampling, %d Euler steps, guidance %.0f | %.1f s | official %.0f s (one H100) |\n",
               p.steps, p.guidance, s, official_s);
    fflush(stdout);
    orr_tensor_free(out);
}

void orr_bench_cuda_dit(bool quick) {
    orr_cuda_info info;
    orr_status st = orr_cuda_get_info(&info);
    if (st) {
        printf("\nDiT on the GPU: skipped (%s)\n", orr_last_error());
        return;
    }
    double peak = dense_bf16_tflops(info.name);
    dit_config cfg;
    if ((st = orr_dit_config_parse(&cfg, "GeneralDIT", orr_dit_config_7b_text2world))) {
        fail("7B config", st);
        return;
    }
    if (quick) cfg.num_blocks = 4;
    const int64_t B = 2, L = 512;
    int64_t latent[5] = {1, 16, quick ? 4 : 16, quick ? 44 : 88, quick ? 80 : 160};
    int64_t x_shape[5] = {B, 16, latent[2], latent[3], latent[4]};
    int64_t N = latent[2] * (latent[3] / 2) * (latent[4] / 2);
    printf("\n## The 7B DiT on %s (%s%d blocks, width %d, %d heads; bf16 weights; batch %lld x %lld tokens, text "
           "%lld)\n\n",
           info.name, quick ? "quick: " : "", cfg.num_blocks, cfg.model_channels, cfg.num_heads, (long long)B,
           (long long)N, (long long)L);

    orr_rng rng;
    orr_rng_init(&rng, 2024);
    net_run r = {NULL, NULL, NULL, NULL, NULL, NULL};
    double t0 = now_s();
    st = orr_dit_create_random_on(&r.dit, &cfg, &rng, ORR_CUDA, ORR_BF16);
    if (st) {
        fail("random 7B weights on the device", st);
        return;
    }
    printf("random bf16 weights drawn on the device in %.1f s\n", now_s() - t0);
    print_estimate(r.dit, ORR_DIT_RESIDENT, x_shape, L);
    print_estimate(r.dit, ORR_DIT_STREAMED, x_shape, L);
    st = orr_tensor_empty_on(ORR_CUDA, &r.x, ORR_F32, 5, x_shape);
    if (!st) st = orr_rng_normal(&rng, r.x, 0.0f, 1.0f);
    if (!st) st = orr_tensor_empty_on(ORR_CUDA, &r.t, ORR_F32, 1, &B);
    if (!st) st = orr_fill(r.t, 0.25);
    if (!st) st = orr_tensor_empty_on(ORR_CUDA, &r.fps, ORR_F32, 1, &B);
    if (!st) st = orr_fill(r.fps, 24.0);
    if (!st) st = orr_tensor_empty_on(ORR_CUDA, &r.text, ORR_F32, 3, (int64_t[]){B, L, cfg.crossattn_channels});
    if (!st) st = orr_rng_normal(&rng, r.text, 0.0f, 0.2f);
    if (!st) st = orr_tensor_empty_on(ORR_CUDA, &r.out, ORR_F32, 5, x_shape);
    if (st) {
        fail("inputs", st);
    } else {
        /* the GEMMs at 2 flops per weight per token row, the attentions at 4 B heads N (N + L) head_dim per block */
        double D = cfg.model_channels, H = cfg.mlp_hidden, dh = D / cfg.num_heads, M = (double)(B * N);
        double flops = cfg.num_blocks *
                       (2.0 * M * (6 * D * D + 2 * D * H) + 4.0 * B * cfg.num_heads * (double)N * (double)(N + L) * dh);
        orr_mem_reset_peak(ORR_CUDA);
        double s = 0;
        st = time_forward(&r, &s);
        orr_mem_stats mem;
        orr_mem_get_stats(ORR_CUDA, &mem);
        printf("\n| DiT forward, batch %lld (one guided step) | s | TFLOP/s | MFU | peak device GB |\n"
               "| --- | ---: | ---: | ---: | ---: |\n",
               (long long)B);
        if (st) {
            fail("forward, resident", st);
        } else {
            double tf = flops / s / 1e12;
            char mfu[32] = "-";
            if (peak > 0) snprintf(mfu, sizeof mfu, "%.1f%%", 100 * tf / peak);
            printf("| resident | %.3f | %.0f | %s | %.2f |\n", s, tf, mfu, mem.bytes_peak / 1e9);
            printf("| 35 guided steps at this rate | %.1f | | | |\n", 35 * s);
            fflush(stdout);
            double gemm_ms, attn_ms;
            block_split(&cfg, B, N, L, s * 1e3 / cfg.num_blocks, &gemm_ms, &attn_ms, &rng);
            if (getenv("ORR_BENCH_DIT_RUN") && !quick) {
                orr_tensor *text1 = NULL;
                st = orr_tensor_empty_on(ORR_CUDA, &text1, ORR_F32, 3, (int64_t[]){1, L, cfg.crossattn_channels});
                if (!st) st = orr_rng_normal(&rng, text1, 0.0f, 0.2f);
                if (st)
                    fail("text", st);
                else
                    full_run(r.dit, latent, text1, 380.0);
                orr_tensor_free(text1);
            }
        }
        /* the streamed mode: blocks from pinned host memory */
        orr_cuda_empty_cache();
        t0 = now_s();
        st = orr_dit_to_device(r.dit, ORR_CUDA, ORR_BF16, ORR_DIT_STREAMED);
        if (st) {
            fail("to the streamed mode", st);
        } else {
            printf("\nto the streamed mode in %.1f s\n", now_s() - t0);
            orr_cuda_empty_cache();
            orr_mem_reset_peak(ORR_CUDA);
            st = time_forward(&r, &s);
            orr_mem_get_stats(ORR_CUDA, &mem);
            if (st)
                fail("forward, streamed", st);
            else
                printf("\n| DiT forward, batch %lld | s | peak device GB |\n| --- | ---: | ---: |\n"
                       "| streamed | %.3f | %.2f |\n",
                       (long long)B, s, mem.bytes_peak / 1e9);
        }
    }
    fflush(stdout);
    orr_tensor *all[] = {r.x, r.t, r.text, r.fps, r.out};
    for (int i = 0; i < 5; i++) orr_tensor_free(all[i]);
    orr_dit_free(r.dit);
    orr_cuda_empty_cache();
}
