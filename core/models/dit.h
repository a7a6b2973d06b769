/* dit.h — internals of the Cosmos-Predict1 diffusion transformer
 * (GeneralDIT / VideoExtendGeneralDIT) and of the samplers built on it.
 *
 * Official files: diffusion/networks/general_dit.py,
 * general_dit_video_conditioned.py, diffusion/module/{blocks,attention,
 * position_embedding}.py; the samplers: diffusion/model/model_{t2w,v2w}.py,
 * diffusers' scheduling_edm_euler.py, diffusion/modules/res_sampler.py. */
#ifndef ORR_DIT_H
#define ORR_DIT_H

#include "internal.h"

#define ORR_DIT_MAX_SUBBLOCKS 8
/* VideoExtendGeneralDIT's signature default: 16 latent channels + the mask. */
#define ORR_DIT_V2W_IN_CHANNELS (16 + 1)

typedef enum dit_subblock_kind { DIT_FULL_ATTN, DIT_CROSS_ATTN, DIT_MLP } dit_subblock_kind;

/* The constructor arguments that change the numbers (the rest of the
 * official signature is accepted and ignored, see dit_config.c). */
typedef struct dit_config {
    bool video_conditioned;    /* VideoExtendGeneralDIT: x gains the condition-mask channel */
    int max_img_h, max_img_w, max_frames;
    int in_channels;           /* incl. the condition mask for Video2World */
    int out_channels;
    int patch_spatial, patch_temporal;
    bool concat_padding_mask;
    int n_subblocks;
    dit_subblock_kind subblocks[ORR_DIT_MAX_SUBBLOCKS];
    int model_channels, num_blocks, num_heads;
    int mlp_hidden;            /* int(model_channels * mlp_ratio) */
    bool block_x_thwbd;        /* block intermediates laid out T,H,W,B,D */
    int crossattn_channels;
    bool affline_emb_norm;
    bool use_adaln_lora;
    int adaln_lora_dim;
    double rope_ratio_h, rope_ratio_w, rope_ratio_t;
    bool extra_pos_emb;        /* the learnable per-block absolute embedding */
    bool no_final_layer;       /* a control branch (transfer*.c): its decode head is never run or loaded */
} dit_config;

/* The released Cosmos-Predict1-7B-Text2World network's constructor
 * arguments (FADITV2Config: width 4096, 28 blocks of 32 heads, AdaLN-LoRA
 * 256, tables for 128 x 240 x 240 latents). */
extern const char orr_dit_config_7b_text2world[];

/* Parses and validates a config JSON object for `network`. */
orr_status orr_dit_config_parse(dit_config *cfg, const char *network, const char *json);

/* Position-table sizes of the official embedders. */
int orr_dit_len_t(const dit_config *cfg);
int orr_dit_len_h(const dit_config *cfg);
int orr_dit_len_w(const dit_config *cfg);
/* The most latent frames (after patching) the position tables cover. */
int orr_dit_max_tp(const dit_config *cfg);

/* AdaLN modulation: SiLU, then Linear(D, rank) and Linear(rank, k*D) with
 * AdaLN-LoRA, or one Linear(D, k*D) without. */
typedef struct dit_adaln {
    orr_tensor *w1, *w2; /* w2 NULL without LoRA */
} dit_adaln;

typedef struct dit_subblock {
    dit_subblock_kind kind;
    dit_adaln adaln;
    orr_tensor *q, *k, *v, *out, *q_norm, *k_norm; /* attention */
    orr_tensor *fc1, *fc2;                         /* MLP */
} dit_subblock;

typedef struct dit_block {
    dit_subblock sub[ORR_DIT_MAX_SUBBLOCKS];
} dit_block;

struct orr_dit {
    dit_config cfg;
    orr_tensor *patch_embed;                  /* x_embedder.proj.1.weight [D, F] */
    orr_tensor *pos_t, *pos_h, *pos_w;        /* extra_pos_embedder.pos_emb_* */
    orr_tensor *t_fc1, *t_fc1_bias, *t_fc2, *t_fc2_bias; /* t_embedder.1 */
    orr_tensor *affline_norm;
    dit_block *blocks;
    dit_adaln final_adaln;
    orr_tensor *final_linear;
    int64_t parameters;
    orr_arena *arena;                         /* activations, sized per input shape */
    /* the position tables of the last input shape, kept across calls:
     * [N, D] learnable embedding, [N, head_dim] RoPE angles, their cos and
     * sin [N, head_dim/2] */
    struct {
        int64_t tp, hp, wp;
        float fps;
        bool has_fps;
        float *data;
        size_t bytes;
    } pos;
    /* the cross-attention keys and values of the last text embedding, kept
     * across calls (a sampler's text does not change between steps): per
     * cross-attention sub-block K then V, [B, heads, L, head_dim] each, and
     * a copy of the embedding they came from; valid when B > 0 */
    struct {
        int64_t B, L;
        float *data, *ctx;
        size_t bytes;
    } kv;
    /* where the weights are (orr_dit_to_device): the big matrices in
     * `dtype` on `device`, or with ORR_DIT_STREAMED the blocks' in pinned
     * host memory; the norm weights, biases and position tables stay f32 */
    orr_device device;
    orr_dtype dtype;
    orr_dit_memory_mode mode;
    struct dit_stream *stream; /* ORR_DIT_STREAMED: the pinned blocks (dit_stream.c) */
    struct dit_cuda *cuda;     /* the device forward's buffers and caches (dit_cuda.c) */
};

/* The sizes of one forward, from its inputs. */
typedef struct dit_dims {
    int64_t B, T, H, W, tp, hp, wp, N, M, D, heads, dh, L;
} dit_dims;
/* Validates a forward's inputs (all on the DiT's device) and output. */
orr_status orr_dit_check_inputs(const orr_dit *dit, const orr_tensor *out, const orr_dit_inputs *in, bool blocks_only,
                                dit_dims *d);
/* Bytes of the cpu forward's activation arena. */
size_t orr_dit_cpu_activation_bytes(const dit_config *c, const dit_dims *d);
/* Floats of the cross-attention key/value cache for d's batch and text. */
int64_t orr_dit_kv_floats(const dit_config *c, const dit_dims *d);

/* A forward with hooks, for networks built around the DiT (the Transfer1
 * control branches and their base, transfer*.c). after_block (may be NULL)
 * runs after block i with the residual stream x [B, N, D] (token-major, N
 * in (t h w) order; f32 on the DiT's device, queued work pending on cuda),
 * after the block's trace, and may change it.
 * blocks_only stops after the blocks: no final layer, and `out` is unused
 * (may be NULL). */
typedef struct dit_hooks {
    orr_status (*after_block)(void *user, int block, float *x, int64_t B, int64_t N, int64_t D);
    void *user;
    bool blocks_only;
} dit_hooks;
orr_status orr_dit_forward_hooked(orr_dit *dit, orr_tensor *out, const orr_dit_inputs *in, orr_tensor_list *trace,
                                  const dit_hooks *hooks);

/* ---- the device forward (dit_cuda.c, dit_stream.c; ORR_HAVE_CUDA) ----------- */

/* A sub-block's matrices (the GEMM weights), in a fixed order; NULL slots
 * where its kind has none. */
enum { DIT_BLOCK_MATRICES = 8 };
void orr_dit_block_matrices(dit_subblock *s, orr_tensor **slots[DIT_BLOCK_MATRICES]);

/* The device forward's activation buffers, carved from one arena in this
 * order: the f32 residual stream x [M, D]; h [M, D] (the sub-block input,
 * then its output); scratch (the projections and attention heads, 5
 * buffers of `attn` elements, or the MLP's hidden layer, or the patches,
 * or the f32 final projection); the text in the matrices' dtype; the
 * timestep and AdaLN vectors; the NaN counters. "dt" buffers hold the
 * matrices' dtype (the GEMMs' inputs), the others f32. */
enum dit_cuda_buffer {
    DCB_X, DCB_H, DCB_SCRATCH, DCB_CTX, DCB_T_SIN, DCB_T_SIN_DT, DCB_EMB, DCB_EMB_SILU_DT, DCB_LORA, DCB_MOD,
    DCB_HIDDEN, DCB_HIDDEN_DT, DCB_COUNTS, DIT_CUDA_BUFFERS
};
/* Each buffer's bytes (a multiple of 256), and the elements between the
 * attention buffers in scratch. */
void orr_dit_cuda_buffers(const dit_config *c, const dit_dims *d, orr_dtype dtype, size_t bytes[DIT_CUDA_BUFFERS],
                          int64_t *attn);
/* The sum of those, and the caches kept between calls (RoPE tables,
 * cross-attention keys and values with the text they came from). */
size_t orr_dit_cuda_activation_bytes(const dit_config *c, const dit_dims *d, orr_dtype dtype);
size_t orr_dit_cuda_cache_bytes(const dit_config *c, const dit_dims *d, orr_dtype dtype);
/* orr_dit_memory_estimate from a config alone (no weights needed). */
orr_status orr_dit_memory_estimate_config(const dit_config *c, orr_device device, orr_dtype dtype,
                                          orr_dit_memory_mode mode, const int64_t x_shape[5], int64_t text_len,
                                          orr_dit_memory *out);
#ifdef ORR_HAVE_CUDA
/* orr_dit_forward_hooked for a DiT on cuda, its inputs checked into d; the
 * hooks' x is a device pointer. */
orr_status orr_dit_forward_cuda(orr_dit *dit, orr_tensor *out, const orr_dit_inputs *in, orr_tensor_list *trace,
                                const dit_hooks *hooks, const dit_dims *d);
/* Frees the device buffers and caches of dit->cuda. */
void orr_dit_cuda_release(orr_dit *dit);

/* ORR_DIT_STREAMED: the blocks' matrices in one pinned host buffer (the
 * block tensors are views of it), copied block by block into two device
 * buffers on a copy stream while the previous block computes. */
typedef struct dit_stream dit_stream;
/* Pinned memory and device buffers for the blocks' matrices of `dit` in
 * `dtype`, and *views [num_blocks * ORR_DIT_MAX_SUBBLOCKS * DIT_BLOCK_MATRICES]
 * of it in the order of orr_dit_block_matrices (NULL where a sub-block has
 * no such matrix): the caller fills them. */
orr_status orr_dit_stream_create(const orr_dit *dit, orr_dtype dtype, dit_stream **out, orr_tensor **views);
void orr_dit_stream_free(dit_stream *s);
/* Bytes of one block's weights as staged (aligned), and of all blocks. */
size_t orr_dit_stream_block_bytes(const dit_stream *s);
/* Queues the copy of block i's weights into its buffer (i % 2), after the
 * work that last used that buffer. */
orr_status orr_dit_stream_prefetch(dit_stream *s, int block);
/* Makes the compute stream wait for block i's copy; *base receives the
 * device address of block i's weights, and t's device copy is at
 * orr_dit_stream_ptr(s, block, base, t). */
orr_status orr_dit_stream_acquire(dit_stream *s, int block, char **base);
const void *orr_dit_stream_ptr(const dit_stream *s, int block, char *base, const orr_tensor *t);
/* Marks block i's buffer free again once the work queued so far is done. */
orr_status orr_dit_stream_release(dit_stream *s, int block);
#endif

/* Weight lookup (load) or random creation share one walk over the keys. */
typedef orr_status (*dit_weight_fn)(void *ctx, const char *name, int ndim, const int64_t *shape, bool is_norm,
                                    orr_tensor **out);
/* orr_dit_load from an already parsed config. */
orr_status orr_dit_load_config(orr_dit **out, const dit_config *cfg, const orr_safetensors *weights);
/* The same from a lookup whose files and key prefixes the caller chose. */
struct orr_weights;
orr_status orr_dit_load_weights(orr_dit **out, const dit_config *cfg, const struct orr_weights *weights);
/* orr_dit_create_random from an already parsed config, drawing from rng. */
orr_status orr_dit_create_random_config(orr_dit **out, const dit_config *cfg, orr_rng *rng);
/* The same numbers drawn on `device` with the matrices rounded to `dtype`
 * (a placement orr_dit_to_device accepts): the 7B bench's weights without
 * a host copy. */
orr_status orr_dit_create_random_on(orr_dit **out, const dit_config *cfg, orr_rng *rng, orr_device device,
                                    orr_dtype dtype);

/* ---- `orrery verify` ------------------------------------------------------- */

/* The net config of a fixture: its `config` or `dit_config` metadata. */
const char *orr_dit_fixture_config(const orr_fixture *fx);
/* Registers the DiT and sampler runners (called by verify_networks.c). */
void orr_diffusion_register_verify(void);
/* The sampler runners (core/sample/sampler_verify.c). */
void orr_sampler_register_verify(void);

/* ---- embeddings (dit_embed.c) --------------------------------------------- */

/* The sinusoid of Timesteps(D): [cos(t f_i), sin(t f_i)], f_i = 10000^(-i/(D/2)). */
void orr_dit_timestep_sinusoid(float *emb, float t, int dim);
/* VideoRopePosition3DEmb: angles [Tp*Hp*Wp, head_dim] in (t h w) order. */
void orr_dit_rope_angles(float *angles, const dit_config *cfg, int tp, int hp, int wp, float fps, bool has_fps);
/* LearnablePosEmbAxis: e = t[:T] + h[:H] + w[:W] normalised by its RMS; [Tp*Hp*Wp, D]. */
void orr_dit_learnable_pos(float *out, const orr_dit *dit, int tp, int hp, int wp);

/* ---- EDM denoiser and sampler steps (core/sample) --------------------------- */

/* c_skip, c_out, c_in of EDM at sigma (sigma_data sd), in float32 as the
 * official code computes them from a float32 sigma. */
typedef struct edm_scalings {
    float c_skip, c_out, c_in, c_noise;
} edm_scalings;
edm_scalings orr_edm_scalings(double sigma, double sigma_data);

/* Tensors a denoiser call may record (each NULL or [B,C,T,H,W] f32). */
typedef struct denoise_trace {
    orr_tensor *x_in, *net_in, *out_cond, *out_uncond, *guided;
} denoise_trace;

/* The conditioned, guided denoiser D(x; sigma) of one sampling run. Every
 * tensor but indicator lies on the DiT's device, as do the states
 * orr_denoise, orr_sampler_run and orr_sampler_initial_state (x on like's
 * device) take. */
typedef struct orr_denoiser {
    orr_dit *dit;
    const orr_diffusion_cond *cond;
    double sigma_data;
    bool bf16;
    int64_t shape[5];        /* B, C, T, H, W of the state */
    bool video;              /* Video2World conditioning */
    orr_tensor *net_x;       /* [2B, C, T, H, W] the network input (cond, uncond) */
    orr_tensor *net_t;       /* [2B] */
    orr_tensor *net_out;     /* [2B, Cout, T, H, W] */
    orr_tensor *text;        /* [2B, L, Cc] */
    orr_tensor *fps;         /* [2B] */
    orr_tensor *padding;     /* [2B, 1, Hpx, Wpx] or NULL */
    orr_tensor *cond_mask;   /* [2B, 1, T, H, W] (Video2World) */
    orr_tensor *augmented;   /* (gt + augment_sigma * noise) * c_in(augment_sigma) */
    orr_tensor *gt;          /* contiguous f32 copy of the condition latent */
    orr_tensor *indicator;   /* [T]: 1 on conditioning frames (host; the device kernels take the number of
                              * condition frames) */
} orr_denoiser;

orr_status orr_denoiser_init(orr_denoiser *d, orr_dit *dit, const orr_diffusion_cond *cond, const int64_t shape[5],
                             double sigma_data, bool bf16, orr_rng *rng);
void orr_denoiser_free(orr_denoiser *d);
/* x0 = D(x; sigma) with guidance g. For Video2World the state the step
 * continues from is the composed input (condition frames re-imposed), written
 * to x_eff; x_eff may equal x. `trace` may be NULL. */
orr_status orr_denoise(orr_denoiser *d, float *x0, float *x_eff, const float *x, double sigma, double guidance,
                       const denoise_trace *trace);

/* Runs a sampling loop over `sigmas` (p->steps + 1 values, checked) from
 * the state x, which it overwrites with the sample. */
orr_status orr_sampler_run(orr_denoiser *d, float *x, const double *sigmas, const orr_sampler_params *p);

/* The initial state of a run whose shape is like's: see orr_sampler_params.
 * The noise is drawn on like's device (the same numbers anywhere). */
orr_status orr_sampler_initial_state(float *x, const orr_tensor *like, const orr_sampler_params *p, double sigma0,
                                     orr_rng *rng);
/* One RES "2ab" step in float64 from sigma s to t; x0_prev (the estimate at
 * s_prev) is NULL on the first step. */
void orr_res_2ab_update(double *x, const float *x0, const float *x0_prev, int64_t n, double s, double t,
                        double s_prev);

/* The official Euler step of diffusers' EDMEulerScheduler (float32):
 * x_next = x + (x - x0)/sigma * (sigma_next - sigma). */
void orr_euler_step(float *x_next, const float *x, const float *x0, int64_t n, float sigma, float sigma_next);

#endif /* ORR_DIT_H */
