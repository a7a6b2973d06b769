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
 * w_i is a scalar or a value per token. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "elementwise.h"
#include "linear.h"
#include "transfer.h"

typedef struct ctrl_run {
    orr_transfer *tr;
    int64_t B, N, D, M;
    int64_t tp, hp, wp;
    int out_blocks;       /* base blocks some branch feeds */
    float *x_ctrl;        /* [out_blocks, M, D], summed over the branches */
    float *hint;          /* [M, D] the current branch's guided hint */
    float *zero;          /* [M, D] scratch for a projection */
    float *mlp[2];        /* [M, max(D, 256)] ping-pong for the hint MLP */
    const float *weights; /* [N, B, N_tokens] maps, or NULL for scalars */
    float scalars[ORR_TRANSFER_MAX_CONTROLS];
    int branch;
    orr_tensor_list *trace;
    char prefix[32]; /* "branch<i>." while a branch runs */
} ctrl_run;

/* ---- tracing --------------------------------------------------------------- */

/* A [M, D] token-major activation as the official blocks hold it: T,H,W,B,D. */
static orr_status trace_thwbd(const ctrl_run *r, const char *name, const float *x) {
    if (!r->trace) return ORR_OK;
    orr_tensor *t;
    orr_status st = orr_tensor_empty(&t, ORR_F32, 5, (int64_t[]){r->tp, r->hp, r->wp, r->B, r->D});
    if (st) return st;
    float *dst = t->data;
    for (int64_t n = 0; n < r->N; n++)
        for (int64_t b = 0; b < r->B; b++)
            memcpy(dst + (n * r->B + b) * r->D, x + (b * r->N + n) * r->D, (size_t)r->D * sizeof(float));
    return orr_tensor_list_add(r->trace, name, t);
}

static orr_status trace_btwhd(const ctrl_run *r, const char *name, const float *x) {
    if (!r->trace) return ORR_OK;
    orr_tensor *t;
    orr_status st = orr_tensor_empty(&t, ORR_F32, 5, (int64_t[]){r->B, r->tp, r->hp, r->wp, r->D});
    if (st) return st;
    memcpy(t->data, x, orr_tensor_nbytes(t));
    return orr_tensor_list_add(r->trace, name, t);
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
    orr_parallel_for(r->M, hint_patch_rows, &j);
    float *a = r->mlp[1], *b = r->mlp[0];
    const orr_tensor *w = br->hint_embed;
    orr_status st = orr_cpu_linear(a, w->shape[0], b, w->shape[1], w->data, w->dtype, w->stride[0], NULL, r->M,
                                   w->shape[1], w->shape[0]);
    if (!st) st = trace_btwhd(r, "x_embedder2", a);
    for (int k = 0; !st && k < TRANSFER_HINT_LAYERS; k++) {
        w = br->hint_w[k];
        int64_t out = w->shape[0], inn = w->shape[1];
        bool last = k == TRANSFER_HINT_LAYERS - 1;
        float *dst = last ? r->hint : b;
        st = orr_cpu_linear(dst, out, a, inn, w->data, w->dtype, w->stride[0], br->hint_b[k]->data, r->M, inn, out);
        if (!st && !last) orr_cpu_unary(dst, dst, r->M * out, ORR_SILU);
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
    if (k == 0)
        for (int64_t i = 0; i < MD; i++) x[i] += r->hint[i];
    const orr_tensor *w = br->zero_w[k];
    orr_status st = orr_cpu_linear(r->zero, D, x, D, w->data, w->dtype, w->stride[0], br->zero_b[k]->data, r->M, D, D);
    if (!st) st = named_trace(r, "zero_blocks", k, r->zero);
    if (st) return st;
    /* zero_block(x) * w: a scalar, or the map's value at the token */
    if (r->weights) {
        const float *wm = r->weights + (int64_t)r->branch * r->M;
        for (int64_t m = 0; m < r->M; m++)
            for (int64_t d = 0; d < D; d++) r->zero[m * D + d] *= wm[m];
    } else {
        float s = r->scalars[r->branch];
        for (int64_t i = 0; i < MD; i++) r->zero[i] *= s;
    }
    if ((st = named_trace(r, "residual", k, r->zero))) return st;
    float *acc = r->x_ctrl + k * MD;
    for (int64_t i = 0; i < MD; i++) acc[i] += r->zero[i];
    return ORR_OK;
}

static orr_status after_base_block(void *user, int k, float *x, int64_t B, int64_t N, int64_t D) {
    (void)B, (void)N;
    ctrl_run *r = user;
    if (k >= r->out_blocks) return ORR_OK;
    const float *acc = r->x_ctrl + k * r->M * D;
    for (int64_t i = 0; i < r->M * D; i++) x[i] += acc[i];
    return ORR_OK;
}

/* ---- validation ------------------------------------------------------------------ */

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
    orr_status st = orr_check_cpu("transfer_forward", "latent_hint", lh);
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
    if ((st = orr_check_cpu("transfer_forward", "control_weight", w))) return st;
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
    if (tr->base->device != ORR_CPU)
        return orr_error(ORR_ERR_UNSUPPORTED, "transfer_forward: the base DiT is on %s; Transfer1's control branches "
                                              "run on the cpu only (move it back with orr_dit_to_device)",
                         orr_device_name(tr->base->device));
    ctrl_run r = {.tr = tr, .trace = trace};
    orr_status st = check_inputs(tr, in);
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
    if (tr->n_branches) st = orr_input_f32(in->latent_hint, &tmp_hint, &hint);
    if (!st && in->control_weight) st = orr_input_f32(in->control_weight, &tmp_w, &weights);
    if (!st && in->net.padding_mask && c->concat_padding_mask)
        st = orr_input_f32(in->net.padding_mask, &tmp_pm, &pmask);
    for (int i = 0; i < tr->n_branches; i++) r.scalars[i] = 1.0f;
    if (!st && weights && in->control_weight->ndim == 1) {
        for (int i = 0; i < tr->n_branches; i++) r.scalars[i] = weights[i];
        weights = NULL;
    }
    r.weights = weights;

    int64_t MD = r.M * r.D, wide = r.D > 256 ? r.D : 256;
    int64_t feats = 0;
    for (int i = 0; i < tr->n_branches; i++)
        if (tr->branches[i].hint_embed->shape[1] > feats) feats = tr->branches[i].hint_embed->shape[1];
    if (wide < feats) wide = feats;
    size_t bytes = (size_t)((int64_t)r.out_blocks * MD + 2 * MD + 2 * r.M * wide) * sizeof(float);
    float *mem = NULL;
    if (!st && tr->n_branches && !(st = orr_mem_alloc(ORR_CPU, bytes, (void **)&mem))) {
        r.x_ctrl = mem;
        r.hint = r.x_ctrl + r.out_blocks * MD;
        r.zero = r.hint + MD;
        r.mlp[0] = r.zero + MD;
        r.mlp[1] = r.mlp[0] + r.M * wide;
        memset(r.x_ctrl, 0, (size_t)(r.out_blocks * MD) * sizeof(float));
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
    if (mem) orr_mem_free(ORR_CPU, mem, bytes);
    orr_tensor_free(tmp_hint);
    orr_tensor_free(tmp_w);
    orr_tensor_free(tmp_pm);
    return st;
}
