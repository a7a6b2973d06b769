/* transfer_pipeline.c — a Transfer1 generation of any length, as the
 * official DiffusionControl2WorldGenerationPipeline._run_model runs it after
 * the text encoder and the preprocessors:
 *
 *  - the control videos (and the input video) are padded by repeating their
 *    last frame until they are 1 + k * (chunk - 1) frames long;
 *  - chunk i covers frames [i (chunk - 1), + chunk): its control
 *    frames are encoded per control into the latent hints, its slice of the
 *    weight maps is resized to the token grid, and with an input video the
 *    start is the encoded input chunk plus sigma_max noise (seed + i);
 *  - chunk 0 has no condition; chunk i > 0 is conditioned on the previous
 *    chunk's last decoded frame (through uint8, as the official decodes),
 *    placed at frame 0 of an otherwise black chunk, as 1 latent frame;
 *  - every chunk after the first drops its first frame; the video is cut
 *    back to the input's length.
 *
 * Weight maps hold as many frames as the caller gives, padded with their
 * last frame: the official ones hold the first chunk's frames only, so
 * later chunks repeat its last frame (give maps over the whole video to
 * control later chunks).
 *
 * The sampler runs where the networks are (its inputs go over once per
 * chunk); the frames, latents and hints live where the tokenizer is, so
 * with both on cuda only the input frames go over and each chunk's uint8
 * frames come back. */
#include <math.h>
#include <string.h>

#include "tokenizer.h"
#include "transfer.h"

void orr_transfer_params_init(orr_transfer_params *p) {
    memset(p, 0, sizeof *p);
    p->chunk_frames = 121;
    orr_transfer_cond_init(&p->cond);
    orr_transfer_sampler_params_init(&p->sampler);
    p->sigma_max = 70.0;
    p->bf16_weights = true;
}

/* Frames [start, start + n) of x along `dim`, past the end repeating the
 * last frame, into the contiguous f32 dst. */
static orr_status frames_padded(orr_tensor *dst, const orr_tensor *x, int dim, int64_t start, int64_t n) {
    int64_t have = x->shape[dim];
    orr_status st = ORR_OK;
    for (int64_t k = 0; k < n && !st; k++) {
        int64_t src = start + k < have ? start + k : have - 1;
        orr_tensor *d = NULL, *s = NULL;
        st = orr_tensor_narrow(&d, dst, dim, k, 1);
        if (!st) st = orr_tensor_narrow(&s, x, dim, src, 1);
        if (!st) st = orr_copy(d, s);
        orr_tensor_free(d);
        orr_tensor_free(s);
    }
    return st;
}

/* pixels [B, 3, chunk, H, W]: the last frame (u8 [B, 3, 1, H, W]) read
 * back at frame 0, black after. */
static orr_status condition_frames(orr_tensor *pixels, const orr_tensor *last) {
    orr_tensor *first = NULL;
    orr_status st = orr_fill(pixels, -1.0);
    if (!st) st = orr_tensor_narrow(&first, pixels, 2, 0, 1);
    if (!st) st = tok_from_u8(first, last);
    orr_tensor_free(first);
    return st;
}

/* Frames [from, chunk) of the chunk's uint8 frames into out at start +
 * from, and the chunk's last frame into last. */
static orr_status append(orr_tensor *out, orr_tensor *last, const orr_tensor *chunk_u8, int64_t start, int64_t from) {
    const int64_t chunk = chunk_u8->shape[2];
    orr_tensor *src = NULL, *dst = NULL, *end = NULL;
    orr_status st = orr_tensor_narrow(&src, chunk_u8, 2, from, chunk - from);
    if (!st) st = orr_tensor_narrow(&dst, out, 2, start + from, chunk - from);
    if (!st) st = orr_copy(dst, src);
    if (!st) st = orr_tensor_narrow(&end, chunk_u8, 2, chunk - 1, 1);
    if (!st) st = orr_copy(last, end);
    orr_tensor_free(src);
    orr_tensor_free(dst);
    orr_tensor_free(end);
    return st;
}

typedef struct run {
    orr_transfer *tr;
    orr_tokenizer *tok;
    const orr_transfer_params *p;
    int64_t B, N, T, H, W, chunk, step, chunks;
    int64_t latent[5];
    orr_tensor *pix;     /* [B, 3, chunk, H, W] f32 scratch, where the tokenizer is */
    orr_tensor *z, *lat; /* latent scratch, there too */
} run;

/* Encodes pixels [B, 3, chunk, H, W] into the model's latent `out`. */
static orr_status encode(run *r, orr_tensor *out, const orr_tensor *pixels) {
    orr_status st = orr_tokenizer_encode(r->tok, r->z, NULL, pixels);
    if (!st) st = tok_model_latent(out, r->z, r->p->latent_mean, r->p->latent_std,
                                   (float)r->p->sampler.sigma_data, false, "transfer_generate");
    return st;
}

/* The latent hints [B, N, C, t, h, w] of chunk i. */
static orr_status hints(run *r, orr_tensor *hint, const orr_tensor *controls, int64_t start) {
    orr_status st = ORR_OK;
    for (int64_t n = 0; n < r->N && !st; n++) {
        orr_tensor *ctl = NULL, *dst = NULL;
        st = orr_tensor_select(&ctl, controls, 1, n);
        if (!st) st = frames_padded(r->pix, ctl, 2, start, r->chunk);
        if (!st) st = orr_tensor_select(&dst, hint, 1, n);
        if (!st) st = encode(r, r->lat, r->pix);
        if (!st) st = orr_copy(dst, r->lat);
        orr_tensor_free(ctl);
        orr_tensor_free(dst);
    }
    return st;
}

/* The weights of chunk i: scalars as given, maps sliced and resized to the
 * token grid [N, B, 1, t', h', w']. */
static orr_status chunk_weights(run *r, orr_tensor **out, const orr_tensor *weights, int64_t start) {
    *out = NULL;
    if (!weights) return ORR_OK;
    if (weights->ndim == 1) return orr_tensor_view(out, weights);
    const dit_config *c = &r->tr->base->cfg;
    int64_t N = r->N, Hm = weights->shape[2], Wm = weights->shape[3];
    orr_tensor *slice = NULL, *maps = NULL, *tok = NULL;
    orr_status st = orr_tensor_empty(&slice, ORR_F32, 4, (int64_t[]){N, r->chunk, Hm, Wm});
    if (!st) st = frames_padded(slice, weights, 1, start, r->chunk);
    if (!st) st = orr_tensor_view_as(&maps, slice, 6, (int64_t[]){N, 1, 1, r->chunk, Hm, Wm});
    if (!st)
        st = orr_tensor_empty(&tok, ORR_F32, 6,
                              (int64_t[]){N, 1, 1, r->latent[2] / c->patch_temporal, r->latent[3] / c->patch_spatial,
                                          r->latent[4] / c->patch_spatial});
    if (!st) st = orr_control_weights_to_tokens(tok, maps, r->p->bf16_weights);
    /* the same maps for every batch item */
    if (!st && r->B > 1) {
        orr_tensor *wide = NULL, *all = NULL;
        int64_t shape[6];
        memcpy(shape, tok->shape, sizeof shape);
        shape[1] = r->B;
        st = orr_tensor_expand(&wide, tok, 6, shape);
        if (!st) st = orr_tensor_clone(&all, wide, ORR_F32);
        orr_tensor_free(wide);
        orr_tensor_free(tok);
        tok = all;
    }
    orr_tensor_free(slice);
    orr_tensor_free(maps);
    if (st)
        orr_tensor_free(tok);
    else
        *out = tok;
    return st;
}

static orr_status check(const orr_transfer *tr, orr_tokenizer *tok, const orr_tensor *video, const orr_tensor *controls,
                        const orr_tensor *input, const orr_tensor *weights, const orr_transfer_params *p, run *r) {
    char a[200];
    if (!tr || !tok || !video || !controls || !p)
        return orr_error(ORR_ERR_ARGUMENT, "transfer_generate: NULL network, tokenizer, video, controls or params");
    orr_tokenizer_info ti;
    orr_tokenizer_get_info(tok, &ti);
    if (!ti.has_encoder || !ti.has_decoder)
        return orr_error(ORR_ERR_ARGUMENT, "transfer_generate: the tokenizer needs both halves");
    if (controls->ndim != 6 || controls->shape[1] != tr->n_branches || controls->shape[2] != 3 ||
        controls->shape[0] < 1 || controls->shape[3] < 1)
        return orr_error(ORR_ERR_SHAPE,
                         "transfer_generate: controls is %s, expected [B,%d,3,T,H,W] (a video per branch)",
                         orr_tensor_describe(controls, a, sizeof a), tr->n_branches);
    r->B = controls->shape[0], r->N = controls->shape[1], r->T = controls->shape[3];
    r->H = controls->shape[4], r->W = controls->shape[5];
    int64_t want[5] = {r->B, 3, r->T, r->H, r->W};
    if (video->ndim != 5 || memcmp(video->shape, want, sizeof want))
        return orr_error(ORR_ERR_SHAPE,
                         "transfer_generate: video is %s, expected the controls' [%lld,3,%lld,%lld,%lld]",
                         orr_tensor_describe(video, a, sizeof a), (long long)r->B, (long long)r->T, (long long)r->H,
                         (long long)r->W);
    if (input && (input->ndim != 5 || input->shape[0] != r->B || input->shape[1] != 3 || input->shape[2] < 1 ||
                  input->shape[3] != r->H || input->shape[4] != r->W))
        return orr_error(ORR_ERR_SHAPE, "transfer_generate: input is %s, expected [%lld,3,T,%lld,%lld]",
                         orr_tensor_describe(input, a, sizeof a), (long long)r->B, (long long)r->H, (long long)r->W);
    if (weights && !(weights->ndim == 1 && weights->shape[0] == r->N) &&
        !(weights->ndim == 4 && weights->shape[0] == r->N && weights->shape[1] > 0 && weights->shape[2] > 0 &&
          weights->shape[3] > 0))
        return orr_error(ORR_ERR_SHAPE, "transfer_generate: weights is %s, expected [%lld] or [%lld,T,H,W]",
                         orr_tensor_describe(weights, a, sizeof a), (long long)r->N, (long long)r->N);
    /* chunks share one frame (the official num_input_frames, which takes only 1) */
    r->chunk = p->chunk_frames;
    r->step = p->chunk_frames - 1;
    if (r->step < 1 || r->step % ti.temporal_compression)
        return orr_error(ORR_ERR_ARGUMENT, "transfer_generate: chunk_frames %d must be 1 + k*%d (k >= 1)",
                         p->chunk_frames, ti.temporal_compression);
    int64_t pixel[5] = {r->B, 3, r->chunk, r->H, r->W};
    orr_status st = orr_tokenizer_latent_shape(tok, 5, pixel, r->latent);
    if (st) return orr_error_context(st, "transfer_generate: ");
    /* (T - 1) padded up to whole steps; a video shorter than one chunk is one chunk */
    int64_t rest = r->T > 1 ? r->T - 1 : 0;
    r->chunks = rest ? (rest + r->step - 1) / r->step : 1;
    return ORR_OK;
}

orr_status orr_transfer_generate(orr_transfer *tr, orr_tokenizer *tok, orr_tensor *video, const orr_tensor *controls,
                                 const orr_tensor *input, const orr_tensor *text, const orr_tensor *neg_text,
                                 const orr_tensor *weights, const orr_transfer_params *p, orr_world_timings *timings) {
    run r = {.tr = tr, .tok = tok, .p = p};
    orr_status st = check(tr, tok, video, controls, input, weights, p, &r);
    if (st) return st;
    orr_world_timings t = {0};
    int64_t pixel[5] = {r.B, 3, r.chunk, r.H, r.W};
    int64_t hint_shape[6] = {r.B, r.N, r.latent[1], r.latent[2], r.latent[3], r.latent[4]};
    const orr_device dev = orr_tokenizer_device(tok);
    orr_tensor *hint = NULL, *x0 = NULL, *sample = NULL, *cond_lat = NULL, *frames = NULL, *frames_u8 = NULL;
    orr_tensor *out = NULL, *last = NULL;
    st = orr_tensor_empty_on(dev, &r.pix, ORR_F32, 5, pixel);
    if (!st) st = orr_tensor_empty_on(dev, &r.z, ORR_F32, 5, r.latent);
    if (!st) st = orr_tensor_empty_on(dev, &r.lat, ORR_F32, 5, r.latent);
    if (!st) st = orr_tensor_empty_on(dev, &hint, ORR_F32, 6, hint_shape);
    if (!st) st = orr_tensor_empty_on(dev, &x0, ORR_F32, 5, r.latent);
    if (!st) st = orr_tensor_empty_on(orr_transfer_device(tr), &sample, ORR_F32, 5, r.latent);
    if (!st) st = orr_tensor_empty_on(dev, &cond_lat, ORR_F32, 5, r.latent);
    if (!st) st = orr_tensor_empty_on(dev, &frames, ORR_F32, 5, pixel);
    if (!st) st = orr_tensor_empty_on(dev, &frames_u8, ORR_U8, 5, pixel);
    int64_t total = r.chunks * r.step + 1;
    /* the video on the host, the previous chunk's last frame where the tokenizer is */
    if (!st) st = orr_tensor_empty(&out, ORR_U8, 5, (int64_t[]){r.B, 3, total, r.H, r.W});
    if (!st) st = orr_tensor_empty_on(dev, &last, ORR_U8, 5, (int64_t[]){r.B, 3, 1, r.H, r.W});
    for (int64_t i = 0; i < r.chunks && !st; i++) {
        int64_t start = i * r.step;
        double t0 = orr_now_seconds();
        orr_transfer_cond cond = p->cond;
        cond.base.text = text;
        cond.base.neg_text = neg_text;
        cond.base.condition_latent = NULL;
        cond.base.condition_frames = 0;
        orr_sampler_params sp = p->sampler;
        sp.seed = p->sampler.seed + (uint64_t)i;
        sp.init_latent = NULL;
        orr_tensor *w = NULL;
        st = hints(&r, hint, controls, start);
        if (!st) st = chunk_weights(&r, &w, weights, start);
        if (!st && input) {
            /* the input chunk noised to sigma_max (SDEdit) */
            st = frames_padded(r.pix, input, 2, start, r.chunk);
            if (!st) st = encode(&r, x0, r.pix);
            sp.init_latent = x0;
            sp.sigma_max = p->sigma_max;
        }
        if (!st && i > 0) {
            /* the last frame, through uint8, then black */
            st = condition_frames(r.pix, last);
            if (!st) st = encode(&r, cond_lat, r.pix);
            cond.base.condition_latent = cond_lat;
            cond.base.condition_frames = 1; /* compute_num_latent_frames(1) */
        }
        cond.latent_hint = hint;
        cond.control_weight = w;
        double t1 = orr_now_seconds();
        if (!st) st = orr_transfer_sample(tr, sample, &cond, &sp);
        orr_tensor_free(w);
        double t2 = orr_now_seconds();
        if (!st) st = tok_model_latent(r.z, sample, p->latent_mean, p->latent_std,
                                       (float)p->sampler.sigma_data, true, "transfer_generate");
        if (!st) st = orr_tokenizer_decode(tok, frames, r.z);
        /* append (after the first chunk, without the frame it shares) */
        if (!st) st = tok_to_u8(frames_u8, frames);
        if (!st) st = append(out, last, frames_u8, start, i ? 1 : 0);
        if (st) {
            orr_error_context(st, "transfer_generate chunk %lld of %lld: ", (long long)i, (long long)r.chunks);
            break;
        }
        double t3 = orr_now_seconds();
        t.encode_seconds += t1 - t0, t.sample_seconds += t2 - t1, t.decode_seconds += t3 - t2;
    }
    orr_tensor *cut = NULL;
    if (!st) st = orr_tensor_narrow(&cut, out, 2, 0, r.T);
    if (!st && video->dtype == ORR_U8)
        st = orr_copy(video, cut);
    else if (!st) {
        /* float output: the uint8 frames back in [-1, 1] */
        orr_tensor *f = NULL;
        st = orr_tensor_empty(&f, ORR_F32, 5, video->shape);
        if (!st) st = orr_copy(f, cut);
        if (!st) st = orr_affine(f, f, 2.0f / 255.0f, -1.0f);
        if (!st) st = orr_copy(video, f);
        orr_tensor_free(f);
    }
    if (timings) *timings = t;
    orr_tensor *all[] = {r.pix, r.z, r.lat, hint, x0, sample, cond_lat, frames, frames_u8, out, last, cut};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) orr_tensor_free(all[i]);
    return st;
}
