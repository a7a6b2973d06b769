/* dit_cuda.c — the DiT's forward on a cuda device: the steps of dit.c
 * with the kernels of kernels/cuda, queued on the runtime's one stream.
 *
 * The residual stream x, the norms' statistics and the AdaLN vectors are
 * f32, as on the cpu. Every GEMM input (the modulated sub-block input, the
 * projections, the attention heads, the MLP's hidden layer, the text)
 * is held in the matrices' dtype (`dt`, bf16 or f32): cuBLASLt multiplies
 * operands of one dtype, and in bf16 this is the official inference's
 * precision (bf16 products, f32 accumulation). Differences from the cpu:
 *  - NaN/Inf are counted once per block (not per sub-block) and reported
 *    after the forward, naming the first block where they appeared;
 *  - the learnable position embedding is formed row by row where it is
 *    added (dit_fused.cu) instead of being kept as an [N, D] table.
 * Host syncs per call: reading fps (one value), the text comparison of the
 * key/value cache (one int, when the cache may be valid) and the NaN
 * counters at the end. */
#ifdef ORR_HAVE_CUDA
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/attention.h"
#include "cuda/copy.h"
#include "cuda/cuda_internal.h"
#include "cuda/device.h"
#include "cuda/dit_fused.h"
#include "cuda/elementwise.h"
#include "cuda/linear.h"
#include "cuda/norm.h"
#include "cuda/rope.h"
#include "dit.h"

#define NORM_EPS 1e-6f

_Static_assert(ORR_CUDA_BLASLT_WORKSPACE == 32 << 20, "dit_device.c's estimate counts a 32 MiB cuBLASLt workspace");

struct dit_cuda {
    orr_arena *arena; /* the activations (orr_dit_cuda_buffers) */
    /* RoPE tables of the last token grid and fps */
    bool rope_valid;
    int64_t tp, hp, wp;
    float fps;
    bool has_fps;
    float *angles; /* host [N, dh] (for traces) */
    size_t angles_bytes;
    float *rope; /* device: cos [N, dh/2], then sin */
    size_t rope_bytes;
    /* per cross-attention sub-block K then V [B, heads, L, dh] in dt, then
     * the text they came from [B, L, Cc] in dt; valid when kv_B > 0 */
    int64_t kv_B, kv_L;
    char *kv;
    size_t kv_bytes;
};

void orr_dit_cuda_release(orr_dit *dit) {
    struct dit_cuda *c = dit->cuda;
    if (!c) return;
    orr_arena_free(c->arena);
    if (c->angles) orr_mem_free(ORR_CPU, c->angles, c->angles_bytes);
    if (c->rope) orr_mem_free(ORR_CUDA, c->rope, c->rope_bytes);
    if (c->kv) orr_mem_free(ORR_CUDA, c->kv, c->kv_bytes);
    free(c);
    dit->cuda = NULL;
}

typedef struct dfwd {
    orr_dit *dit;
    const dit_config *c;
    dit_dims d;
    orr_dtype dt;
    size_t ds;
    cudaStream_t s;
    float *x;
    void *h;
    char *scratch;
    void *ctx;
    float *t_sin, *emb, *lora, *mod, *hidden;
    void *t_sin_dt, *emb_silu_dt, *hidden_dt;
    int64_t *counts; /* [0] x, [1 + i] block i, [1 + blocks] the final layer */
    int64_t attn;    /* elements between the attention buffers in scratch */
    const float *cos, *sin;
    char *kv;
    bool kv_ready;
    int block;   /* the block running, for streamed weights */
    char *wbase; /* its weights' device buffer (streamed) */
    orr_tensor_list *trace;
} dfwd;

/* A matrix's device address: streamed block matrices are views of pinned
 * host memory (cpu tensors) staged in the block's buffer. */
static const void *wptr(const dfwd *f, const orr_tensor *w) {
    if (w->device == ORR_CPU) return orr_dit_stream_ptr(f->dit->stream, f->block, f->wbase, w);
    return w->data;
}

/* y [rows, out] (yt: f32 or dt) = x [rows, in] (dt) w^T (+ b, f32 with an f32 y). */
static orr_status gemm(const dfwd *f, void *y, orr_dtype yt, const void *x, const orr_tensor *w, const orr_tensor *b,
                       int64_t rows) {
    int64_t out = w->shape[0], in = w->shape[1];
    if (w->dtype != f->dt)
        return orr_error(ORR_ERR_DTYPE, "dit_forward (cuda): a weight [%lld, %lld] is %s, the placement says %s",
                         (long long)out, (long long)in, orr_dtype_name(w->dtype), orr_dtype_name(f->dt));
    return orr_cuda_linear(y, yt, out, x, in, wptr(f, w), f->dt, in, b ? b->data : NULL, rows, in, out, 0, f->s);
}

/* dst [n] in dt = src [n] f32 */
static orr_status to_dt(const dfwd *f, void *dst, const float *src, int64_t n) {
    int64_t one = 1;
    return orr_cuda_copy_strided(dst, f->dt, &one, src, ORR_F32, &one, 1, &n, f->s);
}

/* ---- traces: device activations copied to the host ------------------------- */

static orr_status trace_add(const dfwd *f, const char *name, const void *dev, int ndim, const int64_t *shape) {
    if (!f->trace) return ORR_OK;
    orr_tensor *t;
    orr_status st = orr_tensor_empty(&t, ORR_F32, ndim, shape);
    if (!st) st = orr_cuda_download(t->data, dev, orr_tensor_nbytes(t));
    if (!st) return orr_tensor_list_add(f->trace, name, t);
    orr_tensor_free(t);
    return st;
}

/* x [B, N, D] f32 on the device, as the official blocks hold it. */
static orr_status trace_tokens(const dfwd *f, const char *name, const float *x, bool thwbd) {
    const dit_dims *d = &f->d;
    if (!f->trace) return ORR_OK;
    if (!thwbd) return trace_add(f, name, x, 5, (int64_t[]){d->B, d->tp, d->hp, d->wp, d->D});
    orr_tensor *tok = NULL, *t = NULL;
    orr_status st = orr_tensor_empty(&tok, ORR_F32, 3, (int64_t[]){d->B, d->N, d->D});
    if (!st) st = orr_cuda_download(tok->data, x, orr_tensor_nbytes(tok));
    if (!st) st = orr_tensor_empty(&t, ORR_F32, 5, (int64_t[]){d->tp, d->hp, d->wp, d->B, d->D});
    if (!st) {
        const float *src = tok->data;
        float *dst = t->data;
        for (int64_t n = 0; n < d->N; n++)
            for (int64_t b = 0; b < d->B; b++)
                memcpy(dst + (n * d->B + b) * d->D, src + (b * d->N + n) * d->D, (size_t)d->D * sizeof(float));
        st = orr_tensor_list_add(f->trace, name, t);
        t = NULL;
    }
    orr_tensor_free(tok);
    orr_tensor_free(t);
    return st;
}

/* ---- buffers and caches ----------------------------------------------------- */

static orr_status plan(dfwd *f) {
    orr_dit *dit = f->dit;
    size_t bytes[DIT_CUDA_BUFFERS], total = 0;
    orr_dit_cuda_buffers(f->c, &f->d, f->dt, bytes, &f->attn);
    for (int i = 0; i < DIT_CUDA_BUFFERS; i++) total += bytes[i];
    struct dit_cuda *c = dit->cuda;
    if (!c->arena || orr_arena_capacity(c->arena) < total) {
        orr_arena_free(c->arena);
        c->arena = NULL;
        orr_status st = orr_arena_create(ORR_CUDA, total, &c->arena);
        if (st)
            return orr_error_context(st,
                                     "dit_forward: device activations for %lld tokens (%.1f MiB; see "
                                     "orr_dit_memory_estimate): ",
                                     (long long)f->d.M, total / 1048576.0);
    }
    orr_arena_reset(c->arena);
    void *p[DIT_CUDA_BUFFERS] = {NULL};
    for (int i = 0; i < DIT_CUDA_BUFFERS; i++) {
        if (!bytes[i]) continue;
        orr_status st = orr_arena_alloc(c->arena, bytes[i], &p[i]);
        if (st) return st;
    }
    f->x = p[DCB_X], f->h = p[DCB_H], f->scratch = p[DCB_SCRATCH], f->ctx = p[DCB_CTX];
    f->t_sin = p[DCB_T_SIN], f->t_sin_dt = p[DCB_T_SIN_DT], f->emb = p[DCB_EMB], f->emb_silu_dt = p[DCB_EMB_SILU_DT];
    f->lora = p[DCB_LORA], f->mod = p[DCB_MOD], f->hidden = p[DCB_HIDDEN], f->hidden_dt = p[DCB_HIDDEN_DT];
    f->counts = p[DCB_COUNTS];
    return orr_cuda_memset_zero(f->counts, bytes[DCB_COUNTS]);
}

/* The RoPE cos/sin tables of the token grid and fps, computed on the host
 * as dit.c does and kept on the device while they stay the same. */
static orr_status rope_tables(dfwd *f, float fps, bool has_fps) {
    struct dit_cuda *c = f->dit->cuda;
    const dit_dims *d = &f->d;
    int64_t N = d->N, dh = d->dh, half = dh / 2;
    size_t rope_bytes = (size_t)(N * dh) * sizeof(float);
    bool same = c->rope_valid && c->tp == d->tp && c->hp == d->hp && c->wp == d->wp && c->has_fps == has_fps &&
                (!has_fps || c->fps == fps);
    if (!same) {
        c->rope_valid = false;
        if (c->rope_bytes != rope_bytes) {
            if (c->rope) orr_mem_free(ORR_CUDA, c->rope, c->rope_bytes);
            if (c->angles) orr_mem_free(ORR_CPU, c->angles, c->angles_bytes);
            c->rope = NULL, c->angles = NULL, c->rope_bytes = c->angles_bytes = 0;
            orr_status st = orr_mem_alloc(ORR_CPU, rope_bytes, (void **)&c->angles);
            if (st) return orr_error_context(st, "dit_forward: RoPE angles: ");
            c->angles_bytes = rope_bytes;
            if ((st = orr_mem_alloc(ORR_CUDA, rope_bytes, (void **)&c->rope)))
                return orr_error_context(st, "dit_forward: RoPE tables: ");
            c->rope_bytes = rope_bytes;
        }
        orr_dit_rope_angles(c->angles, f->c, (int)d->tp, (int)d->hp, (int)d->wp, fps, has_fps);
        float *table = NULL;
        orr_status st = orr_mem_alloc(ORR_CPU, rope_bytes, (void **)&table);
        if (st) return orr_error_context(st, "dit_forward: RoPE tables: ");
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < half; i++) {
                table[n * half + i] = cosf(c->angles[n * dh + i]);
                table[N * half + n * half + i] = sinf(c->angles[n * dh + i]);
            }
        st = orr_cuda_upload(c->rope, table, rope_bytes);
        orr_mem_free(ORR_CPU, table, rope_bytes);
        if (st) return st;
        c->tp = d->tp, c->hp = d->hp, c->wp = d->wp, c->fps = fps, c->has_fps = has_fps;
        c->rope_valid = true;
    }
    f->cos = c->rope;
    f->sin = c->rope + N * half;
    return ORR_OK;
}

/* The text in dt, and the cached keys and values: ready when that text is
 * the one of the last complete call. */
static orr_status context_cache(dfwd *f, const orr_tensor *text) {
    struct dit_cuda *c = f->dit->cuda;
    const dit_dims *d = &f->d;
    int64_t Cc = f->c->crossattn_channels;
    int64_t shape[3] = {d->B, d->L, Cc}, stride[3] = {d->L * Cc, Cc, 1};
    orr_status st = orr_cuda_copy_strided(f->ctx, f->dt, stride, text->data, text->dtype, text->stride, 3, shape, f->s);
    if (st) return st;
    int64_t kv_floats = orr_dit_kv_floats(f->c, d);
    f->kv = NULL;
    f->kv_ready = false;
    if (!kv_floats) return ORR_OK;
    size_t kv_bytes = (size_t)kv_floats * f->ds, text_bytes = (size_t)(d->B * d->L * Cc) * f->ds;
    size_t bytes = (kv_bytes + 255) / 256 * 256 + (text_bytes + 255) / 256 * 256;
    char *cached_text = NULL;
    if (c->kv_B == d->B && c->kv_L == d->L && c->kv_bytes == bytes) {
        cached_text = c->kv + bytes - (text_bytes + 255) / 256 * 256;
        int *flag = (int *)(f->counts + f->c->num_blocks + 2), differs = 1;
        st = orr_cuda_dit_differs(flag, cached_text, f->ctx, text_bytes, f->s);
        if (!st) st = orr_cuda_download(&differs, flag, sizeof differs);
        if (st) return st;
        f->kv_ready = !differs;
    }
    if (!f->kv_ready) {
        c->kv_B = 0; /* invalid until this call completes */
        if (c->kv_bytes != bytes) {
            if (c->kv) orr_mem_free(ORR_CUDA, c->kv, c->kv_bytes);
            c->kv = NULL;
            c->kv_bytes = 0;
            if ((st = orr_mem_alloc(ORR_CUDA, bytes, (void **)&c->kv)))
                return orr_error_context(st, "dit_forward: cross-attention key/value cache: ");
            c->kv_bytes = bytes;
        }
        cached_text = c->kv + bytes - (text_bytes + 255) / 256 * 256;
        st = orr_cuda_check(cudaMemcpyAsync(cached_text, f->ctx, text_bytes, cudaMemcpyDeviceToDevice, f->s),
                            "dit_forward", "caching the text");
        if (st) return st;
    }
    f->kv = c->kv;
    return ORR_OK;
}

/* ---- the pieces --------------------------------------------------------------- */

/* mod = adaLN(emb) (+ the first chunks*D of the LoRA term). */
static orr_status adaln(const dfwd *f, const dit_adaln *a, int chunks) {
    int64_t B = f->d.B, D = f->d.D, n = chunks * D;
    if (!a->w2) return gemm(f, f->mod, ORR_F32, f->emb_silu_dt, a->w1, NULL, B);
    int64_t rank = a->w1->shape[0];
    orr_status st = gemm(f, f->hidden, ORR_F32, f->emb_silu_dt, a->w1, NULL, B);
    if (!st) st = to_dt(f, f->hidden_dt, f->hidden, B * rank);
    if (!st) st = gemm(f, f->mod, ORR_F32, f->hidden_dt, a->w2, NULL, B);
    if (st) return st;
    int64_t shape[2] = {B, n}, mod_stride[2] = {n, 1}, lora_stride[2] = {3 * D, 1};
    return orr_cuda_binary(f->mod, f->mod, mod_stride, f->lora, lora_stride, 2, shape, ORR_ADD, f->s);
}

static orr_status attention_subblock(const dfwd *f, const dit_subblock *s, int64_t slot) {
    const dit_dims *d = &f->d;
    bool cross = s->kind == DIT_CROSS_ATTN;
    int64_t kv_rows = cross ? d->B * d->L : d->M, S_kv = cross ? d->L : d->N;
    size_t step = (size_t)f->attn * f->ds;
    char *tok = f->scratch, *qh = tok + step, *kh = qh + step, *vh = kh + step, *ah = vh + step;
    if (cross) {
        kh = f->kv + (size_t)(slot * 2 * kv_rows * d->D) * f->ds;
        vh = kh + (size_t)(kv_rows * d->D) * f->ds;
    }
    const void *kv_in = cross ? f->ctx : f->h;
    const float *cos = cross ? NULL : f->cos, *sin = cross ? NULL : f->sin;
    orr_status st = gemm(f, tok, f->dt, f->h, s->q, NULL, d->M);
    if (!st)
        st = orr_cuda_qk_norm_rope(qh, f->dt, tok, f->dt, d->B, d->N, d->heads, d->dh, s->q_norm->data, NORM_EPS, cos,
                                   sin, true, f->s);
    if (!st && (!cross || !f->kv_ready)) {
        st = gemm(f, tok, f->dt, kv_in, s->k, NULL, kv_rows);
        if (!st)
            st = orr_cuda_qk_norm_rope(kh, f->dt, tok, f->dt, d->B, S_kv, d->heads, d->dh, s->k_norm->data, NORM_EPS,
                                       cos, sin, true, f->s);
        if (!st) st = gemm(f, tok, f->dt, kv_in, s->v, NULL, kv_rows);
        if (!st)
            st = orr_cuda_qk_norm_rope(vh, f->dt, tok, f->dt, d->B, S_kv, d->heads, d->dh, NULL, NORM_EPS, NULL, NULL,
                                       true, f->s);
    }
    if (st) return st;
    orr_attn_dims dims = {d->B, d->heads, d->heads, d->N, S_kv, d->dh, d->dh};
    orr_attn_mask no_mask = {NULL, {0, 0, 0, 0}};
    /* no mask, also in cross attention: the zeroed text slots take part */
    st = orr_cuda_attention(ah, qh, kh, vh, f->dt, &no_mask, &dims, 1.0f / sqrtf((float)d->dh), false, f->s);
    if (st) return st;
    /* head-major [B, heads, N, dh] back to tokens [B, N, heads*dh] */
    int64_t shape[4] = {d->B, d->N, d->heads, d->dh};
    int64_t dst_stride[4] = {d->N * d->D, d->D, d->dh, 1},
            src_stride[4] = {d->heads * d->N * d->dh, d->dh, d->N * d->dh, 1};
    st = orr_cuda_copy_strided(tok, f->dt, dst_stride, ah, f->dt, src_stride, 4, shape, f->s);
    return st ? st : gemm(f, f->h, f->dt, tok, s->out, NULL, d->M);
}

static orr_status mlp_subblock(const dfwd *f, const dit_subblock *s) {
    int64_t n = f->d.M * f->c->mlp_hidden;
    orr_status st = gemm(f, f->scratch, f->dt, f->h, s->fc1, NULL, f->d.M);
    if (st) return st;
    st = f->dt == ORR_BF16
             ? orr_cuda_unary_bf16((uint16_t *)f->scratch, (const uint16_t *)f->scratch, n, ORR_GELU_ERF, f->s)
             : orr_cuda_unary((float *)f->scratch, (const float *)f->scratch, n, ORR_GELU_ERF, f->s);
    return st ? st : gemm(f, f->h, f->dt, f->scratch, s->fc2, NULL, f->d.M);
}

static orr_status run_subblock(const dfwd *f, const dit_subblock *s, int64_t slot) {
    const dit_dims *d = &f->d;
    int64_t D = d->D;
    orr_status st = adaln(f, &s->adaln, 3);
    if (!st)
        st = orr_cuda_layer_norm_modulate(f->h, f->dt, f->x, d->M, D, d->N, f->mod, f->mod + D, 3 * D, NORM_EPS, f->s);
    if (!st) st = s->kind == DIT_MLP ? mlp_subblock(f, s) : attention_subblock(f, s, slot);
    if (!st) st = orr_cuda_gated_residual(f->x, f->h, f->dt, f->mod + 2 * D, d->M, D, d->N, 3 * D, f->s);
    return st;
}

/* Timestep embedding, AdaLN-LoRA term and the normalised affine embedding. */
static orr_status embed_timesteps(const dfwd *f, const float *timesteps) {
    const orr_dit *dit = f->dit;
    int64_t B = f->d.B, D = f->d.D;
    orr_status st = orr_cuda_dit_timestep_sinusoid(f->t_sin, timesteps, B, D, f->s);
    if (!st) st = trace_add(f, "t_embedder.0", f->t_sin, 2, (int64_t[]){B, D});
    if (!st) st = to_dt(f, f->t_sin_dt, f->t_sin, B * D);
    if (!st) st = gemm(f, f->hidden, ORR_F32, f->t_sin_dt, dit->t_fc1, dit->t_fc1_bias, B);
    if (!st) st = orr_cuda_unary(f->hidden, f->hidden, B * D, ORR_SILU, f->s);
    if (!st) st = to_dt(f, f->hidden_dt, f->hidden, B * D);
    if (st) return st;
    if (f->lora) {
        /* with LoRA the MLP feeds the modulations and the sinusoid itself
         * is the embedding */
        st = gemm(f, f->lora, ORR_F32, f->hidden_dt, dit->t_fc2, NULL, B);
        if (!st) st = trace_add(f, "t_embedder.1", f->lora, 2, (int64_t[]){B, 3 * D});
        if (!st)
            st = orr_cuda_check(
                cudaMemcpyAsync(f->emb, f->t_sin, (size_t)(B * D) * sizeof(float), cudaMemcpyDeviceToDevice, f->s),
                "dit_forward", "timestep embedding");
    } else {
        st = gemm(f, f->emb, ORR_F32, f->hidden_dt, dit->t_fc2, dit->t_fc2_bias, B);
        if (!st) st = trace_add(f, "t_embedder.1", f->emb, 2, (int64_t[]){B, D});
    }
    if (!st && dit->affline_norm) st = orr_cuda_rms_norm(f->emb, f->emb, B, D, dit->affline_norm->data, NORM_EPS, f->s);
    if (!st) st = trace_add(f, "affline_norm", f->emb, 2, (int64_t[]){B, D});
    if (!st) st = orr_cuda_unary(f->hidden, f->emb, B * D, ORR_SILU, f->s);
    if (!st) st = to_dt(f, f->emb_silu_dt, f->hidden, B * D);
    return st;
}

/* The NaN/Inf counters, read once the forward is queued. */
static orr_status check_counts(const dfwd *f) {
    int nb = f->c->num_blocks;
    int64_t counts[nb + 2];
    orr_status st = orr_cuda_download(counts, f->counts, sizeof counts);
    if (st) return st;
    if (counts[0])
        return orr_error(ORR_ERR_NONFINITE, "dit_forward: x holds %lld NaN/Inf values", (long long)counts[0]);
    for (int i = 0; i < nb; i++)
        if (counts[1 + i])
            return orr_error(ORR_ERR_NONFINITE, "dit: %lld NaN/Inf values appeared in blocks.block%d",
                             (long long)counts[1 + i], i);
    if (counts[1 + nb])
        return orr_error(ORR_ERR_NONFINITE, "dit: %lld NaN/Inf values appeared in final_layer",
                         (long long)counts[1 + nb]);
    return ORR_OK;
}

/* ---- the forward ------------------------------------------------------------------ */

static orr_status blocks(dfwd *f, const dit_hooks *hooks) {
    orr_dit *dit = f->dit;
    const dit_config *c = f->c;
    const dit_dims *d = &f->d;
    dit_stream *stream = dit->mode == ORR_DIT_STREAMED ? dit->stream : NULL;
    orr_status st = ORR_OK;
    int64_t slot = 0;
    for (int i = 0; !st && i < c->num_blocks; i++) {
        f->block = i;
        if (stream) {
            st = orr_dit_stream_acquire(stream, i, &f->wbase);
            /* the next block's copy overlaps this block's compute */
            if (!st && i + 1 < c->num_blocks) st = orr_dit_stream_prefetch(stream, i + 1);
        }
        if (!st && c->extra_pos_emb) /* the absolute embedding is added again at the start of every block */
            st = orr_cuda_dit_add_learnable_pos(f->x, dit->pos_t->data, dit->pos_h->data, dit->pos_w->data, d->B, d->tp,
                                                d->hp, d->wp, d->D, f->s);
        for (int j = 0; !st && j < c->n_subblocks; j++) {
            st = run_subblock(f, &dit->blocks[i].sub[j], slot);
            slot += c->subblocks[j] == DIT_CROSS_ATTN;
        }
        if (stream) {
            orr_status rs = orr_dit_stream_release(stream, i);
            if (!st) st = rs;
        }
        if (!st) st = orr_cuda_count_nonfinite(f->counts + 1 + i, f->x, d->M * d->D, f->s);
        char name[32];
        snprintf(name, sizeof name, "blocks.block%d", i);
        if (!st) st = trace_tokens(f, name, f->x, c->block_x_thwbd);
        if (!st && hooks && hooks->after_block) st = hooks->after_block(hooks->user, i, f->x, d->B, d->N, d->D);
    }
    return st;
}

static orr_status final_layer(dfwd *f, float *out) {
    orr_dit *dit = f->dit;
    const dit_config *c = f->c;
    const dit_dims *d = &f->d;
    int64_t D = d->D, out_features = dit->final_linear->shape[0];
    float *y = (float *)f->scratch;
    orr_status st = adaln(f, &dit->final_adaln, 2);
    if (!st)
        st = orr_cuda_layer_norm_modulate(f->h, f->dt, f->x, d->M, D, d->N, f->mod, f->mod + D, 2 * D, NORM_EPS, f->s);
    if (!st) st = gemm(f, y, ORR_F32, f->h, dit->final_linear, NULL, d->M);
    if (!st) st = trace_add(f, "final_layer", y, 3, (int64_t[]){d->B * d->tp, d->hp * d->wp, out_features});
    if (!st) st = orr_cuda_count_nonfinite(f->counts + 1 + c->num_blocks, y, d->M * out_features, f->s);
    if (!st)
        st = orr_cuda_dit_unpatchify(out, y, d->B, c->out_channels, d->T, d->H, d->W, c->patch_temporal,
                                     c->patch_spatial, f->s);
    return st;
}

typedef struct staged {
    orr_tensor *tmp[4];
    const float *x, *timesteps, *pmask, *cmask;
} staged;

static orr_status forward(dfwd *f, const orr_dit_inputs *in, const staged *s, const dit_hooks *hooks, float *out) {
    orr_dit *dit = f->dit;
    const dit_config *c = f->c;
    const dit_dims *d = &f->d;
    int64_t D = d->D, N = d->N, B = d->B;
    orr_status st = orr_cuda_count_nonfinite(f->counts, s->x, orr_tensor_numel(in->x), f->s);
    if (st) return st;

    /* patch embedding */
    int64_t channels = dit->patch_embed->shape[1] / (c->patch_temporal * c->patch_spatial * c->patch_spatial);
    const float *pmask = c->concat_padding_mask ? s->pmask : NULL;
    int64_t mh = pmask ? in->padding_mask->shape[2] : 0, mw = pmask ? in->padding_mask->shape[3] : 0;
    st = orr_cuda_dit_patchify(f->scratch, f->dt, s->x, c->in_channels - c->video_conditioned, s->cmask, pmask, mh, mw,
                               channels, B, d->T, d->H, d->W, c->patch_temporal, c->patch_spatial, f->s);
    if (!st) st = gemm(f, f->x, ORR_F32, f->scratch, dit->patch_embed, NULL, d->M);
    if (!st) st = trace_tokens(f, "x_embedder", f->x, false);
    if (st) return st;

    /* position embeddings */
    float fps = in->fps ? (float)orr_tensor_get(in->fps, 0) : 0.0f;
    if ((st = rope_tables(f, fps, in->fps != NULL))) return st;
    if (c->extra_pos_emb && f->trace) {
        float *e = (float *)f->scratch;
        st = orr_cuda_memset_zero(e, (size_t)(B * N * D) * sizeof(float));
        if (!st)
            st = orr_cuda_dit_add_learnable_pos(e, dit->pos_t->data, dit->pos_h->data, dit->pos_w->data, B, d->tp,
                                                d->hp, d->wp, D, f->s);
        if (!st) st = trace_tokens(f, "extra_pos_embedder", e, false);
        if (st) return st;
    }
    if (f->trace) {
        orr_tensor *t;
        if ((st = orr_tensor_empty(&t, ORR_F32, 4, (int64_t[]){N, 1, 1, d->dh}))) return st;
        memcpy(t->data, dit->cuda->angles, orr_tensor_nbytes(t));
        if ((st = orr_tensor_list_add(f->trace, "pos_embedder", t))) return st;
    }

    if ((st = embed_timesteps(f, s->timesteps))) return st;
    if ((st = context_cache(f, in->crossattn_emb))) return st;
    if ((st = blocks(f, hooks))) return st;
    if (!(hooks && hooks->blocks_only) && (st = final_layer(f, out))) return st;
    if ((st = check_counts(f))) return st;
    if (f->kv) dit->cuda->kv_B = B, dit->cuda->kv_L = d->L; /* complete: valid for the next call */
    return ORR_OK;
}

orr_status orr_dit_forward_cuda(orr_dit *dit, orr_tensor *out, const orr_dit_inputs *in, orr_tensor_list *trace,
                                const dit_hooks *hooks, const dit_dims *d) {
    orr_status st = orr_cuda_ready("dit_forward");
    if (st) return st;
    if (!dit->cuda && !(dit->cuda = calloc(1, sizeof *dit->cuda)))
        return orr_error(ORR_ERR_MEMORY, "dit_forward: out of host memory");
    bool blocks_only = hooks && hooks->blocks_only;
    dfwd f = {.dit = dit,
              .c = &dit->cfg,
              .d = *d,
              .dt = dit->dtype,
              .ds = orr_dtype_size(dit->dtype),
              .s = orr_cuda_stream(),
              .trace = trace};
    if (!f.s) return orr_error_context(ORR_ERR_UNSUPPORTED, "dit_forward: ");
    if ((st = plan(&f))) return st;
    staged s;
    memset(&s, 0, sizeof s);
    const orr_tensor *ts[4] = {in->x, in->timesteps, in->padding_mask, in->condition_mask};
    const float **ptrs[4] = {&s.x, &s.timesteps, &s.pmask, &s.cmask};
    for (int i = 0; i < 4 && !st; i++)
        if (ts[i]) st = orr_input_f32(ts[i], &s.tmp[i], ptrs[i]);
    float *o = NULL;
    orr_tensor *otmp = NULL;
    if (!st && !blocks_only) st = orr_output_f32_begin(out, &otmp, &o);
    if (!st) st = forward(&f, in, &s, hooks, o);
    if (!st && !blocks_only)
        st = orr_output_f32_end(out, otmp);
    else
        orr_tensor_free(otmp);
    for (int i = 0; i < 4; i++) orr_tensor_free(s.tmp[i]);
    return st;
}
#endif /* ORR_HAVE_CUDA */
