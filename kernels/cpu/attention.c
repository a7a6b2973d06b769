/* cpu/attention.c — blocked attention with an online softmax (the
 * FlashAttention recurrence on the CPU). A task is one block of query rows of
 * one (batch, head); it walks the keys block by block, keeping per row the
 * running max m, the running sum l of exp(s - m) and the unnormalised output,
 * rescaled by exp(m_old - m_new) whenever the max grows. Blocks go through
 * single-threaded OpenBLAS sgemm, except tiny ones (the tokenizer's temporal
 * attention over 2-5 latent frames at each of thousands of (h,w) positions),
 * where a BLAS call costs more than the work and direct loops win. */
#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "attention.h"
#include "internal.h"

enum {
    Q_BLOCK = 128,  /* query rows per task (fewer when that leaves threads idle) */
    KV_BLOCK = 256, /* keys per step: the score block is Q_BLOCK x KV_BLOCK */
    LANES = 64,     /* independent partial sums: reductions vectorise and pipeline */
};

/* fmaf is one instruction where the target has FMA, a library call where not */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define MUL_ADD(a, b, c) fmaf(a, b, c)
#else
#define MUL_ADD(a, b, c) ((a) * (b) + (c))
#endif

/* Blocks below this many scores use the direct loops (measured: 16x16 is
 * already faster through sgemm, 3x3 is not). */
#define BLAS_MIN_SCORES 32

typedef struct attn_job {
    float *out;
    const float *q, *k, *v;
    const orr_attn_dims *d;
    const orr_attn_mask *mask;
    float scale;
    bool causal;
    int64_t q_block, kv_block, q_blocks, tasks, chunk;
    _Atomic int64_t next_task;
    float *scratch;
    size_t scratch_floats; /* per part */
} attn_job;

/* exp(x) for x <= 0, written so that the loop around it vectorises:
 * x = n ln2 + r with |r| <= ln2/2, e^r by its degree-7 Taylor polynomial
 * (truncation error < 1e-8, below float rounding), 2^n through the exponent
 * bits. x < -87 (and -inf, a masked score) gives exactly 0. */
static inline float exp_nonpositive(float x) {
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float xc = x < -87.0f ? -87.0f : x;
    float n = (xc * log2e + round_magic) - round_magic;
    float r = (xc - n * ln2_hi) - n * ln2_lo;
    float p = 1.0f / 5040;
    p = MUL_ADD(p, r, 1.0f / 720);
    p = MUL_ADD(p, r, 1.0f / 120);
    p = MUL_ADD(p, r, 1.0f / 24);
    p = MUL_ADD(p, r, 1.0f / 6);
    p = MUL_ADD(p, r, 0.5f);
    p = MUL_ADD(p, r, 1.0f);
    p = MUL_ADD(p, r, 1.0f);
    union {
        int32_t i;
        float f;
    } two_n = {.i = ((int32_t)n + 127) << 23};
    return x < -87.0f ? 0.0f : p * two_n.f;
}

static float row_max(const float *x, int64_t n) {
    float lane[LANES];
    for (int l = 0; l < LANES; l++) lane[l] = -INFINITY;
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) lane[l] = x[i + l] > lane[l] ? x[i + l] : lane[l];
    for (; i < n; i++) lane[0] = x[i] > lane[0] ? x[i] : lane[0];
    /* a tree, so that the folding vectorises too */
    for (int width = LANES / 2; width > 0; width /= 2)
        for (int l = 0; l < width; l++) lane[l] = lane[l + width] > lane[l] ? lane[l + width] : lane[l];
    return lane[0];
}

static float lanes_sum(float *lane) {
    for (int width = LANES / 2; width > 0; width /= 2)
        for (int l = 0; l < width; l++) lane[l] += lane[l + width];
    return lane[0];
}

static float row_sum(const float *x, int64_t n) {
    float lane[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += x[i + l];
    for (; i < n; i++) lane[0] += x[i];
    return lanes_sum(lane);
}

static float dot(const float *a, const float *b, int64_t n) {
    float lane[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) lane[l] = MUL_ADD(a[i + l], b[i + l], lane[l]);
    for (; i < n; i++) lane[0] = MUL_ADD(a[i], b[i], lane[0]);
    return lanes_sum(lane);
}

/* s[r, c] = scale * q[r] . k[c] for a rows x cols block. */
static void block_scores(float *s, int64_t lds, const float *q, const float *k, int64_t rows, int64_t cols,
                         int64_t dim, float scale) {
    if (rows * cols >= BLAS_MIN_SCORES && dim > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)cols, (int)dim, scale, q, (int)dim, k,
                    (int)dim, 0.0f, s, (int)lds);
        return;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) s[r * lds + c] = scale * dot(q + r * dim, k + c * dim, dim);
}

/* acc[r] += sum_c p[r, c] * v[c] for a rows x cols block of probabilities. */
static void block_accumulate(float *acc, const float *p, int64_t ldp, const float *v, int64_t rows, int64_t cols,
                             int64_t vdim) {
    if (rows * cols >= BLAS_MIN_SCORES && vdim > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)vdim, (int)cols, 1.0f, p, (int)ldp,
                    v, (int)vdim, 1.0f, acc, (int)vdim);
        return;
    }
    for (int64_t r = 0; r < rows; r++) {
        float *a = acc + r * vdim;
        for (int64_t c = 0; c < cols; c++) {
            float w = p[r * ldp + c];
            if (w == 0.0f) continue;
            const float *vc = v + c * vdim;
            for (int64_t e = 0; e < vdim; e++) a[e] = MUL_ADD(w, vc[e], a[e]);
        }
    }
}

/* Sets the scores of keys that query row i may not see to -inf. */
static void mask_block(const attn_job *job, float *s, int64_t lds, int64_t b, int64_t h, int64_t i0, int64_t rows,
                       int64_t j0, int64_t cols) {
    const orr_attn_dims *d = job->d;
    int64_t shift = d->kv_len - d->q_len;
    for (int64_t r = 0; r < rows; r++) {
        float *sr = s + r * lds;
        int64_t i = i0 + r;
        if (job->causal) {
            int64_t first_hidden = i + shift + 1 - j0;
            for (int64_t c = first_hidden < 0 ? 0 : first_hidden; c < cols; c++) sr[c] = -INFINITY;
        }
        if (job->mask->data) {
            const int64_t *ms = job->mask->stride;
            const float *mr = job->mask->data + b * ms[0] + h * ms[1] + i * ms[2] + j0 * ms[3];
            for (int64_t c = 0; c < cols; c++)
                if (mr[c * ms[3]] == 0.0f) sr[c] = -INFINITY;
        }
    }
}

/* Turns a block of scores into unnormalised probabilities against the new
 * running max of each row, and rescales what the row accumulated so far. */
static void online_softmax(float *s, int64_t lds, int64_t rows, int64_t cols, float *m, float *l, float *acc,
                           int64_t vdim) {
    for (int64_t r = 0; r < rows; r++) {
        float *sr = s + r * lds;
        float m_new = row_max(sr, cols);
        if (m[r] > m_new) m_new = m[r];
        if (m_new == -INFINITY) {
            /* nothing attended yet: the row adds nothing */
            memset(sr, 0, (size_t)cols * sizeof *sr);
            continue;
        }
        for (int64_t c = 0; c < cols; c++) sr[c] = exp_nonpositive(sr[c] - m_new);
        float correction = m[r] == -INFINITY ? 0.0f : expf(m[r] - m_new);
        l[r] = l[r] * correction + row_sum(sr, cols);
        if (correction != 1.0f) {
            float *a = acc + r * vdim;
            for (int64_t e = 0; e < vdim; e++) a[e] *= correction;
        }
        m[r] = m_new;
    }
}

static void run_task(attn_job *job, int64_t task, float *scratch) {
    const orr_attn_dims *d = job->d;
    int64_t D = d->head_dim, Dv = d->v_dim, Sq = d->q_len, Sk = d->kv_len;
    int64_t bh = task / job->q_blocks, qb = task % job->q_blocks;
    /* causal: the later blocks hold the most work, so start with them */
    if (job->causal) qb = job->q_blocks - 1 - qb;
    int64_t b = bh / d->heads, h = bh % d->heads;
    int64_t kvh = b * d->kv_heads + h / (d->heads / d->kv_heads);
    int64_t i0 = qb * job->q_block;
    int64_t rows = Sq - i0 < job->q_block ? Sq - i0 : job->q_block;
    const float *q = job->q + (bh * Sq + i0) * D;
    const float *k = job->k + kvh * Sk * D;
    const float *v = job->v + kvh * Sk * Dv;
    float *out = job->out + (bh * Sq + i0) * Dv;

    int64_t lds = job->kv_block;
    float *s = scratch, *acc = s + job->q_block * lds, *m = acc + job->q_block * Dv, *l = m + job->q_block;
    memset(acc, 0, (size_t)(rows * Dv) * sizeof *acc);
    for (int64_t r = 0; r < rows; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }

    /* causal: keys past the last row's diagonal are hidden from every row */
    int64_t j_end = Sk;
    if (job->causal && i0 + rows + (Sk - Sq) < j_end) j_end = i0 + rows + (Sk - Sq);
    for (int64_t j0 = 0; j0 < j_end; j0 += job->kv_block) {
        int64_t cols = j_end - j0 < job->kv_block ? j_end - j0 : job->kv_block;
        block_scores(s, lds, q, k + j0 * D, rows, cols, D, job->scale);
        bool diagonal = job->causal && j0 + cols - 1 > i0 + (Sk - Sq);
        if (diagonal || job->mask->data) mask_block(job, s, lds, b, h, i0, rows, j0, cols);
        online_softmax(s, lds, rows, cols, m, l, acc, Dv);
        block_accumulate(acc, s, lds, v + j0 * Dv, rows, cols, Dv);
    }

    for (int64_t r = 0; r < rows; r++) {
        float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
        for (int64_t e = 0; e < Dv; e++) out[r * Dv + e] = acc[r * Dv + e] * inv;
    }
}

/* Each part owns one scratch block and pulls chunks of tasks from a shared
 * counter, so uneven tasks (causal rows) balance across the threads. */
static void run_parts(void *user, int64_t begin, int64_t end) {
    attn_job *job = user;
    for (int64_t part = begin; part < end; part++) {
        float *scratch = job->scratch + (size_t)part * job->scratch_floats;
        for (;;) {
            int64_t t0 = atomic_fetch_add(&job->next_task, job->chunk);
            if (t0 >= job->tasks) break;
            int64_t t1 = t0 + job->chunk < job->tasks ? t0 + job->chunk : job->tasks;
            for (int64_t t = t0; t < t1; t++) run_task(job, t, scratch);
        }
    }
}

orr_status orr_cpu_attention(float *out, const float *q, const float *k, const float *v, const orr_attn_mask *mask,
                             const orr_attn_dims *d, float scale, bool causal) {
    static const orr_attn_mask no_mask = {0};
    if (d->batch * d->heads * d->q_len == 0 || d->v_dim == 0) return ORR_OK;
    attn_job job = {
        .out = out, .q = q, .k = k, .v = v, .d = d, .mask = mask ? mask : &no_mask, .scale = scale,
        .causal = causal,
    };
    /* big query blocks stream K and V fewer times; small ones make more tasks */
    int64_t threads = orr_get_num_threads(), heads = d->batch * d->heads;
    job.q_block = d->q_len < Q_BLOCK ? d->q_len : Q_BLOCK;
    while (job.q_block > 32 && heads * ((d->q_len + job.q_block - 1) / job.q_block) < 4 * threads) job.q_block /= 2;
    job.kv_block = d->kv_len < KV_BLOCK ? (d->kv_len > 0 ? d->kv_len : 1) : KV_BLOCK;
    job.q_blocks = (d->q_len + job.q_block - 1) / job.q_block;
    job.tasks = heads * job.q_blocks;
    atomic_init(&job.next_task, 0);

    int64_t parts = threads < job.tasks ? threads : job.tasks;
    /* small chunks balance; chunks of several tiny tasks keep the counter cold */
    job.chunk = job.tasks / (parts * 64);
    if (job.chunk < 1) job.chunk = 1;
    size_t floats = (size_t)(job.q_block * job.kv_block + job.q_block * d->v_dim + 2 * job.q_block);
    job.scratch_floats = (floats + 15) & ~(size_t)15; /* keep every part 64-byte aligned */
    size_t bytes = (size_t)parts * job.scratch_floats * sizeof(float);
    void *scratch;
    orr_status st = orr_mem_alloc(ORR_CPU, bytes, &scratch);
    if (st) return orr_error_context(st, "attention: scratch for %lld threads: ", (long long)parts);
    job.scratch = scratch;

    /* the pool's threads are the parallelism; OpenBLAS stays on one (threads.c) */
    orr_parallel_for(parts, run_parts, &job);

    orr_mem_free(ORR_CPU, scratch, bytes);
    return ORR_OK;
}
