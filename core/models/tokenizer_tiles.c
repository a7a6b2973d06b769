/* tokenizer_tiles.c — decoding large latents in overlapping spatial tiles,
 * blended with linear ramps, within a memory budget; and the memory plan
 * that chooses the tiles. The estimate walks the decoder's stages counting
 * the activations tokenizer_layers*.c keep alive at each (and the
 * temporaries their ops make); the tests compare it with the allocator's
 * measured peak. The tiles decode and blend where the tokenizer is. */
#include <stdio.h>
#include <stdlib.h>

#include "conv_winograd.h"
#include "tokenizer.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/conv.h"
#include "cuda/cuda_internal.h"
#include "cuda/tokenizer_fused.h"
#endif

static double max2(double a, double b) { return a > b ? a : b; }

static bool level_has_attn(const orr_tokenizer *tok, int level) {
    return tok->cfg.video ? tok->dec3d->up[level].has_attn : tok->dec2d->up[level].has_attn;
}

/* Floats alive at the peak of a residual block from cin to cout channels
 * over n positions: x, the normed copy, the conv pair's middle and output
 * (2cin + 2cout); later x, h (normed in place), the second pair's middle
 * and output (cin + 3cout). */
static double resblock_floats(double cin, double cout, double n) {
    return max2(2 * cin + 2 * cout, cin + 3 * cout) * n;
}

/* The im2col scratch for k_rows x n: per thread a tile of at most 1 MiB or
 * 256 positions, never more than the whole (kernels/cpu/conv.c). */
static double im2col_scratch(double k_rows, double n) {
    double tile = max2(1 << 20, k_rows * 256 * sizeof(float));
    double whole = k_rows * n * sizeof(float);
    return orr_get_num_threads() * (tile < whole ? tile : whole);
}

/* The scratch of a factorized conv pair from cin to cout channels over t
 * frames of h x w. On the cpu the (1,3,3) conv's (the Winograd kernel's
 * where it applies, else im2col of 9 cin rows); the (3,1,1) one runs on
 * weights transposed at load time and needs none. On cuda an input copy
 * (the causal frames in front, in the weights' dtype), a bf16 output before
 * its f32 copy, and cuDNN's workspace at its bound. */
static double conv_scratch(const orr_tokenizer *tok, double cin, double cout, double t, double h, double w) {
#ifdef ORR_HAVE_CUDA
    if (tok->device == ORR_CUDA) {
        const double size = (double)orr_dtype_size(tok->dtype);
        const double in = max2(cin, cout) * (t + 2) * h * w * size;
        const double out = tok->dtype == ORR_F32 ? 0 : cout * t * h * w * size;
        return in + out + ORR_CUDA_CONV_WORKSPACE;
    }
#else
    (void)tok;
#endif
    orr_conv_shape s = {.batch = 1, .in_channels = (int64_t)cin, .out_channels = (int64_t)cout, .groups = 1,
                        .in = {(int64_t)t, (int64_t)h, (int64_t)w}, .kernel = {1, 3, 3},
                        .out = {(int64_t)t, (int64_t)h, (int64_t)w}, .stride = {1, 1, 1}, .padding = {0, 1, 1},
                        .dilation = {1, 1, 1}};
    double spatial = (double)orr_cpu_conv3d_winograd_scratch_bytes(&s);
    return spatial > 0 ? spatial : im2col_scratch(cin * 9, t * h * w);
}

/* Activation peak (bytes) of decoding a latent of t frames, h x w pixels:
 * the largest count of live floats, plus the largest conv scratch. */
static int64_t decoder_peak_bytes(const orr_tokenizer *tok, int64_t t, int64_t h, int64_t w) {
    const tok_config *c = &tok->cfg;
    const double ch = c->channels;
    double hh = (double)h, ww = (double)w; /* the size at the current stage */
    double n = (double)(t * h * w), block_in = ch * c->channels_mult[c->n_levels - 1];
    /* post_quant_conv next to its input, then the conv_in pair. */
    double peak = n * max2(c->latent_channels + c->z_channels, c->z_channels + 2 * block_in);
    double scratch = conv_scratch(tok, c->z_channels, block_in, t, hh, ww);
    peak = max2(peak, resblock_floats(block_in, block_in, n));
    scratch = max2(scratch, conv_scratch(tok, block_in, block_in, t, hh, ww));
    /* Attention: x, q, k, v, its output, and the contiguous copies the
     * attention op makes of the four strided token views. */
    peak = max2(peak, 9 * block_in * n);
    for (int level = c->n_levels - 1; level >= 0; level--) {
        const double out = ch * c->channels_mult[level];
        for (int j = 0; j < c->num_res_blocks + 1; j++) {
            peak = max2(peak, resblock_floats(block_in, out, n));
            scratch = max2(scratch,
                           max2(conv_scratch(tok, block_in, out, t, hh, ww), conv_scratch(tok, out, out, t, hh, ww)));
            block_in = out;
        }
        if (level_has_attn(tok, level)) peak = max2(peak, 9 * block_in * n);
        bool spatial, temporal;
        tok_config_up_flags(c, level, &spatial, &temporal);
        if (temporal && t > 1) {
            /* The doubled frames, then the residual conv next to them. */
            n = n / (double)t * (double)(2 * t - 1);
            t = 2 * t - 1;
            peak = max2(peak, 2 * block_in * n);
        }
        if (spatial) {
            /* Nearest x2 next to its input, then the conv next to it. */
            n *= 4;
            hh *= 2;
            ww *= 2;
            peak = max2(peak, 2 * block_in * n);
            scratch = max2(scratch, conv_scratch(tok, block_in, block_in, t, hh, ww));
        }
    }
    /* norm_out, the conv_out pair, the unpatching. */
    const double p3 = (double)c->patch_size * c->patch_size * (c->video ? c->patch_size : 1);
    const double out_ch = c->out_channels * p3;
    peak = max2(peak, max2(2 * block_in, block_in + 2 * out_ch) * n);
    scratch = max2(scratch, conv_scratch(tok, block_in, out_ch, t, hh, ww));
    return (int64_t)(peak * sizeof(float) + scratch);
}

static int64_t tiles_along(int64_t size, int64_t tile, int64_t overlap) {
    if (tile >= size) return 1;
    return (size - overlap + (tile - overlap) - 1) / (tile - overlap);
}

static void print_plan(FILE *f, const orr_tokenizer *tok, const int64_t *lshape, const int64_t *pshape, int nd,
                       const orr_tokenizer_plan *plan, int64_t budget) {
    char ls[120], ps[120];
    fprintf(f, "tokenizer decode plan: latent %s -> pixels %s\n", orr_shape_str(nd, lshape, ls, sizeof ls),
            orr_shape_str(nd, pshape, ps, sizeof ps));
    fprintf(f, "  tiles      %lld x %lld of %lld x %lld latent pixels, overlap %lld\n", (long long)plan->tiles_y,
            (long long)plan->tiles_x, (long long)plan->tile_h, (long long)plan->tile_w, (long long)plan->overlap);
    fprintf(f, "  weights    %8.1f MiB\n", plan->weight_bytes / 1048576.0);
    fprintf(f, "  output     %8.1f MiB (f32 pixels and blend weights)\n", plan->output_bytes / 1048576.0);
    fprintf(f, "  per tile   %8.1f MiB activations (estimated peak)%s", plan->peak_tile_bytes / 1048576.0,
            budget ? "" : "\n");
    if (budget) fprintf(f, ", budget %.1f MiB\n", budget / 1048576.0);
    fprintf(f, "  total      %8.1f MiB\n",
            (plan->weight_bytes + plan->output_bytes + plan->peak_tile_bytes) / 1048576.0);
}

orr_status orr_tokenizer_plan_decode(const orr_tokenizer *tok, int ndim, const int64_t *latent_shape,
                                     const orr_tokenizer_params *p, orr_tokenizer_plan *plan) {
    static const char *op = "tokenizer plan_decode";
    orr_tokenizer_params defaults;
    if (!p) {
        orr_tokenizer_params_init(&defaults);
        p = &defaults;
    }
    if (!tok || !latent_shape || !plan) return orr_error(ORR_ERR_ARGUMENT, "%s: NULL argument", op);
    int64_t pshape[ORR_MAX_DIMS];
    orr_status st = orr_tokenizer_pixel_shape(tok, ndim, latent_shape, pshape);
    if (st) return st;
    if (p->tile < 0 || p->tile_overlap < 0 || p->memory_budget < 0)
        return orr_error(ORR_ERR_ARGUMENT, "%s: tile %d, tile_overlap %d and memory_budget %lld must be >= 0", op,
                         p->tile, p->tile_overlap, (long long)p->memory_budget);
    const int64_t t = tok->cfg.video ? latent_shape[2] : 1, h = latent_shape[ndim - 2], w = latent_shape[ndim - 1];
    const int64_t batch = latent_shape[0], ov = p->tile_overlap;
    int64_t side = h > w ? h : w;
    if (p->tile > 0) {
        side = p->tile;
    } else if (p->memory_budget > 0) {
        /* The largest square tile whose estimate fits (tiles never shrink to
         * the overlap, where they would not advance). */
        while (side > ov + 1 &&
               decoder_peak_bytes(tok, t, side < h ? side : h, side < w ? side : w) * batch > p->memory_budget)
            side--;
    }
    plan->tile_h = side < h ? side : h;
    plan->tile_w = side < w ? side : w;
    if ((plan->tile_h < h || plan->tile_w < w) && side <= ov)
        return orr_error(ORR_ERR_ARGUMENT, "%s: tiles of %lld latent pixels do not exceed the overlap %lld", op,
                         (long long)side, (long long)ov);
    plan->overlap = ov;
    plan->tiles_y = tiles_along(h, plan->tile_h, ov);
    plan->tiles_x = tiles_along(w, plan->tile_w, ov);
    plan->peak_tile_bytes = decoder_peak_bytes(tok, t, plan->tile_h, plan->tile_w) * batch;
    int64_t pixels = 1;
    for (int d = 0; d < ndim; d++) pixels *= pshape[d];
    plan->output_bytes = (pixels + pshape[ndim - 2] * pshape[ndim - 1]) * (int64_t)sizeof(float);
    plan->weight_bytes = tok_weight_bytes(tok);
    if (p->plan_report) print_plan(p->plan_report, tok, latent_shape, pshape, ndim, plan, p->memory_budget);
    if (p->memory_budget > 0 && p->tile == 0 && plan->peak_tile_bytes > p->memory_budget)
        return orr_error(ORR_ERR_MEMORY,
                         "%s: even tiles of %lld latent pixels need %.1f MiB, over the budget of %.1f MiB", op,
                         (long long)side, plan->peak_tile_bytes / 1048576.0, p->memory_budget / 1048576.0);
    return ORR_OK;
}

/* Blend weight of pixel i of a tile `size` pixels long: a linear ramp over
 * `ramp` pixels at each edge that has a neighbouring tile, 1 elsewhere. */
static float ramp_weight(int64_t i, int64_t size, int64_t ramp, bool before, bool after) {
    float wgt = 1.0f;
    if (before && i < ramp) wgt = (float)(i + 1) / (float)(ramp + 1);
    if (after && size - 1 - i < ramp) {
        float down = (float)(size - i) / (float)(ramp + 1);
        if (down < wgt) wgt = down;
    }
    return wgt;
}

/* Start of tile k: a regular step, the last one flush with the end. */
static int64_t tile_start(int64_t k, int64_t tiles, int64_t size, int64_t tile, int64_t overlap) {
    if (k == tiles - 1) return size - tile;
    return k * (tile - overlap);
}

typedef struct blend {
    orr_device device; /* where acc and weights are */
    float *acc;        /* the output in f32, contiguous [B, C, (T,) H, W] */
    float *weights;    /* [H, W] */
    int64_t planes, height, width;
} blend;

/* acc[.., y0+i, x0+j] += wy(i) wx(j) * tile[.., i, j]. */
static void blend_tile(blend *b, const float *tile, int64_t th, int64_t tw, int64_t y0, int64_t x0, const float *wy,
                       const float *wx) {
    for (int64_t pl = 0; pl < b->planes; pl++)
        for (int64_t i = 0; i < th; i++) {
            float *dst = b->acc + (pl * b->height + y0 + i) * b->width + x0;
            const float *src = tile + (pl * th + i) * tw;
            for (int64_t j = 0; j < tw; j++) dst[j] += wy[i] * wx[j] * src[j];
        }
    for (int64_t i = 0; i < th; i++)
        for (int64_t j = 0; j < tw; j++) b->weights[(y0 + i) * b->width + x0 + j] += wy[i] * wx[j];
}

static orr_status decode_tile(orr_tokenizer *tok, const orr_tensor *latent, const orr_tokenizer_plan *plan, blend *b,
                              int64_t ky, int64_t kx, int64_t scale) {
    const int nd = latent->ndim;
    const int64_t h = latent->shape[nd - 2], w = latent->shape[nd - 1];
    const int64_t y0 = tile_start(ky, plan->tiles_y, h, plan->tile_h, plan->overlap);
    const int64_t x0 = tile_start(kx, plan->tiles_x, w, plan->tile_w, plan->overlap);
    orr_tensor *rows = NULL, *part = NULL, *pixels = NULL;
    orr_status st = orr_tensor_narrow(&rows, latent, nd - 2, y0, plan->tile_h);
    if (!st) st = orr_tensor_narrow(&part, rows, nd - 1, x0, plan->tile_w);
    orr_tensor_free(rows);
    if (!st) st = tok_decode_raw(tok, part, &pixels, NULL);
    orr_tensor_free(part);
    if (st) return st;
    const int64_t th = pixels->shape[nd - 2], tw = pixels->shape[nd - 1], ramp = plan->overlap * scale;
    const bool top = ky > 0, left = kx > 0;
    const bool bottom = ky < plan->tiles_y - 1, right = kx < plan->tiles_x - 1;
#ifdef ORR_HAVE_CUDA
    if (b->device == ORR_CUDA) {
        st = orr_cuda_tok_blend_tile(b->acc, b->weights, pixels->data, b->planes, b->height, b->width, th, tw,
                                     y0 * scale, x0 * scale, ramp, top, bottom, left, right, orr_cuda_stream());
        orr_tensor_free(pixels);
        return st;
    }
#endif
    float *wy = malloc((size_t)(th + tw) * sizeof(float));
    if (!wy) {
        orr_tensor_free(pixels);
        return orr_error(ORR_ERR_MEMORY, "tokenizer decode_tiled: out of memory");
    }
    float *wx = wy + th;
    for (int64_t i = 0; i < th; i++) wy[i] = ramp_weight(i, th, ramp, top, bottom);
    for (int64_t j = 0; j < tw; j++) wx[j] = ramp_weight(j, tw, ramp, left, right);
    blend_tile(b, pixels->data, th, tw, y0 * scale, x0 * scale, wy, wx);
    free(wy);
    orr_tensor_free(pixels);
    return ORR_OK;
}

/* acc /= weights, per plane. */
static orr_status blend_finish(blend *b) {
    const int64_t area = b->height * b->width;
#ifdef ORR_HAVE_CUDA
    if (b->device == ORR_CUDA) return orr_cuda_tok_blend_finish(b->acc, b->weights, b->planes, area, orr_cuda_stream());
#endif
    for (int64_t pl = 0; pl < b->planes; pl++)
        for (int64_t i = 0; i < area; i++) b->acc[pl * area + i] /= b->weights[i];
    return ORR_OK;
}

orr_status orr_tokenizer_decode_tiled(orr_tokenizer *tok, orr_tensor *pixels, const orr_tensor *latent,
                                      const orr_tokenizer_params *p) {
    static const char *op = "tokenizer decode_tiled";
    if (!tok || !pixels || !latent) return orr_error(ORR_ERR_ARGUMENT, "%s: NULL argument", op);
    if (!tok->has_decoder) return orr_error(ORR_ERR_UNSUPPORTED, "%s: no decoder weights were loaded", op);
    orr_tokenizer_plan plan;
    int64_t pshape[ORR_MAX_DIMS], bad = 0;
    char got[200], want[200];
    const int nd = latent->ndim;
    orr_status st = orr_check_backend(op, "latent", latent);
    if (!st) st = orr_check_backend(op, "pixels", pixels);
    if (!st) st = orr_count_nonfinite(latent, &bad);
    if (!st && bad) st = orr_error(ORR_ERR_NONFINITE, "%s: latent holds %lld NaN/Inf values", op, (long long)bad);
    if (!st) st = orr_tokenizer_plan_decode(tok, nd, latent->shape, p, &plan);
    if (!st) st = orr_tokenizer_pixel_shape(tok, nd, latent->shape, pshape);
    if (st) return st;
    bool same = pixels->ndim == nd;
    for (int d = 0; same && d < nd; d++) same = pixels->shape[d] == pshape[d];
    if (!same)
        return orr_error(ORR_ERR_SHAPE, "%s: pixels are %s but must be %s", op,
                         orr_tensor_describe(pixels, got, sizeof got), orr_shape_str(nd, pshape, want, sizeof want));

    /* the latent, the sums and their weights where the tokenizer is */
    blend b = {.device = tok->device, .height = pshape[nd - 2], .width = pshape[nd - 1]};
    b.planes = orr_tensor_numel(pixels) / (b.height * b.width);
    const int64_t scale = b.height / latent->shape[nd - 2], area = b.height * b.width;
    orr_tensor *placed = NULL, *acc_tmp = NULL, *weights = NULL;
    st = orr_tensor_to(&placed, latent, tok->device);
    if (!st) st = tok_output_begin(pixels, tok->device, &acc_tmp, &b.acc);
    if (!st) st = orr_fill(acc_tmp ? acc_tmp : pixels, 0.0);
    if (!st) st = orr_tensor_zeros_on(tok->device, &weights, ORR_F32, 1, &area);
    if (!st) b.weights = weights->data;
    for (int64_t ky = 0; !st && ky < plan.tiles_y; ky++)
        for (int64_t kx = 0; !st && kx < plan.tiles_x; kx++) {
            st = decode_tile(tok, placed, &plan, &b, ky, kx, scale);
            if (st) orr_error_context(st, "%s: tile (%lld, %lld): ", op, (long long)ky, (long long)kx);
        }
    if (!st) st = blend_finish(&b);
    if (!st) {
        st = orr_output_f32_end(pixels, acc_tmp);
        acc_tmp = NULL;
    }
    orr_tensor_free(acc_tmp);
    orr_tensor_free(weights);
    orr_tensor_free(placed);
    return st;
}
