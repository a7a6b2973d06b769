/* cpu/linear.c — the matrix products on OpenBLAS.
 *
 * Threading: a product is cut into blocks of C, and the pool's threads take
 * blocks from a shared counter, each calling a single-threaded sgemm on its
 * block (16-bit weights are widened per block into the thread's own panel).
 * On the 2-core development machine this came within 5% of OpenBLAS's own
 * threading on a plain f32 4096^3 product (199 vs 209 GFLOP/s) and beat it
 * wherever work surrounds the sgemm (bf16 weights at 512x1024x1024: 171 vs
 * 146 GFLOP/s; the 128-channel (1,3,3) conv: 160 vs 80-130): one thread's
 * widening or im2col overlaps the other's sgemm, and OpenBLAS's spinning
 * workers never fight the pool for the cores. It assumes OpenBLAS itself
 * runs one thread (openblas_set_num_threads(1)). */
#include <assert.h>
#include <cblas.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "linear.h"

/* Blocks of C are at most MAX_BLOCK_M x MAX_BLOCK_N (large and square-ish,
 * so that sgemm's packing of x and w is amortised), at least MIN_BLOCK on
 * a side when they must be cut smaller to feed every thread. */
#define MAX_BLOCK_M 1024
#define MAX_BLOCK_N 1024
#define MIN_BLOCK 32
/* 16-bit weights are widened into the thread's own panel of PANEL_FLOATS
 * (2 MiB): a block's rows, PANEL_FLOATS / rows columns of K at a time. */
#define PANEL_FLOATS (512 * 1024)
/* Products under this many flops run on the calling thread. */
#define SERIAL_FLOPS (1 << 21)
/* Up to this many rows of x, each weight row is read once by a fused
 * (widen-and-)dot loop instead: one token at a time is memory bound. */
#define FUSED_MAX_ROWS 8

bool orr_cpu_blas_layout(int64_t rs, int64_t cs, int64_t rows, int64_t cols, bool *trans, int64_t *ld) {
    int64_t min_ld = cols > 1 ? cols : 1;
    if (rows == 0 || cols == 0) { /* nothing is read */
        *trans = false;
        *ld = min_ld;
        return true;
    }
    if ((cs == 1 || cols == 1) && (rows == 1 || rs >= min_ld)) {
        *trans = false;
        *ld = rows == 1 ? min_ld : rs;
        return true;
    }
    min_ld = rows;
    if ((rs == 1 || rows == 1) && (cols == 1 || cs >= min_ld)) {
        *trans = true;
        *ld = cols == 1 ? min_ld : cs;
        return true;
    }
    return false;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---- blocks of C and the threads that take them --------------------------- */

typedef struct block_grid {
    int64_t bm, bn;       /* block sides */
    int64_t nbm, nbn;     /* blocks along m and n */
    int64_t tasks;        /* batch * nbm * nbn */
    int64_t slots;        /* threads taking part */
} block_grid;

/* Whether `count` blocks of about equal size keep `threads` threads evenly
 * busy: a multiple of them, or so many that the last round hardly matters. */
static bool balanced(int64_t count, int64_t threads) {
    return count >= threads && (count % threads == 0 || count >= 8 * threads);
}

/* Cuts `batch` products of m x n (inner size k) into blocks: as large as
 * the caps allow, then cut along n (along m once n blocks would go below
 * MIN_BLOCK) until the threads are evenly busy, unless the work is too small
 * to share. n first: each cut of m repacks w (and widens a 16-bit w) once
 * more, and it measured best for DiT-sized products. */
static block_grid plan_blocks(int64_t batch, int64_t m, int64_t n, int64_t k) {
    block_grid g;
    int64_t threads = orr_get_num_threads();
    bool serial = 2.0 * (double)batch * (double)m * (double)n * (double)k < SERIAL_FLOPS || threads == 1;
    int64_t nbm = ceil_div(m, MAX_BLOCK_M), nbn = ceil_div(n, MAX_BLOCK_N);
    while (!serial && !balanced(batch * nbm * nbn, threads)) {
        if (ceil_div(n, nbn + 1) >= MIN_BLOCK)
            nbn++;
        else if (ceil_div(m, nbm + 1) >= MIN_BLOCK)
            nbm++;
        else
            break;
    }
    g.bm = ceil_div(m, nbm);
    g.bn = ceil_div(n, nbn);
    g.nbm = ceil_div(m, g.bm);
    g.nbn = ceil_div(n, g.bn);
    g.tasks = batch * g.nbm * g.nbn;
    g.slots = serial ? 1 : (g.tasks < threads ? g.tasks : threads);
    return g;
}

/* ---- 16-bit weights ------------------------------------------------------- */

static void widen_bf16(float *restrict dst, const uint16_t *restrict src, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)src[i] << 16;
        memcpy(&dst[i], &bits, sizeof bits);
    }
}

static void widen_f16(float *restrict dst, const uint16_t *restrict src, int64_t n) {
    int64_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
#endif
    for (; i < n; i++) dst[i] = orr_f16_to_f32(src[i]);
}

static void widen(float *dst, const uint16_t *src, orr_dtype dtype, int64_t n) {
    if (dtype == ORR_BF16)
        widen_bf16(dst, src, n);
    else
        widen_f16(dst, src, n);
}

/* ---- linear ---------------------------------------------------------------- */

typedef struct linear_job {
    float *y;
    int64_t ldy;
    const float *x;
    int64_t ldx;
    const void *w;
    orr_dtype w_dtype;
    int64_t ldw;
    const float *b;
    int64_t rows, in, out;
    block_grid grid;
    atomic_llong next;     /* next block to take */
    float *panels;         /* one widened panel per slot (16-bit weights) */
    int64_t panel_k;       /* columns of K widened at a time */
} linear_job;

static void linear_block(linear_job *j, int64_t task, float *panel) {
    int64_t m0 = task / j->grid.nbn * j->grid.bm, n0 = task % j->grid.nbn * j->grid.bn;
    int64_t m = j->rows - m0 < j->grid.bm ? j->rows - m0 : j->grid.bm;
    int64_t n = j->out - n0 < j->grid.bn ? j->out - n0 : j->grid.bn;
    const float *x = j->x + m0 * j->ldx;
    float *y = j->y + m0 * j->ldy + n0;
    if (j->b)
        for (int64_t i = 0; i < m; i++) memcpy(y + i * j->ldy, j->b + n0, (size_t)n * sizeof(float));
    float beta = j->b ? 1.0f : 0.0f;
    if (j->w_dtype == ORR_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)j->in, 1.0f, x, (int)j->ldx,
                    (const float *)j->w + n0 * j->ldw, (int)j->ldw, beta, y, (int)j->ldy);
        return;
    }
    for (int64_t k0 = 0; k0 < j->in; k0 += j->panel_k) {
        int64_t kc = j->in - k0 < j->panel_k ? j->in - k0 : j->panel_k;
        for (int64_t r = 0; r < n; r++)
            widen(panel + r * kc, (const uint16_t *)j->w + (n0 + r) * j->ldw + k0, j->w_dtype, kc);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)kc, 1.0f, x + k0, (int)j->ldx, panel,
                    (int)kc, beta, y, (int)j->ldy);
        beta = 1.0f;
    }
}

static void linear_slots(void *user, int64_t begin, int64_t end) {
    linear_job *j = user;
    float *panel = j->panels ? j->panels + begin * j->grid.bn * j->panel_k : NULL;
    for (int64_t task; (task = atomic_fetch_add(&j->next, 1)) < j->grid.tasks;) linear_block(j, task, panel);
}

/* Sixteen floats: GCC/Clang vector extensions, one AVX-512 register (two
 * or four narrower ones elsewhere). */
typedef float vec16 __attribute__((vector_size(64)));
#define LANES 16
#define FUSED_BLOCK 256

/* acc[r] += x[r, i] * wr[i] over i < len (a multiple of LANES) for a
 * compile-time row count, so that the accumulators stay in registers. */
static inline __attribute__((always_inline)) void dot_rows(vec16 *acc, const float *x, int64_t ldx,
                                                            const float *wr, int64_t len, const int rows) {
    for (int64_t i = 0; i < len; i += LANES) {
        vec16 wv, xv;
        memcpy(&wv, wr + i, sizeof wv);
        for (int r = 0; r < rows; r++) {
            memcpy(&xv, x + r * ldx + i, sizeof xv);
            acc[r] += xv * wv;
        }
    }
}

/* y[i, o] for o in [begin, end): each weight row is (widened in blocks and)
 * dotted with the few rows of x, so w is read exactly once. OUT_BLOCK
 * outputs share each block of x while it sits in L1. */
#define OUT_BLOCK 16
static void fused_dot_outputs(void *user, int64_t begin, int64_t end) {
    const linear_job *j = user;
    const int64_t rows = j->rows;
    float widened[FUSED_BLOCK];
    for (int64_t o0 = begin; o0 < end; o0 += OUT_BLOCK) {
        int64_t outs = end - o0 < OUT_BLOCK ? end - o0 : OUT_BLOCK;
        vec16 acc[OUT_BLOCK][FUSED_MAX_ROWS] = {{{0}}};
        float tail[OUT_BLOCK][FUSED_MAX_ROWS] = {{0}};
        for (int64_t k0 = 0; k0 < j->in; k0 += FUSED_BLOCK) {
            int64_t len = j->in - k0 < FUSED_BLOCK ? j->in - k0 : FUSED_BLOCK;
            int64_t vec = len / LANES * LANES;
            const float *x = j->x + k0;
            for (int64_t o = 0; o < outs; o++) {
                const float *wr = (const float *)j->w + (o0 + o) * j->ldw + k0;
                if (j->w_dtype != ORR_F32) {
                    widen(widened, (const uint16_t *)j->w + (o0 + o) * j->ldw + k0, j->w_dtype, len);
                    wr = widened;
                }
                switch (rows) {
                case 1: dot_rows(acc[o], x, j->ldx, wr, vec, 1); break;
                case 2: dot_rows(acc[o], x, j->ldx, wr, vec, 2); break;
                case 3: dot_rows(acc[o], x, j->ldx, wr, vec, 3); break;
                case 4: dot_rows(acc[o], x, j->ldx, wr, vec, 4); break;
                case 5: dot_rows(acc[o], x, j->ldx, wr, vec, 5); break;
                case 6: dot_rows(acc[o], x, j->ldx, wr, vec, 6); break;
                case 7: dot_rows(acc[o], x, j->ldx, wr, vec, 7); break;
                default: dot_rows(acc[o], x, j->ldx, wr, vec, FUSED_MAX_ROWS); break;
                }
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t i = vec; i < len; i++) tail[o][r] += x[r * j->ldx + i] * wr[i];
            }
        }
        for (int64_t o = 0; o < outs; o++)
            for (int64_t r = 0; r < rows; r++) {
                float sum = tail[o][r];
                for (int l = 0; l < LANES; l++) sum += acc[o][r][l];
                j->y[r * j->ldy + o0 + o] = sum + (j->b ? j->b[o0 + o] : 0.0f);
            }
    }
}

orr_status orr_cpu_linear(float *y, int64_t ldy, const float *x, int64_t ldx, const void *w, orr_dtype w_dtype,
                          int64_t ldw, const float *b, int64_t rows, int64_t in, int64_t out) {
    assert(w_dtype == ORR_F32 || w_dtype == ORR_BF16 || w_dtype == ORR_F16);
    if (rows <= 0 || out <= 0) return ORR_OK;
    if (in == 0) {
        for (int64_t i = 0; i < rows; i++)
            for (int64_t o = 0; o < out; o++) y[i * ldy + o] = b ? b[o] : 0.0f;
        return ORR_OK;
    }
    /* BLAS wants ld >= the row length even where only one row is read */
    if (rows == 1) {
        ldx = in;
        ldy = out;
    }
    if (out == 1) ldw = in;
    linear_job job = {.y = y, .ldy = ldy, .x = x, .ldx = ldx, .w = w, .w_dtype = w_dtype, .ldw = ldw, .b = b,
                      .rows = rows, .in = in, .out = out};
    if (rows <= FUSED_MAX_ROWS) {
        if (2.0 * (double)rows * (double)in * (double)out < SERIAL_FLOPS)
            fused_dot_outputs(&job, 0, out);
        else
            orr_parallel_for(out, fused_dot_outputs, &job);
        return ORR_OK;
    }
    job.grid = plan_blocks(1, rows, out, in);
    atomic_init(&job.next, 0);
    size_t bytes = 0;
    if (w_dtype != ORR_F32) {
        job.panel_k = PANEL_FLOATS / job.grid.bn;
        job.panel_k = job.panel_k < in ? job.panel_k : in;
        bytes = (size_t)(job.grid.slots * job.grid.bn * job.panel_k) * sizeof(float);
        orr_status st = orr_mem_alloc(ORR_CPU, bytes, (void **)&job.panels);
        if (st) return st;
    }
    orr_parallel_for(job.grid.slots, linear_slots, &job);
    if (job.panels) orr_mem_free(ORR_CPU, job.panels, bytes);
    return ORR_OK;
}

/* ---- matmul ---------------------------------------------------------------- */

/* One row-major product C[m,n] = op(A)[m,k] op(B)[k,n] in BLAS terms. */
typedef struct gemm_plan {
    int64_t m, n, k;
    bool ta, tb;
    int64_t lda, ldb, ldc;
    bool swap; /* c is column-major: compute c^T = b^T a^T */
} gemm_plan;

static gemm_plan plan_gemm(const orr_matmul_shape *s) {
    gemm_plan p = {s->m, s->n, s->k, false, false, 0, 0, 0, false};
    bool tc;
    bool ok = orr_cpu_blas_layout(s->c_rs, s->c_cs, s->m, s->n, &tc, &p.ldc);
    if (ok && tc) {
        p.swap = true;
        p.m = s->n;
        p.n = s->m;
        ok = orr_cpu_blas_layout(s->b_cs, s->b_rs, s->n, s->k, &p.ta, &p.lda) &&
             orr_cpu_blas_layout(s->a_cs, s->a_rs, s->k, s->m, &p.tb, &p.ldb);
    } else if (ok) {
        ok = orr_cpu_blas_layout(s->a_rs, s->a_cs, s->m, s->k, &p.ta, &p.lda) &&
             orr_cpu_blas_layout(s->b_rs, s->b_cs, s->k, s->n, &p.tb, &p.ldb);
    }
    assert(ok && "orr_cpu_matmul: an operand is not in a BLAS layout");
    return p;
}

typedef struct matmul_job {
    const orr_matmul_shape *s;
    gemm_plan plan;
    block_grid grid;
    atomic_llong next;
    float *c;
    const float *a, *b;
} matmul_job;

static void matmul_block(const matmul_job *j, int64_t task) {
    const orr_matmul_shape *s = j->s;
    const gemm_plan *p = &j->plan;
    int64_t per_item = j->grid.nbm * j->grid.nbn, rest = task / per_item, ao = 0, bo = 0, co = 0;
    for (int d = s->batch_ndim - 1; d >= 0; d--) {
        int64_t idx = rest % s->batch_shape[d];
        rest /= s->batch_shape[d];
        ao += idx * s->a_batch_stride[d];
        bo += idx * s->b_batch_stride[d];
        co += idx * s->c_batch_stride[d];
    }
    int64_t m0 = task % per_item / j->grid.nbn * j->grid.bm, n0 = task % j->grid.nbn * j->grid.bn;
    int64_t m = p->m - m0 < j->grid.bm ? p->m - m0 : j->grid.bm;
    int64_t n = p->n - n0 < j->grid.bn ? p->n - n0 : j->grid.bn;
    /* rows of op(A) and columns of op(B) of this block */
    const float *first = p->swap ? j->b + bo : j->a + ao;
    const float *second = p->swap ? j->a + ao : j->b + bo;
    first += m0 * (p->ta ? 1 : p->lda);
    second += n0 * (p->tb ? p->ldb : 1);
    float *c = j->c + co + m0 * p->ldc + n0;
    if (p->k == 0) {
        for (int64_t i = 0; i < m; i++) memset(c + i * p->ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)p->k, 1.0f, first, (int)p->lda, second, (int)p->ldb, 0.0f, c, (int)p->ldc);
}

static void matmul_slots(void *user, int64_t begin, int64_t end) {
    matmul_job *j = user;
    for (int64_t task; (task = atomic_fetch_add(&j->next, 1)) < j->grid.tasks;) matmul_block(j, task);
}

void orr_cpu_matmul(float *c, const float *a, const float *b, const orr_matmul_shape *s) {
    if (s->m <= 0 || s->n <= 0) return;
    int64_t batch = 1;
    for (int d = 0; d < s->batch_ndim; d++) batch *= s->batch_shape[d];
    if (batch <= 0) return;
    matmul_job job = {.s = s, .plan = plan_gemm(s), .c = c, .a = a, .b = b};
    job.grid = plan_blocks(batch, job.plan.m, job.plan.n, job.plan.k);
    atomic_init(&job.next, 0);
    orr_parallel_for(job.grid.slots, matmul_slots, &job);
}
