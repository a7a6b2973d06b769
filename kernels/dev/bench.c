/* bench.c — orrery-bench: one markdown table row per configuration of the
 * heavy ops (linear, attention, conv3d) through the public API: the best of
 * several calls in ms, GFLOP/s, the same FLOPs (or GEMM shape) through
 * plain OpenBLAS sgemm for comparison, and the peak of accounted memory.
 * Then the whole networks beside the official PyTorch figures, each row in
 * a fresh process of its own (this program again, with --model) so that
 * the process's peak resident memory is that of building the model and
 * running that row alone, as the official process is measured.
 *
 *   orrery-bench [--threads N] [--quick] [--cpu-only] [--model NAME]
 *
 * --quick drops the largest shapes and runs each configuration twice;
 * --model runs only the whole-network row NAME (dit, dit-v2w,
 * transfer-base, transfer-2, tokenizer-encode, tokenizer-decode) in this
 * process. Built with CUDA, the GPU tables follow (bench_cuda*.c) unless
 * --cpu-only. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "orrery.h"

#ifdef ORR_HAVE_CUDA
/* kernels/dev/bench_cuda.c and bench_cuda_dit.c: the GPU tables (they
 * print why not when no device is usable). */
void orr_bench_cuda(bool quick);
void orr_bench_cuda_dit(bool quick);
#endif

typedef struct bench_opts {
    int runs;          /* calls per configuration (the best counts) */
    double budget_ms;  /* stop earlier once at least two calls took this long */
    bool quick;
} bench_opts;

typedef orr_status (*call_fn)(void *ctx);

static int failures;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* The best time of up to opts->runs calls; the first call (page faults,
 * thread start-up) is only counted when it is the best. */
static orr_status best_time(call_fn fn, void *ctx, const bench_opts *o, double *best_ms) {
    double best = INFINITY, spent = 0;
    for (int r = 0; r < o->runs; r++) {
        double t0 = now_ms();
        orr_status st = fn(ctx);
        if (st) return st;
        double dt = now_ms() - t0;
        if (dt < best) best = dt;
        spent += dt;
        if (r >= 1 && spent > o->budget_ms) break;
    }
    *best_ms = best;
    return ORR_OK;
}

static orr_tensor *random_tensor(orr_dtype dtype, int ndim, const int64_t *shape, orr_rng *rng) {
    orr_tensor *f = NULL, *t = NULL;
    if (orr_tensor_empty(&f, ORR_F32, ndim, shape) || orr_rng_normal(rng, f, 0.0f, 1.0f)) goto fail;
    if (dtype == ORR_F32) return f;
    if (orr_tensor_clone(&t, f, dtype)) goto fail;
    orr_tensor_free(f);
    return t;
fail:
    fprintf(stderr, "orrery-bench: cannot make a tensor: %s\n", orr_last_error());
    orr_tensor_free(f);
    return NULL;
}

static void print_header(void) {
    printf("| op | shape | ms | GFLOP/s | OpenBLAS sgemm ms | sgemm GFLOP/s | peak MiB |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
}

/* Times `op` and its sgemm counterpart and prints the row. The peak is
 * that of the op's calls: its inputs, output and scratch. */
static void row(const char *op, const char *shape, double flops, call_fn fn, void *ctx, call_fn blas, void *blas_ctx,
                const bench_opts *o) {
    double ms = 0, blas_ms = 0;
    orr_mem_reset_peak(ORR_CPU);
    orr_status st = best_time(fn, ctx, o, &ms);
    orr_mem_stats mem;
    orr_mem_get_stats(ORR_CPU, &mem);
    if (st) {
        printf("| %s | %s | failed: %s: %s | | | | |\n", op, shape, orr_status_name(st), orr_last_error());
        fflush(stdout);
        failures++;
        return;
    }
    if (blas) best_time(blas, blas_ctx, o, &blas_ms);
    printf("| %s | %s | %.2f | %.1f | ", op, shape, ms, flops / (ms * 1e6));
    if (blas)
        printf("%.2f | %.1f | ", blas_ms, flops / (blas_ms * 1e6));
    else
        printf("- | - | ");
    printf("%.1f |\n", mem.bytes_peak / 1048576.0);
    fflush(stdout);
}

/* ---- plain sgemm: c[m,n] = a[m,k] b[n,k]^T, `repeat` times ---------------- */

typedef struct gemm_ctx {
    int m, n, k, repeat;
    bool b_transposed; /* b is [n,k] (like nn.Linear's weight) rather than [k,n] */
    float *a, *b, *c;
} gemm_ctx;

static orr_status run_gemm(void *user) {
    gemm_ctx *g = user;
    for (int r = 0; r < g->repeat; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, g->b_transposed ? CblasTrans : CblasNoTrans, g->m, g->n, g->k, 1.0f,
                    g->a, g->k, g->b, g->b_transposed ? g->k : g->n, 0.0f, g->c, g->n);
    return ORR_OK;
}

static bool gemm_init(gemm_ctx *g, int m, int n, int k, int repeat, bool b_transposed) {
    *g = (gemm_ctx){m, n, k, repeat, b_transposed, NULL, NULL, NULL};
    g->a = malloc(sizeof(float) * m * k);
    g->b = malloc(sizeof(float) * n * k);
    g->c = malloc(sizeof(float) * m * n);
    if (!g->a || !g->b || !g->c) return false;
    for (long i = 0; i < (long)m * k; i++) g->a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (long i = 0; i < (long)n * k; i++) g->b[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    return true;
}

static void gemm_free(gemm_ctx *g) {
    free(g->a);
    free(g->b);
    free(g->c);
}

/* ---- linear --------------------------------------------------------------- */

typedef struct linear_ctx {
    orr_tensor *y, *x, *w;
} linear_ctx;

static orr_status run_linear(void *user) {
    linear_ctx *l = user;
    return orr_linear(l->y, l->x, l->w, NULL);
}

static void bench_linear(const char *op, int64_t tokens, int64_t in, int64_t out, orr_dtype w_dtype, orr_rng *rng,
                         const bench_opts *o) {
    int64_t xs[2] = {tokens, in}, ws[2] = {out, in}, ys[2] = {tokens, out};
    linear_ctx l = {NULL, random_tensor(ORR_F32, 2, xs, rng), random_tensor(w_dtype, 2, ws, rng)};
    orr_tensor_empty(&l.y, ORR_F32, 2, ys);
    gemm_ctx g;
    if (l.x && l.w && l.y && gemm_init(&g, (int)tokens, (int)out, (int)in, 1, true)) {
        char shape[96];
        snprintf(shape, sizeof shape, "%lldx%lld -> %lld, w %s", (long long)tokens, (long long)in, (long long)out,
                 orr_dtype_name(w_dtype));
        row(op, shape, 2.0 * tokens * in * out, run_linear, &l, run_gemm, &g, o);
        gemm_free(&g);
    } else {
        failures++;
    }
    orr_tensor_free(l.x);
    orr_tensor_free(l.w);
    orr_tensor_free(l.y);
}

/* ---- attention -------------------------------------------------------------- */

typedef struct attention_ctx {
    orr_tensor *out, *q, *k, *v;
    float scale;
    bool causal;
} attention_ctx;

static orr_status run_attention(void *user) {
    attention_ctx *a = user;
    return orr_attention(a->out, a->q, a->k, a->v, NULL, a->scale, a->causal);
}

/* What materialised attention costs in sgemm alone: per (batch, head),
 * S = Q K^T into a full Sq x Sk matrix, then S V (no softmax, no mask). */
typedef struct naive_attention_ctx {
    int64_t problems, s, d;
    const float *q, *k, *v;
    float *scores, *out;
} naive_attention_ctx;

static orr_status run_naive_attention(void *user) {
    naive_attention_ctx *n = user;
    int s = (int)n->s, d = (int)n->d;
    for (int64_t i = 0; i < n->problems; i++) {
        int64_t at = i * n->s * n->d;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s, s, d, 1.0f, n->q + at, d, n->k + at, d, 0.0f,
                    n->scores, s);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, d, s, 1.0f, n->scores, s, n->v + at, d, 0.0f,
                    n->out + at, d);
    }
    return ORR_OK;
}

/* GFLOP/s counts 4*D per attended (query, key) pair: all S^2 of them, or
 * S(S+1)/2 when causal (the naive sgemm column still does all S^2). */
static void bench_attention(const char *op, int64_t batch, int64_t heads, int64_t s, int64_t d, bool causal,
                            orr_rng *rng, const bench_opts *o) {
    int64_t shape[4] = {batch, heads, s, d};
    attention_ctx a = {NULL, random_tensor(ORR_F32, 4, shape, rng), random_tensor(ORR_F32, 4, shape, rng),
                       random_tensor(ORR_F32, 4, shape, rng), 1.0f / sqrtf((float)d), causal};
    orr_tensor_empty(&a.out, ORR_F32, 4, shape);
    char desc[96];
    snprintf(desc, sizeof desc, "B=%lld H=%lld S=%lld D=%lld%s", (long long)batch, (long long)heads, (long long)s,
             (long long)d, causal ? " causal" : "");
    double pairs = causal ? s * (s + 1) / 2.0 : (double)s * s;
    if (a.q && a.k && a.v && a.out) {
        naive_attention_ctx n = {batch * heads, s, d, a.q->data, a.k->data, a.v->data,
                                 malloc(sizeof(float) * s * s), malloc(sizeof(float) * batch * heads * s * d)};
        if (n.scores && n.out)
            row(op, desc, 4.0 * d * pairs * heads * batch, run_attention, &a, run_naive_attention, &n, o);
        else
            failures++;
        free(n.scores);
        free(n.out);
    } else {
        failures++;
    }
    orr_tensor_free(a.q);
    orr_tensor_free(a.k);
    orr_tensor_free(a.v);
    orr_tensor_free(a.out);
}

/* ---- conv3d ------------------------------------------------------------------ */

typedef struct conv_ctx {
    orr_tensor *y, *x, *w, *b;
    orr_conv_params p;
} conv_ctx;

static orr_status run_conv(void *user) {
    conv_ctx *c = user;
    return orr_conv3d(c->y, c->x, c->w, c->b, &c->p);
}

/* A causal (kt,kh,kw) conv as the tokenizer runs it: frame 0 repeated kt-1
 * times in front, zero padding kh/2, kw/2 in space, stride 1. The sgemm
 * counterpart is the im2col GEMM of one output frame, [C, C*kvol] x
 * [C*kvol, H*W], once per frame (without building the im2col matrix). */
static void bench_conv3d(int64_t channels, int64_t t, int64_t h, int64_t w, int kt, int kh, int kw, orr_rng *rng,
                         const bench_opts *o) {
    int64_t xs[5] = {1, channels, t, h, w}, ws[5] = {channels, channels, kt, kh, kw}, bs[1] = {channels};
    conv_ctx c = {.x = random_tensor(ORR_F32, 5, xs, rng), .w = random_tensor(ORR_F32, 5, ws, rng),
                  .b = random_tensor(ORR_F32, 1, bs, rng)};
    orr_conv_params_init(&c.p);
    c.p.causal_pad = kt - 1;
    c.p.padding[1] = kh / 2;
    c.p.padding[2] = kw / 2;
    orr_tensor_empty(&c.y, ORR_F32, 5, xs);
    int64_t kvol = (int64_t)kt * kh * kw;
    gemm_ctx g;
    if (c.x && c.w && c.b && c.y && gemm_init(&g, (int)channels, (int)(h * w), (int)(channels * kvol), (int)t, false)) {
        char op[48], shape[96];
        snprintf(op, sizeof op, "conv3d (%d,%d,%d)", kt, kh, kw);
        snprintf(shape, sizeof shape, "%lld -> %lld ch, %lldx%lldx%lld", (long long)channels, (long long)channels,
                 (long long)t, (long long)h, (long long)w);
        row(op, shape, 2.0 * channels * channels * kvol * t * h * w, run_conv, &c, run_gemm, &g, o);
        gemm_free(&g);
    } else {
        failures++;
    }
    orr_tensor_free(c.x);
    orr_tensor_free(c.w);
    orr_tensor_free(c.b);
    orr_tensor_free(c.y);
}

/* ---- whole networks, next to the official PyTorch figures of DESIGN.md ---- */

/* GeneralDIT with the 7B model's switches at the DESIGN.md bench size:
 * 4 blocks, width 256, 2 heads of 128, text 512 x 1024. */
static const char *bench_dit_config =
    "{\"patch_spatial\": 2, \"patch_temporal\": 1, \"block_config\": \"FA-CA-MLP\", \"concat_padding_mask\": true,"
    " \"pos_emb_cls\": \"rope3d\", \"pos_emb_learnable\": false, \"pos_emb_interpolation\": \"crop\","
    " \"block_x_format\": \"THWBD\", \"affline_emb_norm\": true, \"use_adaln_lora\": true,"
    " \"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\","
    " \"rope_h_extrapolation_ratio\": 1.0, \"rope_w_extrapolation_ratio\": 1.0, \"rope_t_extrapolation_ratio\": 2.0,"
    " \"mlp_ratio\": 4.0, \"max_img_h\": 64, \"max_img_w\": 64, \"max_frames\": 16, \"in_channels\": 16,"
    " \"out_channels\": 16, \"model_channels\": 256, \"num_blocks\": 4, \"num_heads\": 2,"
    " \"crossattn_emb_channels\": 1024, \"adaln_lora_dim\": 256}";

/* Cosmos-Tokenize1-CV8x8x8 at full size (105.7 M parameters). */
static const char *bench_tokenizer_config =
    "{\"attn_resolutions\": [32], \"channels\": 128, \"channels_mult\": [2, 4, 4], \"dropout\": 0.0,"
    " \"in_channels\": 3, \"num_res_blocks\": 2, \"out_channels\": 3, \"resolution\": 1024, \"patch_size\": 4,"
    " \"patch_method\": \"haar\", \"latent_channels\": 16, \"z_channels\": 16, \"z_factor\": 1, \"num_groups\": 1,"
    " \"legacy_mode\": false, \"spatial_compression\": 8, \"temporal_compression\": 8, \"formulation\": \"AE\","
    " \"encoder\": \"FACTORIZED\", \"decoder\": \"FACTORIZED\", \"name\": \"CV\"}";

static void print_model_header(void) {
    printf("\n| model | input | ms | official ms | peak MiB (weights included) | process peak RSS MiB |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: |\n");
}

/* The peak resident set of this process so far (ru_maxrss is in KiB). */
static double peak_rss_mib(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : NAN;
}

static void model_row(const char *model, const char *input, const char *official, call_fn fn, void *ctx,
                      const bench_opts *o) {
    double ms;
    orr_mem_stats mem;
    orr_status st = best_time(fn, ctx, o, &ms);
    orr_mem_get_stats(ORR_CPU, &mem);
    if (st) {
        printf("| %s | %s | failed: %s: %s | %s | | |\n", model, input, orr_status_name(st), orr_last_error(),
               official);
        failures++;
    } else {
        printf("| %s | %s | %.1f | %s | %.1f | %.0f |\n", model, input, ms, official, mem.bytes_peak / 1048576.0,
               peak_rss_mib());
    }
    fflush(stdout);
}

typedef struct dit_ctx {
    orr_dit *dit;
    orr_tensor *out;
    orr_dit_inputs in;
} dit_ctx;

static orr_status run_dit(void *user) {
    dit_ctx *d = user;
    return orr_dit_forward(d->dit, d->out, &d->in, NULL);
}

/* 512 tokens: 2 latent frames of 32 x 32, patches of 2 x 2. */
static void bench_dit(const char *network, const char *official, orr_rng *rng, const bench_opts *o) {
    dit_ctx d = {0};
    orr_tensor *x = NULL, *t = NULL, *text = NULL, *fps = NULL, *mask = NULL;
    orr_mem_reset_peak(ORR_CPU);
    if (orr_dit_create_random(&d.dit, network, bench_dit_config, 7)) {
        printf("| %s | | failed: %s | %s | | |\n", network, orr_last_error(), official);
        failures++;
        return;
    }
    bool v2w = strcmp(network, "VideoExtendGeneralDIT") == 0;
    orr_dit_info info;
    orr_dit_get_info(d.dit, &info);
    int64_t xs[5] = {1, info.latent_channels, 2, 32, 32};
    x = random_tensor(ORR_F32, 5, xs, rng);
    t = random_tensor(ORR_F32, 1, (int64_t[]){1}, rng);
    text = random_tensor(ORR_F32, 3, (int64_t[]){1, 512, 1024}, rng);
    orr_tensor_zeros(&fps, ORR_F32, 1, (int64_t[]){1});
    if (fps) orr_tensor_set(fps, 0, 24);
    if (v2w) orr_tensor_zeros(&mask, ORR_F32, 5, (int64_t[]){1, 1, 2, 32, 32});
    orr_tensor_empty(&d.out, ORR_F32, 5, (int64_t[]){1, info.out_channels, 2, 32, 32});
    d.in = (orr_dit_inputs){x, t, text, fps, NULL, mask};
    model_row(network, "1x16x2x32x32 (512 tokens), text 512x1024", official, run_dit, &d, o);
    orr_tensor *all[] = {x, t, text, fps, mask, d.out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_dit_free(d.dit);
}

typedef struct tokenizer_ctx {
    orr_tokenizer *tok;
    orr_tensor *video, *latent, *recon;
} tokenizer_ctx;

static orr_status run_encode(void *user) {
    tokenizer_ctx *c = user;
    return orr_tokenizer_encode(c->tok, c->latent, NULL, c->video);
}

static orr_status run_decode(void *user) {
    tokenizer_ctx *c = user;
    return orr_tokenizer_decode(c->tok, c->recon, c->latent);
}

/* Encoding 1x3x17x64x64, or decoding a latent of that size (drawn at
 * random: decoding costs the same whatever the values). */
static void bench_tokenizer(bool decode, orr_rng *rng, const bench_opts *o) {
    tokenizer_ctx c = {0};
    const char *model = decode ? "tokenizer CV8x8x8 decode" : "tokenizer CV8x8x8 encode";
    orr_mem_reset_peak(ORR_CPU);
    if (orr_tokenizer_create_random(&c.tok, bench_tokenizer_config, 7)) {
        printf("| %s | | failed: %s | | | |\n", model, orr_last_error());
        failures++;
        return;
    }
    int64_t vs[5] = {1, 3, 17, 64, 64}, ls[5];
    orr_tokenizer_latent_shape(c.tok, 5, vs, ls);
    if (decode) {
        c.latent = random_tensor(ORR_F32, 5, ls, rng);
        orr_tensor_empty(&c.recon, ORR_F32, 5, vs);
        if (c.latent && c.recon) model_row(model, "1x16x3x8x8", "263", run_decode, &c, o);
    } else {
        c.video = random_tensor(ORR_F32, 5, vs, rng);
        orr_tensor_empty(&c.latent, ORR_F32, 5, ls);
        if (c.video && c.latent) model_row(model, "1x3x17x64x64", "179", run_encode, &c, o);
    }
    if (!(decode ? c.latent && c.recon : c.video && c.latent)) failures++;
    orr_tensor_free(c.video);
    orr_tensor_free(c.latent);
    orr_tensor_free(c.recon);
    orr_tokenizer_free(c.tok);
}

typedef struct transfer_ctx {
    orr_transfer *tr;
    orr_tensor *out;
    orr_transfer_inputs in;
} transfer_ctx;

static orr_status run_transfer(void *user) {
    transfer_ctx *c = user;
    return orr_transfer_forward(c->tr, c->out, &c->in, NULL);
}

/* Transfer1 at the bench DiT's size: the Video2World base (the bench
 * config with the condition-mask channel) with `branches` control branches
 * of 2 blocks each (none: the base alone, through the same forward), the
 * controls' latents and weights as the sampler gives them. */
static void bench_transfer(int branches, const char *official, orr_rng *rng, const bench_opts *o) {
    transfer_ctx c = {0};
    char model[96], base[1024], branch[1100];
    snprintf(model, sizeof model, branches ? "Transfer1 base + %d control branches of 2 blocks" : "Transfer1 base alone",
             branches);
    const char *in = strstr(bench_dit_config, "\"in_channels\": 16");
    snprintf(base, sizeof base, "%.*s\"in_channels\": 17%s", (int)(in - bench_dit_config), bench_dit_config,
             in + strlen("\"in_channels\": 16"));
    snprintf(branch, sizeof branch, "%.*s, \"num_control_blocks\": 2}", (int)(strrchr(base, '}') - base), base);
    orr_mem_reset_peak(ORR_CPU);
    orr_status st = orr_transfer_create_random(&c.tr, base, 7);
    for (int i = 0; !st && i < branches; i++)
        st = orr_transfer_add_control_random(c.tr, i ? ORR_CONTROL_DEPTH : ORR_CONTROL_EDGE, branch, 8 + i);
    if (st) {
        printf("| %s | | failed: %s | %s | | |\n", model, orr_last_error(), official);
        failures++;
        orr_transfer_free(c.tr);
        return;
    }
    int n = branches ? branches : 1;
    orr_tensor *x = random_tensor(ORR_F32, 5, (int64_t[]){1, 16, 2, 32, 32}, rng),
               *t = random_tensor(ORR_F32, 1, (int64_t[]){1}, rng),
               *text = random_tensor(ORR_F32, 3, (int64_t[]){1, 512, 1024}, rng),
               *hint = random_tensor(ORR_F32, 6, (int64_t[]){1, n, 16, 2, 32, 32}, rng), *fps = NULL, *mask = NULL,
               *weight = NULL;
    orr_tensor_zeros(&fps, ORR_F32, 1, (int64_t[]){1});
    if (fps) orr_tensor_set(fps, 0, 24);
    orr_tensor_zeros(&mask, ORR_F32, 5, (int64_t[]){1, 1, 2, 32, 32});
    orr_tensor_zeros(&weight, ORR_F32, 1, (int64_t[]){n});
    for (int i = 0; weight && i < n; i++) orr_tensor_set(weight, i, 1.0 / n);
    orr_tensor_empty(&c.out, ORR_F32, 5, (int64_t[]){1, 16, 2, 32, 32});
    c.in = (orr_transfer_inputs){.net = {x, t, text, fps, NULL, mask}, .latent_hint = hint, .control_weight = weight};
    if (x && t && text && hint && fps && mask && weight && c.out)
        model_row(model, "1x16x2x32x32 (512 tokens), text 512x1024", official, run_transfer, &c, o);
    else
        failures++;
    orr_tensor *all[] = {x, t, text, hint, fps, mask, weight, c.out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_transfer_free(c.tr);
}

enum {
    MODEL_DIT,
    MODEL_DIT_V2W,
    MODEL_TRANSFER_BASE,
    MODEL_TRANSFER_2,
    MODEL_TOKENIZER_ENCODE,
    MODEL_TOKENIZER_DECODE,
    N_MODELS
};
static const char *const model_names[N_MODELS] = {"dit",         "dit-v2w",          "transfer-base",
                                                  "transfer-2",  "tokenizer-encode", "tokenizer-decode"};

/* The whole-network row `model`, here. */
static void bench_model(int model, orr_rng *rng, const bench_opts *o) {
    switch (model) {
    case MODEL_DIT: bench_dit("GeneralDIT", "95", rng, o); break;
    case MODEL_DIT_V2W: bench_dit("VideoExtendGeneralDIT", "93", rng, o); break;
    case MODEL_TRANSFER_BASE: bench_transfer(0, "78-91", rng, o); break;
    case MODEL_TRANSFER_2: bench_transfer(2, "168-189", rng, o); break;
    default: bench_tokenizer(model == MODEL_TOKENIZER_DECODE, rng, o); break;
    }
}

/* The whole-network row `model` in a fresh process: this program again
 * (the same thread count and --quick), which prints the row, a failed one
 * too (exit status 1); a row is printed here only where it could not. */
static void bench_model_apart(int model, const char *program, const bench_opts *o) {
    char threads[16];
    snprintf(threads, sizeof threads, "%d", orr_get_num_threads());
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* without --quick its place ends the arguments */
        execl("/proc/self/exe", program, "--threads", threads, "--model", model_names[model],
              o->quick ? "--quick" : (char *)NULL, (char *)NULL);
        fprintf(stderr, "orrery-bench: cannot run itself again: %s\n", strerror(errno));
        _exit(127);
    }
    int status = 0;
    bool ran = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status);
    if (ran && WEXITSTATUS(status) == 0) return;
    failures++;
    if (ran && WEXITSTATUS(status) == 1) return;
    printf("| %s | | failed: %s | | | |\n", model_names[model],
           pid < 0 ? "cannot fork" : "its process could not start or was killed");
    fflush(stdout);
}

static void usage(void) {
    fprintf(stderr, "usage: orrery-bench [--threads N] [--quick] [--cpu-only] [--model dit|dit-v2w|transfer-base|"
                    "transfer-2|tokenizer-encode|tokenizer-decode]\n");
}

int main(int argc, char **argv) {
    bench_opts o = {.runs = 5, .budget_ms = 3000, .quick = false};
    int model = -1;
    bool cpu_only = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            int n = atoi(argv[++i]);
            if (n < 1) {
                usage();
                return 2;
            }
            orr_set_num_threads(n);
        } else if (!strcmp(argv[i], "--cpu-only")) {
            cpu_only = true;
        } else if (!strcmp(argv[i], "--quick")) {
            o.quick = true;
            o.runs = 2;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            const char *name = argv[++i];
            for (int m = 0; m < N_MODELS; m++)
                if (!strcmp(name, model_names[m])) model = m;
            if (model < 0) {
                usage();
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    orr_rng rng;
    orr_rng_init(&rng, 1234);
    if (model >= 0) {
        bench_model(model, &rng, &o);
        return failures ? 1 : 0;
    }
    printf("orrery-bench: %d threads, OpenBLAS %s; best of %d calls\n\n", orr_get_num_threads(),
           openblas_get_config(), o.runs);
    print_header();

    if (!o.quick) bench_linear("linear", 4096, 4096, 4096, ORR_F32, &rng, &o);
    /* the 7B DiT (width 4096, MLP 16384) on a chunk of tokens */
    int64_t tokens = o.quick ? 256 : 1024;
    bench_linear("linear DiT-7B q/k/v/out", tokens, 4096, 4096, ORR_F32, &rng, &o);
    bench_linear("linear DiT-7B fused qkv", tokens, 4096, 3 * 4096, ORR_F32, &rng, &o);
    bench_linear("linear DiT-7B MLP up", tokens, 4096, 16384, ORR_F32, &rng, &o);
    bench_linear("linear DiT-7B MLP down", tokens, 16384, 4096, ORR_F32, &rng, &o);
    bench_linear("linear DiT-7B cross k/v", 512, 1024, 4096, ORR_F32, &rng, &o);
    /* the small bench DiT: 512 tokens, width 256, text 512 x 1024 */
    bench_linear("linear bench-DiT q/k/v/out", 512, 256, 256, ORR_F32, &rng, &o);
    bench_linear("linear bench-DiT MLP up", 512, 256, 1024, ORR_F32, &rng, &o);
    bench_linear("linear bench-DiT MLP down", 512, 1024, 256, ORR_F32, &rng, &o);
    bench_linear("linear bench-DiT cross k/v", 512, 1024, 256, ORR_F32, &rng, &o);
    /* 16-bit weights, widened on the fly */
    bench_linear("linear bf16 weights", tokens, 4096, 4096, ORR_BF16, &rng, &o);
    bench_linear("linear bf16 weights", 512, 256, 1024, ORR_BF16, &rng, &o);

    int64_t longest = o.quick ? 2048 : 8192;
    for (int64_t s = 512; s <= longest; s *= 2) bench_attention("attention", 1, 4, s, 128, false, &rng, &o);
    bench_attention("attention causal", 1, 4, o.quick ? 1024 : 4096, 128, true, &rng, &o);
    /* the tokenizer's mid block: one head of 512 channels over a frame's
     * tokens, then causal attention over the latent frames of every (h, w) */
    bench_attention("attention tokenizer spatial", 1, 1, o.quick ? 1024 : 4096, 512, false, &rng, &o);
    bench_attention("attention tokenizer temporal", o.quick ? 1408 : 14080, 1, 16, 512, true, &rng, &o);

    int64_t frames = o.quick ? 5 : 17;
    bench_conv3d(128, frames, 64, 64, 1, 3, 3, &rng, &o);
    bench_conv3d(128, frames, 64, 64, 3, 1, 1, &rng, &o);
    bench_conv3d(128, frames, 64, 64, 3, 3, 3, &rng, &o);

    print_model_header();
    for (int m = 0; m < N_MODELS; m++) bench_model_apart(m, argv[0], &o);
#ifdef ORR_HAVE_CUDA
    if (!cpu_only) {
        orr_bench_cuda(o.quick);
        orr_bench_cuda_dit(o.quick);
    }
#else
    (void)cpu_only;
#endif
    return failures ? 1 : 0;
}
