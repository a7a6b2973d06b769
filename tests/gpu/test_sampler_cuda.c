/* The samplers with their state on cuda. The step kernels of
 * cuda/sampler_step.h against the cpu functions they mirror, on the same
 * inputs: bit for bit (Euler, both RES "2ab" updates in float64, DPM++(2M),
 * the bf16 rounding). One denoiser call with a device state: the network
 * input exactly the cpu's, the output and the estimate within 1e-4 (the
 * network's own difference). Whole runs of every sampler kind (Text2World,
 * Video2World with its condition frame, the bf16 emulation) against the
 * same runs on the cpu within 1e-3 of the largest value (f32 weights: the
 * device network differs by ~1e-6 per call, carried over the steps), with
 * `out` on either device and the preview seeing host tensors. Skipped (77)
 * without a usable device. */
#include <cuda_runtime_api.h>

#include "cuda/cuda_internal.h"
#include "cuda/sampler_step.h"
#include "models/dit.h"
#include "test_util.h"

static float *dev_copy(const void *host, size_t bytes) {
    void *d = NULL;
    CHECK(cudaMalloc(&d, bytes ? bytes : 16) == cudaSuccess);
    if (d && host && bytes) CHECK(cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice) == cudaSuccess);
    return d;
}

static void host_copy(void *host, const void *dev, size_t bytes) {
    CHECK(cudaStreamSynchronize(orr_cuda_stream()) == cudaSuccess);
    CHECK(cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
}

static void expect_same(const char *what, const void *got, const void *want, size_t bytes) {
    test_checks++;
    if (memcmp(got, want, bytes)) {
        test_failures++;
        fprintf(stderr, "%s: the device result differs from the cpu's\n", what);
    }
}

/* ---- the step kernels, bit for bit ------------------------------------------- */

static void test_steps(void) {
    enum { N = 100003 };
    cudaStream_t s = orr_cuda_stream();
    float *x = malloc(N * sizeof *x), *x0 = malloc(N * sizeof *x0), *x0p = malloc(N * sizeof *x0p);
    float *want = malloc(N * sizeof *want), *got = malloc(N * sizeof *got);
    double *xd = malloc(N * sizeof *xd), *xd_want = malloc(N * sizeof *xd_want), *xd_got = malloc(N * sizeof *xd);
    test_fill(x, N, 1);
    test_fill(x0, N, 2);
    test_fill(x0p, N, 3);
    for (int i = 0; i < N; i++) x[i] *= 40.0f, xd[i] = x[i] * 1.000001;
    float *dx = dev_copy(x, N * sizeof *x), *dx0 = dev_copy(x0, N * sizeof *x0), *dx0p = dev_copy(x0p, N * sizeof *x0p);
    float *dout = dev_copy(NULL, N * sizeof *dout);

    orr_euler_step(want, x, x0, N, 14.5f, 11.25f);
    CHECK_OK(orr_cuda_euler_step(dout, dx, dx0, N, 14.5f, 11.25f, s));
    host_copy(got, dout, N * sizeof *got);
    expect_same("euler_step", got, want, N * sizeof *got);

    /* RES: the first (Euler in x0 form) and a multistep update */
    double *dxd = (double *)dev_copy(xd, N * sizeof *xd);
    memcpy(xd_want, xd, N * sizeof *xd);
    orr_res_2ab_update(xd_want, x0, NULL, N, 80.0, 61.3, 0.0);
    orr_res_2ab_update(xd_want, x0p, x0, N, 61.3, 45.7, 80.0);
    CHECK_OK(orr_cuda_res_2ab_update(dxd, dx0, NULL, N, 80.0, 61.3, 0.0, s));
    CHECK_OK(orr_cuda_res_2ab_update(dxd, dx0p, dx0, N, 61.3, 45.7, 80.0, s));
    host_copy(xd_got, dxd, N * sizeof *xd_got);
    expect_same("res_2ab_update", xd_got, xd_want, N * sizeof *xd_got);

    /* DPM-Solver++(2M), sampler.c's mix */
    double w_cur = 1.3, w_prev = -0.3;
    float ratio = 0.8f, k_d = 0.2f;
    for (int i = 0; i < N; i++) {
        double denoised = w_cur * x0[i] + w_prev * x0p[i];
        want[i] = ratio * x[i] + k_d * (float)denoised;
    }
    CHECK_OK(orr_cuda_dpmpp_2m_step(dout, dx, dx0, dx0p, N, ratio, k_d, w_cur, w_prev, s));
    host_copy(got, dout, N * sizeof *got);
    expect_same("dpmpp_2m_step", got, want, N * sizeof *got);

    for (int i = 0; i < N; i++) want[i] = orr_bf16_to_f32(orr_f32_to_bf16(x[i]));
    CHECK_OK(orr_cuda_round_bf16(dx, N, s));
    host_copy(got, dx, N * sizeof *got);
    expect_same("round_bf16", got, want, N * sizeof *got);

    void *all[] = {dx, dx0, dx0p, dout, dxd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) cudaFree(all[i]);
    void *host[] = {x, x0, x0p, want, got, xd, xd_want, xd_got};
    for (size_t i = 0; i < sizeof host / sizeof host[0]; i++) free(host[i]);
}

/* ---- denoiser and whole runs ---------------------------------------------------- */

/* Head dim 64 (the tensor-core attention), 2 blocks; GeneralDIT, or with
 * the condition-mask channel VideoExtendGeneralDIT. */
#define NET_CONFIG(in_channels)                                                                                        \
    "{\"max_img_h\": 32, \"max_img_w\": 32, \"max_frames\": 8, \"in_channels\": " in_channels                         \
    ", \"out_channels\": 16, \"patch_spatial\": 2, \"patch_temporal\": 1, \"concat_padding_mask\": true,"              \
    " \"block_config\": \"FA-CA-MLP\", \"model_channels\": 128, \"num_blocks\": 2, \"num_heads\": 2,"                  \
    " \"mlp_ratio\": 4.0, \"block_x_format\": \"THWBD\", \"crossattn_emb_channels\": 64, \"pos_emb_cls\": \"rope3d\"," \
    " \"affline_emb_norm\": true, \"use_adaln_lora\": true, \"adaln_lora_dim\": 32,"                                   \
    " \"extra_per_block_abs_pos_emb\": true, \"extra_per_block_abs_pos_emb_type\": \"learnable\"}"

static const int64_t shape[5] = {1, 16, 3, 16, 16};

typedef struct setup {
    orr_dit *dit;
    orr_tensor *text, *latent, *noise;
    orr_diffusion_cond cond;
} setup;

static setup make_setup(bool video) {
    setup s;
    memset(&s, 0, sizeof s);
    CHECK_OK(orr_dit_create_random(&s.dit, video ? "VideoExtendGeneralDIT" : "GeneralDIT",
                                   video ? NET_CONFIG("17") : NET_CONFIG("16"), video ? 21 : 11));
    s.text = test_tensor_filled(ORR_F32, 3, (int64_t[]){1, 20, 64}, 5, 1.0f);
    orr_diffusion_cond_init(&s.cond);
    s.cond.text = s.text;
    if (video) {
        s.latent = test_tensor_filled(ORR_F32, 5, shape, 6, 1.0f);
        s.noise = test_tensor_filled(ORR_F32, 5, shape, 7, 1.0f);
        s.cond.condition_latent = s.latent;
        s.cond.augment_noise = s.noise;
        s.cond.condition_frames = 1;
    }
    return s;
}

static void free_setup(setup *s) {
    orr_dit_free(s->dit);
    orr_tensor_free(s->text);
    orr_tensor_free(s->latent);
    orr_tensor_free(s->noise);
}

/* One denoiser call from the same state on the cpu and on cuda, traced. */
static void test_denoise(bool video) {
    setup s = make_setup(video);
    if (!s.dit || !s.text) return;
    int64_t n = 1 * 16 * 3 * 16 * 16;
    enum { X_IN, NET_IN, OUT_C, OUT_U, GUIDED, X0, KEPT };
    orr_tensor *rec[2][KEPT] = {{NULL}};
    orr_tensor *x = test_tensor_filled(ORR_F32, 5, shape, 9, 30.0f);
    for (int dev = 0; dev < 2; dev++) {
        for (int k = 0; k < KEPT; k++) CHECK_OK(orr_tensor_empty(&rec[dev][k], ORR_F32, 5, shape));
        orr_device device = dev ? ORR_CUDA : ORR_CPU;
        CHECK_OK(orr_dit_to_device(s.dit, device, ORR_F32, ORR_DIT_RESIDENT));
        orr_denoiser d;
        orr_tensor *xs = NULL, *x0 = NULL, *x_eff = NULL;
        CHECK_OK(orr_tensor_to(&xs, x, device));
        CHECK_OK(orr_tensor_empty_on(device, &x0, ORR_F32, 5, shape));
        CHECK_OK(orr_tensor_empty_on(device, &x_eff, ORR_F32, 5, shape));
        CHECK_OK(orr_denoiser_init(&d, s.dit, &s.cond, shape, 0.5, false, NULL));
        denoise_trace tr = {rec[dev][X_IN], rec[dev][NET_IN], rec[dev][OUT_C], rec[dev][OUT_U], rec[dev][GUIDED]};
        if (xs && x0 && x_eff) CHECK_OK(orr_denoise(&d, x0->data, x_eff->data, xs->data, 20.0, 7.0, &tr));
        orr_tensor *back = NULL;
        if (x0) CHECK_OK(orr_tensor_to(&back, x0, ORR_CPU));
        if (back) CHECK_OK(orr_copy(rec[dev][X0], back));
        orr_denoiser_free(&d);
        orr_tensor *all[] = {xs, x0, x_eff, back};
        for (int i = 0; i < 4; i++) orr_tensor_free(all[i]);
    }
    static const char *names[KEPT] = {"x_in", "net_in", "out_cond", "out_uncond", "guided", "x0"};
    for (int k = 0; k < KEPT; k++) {
        char what[64];
        snprintf(what, sizeof what, "%s denoise: %s", video ? "v2w" : "t2w", names[k]);
        if (rec[0][k] && rec[1][k])
            CHECK_CLOSE(what, (float *)rec[1][k]->data, (float *)rec[0][k]->data, n, k <= NET_IN ? 0.0 : 1e-4);
    }
    for (int dev = 0; dev < 2; dev++)
        for (int k = 0; k < KEPT; k++) orr_tensor_free(rec[dev][k]);
    orr_tensor_free(x);
    free_setup(&s);
}

static int previews_on_host;
static void on_preview(void *user, int step, const orr_tensor *x, const orr_tensor *x0) {
    (void)user, (void)step;
    previews_on_host += x->device == ORR_CPU && x0->device == ORR_CPU;
}

/* A run on the cpu, then with the DiT on cuda and out on `out_device`. */
static void test_run(orr_sampler_kind kind, bool video, bool bf16, orr_device out_device) {
    setup s = make_setup(video);
    if (!s.dit || !s.text) return;
    orr_sampler_params p;
    orr_sampler_params_init(&p, kind);
    p.steps = 4;
    p.seed = 42;
    p.bf16 = bf16;
    orr_tensor *cpu = NULL, *out = NULL, *back = NULL;
    CHECK_OK(orr_tensor_empty(&cpu, ORR_F32, 5, shape));
    if (cpu) CHECK_OK(orr_dit_sample(s.dit, cpu, &s.cond, &p));
    CHECK_OK(orr_dit_to_device(s.dit, ORR_CUDA, ORR_F32, ORR_DIT_RESIDENT));
    p.preview = on_preview;
    previews_on_host = 0;
    CHECK_OK(orr_tensor_empty_on(out_device, &out, ORR_F32, 5, shape));
    if (out) CHECK_OK(orr_dit_sample(s.dit, out, &s.cond, &p));
    CHECK(previews_on_host == p.steps);
    if (out) CHECK_OK(orr_tensor_to(&back, out, ORR_CPU));
    static const char *kinds[] = {"euler", "heun", "res_2ab", "dpmpp_2m"};
    char what[96];
    snprintf(what, sizeof what, "%s %s%s, out on %s", kinds[kind], video ? "v2w" : "t2w", bf16 ? " bf16" : "",
             orr_device_name(out_device));
    /* bf16 emulation rounds the state: a one-ulp network difference can
     * flip a rounding (2^-8 relative) */
    if (back && cpu)
        CHECK_CLOSE(what, (const float *)back->data, (const float *)cpu->data, orr_tensor_numel(cpu),
                    bf16 ? 2e-2 : 1e-3);
    orr_tensor *all[] = {cpu, out, back};
    for (int i = 0; i < 3; i++) orr_tensor_free(all[i]);
    free_setup(&s);
}

int main(void) {
    if (!orr_cuda_available()) {
        printf("test_sampler_cuda: no usable cuda device: skipped\n");
        return 77;
    }
    test_steps();
    test_denoise(false);
    test_denoise(true);
    for (int k = ORR_SAMPLER_EULER; k <= ORR_SAMPLER_DPMPP_2M; k++)
        test_run((orr_sampler_kind)k, false, false, ORR_CUDA);
    test_run(ORR_SAMPLER_EULER, true, false, ORR_CPU);
    test_run(ORR_SAMPLER_RES_2AB, true, false, ORR_CUDA);
    test_run(ORR_SAMPLER_EULER, false, true, ORR_CUDA);
    return test_finish("test_sampler_cuda");
}
