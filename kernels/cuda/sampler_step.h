/* cuda/sampler_step.h — the samplers' O(latent) state updates on the GPU,
 * so that a sampling run with its network on cuda keeps its state there:
 * the EDM denoiser's input and output maps (core/sample/edm.c), the Euler,
 * Heun, RES "2ab" and DPM-Solver++(2M) steps (core/sample/sampler.c) and
 * the Transfer1 denoiser's maps (core/models/transfer_sample.c).
 *
 * Each launcher is the loop of the cpu code it names, element for element,
 * with the same float (or double) operations in the same order and no
 * fused multiply-add (the cpu build contracts none either): given the same
 * inputs the results are the cpu's bit for bit. Scalars the cpu derives
 * from sigma are passed in as it computes them (the RES coefficients are
 * computed here on the host, with the host's libm, as sampler.c does).
 *
 * DEVICE pointers to contiguous buffers, queued on `stream` without
 * synchronising. A state is [B, C, T, frame] (frame = H*W), n = B*C*T*frame
 * elements; "condition frames" are the latent frames t < cond_frames
 * (0: none). Each returns ORR_OK, ORR_ERR_ARGUMENT for a negative size, or
 * the launch failure. */
#ifndef ORR_CUDA_SAMPLER_STEP_H
#define ORR_CUDA_SAMPLER_STEP_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The size of a state, as every launcher below takes it. */
typedef struct orr_cuda_state_dims {
    int64_t B, C, T, frame;
    int64_t cond_frames;
} orr_cuda_state_dims;

/* x[i] = bf16(x[i]) (round to nearest even, as orr_f32_to_bf16), in place. */
orr_status orr_cuda_round_bf16(float *x, int64_t n, cudaStream_t stream);

/* orr_euler_step: x_next = x + (x - x0) / sigma * (sigma_next - sigma);
 * x_next may equal x. */
orr_status orr_cuda_euler_step(float *x_next, const float *x, const float *x0, int64_t n, float sigma,
                               float sigma_next, cudaStream_t stream);

/* Heun's correction (sampler.c step_heun): x = x_eff + dt * 0.5 * ((x_eff -
 * x0) / sigma + (x1 - x1_0) / sigma_next), dt as the caller rounds it. */
orr_status orr_cuda_heun_correct(float *x, const float *x_eff, const float *x0, const float *x1, const float *x1_0,
                                 int64_t n, float sigma, float sigma_next, float dt, cudaStream_t stream);

/* DPM-Solver++(2M) (sampler.c step_dpmpp_2m): x = ratio * x_eff + k_d *
 * (float)denoised, denoised = w_cur * x0 + w_prev * x0_prev in double, or
 * x0 when x0_prev is NULL (the first step). */
orr_status orr_cuda_dpmpp_2m_step(float *x, const float *x_eff, const float *x0, const float *x0_prev, int64_t n,
                                  float ratio, float k_d, double w_cur, double w_prev, cudaStream_t stream);

/* orr_res_2ab_update on the float64 state x: from sigma s to t, x0_prev
 * (the estimate at s_prev) NULL on the first step. */
orr_status orr_cuda_res_2ab_update(double *x, const float *x0, const float *x0_prev, int64_t n, double s, double t,
                                   double s_prev, cudaStream_t stream);

/* The EDM denoiser's network input (edm.c orr_denoise):
 *   x_in = t < cond_frames ? aug / c_in_cond : x     (bf16-rounded when bf16)
 *   net_x[i] = net_x[n + i] = x_in * c_in            (bf16-rounded when bf16)
 * and net_t[0 .. 2B) = c_noise. x_in may equal x. */
orr_status orr_cuda_edm_input(float *x_in, float *net_x, float *net_t, const float *x, const float *aug,
                              orr_cuda_state_dims dims, float c_in_cond, float c_in, float c_noise, bool bf16,
                              cudaStream_t stream);

/* Its estimate from the network output: out_c and out_u (NULL without
 * guidance) bf16-rounded in place when bf16, then
 *   F  = out_u ? out_c + g (out_c - out_u) : out_c   (bf16-rounded when bf16)
 *   F  = t < cond_frames ? gt / c_out_cond - c_skip_cond * x_in : F
 *   x0 = c_skip * x_in + c_out * F
 * with F also stored to `guided` when it is not NULL. */
orr_status orr_cuda_edm_output(float *x0, float *guided, float *out_c, float *out_u, const float *x_in,
                               const float *gt, orr_cuda_state_dims dims, float g, float c_skip, float c_out,
                               float c_skip_cond, float c_out_cond, bool bf16, cudaStream_t stream);

/* The Transfer1 denoiser's network input (transfer_sample.c):
 * net_x[i] = net_x[n + i] = (t < cond_frames ? aug * inv_c_in : x) * c_in,
 * net_t[0 .. 2B) = c_noise. */
orr_status orr_cuda_transfer_input(float *net_x, float *net_t, const float *x, const float *aug,
                                   orr_cuda_state_dims dims, float inv_c_in, float c_in, float c_noise,
                                   cudaStream_t stream);

/* Its estimate: with xi = t < cond_frames ? aug * inv_c_in : x,
 *   x0_c = t < cond_frames ? gt : c_skip * xi + c_out * out_c, x0_u the same
 *   from out_u (NULL without guidance: x0 = x0_c),
 *   x0   = x0_c + g (x0_c - x0_u), then x0 * m / (m + 1e-6), m = merge[i % frame]
 * (merge_patches_into_video's mask of one tile). x0_cond, x0_uncond and
 * x0_guided (each may be NULL) receive the intermediate estimates. */
orr_status orr_cuda_transfer_output(float *x0, float *x0_cond, float *x0_uncond, float *x0_guided, const float *x,
                                    const float *aug, const float *gt, const float *out_c, const float *out_u,
                                    const float *merge, orr_cuda_state_dims dims, float inv_c_in, float c_skip,
                                    float c_out, float g, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_SAMPLER_STEP_H */
