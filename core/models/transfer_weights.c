/* transfer_weights.c — the control weights of Transfer1 as the official
 * inference computes them (inference_utils.py load_spatial_temporal_weights
 * and resize_control_weight_map):
 *
 *  - every weight becomes a [T, H, W] map at the control video's pixel size:
 *    a scalar a constant map, a [H', W'] map repeated over T, a map of
 *    another size resized trilinearly (align_corners=False);
 *  - the maps are clamped at 0 and divided by max(sum over controls, 1)
 *    (rescaled only where they sum past 1); scalars only: the same on the
 *    vector of scalars, unclamped;
 *  - per chunk, the maps are resized to the token grid: pixel frame 0 to
 *    token frame 0, the other frames to the other token frames.
 *
 * The official code keeps the maps in bf16: the values are rounded to
 * bf16, sums and quotients are computed in float32 and rounded once. torch
 * 1.13's CPU trilinear kernels on bf16 take the scale and the per-axis
 * lambdas in bf16 and then differ: on a tensor that is contiguous as
 * channels-last (a single volume: one map, or one control of one video)
 * each of the 8 corners weighs bf16(bf16(l_t l_h) l_w), the products are
 * summed in float32 and rounded once; otherwise (the generic kernel) the
 * axes nest, w innermost, and every product and sum is rounded to bf16.
 * `bf16` false computes all of it in float32. */
#include <math.h>
#include <string.h>

#include "transfer.h"

static float round_bf16(float v) { return orr_bf16_bits_to_f32(orr_f32_to_bf16_bits(v)); }

/* The two source taps and their weights of each output index along one
 * axis, as torch's compute_source_index_and_lambda. */
typedef struct taps {
    int64_t i0, i1;
    float l0, l1;
} taps;

static void axis_taps(taps *tp, int64_t in, int64_t out, bool bf16) {
    if (in == out) {
        for (int64_t j = 0; j < out; j++) tp[j] = (taps){j, j, 1.0f, 0.0f};
        return;
    }
    float scale = (float)in / (float)out;
    if (bf16) scale = round_bf16(scale); /* area_pixel_compute_scale in the tensor's dtype */
    for (int64_t j = 0; j < out; j++) {
        float src = scale * ((float)j + 0.5f) - 0.5f;
        if (src < 0.0f) src = 0.0f;
        int64_t i0 = (int64_t)src;
        float l1 = src - (float)i0;
        if (bf16) l1 = round_bf16(l1);
        float l0 = 1.0f - l1;
        if (bf16) l0 = round_bf16(l0);
        tp[j] = (taps){i0, i0 + (i0 < in - 1), l0, l1};
    }
}

typedef struct trilinear_job {
    float *out;
    const float *in;
    int64_t T, H, W, t, h, w;
    const taps *td, *th, *tw;
    bool bf16, corners;
} trilinear_job;

/* The generic kernel's nesting: out = sum_p f(p) l_p along one axis, the
 * inner axes in f; every operation rounded to bf16 when asked. */
static float nest(const trilinear_job *j, const float *vol, int axis, const int64_t *idx, const float *lam) {
    float v[2];
    for (int p = 0; p < 2; p++) {
        if (axis == 2) {
            v[p] = vol[idx[4 + p]];
        } else {
            v[p] = nest(j, vol + idx[2 * axis + p] * (axis == 0 ? j->H * j->W : j->W), axis + 1, idx, lam);
        }
    }
    const float *l = lam + 2 * axis;
    if (!j->bf16) return v[0] * l[0] + v[1] * l[1];
    float a = round_bf16(v[0] * l[0]);
    return round_bf16(a + round_bf16(v[1] * l[1]));
}

/* One row (volume v, output frame a, output row b) per index. */
static void trilinear_rows(void *user, int64_t begin, int64_t end) {
    const trilinear_job *j = user;
    for (int64_t r = begin; r < end; r++) {
        int64_t b = r % j->h, a = r / j->h % j->t, v = r / j->h / j->t;
        const float *vol = j->in + v * j->T * j->H * j->W;
        float *dst = j->out + r * j->w;
        const taps *d = &j->td[a], *hh = &j->th[b];
        int64_t di[2] = {d->i0, d->i1}, hi[2] = {hh->i0, hh->i1};
        float dl[2] = {d->l0, d->l1}, hl[2] = {hh->l0, hh->l1};
        for (int64_t c = 0; c < j->w; c++) {
            const taps *ww = &j->tw[c];
            int64_t wi[2] = {ww->i0, ww->i1};
            float wl[2] = {ww->l0, ww->l1};
            if (!j->corners) {
                int64_t idx[6] = {di[0], di[1], hi[0], hi[1], wi[0], wi[1]};
                float lam[6] = {dl[0], dl[1], hl[0], hl[1], wl[0], wl[1]};
                dst[c] = nest(j, vol, 0, idx, lam);
                continue;
            }
            float acc = 0.0f;
            for (int p = 0; p < 2; p++)
                for (int q = 0; q < 2; q++) {
                    float dh = dl[p] * hl[q];
                    if (j->bf16) dh = round_bf16(dh);
                    for (int s = 0; s < 2; s++) {
                        float weight = dh * wl[s];
                        if (j->bf16) weight = round_bf16(weight);
                        acc += vol[(di[p] * j->H + hi[q]) * j->W + wi[s]] * weight;
                    }
                }
            dst[c] = j->bf16 ? round_bf16(acc) : acc;
        }
    }
}

void orr_transfer_trilinear(float *out, const float *in, int64_t n, int64_t T, int64_t H, int64_t W, int64_t t,
                            int64_t h, int64_t w, bool bf16, bool corners) {
    taps td[t], th[h], tw[w];
    axis_taps(td, T, t, bf16);
    axis_taps(th, H, h, bf16);
    axis_taps(tw, W, w, bf16);
    trilinear_job j = {out, in, T, H, W, t, h, w, td, th, tw, bf16, corners};
    orr_parallel_for(n * t * h, trilinear_rows, &j);
}

/* ---- load_spatial_temporal_weights ------------------------------------------ */

static orr_status check_weight(const orr_control_weight *w, int i) {
    char a[200];
    if (!w->map) {
        if (!isfinite(w->value) || w->value < 0)
            return orr_error(ORR_ERR_ARGUMENT, "control_weights_normalize: weight %d is %g; it must be >= 0", i,
                             w->value);
        return ORR_OK;
    }
    orr_status st = orr_check_cpu("control_weights_normalize", "map", w->map);
    if (st) return st;
    const orr_tensor *m = w->map;
    if ((m->ndim != 2 && m->ndim != 3) || orr_tensor_numel(m) < 1)
        return orr_error(ORR_ERR_SHAPE, "control_weights_normalize: map %d is %s, expected [T,H,W] or [H,W]", i,
                         orr_tensor_describe(m, a, sizeof a));
    return ORR_OK;
}

/* Weight i as a [T, H, W] map, bf16-rounded when asked, clamped at 0. */
static orr_status weight_map(float *dst, const orr_control_weight *w, int i, int64_t T, int64_t H, int64_t W,
                             bool bf16) {
    int64_t n = T * H * W;
    if (!w->map) {
        float v = bf16 ? round_bf16((float)w->value) : (float)w->value;
        for (int64_t k = 0; k < n; k++) dst[k] = v;
        return ORR_OK;
    }
    const orr_tensor *m = w->map;
    orr_tensor *tmp = NULL;
    const float *src;
    orr_status st = orr_input_f32(m, &tmp, &src);
    if (st) return st;
    int64_t mt = m->ndim == 3 ? m->shape[0] : T, mh = m->shape[m->ndim - 2], mw = m->shape[m->ndim - 1];
    int64_t frame = mh * mw, count = mt * frame;
    float *vol = NULL;
    if (!(mt == T && mh == H && mw == W) && (st = orr_mem_alloc(ORR_CPU, (size_t)count * sizeof *vol, (void **)&vol))) {
        orr_tensor_free(tmp);
        return st;
    }
    float *v = vol ? vol : dst;
    /* a [H', W'] map holds for every frame (unsqueeze(0).repeat(T, 1, 1)) */
    for (int64_t k = 0; k < count; k++) {
        float x = src[m->ndim == 3 ? k : k % frame];
        v[k] = bf16 ? round_bf16(x) : x;
    }
    orr_tensor_free(tmp);
    int64_t bad = 0;
    for (int64_t k = 0; k < count; k++) bad += !isfinite(v[k]);
    if (!bad && vol) orr_transfer_trilinear(dst, vol, 1, mt, mh, mw, T, H, W, bf16, true);
    if (vol) orr_mem_free(ORR_CPU, vol, (size_t)count * sizeof *vol);
    if (bad)
        return orr_error(ORR_ERR_NONFINITE, "control_weights_normalize: map %d holds %lld NaN/Inf values", i,
                         (long long)bad);
    for (int64_t k = 0; k < n; k++)
        if (dst[k] < 0.0f) dst[k] = 0.0f;
    return ORR_OK;
}

orr_status orr_control_weights_normalize(orr_tensor *out, int n, const orr_control_weight *weights, bool bf16) {
    char a[200];
    if (!out || !weights) return orr_error(ORR_ERR_ARGUMENT, "control_weights_normalize: NULL argument");
    if (n < 1) return orr_error(ORR_ERR_ARGUMENT, "control_weights_normalize: n is %d", n);
    orr_status st = orr_check_cpu("control_weights_normalize", "out", out);
    bool maps = false;
    for (int i = 0; i < n && !st; i++) {
        st = check_weight(&weights[i], i);
        maps |= weights[i].map != NULL;
    }
    if (st) return st;
    if (!maps && (out->ndim != 1 || out->shape[0] != n))
        return orr_error(ORR_ERR_SHAPE, "control_weights_normalize: out is %s; scalar weights give [%d]",
                         orr_tensor_describe(out, a, sizeof a), n);
    if (maps && (out->ndim != 4 || out->shape[0] != n || orr_tensor_numel(out) < 1))
        return orr_error(ORR_ERR_SHAPE, "control_weights_normalize: out is %s, expected [%d,T,H,W] (a map per weight)",
                         orr_tensor_describe(out, a, sizeof a), n);
    int64_t T = maps ? out->shape[1] : 1, H = maps ? out->shape[2] : 1, W = maps ? out->shape[3] : 1;
    int64_t per = T * H * W;
    orr_tensor *tmp = NULL;
    float *w;
    if ((st = orr_output_f32_begin(out, &tmp, &w))) return st;
    for (int i = 0; i < n && !st; i++) st = weight_map(w + i * per, &weights[i], i, T, H, W, bf16);
    if (st) {
        orr_tensor_free(tmp);
        return st;
    }
    /* w_i / max(sum_j w_j, 1), the sum accumulated in float32 */
    for (int64_t k = 0; k < per; k++) {
        float sum = 0.0f;
        for (int i = 0; i < n; i++) sum += w[i * per + k];
        if (bf16) sum = round_bf16(sum);
        if (sum < 1.0f) sum = 1.0f;
        for (int i = 0; i < n; i++) {
            float q = w[i * per + k] / sum;
            w[i * per + k] = bf16 ? round_bf16(q) : q;
        }
    }
    return orr_output_f32_end(out, tmp);
}

/* ---- resize_control_weight_map ------------------------------------------------- */

orr_status orr_control_weights_to_tokens(orr_tensor *out, const orr_tensor *maps, bool bf16) {
    char a[200], b[200];
    if (!out || !maps) return orr_error(ORR_ERR_ARGUMENT, "control_weights_to_tokens: NULL argument");
    orr_status st = orr_check_cpu("control_weights_to_tokens", "out", out);
    if (!st) st = orr_check_cpu("control_weights_to_tokens", "maps", maps);
    if (st) return st;
    int nd = maps->ndim;
    bool lead_ok = nd >= 3 && out->ndim == nd && orr_tensor_numel(maps) > 0 && orr_tensor_numel(out) > 0;
    for (int d = 0; lead_ok && d < nd - 3; d++) lead_ok = maps->shape[d] == out->shape[d];
    if (!lead_ok)
        return orr_error(ORR_ERR_SHAPE,
                         "control_weights_to_tokens: maps %s and out %s must be [..., T, H, W] and [..., t, h, w] with "
                         "the same leading dims",
                         orr_tensor_describe(maps, a, sizeof a), orr_tensor_describe(out, b, sizeof b));
    int64_t T = maps->shape[nd - 3], H = maps->shape[nd - 2], W = maps->shape[nd - 1];
    int64_t t = out->shape[nd - 3], h = out->shape[nd - 2], w = out->shape[nd - 1];
    /* the official assert: the map has the latent's frames or their pixels */
    if (T != t && T != 8 * (t - 1) + 1)
        return orr_error(ORR_ERR_SHAPE,
                         "control_weights_to_tokens: maps %s have %lld frames; %lld token frames take %lld or %lld",
                         orr_tensor_describe(maps, a, sizeof a), (long long)T, (long long)t, (long long)t,
                         (long long)(8 * (t - 1) + 1));
    int64_t n = orr_tensor_numel(maps) / (T * H * W);
    orr_tensor *itmp = NULL, *otmp = NULL;
    const float *in;
    float *o;
    if ((st = orr_input_f32(maps, &itmp, &in))) return st;
    float *rounded = NULL;
    size_t bytes = (size_t)orr_tensor_numel(maps) * sizeof(float);
    if (bf16 && !(st = orr_mem_alloc(ORR_CPU, bytes, (void **)&rounded))) {
        for (int64_t k = 0; k < orr_tensor_numel(maps); k++) rounded[k] = round_bf16(in[k]);
        in = rounded;
    }
    if (!st) st = orr_output_f32_begin(out, &otmp, &o);
    if (!st) {
        for (int64_t v = 0; v < n; v++) {
            const float *src = in + v * T * H * W;
            float *dst = o + v * t * h * w;
            if (T == t && H == h && W == w) {
                memcpy(dst, src, (size_t)(T * H * W) * sizeof *dst);
                continue;
            }
            /* frame 0 alone, then the rest; one volume in all is what
             * torch sees as channels-last */
            orr_transfer_trilinear(dst, src, 1, 1, H, W, 1, h, w, bf16, n == 1);
            if (t > 1) orr_transfer_trilinear(dst + h * w, src + H * W, 1, T - 1, H, W, t - 1, h, w, bf16, n == 1);
        }
        st = orr_output_f32_end(out, otmp);
    }
    if (rounded) orr_mem_free(ORR_CPU, rounded, bytes);
    orr_tensor_free(itmp);
    return st;
}
