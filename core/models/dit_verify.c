/* dit_verify.c — `orrery verify` runners for the DiT fixtures (GeneralDIT,
 * VideoExtendGeneralDIT): out = net(x, timesteps, crossattn_emb,
 * crossattn_mask, fps, padding_mask[, condition_video_input_mask]) with the
 * stage intermediates. The crossattn_mask input is read by nothing: the
 * official attention runs unmasked. */
#include <string.h>

#include "dit.h"

/* The network's config: `config` (network fixtures) or `dit_config`
 * (sampler fixtures), from whichever fixture file carries it. */
const char *orr_dit_fixture_config(const orr_fixture *fx) {
    const orr_safetensors *files[] = {fx->weights, fx->inputs, fx->outputs};
    static const char *keys[] = {"config", "dit_config"};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++) {
            const char *v = files[i] ? orr_st_metadata(files[i], keys[k]) : NULL;
            if (v) return v;
        }
    return NULL;
}

static orr_status optional_input(const orr_fixture *fx, const char *name, orr_tensor **out) {
    *out = NULL;
    return orr_st_has(fx->inputs, name) ? orr_st_get(fx->inputs, name, out) : ORR_OK;
}

static orr_status run(const orr_fixture *fx, orr_tensor_list *results, const char *network) {
    const char *config = orr_dit_fixture_config(fx);
    if (!config) return orr_error(ORR_ERR_FORMAT, "verify %s: no 'config' metadata in the fixture", network);
    orr_dit *dit = NULL;
    orr_tensor *x = NULL, *t = NULL, *ctx = NULL, *fps = NULL, *pmask = NULL, *cmask = NULL, *out = NULL;
    orr_status st = orr_dit_load(&dit, network, config, fx->weights);
    if (!st) st = orr_st_get(fx->inputs, "x", &x);
    if (!st) st = orr_st_get(fx->inputs, "timesteps", &t);
    if (!st) st = orr_st_get(fx->inputs, "crossattn_emb", &ctx);
    if (!st) st = optional_input(fx, "fps", &fps);
    if (!st) st = optional_input(fx, "padding_mask", &pmask);
    if (!st && dit->cfg.video_conditioned) st = orr_st_get(fx->inputs, "condition_video_input_mask", &cmask);
    if (!st) {
        int64_t shape[5] = {x->shape[0], dit->cfg.out_channels, x->ndim == 5 ? x->shape[2] : 0,
                            x->ndim == 5 ? x->shape[3] : 0, x->ndim == 5 ? x->shape[4] : 0};
        st = orr_tensor_empty(&out, ORR_F32, 5, shape);
    }
    if (!st) {
        orr_dit_inputs in = {x, t, ctx, fps, pmask, cmask};
        st = orr_dit_forward(dit, out, &in, results);
    }
    if (!st) {
        st = orr_tensor_list_add(results, "out", out);
        out = NULL;
    }
    orr_tensor *all[] = {x, t, ctx, fps, pmask, cmask, out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    orr_dit_free(dit);
    return st;
}

static orr_status run_general(const orr_fixture *fx, orr_tensor_list *results) {
    return run(fx, results, "GeneralDIT");
}

static orr_status run_video(const orr_fixture *fx, orr_tensor_list *results) {
    return run(fx, results, "VideoExtendGeneralDIT");
}

void orr_diffusion_register_verify(void) {
    orr_verify_register("GeneralDIT", run_general);
    orr_verify_register("VideoExtendGeneralDIT", run_video);
    orr_sampler_register_verify();
}
