/* dit_pipeline.c — Text2World and Video2World end to end, as the official
 * diffusion/inference/world_generation_pipeline.py runs them after the text
 * encoder: the latent shape from the video size, (Video2World) the
 * condition latent from the input frames (inference_utils.py
 * create_condition_latent_from_input_frames), the sampler, and the
 * tokenizer decode with the latent normalisation undone
 * (DiffusionT2WModel.decode, _run_tokenizer_decoding). The latents and
 * frames live where the tokenizer is, the sample where the DiT is: with
 * both on cuda nothing comes back to the host but the video. */
#include <math.h>
#include <string.h>

#include "dit.h"
#include "tokenizer.h"

void orr_world_params_init(orr_world_params *p) {
    memset(p, 0, sizeof *p);
    p->frames = 121;
    p->height = 704;
    p->width = 1280;
    p->input_frames = 1;
    orr_diffusion_cond_init(&p->cond);
    orr_sampler_params_init(&p->sampler, ORR_SAMPLER_EULER);
    p->sampler.seed = 1;
}

/* The last n input frames at t = 0.., zeros after, encoded and normalised
 * (where the tokenizer is). */
static orr_status condition_latent(orr_tokenizer *tok, orr_tensor *cond, const orr_tensor *input,
                                   const int64_t pixel_shape[5], const orr_world_params *p) {
    const orr_device dev = orr_tokenizer_device(tok);
    orr_tensor *frames = NULL, *head = NULL, *last = NULL, *z = NULL;
    int64_t n = p->input_frames;
    orr_status st = orr_tensor_zeros_on(dev, &frames, ORR_F32, 5, pixel_shape);
    if (!st) st = orr_tensor_narrow(&head, frames, 2, 0, n);
    if (!st) st = orr_tensor_narrow(&last, input, 2, input->shape[2] - n, n);
    if (!st) st = orr_copy(head, last);
    if (!st) st = orr_tensor_empty_on(dev, &z, ORR_F32, 5, cond->shape);
    if (!st) st = orr_tokenizer_encode(tok, z, NULL, frames);
    if (!st) st = tok_model_latent(cond, z, p->latent_mean, p->latent_std,
                                   (float)p->sampler.sigma_data, false, "world");
    orr_tensor *all[] = {frames, head, last, z};
    for (int i = 0; i < 4; i++) orr_tensor_free(all[i]);
    return st;
}

/* The official uint8 conversion truncates: uint8(255 * clamp(1 + x, 0, 2) / 2);
 * made where the pixels are, so that only the bytes travel. */
static orr_status to_video(orr_tensor *video, const orr_tensor *pixels) {
    return video->dtype == ORR_U8 ? tok_to_u8(video, pixels) : orr_copy(video, pixels);
}

static orr_status check(const orr_dit *dit, orr_tokenizer *tok, const orr_tensor *video, const orr_tensor *input,
                        const orr_world_params *p, int64_t pixel_shape[5], int64_t latent_shape[5]) {
    char a[200];
    if (!dit || !tok || !video || !p) return orr_error(ORR_ERR_ARGUMENT, "world: NULL dit, tokenizer, video or params");
    orr_dit_info di;
    orr_tokenizer_info ti;
    orr_dit_get_info(dit, &di);
    orr_tokenizer_get_info(tok, &ti);
    if (di.video_conditioned != (input != NULL))
        return orr_error(ORR_ERR_ARGUMENT, "world: %s", di.video_conditioned
                                                             ? "a Video2World network needs input frames"
                                                             : "input frames are given but the network is Text2World");
    if (!ti.has_decoder || (input && !ti.has_encoder))
        return orr_error(ORR_ERR_ARGUMENT, "world: the tokenizer lacks its %s", ti.has_decoder ? "encoder" : "decoder");
    int64_t want[5] = {video->ndim == 5 ? video->shape[0] : 0, 3, p->frames, p->height, p->width};
    if (video->ndim != 5 || want[0] < 1 || memcmp(video->shape + 1, want + 1, 4 * sizeof(int64_t)))
        return orr_error(ORR_ERR_SHAPE, "world: video is %s, expected [B,3,%d,%d,%d] (frames, height, width)",
                         orr_tensor_describe(video, a, sizeof a), p->frames, p->height, p->width);
    memcpy(pixel_shape, want, sizeof want);
    orr_status st = orr_tokenizer_latent_shape(tok, 5, pixel_shape, latent_shape);
    if (st) return orr_error_context(st, "world: ");
    if (latent_shape[1] != di.latent_channels)
        return orr_error(ORR_ERR_SHAPE, "world: the tokenizer makes %lld latent channels, the network takes %d",
                         (long long)latent_shape[1], di.latent_channels);
    if (input) {
        int tc = ti.temporal_compression;
        if (input->ndim != 5 || input->shape[0] != want[0] || input->shape[1] != 3 || input->shape[3] != p->height ||
            input->shape[4] != p->width)
            return orr_error(ORR_ERR_SHAPE, "world: input is %s, expected [%lld,3,T,%d,%d]",
                             orr_tensor_describe(input, a, sizeof a), (long long)want[0], p->height, p->width);
        if (p->input_frames < 1 || p->input_frames > input->shape[2] || p->input_frames > p->frames ||
            (p->input_frames - 1) % tc)
            return orr_error(ORR_ERR_ARGUMENT,
                             "world: input_frames %d must be 1 + k*%d and at most the %lld input and %d output frames",
                             p->input_frames, tc, (long long)input->shape[2], p->frames);
    }
    return ORR_OK;
}

orr_status orr_world_generate(orr_dit *dit, orr_tokenizer *tok, orr_tensor *video, const orr_tensor *text,
                              const orr_tensor *neg_text, const orr_tensor *input, const orr_world_params *p,
                              orr_world_timings *timings) {
    int64_t pixel_shape[5], latent_shape[5];
    orr_status st = check(dit, tok, video, input, p, pixel_shape, latent_shape);
    if (st) return st;
    orr_world_timings t = {0};
    orr_diffusion_cond cond = p->cond;
    cond.text = text;
    cond.neg_text = neg_text;
    cond.padding_mask = NULL;
    cond.condition_latent = NULL;
    const orr_device tok_dev = orr_tokenizer_device(tok);
    orr_tensor *cond_latent = NULL, *latent = NULL, *z = NULL, *pixels = NULL;
    double t0 = orr_now_seconds();
    if (input) {
        orr_tokenizer_info ti;
        orr_tokenizer_get_info(tok, &ti);
        /* the sampler takes its condition over to the DiT's device */
        st = orr_tensor_empty_on(tok_dev, &cond_latent, ORR_F32, 5, latent_shape);
        if (!st) st = condition_latent(tok, cond_latent, input, pixel_shape, p);
        cond.condition_latent = cond_latent;
        /* the latent frames the input frames fill (compute_num_latent_frames) */
        cond.condition_frames = 1 + (p->input_frames - 1) / ti.temporal_compression;
        if (st) orr_error_context(st, "world: encoding the input frames: ");
    }
    double t1 = orr_now_seconds();
    /* sampled where the DiT is (its noise drawn there), decoded where the
     * tokenizer is */
    if (!st) st = orr_tensor_empty_on(dit->device, &latent, ORR_F32, 5, latent_shape);
    if (!st) st = orr_dit_sample(dit, latent, &cond, &p->sampler);
    double t2 = orr_now_seconds();
    if (!st) st = orr_tensor_empty_on(tok_dev, &z, ORR_F32, 5, latent_shape);
    if (!st) st = tok_model_latent(z, latent, p->latent_mean, p->latent_std,
                                   (float)p->sampler.sigma_data, true, "world");
    if (!st) st = orr_tensor_empty_on(tok_dev, &pixels, ORR_F32, 5, pixel_shape);
    if (!st && (st = orr_tokenizer_decode(tok, pixels, z))) orr_error_context(st, "world: decoding: ");
    if (!st) st = to_video(video, pixels);
    double t3 = orr_now_seconds();
    t.encode_seconds = t1 - t0, t.sample_seconds = t2 - t1, t.decode_seconds = t3 - t2;
    if (timings) *timings = t;
    orr_tensor *all[] = {cond_latent, latent, z, pixels};
    for (int i = 0; i < 4; i++) orr_tensor_free(all[i]);
    return st;
}
