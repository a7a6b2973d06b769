/* tokenizer.h — internals of the Cosmos tokenizers (core/models/tokenizer*.c):
 * the config, the parameter loader, the causal 3-D blocks of the video
 * tokenizers, the 2-D blocks of the image tokenizers, FSQ, and the runners
 * `orrery verify` calls. The public API is the tokenizer section of orrery.h.
 *
 * Where things live:
 *   tokenizer_config.c    the official constructor arguments (JSON) -> tok_config
 *   tokenizer_params.c    parameters from safetensors (shape-checked) or random
 *   tokenizer_util.c      run-time helpers (names, traces, NaN checks)
 *   tokenizer_layers3d.c  CausalConv3d, per-frame norm, factorized res block,
 *                         spatial / causal temporal attention, hybrid down/up
 *   tokenizer_video.c     EncoderFactorized / DecoderFactorized (CV and DV)
 *   tokenizer_layers2d.c  the image blocks (GroupNorm(32), conv2d, attention)
 *   tokenizer_image.c     Encoder / Decoder of layers2d.py (CI and DI)
 *   tokenizer_fsq.c       finite scalar quantization
 *   tokenizer.c           the public handle: load, encode, decode
 *   tokenizer_device.c    placing the weights on a device (orr_tokenizer_to_device)
 *   tokenizer_pipeline.c  any-size inputs: padding and windows; the diffusion
 *                         latent normalisation
 *   tokenizer_tiles.c     tiled decoding within a memory budget, the plan
 *   tokenizer_verify.c    the golden-fixture runners */
#ifndef ORR_TOKENIZER_H
#define ORR_TOKENIZER_H

#include "cuda/device.h"
#include "internal.h"
#include "weights.h"

#define TOK_MAX_LEVELS 6 /* entries of channels_mult */
#define TOK_MAX_BLOCKS 6 /* num_res_blocks + 1 (decoder levels hold one more) */
#define TOK_MAX_ATTN_RES 8
#define TOK_MAX_FSQ 8
#define TOK_NAME 160 /* longest module path, e.g. "decoder.up.2.block.1.conv1.0" */

/* ------------------------------------------------------------------------ */
/* Config: tokenizer/networks/configs.py, the keyword arguments as JSON.     */

typedef struct tok_config {
    orr_tokenizer_kind kind;
    bool video, discrete;
    int in_channels, out_channels, channels;
    int n_levels, channels_mult[TOK_MAX_LEVELS];
    int num_res_blocks;
    int n_attn_res, attn_resolutions[TOK_MAX_ATTN_RES];
    int resolution, patch_size;
    int z_channels, z_factor;
    int latent_channels; /* CV/CI: latent_channels; DV/DI: embedding_dim */
    int spatial_compression;
    int temporal_compression; /* 1 for images */
    bool legacy_mode;
    int n_fsq, levels[TOK_MAX_FSQ];
    /* Derived: the number of 2x resampling steps the levels make. */
    int spatial_steps, temporal_steps;
} tok_config;

/* Parses and validates `json` (the official `config`); names the bad key. */
orr_status tok_config_parse(tok_config *cfg, const char *json);
/* Whether a level's features are at an attention resolution (the official
 * `curr_res in attn_resolutions`). */
bool tok_config_attn_at(const tok_config *cfg, int64_t curr_res);
/* Which resampling the decoder's level i (> 0 for video) does; the video
 * rule mirrors the encoder level n-1-i (legacy_mode shifts it). */
void tok_config_up_flags(const tok_config *cfg, int level, bool *spatial, bool *temporal);

/* ------------------------------------------------------------------------ */
/* Parameters                                                                */

/* Random initialisation for benchmarks: PyTorch's default for convolutions
 * (uniform in +-1/sqrt(fan_in)), ones and zeros for norm gains and biases. */
typedef enum tok_init { TOK_INIT_FAN_IN, TOK_INIT_ONES, TOK_INIT_ZEROS } tok_init;

typedef struct tok_loader {
    const orr_weights *weights; /* NULL: random parameters from rng */
    orr_rng rng;
    orr_tensor_list *params; /* owns every parameter, by official key */
    int64_t n_params;
} tok_loader;

/* The parameter named by fmt: from the files (shape-checked, made f32
 * contiguous once) or random. */
orr_status tok_param(tok_loader *ld, orr_tensor **out, tok_init init, int64_t fan_in, int ndim, const int64_t *shape,
                     const char *fmt, ...) ORR_PRINTF(7, 8);
/* The parameter `name` (dst's shape) loaded or drawn into dst, a view of
 * a bigger tensor (several parameters stacked for one product); the
 * loader takes dst, also on failure. */
orr_status tok_param_into(tok_loader *ld, orr_tensor *dst, tok_init init, int64_t fan_in, const char *name);
/* Hands the loader t, which holds parameters loaded with tok_param_into
 * (counted there), under a name of its own. */
orr_status tok_param_holder(tok_loader *ld, orr_tensor *t, const char *name);
/* Whether any file key starts with `prefix` (true for random parameters). */
bool tok_loader_has_prefix(const tok_loader *ld, const char *prefix);
/* Optional buffers (Haar wavelets, FSQ levels): when present in the files
 * they must agree with what the config implies. */
orr_status tok_check_haar_buffers(const tok_loader *ld, const char *module, int patch_size, bool has_size_buffer);
orr_status tok_check_fsq_buffers(const tok_loader *ld, const char *module, const tok_config *cfg);

/* ------------------------------------------------------------------------ */
/* Run-time helpers (tokenizer_util.c)                                       */

/* A module or key path into a TOK_NAME buffer. */
void tok_name(char *out, const char *fmt, ...) ORR_PRINTF(2, 3);
/* A new contiguous f32 tensor on `device` (where the activations are). */
orr_status tok_new(orr_tensor **out, orr_device device, int ndim, const int64_t *shape);
/* orr_input_f32 / orr_output_f32_begin for a computation on `device`: t's
 * (out's) data when it is contiguous f32 there, else a converted copy
 * there (a scratch there, copied into out by orr_output_f32_end). */
orr_status tok_input(const orr_tensor *t, orr_device device, orr_tensor **tmp, const float **data);
orr_status tok_output_begin(orr_tensor *out, orr_device device, orr_tensor **tmp, float **data);
/* The official video conversion out = uint8(255 * clamp(1 + x, 0, 2) / 2)
 * (truncating) of f32 x, computed where x is (out on any device); and
 * its reading back out = u / 255 * 2 - 1 of u8 u, computed where out is. */
orr_status tok_to_u8(orr_tensor *out, const orr_tensor *x);
orr_status tok_from_u8(orr_tensor *out, const orr_tensor *u);
/* Adds a copy of t to trace under name (no-op when trace is NULL). */
orr_status tok_trace(orr_tensor_list *trace, const char *name, const orr_tensor *t);
/* ORR_ERR_NONFINITE naming `stage` when t holds NaN or Inf. */
orr_status tok_check_finite(const orr_tensor *t, const char *stage);
/* x += r (same shapes). */
orr_status tok_add_into(orr_tensor *x, const orr_tensor *r);
/* A stage's output: checked for NaN/Inf (naming the stage), then traced. */
orr_status tok_stage(orr_tensor_list *trace, const char *name, const orr_tensor *t);
/* Length after log2(p) Haar levels (each halves, rounding up). */
int64_t tok_haar_len(int64_t n, int p);
/* Single-head attention (scale C^-0.5) of q, k, v into o, all [B,C,H,W] or
 * [B,C,T,H,W]: spatial attends within each frame, temporal (causal) across
 * the frames of each pixel. */
orr_status tok_attend(orr_tensor *o, const orr_tensor *q, const orr_tensor *k, const orr_tensor *v, bool temporal);

/* ------------------------------------------------------------------------ */
/* Causal 3-D blocks (tokenizer/modules/layers3d.py)                         */

/* CausalConv3d: frame 0 replicated time_pad times in front, zero padding
 * `pad` on H and W, then a plain Conv3d. On the cpu the temporal (kt,1,1)
 * stride-1 convs (`transposed`) keep their weight transposed
 * (tok_param_transposed) and run the kernel of conv_temporal.h on it
 * directly: transposing per call would cost as much as the products on
 * small latents. On cuda every weight is contiguous in the official layout
 * for cuDNN, in the placement's dtype with its bias; the frames are
 * prepended (and the input converted to that dtype) in one copy. */
typedef struct tok_conv {
    orr_tensor *w, *b;
    bool transposed;
    orr_conv_params p;
    int64_t cin, cout, k[3];
} tok_conv;

/* The conv weight `name` of official shape [cout,cin,kt,kh,kw], loaded (or
 * drawn) into transposed storage, output channel innermost
 * ([cin][kt][kh][kw][cout], what the _co_inner kernels take): the tensor
 * is a strided view with the official shape and indexing over it, its
 * data pointer the transposed weights. */
orr_status tok_param_transposed(tok_loader *ld, orr_tensor **out, const int64_t shape[5], const char *name);

orr_status tok_conv3d_load(tok_loader *ld, tok_conv *c, const char *name, int64_t cin, int64_t cout, int kt, int kh,
                           int kw, int stride, int time_stride, int pad);
orr_status tok_conv3d_run(const tok_conv *c, const orr_tensor *x, orr_tensor **out);
/* out = conv(x) + x (the hybrid resamplers' residual convs). */
orr_status tok_conv3d_residual(const tok_conv *c, orr_tensor **x);
/* Loads a (1,3,3)+(3,1,1) pair, name.0 and name.1 (cin -> cout -> cout). */
orr_status tok_conv3d_pair_load(tok_loader *ld, tok_conv pair[2], const char *name, int64_t cin, int64_t cout);
/* Runs a (1,3,3)+(3,1,1) pair (nn.Sequential of two CausalConv3d), plus
 * residual (NULL: none; the output's shape) added as the second writes. */
orr_status tok_conv3d_pair_run(const tok_conv pair[2], const orr_tensor *x, const orr_tensor *residual,
                               orr_tensor **out);

/* CausalNormalize(C, num_groups=1): GroupNorm(1) of each frame (eps 1e-6). */
typedef struct tok_norm {
    orr_tensor *w, *b;
} tok_norm;
orr_status tok_norm_load(tok_loader *ld, tok_norm *n, const char *name, int64_t channels);
/* y = norm(x), then SiLU when `silu`; or x itself normed in place. */
orr_status tok_frame_norm_run(const tok_norm *n, const orr_tensor *x, bool silu, orr_tensor **out);
orr_status tok_frame_norm_inplace(const tok_norm *n, orr_tensor *x, bool silu);

/* CausalResnetBlockFactorized3d. */
typedef struct tok_resblock3d {
    tok_norm norm1, norm2;
    tok_conv conv1[2], conv2[2], nin_shortcut;
    bool has_shortcut;
} tok_resblock3d;
orr_status tok_resblock3d_load(tok_loader *ld, tok_resblock3d *r, const char *name, int64_t cin, int64_t cout);
orr_status tok_resblock3d_run(const tok_resblock3d *r, orr_tensor **x);

/* CausalAttnBlock (each frame over its H*W tokens) or CausalTemporalAttnBlock
 * (each pixel over its frames, causal): one head of dimension C. */
typedef struct tok_attn3d {
    tok_norm norm;
    tok_conv qkv; /* q, k and v stacked: one 1x1x1 conv from C to 3C */
    tok_conv proj_out;
    bool temporal;
} tok_attn3d;
orr_status tok_attn3d_load(tok_loader *ld, tok_attn3d *a, const char *name, int64_t channels, bool temporal);
orr_status tok_attn3d_run(const tok_attn3d *a, orr_tensor **x);

/* CausalHybridDownsample3d / CausalHybridUpsample3d; neither flag: identity. */
typedef struct tok_resample3d {
    bool spatial, temporal, up;
    tok_conv conv1, conv2, conv3;
} tok_resample3d;
orr_status tok_resample3d_load(tok_loader *ld, tok_resample3d *r, const char *name, int64_t channels, bool spatial,
                               bool temporal, bool up);
orr_status tok_resample3d_run(const tok_resample3d *r, orr_tensor **x);

/* ------------------------------------------------------------------------ */
/* The video encoder / decoder (EncoderFactorized, DecoderFactorized)       */

typedef struct tok_level3d {
    tok_resblock3d block[TOK_MAX_BLOCKS];
    tok_attn3d attn[TOK_MAX_BLOCKS][2]; /* spatial then temporal, when has_attn */
    int n_blocks;
    bool has_attn;
    bool has_resample;
    tok_resample3d resample;
} tok_level3d;

typedef struct tok_encoder3d {
    int patch_size;
    tok_conv conv_in[2];
    tok_level3d down[TOK_MAX_LEVELS];
    int n_levels;
    tok_resblock3d mid_block_1, mid_block_2;
    tok_attn3d mid_attn[2];
    tok_norm norm_out;
    tok_conv conv_out[2];
} tok_encoder3d;

typedef struct tok_decoder3d {
    int patch_size;
    tok_conv conv_in[2];
    tok_resblock3d mid_block_1, mid_block_2;
    tok_attn3d mid_attn[2];
    tok_level3d up[TOK_MAX_LEVELS];
    int n_levels;
    tok_norm norm_out;
    tok_conv conv_out[2];
} tok_decoder3d;

orr_status tok_encoder3d_load(tok_loader *ld, tok_encoder3d *e, const tok_config *cfg);
orr_status tok_decoder3d_load(tok_loader *ld, tok_decoder3d *d, const tok_config *cfg);
/* x [B,3,T,H,W] -> h [B,z,t,h,w]; intermediates by module name into trace. */
orr_status tok_encoder3d_run(const tok_encoder3d *e, const orr_tensor *x, orr_tensor **out, orr_tensor_list *trace);
orr_status tok_decoder3d_run(const tok_decoder3d *d, const orr_tensor *z, orr_tensor **out, orr_tensor_list *trace);

/* ------------------------------------------------------------------------ */
/* The image encoder / decoder (layers2d.py: Encoder, Decoder)               */

typedef struct tok_conv2d {
    orr_tensor *w, *b;
    orr_conv_params p;
    int64_t cout, k;
} tok_conv2d;

typedef struct tok_gnorm {
    orr_tensor *w, *b;
} tok_gnorm;

typedef struct tok_resblock2d {
    tok_gnorm norm1, norm2;
    tok_conv2d conv1, conv2, nin_shortcut;
    bool has_shortcut;
} tok_resblock2d;

typedef struct tok_attn2d {
    tok_gnorm norm;
    tok_conv2d q, k, v, proj_out;
} tok_attn2d;

typedef struct tok_level2d {
    tok_resblock2d block[TOK_MAX_BLOCKS];
    tok_attn2d attn[TOK_MAX_BLOCKS];
    int n_blocks;
    bool has_attn, has_resample;
    tok_conv2d resample; /* Downsample (pad, 3x3 stride 2) or Upsample (nearest, 3x3) */
} tok_level2d;

typedef struct tok_encoder2d {
    int patch_size;
    tok_conv2d conv_in;
    tok_level2d down[TOK_MAX_LEVELS];
    int n_levels;
    tok_resblock2d mid_block_1, mid_block_2;
    tok_attn2d mid_attn;
    tok_gnorm norm_out;
    tok_conv2d conv_out;
} tok_encoder2d;

typedef struct tok_decoder2d {
    int patch_size;
    tok_conv2d conv_in;
    tok_resblock2d mid_block_1, mid_block_2;
    tok_attn2d mid_attn;
    tok_level2d up[TOK_MAX_LEVELS];
    int n_levels;
    tok_gnorm norm_out;
    tok_conv2d conv_out;
} tok_decoder2d;

orr_status tok_conv2d_load(tok_loader *ld, tok_conv2d *c, const char *name, int64_t cin, int64_t cout, int k,
                           int stride, int pad);
orr_status tok_conv2d_run(const tok_conv2d *c, const orr_tensor *x, orr_tensor **out);
orr_status tok_encoder2d_load(tok_loader *ld, tok_encoder2d *e, const tok_config *cfg);
orr_status tok_decoder2d_load(tok_loader *ld, tok_decoder2d *d, const tok_config *cfg);
orr_status tok_encoder2d_run(const tok_encoder2d *e, const orr_tensor *x, orr_tensor **out, orr_tensor_list *trace);
orr_status tok_decoder2d_run(const tok_decoder2d *d, const orr_tensor *z, orr_tensor **out, orr_tensor_list *trace);

/* The 2-D blocks (tokenizer_layers2d.c). */
orr_status tok_gnorm_load(tok_loader *ld, tok_gnorm *n, const char *name, int64_t channels);
orr_status tok_resblock2d_load(tok_loader *ld, tok_resblock2d *r, const char *name, int64_t cin, int64_t cout);
orr_status tok_resblock2d_run(const tok_resblock2d *r, orr_tensor **x);
orr_status tok_attn2d_load(tok_loader *ld, tok_attn2d *a, const char *name, int64_t channels);
orr_status tok_attn2d_run(const tok_attn2d *a, orr_tensor **x);
orr_status tok_gnorm_silu_run(const tok_gnorm *n, const orr_tensor *x, orr_tensor **out);
orr_status tok_downsample2d_run(const tok_conv2d *c, orr_tensor **x);
orr_status tok_upsample2d_run(const tok_conv2d *c, orr_tensor **x);

/* ------------------------------------------------------------------------ */
/* FSQ (tokenizer/modules/quantizers.py: FSQuantizer)                       */

typedef struct tok_fsq {
    int n;
    int levels[TOK_MAX_FSQ];
    int half_width[TOK_MAX_FSQ]; /* L // 2 */
    int64_t basis[TOK_MAX_FSQ];  /* cumulative product of the levels before */
    float half_l[TOK_MAX_FSQ], offset[TOK_MAX_FSQ], shift[TOK_MAX_FSQ];
    int64_t codebook_size;
} tok_fsq;

void tok_fsq_init(tok_fsq *q, const int *levels, int n);
/* z [B,d,...] -> codes [B,d,...] (may be NULL), indices [B,...] (integer
 * dtype, may be NULL), bounded [B,...,d] (the values before rounding, may be
 * NULL); computed where z is, the outputs on any device. */
orr_status tok_fsq_quantize(const tok_fsq *q, const orr_tensor *z, orr_tensor *codes, orr_tensor *indices,
                            orr_tensor *bounded);
/* indices [B,...] (any device) -> codes [B,d,...], computed where the codes
 * are; an index outside the codebook fails. */
orr_status tok_fsq_dequantize(const tok_fsq *q, const orr_tensor *indices, orr_tensor *codes);

/* ------------------------------------------------------------------------ */
/* The handle                                                                */

struct orr_tokenizer {
    tok_config cfg;
    orr_tensor_list *params;
    int64_t n_params;
    bool has_encoder, has_decoder;
    tok_encoder3d *enc3d;
    tok_decoder3d *dec3d;
    tok_encoder2d *enc2d;
    tok_decoder2d *dec2d;
    tok_conv quant_conv, post_quant_conv; /* 1x1x1 (video) */
    tok_conv2d quant_conv2d, post_quant_conv2d;
    tok_fsq fsq;
    orr_device device; /* where the weights are; activations are made there */
    orr_dtype dtype;   /* of the conv weights and biases (f32 on the cpu; f32 or bf16 on cuda) */
};

/* Bytes of the weights where they are (each stored tensor once). */
int64_t tok_weight_bytes(const orr_tokenizer *tok);

/* Builds a tokenizer from a parsed config and a loader (files or random). */
orr_status tok_build(orr_tokenizer **out, const tok_config *cfg, tok_loader *ld);
/* The networks with their intermediates: encode gives the quant_conv
 * output (the CV/CI latent, or the DV/DI pre-quantizer embedding). */
orr_status tok_encode_raw(orr_tokenizer *tok, const orr_tensor *x, orr_tensor **out, orr_tensor_list *trace);
/* post_quant_conv + decoder. */
orr_status tok_decode_raw(orr_tokenizer *tok, const orr_tensor *z, orr_tensor **out, orr_tensor_list *trace);

/* z <-> the diffusion model's latent, for the World and Transfer
 * pipelines: with the statistics (both or neither) as
 * orr_tokenizer_(de)normalize_latent, else z * sigma_data (inverse: z /
 * sigma_data, as the official decode does without them); computed where z
 * is, written to out on any device. `op` names the caller in messages. */
orr_status tok_model_latent(orr_tensor *out, const orr_tensor *z, const orr_tensor *mean, const orr_tensor *std,
                            float sigma_data, bool inverse, const char *op);

/* The runners for `orrery verify` (registered in verify_networks.c). */
orr_status tok_verify_continuous_video(const orr_fixture *fixture, orr_tensor_list *results);
orr_status tok_verify_discrete_video(const orr_fixture *fixture, orr_tensor_list *results);
orr_status tok_verify_continuous_image(const orr_fixture *fixture, orr_tensor_list *results);
orr_status tok_verify_discrete_image(const orr_fixture *fixture, orr_tensor_list *results);

#endif
