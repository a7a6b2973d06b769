/* transfer.c — the MultiControlNet forward of Cosmos-Transfer1, number for
 * number with GeneralDITEncoder.forward (general_dit_ctrl_enc.py) and the
 * x_ctrl injection of GeneralDIT.forward (general_dit.py):
 *
 *   for each branch i (in order), on the base's own input:
 *     hint   = input_hint_block(x_embedder2(cat(pad(latent_hint_i), padding mask)))
 *     h      = the branch's embeddings of x; for k < its blocks:
 *              h = block_k(h); (k == 0: h += hint)
 *              x_ctrl[k] += zero_block_k(h) * w_i
 *   base:      x = block_k(x) (+ x_ctrl[k] where a branch fed block k)
 *
 * The branches and the base are DiTs run through dit.c's block hooks, so the
 * activations stay token-major [B, N, D] (N in (t h w) order); the weight
 * w_i is a scalar or a value per token. Everything runs where the networks
 * are (orr_transfer_to_device): on cuda the branches' blocks take the
 * DiT's device path (dit_cuda.c), and the hint path, the projections and
 * the residual sums run as device GEMMs and elementwise kernels, in f32
 * with the GEMM inputs in the weights' dtype (as the DiT does). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cuda/device.h"
#include "elementwise.h"
#include "linear.h"
#include "transfer.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/copy.h"
#include "cuda/cuda_internal.h"
#include "cuda/dit_fused.h"
#include "cuda/elementwise.h"
#include "cuda/linear.h"
#endif

typedef struct ctrl_run {
    orr_transfer *tr;
    orr_device device;    /* where the networks and every buffer below are */
    int64_t B, N, D, M;
    int64_t tp, hp, wp;
    int out_blocks;       /* base blocks some branch feeds */
    float *x_ctrl;        /* [out_blocks, M, D], summed over the branches */
    float *hint;          /* [M, D] the current branch's guided hint */
    float *zero;          /* [M, D] scratch for a projection */
    float *mlp[2];        /* [M, wide] ping-pong for the hint MLP (wide: its widest layer) */
    void *cast;           /* cuda: [M, wide] a GEMM input in the weights' dtype */
    const float *weights; /* [N, B, N_tokens] maps, or NULL for scalars */
    float scalars[ORR_TRANSFER_MAX_CONTROLS];
    int branch;
    orr_tensor_list *trace;
    char prefix[32]; /* "branch<i>." while a branch runs */
} ctrl_run;

/* ---- tracing --------------------------------------------------------------- */

/* A [M, D] token-major activation on r's device, into a new host tensor
 * [B, tp, hp, wp, D]. */
static orr_status trace_copy(const ctrl_run *r, const float *x, orr_tensor **out) {
    orr_status st = orr_tensor_empty(out, ORR_F32, 5, (int64_t[]){r->B, r->tp, r->hp, r->wp, r->D});
    if (st) return st;
    if (r->device == ORR_CPU)
        memcpy((*out)->data, x, orr_tensor_nbytes(*out));
    else
        st = orr_cuda_download((*out)->data, x, orr_tensor_nbytes(*out));
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

/* A [M, D] token-major activation as the official blocks hold it: T,H,W,B,D. */
static orr_status trace_thwbd(const ctrl_run *r, const char *name, const float *x) {
    if (!r->trace) return ORR_OK;
    orr_tensor *tok = NULL, *t = NULL;
    orr_status st = trace_copy(r, x, &tok);
    if (!st) st = orr_tensor_empty(&t, ORR_F32, 5, (int64_t[]){r->tp, r->hp, r->wp, r->B, r->D});
    if (!st) {
        const float *src = tok->data;
        float *dst = t->data;
        for (int64_t n = 0; n < r->N; n++)
            for (int64_t b = 0; b < r->B; b++)
                memcpy(dst + (n * r->B + b) * r->D, src + (b * r->N + n) * r->D, (size_t)r->D * sizeof(float));
        st = orr_tensor_list_add(r->trace, name, t);
        t = NULL;
    }
    orr_tensor_free(tok);
    orr_tensor_free(t);
    return st;
}

static orr_status trace_btwhd(const ctrl_run *r, const char *name, const float *x) {
    if (!r->trace) return ORR_OK;
    orr_tensor *t = NULL;
    orr_status st = trace_copy(r, x, &t);
    return st ? st : orr_tensor_list_add(r->trace, name, t);
}

/* ---- the arithmetic, on the cpu or on cuda ------------------------------------- */

#ifdef ORR_HAVE_CUDA
static orr_status stream_of(cudaStream_t *s) {
    *s = orr_cuda_stream();
    return *s ? ORR_OK : orr_error_context(ORR_ERR_UNSUPPORTED, "transfer_forward: ");
}
#endif

/* x[i] += y[i] for i < n */
static orr_status add_into(const ctrl_run *r, float *x, const float *y, int64_t n) {
#ifdef ORR_HAVE_CUDA
    if (r->device == ORR_CUDA) {
        cudaStream_t s;
        int64_t one = 1;
        orr_status st = stream_of(&s);
        return st ? st : orr_cuda_binary(x, x, &one, y, &one, 1, &n, ORR_ADD, s);
    }
#endif
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
    return ORR_OK;
}

/* y [rows, out] = x [rows, in] w^T + b for an nn.Linear weight w [out, in]
 * (b may be NULL), then SiLU when asked; x and y f32. On cuda x goes to
 * the weight's dtype first (cuBLASLt multiplies one dtype). */
static orr_status project(const ctrl_run *r, float *y, const float *x, const orr_tensor *w, const orr_tensor *b,
                          bool silu) {
    int64_t out = w->shape[0], in = w->shape[1];
#ifdef ORR_HAVE_CUDA
    if (r->device == ORR_CUDA) {
        cudaStream_t s;
        orr_status st = stream_of(&s);
        if (st) return st;
        if (b && b->dtype != ORR_F32)
            return orr_error(ORR_ERR_DTYPE, "transfer_forward: a bias is %s on cuda, expected f32",
                             orr_dtype_name(b->dtype));
        const void *xin = x;
        if (w->dtype != ORR_F32) {
            int64_t one = 1, n = r->M * in;
            if ((st = orr_cuda_copy_strided(r->cast, w->dtype, &one, x, ORR_F32, &one, 1, &n, s))) return st;
            xin = r->cast;
        }
        st = orr_cuda_linear(y, ORR_F32, out, xin, in, w->data, w->dtype, w->stride[0], b ? b->data : NULL, r->M, in,
                             out, 0, s);
        return st || !silu ? st : orr_cuda_unary(y, y, r->M * out, ORR_SILU, s);
    }
#endif
    orr_status st =
        orr_cpu_linear(y, out, x, in, w->data, w->dtype, w->stride[0], b ? b->data : NULL, r->M, in, out);
    if (!st && silu) orr_cpu_unary(y, y, r->M * out, ORR_SILU);
    return st;
}

/* zero_block(x) * w_i: a scalar, or the map's value at the token. */
static orr_status weigh(const ctrl_run *r, float *y) {
    int64_t MD = r->M * r->D;
    const float *wm = r->weights ? r->weights + (int64_t)r->branch * r->M : NULL;
    float s = r->scalars[r->branch];
#ifdef ORR_HAVE_CUDA
    if (r->device == ORR_CUDA) {
        cudaStream_t stream;
        orr_status st = stream_of(&stream);
        if (st) return st;
        /* y * s + 0 is y * s: one rounding, as on the cpu */
        if (!wm) return orr_cuda_affine(y, y, MD, s, 0.0f, stream);
        int64_t shape[2] = {r->M, r->D}, y_stride[2] = {r->D, 1}, w_stride[2] = {1, 0};
        return orr_cuda_binary(y, y, y_stride, wm, w_stride, 2, shape, ORR_MUL, stream);
    }
#endif
    if (wm) {
        for (int64_t m = 0; m < r->M; m++)
            for (int64_t d = 0; d < r->D; d++) y[m * r->D + d] *= wm[m];
    } else {
        for (int64_t i = 0; i < MD; i++) y[i] *= s;
    }
    return ORR_OK;
}

/* Moves a DiT's trace into the caller's under `prefix`, its RoPE angles
 * ("pos_embedder") named rope_emb as the official networks' attribute. */
static orr_status adopt_trace(orr_tensor_list *dst, orr_tensor_list *src, const char *prefix) {
    for (int64_t i = 0; i < orr_tensor_list_count(src); i++) {
        const char *name = orr_tensor_list_name(src, i);
        char full[160];
        snprintf(full, sizeof full, "%s%s", prefix, strcmp(name, "pos_embedder") ? name : "rope_emb");
        orr_tensor *view;
        orr_status st = orr_tensor_view(&view, orr_tensor_list_get(src, i));
        if (!st) st = orr_tensor_list_add(dst, full, view);
        if (st) return st;
    }
    return ORR_OK;
}

/* ---- the hint path ------------------------------------------------------------ */

typedef struct hint_patch_job {
    const ctrl_run *r;
    float *patches;    /* [M, F] */
    const float *hint; /* [B, Nc, C, T, H, W] */
    int64_t n_ctrl, C, T, H, W, branch;
    int64_t hint_channels; /* zero-padded up to this */
    const float *pmask;    /* [B, 1, Hpx, Wpx] or NULL (zeros) */
    int64_t mh, mw;
    bool pad_channel; /* concat_padding_mask */
    int64_t pt, ps, features;
} hint_patch_job;

static void hint_patch_rows(void *user, int64_t begin, int64_t end) {
    const hint_patch_job *j = user;
    const ctrl_run *r = j->r;
    int64_t T = j->T, H = j->H, W = j->W;
    for (int64_t row = begin; row < end; row++) {
        int64_t w = row % r->wp, h = row / r->wp % r->hp, t = row / r->wp / r->hp % r->tp, b = row / r->N;
        float *p = j->patches + row * j->features;
        int64_t channels = j->hint_channels + j->pad_channel;
        /* rearrange "(c r m n)" as PatchEmbed flattens a patch */
        for (int64_t c = 0; c < channels; c++)
            for (int64_t dt = 0; dt < j->pt; dt++)
                for (int64_t m = 0; m < j->ps; m++)
                    for (int64_t n = 0; n < j->ps; n++) {
                        int64_t tt = t * j->pt + dt, y = h * j->ps + m, x = w * j->ps + n;
                        float v = 0.0f;
                        if (c < j->C) {
                            v = j->hint[((((b * j->n_ctrl + j->branch) * j->C + c) * T + tt) * H + y) * W + x];
                        } else if (c == j->hint_channels && j->pmask) {
                            /* the padding mask resized to H, W (nearest), as the base's input */
                            int64_t sy = (int64_t)floorf((float)y * ((float)j->mh / (float)H));
                            int64_t sx = (int64_t)floorf((float)x * ((float)j->mw / (float)W));
                            if (sy > j->mh - 1) sy = j->mh - 1;
                            if (sx > j->mw - 1) sx = j->mw - 1;
                            v = j->pmask[(b * j->mh + sy) * j->mw + sx];
                        }
                        *p++ = v;
                    }
    }
}

#ifdef ORR_HAVE_CUDA
/* hint_patch_rows on the device: branch i's hint zero-padded to its
 * hint_channels (in r->mlp[1]), then the DiT's patch gather with the
 * padding mask as the channel after them. */
static orr_status hint_patches_cuda(const hint_patch_job *j) {
    const ctrl_run *r = j->r;
    cudaStream_t s;
    orr_status st = stream_of(&s);
    if (st) return st;
    int64_t B = r->B, C = j->C, hc = j->hint_channels, T = j->T, H = j->H, W = j->W, frame = T * H * W;
    float *padded = r->mlp[1];
    if (C < hc && (st = orr_cuda_memset_zero(padded, (size_t)(B * hc * frame) * sizeof(float)))) return st;
    int64_t shape[2] = {B, C * frame}, dst_stride[2] = {hc * frame, 1}, src_stride[2] = {j->n_ctrl * C * frame, 1};
    st = orr_cuda_copy_strided(padded, ORR_F32, dst_stride, j->hint + j->branch * C * frame, ORR_F32, src_stride, 2,
                               shape, s);
    if (st) return st;
    int64_t channels = j->features / (j->pt * j->ps * j->ps);
    return orr_cuda_dit_patchify(j->patches, ORR_F32, padded, hc, NULL, j->pad_channel ? j->pmask : NULL, j->mh, j->mw,
                                 channels, B, T, H, W, j->pt, j->ps, s);
}
#endif

/* hint = input_hint_block(x_embedder2(...)) for branch i into r->hint. */
static orr_status encode_hint(ctrl_run *r, const transfer_branch *br, int i, const orr_transfer_inputs *in,
                              const float *hint, const float *pmask) {
    const dit_config *c = &br->dit->cfg;
    const orr_tensor *lh = in->latent_hint;
    hint_patch_job j = {.r = r,
                        .patches = r->mlp[0],
                        .hint = hint,
                        .n_ctrl = lh->shape[1],
                        .C = lh->shape[2],
                        .T = lh->shape[3],
                        .H = lh->shape[4],
                        .W = lh->shape[5],
                        .branch = i,
                        .hint_channels = br->hint_channels,
                        .pmask = pmask,
                        .pad_channel = c->concat_padding_mask,
                        .pt = c->patch_temporal,
                        .ps = c->patch_spatial,
                        .features = br->hint_embed->shape[1]};
    if (pmask) j.mh = in->net.padding_mask->shape[2], j.mw = in->net.padding_mask->shape[3];
    orr_status st = ORR_OK;
#ifdef ORR_HAVE_CUDA
    if (r->device == ORR_CUDA) st = hint_patches_cuda(&j);
    else
#endif
        orr_parallel_for(r->M, hint_patch_rows, &j);
    float *a = r->mlp[1], *b = r->mlp[0];
    if (!st) st = project(r, a, b, br->hint_embed, NULL, false);
    if (!st) st = trace_btwhd(r, "x_embedder2", a);
    for (int k = 0; !st && k < TRANSFER_HINT_LAYERS; k++) {
        bool last = k == TRANSFER_HINT_LAYERS - 1;
        float *dst = last ? r->hint : b;
        st = project(r, dst, a, br->hint_w[k], br->hint_b[k], !last);
        float *tmp = a;
        a = b;
        b = tmp;
    }
    if (!st) st = trace_thwbd(r, "guided_hint", r->hint);
    return st;
}

/* ---- the hooks ------------------------------------------------------------------ */

static orr_status named_trace(const ctrl_run *r, const char *what, int k, const float *x) {
    char name[96];
    snprintf(name, sizeof name, "%s.block%d", what, k);
    return trace_thwbd(r, name, x);
}

static orr_status after_branch_block(void *user, int k, float *x, int64_t B, int64_t N, int64_t D) {
    (void)B, (void)N;
    ctrl_run *r = user;
    const transfer_branch *br = &r->tr->branches[r->branch];
    int64_t MD = r->M * D;
    orr_status st = k == 0 ? add_into(r, x, r->hint, MD) : ORR_OK;
    if (!st) st = project(r, r->zero, x, br->zero_w[k], br->zero_b[k], false);
    if (!st) st = named_trace(r, "zero_blocks", k, r->zero);
    if (!st) st = weigh(r, r->zero);
    if (!st) st = named_trace(r, "residual", k, r->zero);
    return st ? st : add_into(r, r->x_ctrl + k * MD, r->zero, MD);
}

static orr_status after_base_block(void *user, int k, float *x, int64_t B, int64_t N, int64_t D) {
    (void)B, (void)N;
    ctrl_run *r = user;
    if (k >= r->out_blocks) return ORR_OK;
    return add_into(r, x, r->x_ctrl + k * r->M * D, r->M * D);
}

/* ---- validation ------------------------------------------------------------------ */

/* A hint or weight input must lie where the networks are (the DiT checks
 * its own inputs). */
static orr_status check_placed(const char *arg, const orr_tensor *t, orr_device device) {
    orr_status st = orr_check_backend("transfer_forward", arg, t);
    if (st) return st;
    if (t->device != device)
        return orr_error(ORR_ERR_ARGUMENT, "transfer_forward: %s is on %s but the network is on %s", arg,
                         orr_device_name(t->device), orr_device_name(device));
    return ORR_OK;
}

/* Every branch where the base is (orr_dit_to_device on the base alone
 * moves only the base). */
static orr_status check_networks(const orr_transfer *tr) {
    orr_device device = tr->base->device;
    for (int i = 0; i < tr->n_branches; i++) {
        const transfer_branch *br = &tr->branches[i];
        if (br->dit->device != device || br->hint_embed->device != device)
            return orr_error(ORR_ERR_ARGUMENT,
                             "transfer_forward: control %d (%s) is on %s but the base is on %s; place them together "
                             "with orr_transfer_to_device",
                             i, orr_control_kind_name(br->kind), orr_device_name(br->dit->device),
                             orr_device_name(device));
    }
    return ORR_OK;
}

static orr_status check_inputs(const orr_transfer *tr, const orr_transfer_inputs *in) {
    char a[200];
    if (!in) return orr_error(ORR_ERR_ARGUMENT, "transfer_forward: in is NULL");
    const orr_tensor *x = in->net.x, *lh = in->latent_hint;
    if (!x) return orr_error(ORR_ERR_ARGUMENT, "transfer_forward: net.x is NULL");
    if (x->ndim != 5)
        return orr_error(ORR_ERR_SHAPE, "transfer_forward: net.x is %s, expected [B,C,T,H,W]",
                         orr_tensor_describe(x, a, sizeof a));
    int n = tr->n_branches;
    if (!n) return ORR_OK;
    if (!lh) return orr_error(ORR_ERR_ARGUMENT, "transfer_forward: latent_hint is NULL but %d branches need one", n);
    orr_status st = check_placed("latent_hint", lh, tr->base->device);
    if (st) return st;
    int min_hc = tr->branches[0].hint_channels;
    for (int i = 1; i < n; i++)
        if (tr->branches[i].hint_channels < min_hc) min_hc = tr->branches[i].hint_channels;
    if (lh->ndim != 6 || lh->shape[0] != x->shape[0] || lh->shape[1] != n || lh->shape[2] < 1 ||
        lh->shape[2] > min_hc || lh->shape[3] != x->shape[2] || lh->shape[4] != x->shape[3] ||
        lh->shape[5] != x->shape[4])
        return orr_error(ORR_ERR_SHAPE,
                         "transfer_forward: latent_hint is %s, expected [%lld,%d,C,%lld,%lld,%lld] with C <= %d "
                         "(batch, branches, channels and x's frames and size)",
                         orr_tensor_describe(lh, a, sizeof a), (long long)x->shape[0], n, (long long)x->shape[2],
                         (long long)x->shape[3], (long long)x->shape[4], min_hc);
    const orr_tensor *w = in->control_weight;
    if (!w) return ORR_OK;
    if ((st = check_placed("control_weight", w, tr->base->device))) return st;
    const dit_config *c = &tr->base->cfg;
    int64_t tp = x->shape[2] / c->patch_temporal, hp = x->shape[3] / c->patch_spatial,
            wp = x->shape[4] / c->patch_spatial;
    bool scalars = w->ndim == 1 && w->shape[0] == n;
    bool maps = w->ndim == 6 && w->shape[0] == n && w->shape[1] == x->shape[0] && w->shape[2] == 1 &&
                w->shape[3] == tp && w->shape[4] == hp && w->shape[5] == wp;
    if (!scalars && !maps)
        return orr_error(
            ORR_ERR_SHAPE,
            "transfer_forward: control_weight is %s, expected [%d] (scalars) or [%d,%lld,1,%lld,%lld,%lld] "
            "(maps over the token grid)",
            orr_tensor_describe(w, a, sizeof a), n, n, (long long)x->shape[0], (long long)tp, (long long)hp,
            (long long)wp);
    return ORR_OK;
}

/* ---- the forward -------------------------------------------------------------------- */

static orr_status run_branches(ctrl_run *r, const orr_transfer_inputs *in, const float *hint, const float *pmask) {
    orr_transfer *tr = r->tr;
    orr_status st = ORR_OK;
    for (int i = 0; i < tr->n_branches && !st; i++) {
        transfer_branch *br = &tr->branches[i];
        r->branch = i;
        orr_tensor_list *dit_trace = NULL;
        orr_tensor_list *outer = r->trace;
        snprintf(r->prefix, sizeof r->prefix, "branch%d.", i);
        if (outer && (st = orr_tensor_list_create(&dit_trace))) return st;
        /* the hooks record into a list of their own, prefixed when adopted */
        orr_tensor_list *mine = NULL;
        if (outer && (st = orr_tensor_list_create(&mine))) {
            orr_tensor_list_free(dit_trace);
            return st;
        }
        r->trace = mine;
        st = encode_hint(r, br, i, in, hint, pmask);
        dit_hooks hooks = {after_branch_block, r, true};
        if (!st) st = orr_dit_forward_hooked(br->dit, NULL, &in->net, dit_trace, &hooks);
        r->trace = outer;
        if (!st && outer) st = adopt_trace(outer, dit_trace, r->prefix);
        if (!st && outer) st = adopt_trace(outer, mine, r->prefix);
        orr_tensor_list_free(dit_trace);
        orr_tensor_list_free(mine);
        if (st) orr_error_context(st, "transfer control %d (%s): ", i, orr_control_kind_name(br->kind));
    }
    return st;
}

orr_status orr_transfer_forward(orr_transfer *tr, orr_tensor *out, const orr_transfer_inputs *in,
                                struct orr_tensor_list *trace) {
    if (!tr) return orr_error(ORR_ERR_ARGUMENT, "transfer_forward: tr is NULL");
    ctrl_run r = {.tr = tr, .device = tr->base->device, .trace = trace};
    orr_status st = check_networks(tr);
    if (!st) st = check_inputs(tr, in);
    if (st) return st;
    const orr_tensor *x = in->net.x;
    const dit_config *c = &tr->base->cfg;
    r.B = x->shape[0];
    r.tp = x->shape[2] / c->patch_temporal, r.hp = x->shape[3] / c->patch_spatial,
    r.wp = x->shape[4] / c->patch_spatial;
    r.N = r.tp * r.hp * r.wp;
    r.M = r.B * r.N;
    r.D = c->model_channels;
    for (int i = 0; i < tr->n_branches; i++)
        if (tr->branches[i].dit->cfg.num_blocks > r.out_blocks) r.out_blocks = tr->branches[i].dit->cfg.num_blocks;

    orr_tensor *tmp_hint = NULL, *tmp_w = NULL, *tmp_pm = NULL;
    const float *hint = NULL, *weights = NULL, *pmask = NULL;
    const orr_tensor *cw = in->control_weight;
    bool scalars = cw && cw->ndim == 1;
    if (tr->n_branches) st = orr_input_f32(in->latent_hint, &tmp_hint, &hint);
    if (!st && cw && !scalars) st = orr_input_f32(cw, &tmp_w, &weights);
    if (!st && in->net.padding_mask && c->concat_padding_mask)
        st = orr_input_f32(in->net.padding_mask, &tmp_pm, &pmask);
    for (int i = 0; i < tr->n_branches; i++) r.scalars[i] = scalars ? (float)orr_tensor_get(cw, i) : 1.0f;
    r.weights = weights;

    int64_t MD = r.M * r.D, wide = r.D > 256 ? r.D : 256;
    int64_t feats = 0;
    for (int i = 0; i < tr->n_branches; i++)
        if (tr->branches[i].hint_embed->shape[1] > feats) feats = tr->branches[i].hint_embed->shape[1];
    if (wide < feats) wide = feats;
    /* on cuda also the GEMM input cast, [M, wide] of the widest dtype */
    size_t floats = (size_t)((int64_t)r.out_blocks * MD + 2 * MD + (r.device == ORR_CPU ? 2 : 3) * r.M * wide);
    size_t bytes = floats * sizeof(float);
    float *mem = NULL;
    if (!st && tr->n_branches && !(st = orr_mem_alloc(r.device, bytes, (void **)&mem))) {
        r.x_ctrl = mem;
        r.hint = r.x_ctrl + r.out_blocks * MD;
        r.zero = r.hint + MD;
        r.mlp[0] = r.zero + MD;
        r.mlp[1] = r.mlp[0] + r.M * wide;
        r.cast = r.device == ORR_CPU ? NULL : r.mlp[1] + r.M * wide;
        if (r.device == ORR_CPU)
            memset(r.x_ctrl, 0, (size_t)(r.out_blocks * MD) * sizeof(float));
        else
            st = orr_cuda_memset_zero(r.x_ctrl, (size_t)(r.out_blocks * MD) * sizeof(float));
    }
    if (!st) st = run_branches(&r, in, hint, pmask);
    for (int k = 0; !st && k < r.out_blocks; k++) st = named_trace(&r, "x_ctrl", k, r.x_ctrl + k * MD);

    orr_tensor_list *base_trace = NULL;
    if (!st && trace) st = orr_tensor_list_create(&base_trace);
    if (!st) {
        dit_hooks hooks = {after_base_block, &r, false};
        st = orr_dit_forward_hooked(tr->base, out, &in->net, base_trace, &hooks);
        if (st) orr_error_context(st, "transfer base: ");
    }
    if (!st && trace) st = adopt_trace(trace, base_trace, "base.");
    orr_tensor_list_free(base_trace);
    /* the device work using mem is queued: the caching allocator hands the
     * block out again only to work queued after it */
    if (mem) orr_mem_free(r.device, mem, bytes);
    orr_tensor_free(tmp_hint);
    orr_tensor_free(tmp_w);
    orr_tensor_free(tmp_pm);
    return st;
}
