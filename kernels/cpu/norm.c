/* cpu/norm.c — the fast versions of norm.h. Rows (or channels) are spread
 * over the thread pool; each statistic is summed in 16 float lanes that the
 * compiler vectorises, folded into a double every FOLD elements so that long
 * groups (a whole video frame under GroupNorm(1, C)) keep their precision. */
#include "norm.h"

#include <math.h>
#include <stdbool.h>

#include "orrery.h"

enum { FOLD = 1 << 12, LANES = 16, SERIAL_WORK = 1 << 18 };

static void run_tasks(int64_t tasks, int64_t work_per_task, orr_range_fn fn, void *user) {
    if (tasks <= 0) return;
    if (tasks == 1 || tasks * work_per_task < SERIAL_WORK) fn(user, 0, tasks);
    else orr_parallel_for(tasks, fn, user);
}

/* Sum of (x[i] - centre)^power for power 1 or 2. */
static double sum_centred(const float *x, int64_t n, float centre, int power) {
    double total = 0;
    for (int64_t i0 = 0; i0 < n; i0 += FOLD) {
        const float *xb = x + i0;
        const int64_t len = n - i0 < FOLD ? n - i0 : FOLD;
        float lane[LANES] = {0}, s = 0;
        int64_t i = 0;
        if (power == 1) {
            for (; i + LANES <= len; i += LANES)
                for (int k = 0; k < LANES; k++) lane[k] += xb[i + k] - centre;
            for (; i < len; i++) s += xb[i] - centre;
        } else {
            for (; i + LANES <= len; i += LANES)
                for (int k = 0; k < LANES; k++) lane[k] += (xb[i + k] - centre) * (xb[i + k] - centre);
            for (; i < len; i++) s += (xb[i] - centre) * (xb[i] - centre);
        }
        for (int k = 0; k < LANES; k++) s += lane[k];
        total += s;
    }
    return total;
}

/* y = (x - mean) * rstd * w + b over one run, one loop per case so that
 * each streams once; w, b may be NULL. */
static void normalise_run(float *y, const float *x, int64_t n, float mean, float rstd, const float *w,
                          const float *b) {
    if (w && b)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd * w[i] + b[i];
    else if (w)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd * w[i];
    else if (b)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd + b[i];
    else
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd;
}

typedef struct norm_job {
    float *y;
    const float *x, *w, *b;
    int64_t dim;
    float eps;
    /* group norm */
    int64_t batch, channels, spatial, x_stride[2], y_stride[2];
    bool channel_major; /* x's runs lie in (channel, batch) order in memory */
    double *stats;
} norm_job;

/* Task k as (batch n, channel c), walked in x's memory order so that the
 * runs stream one after the other (a [T,C,H,W] frame view of [C,T,H,W]
 * would otherwise jump a whole frame between runs). */
static void task_item(const norm_job *job, int64_t k, int64_t *n, int64_t *c) {
    if (job->channel_major) *c = k / job->batch, *n = k % job->batch;
    else *n = k / job->channels, *c = k % job->channels;
}

static void layer_norm_range(void *user, int64_t begin, int64_t end) {
    const norm_job *job = user;
    const int64_t dim = job->dim;
    for (int64_t r = begin; r < end; r++) {
        const float *x = job->x + r * dim;
        const float mean = (float)(sum_centred(x, dim, 0.0f, 1) / (double)dim);
        const double var = sum_centred(x, dim, mean, 2) / (double)dim;
        const float rstd = (float)(1.0 / sqrt(var + job->eps));
        normalise_run(job->y + r * dim, x, dim, mean, rstd, job->w, job->b);
    }
}

void orr_cpu_layer_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, const float *b,
                        float eps) {
    if (dim == 0) return;
    norm_job job = {.y = y, .x = x, .w = w, .b = b, .dim = dim, .eps = eps};
    run_tasks(rows, 3 * dim, layer_norm_range, &job);
}

static void rms_norm_range(void *user, int64_t begin, int64_t end) {
    const norm_job *job = user;
    const int64_t dim = job->dim;
    for (int64_t r = begin; r < end; r++) {
        const float *x = job->x + r * dim;
        float *y = job->y + r * dim;
        const double mean_square = sum_centred(x, dim, 0.0f, 2) / (double)dim;
        const float scale = (float)(1.0 / sqrt(mean_square + job->eps));
        if (job->w)
            for (int64_t i = 0; i < dim; i++) y[i] = x[i] * scale * job->w[i];
        else
            for (int64_t i = 0; i < dim; i++) y[i] = x[i] * scale;
    }
}

void orr_cpu_rms_norm(float *y, const float *x, int64_t rows, int64_t dim, const float *w, float eps) {
    if (dim == 0) return;
    norm_job job = {.y = y, .x = x, .w = w, .dim = dim, .eps = eps};
    run_tasks(rows, 2 * dim, rms_norm_range, &job);
}

/* Group norm in three steps: per-channel mean and centred sum of squares
 * (parallel over channels), their exact combination per group (Chan et
 * al.), then normalisation (parallel over channels). */
static void channel_moments_range(void *user, int64_t begin, int64_t end) {
    const norm_job *job = user;
    for (int64_t k = begin; k < end; k++) {
        int64_t n, c;
        task_item(job, k, &n, &c);
        const float *x = job->x + n * job->x_stride[0] + c * job->x_stride[1];
        const double mean = sum_centred(x, job->spatial, 0.0f, 1) / (double)job->spatial;
        double *stats = job->stats + 2 * (n * job->channels + c);
        stats[0] = mean;
        stats[1] = sum_centred(x, job->spatial, (float)mean, 2);
    }
}

static void channel_normalise_range(void *user, int64_t begin, int64_t end) {
    const norm_job *job = user;
    for (int64_t k = begin; k < end; k++) {
        int64_t n, c;
        task_item(job, k, &n, &c);
        const int64_t s = job->spatial, bc = n * job->channels + c;
        const float mean = (float)job->stats[2 * bc], rstd = (float)job->stats[2 * bc + 1];
        const float wc = job->w ? job->w[c] : 1.0f, bias = job->b ? job->b[c] : 0.0f;
        const float *x = job->x + n * job->x_stride[0] + c * job->x_stride[1];
        float *y = job->y + n * job->y_stride[0] + c * job->y_stride[1];
        for (int64_t i = 0; i < s; i++) y[i] = (x[i] - mean) * rstd * wc + bias;
    }
}

void orr_cpu_group_norm(float *y, const int64_t *y_stride, const float *x, const int64_t *x_stride, int64_t batch,
                        int64_t channels, int64_t spatial, int64_t groups, const float *w, const float *b, float eps,
                        double *scratch) {
    if (spatial == 0 || channels == 0) return;
    norm_job job = {.y = y, .x = x, .w = w, .b = b, .eps = eps, .batch = batch, .channels = channels,
                    .spatial = spatial, .x_stride = {x_stride[0], x_stride[1]}, .y_stride = {y_stride[0], y_stride[1]},
                    .channel_major = x_stride[0] < x_stride[1], .stats = scratch};
    const int64_t total = batch * channels, per_group = channels / groups;
    run_tasks(total, 2 * spatial, channel_moments_range, &job);
    for (int64_t g0 = 0; g0 < total; g0 += per_group) {
        double mean = 0, m2 = 0;
        for (int64_t c = g0; c < g0 + per_group; c++) mean += scratch[2 * c];
        mean /= (double)per_group;
        for (int64_t c = g0; c < g0 + per_group; c++) {
            const double d = scratch[2 * c] - mean;
            m2 += scratch[2 * c + 1] + (double)spatial * d * d;
        }
        const double rstd = 1.0 / sqrt(m2 / (double)(per_group * spatial) + eps);
        for (int64_t c = g0; c < g0 + per_group; c++) {
            scratch[2 * c] = mean;
            scratch[2 * c + 1] = rstd;
        }
    }
    run_tasks(total, spatial, channel_normalise_range, &job);
}
