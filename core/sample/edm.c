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
 * sigma (diffusers' schedulers and EDMScaling). The denoiser works where
 * the DiT is: with the DiT on cuda, its state, the network's inputs and
 * output and the condition stay there, and the maps above run as the
 * kernels of cuda/sampler_step.h (the same float operations). */
#include <math.h>
#include <string.h>

#include "../models/dit.h"
#include "cuda/device.h"
#include "elementwise.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/elementwise.h"
#include "cuda/sampler_step.h"
#endif

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
    orr_tensor *ts[] = {d->net_x,     d->net_t,     d->net_out, d->text,  d->fps,
                        d->padding,   d->cond_mask, d->augmented, d->gt, d->indicator};
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
    /* built on the host, then moved to the DiT's device with the rest */
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

/* The constant inputs (text, fps, masks) and the condition, built on the
 * host, go over to the DiT's device once; the indicator stays (the device
 * kernels take the number of condition frames). */
static orr_status init_device(orr_denoiser *d, orr_device device) {
    orr_tensor **moved[] = {&d->text, &d->fps, &d->padding, &d->cond_mask, &d->gt, &d->augmented};
    orr_status st = ORR_OK;
    for (size_t i = 0; i < sizeof moved / sizeof moved[0] && !st; i++) {
        orr_tensor *there = NULL;
        if (!*moved[i] || (st = orr_tensor_to(&there, *moved[i], device))) continue;
        orr_tensor_free(*moved[i]);
        *moved[i] = there;
    }
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
    orr_device device = dit->device;
    if (!st) st = orr_tensor_empty_on(device, &d->net_x, ORR_F32, 5, net_shape);
    if (!st) st = orr_tensor_empty_on(device, &d->net_out, ORR_F32, 5, net_shape);
    if (!st) st = orr_tensor_empty_on(device, &d->net_t, ORR_F32, 1, (int64_t[]){2 * B});
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
    if (!st && device != ORR_CPU) st = init_device(d, device);
    if (st) orr_denoiser_free(d);
    return st;
}

/* One network call on the first `batch` items of the stacked inputs. */
static orr_status run_net(orr_denoiser *d, int64_t batch) {
    orr_tensor *v[7] = {NULL};
    orr_tensor *src[7] = {d->net_x, d->net_t, d->text, d->fps, d->padding, d->cond_mask, d->net_out};
    orr_status st = ORR_OK;
    for (int i = 0; i < 7 && !st; i++)
        if (src[i]) st = orr_tensor_narrow(&v[i], src[i], 0, 0, batch);
    if (!st) {
        orr_dit_inputs in = {v[0], v[1], v[2], v[3], v[4], v[5]};
        st = orr_dit_forward(d->dit, v[6], &in, NULL);
    }
    for (int i = 0; i < 7; i++) orr_tensor_free(v[i]);
    return st;
}

/* A state on `device` into a host trace tensor. */
static orr_status record(orr_device device, orr_tensor *dst, const float *src, int64_t n) {
    if (!dst) return ORR_OK;
    if (orr_tensor_numel(dst) != n || dst->dtype != ORR_F32 || !orr_tensor_is_contiguous(dst) ||
        dst->device != ORR_CPU)
        return orr_error(ORR_ERR_SHAPE, "denoise: a trace tensor is not a contiguous f32 state on the cpu");
    if (device != ORR_CPU) return orr_cuda_download(dst->data, src, (size_t)n * sizeof *src);
    memcpy(dst->data, src, (size_t)n * sizeof *src);
    return ORR_OK;
}

static orr_status record_all(orr_device device, const denoise_trace *trace, const float *x_in, const float *net_x,
                             const float *out_c, const float *out_u, const float *guided, int64_t n) {
    orr_status st;
    if ((st = record(device, trace->x_in, x_in, n)) || (st = record(device, trace->net_in, net_x, n)) ||
        (st = record(device, trace->out_cond, out_c, n)) || (st = record(device, trace->out_uncond, out_u, n)))
        return st;
    return record(device, trace->guided, guided, n);
}

#ifdef ORR_HAVE_CUDA
/* orr_denoise with the state on cuda: the same steps as the host code
 * below, as two kernels around the network call. */
static orr_status denoise_cuda(orr_denoiser *d, float *x0, float *x_eff, const float *x, edm_scalings e,
                               edm_scalings ev, bool conditioned, float c_noise, double guidance,
                               const denoise_trace *trace) {
    int64_t n = state_numel(d), B = d->shape[0];
    cudaStream_t stream = orr_cuda_stream();
    if (!stream) return orr_error_context(ORR_ERR_UNSUPPORTED, "denoise: ");
    orr_cuda_state_dims dims = {B, d->shape[1], d->shape[2], d->shape[3] * d->shape[4],
                                conditioned ? d->cond->condition_frames : 0};
    const float *aug = d->video ? d->augmented->data : NULL, *gt = d->video ? d->gt->data : NULL;
    float *net_x = d->net_x->data, *out_c = d->net_out->data, *out_u = guidance != 0.0 ? out_c + n : NULL;
    orr_status st = orr_cuda_edm_input(x_eff, net_x, d->net_t->data, x, aug, dims, ev.c_in, e.c_in, c_noise, d->bf16,
                                       stream);
    if (!st) st = run_net(d, out_u ? 2 * B : B);
    if (st) return st;
    orr_tensor *guided = NULL;
    if (trace && trace->guided && (st = orr_tensor_empty_on(ORR_CUDA, &guided, ORR_F32, 5, d->shape))) return st;
    st = orr_cuda_edm_output(x0, guided ? guided->data : NULL, out_c, out_u, x_eff, gt, dims, (float)guidance,
                             e.c_skip, e.c_out, ev.c_skip, ev.c_out, d->bf16, stream);
    if (!st && trace)
        st = record_all(ORR_CUDA, trace, x_eff, net_x, out_c, out_u ? out_u : out_c, guided ? guided->data : NULL,
                        n);
    orr_tensor_free(guided);
    return st;
}
#endif

/* How many of the n values at x (on `device`) are NaN or Inf. */
static orr_status count_nonfinite(orr_device device, const float *x, int64_t n, int64_t *bad) {
    *bad = 0;
    if (device == ORR_CPU) {
        *bad = orr_cpu_count_nonfinite(x, n);
        return ORR_OK;
    }
#ifdef ORR_HAVE_CUDA
    int64_t *count = NULL;
    orr_status st = orr_cuda_scratch_alloc(sizeof *count, (void **)&count);
    if (!st) st = orr_cuda_count_nonfinite(count, x, n, orr_cuda_stream());
    if (!st) st = orr_cuda_download(bad, count, sizeof *bad);
    if (count) orr_cuda_scratch_free(count, sizeof *count);
    return st;
#else
    return orr_error(ORR_ERR_UNSUPPORTED, "denoise: the state is on %s in a build without CUDA",
                     orr_device_name(device));
#endif
}

orr_status orr_denoise(orr_denoiser *d, float *x0, float *x_eff, const float *x, double sigma, double guidance,
                       const denoise_trace *trace) {
    int64_t n = state_numel(d), B = d->shape[0];
    int64_t frame = d->shape[3] * d->shape[4], T = d->shape[2], C = d->shape[1];
    if (!(sigma > 0) || !isfinite(sigma)) return orr_error(ORR_ERR_ARGUMENT, "denoise: sigma %g must be > 0", sigma);
    orr_device device = d->dit->device;
    int64_t bad;
    orr_status st = count_nonfinite(device, x, n, &bad);
    if (st) return st;
    if (bad)
        return orr_error(ORR_ERR_NONFINITE, "sampler: the state holds %lld NaN/Inf values at sigma %g", (long long)bad,
                         sigma);
    edm_scalings e = orr_edm_scalings(sigma, d->sigma_data);
    /* Video2World takes sigma in the model's dtype for the condition */
    double sigma_v = d->bf16 ? round_bf16((float)sigma) : (float)sigma;
    edm_scalings ev = orr_edm_scalings(sigma_v, d->sigma_data);
    bool conditioned = d->video && (float)d->cond->augment_sigma < (float)sigma_v;
    float c_noise = d->bf16 ? round_bf16(e.c_noise) : e.c_noise;
#ifdef ORR_HAVE_CUDA
    if (device == ORR_CUDA) return denoise_cuda(d, x0, x_eff, x, e, ev, conditioned, c_noise, guidance, trace);
#endif
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
    for (int64_t b = 0; b < 2 * B; b++) net_t[b] = c_noise;
    /* with no guidance F = F_c, so the unconditional pass is skipped */
    st = run_net(d, guidance != 0.0 ? 2 * B : B);
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
    if (trace && (st = record_all(ORR_CPU, trace, x_in, net_x, out_c, guidance != 0.0 ? out_u : out_c, F, n)))
        return st;
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
