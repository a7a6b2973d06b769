/* transfer.h — internals of Cosmos-Transfer1: the control branches
 * (GeneralDITEncoder), the MultiControlNet forward over the base DiT, the
 * weight maps, the sampling loop and the control spec.
 *
 * Official files (nvidia-cosmos/cosmos-transfer1): diffusion/networks/
 * general_dit_ctrl_enc.py, general_dit.py (x_ctrl), diffusion/model/
 * model_ctrl.py, diffusion/inference/inference_utils.py,
 * world_generation_pipeline.py. */
#ifndef ORR_TRANSFER_H
#define ORR_TRANSFER_H

#include "dit.h"
#include "json.h"

/* The hint MLP of GeneralDITEncoder: D -> 16 -> 16 -> 32 -> 32 -> 96 -> 96
 * -> 256 -> D, SiLU between. */
#define TRANSFER_HINT_LAYERS 8

/* One control branch: a VideoExtendGeneralDIT holding the branch's own
 * embeddings and its first blocks (no decode head), plus the hint path and
 * the zero-initialised projections. */
typedef struct transfer_branch {
    orr_control_kind kind;
    orr_dit *dit;
    int hint_channels;
    orr_tensor *hint_embed;                   /* x_embedder2.proj.1.weight [D, (hc+pad)*pt*ps*ps] */
    orr_tensor *hint_w[TRANSFER_HINT_LAYERS]; /* input_hint_block.{0,2,..,14}.weight */
    orr_tensor *hint_b[TRANSFER_HINT_LAYERS];
    orr_tensor **zero_w, **zero_b; /* zero_blocks.block{k}: [D, D], [D] per block */
    int64_t parameters;
} transfer_branch;

struct orr_transfer {
    orr_dit *base;
    transfer_branch branches[ORR_TRANSFER_MAX_CONTROLS];
    int n_branches;
};

/* The GeneralDITEncoder arguments beside the DiT's: the branch config
 * (its num_blocks cut to the control blocks, no decode head) and the
 * hint channels. */
orr_status orr_transfer_branch_config(dit_config *cfg, int *hint_channels, const char *config_json);

/* ---- weight maps (transfer_weights.c) ------------------------------------ */

/* torch.nn.functional.interpolate(mode="trilinear", align_corners=False) of
 * n volumes [T, H, W] to [t, h, w], in float32, or rounded to bf16 as
 * torch 1.13's CPU kernels do on a bf16 tensor: `corners` picks the
 * channels-last kernel's rounding, else the generic one's (see
 * transfer_weights.c). */
void orr_transfer_trilinear(float *out, const float *in, int64_t n, int64_t T, int64_t H, int64_t W, int64_t t,
                            int64_t h, int64_t w, bool bf16, bool corners);

/* ---- the denoiser of the sampling loop (transfer_sample.c) ---------------- */

/* What one x0_fn call may record (each NULL or a contiguous f32 state). */
typedef struct transfer_trace {
    orr_tensor *net_in_cond, *net_in_uncond, *net_out_cond, *net_out_uncond;
    orr_tensor *x0_cond, *x0_uncond, *x0_guided, *x0_merged;
} transfer_trace;

/* The denoiser works where the networks are (`device`): its tensors, the
 * scratch and the states it takes and gives are there. */
typedef struct transfer_denoiser {
    orr_transfer *tr;
    orr_device device;
    double sigma_data;
    int64_t shape[5]; /* B, C, T, H, W of the state */
    int64_t n;        /* its elements */
    /* the 2B network batch: conditioned items, then unconditioned ones */
    orr_tensor *net_x, *net_t, *net_out, *text, *fps, *cond_mask, *padding, *hint, *weights;
    orr_tensor *gt;      /* the condition latent (zeros when none) */
    orr_tensor *augment; /* (gt + a * noise) * c_in(a) */
    double augment_sigma;
    int condition_frames; /* latent frames conditioned on; 0 once sigma <= augment_sigma */
    float *scratch;       /* [n] the unconditioned x0, then the merge mask */
    float *merge;         /* [H*W] merge_patches_into_video's blending mask m of one tile */
} transfer_denoiser;

orr_status orr_transfer_denoiser_init(transfer_denoiser *d, orr_transfer *tr, const orr_transfer_cond *cond,
                                      const int64_t shape[5], const orr_sampler_params *p, orr_rng *rng);
void orr_transfer_denoiser_free(transfer_denoiser *d);
/* x0_fn(x, sigma) of model_ctrl.py with use_batch_processing: both passes,
 * the condition frames replaced, CFG on x0, then the one-tile merge. x0
 * and x on d->device; the trace's tensors on the cpu. */
orr_status orr_transfer_denoise(transfer_denoiser *d, float *x0, const float *x, double sigma, double guidance,
                                const transfer_trace *trace);
/* The RES "2ab" loop over `sigmas` (p->steps + 1) from the state x (on
 * d->device), which it overwrites with the sample. */
orr_status orr_transfer_sampler_run(transfer_denoiser *d, float *x, const double *sigmas, const orr_sampler_params *p);

/* ---- `orrery verify` ------------------------------------------------------- */

/* A network of a transfer fixture's base and its first n branches (all
 * when n < 0): base_model.net.*, net.hint_encoders.<i>.*. */
orr_status orr_transfer_fixture_network(const orr_fixture *fx, int n, orr_transfer **out);
void orr_transfer_register_verify(void);
void orr_preproc_register_verify(void);

#endif /* ORR_TRANSFER_H */
