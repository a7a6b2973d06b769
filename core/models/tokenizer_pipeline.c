/* tokenizer_pipeline.c — the tokenizers on inputs of any size, as the
 * official inference does it (tokenizer/inference/video_lib.py and utils.py:
 * pad_video_batch, unpad_video_batch, CausalVideoTokenizer.forward), and
 * the latent normalisation of the diffusion models
 * (diffusion/module/pretrained_vae.py). */
#include <string.h>

#include "tokenizer.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/tokenizer_fused.h"
#endif

void orr_tokenizer_params_init(orr_tokenizer_params *p) {
    memset(p, 0, sizeof *p);
    p->temporal_window = 17;
    p->spatial_align = 16;
    p->temporal_align = 8;
    p->tile_overlap = 4;
}

static int64_t gcd(int64_t a, int64_t b) { return b ? gcd(b, a % b) : a; }

/* The alignment actually used: the requested one, made a multiple of what
 * the network needs. */
static int64_t align_to(int64_t requested, int64_t compression) {
    if (requested < 1) requested = 1;
    return requested / gcd(requested, compression) * compression;
}

/* Padding before and after: `extra` split as the official code splits it
 * (the smaller half first). */
static void split(int64_t extra, int64_t pads[2]) {
    pads[0] = extra >> 1;
    pads[1] = extra - pads[0];
}

/* A new tensor: x padded by pads (before/after per dim, all dims). */
static orr_status padded(const orr_tensor *x, const int64_t *pads, orr_pad_mode mode, float value, orr_tensor **out) {
    int64_t shape[ORR_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d] + pads[2 * d] + pads[2 * d + 1];
    orr_status st = tok_new(out, x->device, x->ndim, shape);
    if (!st) st = orr_pad(*out, x, pads, mode, value);
    if (st) {
        orr_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

/* One window: pad, encode, (quantize), decode, crop into out. */
static orr_status autoencode_window(orr_tokenizer *tok, const orr_tensor *x, orr_tensor *out,
                                    const orr_tokenizer_params *p) {
    const tok_config *c = &tok->cfg;
    const int nd = x->ndim;
    int64_t pads[2 * ORR_MAX_DIMS] = {0};
    const int64_t sa = align_to(p->spatial_align, c->spatial_compression);
    for (int d = nd - 2; d < nd; d++) split((sa - x->shape[d] % sa) % sa, pads + 2 * d);
    int64_t tpads[2 * ORR_MAX_DIMS] = {0};
    if (c->video) {
        const int64_t ta = align_to(p->temporal_align, c->temporal_compression);
        split((ta - (x->shape[2] - 1) % ta) % ta, tpads + 4);
    }
    orr_tensor *placed = NULL, *spatial = NULL, *full = NULL, *z = NULL, *y = NULL;
    /* The official pads the uint8 video with 0, which is -1 here; frames
     * are repeated at both ends ("edge"). */
    orr_status st = orr_tensor_to(&placed, x, tok->device);
    if (!st) st = padded(placed, pads, ORR_PAD_CONSTANT, -1.0f, &spatial);
    orr_tensor_free(placed);
    if (!st) st = padded(spatial, tpads, ORR_PAD_REPLICATE, 0.0f, &full);
    orr_tensor_free(spatial);
    if (!st) st = tok_encode_raw(tok, full, &z, NULL);
    orr_tensor_free(full);
    if (!st && c->discrete) st = tok_fsq_quantize(&tok->fsq, z, z, NULL, NULL);
    if (!st) st = tok_decode_raw(tok, z, &y, NULL);
    orr_tensor_free(z);
    for (int d = 2; !st && d < nd; d++)
        if (y->shape[d] != x->shape[d] + pads[2 * d] + pads[2 * d + 1] + tpads[2 * d] + tpads[2 * d + 1])
            st =
                orr_error(ORR_ERR_UNSUPPORTED,
                          "tokenizer autoencode: this config's decoder does not undo its encoder "
                          "(dim %d: %lld in, %lld out)",
                          d, (long long)(x->shape[d] + pads[2 * d] + pads[2 * d + 1] + tpads[2 * d] + tpads[2 * d + 1]),
                          (long long)y->shape[d]);
    /* Crop back: narrow every padded dim to the original extent. */
    orr_tensor *view = y;
    for (int d = 2; !st && d < nd; d++) {
        int64_t before = pads[2 * d] + tpads[2 * d];
        if (y->shape[d] == x->shape[d]) continue;
        orr_tensor *narrowed = NULL;
        st = orr_tensor_narrow(&narrowed, view, d, before, x->shape[d]);
        if (view != y) orr_tensor_free(view);
        view = narrowed;
    }
    if (!st) st = orr_copy(out, view);
    if (view != y) orr_tensor_free(view);
    orr_tensor_free(y);
    return st;
}

orr_status orr_tokenizer_autoencode(orr_tokenizer *tok, orr_tensor *out, const orr_tensor *pixels,
                                    const orr_tokenizer_params *p) {
    static const char *op = "tokenizer autoencode";
    orr_tokenizer_params defaults;
    if (!p) {
        orr_tokenizer_params_init(&defaults);
        p = &defaults;
    }
    if (!tok || !out || !pixels) return orr_error(ORR_ERR_ARGUMENT, "%s: NULL argument", op);
    if (!tok->has_encoder || !tok->has_decoder)
        return orr_error(ORR_ERR_UNSUPPORTED, "%s: needs both the encoder and the decoder weights", op);
    const tok_config *c = &tok->cfg;
    const int nd = c->video ? 5 : 4;
    char buf[200];
    orr_status st = orr_check_backend(op, "pixels", pixels);
    if (!st) st = orr_check_backend(op, "out", out);
    if (!st && (pixels->ndim != nd || pixels->shape[1] != c->in_channels))
        st = orr_error(ORR_ERR_SHAPE, "%s: pixels are %s, want [B,%d,%sH,W]", op,
                       orr_tensor_describe(pixels, buf, sizeof buf), c->in_channels, c->video ? "T," : "");
    for (int d = 0; !st && d < nd; d++)
        if (pixels->shape[d] < 1)
            st = orr_error(ORR_ERR_SHAPE, "%s: pixels are %s, an empty dimension", op,
                           orr_tensor_describe(pixels, buf, sizeof buf));
    if (!st) st = orr_check_same_shape(op, "out", out, "pixels", pixels);
    if (!st && p->temporal_window < 0)
        st = orr_error(ORR_ERR_ARGUMENT, "%s: temporal_window is %d", op, p->temporal_window);
    int64_t bad = 0;
    if (!st) st = orr_count_nonfinite(pixels, &bad);
    if (!st && bad) st = orr_error(ORR_ERR_NONFINITE, "%s: pixels hold %lld NaN/Inf values", op, (long long)bad);
    if (st) return st;
    if (!c->video || p->temporal_window == 0) return autoencode_window(tok, pixels, out, p);

    /* Independent windows of temporal_window frames, the last one shorter. */
    const int64_t frames = pixels->shape[2], window = p->temporal_window;
    for (int64_t start = 0; start < frames && !st; start += window) {
        int64_t len = frames - start < window ? frames - start : window;
        orr_tensor *xw = NULL, *ow = NULL;
        st = orr_tensor_narrow(&xw, pixels, 2, start, len);
        if (!st) st = orr_tensor_narrow(&ow, out, 2, start, len);
        if (!st) st = autoencode_window(tok, xw, ow, p);
        if (st) orr_error_context(st, "%s: frames %lld..%lld: ", op, (long long)start, (long long)(start + len - 1));
        orr_tensor_free(xw);
        orr_tensor_free(ow);
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Latent normalisation                                                      */

static orr_status latent_affine(orr_tensor *out, const orr_tensor *latent, const orr_tensor *mean,
                                const orr_tensor *std, float sigma_data, bool inverse) {
    const char *op = inverse ? "tokenizer denormalize_latent" : "tokenizer normalize_latent";
    char buf[200];
    if (!out || !latent || !mean || !std) return orr_error(ORR_ERR_ARGUMENT, "%s: NULL argument", op);
    orr_status st = orr_check_backend(op, "latent", latent);
    if (!st) st = orr_check_backend(op, "out", out);
    if (!st) st = orr_check_backend(op, "mean", mean);
    if (!st) st = orr_check_backend(op, "std", std);
    if (!st && latent->ndim != 5 && latent->ndim != 4)
        st = orr_error(ORR_ERR_SHAPE, "%s: latent is %s, want [B,C,T,H,W] or [B,C,H,W]", op,
                       orr_tensor_describe(latent, buf, sizeof buf));
    if (!st) st = orr_check_same_shape(op, "out", out, "latent", latent);
    if (st) return st;
    const int64_t batch = latent->shape[0], channels = latent->shape[1];
    const int64_t frames = latent->ndim == 5 ? latent->shape[2] : 1;
    const int64_t plane = latent->shape[latent->ndim - 2] * latent->shape[latent->ndim - 1];
    const int64_t n = orr_tensor_numel(mean);
    if (n != orr_tensor_numel(std) || channels == 0 || n % channels != 0 || n / channels < frames)
        return orr_error(ORR_ERR_SHAPE,
                         "%s: mean (%lld values) and std (%lld) must both hold C*N values with C = %lld "
                         "channels and N >= %lld latent frames",
                         op, (long long)n, (long long)orr_tensor_numel(std), (long long)channels, (long long)frames);
    if (sigma_data <= 0) return orr_error(ORR_ERR_ARGUMENT, "%s: sigma_data is %g", op, (double)sigma_data);
    const int64_t columns = n / channels;
    /* computed where the latent is */
    const orr_device dev = latent->device;
    orr_tensor *mt = NULL, *st_t = NULL, *lt = NULL, *ot = NULL;
    const float *md = NULL, *sd = NULL, *ld = NULL;
    float *od = NULL;
    st = tok_input(mean, dev, &mt, &md);
    if (!st) st = tok_input(std, dev, &st_t, &sd);
    if (!st) st = orr_input_f32(latent, &lt, &ld);
    if (!st) st = tok_output_begin(out, dev, &ot, &od);
    if (!st) {
#ifdef ORR_HAVE_CUDA
        if (dev == ORR_CUDA)
            st = orr_cuda_tok_latent_affine(od, ld, md, sd, batch, channels, frames, plane, columns, sigma_data,
                                            inverse, orr_cuda_stream());
        else
#endif
            for (int64_t b = 0; b < batch; b++)
                for (int64_t c = 0; c < channels; c++)
                    for (int64_t t = 0; t < frames; t++) {
                        const float m = md[c * columns + t], s = sd[c * columns + t];
                        const int64_t at = ((b * channels + c) * frames + t) * plane;
                        for (int64_t i = 0; i < plane; i++)
                            od[at + i] = inverse ? ld[at + i] / sigma_data * s + m : (ld[at + i] - m) / s * sigma_data;
                    }
    }
    if (!st) {
        st = orr_output_f32_end(out, ot);
        ot = NULL;
    }
    orr_tensor_free(mt);
    orr_tensor_free(st_t);
    orr_tensor_free(lt);
    orr_tensor_free(ot);
    return st;
}

orr_status orr_tokenizer_normalize_latent(orr_tensor *out, const orr_tensor *latent, const orr_tensor *mean,
                                          const orr_tensor *std, float sigma_data) {
    return latent_affine(out, latent, mean, std, sigma_data, false);
}

orr_status orr_tokenizer_denormalize_latent(orr_tensor *out, const orr_tensor *latent, const orr_tensor *mean,
                                            const orr_tensor *std, float sigma_data) {
    return latent_affine(out, latent, mean, std, sigma_data, true);
}

orr_status tok_model_latent(orr_tensor *out, const orr_tensor *z, const orr_tensor *mean, const orr_tensor *std,
                            float sigma_data, bool inverse, const char *op) {
    if (mean || std) {
        if (!mean || !std) return orr_error(ORR_ERR_ARGUMENT, "%s: latent_mean and latent_std come together", op);
        return inverse ? orr_tokenizer_denormalize_latent(out, z, mean, std, sigma_data)
                       : orr_tokenizer_normalize_latent(out, z, mean, std, sigma_data);
    }
    float scale = inverse ? 1.0f / sigma_data : sigma_data;
    if (out->device == z->device) return orr_affine(out, z, scale, 0.0f);
    orr_tensor *there = NULL;
    orr_status st = orr_tensor_empty_on(z->device, &there, ORR_F32, z->ndim, z->shape);
    if (!st) st = orr_affine(there, z, scale, 0.0f);
    if (!st) st = orr_copy(out, there);
    orr_tensor_free(there);
    return st;
}
