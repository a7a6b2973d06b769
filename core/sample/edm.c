/* edm.c — the EDM-preconditioned, guided denoiser D(x; sigma) every sampler
 * calls, with the Video2World conditioning of model_v2w.py:
 *
 *   x_in  = condition frames <- (gt + a*n) * c_in(a) / c_in(sigma), a = augment sigma,
 *           while a < sigma (the last steps run without the condition)
 *   F     = F_c + g (F_c - F_u),  F_* = net(c_in(sigma) x_in, ln(sigma)/4, text / negative text)
 *   F     = condition frames <- gt / c_out(sigma) - c_skip(sigma) x_in
 *           (_reverse_precondition_output as coded: not the exact inverse)
 *   x0    = c_skip(sigma) x_in + c_out(sigma) F
 *
 * The conditional and unconditional passes run as one network batch of 2B.
 * Scalars are float32 as the official code computes them from a float32
 * sigma (diffusers' schedulers and EDMScaling). */
#include <math.h>
#include <string.h>

#include "../models/dit.h"
#include "cuda/device.h"
#include "elementwise.h"

edm_scalings orr_edm_scalings(double sigma, double sigma_data) {
    float s = (float)sigma, sd = (float)sigma_data;
    float var = s * s + sd * sd;
    edm_scalings e;
    e.c_skip = sd * sd / var;
    e.c_out = s * sd / sqrtf(var);
    e.c_in = 1.0f / sqrtf(var);
    e.c_noise = 0.25f * logf(s);
    return e;
}

static float round_bf16(float v) { return orr_bf16_to_f32(orr_f32_to_bf16(v)); }

static void round_bf16_all(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = round_bf16(x[i]);
}

static int64_t state_numel(const orr_denoiser *d) {
    return d->shape[0] * d->shape[1] * d->shape[2] * d->shape[3] * d->shape[4];
}

void orr_denoiser_free(orr_denoiser *d) {
    orr_tensor *ts[] = {d->net_x,     d->net_t,     d->net_out, d->text,      d->fps,      d->padding,
                        d->cond_mask, d->augmented, d->gt,      d->indicator, d->dev_x,    d->dev_t,
                        d->dev_out,   d->dev_text,  d->dev_fps, d->dev_padding, d->dev_cond_mask};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) orr_tensor_free(ts[i]);
    memset(d, 0, sizeof *d);
}

/* dst[0:B] = a, dst[B:2B] = b (or zeros when b is NULL), along dim 0. */
static orr_status stack_pair(orr_tensor *dst, const orr_tensor *a, const orr_tensor *b) {
    int64_t half = dst->shape[0] / 2;
    orr_tensor *lo = NULL, *hi = NULL;
    orr_status st = orr_tensor_narrow(&lo, dst, 0, 0, half);
    if (!st) st = orr_tensor_narrow(&hi, dst, 0, half, half);
    if (!st) st = orr_copy(lo, a);
    if (!st) st = b ? orr_copy(hi, b) : orr_fill(hi, 0.0);
    orr_tensor_free(lo);
    orr_tensor_free(hi);
    return st;
}

static orr_status check_like(const char *arg, const orr_tensor *t, int ndim, const int64_t *shape) {
    char a[200], b[200];
    if (orr_check_backend("sampler", arg, t)) return orr_error(ORR_ERR_ARGUMENT, "%s", orr_last_error());
    if (t->ndim != ndim || memcmp(t->shape, shape, (size_t)ndim * sizeof *shape))
        return orr_error(ORR_ERR_SHAPE, "sampler: %s is %s, expected %s", arg, orr_tensor_describe(t, a, sizeof a),
                         orr_shape_str(ndim, shape, b, sizeof b));
    return ORR_OK;
}

static orr_status init_text(orr_denoiser *d, const orr_diffusion_cond *c) {
    const dit_config *cfg = &d->dit->cfg;
    char a[200];
    int64_t B = d->shape[0];
    const orr_tensor *t = c->text;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "sampler: cond->text is NULL");
    if (orr_check_backend("sampler", "text", t)) return orr_error(ORR_ERR_ARGUMENT, "%s", orr_last_error());
    if (t->ndim != 3 || t->shape[0] != B || t->shape[1] < 1 || t->shape[2] != cfg->crossattn_channels)
        return orr_error(ORR_ERR_SHAPE, "sampler: text embedding is %s, expected [%lld,L,%d]",
                         orr_tensor_describe(t, a, sizeof a), (long long)B, cfg->crossattn_channels);
    orr_status st;
    if (c->neg_text && (st = check_like("neg_text", c->neg_text, 3, t->shape))) return st;
    if ((st = orr_tensor_empty(&d->text, ORR_F32, 3, (int64_t[]){2 * B, t->shape[1], t->shape[2]}))) return st;
    if ((st = stack_pair(d->text, t, c->neg_text))) return st;
    /* the T5 embedding is zero past each prompt's length (encode_prompts) */
    int64_t L = t->shape[1], width = t->shape[2];
    const int *lengths[2] = {c->text_lengths, c->neg_text_lengths};
    for (int half = 0; half < 2; half++)
        for (int64_t b = 0; lengths[half] && b < B; b++) {
            int len = lengths[half][b];
            if (len < 0 || len > L)
                return orr_error(ORR_ERR_ARGUMENT, "sampler: %s length %d of item %lld is outside [0, %lld]",
                                 half ? "neg_text" : "text", len, (long long)b, (long long)L);
            float *row = (float *)d->text->data + ((half * B + b) * L + len) * width;
            memset(row, 0, (size_t)((L - len) * width) * sizeof *row);
        }
    return ORR_OK;
}

static orr_status init_video(orr_denoiser *d, const orr_diffusion_cond *c, orr_rng *rng) {
    int64_t B = d->shape[0], T = d->shape[2], H = d->shape[3], W = d->shape[4];
    if (!c->condition_latent)
        return orr_error(ORR_ERR_ARGUMENT, "sampler: VideoExtendGeneralDIT needs cond->condition_latent");
    if (c->condition_frames < 0 || c->condition_frames > T)
        return orr_error(ORR_ERR_ARGUMENT, "sampler: condition_frames %d is outside [0, %lld]", c->condition_frames,
                         (long long)T);
    if (!(c->augment_sigma >= 0) || !isfinite(c->augment_sigma))
        return orr_error(ORR_ERR_ARGUMENT, "sampler: augment_sigma %g must be >= 0", c->augment_sigma);
    orr_status st = check_like("condition_latent", c->condition_latent, 5, d->shape);
    if (!st && c->augment_noise) st = check_like("augment_noise", c->augment_noise, 5, d->shape);
    /* on the host wherever the condition is: the state's updates read it there */
    if (!st) st = orr_tensor_empty(&d->gt, ORR_F32, 5, d->shape);
    if (!st) st = orr_copy(d->gt, c->condition_latent);
    if (!st) st = orr_tensor_empty(&d->augmented, ORR_F32, 5, d->shape);
    if (st) return st;
    if (c->augment_noise)
        st = orr_copy(d->augmented, c->augment_noise);
    else
        st = orr_rng_normal(rng, d->augmented, 0.0f, 1.0f);
    if (st) return st;
    int64_t n = state_numel(d), bad = orr_cpu_count_nonfinite(d->gt->data, n);
    if (bad) return orr_error(ORR_ERR_NONFINITE, "sampler: condition_latent holds %lld NaN/Inf values", (long long)bad);
    /* (gt + a n) * c_in(a), with c_in(a) from the double a as the official
     * precondition_inputs computes it for a Python float */
    float a = c->augment_sigma, c_in = (float)(1.0 / sqrt((double)a * a + d->sigma_data * d->sigma_data));
    float *aug = d->augmented->data;
    const float *gt = d->gt->data;
    for (int64_t i = 0; i < n; i++) aug[i] = (gt[i] + aug[i] * a) * c_in;

    if ((st = orr_tensor_zeros(&d->indicator, ORR_F32, 1, (int64_t[]){T}))) return st;
    for (int t = 0; t < c->condition_frames; t++) ((float *)d->indicator->data)[t] = 1.0f;
    if ((st = orr_tensor_zeros(&d->cond_mask, ORR_F32, 5, (int64_t[]){2 * B, 1, T, H, W}))) return st;
    float *mask = d->cond_mask->data;
    int64_t frame = H * W;
    for (int64_t b = 0; b < 2 * B; b++) {
        /* the uncondition sees the frames too unless input_frames_guidance */
        if (b >= B && c->input_frames_guidance) continue;
        for (int64_t t = 0; t < c->condition_frames; t++)
            for (int64_t i = 0; i < frame; i++) mask[(b * T + t) * frame + i] = 1.0f;
    }
    return ORR_OK;
}

/* The network's inputs and output on the DiT's device; the constant ones
 * (text, fps, masks) go over once. */
static orr_status init_device(orr_denoiser *d, orr_device device) {
    orr_tensor *host[] = {d->text, d->fps, d->padding, d->cond_mask};
    orr_tensor **dev[] = {&d->dev_text, &d->dev_fps, &d->dev_padding, &d->dev_cond_mask};
    orr_status st = ORR_OK;
    for (int i = 0; i < 4 && !st; i++)
        if (host[i]) st = orr_tensor_to(dev[i], host[i], device);
    if (!st) st = orr_tensor_empty_on(device, &d->dev_x, ORR_F32, 5, d->net_x->shape);
    if (!st) st = orr_tensor_empty_on(device, &d->dev_out, ORR_F32, 5, d->net_out->shape);
    if (!st) st = orr_tensor_empty_on(device, &d->dev_t, ORR_F32, 1, d->net_t->shape);
    return st ? orr_error_context(st, "sampler: the network's inputs on %s: ", orr_device_name(device)) : ORR_OK;
}

orr_status orr_denoiser_init(orr_denoiser *d, orr_dit *dit, const orr_diffusion_cond *cond, const int64_t shape[5],
                             double sigma_data, bool bf16, orr_rng *rng) {
    memset(d, 0, sizeof *d);
    d->dit = dit;
    d->cond = cond;
    d->sigma_data = sigma_data;
    d->bf16 = bf16;
    memcpy(d->shape, shape, sizeof d->shape);
    const dit_config *cfg = &dit->cfg;
    d->video = cfg->video_conditioned;
    int64_t B = shape[0];
    orr_status st = ORR_OK;
    if (!cond) st = orr_error(ORR_ERR_ARGUMENT, "sampler: cond is NULL");
    if (!st && !(sigma_data > 0)) st = orr_error(ORR_ERR_ARGUMENT, "sampler: sigma_data %g must be > 0", sigma_data);
    if (!st && shape[1] != cfg->in_channels - cfg->video_conditioned)
        st = orr_error(ORR_ERR_SHAPE, "sampler: the latent has %lld channels but the network takes %d",
                       (long long)shape[1], cfg->in_channels - cfg->video_conditioned);
    if (!st && cfg->out_channels != shape[1])
        st = orr_error(ORR_ERR_SHAPE, "sampler: the network outputs %d channels for a %lld-channel latent",
                       cfg->out_channels, (long long)shape[1]);
    if (!st && !d->video && cond->condition_latent)
        st = orr_error(ORR_ERR_ARGUMENT, "sampler: condition_latent is given but GeneralDIT is not video-conditioned");
    if (!st && !(cond->fps > 0)) st = orr_error(ORR_ERR_ARGUMENT, "sampler: fps %g must be > 0", cond->fps);
    if (!st) st = init_text(d, cond);
    int64_t net_shape[5] = {2 * B, shape[1], shape[2], shape[3], shape[4]};
    if (!st) st = orr_tensor_empty(&d->net_x, ORR_F32, 5, net_shape);
    if (!st) st = orr_tensor_empty(&d->net_out, ORR_F32, 5, net_shape);
    if (!st) st = orr_tensor_empty(&d->net_t, ORR_F32, 1, (int64_t[]){2 * B});
    if (!st) st = orr_tensor_empty(&d->fps, ORR_F32, 1, (int64_t[]){2 * B});
    if (!st) st = orr_fill(d->fps, cond->fps);
    const orr_tensor *pm = cond->padding_mask;
    if (!st && pm) {
        if (pm->ndim != 4 || pm->shape[0] != B || pm->shape[1] != 1)
            st = orr_error(ORR_ERR_SHAPE, "sampler: padding_mask must be [%lld,1,H,W]", (long long)B);
        if (!st) st = orr_tensor_empty(&d->padding, ORR_F32, 4, (int64_t[]){2 * B, 1, pm->shape[2], pm->shape[3]});
        if (!st) st = stack_pair(d->padding, pm, pm);
    }
    if (!st && d->video) st = init_video(d, cond, rng);
    if (!st && dit->device != ORR_CPU) st = init_device(d, dit->device);
    if (st) orr_denoiser_free(d);
    return st;
}

/* dst[:batch] = src[:batch] (across devices) */
static orr_status copy_head(orr_tensor *dst, orr_tensor *src, int64_t batch) {
    orr_tensor *a = NULL, *b = NULL;
    orr_status st = orr_tensor_narrow(&a, dst, 0, 0, batch);
    if (!st) st = orr_tensor_narrow(&b, src, 0, 0, batch);
    if (!st) st = orr_copy(a, b);
    orr_tensor_free(a);
    orr_tensor_free(b);
    return st;
}

/* One network call on the first `batch` items of the stacked inputs. */
static orr_status run_net(orr_denoiser *d, int64_t batch) {
    bool device = d->dev_x != NULL;
    orr_tensor *v[6] = {NULL};
    orr_tensor *src[6] = {d->net_x, d->net_t, d->text, d->fps, d->padding, d->cond_mask};
    orr_tensor *on_device[6] = {d->dev_x, d->dev_t, d->dev_text, d->dev_fps, d->dev_padding, d->dev_cond_mask};
    orr_tensor *net_out = device ? d->dev_out : d->net_out;
    orr_status st = ORR_OK;
    if (device) {
        st = copy_head(d->dev_x, d->net_x, batch);
        if (!st) st = copy_head(d->dev_t, d->net_t, batch);
    }
    for (int i = 0; i < 6 && !st; i++)
        if (src[i]) st = orr_tensor_narrow(&v[i], device ? on_device[i] : src[i], 0, 0, batch);
    orr_tensor *out = NULL;
    if (!st) st = orr_tensor_narrow(&out, net_out, 0, 0, batch);
    if (!st) {
        orr_dit_inputs in = {v[0], v[1], v[2], v[3], v[4], v[5]};
        st = orr_dit_forward(d->dit, out, &in, NULL);
    }
    if (!st && device) st = copy_head(d->net_out, d->dev_out, batch);
    orr_tensor_free(out);
    for (int i = 0; i < 6; i++) orr_tensor_free(v[i]);
    return st;
}

static orr_status record(orr_tensor *dst, const float *src, int64_t n) {
    if (!dst) return ORR_OK;
    if (orr_tensor_numel(dst) != n || dst->dtype != ORR_F32 || !orr_tensor_is_contiguous(dst))
        return orr_error(ORR_ERR_SHAPE, "denoise: a trace tensor is not a contiguous f32 state");
    memcpy(dst->data, src, (size_t)n * sizeof *src);
    return ORR_OK;
}

orr_status orr_denoise(orr_denoiser *d, float *x0, float *x_eff, const float *x, double sigma, double guidance,
                       const denoise_trace *trace) {
    int64_t n = state_numel(d), B = d->shape[0];
    int64_t frame = d->shape[3] * d->shape[4], T = d->shape[2], C = d->shape[1];
    if (!(sigma > 0) || !isfinite(sigma)) return orr_error(ORR_ERR_ARGUMENT, "denoise: sigma %g must be > 0", sigma);
    int64_t bad = orr_cpu_count_nonfinite(x, n);
    if (bad)
        return orr_error(ORR_ERR_NONFINITE, "sampler: the state holds %lld NaN/Inf values at sigma %g", (long long)bad,
                         sigma);
    edm_scalings e = orr_edm_scalings(sigma, d->sigma_data);
    /* Video2World takes sigma in the model's dtype for the condition */
    double sigma_v = d->bf16 ? round_bf16((float)sigma) : (float)sigma;
    edm_scalings ev = orr_edm_scalings(sigma_v, d->sigma_data);
    bool conditioned = d->video && (float)d->cond->augment_sigma < (float)sigma_v;
    const float *ind = d->video ? d->indicator->data : NULL;

    float *x_in = x_eff;
    if (x_in != x) memcpy(x_in, x, (size_t)n * sizeof *x);
    if (d->bf16) round_bf16_all(x_in, n);
    if (conditioned) {
        const float *aug = d->augmented->data;
        for (int64_t bc = 0; bc < B * C; bc++)
            for (int64_t t = 0; t < T; t++)
                if (ind[t] != 0.0f)
                    for (int64_t i = (bc * T + t) * frame, e2 = i + frame; i < e2; i++) x_in[i] = aug[i] / ev.c_in;
        if (d->bf16) round_bf16_all(x_in, n);
    }

    float *net_x = d->net_x->data, *net_t = d->net_t->data;
    for (int64_t i = 0; i < n; i++) net_x[i] = x_in[i] * e.c_in;
    if (d->bf16) round_bf16_all(net_x, n);
    memcpy(net_x + n, net_x, (size_t)n * sizeof *net_x);
    float c_noise = d->bf16 ? round_bf16(e.c_noise) : e.c_noise;
    for (int64_t b = 0; b < 2 * B; b++) net_t[b] = c_noise;
    /* with no guidance F = F_c, so the unconditional pass is skipped */
    orr_status st = run_net(d, guidance != 0.0 ? 2 * B : B);
    if (st) return st;
    float *out_c = d->net_out->data, *out_u = out_c + n;
    if (d->bf16) round_bf16_all(out_c, guidance != 0.0 ? 2 * n : n);

    float g = (float)guidance;
    float *F = x0; /* the guided output is built in x0's buffer */
    for (int64_t i = 0; i < n; i++) F[i] = guidance != 0.0 ? out_c[i] + g * (out_c[i] - out_u[i]) : out_c[i];
    if (d->bf16) round_bf16_all(F, n);
    if (conditioned) {
        const float *gt = d->gt->data;
        for (int64_t bc = 0; bc < B * C; bc++)
            for (int64_t t = 0; t < T; t++)
                if (ind[t] != 0.0f)
                    for (int64_t i = (bc * T + t) * frame, e2 = i + frame; i < e2; i++)
                        F[i] = gt[i] / ev.c_out - ev.c_skip * x_in[i];
    }
    if (trace) {
        if ((st = record(trace->x_in, x_in, n)) || (st = record(trace->net_in, net_x, n)) ||
            (st = record(trace->out_cond, out_c, n)) ||
            (st = record(trace->out_uncond, guidance != 0.0 ? out_u : out_c, n)) ||
            (st = record(trace->guided, F, n)))
            return st;
    }
    for (int64_t i = 0; i < n; i++) x0[i] = e.c_skip * x_in[i] + e.c_out * F[i];
    return ORR_OK;
}

void orr_euler_step(float *x_next, const float *x, const float *x0, int64_t n, float sigma, float sigma_next) {
    float dt = sigma_next - sigma;
    for (int64_t i = 0; i < n; i++) {
        float derivative = (x[i] - x0[i]) / sigma;
        x_next[i] = x[i] + derivative * dt;
    }
}
