/* Cosmos-Transfer1 on cuda against the same network on the cpu, with the
 * transfer_ctrl fixture's network and inputs (tests/data/transfer: the base
 * and the edge and vis branches, head dim 16): the forward's output and
 * every traced stage (the branches' embeddings, guided hints, blocks, zero
 * projections and weighted residuals, the summed x_ctrl, the base's blocks)
 * with f32 weights within 1e-4 of the largest |cpu value| (at least 1: the
 * device GEMMs and attention sum in another order), the streamed mode
 * within 1e-6 of the resident one, bf16 weights within 3e-2 of the cpu
 * with the same bf16 weights, scalar and absent weights, back on the cpu
 * the cpu's numbers again; the fixture's recorded output within 1e-4; a
 * 4-step transfer sample (RES 2ab, guidance, condition frame, weight maps)
 * within 1e-3 of the cpu's with its inputs on the host and on the device,
 * and one traced denoiser call; inputs on the wrong device and a base moved
 * alone refused. Skipped (77) without a usable device. */
#include "models/transfer.h"
#include "test_util.h"

#define DATA "data/transfer/"

static orr_tensor *get(const orr_safetensors *f, const char *name) {
    orr_tensor *t = NULL;
    CHECK_OK(orr_st_get(f, name, &t));
    return t;
}

/* The fixture's network: base_model.net.* and the edge and vis branches. */
static orr_transfer *network(const orr_safetensors *w) {
    const char *base = orr_st_metadata(w, "base_config"), *ctrl = orr_st_metadata(w, "ctrl_config");
    orr_transfer *tr = NULL;
    CHECK_OK(orr_transfer_create(&tr, base, w));
    static const orr_control_kind kinds[2] = {ORR_CONTROL_EDGE, ORR_CONTROL_VIS};
    for (int i = 0; tr && i < 2; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "net.hint_encoders.%d.", i);
        CHECK_OK(orr_transfer_add_control(tr, kinds[i], ctrl, w, prefix));
    }
    return tr;
}

/* x, timesteps, crossattn_emb, fps, padding_mask, condition mask, hints, weights */
enum { N_INPUTS = 8 };
typedef struct inputs {
    orr_tensor *t[N_INPUTS];
} inputs;

static inputs fixture_inputs(const orr_safetensors *d) {
    static const char *names[N_INPUTS] = {"x",           "timesteps",          "crossattn_emb",
                                          "fps",         "padding_mask",       "condition_video_input_mask",
                                          "control_input_multi", "control_weight_token"};
    inputs in = {{NULL}};
    for (int i = 0; i < N_INPUTS; i++) {
        orr_tensor *view = get(d, names[i]);
        if (view) CHECK_OK(orr_tensor_clone(&in.t[i], view, ORR_F32));
        orr_tensor_free(view);
    }
    return in;
}

static inputs inputs_on(const inputs *host, orr_device device) {
    inputs d = {{NULL}};
    for (int i = 0; i < N_INPUTS; i++)
        if (host->t[i]) CHECK_OK(orr_tensor_to(&d.t[i], host->t[i], device));
    return d;
}

static void free_inputs(inputs *in) {
    for (int i = 0; i < N_INPUTS; i++) orr_tensor_free(in->t[i]);
}

static orr_transfer_inputs as_transfer_inputs(const inputs *in, const orr_tensor *weights) {
    const orr_tensor *const *t = (const orr_tensor *const *)in->t;
    return (orr_transfer_inputs){{t[0], t[1], t[2], t[3], t[4], t[5]}, t[6], weights};
}

typedef struct result {
    orr_tensor *out; /* on the host */
    orr_tensor_list *trace;
} result;

/* One forward where tr is, with `weights` (an input of `in`'s device or
 * NULL); out and trace on the host. */
static result forward(orr_transfer *tr, const inputs *in, const orr_tensor *weights, bool traced) {
    result r = {NULL, NULL};
    const orr_tensor *x = in->t[0];
    if (!x) return r;
    orr_tensor *out = NULL;
    CHECK_OK(orr_tensor_empty_on(orr_transfer_device(tr), &out, ORR_F32, 5, x->shape));
    if (traced) CHECK_OK(orr_tensor_list_create(&r.trace));
    orr_transfer_inputs ti = as_transfer_inputs(in, weights);
    if (out) CHECK_OK(orr_transfer_forward(tr, out, &ti, r.trace));
    if (out) CHECK_OK(orr_tensor_to(&r.out, out, ORR_CPU));
    orr_tensor_free(out);
    return r;
}

static void free_result(result *r) {
    orr_tensor_free(r->out);
    orr_tensor_list_free(r->trace);
}

static void expect_close(const char *what, const result *got, const result *want, double tol) {
    char name[200];
    if (!got->out || !want->out) return;
    snprintf(name, sizeof name, "%s: out", what);
    CHECK_CLOSE(name, (const float *)got->out->data, (const float *)want->out->data, orr_tensor_numel(want->out), tol);
    int64_t stages = want->trace ? orr_tensor_list_count(want->trace) : 0;
    for (int64_t i = 0; got->trace && i < stages; i++) {
        const char *stage = orr_tensor_list_name(want->trace, i);
        const orr_tensor *w = orr_tensor_list_get(want->trace, i), *g = orr_tensor_list_find(got->trace, stage);
        snprintf(name, sizeof name, "%s: %s", what, stage);
        CHECK(g != NULL && orr_tensor_same_shape(g, w));
        if (g && orr_tensor_same_shape(g, w))
            CHECK_CLOSE(name, (const float *)g->data, (const float *)w->data, orr_tensor_numel(w), tol);
    }
    if (got->trace && stages) CHECK(orr_tensor_list_count(got->trace) == stages);
}

static void test_forward(orr_transfer *tr, const orr_safetensors *d) {
    inputs host = fixture_inputs(d);
    if (!host.t[0] || !host.t[7]) return;
    result cpu = forward(tr, &host, host.t[7], true);
    CHECK(cpu.trace && orr_tensor_list_find(cpu.trace, "branch1.residual.block1") &&
          orr_tensor_list_find(cpu.trace, "x_ctrl.block0"));

    /* the base alone on cuda: the branches are left behind, refused */
    CHECK_OK(orr_dit_to_device(orr_transfer_base(tr), ORR_CUDA, ORR_F32, ORR_DIT_RESIDENT));
    inputs dev = inputs_on(&host, ORR_CUDA);
    orr_tensor *out = NULL;
    CHECK_OK(orr_tensor_empty_on(ORR_CUDA, &out, ORR_F32, 5, host.t[0]->shape));
    orr_transfer_inputs ti = as_transfer_inputs(&dev, dev.t[7]);
    CHECK_FAILS(orr_transfer_forward(tr, out, &ti, NULL), ORR_ERR_ARGUMENT,
                "control 0 (edge) is on cpu but the base is on cuda");

    CHECK_OK(orr_transfer_to_device(tr, ORR_CUDA, ORR_F32, ORR_DIT_RESIDENT));
    CHECK(orr_transfer_device(tr) == ORR_CUDA);
    /* hints on the host, the network on cuda: refused */
    ti.latent_hint = host.t[6];
    CHECK_FAILS(orr_transfer_forward(tr, out, &ti, NULL), ORR_ERR_ARGUMENT,
                "latent_hint is on cpu but the network is on cuda");
    orr_tensor_free(out);

    result f32 = forward(tr, &dev, dev.t[7], true);
    expect_close("f32 resident", &f32, &cpu, 1e-4);
    orr_tensor *want = get(d, "out");
    if (want && f32.out)
        CHECK_CLOSE("f32 resident vs the fixture", (const float *)f32.out->data, (const float *)want->data,
                    orr_tensor_numel(want), 1e-4);
    orr_tensor_free(want);

    /* scalar weights and none, against the cpu */
    orr_tensor *scalars = NULL, *scalars_dev = NULL;
    CHECK_OK(orr_tensor_empty(&scalars, ORR_F32, 1, (int64_t[]){2}));
    if (scalars) {
        orr_tensor_set(scalars, 0, 0.5);
        orr_tensor_set(scalars, 1, 0.25);
        CHECK_OK(orr_tensor_to(&scalars_dev, scalars, ORR_CUDA));
    }
    result s_dev = forward(tr, &dev, scalars_dev, false), n_dev = forward(tr, &dev, NULL, false);

    CHECK_OK(orr_transfer_to_device(tr, ORR_CUDA, ORR_F32, ORR_DIT_STREAMED));
    for (int call = 0; call < 2; call++) {
        result s = forward(tr, &dev, dev.t[7], call == 0);
        expect_close(call ? "f32 streamed, call 1" : "f32 streamed, call 0", &s, &f32, 1e-6);
        free_result(&s);
    }

    /* back on the cpu with f32 weights: the cpu's numbers */
    CHECK_OK(orr_transfer_to_device(tr, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT));
    CHECK(orr_transfer_device(tr) == ORR_CPU);
    result back = forward(tr, &host, host.t[7], false);
    expect_close("back on the cpu", &back, &cpu, 1e-6);
    result s_cpu = forward(tr, &host, scalars, false), n_cpu = forward(tr, &host, NULL, false);
    expect_close("scalar weights", &s_dev, &s_cpu, 1e-4);
    expect_close("no weights", &n_dev, &n_cpu, 1e-4);

    /* the released models' dtype, against the cpu with the same weights */
    CHECK_OK(orr_transfer_to_device(tr, ORR_CPU, ORR_BF16, ORR_DIT_RESIDENT));
    result cpu_bf = forward(tr, &host, host.t[7], true);
    CHECK_OK(orr_transfer_to_device(tr, ORR_CUDA, ORR_BF16, ORR_DIT_RESIDENT));
    result bf = forward(tr, &dev, dev.t[7], true);
    expect_close("bf16 resident", &bf, &cpu_bf, 3e-2);
    CHECK_OK(orr_transfer_to_device(tr, ORR_CUDA, ORR_BF16, ORR_DIT_STREAMED));
    result bs = forward(tr, &dev, dev.t[7], false);
    expect_close("bf16 streamed", &bs, &bf, 1e-6);

    CHECK_OK(orr_transfer_to_device(tr, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT));
    result *all[] = {&cpu, &f32, &s_dev, &n_dev, &back, &s_cpu, &n_cpu, &cpu_bf, &bf, &bs};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free_result(all[i]);
    orr_tensor_free(scalars);
    orr_tensor_free(scalars_dev);
    free_inputs(&host);
    free_inputs(&dev);
}

/* The sampler's conditions from the cut transfer_sampler fixture. */
typedef struct sampling {
    orr_tensor *t[8]; /* text, neg_text, padding, hint, weights, condition latent, augment noise, x_T */
    orr_tensor *unit; /* x_T / sigma_max: the official start as unit noise */
    orr_transfer_cond cond;
    orr_sampler_params p;
} sampling;

static sampling sampling_inputs(const orr_safetensors *d, orr_device device) {
    static const char *names[8] = {"t5_text_embeddings", "neg_t5_text_embeddings", "padding_mask",
                                   "latent_hint",        "control_weight",         "condition_latent",
                                   "augment_noise",      "x_T"};
    sampling s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 8; i++) {
        orr_tensor *view = get(d, names[i]);
        if (view) CHECK_OK(orr_tensor_to(&s.t[i], view, device));
        orr_tensor_free(view);
    }
    orr_transfer_cond_init(&s.cond);
    s.cond.base.text = s.t[0];
    s.cond.base.neg_text = s.t[1];
    s.cond.base.fps = 30;
    s.cond.base.padding_mask = s.t[2];
    s.cond.latent_hint = s.t[3];
    s.cond.control_weight = s.t[4];
    s.cond.base.condition_latent = s.t[5];
    s.cond.base.condition_frames = 1;
    s.cond.base.augment_noise = s.t[6];
    orr_transfer_sampler_params_init(&s.p);
    s.p.steps = 4;
    if (s.t[7]) {
        CHECK_OK(orr_tensor_empty_on(device, &s.unit, ORR_F32, 5, s.t[7]->shape));
        if (s.unit) CHECK_OK(orr_affine(s.unit, s.t[7], 1.0f / 80.0f, 0.0f));
    }
    s.p.init_noise = s.unit;
    return s;
}

static void free_sampling(sampling *s) {
    for (int i = 0; i < 8; i++) orr_tensor_free(s->t[i]);
    orr_tensor_free(s->unit);
}

static orr_tensor *sample(orr_transfer *tr, const sampling *s, orr_device out_device) {
    orr_tensor *out = NULL, *host = NULL;
    if (!s->t[7]) return NULL;
    CHECK_OK(orr_tensor_empty_on(out_device, &out, ORR_F32, 5, s->t[7]->shape));
    if (out) CHECK_OK(orr_transfer_sample(tr, out, &s->cond, &s->p));
    if (out) CHECK_OK(orr_tensor_to(&host, out, ORR_CPU));
    orr_tensor_free(out);
    return host;
}

static int previews;
static void on_preview(void *user, int step, const orr_tensor *x, const orr_tensor *x0) {
    (void)user, (void)step;
    previews += x->device == ORR_CPU && x0->device == ORR_CPU;
}

/* The traced x0_guided of denoiser call 2 from x_T (host trace tensors). */
static orr_tensor *traced_call(orr_transfer *tr, const sampling *s) {
    transfer_denoiser dn;
    double sigmas[5];
    orr_tensor *x = NULL, *x0 = NULL, *guided = NULL;
    CHECK_OK(orr_sampler_sigmas(&s->p, sigmas, 5));
    CHECK_OK(orr_transfer_denoiser_init(&dn, tr, &s->cond, s->t[7]->shape, &s->p, NULL));
    CHECK_OK(orr_tensor_to(&x, s->t[7], orr_transfer_device(tr)));
    CHECK_OK(orr_tensor_empty_on(orr_transfer_device(tr), &x0, ORR_F32, 5, s->t[7]->shape));
    CHECK_OK(orr_tensor_empty(&guided, ORR_F32, 5, s->t[7]->shape));
    if (x && x0 && guided) {
        transfer_trace trc = {0};
        trc.x0_guided = guided;
        CHECK_OK(orr_transfer_denoise(&dn, x0->data, x->data, sigmas[2], 5.0, &trc));
    }
    orr_transfer_denoiser_free(&dn);
    orr_tensor_free(x);
    orr_tensor_free(x0);
    return guided;
}

static void test_sample(orr_transfer *tr, const orr_safetensors *d) {
    sampling host = sampling_inputs(d, ORR_CPU);
    if (!host.t[7]) return;
    orr_tensor *cpu = sample(tr, &host, ORR_CPU), *cpu_call = traced_call(tr, &host);

    CHECK_OK(orr_transfer_to_device(tr, ORR_CUDA, ORR_F32, ORR_DIT_RESIDENT));
    host.p.preview = on_preview;
    previews = 0;
    orr_tensor *from_host = sample(tr, &host, ORR_CUDA);
    CHECK(previews == host.p.steps);
    host.p.preview = NULL;
    sampling dev = sampling_inputs(d, ORR_CUDA);
    orr_tensor *on_dev = sample(tr, &dev, ORR_CPU), *dev_call = traced_call(tr, &dev);
    int64_t n = orr_tensor_numel(host.t[7]);
    if (cpu && from_host)
        CHECK_CLOSE("sample, inputs on the host", (float *)from_host->data, (float *)cpu->data, n, 1e-3);
    if (cpu && on_dev) CHECK_CLOSE("sample, inputs on cuda", (float *)on_dev->data, (float *)cpu->data, n, 1e-3);
    if (cpu_call && dev_call)
        CHECK_CLOSE("traced x0_guided", (float *)dev_call->data, (float *)cpu_call->data, n, 1e-4);

    CHECK_OK(orr_transfer_to_device(tr, ORR_CPU, ORR_F32, ORR_DIT_RESIDENT));
    orr_tensor *all[] = {cpu, cpu_call, from_host, on_dev, dev_call};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    free_sampling(&host);
    free_sampling(&dev);
}

int main(void) {
    if (!orr_cuda_available()) {
        printf("test_transfer_cuda: no usable cuda device: skipped\n");
        return 77;
    }
    orr_safetensors *w = NULL, *ctrl = NULL, *smp = NULL;
    CHECK_OK(orr_st_open(DATA "weights.safetensors", &w));
    CHECK_OK(orr_st_open(DATA "ctrl.safetensors", &ctrl));
    CHECK_OK(orr_st_open(DATA "sampler.safetensors", &smp));
    orr_transfer *tr = w ? network(w) : NULL;
    if (tr && ctrl) test_forward(tr, ctrl);
    if (tr && smp) test_sample(tr, smp);
    orr_transfer_free(tr);
    orr_st_close(w);
    orr_st_close(ctrl);
    orr_st_close(smp);
    return test_finish("test_transfer_cuda");
}
