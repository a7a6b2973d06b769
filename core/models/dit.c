/* dit.c — the forward pass of the Cosmos-Predict1 diffusion transformer
 * (GeneralDIT and its Video2World subclass VideoExtendGeneralDIT), number for
 * number with general_dit.py, blocks.py and attention.py.
 *
 * Activations live token-major, [B, N, D] with the N = T'H'W' tokens in
 * (t h w) order. The official blocks run on [T', H', W', B, D], but every
 * operation is per token or per batch item, so only the trace copies change
 * layout. Attention takes its heads head-major ([B, heads, N, head_dim]);
 * the per-head QK RMSNorm and the RoPE are fused into that transpose. The
 * activations come from one arena sized from the input shape; the position
 * tables and the text's cross-attention keys and values stay in the handle
 * while the shape and the text stay the same (a sampler's 2 x steps calls). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "attention.h"
#include "cuda/device.h"
#include "dit.h"
#include "elementwise.h"
#include "linear.h"

#define NORM_EPS 1e-6f
#define LANES 16 /* independent partial sums, so that the reductions vectorise */

static float sum_f32(const float *x, int64_t n) {
    float lane[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += x[i + l];
    double s = 0;
    for (; i < n; i++) s += x[i];
    for (int l = 0; l < LANES; l++) s += lane[l];
    return (float)s;
}

/* sum of (x - c)^2 */
static float sum_sq_f32(const float *x, int64_t n, float c) {
    float lane[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += (x[i + l] - c) * (x[i + l] - c);
    double s = 0;
    for (; i < n; i++) s += (double)(x[i] - c) * (x[i] - c);
    for (int l = 0; l < LANES; l++) s += lane[l];
    return (float)s;
}

typedef struct fwd {
    const orr_dit *dit;
    const dit_config *c;
    union { /* the sizes, also as one dit_dims */
        dit_dims d;
        struct {
            int64_t B, T, H, W, tp, hp, wp, N, M, D, heads, dh, L;
        };
    };
    float *x, *h, *scratch; /* residual stream, sub-block input, big scratch */
    int64_t attn_stride;    /* floats between the attention buffers in scratch */
    float *extra;           /* [N, D] learnable absolute embedding */
    float *angles;          /* [N, dh] RoPE angles; cos/sin of the first half */
    float *cos, *sin;       /* [N, dh/2] */
    float *t_sin;           /* [B, D] timestep sinusoid */
    float *emb;             /* [B, D] the embedding that modulates (after affline_norm) */
    float *emb_silu;        /* [B, D] SiLU(emb), the input of every adaLN */
    float *lora;            /* [B, 3D] AdaLN-LoRA term, or NULL */
    float *mod;             /* [B, 3D] shift, scale, gate of the current sub-block */
    float *mod_hidden;      /* [B, max(D, rank)] */
    const float *ctx;       /* [B, L, Cc] */
    float *ctx_kv;          /* the cached keys and values (orr_dit.kv) */
    bool ctx_kv_ready;      /* they hold this call's text already */
    orr_tensor_list *trace;
} fwd;

/* ---- fused row kernels ------------------------------------------------------- */

/* h = LayerNorm(x) * (1 + scale[b]) + shift[b] (no affine, eps 1e-6). */
typedef struct modulate_job {
    float *h;
    const float *x, *shift, *scale;
    int64_t n_per_batch, d, mod_stride;
} modulate_job;

static void modulate_rows(void *user, int64_t begin, int64_t end) {
    const modulate_job *j = user;
    int64_t d = j->d;
    for (int64_t r = begin; r < end; r++) {
        const float *x = j->x + r * d;
        float *h = j->h + r * d;
        int64_t b = r / j->n_per_batch;
        const float *shift = j->shift + b * j->mod_stride, *scale = j->scale + b * j->mod_stride;
        float mean = sum_f32(x, d) / (float)d;
        float rstd = 1.0f / sqrtf(sum_sq_f32(x, d, mean) / (float)d + NORM_EPS);
        for (int64_t i = 0; i < d; i++) h[i] = (x[i] - mean) * rstd * (1.0f + scale[i]) + shift[i];
    }
}

static void modulate(const fwd *f, float *h, const float *x, const float *shift, const float *scale, int64_t stride) {
    modulate_job j = {h, x, shift, scale, f->N, f->D, stride};
    orr_parallel_for(f->M, modulate_rows, &j);
}

/* x += gate[b] * y */
typedef struct gate_job {
    float *x;
    const float *y, *gate;
    int64_t n_per_batch, d, gate_stride;
} gate_job;

static void gate_rows(void *user, int64_t begin, int64_t end) {
    const gate_job *j = user;
    for (int64_t r = begin; r < end; r++) {
        const float *g = j->gate + r / j->n_per_batch * j->gate_stride, *y = j->y + r * j->d;
        float *x = j->x + r * j->d;
        for (int64_t i = 0; i < j->d; i++) x[i] += g[i] * y[i];
    }
}

/* x[b, n] += e[n] */
typedef struct add_rows_job {
    float *x;
    const float *e;
    int64_t n, d;
} add_rows_job;

static void add_rows(void *user, int64_t begin, int64_t end) {
    const add_rows_job *j = user;
    for (int64_t r = begin; r < end; r++) {
        const float *e = j->e + r % j->n * j->d;
        float *x = j->x + r * j->d;
        for (int64_t i = 0; i < j->d; i++) x[i] += e[i];
    }
}

/* Token-major [B, S, heads*dh] -> head-major [B, heads, S, dh], with the
 * per-head RMSNorm (weight w, eps 1e-6) and the rotate-half RoPE on the way
 * when asked; or back again (to_tokens). */
typedef struct heads_job {
    float *dst;
    const float *src;
    int64_t S, heads, dh;
    const float *norm_w;    /* NULL: no norm */
    const float *cos, *sin; /* NULL: no RoPE; [S, dh/2] */
    bool to_tokens;
} heads_job;

static void heads_rows(void *user, int64_t begin, int64_t end) {
    const heads_job *j = user;
    int64_t dh = j->dh, half = dh / 2, S = j->S, H = j->heads;
    float tmp[dh];
    for (int64_t r = begin; r < end; r++) { /* r = (b*S + s)*H + hd */
        int64_t hd = r % H, s = r / H % S, b = r / H / S, head_row = (b * H + hd) * S + s;
        if (j->to_tokens) {
            memcpy(j->dst + r * dh, j->src + head_row * dh, (size_t)dh * sizeof(float));
            continue;
        }
        const float *x = j->src + r * dh;
        float *head = j->dst + head_row * dh;
        if (j->norm_w) {
            float rms = 1.0f / sqrtf(sum_sq_f32(x, dh, 0.0f) / (float)dh + NORM_EPS);
            for (int64_t i = 0; i < dh; i++) tmp[i] = x[i] * rms * j->norm_w[i];
            x = tmp;
        }
        if (j->cos) {
            const float *c = j->cos + s * half, *sn = j->sin + s * half;
            for (int64_t i = 0; i < half; i++) {
                head[i] = x[i] * c[i] - x[i + half] * sn[i];
                head[i + half] = x[i + half] * c[i] + x[i] * sn[i];
            }
        } else {
            memcpy(head, x, (size_t)dh * sizeof(float));
        }
    }
}

static void to_heads(const fwd *f, float *dst, const float *src, int64_t batch, int64_t S, const orr_tensor *norm,
                     bool rope) {
    heads_job j = {dst, src, S, f->heads, f->dh, norm ? norm->data : NULL, rope ? f->cos : NULL,
                   rope ? f->sin : NULL, false};
    orr_parallel_for(batch * S * f->heads, heads_rows, &j);
}

static void to_tokens(const fwd *f, float *dst, const float *src, int64_t S) {
    heads_job j = {dst, src, S, f->heads, f->dh, NULL, NULL, NULL, true};
    orr_parallel_for(f->B * S * f->heads, heads_rows, &j);
}

/* ---- pieces -------------------------------------------------------------------- */

/* y[rows, out] = x[rows, in] w^T + b for an nn.Linear weight [out, in].
 * The rows are split over the pool, each part one single-threaded sgemm
 * (see orr_dit_forward for why OpenBLAS runs on one thread here). */
typedef struct linear_job {
    float *y;
    const float *x;
    const orr_tensor *w, *b;
    int64_t rows, chunk;
    orr_status st[64];
} linear_job;

static void linear_parts(void *user, int64_t begin, int64_t end) {
    linear_job *j = user;
    int64_t out = j->w->shape[0], in = j->w->shape[1];
    for (int64_t p = begin; p < end; p++) {
        int64_t r0 = p * j->chunk, n = j->rows - r0 < j->chunk ? j->rows - r0 : j->chunk;
        j->st[p] = orr_cpu_linear(j->y + r0 * out, out, j->x + r0 * in, in, j->w->data, j->w->dtype, j->w->stride[0],
                                  j->b ? j->b->data : NULL, n, in, out);
    }
}

static orr_status linear_bias(float *y, const float *x, const orr_tensor *w, const orr_tensor *b, int64_t rows) {
    linear_job j = {y, x, w, b, rows, rows, {ORR_OK}};
    int64_t parts = orr_get_num_threads();
    if (parts > 64) parts = 64;
    /* parts of at least 32 rows, in multiples of 16 for the sgemm kernels */
    if (rows < 64 || parts < 2) parts = 1;
    else if (parts > rows / 32) parts = rows / 32;
    j.chunk = ((rows + parts - 1) / parts + 15) / 16 * 16;
    parts = (rows + j.chunk - 1) / j.chunk;
    orr_parallel_for(parts, linear_parts, &j);
    for (int64_t p = 0; p < parts; p++)
        if (j.st[p]) return j.st[p];
    return ORR_OK;
}

static orr_status linear(float *y, const float *x, const orr_tensor *w, int64_t rows) {
    return linear_bias(y, x, w, NULL, rows);
}

static orr_status trace_add(const fwd *f, const char *name, const float *data, int ndim, const int64_t *shape) {
    if (!f->trace) return ORR_OK;
    orr_tensor *t;
    orr_status st = orr_tensor_empty(&t, ORR_F32, ndim, shape);
    if (st) return st;
    memcpy(t->data, data, orr_tensor_nbytes(t));
    return orr_tensor_list_add(f->trace, name, t);
}

/* A [B, N, D] activation as the official blocks hold it. */
static orr_status trace_tokens(const fwd *f, const char *name, const float *x, bool thwbd) {
    if (!f->trace) return ORR_OK;
    if (!thwbd) return trace_add(f, name, x, 5, (int64_t[]){f->B, f->tp, f->hp, f->wp, f->D});
    orr_tensor *t;
    orr_status st = orr_tensor_empty(&t, ORR_F32, 5, (int64_t[]){f->tp, f->hp, f->wp, f->B, f->D});
    if (st) return st;
    float *dst = t->data;
    for (int64_t n = 0; n < f->N; n++)
        for (int64_t b = 0; b < f->B; b++)
            memcpy(dst + (n * f->B + b) * f->D, x + (b * f->N + n) * f->D, (size_t)f->D * sizeof(float));
    return orr_tensor_list_add(f->trace, name, t);
}

/* mod = adaLN(emb) (+ the first chunks*D of the LoRA term). */
static orr_status adaln(const fwd *f, const dit_adaln *a, int chunks) {
    orr_status st;
    if (!a->w2) return linear(f->mod, f->emb_silu, a->w1, f->B);
    if ((st = linear(f->mod_hidden, f->emb_silu, a->w1, f->B))) return st;
    if ((st = linear(f->mod, f->mod_hidden, a->w2, f->B))) return st;
    int64_t n = chunks * f->D;
    for (int64_t b = 0; b < f->B; b++)
        for (int64_t i = 0; i < n; i++) f->mod[b * n + i] += f->lora[b * 3 * f->D + i];
    return ORR_OK;
}

static orr_status check_finite(const fwd *f, int block, int sub) {
    int64_t bad = orr_cpu_count_nonfinite(f->x, f->M * f->D);
    if (!bad) return ORR_OK;
    static const char *kinds[] = {"full attention", "cross attention", "MLP"};
    return orr_error(ORR_ERR_NONFINITE, "dit: %lld NaN/Inf values appeared in blocks.block%d.blocks.%d (%s)",
                     (long long)bad, block, sub, kinds[f->c->subblocks[sub]]);
}

/* `slot` numbers the cross-attention sub-blocks for the key/value cache. */
static orr_status attention_subblock(const fwd *f, const dit_subblock *s, int64_t slot) {
    bool cross = s->kind == DIT_CROSS_ATTN;
    int64_t kv_rows = cross ? f->B * f->L : f->M, S_kv = cross ? f->L : f->N;
    float *tok = f->scratch, *qh = tok + f->attn_stride, *kh = qh + f->attn_stride, *vh = kh + f->attn_stride,
          *ah = vh + f->attn_stride;
    if (cross) {
        kh = f->ctx_kv + slot * 2 * kv_rows * f->D;
        vh = kh + kv_rows * f->D;
    }
    const float *kv_in = cross ? f->ctx : f->h;
    orr_status st;
    if ((st = linear(tok, f->h, s->q, f->M))) return st;
    to_heads(f, qh, tok, f->B, f->N, s->q_norm, !cross);
    if (!cross || !f->ctx_kv_ready) {
        if ((st = linear(tok, kv_in, s->k, kv_rows))) return st;
        to_heads(f, kh, tok, f->B, S_kv, s->k_norm, !cross);
        if ((st = linear(tok, kv_in, s->v, kv_rows))) return st;
        to_heads(f, vh, tok, f->B, S_kv, NULL, false);
    }
    orr_attn_dims dims = {f->B, f->heads, f->heads, f->N, S_kv, f->dh, f->dh};
    orr_attn_mask no_mask = {NULL, {0, 0, 0, 0}};
    /* no mask, also in cross attention: the zeroed text slots take part */
    if ((st = orr_cpu_attention(ah, qh, kh, vh, &no_mask, &dims, 1.0f / sqrtf((float)f->dh), false))) return st;
    to_tokens(f, tok, ah, f->N);
    return linear(f->h, tok, s->out, f->M);
}

static orr_status mlp_subblock(const fwd *f, const dit_subblock *s) {
    orr_status st = linear(f->scratch, f->h, s->fc1, f->M);
    if (st) return st;
    orr_cpu_unary(f->scratch, f->scratch, f->M * f->c->mlp_hidden, ORR_GELU_ERF);
    return linear(f->h, f->scratch, s->fc2, f->M);
}

static orr_status run_subblock(const fwd *f, const dit_subblock *s, int64_t slot) {
    int64_t D = f->D;
    orr_status st = adaln(f, &s->adaln, 3);
    if (st) return st;
    modulate(f, f->h, f->x, f->mod, f->mod + D, 3 * D);
    st = s->kind == DIT_MLP ? mlp_subblock(f, s) : attention_subblock(f, s, slot);
    if (st) return st;
    gate_job g = {f->x, f->h, f->mod + 2 * D, f->N, D, 3 * D};
    orr_parallel_for(f->M, gate_rows, &g);
    return ORR_OK;
}

/* Timestep embedding, AdaLN-LoRA term and the normalised affine embedding. */
static orr_status embed_timesteps(const fwd *f, const float *timesteps) {
    const orr_dit *dit = f->dit;
    int64_t B = f->B, D = f->D;
    for (int64_t b = 0; b < B; b++) orr_dit_timestep_sinusoid(f->t_sin + b * D, timesteps[b], (int)D);
    orr_status st = trace_add(f, "t_embedder.0", f->t_sin, 2, (int64_t[]){B, D});
    if (!st) st = linear_bias(f->mod_hidden, f->t_sin, dit->t_fc1, dit->t_fc1_bias, B);
    if (st) return st;
    orr_cpu_unary(f->mod_hidden, f->mod_hidden, B * D, ORR_SILU);
    float *emb = f->emb;
    if (f->lora) {
        /* with LoRA the MLP feeds the modulations and the sinusoid itself
         * is the embedding */
        if ((st = linear(f->lora, f->mod_hidden, dit->t_fc2, B))) return st;
        if ((st = trace_add(f, "t_embedder.1", f->lora, 2, (int64_t[]){B, 3 * D}))) return st;
        memcpy(emb, f->t_sin, (size_t)(B * D) * sizeof *emb);
    } else {
        if ((st = linear_bias(emb, f->mod_hidden, dit->t_fc2, dit->t_fc2_bias, B))) return st;
        if ((st = trace_add(f, "t_embedder.1", emb, 2, (int64_t[]){B, D}))) return st;
    }
    if (dit->affline_norm) {
        const float *w = dit->affline_norm->data;
        for (int64_t b = 0; b < B; b++) {
            float *e = emb + b * D;
            double sq = 0;
            for (int64_t i = 0; i < D; i++) sq += (double)e[i] * e[i];
            float rms = (float)(1.0 / sqrt(sq / D + NORM_EPS));
            for (int64_t i = 0; i < D; i++) e[i] = e[i] * rms * w[i];
        }
    }
    if ((st = trace_add(f, "affline_norm", emb, 2, (int64_t[]){B, D}))) return st;
    orr_cpu_unary(f->emb_silu, emb, B * D, ORR_SILU);
    return ORR_OK;
}

/* ---- patch embedding and its inverse -------------------------------------------- */

typedef struct patch_job {
    const fwd *f;
    float *patches;       /* [M, F] */
    const float *x;       /* [B, Cx, T, H, W] */
    int64_t cx;
    const float *cmask;   /* [B, 1, T, H, W] or NULL */
    const float *pmask;   /* [B, 1, Hpx, Wpx] or NULL (zeros) */
    int64_t mh, mw;       /* padding mask size */
    int64_t features;
} patch_job;

/* The channel of the network input: x, then the condition mask, then the
 * padding mask resized to H, W (nearest: source = floor(dst * in/out)). */
static float input_value(const patch_job *j, int64_t b, int64_t c, int64_t t, int64_t y, int64_t x) {
    const fwd *f = j->f;
    int64_t T = f->T, H = f->H, W = f->W;
    if (c < j->cx) return j->x[(((b * j->cx + c) * T + t) * H + y) * W + x];
    if (j->cmask && c == j->cx) return j->cmask[((b * T + t) * H + y) * W + x];
    if (!j->pmask) return 0.0f;
    int64_t sy = (int64_t)floorf((float)y * ((float)j->mh / (float)H));
    int64_t sx = (int64_t)floorf((float)x * ((float)j->mw / (float)W));
    if (sy > j->mh - 1) sy = j->mh - 1;
    if (sx > j->mw - 1) sx = j->mw - 1;
    return j->pmask[(b * j->mh + sy) * j->mw + sx];
}

static void patch_rows(void *user, int64_t begin, int64_t end) {
    const patch_job *j = user;
    const fwd *f = j->f;
    int64_t pt = f->c->patch_temporal, ps = f->c->patch_spatial;
    int64_t channels = j->features / (pt * ps * ps);
    for (int64_t r = begin; r < end; r++) { /* r = b*N + (t*hp + h)*wp + w */
        int64_t w = r % f->wp, h = r / f->wp % f->hp, t = r / f->wp / f->hp % f->tp, b = r / f->N;
        float *p = j->patches + r * j->features;
        /* feature index ((c*pt + r)*ps + m)*ps + n: rearrange "(c r m n)" */
        for (int64_t c = 0; c < channels; c++)
            for (int64_t dt = 0; dt < pt; dt++)
                for (int64_t m = 0; m < ps; m++)
                    for (int64_t n = 0; n < ps; n++)
                        *p++ = input_value(j, b, c, t * pt + dt, h * ps + m, w * ps + n);
    }
}

typedef struct unpatch_job {
    const fwd *f;
    float *out;        /* [B, Cout, T, H, W] */
    const float *y;    /* [M, ps*ps*pt*Cout] */
} unpatch_job;

static void unpatch_rows(void *user, int64_t begin, int64_t end) {
    const unpatch_job *j = user;
    const fwd *f = j->f;
    int64_t pt = f->c->patch_temporal, ps = f->c->patch_spatial, C = f->c->out_channels;
    int64_t T = f->T, H = f->H, W = f->W;
    for (int64_t r = begin; r < end; r++) {
        int64_t w = r % f->wp, h = r / f->wp % f->hp, t = r / f->wp / f->hp % f->tp, b = r / f->N;
        const float *y = j->y + r * ps * ps * pt * C;
        /* "(p1 p2 t C)": the channel varies fastest */
        for (int64_t p1 = 0; p1 < ps; p1++)
            for (int64_t p2 = 0; p2 < ps; p2++)
                for (int64_t dt = 0; dt < pt; dt++)
                    for (int64_t c = 0; c < C; c++)
                        j->out[(((b * C + c) * T + t * pt + dt) * H + h * ps + p1) * W + w * ps + p2] = *y++;
    }
}

/* ---- validation and planning ------------------------------------------------------- */

orr_status orr_dit_check_inputs(const orr_dit *dit, const orr_tensor *out, const orr_dit_inputs *in, bool blocks_only,
                                dit_dims *f) {
    const dit_config *c = &dit->cfg;
    char a[200], b[200];
    if (!in || !in->x || !in->timesteps || !in->crossattn_emb)
        return orr_error(ORR_ERR_ARGUMENT, "dit_forward: x, timesteps and crossattn_emb are required");
    const orr_tensor *ts[] = {blocks_only ? NULL : out, in->x, in->timesteps, in->crossattn_emb, in->fps,
                              in->padding_mask, in->condition_mask};
    static const char *names[] = {"out", "x", "timesteps", "crossattn_emb", "fps", "padding_mask", "condition_mask"};
    for (int i = 0; i < 7; i++) {
        if (!ts[i]) continue;
        orr_status st = orr_check_backend("dit_forward", names[i], ts[i]);
        if (st) return st;
        if (ts[i]->device != dit->device)
            return orr_error(ORR_ERR_ARGUMENT, "dit_forward: %s is on %s but the DiT's weights are on %s", names[i],
                             orr_device_name(ts[i]->device), orr_device_name(dit->device));
    }
    const orr_tensor *x = in->x;
    int64_t cx = c->in_channels - c->video_conditioned;
    if (x->ndim != 5 || x->shape[1] != cx)
        return orr_error(ORR_ERR_SHAPE, "dit_forward: x is %s, expected [B,%lld,T,H,W]",
                         orr_tensor_describe(x, a, sizeof a), (long long)cx);
    f->B = x->shape[0], f->T = x->shape[2], f->H = x->shape[3], f->W = x->shape[4];
    int64_t ps = c->patch_spatial, pt = c->patch_temporal;
    if (f->B < 1 || f->T < 1 || f->H < 1 || f->W < 1 || f->T % pt || f->H % ps || f->W % ps)
        return orr_error(ORR_ERR_SHAPE,
                         "dit_forward: x is %s; T must be a positive multiple of the temporal patch %lld and H, W of "
                         "the spatial patch %lld",
                         orr_tensor_describe(x, a, sizeof a), (long long)pt, (long long)ps);
    f->tp = f->T / pt, f->hp = f->H / ps, f->wp = f->W / ps;
    if (f->tp > orr_dit_max_tp(c) || f->hp > orr_dit_len_h(c) || f->wp > orr_dit_len_w(c))
        return orr_error(ORR_ERR_SHAPE,
                         "dit_forward: x is %s but the position tables cover at most %lld x %lld x %lld latents",
                         orr_tensor_describe(x, a, sizeof a), (long long)(orr_dit_max_tp(c) * pt),
                         (long long)(orr_dit_len_h(c) * ps), (long long)(orr_dit_len_w(c) * ps));
    if (orr_tensor_numel(in->timesteps) != f->B)
        return orr_error(ORR_ERR_SHAPE, "dit_forward: timesteps is %s, expected %lld values (one per batch item)",
                         orr_tensor_describe(in->timesteps, a, sizeof a), (long long)f->B);
    const orr_tensor *e = in->crossattn_emb;
    if (e->ndim != 3 || e->shape[0] != f->B || e->shape[1] < 1 || e->shape[2] != c->crossattn_channels)
        return orr_error(ORR_ERR_SHAPE, "dit_forward: crossattn_emb is %s, expected [%lld,L,%d] (L >= 1)",
                         orr_tensor_describe(e, a, sizeof a), (long long)f->B, c->crossattn_channels);
    f->L = e->shape[1];
    if (in->fps && orr_tensor_numel(in->fps) < 1)
        return orr_error(ORR_ERR_SHAPE, "dit_forward: fps is empty");
    if (!in->fps && f->T != 1)
        return orr_error(ORR_ERR_ARGUMENT, "dit_forward: fps is NULL (an image) but x has T = %lld", (long long)f->T);
    const orr_tensor *pm = in->padding_mask;
    if (c->concat_padding_mask && pm && (pm->ndim != 4 || pm->shape[0] != f->B || pm->shape[1] != 1 ||
                                         pm->shape[2] < 1 || pm->shape[3] < 1))
        return orr_error(ORR_ERR_SHAPE, "dit_forward: padding_mask is %s, expected [%lld,1,H,W]",
                         orr_tensor_describe(pm, a, sizeof a), (long long)f->B);
    const orr_tensor *cm = in->condition_mask;
    if (c->video_conditioned) {
        int64_t want[5] = {f->B, 1, f->T, f->H, f->W};
        if (!cm || cm->ndim != 5 || memcmp(cm->shape, want, sizeof want))
            return orr_error(ORR_ERR_SHAPE, "dit_forward: VideoExtendGeneralDIT needs condition_mask %s, got %s",
                             orr_shape_str(5, want, b, sizeof b), cm ? orr_tensor_describe(cm, a, sizeof a) : "NULL");
    } else if (cm) {
        return orr_error(ORR_ERR_ARGUMENT, "dit_forward: condition_mask is given but GeneralDIT takes none");
    }
    int64_t want_out[5] = {f->B, c->out_channels, f->T, f->H, f->W};
    if (!blocks_only && c->no_final_layer)
        return orr_error(ORR_ERR_ARGUMENT, "dit_forward: this network has no final layer (a control branch)");
    if (!blocks_only && (!out || out->ndim != 5 || memcmp(out->shape, want_out, sizeof want_out)))
        return orr_error(ORR_ERR_SHAPE, "dit_forward: out is %s, expected %s",
                         out ? orr_tensor_describe(out, a, sizeof a) : "NULL",
                         orr_shape_str(5, want_out, b, sizeof b));
    f->N = f->tp * f->hp * f->wp;
    f->M = f->B * f->N;
    f->D = c->model_channels;
    f->heads = c->num_heads;
    f->dh = f->D / f->heads;
    return ORR_OK;
}

enum { CPU_BUFFERS = 9 };

/* The floats of each activation buffer, in plan()'s order; the attention
 * buffers' stride in *attn_stride. */
static void cpu_buffer_sizes(const dit_config *c, const dit_dims *d, int64_t sizes[CPU_BUFFERS], int64_t *attn_stride) {
    int64_t D = d->D, M = d->M, B = d->B;
    int64_t features = (int64_t)(c->in_channels + c->concat_padding_mask) * c->patch_temporal * c->patch_spatial *
                       c->patch_spatial;
    int64_t out_features = (int64_t)c->patch_spatial * c->patch_spatial * c->patch_temporal * c->out_channels;
    *attn_stride = ((M > B * d->L ? M : B * d->L) * D + 15) / 16 * 16;
    int64_t scratch = 5 * *attn_stride;
    int64_t need[] = {M * (int64_t)c->mlp_hidden, M * features, M * out_features};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (need[i] > scratch) scratch = need[i];
    int64_t rank = c->use_adaln_lora && c->adaln_lora_dim > D ? c->adaln_lora_dim : D;
    int64_t s[CPU_BUFFERS] = {M * D, M * D, scratch, B * D, B * D, B * D, c->use_adaln_lora ? B * 3 * D : 0, B * 3 * D,
                              B * rank};
    memcpy(sizes, s, sizeof s);
}

size_t orr_dit_cpu_activation_bytes(const dit_config *c, const dit_dims *d) {
    int64_t sizes[CPU_BUFFERS], stride;
    cpu_buffer_sizes(c, d, sizes, &stride);
    size_t total = 0;
    for (int i = 0; i < CPU_BUFFERS; i++) total += ((size_t)sizes[i] * sizeof(float) + 63) / 64 * 64;
    return total;
}

int64_t orr_dit_kv_floats(const dit_config *c, const dit_dims *d) {
    int64_t per_block = 0;
    for (int j = 0; j < c->n_subblocks; j++) per_block += c->subblocks[j] == DIT_CROSS_ATTN;
    return c->num_blocks * per_block * 2 * d->B * d->L * (int64_t)c->model_channels;
}

/* Carves every activation out of one arena. */
static orr_status plan(orr_dit *dit, fwd *f) {
    const dit_config *c = &dit->cfg;
    int64_t sizes[CPU_BUFFERS];
    cpu_buffer_sizes(c, &f->d, sizes, &f->attn_stride);
    float **bufs[CPU_BUFFERS] = {&f->x,   &f->h,        &f->scratch, &f->t_sin,     &f->emb,
                                 &f->emb_silu, &f->lora, &f->mod,     &f->mod_hidden};
    size_t n_bufs = CPU_BUFFERS, total = orr_dit_cpu_activation_bytes(c, &f->d);
    if (!dit->arena || orr_arena_capacity(dit->arena) < total) {
        orr_arena_free(dit->arena);
        dit->arena = NULL;
        orr_status st = orr_arena_create(ORR_CPU, total, &dit->arena);
        if (st) return orr_error_context(st, "dit_forward: activations for %lld tokens: ", (long long)f->M);
    }
    orr_arena_reset(dit->arena);
    for (size_t i = 0; i < n_bufs; i++) {
        *bufs[i] = NULL;
        if (!sizes[i]) continue;
        orr_status st = orr_arena_alloc(dit->arena, (size_t)sizes[i] * sizeof(float), (void **)bufs[i]);
        if (st) return st;
    }
    return ORR_OK;
}

/* The learnable embedding and the RoPE tables depend only on the token grid
 * and fps: a sampler's calls share them, so they are kept in the handle. */
static orr_status position_tables(orr_dit *dit, fwd *f, float fps, bool has_fps) {
    int64_t N = f->N, D = f->D, dh = f->dh;
    int64_t floats = (dit->cfg.extra_pos_emb ? N * D : 0) + 2 * N * dh;
    bool same = dit->pos.data && dit->pos.tp == f->tp && dit->pos.hp == f->hp && dit->pos.wp == f->wp &&
                dit->pos.has_fps == has_fps && (!has_fps || dit->pos.fps == fps);
    if (!same) {
        if (dit->pos.data) orr_mem_free(ORR_CPU, dit->pos.data, dit->pos.bytes);
        dit->pos.data = NULL;
        dit->pos.bytes = (size_t)floats * sizeof(float);
        orr_status st = orr_mem_alloc(ORR_CPU, dit->pos.bytes, (void **)&dit->pos.data);
        if (st) return orr_error_context(st, "dit_forward: position tables: ");
    }
    float *p = dit->pos.data;
    f->extra = dit->cfg.extra_pos_emb ? p : NULL;
    f->angles = p + (dit->cfg.extra_pos_emb ? N * D : 0);
    f->cos = f->angles + N * dh;
    f->sin = f->cos + N * dh / 2;
    if (same) return ORR_OK;
    if (f->extra) orr_dit_learnable_pos(f->extra, dit, (int)f->tp, (int)f->hp, (int)f->wp);
    orr_dit_rope_angles(f->angles, &dit->cfg, (int)f->tp, (int)f->hp, (int)f->wp, fps, has_fps);
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < dh / 2; i++) {
            f->cos[n * dh / 2 + i] = cosf(f->angles[n * dh + i]);
            f->sin[n * dh / 2 + i] = sinf(f->angles[n * dh + i]);
        }
    dit->pos.tp = f->tp, dit->pos.hp = f->hp, dit->pos.wp = f->wp;
    dit->pos.fps = fps, dit->pos.has_fps = has_fps;
    return ORR_OK;
}

/* Points f at the cached cross-attention keys and values; they are ready
 * when the text embedding is the one of the last complete call. */
static orr_status context_cache(orr_dit *dit, fwd *f) {
    const dit_config *c = &dit->cfg;
    int64_t per_block = 0;
    for (int j = 0; j < c->n_subblocks; j++) per_block += c->subblocks[j] == DIT_CROSS_ATTN;
    if (!per_block || !c->num_blocks) return ORR_OK;
    int64_t ctx_floats = f->B * f->L * c->crossattn_channels;
    int64_t kv_floats = c->num_blocks * per_block * 2 * f->B * f->L * f->D;
    size_t bytes = (size_t)(kv_floats + ctx_floats) * sizeof(float);
    f->ctx_kv_ready = dit->kv.B == f->B && dit->kv.L == f->L && dit->kv.bytes == bytes &&
                      !memcmp(dit->kv.ctx, f->ctx, (size_t)ctx_floats * sizeof(float));
    if (!f->ctx_kv_ready) {
        dit->kv.B = 0; /* invalid until this call completes */
        if (dit->kv.bytes != bytes) {
            if (dit->kv.data) orr_mem_free(ORR_CPU, dit->kv.data, dit->kv.bytes);
            dit->kv.data = NULL;
            dit->kv.bytes = 0;
            orr_status st = orr_mem_alloc(ORR_CPU, bytes, (void **)&dit->kv.data);
            if (st) return orr_error_context(st, "dit_forward: cross-attention key/value cache: ");
            dit->kv.bytes = bytes;
        }
        dit->kv.ctx = dit->kv.data + kv_floats;
        memcpy(dit->kv.ctx, f->ctx, (size_t)ctx_floats * sizeof(float));
    }
    f->ctx_kv = dit->kv.data;
    return ORR_OK;
}

/* ---- the forward ------------------------------------------------------------------ */

typedef struct staged {
    orr_tensor *tmp[5];
    const float *x, *timesteps, *ctx, *pmask, *cmask;
} staged;

static orr_status stage_inputs(const orr_dit_inputs *in, staged *s) {
    memset(s, 0, sizeof *s);
    const orr_tensor *ts[] = {in->x, in->timesteps, in->crossattn_emb, in->padding_mask, in->condition_mask};
    const float **ptrs[] = {&s->x, &s->timesteps, &s->ctx, &s->pmask, &s->cmask};
    for (int i = 0; i < 5; i++) {
        if (!ts[i]) continue;
        orr_status st = orr_input_f32(ts[i], &s->tmp[i], ptrs[i]);
        if (st) return st;
    }
    return ORR_OK;
}

static void unstage(staged *s) {
    for (int i = 0; i < 5; i++) orr_tensor_free(s->tmp[i]);
}

static orr_status forward(orr_dit *dit, fwd *f, const orr_dit_inputs *in, const staged *s, const dit_hooks *hooks,
                          float *out) {
    const dit_config *c = &dit->cfg;
    int64_t D = f->D, N = f->N, B = f->B;
    orr_status st;
    int64_t bad = orr_cpu_count_nonfinite(s->x, orr_tensor_numel(in->x));
    if (bad) return orr_error(ORR_ERR_NONFINITE, "dit_forward: x holds %lld NaN/Inf values", (long long)bad);
    f->ctx = s->ctx;

    /* patch embedding */
    int64_t features = dit->patch_embed->shape[1];
    patch_job pj = {f, f->scratch, s->x, c->in_channels - c->video_conditioned, s->cmask,
                    c->concat_padding_mask ? s->pmask : NULL, 0, 0, features};
    if (in->padding_mask) pj.mh = in->padding_mask->shape[2], pj.mw = in->padding_mask->shape[3];
    orr_parallel_for(f->M, patch_rows, &pj);
    if ((st = linear(f->x, f->scratch, dit->patch_embed, f->M))) return st;
    if ((st = trace_tokens(f, "x_embedder", f->x, false))) return st;

    /* position embeddings */
    float fps = in->fps ? (float)orr_tensor_get(in->fps, 0) : 0.0f;
    if ((st = position_tables(dit, f, fps, in->fps != NULL))) return st;
    if (c->extra_pos_emb && f->trace) {
        for (int64_t b = 0; b < B; b++) memcpy(f->h + b * N * D, f->extra, (size_t)(N * D) * sizeof(float));
        if ((st = trace_tokens(f, "extra_pos_embedder", f->h, false))) return st;
    }
    if ((st = trace_add(f, "pos_embedder", f->angles, 4, (int64_t[]){N, 1, 1, f->dh}))) return st;

    if ((st = embed_timesteps(f, s->timesteps))) return st;

    if ((st = context_cache(dit, f))) return st;
    int64_t slot = 0;
    for (int i = 0; i < c->num_blocks; i++) {
        if (c->extra_pos_emb) {
            /* the absolute embedding is added again at the start of every block */
            add_rows_job aj = {f->x, f->extra, N, D};
            orr_parallel_for(f->M, add_rows, &aj);
        }
        for (int j = 0; j < c->n_subblocks; j++) {
            if ((st = run_subblock(f, &dit->blocks[i].sub[j], slot))) return st;
            slot += c->subblocks[j] == DIT_CROSS_ATTN;
            if ((st = check_finite(f, i, j))) return st;
        }
        char name[32];
        snprintf(name, sizeof name, "blocks.block%d", i);
        if ((st = trace_tokens(f, name, f->x, c->block_x_thwbd))) return st;
        if (hooks && hooks->after_block && (st = hooks->after_block(hooks->user, i, f->x, B, N, D))) return st;
    }
    if (hooks && hooks->blocks_only) {
        if (f->ctx_kv) dit->kv.B = B, dit->kv.L = f->L; /* complete: valid for the next call */
        return ORR_OK;
    }

    /* final layer: modulated LayerNorm and a linear to the patch pixels */
    if ((st = adaln(f, &dit->final_adaln, 2))) return st;
    modulate(f, f->h, f->x, f->mod, f->mod + D, 2 * D);
    if ((st = linear(f->scratch, f->h, dit->final_linear, f->M))) return st;
    int64_t out_features = dit->final_linear->shape[0];
    if ((st = trace_add(f, "final_layer", f->scratch, 3, (int64_t[]){B * f->tp, f->hp * f->wp, out_features})))
        return st;
    bad = orr_cpu_count_nonfinite(f->scratch, f->M * out_features);
    if (bad) return orr_error(ORR_ERR_NONFINITE, "dit: %lld NaN/Inf values appeared in final_layer", (long long)bad);
    unpatch_job uj = {f, out, f->scratch};
    orr_parallel_for(f->M, unpatch_rows, &uj);
    if (f->ctx_kv) dit->kv.B = B, dit->kv.L = f->L; /* complete: valid for the next call */
    return ORR_OK;
}

orr_status orr_dit_forward_hooked(orr_dit *dit, orr_tensor *out, const orr_dit_inputs *in, orr_tensor_list *trace,
                                  const dit_hooks *hooks) {
    if (!dit) return orr_error(ORR_ERR_ARGUMENT, "dit_forward: dit is NULL");
    bool blocks_only = hooks && hooks->blocks_only;
    fwd f = {.dit = dit, .c = &dit->cfg, .trace = trace};
    orr_status st = orr_dit_check_inputs(dit, out, in, blocks_only, &f.d);
    if (st) return st;
#ifdef ORR_HAVE_CUDA
    if (dit->device == ORR_CUDA) return orr_dit_forward_cuda(dit, out, in, trace, hooks, &f.d);
#endif
    if ((st = plan(dit, &f))) return st;
    staged s;
    float *o = NULL;
    orr_tensor *otmp = NULL;
    st = stage_inputs(in, &s);
    if (!st && !blocks_only) st = orr_output_f32_begin(out, &otmp, &o);
    if (!st) st = forward(dit, &f, in, &s, hooks, o);
    if (!st && !blocks_only) st = orr_output_f32_end(out, otmp);
    else orr_tensor_free(otmp);
    unstage(&s);
    return st;
}

orr_status orr_dit_forward(orr_dit *dit, orr_tensor *out, const orr_dit_inputs *in, struct orr_tensor_list *trace) {
    return orr_dit_forward_hooked(dit, out, in, trace, NULL);
}
