/* dit_device.c — where a DiT's weights live (orr_dit_to_device) and what a
 * forward needs in memory there (orr_dit_memory_estimate). The matrices
 * (the GEMM weights) take the placement's dtype; the norm weights, biases
 * and position tables stay f32, as the kernels read them. */
#include <stdlib.h>
#include <string.h>

#include "cuda/device.h"
#include "dit.h"

/* cuBLASLt's workspace (ORR_CUDA_BLASLT_WORKSPACE of core/cuda/cuda_internal.h). */
#define CUDA_WORKSPACE_BYTES ((int64_t)32 << 20)

void orr_dit_block_matrices(dit_subblock *s, orr_tensor **slots[DIT_BLOCK_MATRICES]) {
    orr_tensor **all[DIT_BLOCK_MATRICES] = {&s->adaln.w1, &s->adaln.w2, &s->q, &s->k, &s->v, &s->out, &s->fc1, &s->fc2};
    memcpy(slots, all, sizeof all);
}

/* One weight of the walk below: `block` >= 0 for a block's matrix, whose
 * index in the stream's views is view. */
typedef struct weight_slot {
    orr_tensor **t;
    bool matrix;
    int block;
    int64_t view;
} weight_slot;

/* Every weight slot of dit (those holding NULL included); returns the
 * count, filling `out` when it is not NULL. */
static int weight_slots(orr_dit *dit, weight_slot *out) {
    int n = 0;
#define SLOT(ptr, is_matrix, blk, idx)                                                                                 \
    do {                                                                                                               \
        if (out) out[n] = (weight_slot){(ptr), (is_matrix), (blk), (idx)};                                             \
        n++;                                                                                                           \
    } while (0)
    SLOT(&dit->patch_embed, true, -1, -1);
    SLOT(&dit->pos_t, false, -1, -1);
    SLOT(&dit->pos_h, false, -1, -1);
    SLOT(&dit->pos_w, false, -1, -1);
    SLOT(&dit->t_fc1, true, -1, -1);
    SLOT(&dit->t_fc1_bias, false, -1, -1);
    SLOT(&dit->t_fc2, true, -1, -1);
    SLOT(&dit->t_fc2_bias, false, -1, -1);
    SLOT(&dit->affline_norm, false, -1, -1);
    SLOT(&dit->final_adaln.w1, true, -1, -1);
    SLOT(&dit->final_adaln.w2, true, -1, -1);
    SLOT(&dit->final_linear, true, -1, -1);
    for (int i = 0; i < dit->cfg.num_blocks; i++)
        for (int j = 0; j < dit->cfg.n_subblocks; j++) {
            dit_subblock *s = &dit->blocks[i].sub[j];
            orr_tensor **m[DIT_BLOCK_MATRICES];
            orr_dit_block_matrices(s, m);
            for (int k = 0; k < DIT_BLOCK_MATRICES; k++)
                SLOT(m[k], true, i, ((int64_t)i * ORR_DIT_MAX_SUBBLOCKS + j) * DIT_BLOCK_MATRICES + k);
            SLOT(&s->q_norm, false, -1, -1);
            SLOT(&s->k_norm, false, -1, -1);
        }
#undef SLOT
    return n;
}

static orr_status check_placement(const char *op, orr_device device, orr_dtype dtype, orr_dit_memory_mode mode) {
    if (device != ORR_CPU && device != ORR_CUDA)
        return orr_error(ORR_ERR_ARGUMENT, "%s: unknown device %d", op, (int)device);
    if (mode != ORR_DIT_RESIDENT && mode != ORR_DIT_STREAMED)
        return orr_error(ORR_ERR_ARGUMENT, "%s: unknown memory mode %d", op, (int)mode);
    if (mode == ORR_DIT_STREAMED && device != ORR_CUDA)
        return orr_error(ORR_ERR_ARGUMENT,
                         "%s: the streamed mode keeps the blocks on the host for a cuda device; "
                         "the device is %s",
                         op, orr_device_name(device));
    bool ok = device == ORR_CUDA ? dtype == ORR_F32 || dtype == ORR_BF16
                                 : dtype == ORR_F32 || dtype == ORR_BF16 || dtype == ORR_F16;
    if (!ok)
        return orr_error(ORR_ERR_DTYPE, "%s: the weights cannot be %s on %s (%s)", op,
                         orr_dtype_name(dtype) ? orr_dtype_name(dtype) : "an invalid dtype", orr_device_name(device),
                         device == ORR_CUDA ? "f32 or bf16" : "f32, bf16 or f16");
    return ORR_OK;
}

/* The caches of earlier forwards belong to the old placement. */
static void drop_caches(orr_dit *dit) {
    orr_arena_free(dit->arena);
    dit->arena = NULL;
    if (dit->pos.data) orr_mem_free(ORR_CPU, dit->pos.data, dit->pos.bytes);
    dit->pos.data = NULL;
    if (dit->kv.data) orr_mem_free(ORR_CPU, dit->kv.data, dit->kv.bytes);
    dit->kv.data = NULL;
    dit->kv.bytes = 0;
    dit->kv.B = 0;
#ifdef ORR_HAVE_CUDA
    orr_dit_cuda_release(dit);
#endif
}

orr_status orr_dit_to_device(orr_dit *dit, orr_device device, orr_dtype dtype, orr_dit_memory_mode mode) {
    const char *op = "dit_to_device";
    if (!dit) return orr_error(ORR_ERR_ARGUMENT, "%s: dit is NULL", op);
    orr_status st = check_placement(op, device, dtype, mode);
    if (st) return st;
    if (device == ORR_CUDA && !orr_cuda_available()) {
        orr_cuda_info info;
        st = orr_cuda_get_info(&info);
        return st ? orr_error_context(st, "%s: ", op)
                  : orr_error(ORR_ERR_UNSUPPORTED, "%s: the cuda device cannot be used", op);
    }
    int n = weight_slots(dit, NULL);
    weight_slot *slots = calloc((size_t)n, sizeof *slots);
    orr_tensor **fresh = calloc((size_t)n, sizeof *fresh);
    int64_t n_views = (int64_t)dit->cfg.num_blocks * ORR_DIT_MAX_SUBBLOCKS * DIT_BLOCK_MATRICES;
    orr_tensor **views = mode == ORR_DIT_STREAMED ? calloc((size_t)(n_views ? n_views : 1), sizeof *views) : NULL;
    struct dit_stream *stream = NULL;
    if (!slots || !fresh || (mode == ORR_DIT_STREAMED && !views))
        st = orr_error(ORR_ERR_MEMORY, "%s: out of host memory", op);
    if (!st) weight_slots(dit, slots);
#ifdef ORR_HAVE_CUDA
    if (!st && mode == ORR_DIT_STREAMED) st = orr_dit_stream_create(dit, dtype, &stream, views);
#endif
    for (int i = 0; !st && i < n; i++) {
        const orr_tensor *old = *slots[i].t;
        if (!old) continue;
        if (views && slots[i].matrix && slots[i].block >= 0) {
            fresh[i] = views[slots[i].view];
            views[slots[i].view] = NULL;
        } else {
            st = orr_tensor_empty_on(device, &fresh[i], slots[i].matrix ? dtype : ORR_F32, old->ndim, old->shape);
        }
        if (!st) st = orr_copy(fresh[i], old);
        if (st) orr_error_context(st, "%s: weight %d of %d: ", op, i, n);
    }
    if (!st) {
        for (int i = 0; i < n; i++) {
            if (!*slots[i].t) continue;
            orr_tensor_free(*slots[i].t);
            *slots[i].t = fresh[i];
            fresh[i] = NULL;
        }
        drop_caches(dit);
#ifdef ORR_HAVE_CUDA
        orr_dit_stream_free(dit->stream); /* after the views of it above */
#endif
        dit->stream = stream;
        stream = NULL;
        dit->device = device;
        dit->dtype = dtype;
        dit->mode = mode;
    }
    for (int i = 0; fresh && i < n; i++) orr_tensor_free(fresh[i]);
    for (int64_t i = 0; views && i < n_views; i++) orr_tensor_free(views[i]);
#ifdef ORR_HAVE_CUDA
    orr_dit_stream_free(stream);
#endif
    free(slots);
    free(fresh);
    free(views);
    return st;
}

orr_device orr_dit_device(const orr_dit *dit) { return dit ? dit->device : ORR_CPU; }

/* ---- memory ---------------------------------------------------------------- */

static size_t round256(size_t bytes) { return (bytes + 255) / 256 * 256; }

void orr_dit_cuda_buffers(const dit_config *c, const dit_dims *d, orr_dtype dtype, size_t bytes[DIT_CUDA_BUFFERS],
                          int64_t *attn) {
    size_t ds = orr_dtype_size(dtype), f4 = sizeof(float);
    int64_t D = d->D, M = d->M, B = d->B;
    int64_t features =
        (int64_t)(c->in_channels + c->concat_padding_mask) * c->patch_temporal * c->patch_spatial * c->patch_spatial;
    int64_t out_features = (int64_t)c->patch_spatial * c->patch_spatial * c->patch_temporal * c->out_channels;
    /* 128-element steps keep every attention buffer 256-byte aligned */
    *attn = ((M > B * d->L ? M : B * d->L) * D + 127) / 128 * 128;
    size_t scratch = 5 * (size_t)*attn * ds,
           need[] = {(size_t)(M * c->mlp_hidden) * ds, (size_t)(M * features) * ds, (size_t)(M * out_features) * f4};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (need[i] > scratch) scratch = need[i];
    int64_t rank = c->use_adaln_lora && c->adaln_lora_dim > D ? c->adaln_lora_dim : D;
    size_t b[DIT_CUDA_BUFFERS] = {
        [DCB_X] = (size_t)(M * D) * f4,
        [DCB_H] = (size_t)(M * D) * ds,
        [DCB_SCRATCH] = scratch,
        [DCB_CTX] = (size_t)(B * d->L * c->crossattn_channels) * ds,
        [DCB_T_SIN] = (size_t)(B * D) * f4,
        [DCB_T_SIN_DT] = (size_t)(B * D) * ds,
        [DCB_EMB] = (size_t)(B * D) * f4,
        [DCB_EMB_SILU_DT] = (size_t)(B * D) * ds,
        [DCB_LORA] = c->use_adaln_lora ? (size_t)(B * 3 * D) * f4 : 0,
        [DCB_MOD] = (size_t)(B * 3 * D) * f4,
        [DCB_HIDDEN] = (size_t)(B * rank) * f4,
        [DCB_HIDDEN_DT] = (size_t)(B * rank) * ds,
        [DCB_COUNTS] = (size_t)(c->num_blocks + 3) * sizeof(int64_t),
    };
    for (int i = 0; i < DIT_CUDA_BUFFERS; i++) bytes[i] = round256(b[i]);
}

size_t orr_dit_cuda_activation_bytes(const dit_config *c, const dit_dims *d, orr_dtype dtype) {
    size_t bytes[DIT_CUDA_BUFFERS], total = 0;
    int64_t attn;
    orr_dit_cuda_buffers(c, d, dtype, bytes, &attn);
    for (int i = 0; i < DIT_CUDA_BUFFERS; i++) total += bytes[i];
    return total;
}

size_t orr_dit_cuda_cache_bytes(const dit_config *c, const dit_dims *d, orr_dtype dtype) {
    size_t ds = orr_dtype_size(dtype);
    size_t rope = round256((size_t)(d->N * d->dh) * sizeof(float)); /* cos and sin, [N, dh/2] each */
    size_t kv = (size_t)orr_dit_kv_floats(c, d) * ds, text = (size_t)(d->B * d->L * c->crossattn_channels) * ds;
    return rope + (kv ? round256(kv) + round256(text) : 0);
}

/* The weights' bytes from the config (the shapes build() in dit_load.c
 * gives them): outside the blocks, one block as dit_stream.c stages it
 * (each matrix 256-byte aligned), and all blocks' matrices. */
typedef struct weight_bytes {
    int64_t outside, staged_block, blocks;
} weight_bytes;

static void add_weight(weight_bytes *w, int64_t rows, int64_t cols, bool matrix, bool in_block, int64_t ds) {
    int64_t bytes = rows * cols * (matrix ? ds : (int64_t)sizeof(float));
    if (matrix && in_block) {
        w->staged_block += (int64_t)round256((size_t)bytes);
        w->blocks += bytes;
    } else {
        w->outside += bytes;
    }
}

static void add_adaln(weight_bytes *w, const dit_config *c, int chunks, bool in_block, int64_t ds) {
    int64_t D = c->model_channels;
    if (c->use_adaln_lora) {
        add_weight(w, c->adaln_lora_dim, D, true, in_block, ds);
        add_weight(w, chunks * D, c->adaln_lora_dim, true, in_block, ds);
    } else {
        add_weight(w, chunks * D, D, true, in_block, ds);
    }
}

static weight_bytes count_weights(const dit_config *c, int64_t ds) {
    weight_bytes w = {0, 0, 0};
    int64_t D = c->model_channels, dh = D / c->num_heads;
    int64_t features =
        (int64_t)(c->in_channels + c->concat_padding_mask) * c->patch_temporal * c->patch_spatial * c->patch_spatial;
    add_weight(&w, D, features, true, false, ds);
    if (c->extra_pos_emb)
        add_weight(&w, (int64_t)orr_dit_len_t(c) + orr_dit_len_h(c) + orr_dit_len_w(c), D, false, false, ds);
    add_weight(&w, D, D, true, false, ds);
    if (c->use_adaln_lora) {
        add_weight(&w, 3 * D, D, true, false, ds);
    } else {
        add_weight(&w, D, D, true, false, ds);
        add_weight(&w, 2, D, false, false, ds); /* the two biases */
    }
    if (c->affline_emb_norm) add_weight(&w, 1, D, false, false, ds);
    weight_bytes block = {0, 0, 0};
    for (int j = 0; j < c->n_subblocks; j++) {
        add_adaln(&block, c, 3, true, ds);
        if (c->subblocks[j] == DIT_MLP) {
            add_weight(&block, c->mlp_hidden, D, true, true, ds);
            add_weight(&block, D, c->mlp_hidden, true, true, ds);
            continue;
        }
        int64_t kv_in = c->subblocks[j] == DIT_CROSS_ATTN ? c->crossattn_channels : D;
        add_weight(&block, D, D, true, true, ds);
        add_weight(&block, D, kv_in, true, true, ds);
        add_weight(&block, D, kv_in, true, true, ds);
        add_weight(&block, D, D, true, true, ds);
        add_weight(&block, 2, dh, false, true, ds); /* q and k norms, resident */
    }
    w.outside += block.outside * c->num_blocks;
    w.staged_block = block.staged_block;
    w.blocks = block.blocks * c->num_blocks;
    if (!c->no_final_layer) {
        add_adaln(&w, c, 2, false, ds);
        add_weight(&w, (int64_t)c->patch_spatial * c->patch_spatial * c->patch_temporal * c->out_channels, D, true,
                   false, ds);
    }
    return w;
}

orr_status orr_dit_memory_estimate_config(const dit_config *c, orr_device device, orr_dtype dtype,
                                          orr_dit_memory_mode mode, const int64_t x_shape[5], int64_t text_len,
                                          orr_dit_memory *out) {
    const char *op = "dit_memory_estimate";
    if (!x_shape || !out) return orr_error(ORR_ERR_ARGUMENT, "%s: NULL x_shape or out", op);
    orr_status st = check_placement(op, device, dtype, mode);
    if (st) return st;
    int64_t ps = c->patch_spatial, pt = c->patch_temporal;
    for (int i = 0; i < 5; i++)
        if (x_shape[i] < 1)
            return orr_error(ORR_ERR_SHAPE, "%s: x_shape[%d] = %lld must be >= 1", op, i, (long long)x_shape[i]);
    if (x_shape[2] % pt || x_shape[3] % ps || x_shape[4] % ps)
        return orr_error(ORR_ERR_SHAPE,
                         "%s: x_shape T, H, W = %lld, %lld, %lld must be multiples of the patch %lld, "
                         "%lld, %lld",
                         op, (long long)x_shape[2], (long long)x_shape[3], (long long)x_shape[4], (long long)pt,
                         (long long)ps, (long long)ps);
    if (text_len < 1) return orr_error(ORR_ERR_SHAPE, "%s: text_len %lld must be >= 1", op, (long long)text_len);
    dit_dims d = {.B = x_shape[0], .T = x_shape[2], .H = x_shape[3], .W = x_shape[4], .L = text_len};
    d.tp = d.T / pt, d.hp = d.H / ps, d.wp = d.W / ps;
    d.N = d.tp * d.hp * d.wp, d.M = d.B * d.N;
    d.D = c->model_channels, d.heads = c->num_heads, d.dh = d.D / d.heads;

    weight_bytes w = count_weights(c, (int64_t)orr_dtype_size(dtype));
    memset(out, 0, sizeof *out);
    if (mode == ORR_DIT_STREAMED) {
        out->weights = w.outside + 2 * w.staged_block;
        out->pinned_weights = w.staged_block * c->num_blocks;
    } else {
        out->weights = w.outside + w.blocks;
    }
    if (device == ORR_CUDA) {
        out->activations = (int64_t)orr_dit_cuda_activation_bytes(c, &d, dtype);
        out->caches = (int64_t)orr_dit_cuda_cache_bytes(c, &d, dtype);
        out->workspace = CUDA_WORKSPACE_BYTES;
    } else {
        out->activations = (int64_t)orr_dit_cpu_activation_bytes(c, &d);
        int64_t pos = (c->extra_pos_emb ? d.N * d.D : 0) + 2 * d.N * d.dh;
        int64_t kv = orr_dit_kv_floats(c, &d);
        out->caches = (pos + (kv ? kv + d.B * d.L * c->crossattn_channels : 0)) * (int64_t)sizeof(float);
    }
    out->total = out->weights + out->activations + out->caches + out->workspace;
    return ORR_OK;
}

orr_status orr_dit_memory_estimate(const orr_dit *dit, orr_device device, orr_dtype dtype, orr_dit_memory_mode mode,
                                   const int64_t x_shape[5], int64_t text_len, orr_dit_memory *out) {
    if (!dit) return orr_error(ORR_ERR_ARGUMENT, "dit_memory_estimate: dit is NULL");
    return orr_dit_memory_estimate_config(&dit->cfg, device, dtype, mode, x_shape, text_len, out);
}
