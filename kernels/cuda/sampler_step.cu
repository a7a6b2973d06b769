// cuda/sampler_step.cu — the samplers' state updates on the GPU (contracts
// in cuda/sampler_step.h). Every operation is an explicit round-to-nearest
// intrinsic (__fadd_rn, __fmul_rn, __dmul_rn, ...): nvcc would otherwise
// fuse a*b + c into one FMA, and the cpu code these mirror rounds each
// product and each sum. Each kernel is one memory-bound pass over the state.
#include <cuda_bf16.h>
#include <math.h>

#include "cuda/cuda_internal.h"
#include "cuda/grid.cuh"
#include "cuda/sampler_step.h"

extern "C" {
#include "internal.h"
}

namespace {

constexpr int64_t kMaxStepBlocks = 65535;

int step_grid(int64_t n) { return grid_for(n, kThreads, kMaxStepBlocks); }

__device__ float round_bf16(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

// Whether element i of a [B, C, T, frame] state lies on a condition frame.
__device__ bool on_condition_frame(int64_t i, const orr_cuda_state_dims &d) {
    return (i / d.frame) % d.T < d.cond_frames;
}

int64_t state_numel(const orr_cuda_state_dims &d) { return d.B * d.C * d.T * d.frame; }

bool bad_dims(const orr_cuda_state_dims &d) {
    return d.B < 0 || d.C < 0 || d.T < 0 || d.frame < 0 || d.cond_frames < 0;
}

orr_status dims_error(const char *op, const orr_cuda_state_dims &d) {
    return orr_error(ORR_ERR_ARGUMENT, "cuda %s: state [%lld,%lld,%lld,%lld] with %lld condition frames", op,
                     (long long)d.B, (long long)d.C, (long long)d.T, (long long)d.frame, (long long)d.cond_frames);
}

__global__ void round_bf16_kernel(float *x, int64_t n) {
    for (int64_t i = thread_index(); i < n; i += thread_count()) x[i] = round_bf16(x[i]);
}

__global__ void euler_kernel(float *x_next, const float *x, const float *x0, int64_t n, float sigma, float dt) {
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        const float derivative = __fdiv_rn(__fsub_rn(x[i], x0[i]), sigma);
        x_next[i] = __fadd_rn(x[i], __fmul_rn(derivative, dt));
    }
}

__global__ void heun_kernel(float *x, const float *x_eff, const float *x0, const float *x1, const float *x1_0,
                            int64_t n, float sigma, float sigma_next, float dt) {
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        const float d1 = __fdiv_rn(__fsub_rn(x_eff[i], x0[i]), sigma);
        const float d2 = __fdiv_rn(__fsub_rn(x1[i], x1_0[i]), sigma_next);
        x[i] = __fadd_rn(x_eff[i], __fmul_rn(__fmul_rn(dt, 0.5f), __fadd_rn(d1, d2)));
    }
}

__global__ void dpmpp_2m_kernel(float *x, const float *x_eff, const float *x0, const float *x0_prev, int64_t n,
                                float ratio, float k_d, double w_cur, double w_prev) {
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        const double denoised =
            x0_prev ? __dadd_rn(__dmul_rn(w_cur, (double)x0[i]), __dmul_rn(w_prev, (double)x0_prev[i])) : x0[i];
        x[i] = __fadd_rn(__fmul_rn(ratio, x_eff[i]), __fmul_rn(k_d, (float)denoised));
    }
}

__global__ void res_first_kernel(double *x, const float *x0, int64_t n, double cx0, double cx) {
    for (int64_t i = thread_index(); i < n; i += thread_count())
        x[i] = __dadd_rn(__dmul_rn(cx0, (double)x0[i]), __dmul_rn(cx, x[i]));
}

__global__ void res_multistep_kernel(double *x, const float *x0, const float *x0_prev, int64_t n, double decay,
                                     double h, double b1, double b2) {
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        const double mix = __dadd_rn(__dmul_rn(b1, (double)x0[i]), __dmul_rn(b2, (double)x0_prev[i]));
        x[i] = __dadd_rn(__dmul_rn(decay, x[i]), __dmul_rn(h, mix));
    }
}

__global__ void edm_input_kernel(float *x_in, float *net_x, float *net_t, const float *x, const float *aug,
                                 orr_cuda_state_dims d, int64_t n, float c_in_cond, float c_in, float c_noise,
                                 bool bf16) {
    const int64_t i0 = thread_index();
    if (i0 < 2 * d.B) net_t[i0] = c_noise;
    for (int64_t i = i0; i < n; i += thread_count()) {
        float v = x[i];
        if (bf16) v = round_bf16(v);
        if (on_condition_frame(i, d)) {
            v = __fdiv_rn(aug[i], c_in_cond);
            if (bf16) v = round_bf16(v);
        }
        x_in[i] = v;
        float net = __fmul_rn(v, c_in);
        if (bf16) net = round_bf16(net);
        net_x[i] = net;
        net_x[n + i] = net;
    }
}

__global__ void edm_output_kernel(float *x0, float *guided, float *out_c, float *out_u, const float *x_in,
                                  const float *gt, orr_cuda_state_dims d, int64_t n, float g, float c_skip,
                                  float c_out, float c_skip_cond, float c_out_cond, bool bf16) {
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        float oc = out_c[i];
        if (bf16) out_c[i] = oc = round_bf16(oc);
        float F = oc;
        if (out_u) {
            float ou = out_u[i];
            if (bf16) out_u[i] = ou = round_bf16(ou);
            F = __fadd_rn(oc, __fmul_rn(g, __fsub_rn(oc, ou)));
        }
        if (bf16) F = round_bf16(F);
        if (on_condition_frame(i, d)) F = __fsub_rn(__fdiv_rn(gt[i], c_out_cond), __fmul_rn(c_skip_cond, x_in[i]));
        if (guided) guided[i] = F;
        x0[i] = __fadd_rn(__fmul_rn(c_skip, x_in[i]), __fmul_rn(c_out, F));
    }
}

__global__ void transfer_input_kernel(float *net_x, float *net_t, const float *x, const float *aug,
                                      orr_cuda_state_dims d, int64_t n, float inv_c_in, float c_in, float c_noise) {
    const int64_t i0 = thread_index();
    if (i0 < 2 * d.B) net_t[i0] = c_noise;
    for (int64_t i = i0; i < n; i += thread_count()) {
        const float xi = on_condition_frame(i, d) ? __fmul_rn(aug[i], inv_c_in) : x[i];
        const float net = __fmul_rn(xi, c_in);
        net_x[i] = net;
        net_x[n + i] = net;
    }
}

__global__ void transfer_output_kernel(float *x0, float *x0_cond, float *x0_uncond, float *x0_guided, const float *x,
                                       const float *aug, const float *gt, const float *out_c, const float *out_u,
                                       const float *merge, orr_cuda_state_dims d, int64_t n, float inv_c_in,
                                       float c_skip, float c_out, float g) {
    for (int64_t i = thread_index(); i < n; i += thread_count()) {
        const bool cond = on_condition_frame(i, d);
        const float xi = cond ? __fmul_rn(aug[i], inv_c_in) : x[i];
        const float skip = __fmul_rn(c_skip, xi);
        float v = cond ? gt[i] : __fadd_rn(skip, __fmul_rn(c_out, out_c[i]));
        if (x0_cond) x0_cond[i] = v;
        if (out_u) {
            const float u = cond ? gt[i] : __fadd_rn(skip, __fmul_rn(c_out, out_u[i]));
            if (x0_uncond) x0_uncond[i] = u;
            v = __fadd_rn(v, __fmul_rn(g, __fsub_rn(v, u)));
        } else if (x0_uncond) {
            x0_uncond[i] = v;
        }
        if (x0_guided) x0_guided[i] = v;
        const float m = merge[i % d.frame];
        x0[i] = __fdiv_rn(__fmul_rn(v, m), __fadd_rn(m, 1e-6f));
    }
}

} // namespace

extern "C" orr_status orr_cuda_round_bf16(float *x, int64_t n, cudaStream_t stream) {
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda round_bf16: n = %lld", (long long)n);
    if (n == 0) return ORR_OK;
    round_bf16_kernel<<<step_grid(n), kThreads, 0, stream>>>(x, n);
    return orr_cuda_check_launch("round_bf16");
}

extern "C" orr_status orr_cuda_euler_step(float *x_next, const float *x, const float *x0, int64_t n, float sigma,
                                          float sigma_next, cudaStream_t stream) {
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda euler_step: n = %lld", (long long)n);
    if (n == 0) return ORR_OK;
    euler_kernel<<<step_grid(n), kThreads, 0, stream>>>(x_next, x, x0, n, sigma, sigma_next - sigma);
    return orr_cuda_check_launch("euler_step");
}

extern "C" orr_status orr_cuda_heun_correct(float *x, const float *x_eff, const float *x0, const float *x1,
                                            const float *x1_0, int64_t n, float sigma, float sigma_next, float dt,
                                            cudaStream_t stream) {
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda heun_correct: n = %lld", (long long)n);
    if (n == 0) return ORR_OK;
    heun_kernel<<<step_grid(n), kThreads, 0, stream>>>(x, x_eff, x0, x1, x1_0, n, sigma, sigma_next, dt);
    return orr_cuda_check_launch("heun_correct");
}

extern "C" orr_status orr_cuda_dpmpp_2m_step(float *x, const float *x_eff, const float *x0, const float *x0_prev,
                                             int64_t n, float ratio, float k_d, double w_cur, double w_prev,
                                             cudaStream_t stream) {
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda dpmpp_2m_step: n = %lld", (long long)n);
    if (n == 0) return ORR_OK;
    dpmpp_2m_kernel<<<step_grid(n), kThreads, 0, stream>>>(x, x_eff, x0, x0_prev, n, ratio, k_d, w_cur, w_prev);
    return orr_cuda_check_launch("dpmpp_2m_step");
}

extern "C" orr_status orr_cuda_res_2ab_update(double *x, const float *x0, const float *x0_prev, int64_t n, double s,
                                              double t, double s_prev, cudaStream_t stream) {
    if (n < 0) return orr_error(ORR_ERR_ARGUMENT, "cuda res_2ab_update: n = %lld", (long long)n);
    if (n == 0) return ORR_OK;
    // the coefficients as orr_res_2ab_update computes them
    if (!x0_prev) {
        const double cx0 = (s - t) / s, cx = t / s;
        res_first_kernel<<<step_grid(n), kThreads, 0, stream>>>(x, x0, n, cx0, cx);
        return orr_cuda_check_launch("res_2ab_update");
    }
    const double ls = -log(s), lt = -log(t), lm = -log(s_prev);
    const double h = lt - ls, c2 = (lm - ls) / h;
    const double phi1 = expm1(-h) / -h, phi2 = (phi1 - 1.0) / -h;
    double b1 = phi1 - phi2 / c2, b2 = phi2 / c2;
    if (isnan(b1)) b1 = 0.0;
    if (isnan(b2)) b2 = 0.0;
    res_multistep_kernel<<<step_grid(n), kThreads, 0, stream>>>(x, x0, x0_prev, n, exp(-h), h, b1, b2);
    return orr_cuda_check_launch("res_2ab_update");
}

extern "C" orr_status orr_cuda_edm_input(float *x_in, float *net_x, float *net_t, const float *x, const float *aug,
                                         orr_cuda_state_dims dims, float c_in_cond, float c_in, float c_noise,
                                         bool bf16, cudaStream_t stream) {
    if (bad_dims(dims)) return dims_error("edm_input", dims);
    const int64_t n = state_numel(dims), work = n > 2 * dims.B ? n : 2 * dims.B;
    if (work == 0) return ORR_OK;
    edm_input_kernel<<<step_grid(work), kThreads, 0, stream>>>(x_in, net_x, net_t, x, aug, dims, n, c_in_cond, c_in,
                                                              c_noise, bf16);
    return orr_cuda_check_launch("edm_input");
}

extern "C" orr_status orr_cuda_edm_output(float *x0, float *guided, float *out_c, float *out_u, const float *x_in,
                                          const float *gt, orr_cuda_state_dims dims, float g, float c_skip,
                                          float c_out, float c_skip_cond, float c_out_cond, bool bf16,
                                          cudaStream_t stream) {
    if (bad_dims(dims)) return dims_error("edm_output", dims);
    const int64_t n = state_numel(dims);
    if (n == 0) return ORR_OK;
    edm_output_kernel<<<step_grid(n), kThreads, 0, stream>>>(x0, guided, out_c, out_u, x_in, gt, dims, n, g, c_skip,
                                                            c_out, c_skip_cond, c_out_cond, bf16);
    return orr_cuda_check_launch("edm_output");
}

extern "C" orr_status orr_cuda_transfer_input(float *net_x, float *net_t, const float *x, const float *aug,
                                              orr_cuda_state_dims dims, float inv_c_in, float c_in, float c_noise,
                                              cudaStream_t stream) {
    if (bad_dims(dims)) return dims_error("transfer_input", dims);
    const int64_t n = state_numel(dims), work = n > 2 * dims.B ? n : 2 * dims.B;
    if (work == 0) return ORR_OK;
    transfer_input_kernel<<<step_grid(work), kThreads, 0, stream>>>(net_x, net_t, x, aug, dims, n, inv_c_in, c_in,
                                                                   c_noise);
    return orr_cuda_check_launch("transfer_input");
}

extern "C" orr_status orr_cuda_transfer_output(float *x0, float *x0_cond, float *x0_uncond, float *x0_guided,
                                               const float *x, const float *aug, const float *gt, const float *out_c,
                                               const float *out_u, const float *merge, orr_cuda_state_dims dims,
                                               float inv_c_in, float c_skip, float c_out, float g,
                                               cudaStream_t stream) {
    if (bad_dims(dims)) return dims_error("transfer_output", dims);
    const int64_t n = state_numel(dims);
    if (n == 0) return ORR_OK;
    transfer_output_kernel<<<step_grid(n), kThreads, 0, stream>>>(x0, x0_cond, x0_uncond, x0_guided, x, aug, gt, out_c,
                                                                 out_u, merge, dims, n, inv_c_in, c_skip, c_out, g);
    return orr_cuda_check_launch("transfer_output");
}
