/* world_job.c — orr_world_generate on a worker thread. The sampler's
 * callbacks run on that thread and only touch the job's state under its
 * lock; callers (the viewer's main loop, a Lua REPL) poll that state, so
 * nothing of theirs ever runs on the worker. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "world_job.h"

struct orr_world_job {
    orr_dit *dit;
    orr_tokenizer *tok;
    orr_tensor *video;
    const orr_tensor *text, *neg_text, *input;
    orr_world_params params;
    double *sigmas; /* the job's copy of params.sampler.sigmas */
    double start;

    pthread_t thread;
    bool joined;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    /* under lock */
    uint64_t changes; /* bumps with every state change, for poll's wait */
    orr_world_job_state state;
    orr_world_timings timings;
    orr_tensor *preview;

    atomic_bool cancel, decode;
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

const orr_tensor *world_job_video(const orr_world_job *job) { return job->video; }
int world_job_frames(const orr_world_job *job) { return job->params.frames; }
double world_job_fps(const orr_world_job *job) { return job->params.cond.fps > 0 ? job->params.cond.fps : 24; }

static void publish_locked(orr_world_job *job) {
    job->changes++;
    pthread_cond_broadcast(&job->changed);
}

static void on_progress(void *user, const orr_sampler_progress *p) {
    orr_world_job *job = user;
    pthread_mutex_lock(&job->lock);
    job->state.progress = *p;
    publish_locked(job);
    pthread_mutex_unlock(&job->lock);
}

double orr_guidance_from_table(void *user, int i, double sigma) { return ((const double *)user)[i]; }

static bool on_cancel(void *user) { return atomic_load(&((orr_world_job *)user)->cancel); }

/* The x0 estimate decoded to frames, the latent normalisation undone as
 * orr_world_generate does before its own decode. */
static orr_status decode_x0(orr_world_job *job, const orr_tensor *x0, orr_tensor **frames) {
    const orr_world_params *p = &job->params;
    float sd = (float)p->sampler.sigma_data;
    int64_t pixel_shape[5];
    orr_tensor *z = NULL, *pixels = NULL, *first = NULL;
    orr_status st = orr_tensor_empty(&z, ORR_F32, 5, x0->shape);
    if (!st)
        st = p->latent_mean && p->latent_std
                 ? orr_tokenizer_denormalize_latent(z, x0, p->latent_mean, p->latent_std, sd)
                 : orr_affine(z, x0, 1.0f / sd, 0.0f);
    if (!st) st = orr_tokenizer_pixel_shape(job->tok, 5, x0->shape, pixel_shape);
    if (!st) st = orr_tensor_empty(&pixels, ORR_F32, 5, pixel_shape);
    if (!st) st = orr_tokenizer_decode(job->tok, pixels, z);
    if (!st) st = orr_tensor_select(&first, pixels, 0, 0);
    int64_t shape[4] = {pixel_shape[2], pixel_shape[3], pixel_shape[4], 3};
    if (!st) st = orr_tensor_empty(frames, ORR_U8, 4, shape);
    if (!st && (st = orr_frames_from_model(*frames, first))) {
        orr_tensor_free(*frames);
        *frames = NULL;
    }
    orr_tensor_free(first);
    orr_tensor_free(pixels);
    orr_tensor_free(z);
    return st;
}

static orr_status project_x0(const orr_tensor *x0, orr_tensor **frames) {
    int64_t shape[4] = {x0->shape[2], x0->shape[3], x0->shape[4], 3};
    orr_status st = orr_tensor_empty(frames, ORR_U8, 4, shape);
    if (!st && (st = orr_latent_preview(*frames, x0, NULL))) {
        orr_tensor_free(*frames);
        *frames = NULL;
    }
    return st;
}

static void on_preview(void *user, int step, const orr_tensor *x, const orr_tensor *x0) {
    orr_world_job *job = user;
    orr_tensor *frames = NULL;
    bool decoded = atomic_exchange(&job->decode, false) && decode_x0(job, x0, &frames) == ORR_OK;
    if (!decoded && project_x0(x0, &frames) != ORR_OK) return; /* a NaN estimate: the sampler reports it */
    pthread_mutex_lock(&job->lock);
    orr_tensor_free(job->preview);
    job->preview = frames;
    job->state.preview_version++;
    job->state.preview_step = step;
    job->state.preview_decoded = decoded;
    publish_locked(job);
    pthread_mutex_unlock(&job->lock);
}

static void *run(void *arg) {
    orr_world_job *job = arg;
    orr_world_timings timings = {0};
    orr_status st = orr_world_generate(job->dit, job->tok, job->video, job->text, job->neg_text, job->input,
                                       &job->params, &timings);
    pthread_mutex_lock(&job->lock);
    job->state.done = true;
    job->state.status = st;
    if (st) snprintf(job->state.error, sizeof job->state.error, "%s", orr_last_error());
    job->state.elapsed_seconds = now_seconds() - job->start;
    job->timings = timings;
    publish_locked(job);
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

orr_status orr_world_job_start(orr_world_job **out, orr_dit *dit, orr_tokenizer *tok, orr_tensor *video,
                               const orr_tensor *text, const orr_tensor *neg_text, const orr_tensor *input,
                               const orr_world_params *p) {
    if (!out || !dit || !tok || !video || !p)
        return orr_error(ORR_ERR_ARGUMENT, "world_job_start: out, dit, tok, video and params must not be NULL");
    *out = NULL;
    if (p->sampler.steps < 1)
        return orr_error(ORR_ERR_ARGUMENT, "world_job_start: sampler steps is %d, expected >= 1", p->sampler.steps);
    orr_world_job *job = calloc(1, sizeof *job);
    if (!job) return orr_error(ORR_ERR_MEMORY, "world_job_start: out of memory");
    job->dit = dit;
    job->tok = tok;
    job->video = video;
    job->text = text;
    job->neg_text = neg_text;
    job->input = input;
    job->params = *p;
    if (p->sampler.sigmas) {
        size_t n = (size_t)p->sampler.steps + 1;
        if (!(job->sigmas = malloc(n * sizeof *job->sigmas))) {
            free(job);
            return orr_error(ORR_ERR_MEMORY, "world_job_start: out of memory");
        }
        memcpy(job->sigmas, p->sampler.sigmas, n * sizeof *job->sigmas);
        job->params.sampler.sigmas = job->sigmas;
    }
    orr_sampler_params *s = &job->params.sampler;
    s->progress = on_progress;
    s->progress_user = job;
    s->preview = on_preview;
    s->preview_user = job;
    if (s->preview_every < 1) s->preview_every = 1;
    s->cancel = on_cancel;
    s->cancel_user = job;
    job->state.progress.step = -1;
    job->state.progress.steps = p->sampler.steps;
    atomic_init(&job->cancel, false);
    atomic_init(&job->decode, false);
    pthread_mutex_init(&job->lock, NULL);
    pthread_cond_init(&job->changed, NULL);
    job->start = now_seconds();
    int rc = pthread_create(&job->thread, NULL, run, job);
    if (rc) {
        job->joined = true;
        orr_world_job_free(job);
        return orr_error(ORR_ERR_MEMORY, "world_job_start: cannot start a thread (%s)", strerror(rc));
    }
    *out = job;
    return ORR_OK;
}

void orr_world_job_poll(orr_world_job *job, orr_world_job_state *out, double wait_seconds) {
    if (!job || !out) return;
    pthread_mutex_lock(&job->lock);
    if (wait_seconds > 0 && !job->state.done) {
        uint64_t seen = job->changes;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double end = until.tv_sec + until.tv_nsec * 1e-9 + wait_seconds;
        until.tv_sec = (time_t)end;
        until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
        while (job->changes == seen && pthread_cond_timedwait(&job->changed, &job->lock, &until) == 0) {
        }
    }
    *out = job->state;
    if (!out->done) out->elapsed_seconds = now_seconds() - job->start;
    pthread_mutex_unlock(&job->lock);
    out->cancel_requested = atomic_load(&job->cancel);
}

void orr_world_job_cancel(orr_world_job *job) {
    if (job) atomic_store(&job->cancel, true);
}

void orr_world_job_request_decode(orr_world_job *job) {
    if (job) atomic_store(&job->decode, true);
}

orr_status orr_world_job_preview(orr_world_job *job, orr_tensor **frames) {
    if (!job || !frames) return orr_error(ORR_ERR_ARGUMENT, "world_job_preview: job and frames must not be NULL");
    pthread_mutex_lock(&job->lock);
    orr_status st = job->preview ? orr_tensor_clone(frames, job->preview, ORR_U8)
                                 : orr_error(ORR_ERR_NOT_FOUND, "world_job_preview: no step has finished yet");
    pthread_mutex_unlock(&job->lock);
    return st;
}

orr_status orr_world_job_wait(orr_world_job *job, orr_world_timings *timings) {
    if (!job) return orr_error(ORR_ERR_ARGUMENT, "world_job_wait: job is NULL");
    if (!job->joined) {
        pthread_join(job->thread, NULL);
        job->joined = true;
    }
    if (timings) *timings = job->timings;
    if (job->state.status) return orr_error(job->state.status, "%s", job->state.error);
    return ORR_OK;
}

void orr_world_job_free(orr_world_job *job) {
    if (!job) return;
    if (!job->joined) {
        atomic_store(&job->cancel, true);
        pthread_join(job->thread, NULL);
    }
    orr_tensor_free(job->preview);
    pthread_cond_destroy(&job->changed);
    pthread_mutex_destroy(&job->lock);
    free(job->sigmas);
    free(job);
}
