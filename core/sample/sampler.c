/* sampler.c — the sampling loops over the denoiser of edm.c:
 *
 *  - Euler: diffusers' EDMEulerScheduler as the official inference runs it
 *    (model_t2w.py / model_v2w.py generate_samples_from_batch), float32;
 *  - Heun: EDM's second-order correction (Karras et al. 2022, algorithm 1,
 *    no churn), Euler on the step to sigma = 0;
 *  - RES "2ab": the multistep exponential solver of the official training
 *    code (res_sampler.py, multi_step.py, runge_kutta.py), float64 state;
 *  - DPM-Solver++(2M) (Lu et al. 2022), as k-diffusion's sample_dpmpp_2m.
 *
 * A schedule whose last sigma is not 0 ends with one more denoiser call at
 * it, whose estimate is the sample (the official RES sampler's clean step).
 *
 * The state lives where the DiT is. On cuda every update below runs as a
 * kernel of cuda/sampler_step.h with the cpu's float (RES: double)
 * operations, so a step given the same network output gives the cpu's
 * numbers; the host reads back only a NaN count per denoiser call and, for
 * a preview, the state and the estimate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../models/dit.h"
#include "cuda/device.h"
#include "elementwise.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/copy.h"
#include "cuda/sampler_step.h"
#endif

void orr_diffusion_cond_init(orr_diffusion_cond *c) {
    memset(c, 0, sizeof *c);
    c->fps = 24.0f;
    c->condition_frames = 1;
    c->augment_sigma = 0.001f;
}

void orr_sampler_params_init(orr_sampler_params *p, orr_sampler_kind kind) {
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->steps = 35;
    p->sigma_max = 80.0;
    /* diffusers' EDMEulerScheduler as configured by the inference code; the
     * RES sampler of the training code stops at 0.002 */
    p->sigma_min = kind == ORR_SAMPLER_RES_2AB ? 0.002 : 0.0002;
    p->rho = 7.0;
    p->sigma_data = 0.5;
    p->guidance = 7.0;
    p->preview_every = 1;
}

static const char *kind_name(orr_sampler_kind k) {
    static const char *names[] = {"euler", "heun", "res_2ab", "dpmpp_2m"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

orr_status orr_sampler_sigmas(const orr_sampler_params *p, double *sigmas, int capacity) {
    if (!p || !sigmas) return orr_error(ORR_ERR_ARGUMENT, "sampler: NULL params or sigmas");
    if ((unsigned)p->kind > ORR_SAMPLER_DPMPP_2M) return orr_error(ORR_ERR_ARGUMENT, "sampler: unknown kind %d", p->kind);
    int n = p->steps;
    if (n < 1) return orr_error(ORR_ERR_ARGUMENT, "sampler: steps %d must be >= 1", n);
    if (capacity < n + 1) return orr_error(ORR_ERR_ARGUMENT, "sampler: %d steps need %d sigmas, room for %d", n, n + 1, capacity);
    bool res = p->kind == ORR_SAMPLER_RES_2AB;
    if (p->sigmas) {
        memcpy(sigmas, p->sigmas, (size_t)(n + 1) * sizeof *sigmas);
    } else if (p->schedule) {
        for (int i = 0; i <= n; i++) sigmas[i] = p->schedule(p->schedule_user, i, n);
    } else {
        if (!(p->sigma_max > p->sigma_min && p->sigma_min > 0 && p->rho > 0 && isfinite(p->sigma_max)))
            return orr_error(ORR_ERR_ARGUMENT, "sampler: Karras schedule needs sigma_max %g > sigma_min %g > 0, rho %g > 0",
                             p->sigma_max, p->sigma_min, p->rho);
        double hi = pow(p->sigma_max, 1.0 / p->rho), lo = pow(p->sigma_min, 1.0 / p->rho);
        if (res) {
            /* get_rev_ts: steps+1 points ending at sigma_min, in float64 */
            for (int i = 0; i <= n; i++) sigmas[i] = pow(hi + (double)i / n * (lo - hi), p->rho);
        } else {
            /* diffusers 0.32.2 set_timesteps: a float32 torch.linspace ramp of
             * `steps` points (its two-sided formula), the Karras formula in
             * float32, then a final 0 */
            float step = n > 1 ? 1.0f / (float)(n - 1) : 0.0f;
            for (int i = 0; i < n; i++) {
                float ramp = i < n / 2 ? step * (float)i : 1.0f - step * (float)(n - 1 - i);
                float base = (float)hi + ramp * (float)(lo - hi);
                sigmas[i] = powf(base, (float)p->rho);
            }
            sigmas[n] = 0.0;
        }
    }
    /* the float32 schedulers hold their sigmas in float32 */
    if (!res)
        for (int i = 0; i <= n; i++) sigmas[i] = (float)sigmas[i];
    for (int i = 0; i <= n; i++) {
        bool last = i == n;
        if (!isfinite(sigmas[i]) || sigmas[i] < 0 || (!last && sigmas[i] == 0))
            return orr_error(ORR_ERR_ARGUMENT, "sampler: sigma[%d] = %g (sigmas must be finite and > 0; only the last may be 0)",
                             i, sigmas[i]);
        if (i > 0 && !(sigmas[i] < sigmas[i - 1]))
            return orr_error(ORR_ERR_ARGUMENT, "sampler: the schedule is not decreasing: sigma[%d] = %g >= sigma[%d] = %g",
                             i, sigmas[i], i - 1, sigmas[i - 1]);
    }
    return ORR_OK;
}

/* The RES "2ab" update (multi_step.py order2_fn): the first step is the
 * x0-form Euler step (reg_x0_euler_step); later ones the second-order
 * exponential multistep step (res_x0_rk2_step) in log time lambda = -ln sigma:
 * x_t = e^-h x_s + h (b1 x0_s + b2 x0_prev), h = lambda_t - lambda_s,
 * c2 = (lambda_prev - lambda_s) / h, b2 = phi2(-h) / c2, b1 = phi1(-h) - b2. */
void orr_res_2ab_update(double *x, const float *x0, const float *x0_prev, int64_t n, double s, double t,
                        double s_prev) {
    if (!x0_prev) {
        double cx0 = (s - t) / s, cx = t / s;
        for (int64_t k = 0; k < n; k++) x[k] = cx0 * x0[k] + cx * x[k];
        return;
    }
    double ls = -log(s), lt = -log(t), lm = -log(s_prev);
    double h = lt - ls, c2 = (lm - ls) / h;
    double phi1 = expm1(-h) / -h, phi2 = (phi1 - 1.0) / -h;
    double b1 = phi1 - phi2 / c2, b2 = phi2 / c2;
    if (isnan(b1)) b1 = 0.0;
    if (isnan(b2)) b2 = 0.0;
    double decay = exp(-h);
    for (int64_t k = 0; k < n; k++) x[k] = decay * x[k] + h * (b1 * x0[k] + b2 * x0_prev[k]);
}

typedef struct loop {
    orr_denoiser *d;
    const orr_sampler_params *p;
    const double *sigmas;
    int64_t n;
    orr_device device;                           /* the DiT's: where the buffers below are */
    float *x0, *x_eff, *x1, *x0_prev, *scratch; /* float32 working buffers */
    double *xd;                                  /* RES float64 state */
    orr_tensor *shown_x, *shown_x0;              /* previews of a device state, on the host */
    bool have_prev;
    double h_prev, sigma_prev;
} loop;

/* ---- the state operations, on the cpu or on cuda ------------------------------- */

#ifdef ORR_HAVE_CUDA
static orr_status no_stream(void) { return orr_error_context(ORR_ERR_UNSUPPORTED, "sampler: "); }
#endif

static orr_status copy_state(const loop *l, float *dst, const float *src) {
    if (dst == src) return ORR_OK;
#ifdef ORR_HAVE_CUDA
    if (l->device == ORR_CUDA) {
        cudaStream_t stream = orr_cuda_stream();
        if (!stream) return no_stream();
        return orr_cuda_check(cudaMemcpyAsync(dst, src, (size_t)l->n * sizeof *dst, cudaMemcpyDeviceToDevice, stream),
                              "sampler", "copying the state");
    }
#endif
    memcpy(dst, src, (size_t)l->n * sizeof *dst);
    return ORR_OK;
}

/* dst = (float)src or (double)src over the state (RES's two precisions). */
static orr_status convert_state(const loop *l, void *dst, orr_dtype dst_dtype, const void *src, orr_dtype src_dtype) {
#ifdef ORR_HAVE_CUDA
    if (l->device == ORR_CUDA) {
        cudaStream_t stream = orr_cuda_stream();
        if (!stream) return no_stream();
        int64_t one = 1, n = l->n;
        return orr_cuda_copy_strided(dst, dst_dtype, &one, src, src_dtype, &one, 1, &n, stream);
    }
#endif
    if (dst_dtype == ORR_F32)
        for (int64_t k = 0; k < l->n; k++) ((float *)dst)[k] = (float)((const double *)src)[k];
    else
        for (int64_t k = 0; k < l->n; k++) ((double *)dst)[k] = ((const float *)src)[k];
    return ORR_OK;
}

static orr_status euler(const loop *l, float *x_next, const float *x, const float *x0, float s, float sn) {
#ifdef ORR_HAVE_CUDA
    if (l->device == ORR_CUDA) {
        cudaStream_t stream = orr_cuda_stream();
        return stream ? orr_cuda_euler_step(x_next, x, x0, l->n, s, sn, stream) : no_stream();
    }
#endif
    orr_euler_step(x_next, x, x0, l->n, s, sn);
    return ORR_OK;
}

static orr_status res_update(const loop *l, const float *x0_prev, double s, double t) {
#ifdef ORR_HAVE_CUDA
    if (l->device == ORR_CUDA) {
        cudaStream_t stream = orr_cuda_stream();
        return stream ? orr_cuda_res_2ab_update(l->xd, l->x0, x0_prev, l->n, s, t, l->sigma_prev, stream)
                      : no_stream();
    }
#endif
    orr_res_2ab_update(l->xd, l->x0, x0_prev, l->n, s, t, l->sigma_prev);
    return ORR_OK;
}

static orr_status round_state_bf16(const loop *l, float *x) {
#ifdef ORR_HAVE_CUDA
    if (l->device == ORR_CUDA) {
        cudaStream_t stream = orr_cuda_stream();
        return stream ? orr_cuda_round_bf16(x, l->n, stream) : no_stream();
    }
#endif
    for (int64_t k = 0; k < l->n; k++) x[k] = orr_bf16_to_f32(orr_f32_to_bf16(x[k]));
    return ORR_OK;
}

/* ---- the steps ------------------------------------------------------------------ */

static double guidance_at(const loop *l, int i) {
    const orr_sampler_params *p = l->p;
    return p->guidance_fn ? p->guidance_fn(p->guidance_user, i, l->sigmas[i]) : p->guidance;
}

static orr_status step_euler(loop *l, float *x, int i) {
    double s = l->sigmas[i], sn = l->sigmas[i + 1];
    orr_status st = orr_denoise(l->d, l->x0, l->x_eff, x, s, guidance_at(l, i), NULL);
    return st ? st : euler(l, x, l->x_eff, l->x0, (float)s, (float)sn);
}

static orr_status step_heun(loop *l, float *x, int i) {
    double s = l->sigmas[i], sn = l->sigmas[i + 1], g = guidance_at(l, i);
    orr_status st = orr_denoise(l->d, l->x0, l->x_eff, x, s, g, NULL);
    if (!st) st = euler(l, l->x1, l->x_eff, l->x0, (float)s, (float)sn);
    if (st || sn == 0) return st ? st : copy_state(l, x, l->x1);
    /* the correction averages the slopes at both ends; x0 stays the first
     * estimate for the preview */
    if ((st = orr_denoise(l->d, l->scratch, l->x1, l->x1, sn, g, NULL))) return st;
    float dt = (float)(sn - s);
#ifdef ORR_HAVE_CUDA
    if (l->device == ORR_CUDA) {
        cudaStream_t stream = orr_cuda_stream();
        return stream ? orr_cuda_heun_correct(x, l->x_eff, l->x0, l->x1, l->scratch, l->n, (float)s, (float)sn, dt,
                                              stream)
                      : no_stream();
    }
#endif
    for (int64_t k = 0; k < l->n; k++) {
        float d1 = (l->x_eff[k] - l->x0[k]) / (float)s, d2 = (l->x1[k] - l->scratch[k]) / (float)sn;
        x[k] = l->x_eff[k] + dt * 0.5f * (d1 + d2);
    }
    return ORR_OK;
}

static orr_status step_res(loop *l, float *x, int i) {
    double s = l->sigmas[i], t = l->sigmas[i + 1];
    /* the denoiser sees the float64 state in float32, as the official x0_fn */
    orr_status st = convert_state(l, x, ORR_F32, l->xd, ORR_F64);
    if (!st) st = orr_denoise(l->d, l->x0, l->x_eff, x, s, guidance_at(l, i), NULL);
    if (!st && l->d->video) st = convert_state(l, l->xd, ORR_F64, l->x_eff, ORR_F32);
    if (!st) st = res_update(l, l->have_prev ? l->x0_prev : NULL, s, t);
    if (!st) st = copy_state(l, l->x0_prev, l->x0);
    if (st) return st;
    l->have_prev = true;
    l->sigma_prev = s;
    return convert_state(l, x, ORR_F32, l->xd, ORR_F64);
}

/* x = ratio x_eff + k_d (w_cur x0 + w_prev x0_prev), the mix in double. */
static orr_status dpmpp_combine(const loop *l, float *x, float ratio, float k_d, double w_cur, double w_prev) {
#ifdef ORR_HAVE_CUDA
    if (l->device == ORR_CUDA) {
        cudaStream_t stream = orr_cuda_stream();
        return stream ? orr_cuda_dpmpp_2m_step(x, l->x_eff, l->x0, l->have_prev ? l->x0_prev : NULL, l->n, ratio, k_d,
                                               w_cur, w_prev, stream)
                      : no_stream();
    }
#endif
    for (int64_t k = 0; k < l->n; k++) {
        /* x0_prev is uninitialised before the second step: never read it there */
        double denoised = l->have_prev ? w_cur * l->x0[k] + w_prev * l->x0_prev[k] : l->x0[k];
        x[k] = ratio * l->x_eff[k] + k_d * (float)denoised;
    }
    return ORR_OK;
}

static orr_status step_dpmpp_2m(loop *l, float *x, int i) {
    double s = l->sigmas[i], sn = l->sigmas[i + 1];
    orr_status st = orr_denoise(l->d, l->x0, l->x_eff, x, s, guidance_at(l, i), NULL);
    if (st || sn == 0) return st ? st : copy_state(l, x, l->x0);
    double h = log(s) - log(sn);
    double w_cur = 1.0, w_prev = 0.0;
    if (l->have_prev) {
        double r = l->h_prev / h;
        w_cur = 1.0 + 1.0 / (2.0 * r);
        w_prev = -1.0 / (2.0 * r);
    }
    float ratio = (float)(sn / s), k_d = (float)-expm1(-h);
    st = dpmpp_combine(l, x, ratio, k_d, w_cur, w_prev);
    if (!st) st = copy_state(l, l->x0_prev, l->x0);
    if (st) return st;
    l->have_prev = true;
    l->h_prev = h;
    return ORR_OK;
}

/* The callback sees host tensors: a device state is copied over first. */
static orr_status preview(loop *l, int step, const float *x, const float *x0) {
    const orr_sampler_params *p = l->p;
    orr_status st = ORR_OK;
    if (l->device != ORR_CPU) {
        if (!l->shown_x) st = orr_tensor_empty(&l->shown_x, ORR_F32, 5, l->d->shape);
        if (!st && !l->shown_x0) st = orr_tensor_empty(&l->shown_x0, ORR_F32, 5, l->d->shape);
        if (!st) st = orr_cuda_download(l->shown_x->data, x, orr_tensor_nbytes(l->shown_x));
        if (!st) st = orr_cuda_download(l->shown_x0->data, x0, orr_tensor_nbytes(l->shown_x0));
        if (st) return st;
        x = l->shown_x->data;
        x0 = l->shown_x0->data;
    }
    orr_tensor *tx, *tx0;
    st = orr_tensor_wrap(&tx, (void *)x, ORR_F32, 5, l->d->shape, NULL, NULL);
    if (st) return st;
    if ((st = orr_tensor_wrap(&tx0, (void *)x0, ORR_F32, 5, l->d->shape, NULL, NULL))) {
        orr_tensor_free(tx);
        return st;
    }
    p->preview(p->preview_user, step, tx, tx0);
    orr_tensor_free(tx);
    orr_tensor_free(tx0);
    return ORR_OK;
}

orr_status orr_sampler_run(orr_denoiser *d, float *x, const double *sigmas, const orr_sampler_params *p) {
    int steps = p->steps;
    int64_t n = d->shape[0] * d->shape[1] * d->shape[2] * d->shape[3] * d->shape[4];
    loop l = {.d = d, .p = p, .sigmas = sigmas, .n = n, .device = d->dit->device};
    bool res = p->kind == ORR_SAMPLER_RES_2AB;
    float **fbufs[] = {&l.x0, &l.x_eff, &l.x1, &l.x0_prev, &l.scratch};
    orr_status st = ORR_OK;
    for (size_t i = 0; i < sizeof fbufs / sizeof fbufs[0] && !st; i++)
        st = orr_mem_alloc(l.device, (size_t)n * sizeof(float), (void **)fbufs[i]);
    if (!st && res) st = orr_mem_alloc(l.device, (size_t)n * sizeof(double), (void **)&l.xd);
    if (!st && res) st = convert_state(&l, l.xd, ORR_F64, x, ORR_F32);

    double start = orr_now_seconds();
    for (int i = 0; !st && i < steps; i++) {
        if (p->cancel && p->cancel(p->cancel_user)) {
            st = orr_error(ORR_ERR_CANCELLED, "sampler: cancelled before step %d of %d", i, steps);
            break;
        }
        switch (p->kind) {
        case ORR_SAMPLER_EULER: st = step_euler(&l, x, i); break;
        case ORR_SAMPLER_HEUN: st = step_heun(&l, x, i); break;
        case ORR_SAMPLER_RES_2AB: st = step_res(&l, x, i); break;
        case ORR_SAMPLER_DPMPP_2M: st = step_dpmpp_2m(&l, x, i); break;
        }
        if (st) {
            orr_error_context(st, "sampler (%s) step %d at sigma %g: ", kind_name(p->kind), i, sigmas[i]);
            break;
        }
        if (d->bf16 && (st = round_state_bf16(&l, x))) break;
        if (p->preview && (i % (p->preview_every > 0 ? p->preview_every : 1) == 0 || i == steps - 1))
            st = preview(&l, i, x, l.x0);
        if (p->progress) {
            double per_step = (orr_now_seconds() - start) / (i + 1);
            orr_sampler_progress pr = {i, steps, sigmas[i], sigmas[i + 1], per_step, per_step * (steps - 1 - i)};
            p->progress(p->progress_user, &pr);
        }
    }
    if (!st && sigmas[steps] > 0) {
        /* the clean step: the estimate at the last sigma is the sample */
        st = orr_denoise(d, l.x0, l.x_eff, x, sigmas[steps], guidance_at(&l, steps), NULL);
        if (!st) st = copy_state(&l, x, l.x0);
        else orr_error_context(st, "sampler (%s) final denoise at sigma %g: ", kind_name(p->kind), sigmas[steps]);
    }
    for (size_t i = 0; i < sizeof fbufs / sizeof fbufs[0]; i++)
        if (*fbufs[i]) orr_mem_free(l.device, *fbufs[i], (size_t)n * sizeof(float));
    if (l.xd) orr_mem_free(l.device, l.xd, (size_t)n * sizeof(double));
    orr_tensor_free(l.shown_x);
    orr_tensor_free(l.shown_x0);
    return st;
}

/* A tensor over the n floats of state at x, on `device`, shaped like `like`
 * (a view: x stays the caller's). */
static orr_status state_view(orr_tensor **out, orr_device device, float *x, const orr_tensor *like) {
    orr_storage *s;
    orr_status st = orr_storage_create(device, x, (size_t)orr_tensor_numel(like) * sizeof *x, NULL, NULL, &s);
    if (st) return st;
    st = orr_tensor_over(out, s, 0, ORR_F32, like->ndim, like->shape);
    orr_storage_release(s);
    return st;
}

/* The initial state: init_latent + sigma_0 noise, or noise scaled to the
 * first sigma (sqrt(sigma_0^2 + 1) for Euler, diffusers' init_noise_sigma).
 * On a device the same float operations run as ops there. */
orr_status orr_sampler_initial_state(float *x, const orr_tensor *like, const orr_sampler_params *p, double sigma0,
                                     orr_rng *rng) {
    int64_t n = orr_tensor_numel(like);
    orr_tensor *noise = NULL;
    orr_status st;
    char a[200], b[200];
    const orr_tensor *given[] = {p->init_noise, p->init_latent};
    static const char *names[] = {"init_noise", "init_latent"};
    for (int i = 0; i < 2; i++)
        if (given[i] && !orr_tensor_same_shape(given[i], like))
            return orr_error(ORR_ERR_SHAPE, "sampler: %s is %s but out is %s", names[i],
                             orr_tensor_describe(given[i], a, sizeof a), orr_tensor_describe(like, b, sizeof b));
    orr_device device = like->device;
    if ((st = state_view(&noise, device, x, like))) return st;
    st = p->init_noise ? orr_copy(noise, p->init_noise) : orr_rng_normal(rng, noise, 0.0f, 1.0f);
    float scale = (float)(p->init_latent ? sigma0
                          : p->kind == ORR_SAMPLER_EULER ? sqrt(sigma0 * sigma0 + 1.0)
                                                          : sigma0);
    if (!st && device != ORR_CPU) {
        /* x * scale (+ 0: exact), then + init_latent */
        orr_tensor *lat = NULL;
        st = orr_affine(noise, noise, scale, 0.0f);
        if (!st && p->init_latent) st = orr_tensor_to(&lat, p->init_latent, device);
        if (!st && lat) st = orr_binary(noise, lat, noise, ORR_ADD);
        orr_tensor_free(lat);
    } else if (!st && p->init_latent) {
        orr_tensor *host = NULL, *lat = NULL;
        const float *l = NULL;
        st = orr_tensor_to(&host, p->init_latent, ORR_CPU);
        if (!st) st = orr_input_f32(host, &lat, &l);
        for (int64_t i = 0; !st && i < n; i++) x[i] = l[i] + x[i] * scale;
        orr_tensor_free(lat);
        orr_tensor_free(host);
    } else if (!st) {
        for (int64_t i = 0; i < n; i++) x[i] *= scale;
    }
    orr_tensor_free(noise);
    return st;
}

orr_status orr_dit_sample(orr_dit *dit, orr_tensor *out, const orr_diffusion_cond *cond, const orr_sampler_params *p) {
    char a[200];
    if (!dit || !out || !cond || !p) return orr_error(ORR_ERR_ARGUMENT, "dit_sample: NULL argument");
    orr_status st = orr_check_backend("dit_sample", "out", out);
    if (st) return st;
    if (out->ndim != 5) return orr_error(ORR_ERR_SHAPE, "dit_sample: out is %s, expected [B,C,T,H,W]", orr_tensor_describe(out, a, sizeof a));
    if (p->steps < 1 || p->steps > 100000) return orr_error(ORR_ERR_ARGUMENT, "dit_sample: steps %d out of range", p->steps);
    double *sigmas = malloc((size_t)(p->steps + 1) * sizeof *sigmas);
    if (!sigmas) return orr_error(ORR_ERR_MEMORY, "dit_sample: out of host memory");
    orr_rng rng;
    orr_rng_init(&rng, p->seed);
    orr_denoiser d;
    float *x;
    orr_tensor *state = NULL;
    st = orr_sampler_sigmas(p, sigmas, p->steps + 1);
    /* the state lives where the DiT is; out may be anywhere */
    if (!st) st = orr_tensor_empty_on(dit->device, &state, ORR_F32, 5, out->shape);
    if (st) {
        free(sigmas);
        return st;
    }
    x = state->data;
    st = orr_sampler_initial_state(x, state, p, sigmas[0], &rng);
    int64_t bad = 0;
    if (!st) st = orr_count_nonfinite(state, &bad);
    if (!st && bad)
        st = orr_error(ORR_ERR_NONFINITE, "dit_sample: the initial state holds %lld NaN/Inf values", (long long)bad);
    if (!st) st = orr_denoiser_init(&d, dit, cond, out->shape, p->sigma_data, p->bf16, &rng);
    if (!st) {
        st = orr_sampler_run(&d, x, sigmas, p);
        orr_denoiser_free(&d);
    }
    if (!st) st = orr_copy(out, state);
    orr_tensor_free(state);
    free(sigmas);
    return st;
}
