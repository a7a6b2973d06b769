/* transfer_sample.c — the Transfer1 sampling loop, as the official
 * generate_world_from_control runs it (model_ctrl.py
 * VideoDiffusionModelWithCtrl.generate_samples_from_batch with
 * use_batch_processing, model_v2w.py denoise, res_sampler.py):
 *
 *   x0_fn(x, sigma):
 *     x_in  = condition frames <- (gt + a n) c_in(a) (1 / c_in(sigma)), while a < sigma
 *     x0_c  = c_skip x_in + c_out net(c_in x_in, ln(sigma)/4, text, hints, weights)
 *     x0_u  = the same with the negative prompt (same hints and weights)
 *     x0_*  = condition frames <- gt
 *     x0    = merge_patches_into_video(x0_c + g (x0_c - x0_u)), one tile
 *   RES "2ab" over the float64 state, then one clean call at sigma_min.
 *
 * The merge of a single tile is not the identity: its blending mask is
 * 0.01 on latent row 0 and column 0 (0.0001 at their corner) and 1
 * elsewhere, and x0 m / (m + 1e-6) scales those pixels by 0.9999 and
 * 0.990099 (the rest by 1 / (1 + 1e-6)). The conditioned and
 * unconditioned passes run as one network batch of 2B.
 *
 * Everything runs where the networks are: on cuda the state (float64 for
 * RES), the estimates and the condition stay there, the maps above run as
 * the kernels of cuda/sampler_step.h with the same float operations, and
 * the host reads back a NaN count per call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/device.h"
#include "elementwise.h"
#include "transfer.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/copy.h"
#include "cuda/cuda_internal.h"
#include "cuda/elementwise.h"
#include "cuda/sampler_step.h"
#endif

void orr_transfer_cond_init(orr_transfer_cond *c) {
    memset(c, 0, sizeof *c);
    orr_diffusion_cond_init(&c->base);
}

void orr_transfer_sampler_params_init(orr_sampler_params *p) {
    orr_sampler_params_init(p, ORR_SAMPLER_RES_2AB);
    p->guidance = 5.0; /* transfer.py's default */
    p->seed = 1;
}

void orr_transfer_denoiser_free(transfer_denoiser *d) {
    orr_tensor *ts[] = {d->net_x,   d->net_t, d->net_out, d->text, d->fps,    d->cond_mask,
                        d->padding, d->gt,    d->augment, d->hint, d->weights};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) orr_tensor_free(ts[i]);
    if (d->scratch) orr_mem_free(d->device, d->scratch, (size_t)(d->n + d->shape[3] * d->shape[4]) * sizeof(float));
    memset(d, 0, sizeof *d);
}

/* dst[lo] = a, dst[hi] = b (or a when b is NULL), halves along dim. */
static orr_status stack_pair(orr_tensor *dst, int dim, const orr_tensor *a, const orr_tensor *b) {
    int64_t half = dst->shape[dim] / 2;
    orr_tensor *lo = NULL, *hi = NULL;
    orr_status st = orr_tensor_narrow(&lo, dst, dim, 0, half);
    if (!st) st = orr_tensor_narrow(&hi, dst, dim, half, half);
    if (!st) st = orr_copy(lo, a);
    if (!st) st = orr_copy(hi, b ? b : a);
    orr_tensor_free(lo);
    orr_tensor_free(hi);
    return st;
}

/* A [2B, ...] (or [.., 2B, ..] at dim) copy of t with both halves t. */
static orr_status doubled(orr_tensor **out, const orr_tensor *t, int dim) {
    int64_t shape[ORR_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[dim] *= 2;
    orr_status st = orr_tensor_empty(out, ORR_F32, t->ndim, shape);
    if (!st) st = stack_pair(*out, dim, t, NULL);
    return st;
}

static orr_status check_state_like(const char *arg, const orr_tensor *t, const int64_t *shape) {
    char a[200], b[200];
    orr_status st = orr_check_backend("transfer_sample", arg, t);
    if (st) return st;
    if (t->ndim != 5 || memcmp(t->shape, shape, 5 * sizeof *shape))
        return orr_error(ORR_ERR_SHAPE, "transfer_sample: %s is %s, expected %s", arg,
                         orr_tensor_describe(t, a, sizeof a), orr_shape_str(5, shape, b, sizeof b));
    return ORR_OK;
}

/* The prompt and the negative prompt, zeroed past their lengths. */
static orr_status init_text(transfer_denoiser *d, const orr_diffusion_cond *c) {
    char a[200];
    int64_t B = d->shape[0];
    const orr_tensor *t = c->text;
    int width = d->tr->base->cfg.crossattn_channels;
    if (!t) return orr_error(ORR_ERR_ARGUMENT, "transfer_sample: cond->base.text is NULL");
    orr_status st = orr_check_backend("transfer_sample", "text", t);
    if (st) return st;
    if (t->ndim != 3 || t->shape[0] != B || t->shape[1] < 1 || t->shape[2] != width)
        return orr_error(ORR_ERR_SHAPE, "transfer_sample: text is %s, expected [%lld,L,%d]",
                         orr_tensor_describe(t, a, sizeof a), (long long)B, width);
    if (c->neg_text && (c->neg_text->ndim != 3 || !orr_tensor_same_shape(c->neg_text, t)))
        return orr_error(ORR_ERR_SHAPE, "transfer_sample: neg_text is %s, expected text's shape",
                         orr_tensor_describe(c->neg_text, a, sizeof a));
    int64_t L = t->shape[1];
    if ((st = orr_tensor_empty(&d->text, ORR_F32, 3, (int64_t[]){2 * B, L, width}))) return st;
    if (c->neg_text)
        st = stack_pair(d->text, 0, t, c->neg_text);
    else {
        /* no negative prompt: zeros, as an empty embedding */
        orr_tensor *hi = NULL;
        st = stack_pair(d->text, 0, t, NULL);
        if (!st) st = orr_tensor_narrow(&hi, d->text, 0, B, B);
        if (!st) st = orr_fill(hi, 0.0);
        orr_tensor_free(hi);
    }
    const int *lengths[2] = {c->text_lengths, c->neg_text_lengths};
    for (int half = 0; half < 2 && !st; half++)
        for (int64_t b = 0; lengths[half] && b < B; b++) {
            int len = lengths[half][b];
            if (len < 0 || len > L)
                return orr_error(ORR_ERR_ARGUMENT, "transfer_sample: %s length %d of item %lld is outside [0, %lld]",
                                 half ? "neg_text" : "text", len, (long long)b, (long long)L);
            float *row = (float *)d->text->data + ((half * B + b) * L + len) * width;
            memset(row, 0, (size_t)((L - len) * width) * sizeof *row);
        }
    return st;
}

/* The condition latent, its augmented form and the masks. */
static orr_status init_condition(transfer_denoiser *d, const orr_diffusion_cond *c, orr_rng *rng) {
    int64_t B = d->shape[0], T = d->shape[2], H = d->shape[3], W = d->shape[4];
    orr_status st = orr_tensor_zeros(&d->gt, ORR_F32, 5, d->shape);
    if (!st) st = orr_tensor_empty(&d->augment, ORR_F32, 5, d->shape);
    if (st) return st;
    d->condition_frames = 0;
    if (c->condition_latent) {
        if (c->condition_frames < 0 || c->condition_frames > T)
            return orr_error(ORR_ERR_ARGUMENT, "transfer_sample: condition_frames %d is outside [0, %lld]",
                             c->condition_frames, (long long)T);
        if (!(c->augment_sigma >= 0) || !isfinite(c->augment_sigma))
            return orr_error(ORR_ERR_ARGUMENT, "transfer_sample: augment_sigma %g must be >= 0", c->augment_sigma);
        if ((st = check_state_like("condition_latent", c->condition_latent, d->shape))) return st;
        if (c->augment_noise && (st = check_state_like("augment_noise", c->augment_noise, d->shape))) return st;
        if ((st = orr_copy(d->gt, c->condition_latent))) return st;
        int64_t bad = orr_cpu_count_nonfinite(d->gt->data, d->n);
        if (bad)
            return orr_error(ORR_ERR_NONFINITE, "transfer_sample: condition_latent holds %lld NaN/Inf values",
                             (long long)bad);
        d->condition_frames = c->condition_frames;
        d->augment_sigma = c->augment_sigma;
    }
    st = c->augment_noise ? orr_copy(d->augment, c->augment_noise) : orr_rng_normal(rng, d->augment, 0.0f, 1.0f);
    if (st) return st;
    /* (gt + a n) c_in(a), c_in in float32 from the float32 a as EDMScaling */
    float a = (float)d->augment_sigma, sd = (float)d->sigma_data;
    float c_in_a = 1.0f / sqrtf(a * a + sd * sd);
    float *aug = d->augment->data;
    const float *gt = d->gt->data;
    for (int64_t i = 0; i < d->n; i++) aug[i] = (gt[i] + aug[i] * a) * c_in_a;
    /* the network's mask channel: 1 on the condition frames, both passes */
    if ((st = orr_tensor_zeros(&d->cond_mask, ORR_F32, 5, (int64_t[]){2 * B, 1, T, H, W}))) return st;
    float *mask = d->cond_mask->data;
    for (int64_t b = 0; b < 2 * B; b++)
        for (int64_t t = 0; t < d->condition_frames; t++)
            for (int64_t i = 0; i < H * W; i++) mask[(b * T + t) * H * W + i] = 1.0f;
    return ORR_OK;
}

/* Hints and weight maps for the 2B batch. */
static orr_status init_controls(transfer_denoiser *d, const orr_transfer_cond *cond) {
    char a[200];
    int n = d->tr->n_branches;
    if (!n) return ORR_OK;
    const orr_tensor *lh = cond->latent_hint, *w = cond->control_weight;
    if (!lh) return orr_error(ORR_ERR_ARGUMENT, "transfer_sample: latent_hint is NULL but %d branches need one", n);
    orr_status st = orr_check_backend("transfer_sample", "latent_hint", lh);
    if (st) return st;
    if (lh->ndim != 6 || lh->shape[0] != d->shape[0])
        return orr_error(ORR_ERR_SHAPE, "transfer_sample: latent_hint is %s, expected [%lld,%d,C,T,H,W]",
                         orr_tensor_describe(lh, a, sizeof a), (long long)d->shape[0], n);
    if ((st = doubled(&d->hint, lh, 0))) return st;
    if (!w) return ORR_OK;
    if (w->ndim == 6) return doubled(&d->weights, w, 1);
    /* scalars: an f32 copy on the host, like the rest before it moves */
    if ((st = orr_tensor_empty(&d->weights, ORR_F32, w->ndim, w->shape))) return st;
    return orr_copy(d->weights, w);
}

/* merge_patches_into_video's blending mask of one tile per latent pixel:
 * min(i, h - i) / (0 + 1e-6) clamped to [0.01, 1], times the same over
 * columns. */
static void init_merge(transfer_denoiser *d) {
    int64_t H = d->shape[3], W = d->shape[4];
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            float y = (float)(i < H - i ? i : H - i) / 1e-6f, x = (float)(j < W - j ? j : W - j) / 1e-6f;
            y = y < 0.01f ? 0.01f : y > 1.0f ? 1.0f : y;
            x = x < 0.01f ? 0.01f : x > 1.0f ? 1.0f : x;
            d->merge[i * W + j] = y * x;
        }
}

/* The inputs built on the host go over to the networks' device once. */
static orr_status init_device(transfer_denoiser *d) {
    orr_tensor **moved[] = {&d->text, &d->fps, &d->padding, &d->gt, &d->augment, &d->cond_mask, &d->hint, &d->weights};
    orr_status st = ORR_OK;
    for (size_t i = 0; i < sizeof moved / sizeof moved[0] && !st; i++) {
        orr_tensor *there = NULL;
        if (!*moved[i] || (st = orr_tensor_to(&there, *moved[i], d->device))) continue;
        orr_tensor_free(*moved[i]);
        *moved[i] = there;
    }
    float *merge = NULL;
    size_t frame_bytes = (size_t)(d->shape[3] * d->shape[4]) * sizeof(float);
    if (!st) st = orr_mem_alloc(ORR_CPU, frame_bytes, (void **)&merge);
    if (!st) {
        float *there = d->merge;
        d->merge = merge;
        init_merge(d);
        d->merge = there;
        st = orr_cuda_upload(there, merge, frame_bytes);
        orr_mem_free(ORR_CPU, merge, frame_bytes);
    }
    return st ? orr_error_context(st, "transfer_sample: the inputs on %s: ", orr_device_name(d->device)) : ORR_OK;
}

orr_status orr_transfer_denoiser_init(transfer_denoiser *d, orr_transfer *tr, const orr_transfer_cond *cond,
                                      const int64_t shape[5], const orr_sampler_params *p, orr_rng *rng) {
    memset(d, 0, sizeof *d);
    d->tr = tr;
    d->device = tr->base->device;
    memcpy(d->shape, shape, sizeof d->shape);
    d->n = shape[0] * shape[1] * shape[2] * shape[3] * shape[4];
    d->sigma_data = p->sigma_data;
    const dit_config *cfg = &tr->base->cfg;
    const orr_diffusion_cond *c = &cond->base;
    int64_t B = shape[0];
    orr_status st = ORR_OK;
    if (!(d->sigma_data > 0))
        st = orr_error(ORR_ERR_ARGUMENT, "transfer_sample: sigma_data %g must be > 0", d->sigma_data);
    if (!st && (shape[1] != cfg->in_channels - 1 || shape[1] != cfg->out_channels))
        st = orr_error(ORR_ERR_SHAPE, "transfer_sample: the latent has %lld channels but the network takes %d",
                       (long long)shape[1], cfg->in_channels - 1);
    if (!st && !(c->fps > 0)) st = orr_error(ORR_ERR_ARGUMENT, "transfer_sample: fps %g must be > 0", c->fps);
    if (!st) st = init_text(d, c);
    int64_t net_shape[5] = {2 * B, shape[1], shape[2], shape[3], shape[4]};
    if (!st) st = orr_tensor_empty_on(d->device, &d->net_x, ORR_F32, 5, net_shape);
    if (!st) st = orr_tensor_empty_on(d->device, &d->net_out, ORR_F32, 5, net_shape);
    if (!st) st = orr_tensor_empty_on(d->device, &d->net_t, ORR_F32, 1, (int64_t[]){2 * B});
    if (!st) st = orr_tensor_empty(&d->fps, ORR_F32, 1, (int64_t[]){2 * B});
    if (!st) st = orr_fill(d->fps, c->fps);
    const orr_tensor *pm = c->padding_mask;
    if (!st && pm && (pm->ndim != 4 || pm->shape[0] != B || pm->shape[1] != 1))
        st = orr_error(ORR_ERR_SHAPE, "transfer_sample: padding_mask must be [%lld,1,H,W]", (long long)B);
    if (!st && pm) st = doubled(&d->padding, pm, 0);
    if (!st) st = init_condition(d, c, rng);
    if (!st) st = init_controls(d, cond);
    if (!st) st = orr_mem_alloc(d->device, (size_t)(d->n + shape[3] * shape[4]) * sizeof(float), (void **)&d->scratch);
    if (!st) d->merge = d->scratch + d->n;
    if (!st && d->device == ORR_CPU) init_merge(d);
    if (!st && d->device != ORR_CPU) st = init_device(d);
    if (st) orr_transfer_denoiser_free(d);
    return st;
}

/* A state on d's device into a host trace tensor. */
static orr_status record(const transfer_denoiser *d, orr_tensor *dst, const float *src) {
    if (!dst) return ORR_OK;
    if (orr_tensor_numel(dst) != d->n || dst->dtype != ORR_F32 || !orr_tensor_is_contiguous(dst) ||
        dst->device != ORR_CPU)
        return orr_error(ORR_ERR_SHAPE, "transfer_denoise: a trace tensor is not a contiguous f32 state on the cpu");
    if (d->device != ORR_CPU) return orr_cuda_download(dst->data, src, (size_t)d->n * sizeof *src);
    memcpy(dst->data, src, (size_t)d->n * sizeof *src);
    return ORR_OK;
}

/* The network's input and output halves into a trace (out_u NULL without
 * guidance: the conditioned output stands for it). */
static orr_status record_network(const transfer_denoiser *d, const transfer_trace *trace, const float *net_x,
                                 const float *out_c, const float *out_u) {
    if (!trace) return ORR_OK;
    orr_status st;
    if ((st = record(d, trace->net_in_cond, net_x)) || (st = record(d, trace->net_in_uncond, net_x + d->n)) ||
        (st = record(d, trace->net_out_cond, out_c)))
        return st;
    return record(d, trace->net_out_uncond, out_u ? out_u : out_c);
}

/* How many of the state's values at x are NaN or Inf. */
static orr_status count_nonfinite(const transfer_denoiser *d, const float *x, int64_t *bad) {
    *bad = 0;
    if (d->device == ORR_CPU) {
        *bad = orr_cpu_count_nonfinite(x, d->n);
        return ORR_OK;
    }
#ifdef ORR_HAVE_CUDA
    int64_t *count = NULL;
    orr_status st = orr_cuda_scratch_alloc(sizeof *count, (void **)&count);
    if (!st) st = orr_cuda_count_nonfinite(count, x, d->n, orr_cuda_stream());
    if (!st) st = orr_cuda_download(bad, count, sizeof *bad);
    if (count) orr_cuda_scratch_free(count, sizeof *count);
    return st;
#else
    return orr_error(ORR_ERR_UNSUPPORTED, "transfer_denoise: the state is on %s in a build without CUDA",
                     orr_device_name(d->device));
#endif
}

/* Both passes of the network on the first `batch` items of the 2B batch. */
static orr_status run_network(transfer_denoiser *d, int64_t batch) {
    orr_tensor *v[8] = {NULL};
    orr_tensor *src[8] = {d->net_x, d->net_t, d->text, d->fps, d->padding, d->cond_mask, d->hint, d->net_out};
    orr_status st = ORR_OK;
    for (int i = 0; i < 8 && !st; i++)
        if (src[i]) st = orr_tensor_narrow(&v[i], src[i], 0, 0, batch);
    orr_tensor *w = NULL;
    if (!st && d->weights) {
        if (d->weights->ndim == 6)
            st = orr_tensor_narrow(&w, d->weights, 1, 0, batch);
        else
            st = orr_tensor_view(&w, d->weights);
    }
    if (!st) {
        orr_transfer_inputs in = {{v[0], v[1], v[2], v[3], v[4], v[5]}, v[6], w};
        st = orr_transfer_forward(d->tr, v[7], &in, NULL);
    }
    orr_tensor_free(w);
    for (int i = 0; i < 8; i++) orr_tensor_free(v[i]);
    return st;
}

#ifdef ORR_HAVE_CUDA
/* orr_transfer_denoise on cuda: the host loops below as two kernels
 * around the network call. */
static orr_status denoise_cuda(transfer_denoiser *d, float *x0, const float *x, edm_scalings e, float inv_c_in,
                               double guidance, const transfer_trace *trace) {
    int64_t n = d->n, B = d->shape[0];
    cudaStream_t stream = orr_cuda_stream();
    if (!stream) return orr_error_context(ORR_ERR_UNSUPPORTED, "transfer_denoise: ");
    orr_cuda_state_dims dims = {B, d->shape[1], d->shape[2], d->shape[3] * d->shape[4], d->condition_frames};
    bool uncond = guidance != 0.0;
    float *net_x = d->net_x->data, *out_c = d->net_out->data, *out_u = uncond ? out_c + n : NULL;
    const float *aug = d->augment->data, *gt = d->gt->data;
    orr_status st = orr_cuda_transfer_input(net_x, d->net_t->data, x, aug, dims, inv_c_in, e.c_in, e.c_noise, stream);
    if (!st) st = run_network(d, uncond ? 2 * B : B);
    if (!st) st = record_network(d, trace, net_x, out_c, out_u);
    if (st) return st;
    /* the intermediate estimates a trace asks for, in device buffers */
    orr_tensor *kept[3] = {NULL};
    orr_tensor *wanted[3] = {trace ? trace->x0_cond : NULL, trace ? trace->x0_uncond : NULL,
                             trace ? trace->x0_guided : NULL};
    for (int k = 0; k < 3 && !st; k++)
        if (wanted[k]) st = orr_tensor_empty_on(ORR_CUDA, &kept[k], ORR_F32, 5, d->shape);
    float *at[3];
    for (int k = 0; k < 3; k++) at[k] = kept[k] ? kept[k]->data : NULL;
    if (!st)
        st = orr_cuda_transfer_output(x0, at[0], at[1], at[2], x, aug, gt, out_c, out_u, d->merge, dims, inv_c_in,
                                      e.c_skip, e.c_out, (float)guidance, stream);
    for (int k = 0; k < 3 && !st; k++) st = record(d, wanted[k], at[k]);
    if (!st && trace) st = record(d, trace->x0_merged, x0);
    for (int k = 0; k < 3; k++) orr_tensor_free(kept[k]);
    return st;
}
#endif

orr_status orr_transfer_denoise(transfer_denoiser *d, float *x0, const float *x, double sigma, double guidance,
                                const transfer_trace *trace) {
    int64_t n = d->n, B = d->shape[0], C = d->shape[1], T = d->shape[2], frame = d->shape[3] * d->shape[4];
    if (!(sigma > 0) || !isfinite(sigma))
        return orr_error(ORR_ERR_ARGUMENT, "transfer_denoise: sigma %g must be > 0", sigma);
    int64_t bad;
    orr_status st = count_nonfinite(d, x, &bad);
    if (st) return st;
    if (bad)
        return orr_error(ORR_ERR_NONFINITE, "transfer_sample: the state holds %lld NaN/Inf values at sigma %g",
                         (long long)bad, sigma);
    edm_scalings e = orr_edm_scalings(sigma, d->sigma_data);
    /* the condition holds while the augment sigma is below sigma; once
     * dropped it stays dropped (the official zeroes the indicator in place) */
    if (d->condition_frames && !((float)d->augment_sigma < (float)sigma)) d->condition_frames = 0;
    int64_t cf = d->condition_frames;
    float inv_c_in = 1.0f / e.c_in;
#ifdef ORR_HAVE_CUDA
    if (d->device == ORR_CUDA) return denoise_cuda(d, x0, x, e, inv_c_in, guidance, trace);
#endif
    float *net_x = d->net_x->data;
    const float *aug = d->augment->data;
    /* the network input c_in x_in, x_in the state with the condition frames */
    for (int64_t bc = 0; bc < B * C; bc++)
        for (int64_t t = 0; t < T; t++) {
            int64_t i0 = (bc * T + t) * frame;
            for (int64_t i = i0; i < i0 + frame; i++) net_x[i] = (t < cf ? aug[i] * inv_c_in : x[i]) * e.c_in;
        }
    memcpy(net_x + n, net_x, (size_t)n * sizeof *net_x);
    float *net_t = d->net_t->data;
    for (int64_t b = 0; b < 2 * B; b++) net_t[b] = e.c_noise;

    bool uncond = guidance != 0.0;
    if ((st = run_network(d, uncond ? 2 * B : B))) return st;

    const float *out_c = d->net_out->data, *out_u = out_c + n, *gt = d->gt->data;
    float *x0_u = d->scratch;
    if ((st = record_network(d, trace, net_x, out_c, uncond ? out_u : NULL))) return st;
    /* x0 = c_skip x_in + c_out F, the condition frames replaced by gt */
    for (int64_t bc = 0; bc < B * C; bc++)
        for (int64_t t = 0; t < T; t++) {
            int64_t i0 = (bc * T + t) * frame;
            for (int64_t i = i0; i < i0 + frame; i++) {
                float xi = t < cf ? aug[i] * inv_c_in : x[i];
                x0[i] = t < cf ? gt[i] : e.c_skip * xi + e.c_out * out_c[i];
                if (uncond) x0_u[i] = t < cf ? gt[i] : e.c_skip * xi + e.c_out * out_u[i];
            }
        }
    if ((st = record(d, trace ? trace->x0_cond : NULL, x0)) ||
        (st = record(d, trace ? trace->x0_uncond : NULL, uncond ? x0_u : x0)))
        return st;
    float g = (float)guidance;
    if (uncond)
        for (int64_t i = 0; i < n; i++) x0[i] = x0[i] + g * (x0[i] - x0_u[i]);
    if ((st = record(d, trace ? trace->x0_guided : NULL, x0))) return st;
    for (int64_t i = 0; i < n; i++) {
        float m = d->merge[i % frame];
        x0[i] = x0[i] * m / (m + 1e-6f);
    }
    return record(d, trace ? trace->x0_merged : NULL, x0);
}

/* ---- the RES loop's state, on the cpu or on cuda ---------------------------------- */

#ifdef ORR_HAVE_CUDA
static orr_status loop_stream(cudaStream_t *s) {
    *s = orr_cuda_stream();
    return *s ? ORR_OK : orr_error_context(ORR_ERR_UNSUPPORTED, "transfer_sample: ");
}
#endif

/* dst = src over the state, converting between f32 and f64 (RES's two
 * precisions; the same type copies). */
static orr_status convert(const transfer_denoiser *d, void *dst, orr_dtype dst_dtype, const void *src,
                          orr_dtype src_dtype) {
#ifdef ORR_HAVE_CUDA
    if (d->device == ORR_CUDA) {
        cudaStream_t s;
        int64_t one = 1, n = d->n;
        orr_status st = loop_stream(&s);
        return st ? st : orr_cuda_copy_strided(dst, dst_dtype, &one, src, src_dtype, &one, 1, &n, s);
    }
#endif
    if (dst_dtype == src_dtype)
        memcpy(dst, src, (size_t)d->n * orr_dtype_size(dst_dtype));
    else if (dst_dtype == ORR_F32)
        for (int64_t k = 0; k < d->n; k++) ((float *)dst)[k] = (float)((const double *)src)[k];
    else
        for (int64_t k = 0; k < d->n; k++) ((double *)dst)[k] = ((const float *)src)[k];
    return ORR_OK;
}

static orr_status res_update(const transfer_denoiser *d, double *xd, const float *x0, const float *x0_prev, double s,
                             double t, double s_prev) {
#ifdef ORR_HAVE_CUDA
    if (d->device == ORR_CUDA) {
        cudaStream_t stream;
        orr_status st = loop_stream(&stream);
        return st ? st : orr_cuda_res_2ab_update(xd, x0, x0_prev, d->n, s, t, s_prev, stream);
    }
#endif
    orr_res_2ab_update(xd, x0, x0_prev, d->n, s, t, s_prev);
    return ORR_OK;
}

/* The callback sees host tensors: a device state is copied over first. */
static orr_status preview(const transfer_denoiser *d, const orr_sampler_params *p, int step, float *x, float *x0) {
    orr_tensor *tx = NULL, *tx0 = NULL;
    orr_status st;
    if (d->device == ORR_CPU) {
        st = orr_tensor_wrap(&tx, x, ORR_F32, 5, d->shape, NULL, NULL);
        if (!st) st = orr_tensor_wrap(&tx0, x0, ORR_F32, 5, d->shape, NULL, NULL);
    } else {
        st = orr_tensor_empty(&tx, ORR_F32, 5, d->shape);
        if (!st) st = orr_tensor_empty(&tx0, ORR_F32, 5, d->shape);
        if (!st) st = orr_cuda_download(tx->data, x, orr_tensor_nbytes(tx));
        if (!st) st = orr_cuda_download(tx0->data, x0, orr_tensor_nbytes(tx0));
    }
    if (!st) p->preview(p->preview_user, step, tx, tx0);
    orr_tensor_free(tx);
    orr_tensor_free(tx0);
    return st;
}

orr_status orr_transfer_sampler_run(transfer_denoiser *d, float *x, const double *sigmas, const orr_sampler_params *p) {
    int steps = p->steps;
    int64_t n = d->n;
    float *x0 = NULL, *x0_prev = NULL;
    double *xd = NULL;
    size_t fbytes = (size_t)n * sizeof *x0, dbytes = (size_t)n * sizeof *xd;
    orr_status st = orr_mem_alloc(d->device, fbytes, (void **)&x0);
    if (!st) st = orr_mem_alloc(d->device, fbytes, (void **)&x0_prev);
    if (!st) st = orr_mem_alloc(d->device, dbytes, (void **)&xd);
    if (!st) st = convert(d, xd, ORR_F64, x, ORR_F32);
    double start = orr_now_seconds();
    for (int i = 0; !st && i < steps; i++) {
        if (p->cancel && p->cancel(p->cancel_user)) {
            st = orr_error(ORR_ERR_CANCELLED, "transfer_sample: cancelled before step %d of %d", i, steps);
            break;
        }
        double s = sigmas[i], g = p->guidance_fn ? p->guidance_fn(p->guidance_user, i, s) : p->guidance;
        /* x0_fn sees the float64 state in float32 */
        if (!(st = convert(d, x, ORR_F32, xd, ORR_F64)) && (st = orr_transfer_denoise(d, x0, x, s, g, NULL)))
            orr_error_context(st, "transfer_sample step %d at sigma %g: ", i, s);
        if (!st) st = res_update(d, xd, x0, i ? x0_prev : NULL, s, sigmas[i + 1], i ? sigmas[i - 1] : 0.0);
        if (!st) st = convert(d, x0_prev, ORR_F32, x0, ORR_F32);
        if (!st && p->preview && (i % (p->preview_every > 0 ? p->preview_every : 1) == 0 || i == steps - 1)) {
            st = convert(d, x, ORR_F32, xd, ORR_F64); /* the state after this step */
            if (!st) st = preview(d, p, i, x, x0);
        }
        if (!st && p->progress) {
            double per_step = (orr_now_seconds() - start) / (i + 1);
            orr_sampler_progress pr = {i, steps, s, sigmas[i + 1], per_step, per_step * (steps - 1 - i)};
            p->progress(p->progress_user, &pr);
        }
    }
    if (!st) st = convert(d, x, ORR_F32, xd, ORR_F64);
    if (!st && sigmas[steps] > 0) {
        /* the clean step: the estimate at the last sigma is the sample */
        double g = p->guidance_fn ? p->guidance_fn(p->guidance_user, steps, sigmas[steps]) : p->guidance;
        st = orr_transfer_denoise(d, x0, x, sigmas[steps], g, NULL);
        if (!st)
            st = convert(d, x, ORR_F32, x0, ORR_F32);
        else
            orr_error_context(st, "transfer_sample final denoise at sigma %g: ", sigmas[steps]);
    }
    if (x0) orr_mem_free(d->device, x0, fbytes);
    if (x0_prev) orr_mem_free(d->device, x0_prev, fbytes);
    if (xd) orr_mem_free(d->device, xd, dbytes);
    return st;
}

orr_status orr_transfer_sample(orr_transfer *tr, orr_tensor *out, const orr_transfer_cond *cond,
                               const orr_sampler_params *p) {
    char a[200];
    if (!tr || !out || !cond || !p) return orr_error(ORR_ERR_ARGUMENT, "transfer_sample: NULL argument");
    orr_status st = orr_check_backend("transfer_sample", "out", out);
    if (st) return st;
    if (out->ndim != 5)
        return orr_error(ORR_ERR_SHAPE, "transfer_sample: out is %s, expected [B,C,T,H,W]",
                         orr_tensor_describe(out, a, sizeof a));
    if (p->kind != ORR_SAMPLER_RES_2AB)
        return orr_error(ORR_ERR_UNSUPPORTED,
                         "transfer_sample: the official loop is RES \"2ab\" (ORR_SAMPLER_RES_2AB)");
    if (p->bf16) return orr_error(ORR_ERR_UNSUPPORTED, "transfer_sample: bf16 emulation is not available here");
    if (p->steps < 1 || p->steps > 100000)
        return orr_error(ORR_ERR_ARGUMENT, "transfer_sample: steps %d out of range", p->steps);
    double *sigmas = malloc((size_t)(p->steps + 1) * sizeof *sigmas);
    if (!sigmas) return orr_error(ORR_ERR_MEMORY, "transfer_sample: out of host memory");
    orr_rng rng;
    orr_rng_init(&rng, p->seed);
    orr_tensor *state = NULL;
    transfer_denoiser d;
    st = orr_sampler_sigmas(p, sigmas, p->steps + 1);
    /* the state lives where the networks are; out may be anywhere */
    if (!st) st = orr_tensor_empty_on(tr->base->device, &state, ORR_F32, 5, out->shape);
    if (!st) st = orr_sampler_initial_state(state->data, state, p, sigmas[0], &rng);
    if (!st) st = orr_transfer_denoiser_init(&d, tr, cond, out->shape, p, &rng);
    if (!st) {
        st = orr_transfer_sampler_run(&d, state->data, sigmas, p);
        orr_transfer_denoiser_free(&d);
    }
    if (!st) st = orr_copy(out, state);
    orr_tensor_free(state);
    free(sigmas);
    return st;
}
