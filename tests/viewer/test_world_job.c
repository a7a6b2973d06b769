/* A generation on a worker thread, watched and cancelled from the calling
 * thread (what the viewer's live preview rests on), and the latent-to-RGB
 * projection of its previews. Needs no display. */
#include "test_util.h"
#include "tiny_world.h"

/* Polls until `done` says so or 60 s pass. */
static void wait_until(orr_world_job *job, orr_world_job_state *s, bool (*done)(const orr_world_job_state *)) {
    for (int i = 0; i < 600; i++) {
        orr_world_job_poll(job, s, 0.1);
        if (done(s)) return;
    }
}

static bool finished(const orr_world_job_state *s) { return s->done; }

static void test_job(orr_dit *dit, orr_tokenizer *tok, const orr_tensor *text) {
    orr_world_params p;
    tiny_params(&p);
    int64_t shape[5] = {1, 3, 9, 32, 32};
    orr_tensor *direct = NULL, *video = NULL, *preview = NULL;
    CHECK_OK(orr_tensor_empty(&direct, ORR_U8, 5, shape));
    CHECK_OK(orr_tensor_zeros(&video, ORR_U8, 5, shape));
    CHECK_OK(orr_world_generate(dit, tok, direct, text, NULL, NULL, &p, NULL));

    /* sigmas are copied: the caller's array may go away at once */
    double sigmas[5];
    CHECK_OK(orr_sampler_sigmas(&p.sampler, sigmas, 5));
    double *copy = malloc(sizeof sigmas);
    memcpy(copy, sigmas, sizeof sigmas);
    p.sampler.sigmas = copy;
    tiny_gate g = TINY_GATE(0);
    tiny_gate_use(&g, &p);
    orr_world_job *job = NULL;
    CHECK_OK(orr_world_job_start(&job, dit, tok, video, text, NULL, NULL, &p));
    memset(copy, 0, sizeof sigmas);
    free(copy);
    if (!job) return;
    orr_world_job_request_decode(job);
    orr_world_job_state s;
    orr_world_job_poll(job, &s, 0);
    CHECK(!s.done && s.elapsed_seconds >= 0);
    /* the first preview was asked to be a full decode; the gate holds step 1 */
    CHECK(tiny_gate_holds(&g, 1));
    orr_world_job_poll(job, &s, 0);
    CHECK(s.preview_version == 1 && s.preview_step == 0 && s.preview_decoded && !s.done);
    CHECK(s.progress.step == 0 && s.progress.steps == 4 && s.progress.sigma == sigmas[0]);
    CHECK(s.progress.sigma_next == sigmas[1] && s.progress.seconds_per_step > 0);
    CHECK_OK(orr_world_job_preview(job, &preview));
    CHECK(preview && preview->ndim == 4 && preview->shape[0] == 9 && preview->shape[1] == 32 &&
          preview->shape[2] == 32 && preview->shape[3] == 3);
    orr_tensor_free(preview);
    preview = NULL;
    tiny_gate_allow(&g, 4);
    wait_until(job, &s, finished);
    CHECK(s.done && s.status == ORR_OK && s.progress.step == 3 && s.preview_version == 4 && !s.preview_decoded);
    /* later previews are the projection, at latent size: 2 frames of 4x4 */
    CHECK_OK(orr_world_job_preview(job, &preview));
    CHECK(preview && preview->shape[0] == 2 && preview->shape[1] == 4 && preview->shape[2] == 4);
    orr_world_timings t;
    CHECK_OK(orr_world_job_wait(job, &t));
    CHECK(t.sample_seconds > 0 && t.decode_seconds > 0);
    /* the job's callbacks do not change the numbers */
    CHECK(!memcmp(video->data, direct->data, orr_tensor_nbytes(video)));
    orr_world_job_free(job);
    orr_tensor_free(preview);
    orr_tensor_free(video);
    orr_tensor_free(direct);
}

static void test_cancel(orr_dit *dit, orr_tokenizer *tok, const orr_tensor *text) {
    orr_world_params p;
    tiny_params(&p);
    tiny_gate g = TINY_GATE(1);
    tiny_gate_use(&g, &p);
    orr_tensor *video = NULL, *preview = NULL;
    CHECK_OK(orr_tensor_empty(&video, ORR_U8, 5, (int64_t[]){1, 3, 9, 32, 32}));
    orr_world_job *job = NULL;
    CHECK_OK(orr_world_job_start(&job, dit, tok, video, text, NULL, NULL, &p));
    if (!job) return;
    orr_world_job_state s;
    CHECK(tiny_gate_holds(&g, 2));
    orr_world_job_poll(job, &s, 0);
    CHECK(s.progress.step == 1 && !s.done);
    orr_world_job_cancel(job);
    tiny_gate_allow(&g, 4);
    wait_until(job, &s, finished);
    CHECK(s.done && s.cancel_requested && s.status == ORR_ERR_CANCELLED && strstr(s.error, "cancelled before step"));
    /* the gate held step 2 inside its network call, so the run stops before step 3 */
    CHECK_FAILS(orr_world_job_wait(job, NULL), ORR_ERR_CANCELLED, "cancelled before step 3");
    CHECK_OK(orr_world_job_preview(job, &preview)); /* the last estimate stays */
    orr_world_job_free(job);
    orr_tensor_free(preview);

    /* freeing a running job stops it */
    p.sampler.guidance_fn = NULL;
    p.sampler.steps = 1000;
    job = NULL;
    CHECK_OK(orr_world_job_start(&job, dit, tok, video, text, NULL, NULL, &p));
    orr_world_job_free(job);
    orr_tensor_free(video);

    orr_tensor *out = NULL;
    CHECK_FAILS(orr_world_job_start(&job, dit, tok, NULL, text, NULL, NULL, &p), ORR_ERR_ARGUMENT, "video");
    p.sampler.steps = 0;
    CHECK_FAILS(orr_world_job_start(&job, dit, tok, video, text, NULL, NULL, &p), ORR_ERR_ARGUMENT, "steps is 0");
    CHECK_FAILS(orr_world_job_preview(NULL, &out), ORR_ERR_ARGUMENT, "job");
}

/* A bad run fails on the worker, and its message comes back. */
static void test_failure(orr_dit *dit, orr_tokenizer *tok, const orr_tensor *text) {
    orr_world_params p;
    tiny_params(&p);
    orr_tensor *video = NULL;
    CHECK_OK(orr_tensor_empty(&video, ORR_U8, 5, (int64_t[]){1, 3, 9, 32, 48}));
    orr_world_job *job = NULL;
    CHECK_OK(orr_world_job_start(&job, dit, tok, video, text, NULL, NULL, &p));
    orr_world_job_state s;
    wait_until(job, &s, finished);
    CHECK(s.status == ORR_ERR_SHAPE && strstr(s.error, "world: video is u8[1,3,9,32,48]"));
    CHECK_FAILS(orr_world_job_wait(job, NULL), ORR_ERR_SHAPE, "expected [B,3,9,32,32]");
    orr_tensor *preview = NULL;
    CHECK_FAILS(orr_world_job_preview(job, &preview), ORR_ERR_NOT_FOUND, "no step has finished");
    orr_world_job_free(job);
    orr_tensor_free(video);
}

static void test_guidance_table(void) {
    double table[3] = {7.0, 4.5, 2.0};
    CHECK(orr_guidance_from_table(table, 0, 80.0) == 7.0 && orr_guidance_from_table(table, 2, 0.1) == 2.0);
}

static void test_latent_preview(void) {
    /* channel 0 alternates +-1 (std 1): mean +- 1 std lands at 127.5 +- 51;
     * channel 1 is flat (mid grey); channel 2 is channel 0 negated */
    orr_tensor *z = NULL, *rgb = NULL;
    CHECK_OK(orr_tensor_empty(&z, ORR_F32, 5, (int64_t[]){2, 3, 1, 2, 2}));
    CHECK_OK(orr_tensor_empty(&rgb, ORR_U8, 4, (int64_t[]){1, 2, 2, 3}));
    float *x = z->data;
    for (int i = 0; i < 24; i++) x[i] = 5.0f; /* batch 1 is not shown */
    for (int i = 0; i < 4; i++) {
        x[i] = i % 2 ? 1.0f : -1.0f;
        x[4 + i] = 0.25f;
        x[8 + i] = -x[i];
    }
    CHECK_OK(orr_latent_preview(rgb, z, NULL));
    const uint8_t *px = rgb->data;
    CHECK(px[0] == 77 && px[1] == 128 && px[2] == 179);
    CHECK(px[3] == 179 && px[4] == 128 && px[5] == 77);
    /* a matrix: red from channel 2, green from channel 0, blue none */
    float m[9] = {0, 0, 1, 1, 0, 0, 0, 0, 0};
    CHECK_OK(orr_latent_preview(rgb, z, m));
    CHECK(px[0] == 179 && px[1] == 77 && px[2] == 128);

    orr_tensor *wrong = NULL;
    CHECK_OK(orr_tensor_empty(&wrong, ORR_U8, 4, (int64_t[]){1, 2, 3, 3}));
    CHECK_FAILS(orr_latent_preview(wrong, z, NULL), ORR_ERR_SHAPE, "frames is u8[1,2,3,3], expected u8[1,2,2,3]");
    orr_tensor *flat = NULL;
    CHECK_OK(orr_tensor_empty(&flat, ORR_F32, 3, (int64_t[]){2, 2, 3}));
    CHECK_FAILS(orr_latent_preview(rgb, flat, NULL), ORR_ERR_SHAPE, "latent is f32[2,2,3]");
    orr_tensor_free(flat);
    x[5] = NAN;
    CHECK_FAILS(orr_latent_preview(rgb, z, NULL), ORR_ERR_NONFINITE, "channel 1");
    orr_tensor_free(wrong);
    orr_tensor_free(rgb);
    orr_tensor_free(z);
}

int main(void) {
    test_latent_preview();
    test_guidance_table();
    orr_tokenizer *tok = NULL;
    orr_dit *dit = NULL;
    orr_tensor *text = NULL;
    CHECK_OK(orr_tokenizer_create_random(&tok, tiny_cv_config, 1));
    CHECK_OK(orr_dit_create_random(&dit, "GeneralDIT", tiny_dit_config, 3));
    CHECK_OK(orr_tensor_empty(&text, ORR_F32, 3, (int64_t[]){1, 4, 8}));
    if (tok && dit && text) {
        orr_rng rng;
        orr_rng_init(&rng, 7);
        CHECK_OK(orr_rng_normal(&rng, text, 0, 1));
        test_job(dit, tok, text);
        test_cancel(dit, tok, text);
        test_failure(dit, tok, text);
    }
    orr_tensor_free(text);
    orr_dit_free(dit);
    orr_tokenizer_free(tok);
    return test_finish("world_job");
}
