/* cpu/linear.c — the matrix products on OpenBLAS.
 *
 * Threading: a product is cut into blocks of C, and the pool's threads take
 * blocks from a shared counter, each calling a single-threaded sgemm on its
 * block (16-bit weights are widened per block into the thread's own panel).
 * On the 2-core development machine this beat letting OpenBLAS thread each
 * sgemm by 5-30%: the phases around sgemm (widening, im2col, bias) overlap
 * with the other thread's sgemm instead of waiting for it, and OpenBLAS's
 * spinning workers never fight the pool for the cores. It assumes OpenBLAS
 * itself runs one thread (openblas_set_num_threads(1)). */
#include <assert.h>
#include <cblas.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "linear.h"

/* Blocks of C are at most MAX_BLOCK_M x MAX_BLOCK_N, at least MIN_BLOCK
 * on a side when they must be cut smaller to feed every thread. */
#define MAX_BLOCK_M 1024
#define MAX_BLOCK_N 256
#define MIN_BLOCK 32
/* A thread's widened panel of 16-bit weight rows stays within this (L2). */
#define PANEL_BYTES (1024 * 1024)
/* Products under this many flops run on the calling thread. */
#define SERIAL_FLOPS (1 << 21)
/* Up to this many rows of x, a 16-bit weight is read once by a fused
 * widen-and-dot loop instead (decoding one token is memory bound). */
#define FUSED_MAX_ROWS 4

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

/* Cuts `batch` products of m x n (inner size k) into blocks: as large as
 * the caps allow, then halved along the longer side until every thread has
 * at least two blocks to take (for balance), unless that would go below
 * MIN_BLOCK or the work is too small to share. */
static block_grid plan_blocks(int64_t batch, int64_t m, int64_t n, int64_t k, int64_t max_bn) {
    block_grid g;
    int64_t threads = orr_get_num_threads();
    bool serial = 2.0 * (double)batch * (double)m * (double)n * (double)k < SERIAL_FLOPS || threads == 1;
    int64_t want = serial ? 1 : 2 * threads;
    int64_t nbm = ceil_div(m, MAX_BLOCK_M), nbn = ceil_div(n, max_bn);
    while (batch * nbm * nbn < want) {
        int64_t bm = ceil_div(m, nbm), bn = ceil_div(n, nbn);
        if (bm >= bn && bm >= 2 * MIN_BLOCK)
            nbm++;
        else if (bn >= 2 * MIN_BLOCK)
            nbn++;
        else if (bm >= 2 * MIN_BLOCK)
            nbm++;
        else
            break;
    }
    /* round sides up to a multiple of 16 (SIMD width) and recount */
    g.bm = (ceil_div(m, nbm) + 15) / 16 * 16;
    g.bn = (ceil_div(n, nbn) + 15) / 16 * 16;
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
    atomic_llong next;  /* next block to take */
    float *panels;      /* one widened panel per slot (16-bit weights) */
} linear_job;

static void linear_block(linear_job *j, int64_t task, float *panel) {
    int64_t m0 = task / j->grid.nbn * j->grid.bm, n0 = task % j->grid.nbn * j->grid.bn;
    int64_t m = j->rows - m0 < j->grid.bm ? j->rows - m0 : j->grid.bm;
    int64_t n = j->out - n0 < j->grid.bn ? j->out - n0 : j->grid.bn;
    float *y = j->y + m0 * j->ldy + n0;
    if (j->b)
        for (int64_t i = 0; i < m; i++) memcpy(y + i * j->ldy, j->b + n0, (size_t)n * sizeof(float));
    const float *w = (const float *)j->w + n0 * j->ldw;
    int64_t ldw = j->ldw;
    if (j->w_dtype != ORR_F32) {
        for (int64_t r = 0; r < n; r++)
            widen(panel + r * j->in, (const uint16_t *)j->w + (n0 + r) * j->ldw, j->w_dtype, j->in);
        w = panel;
        ldw = j->in;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)j->in, 1.0f, j->x + m0 * j->ldx,
                (int)j->ldx, w, (int)ldw, j->b ? 1.0f : 0.0f, y, (int)j->ldy);
}

static void linear_slots(void *user, int64_t begin, int64_t end) {
    linear_job *j = user;
    float *panel = j->panels ? j->panels + begin * j->grid.bn * j->in : NULL;
    for (int64_t task; (task = atomic_fetch_add(&j->next, 1)) < j->grid.tasks;) linear_block(j, task, panel);
}

/* y[i, o] for o in [begin, end): each 16-bit weight row is widened in
 * blocks and dotted with the (few) rows of x, so w is read exactly once. */
#define FUSED_BLOCK 256
#define LANES 16
static void fused_dot_outputs(void *user, int64_t begin, int64_t end) {
    const linear_job *j = user;
    float wb[FUSED_BLOCK];
    for (int64_t o = begin; o < end; o++) {
        float acc[FUSED_MAX_ROWS][LANES] = {{0}};
        float tail[FUSED_MAX_ROWS] = {0};
        for (int64_t k0 = 0; k0 < j->in; k0 += FUSED_BLOCK) {
            int64_t len = j->in - k0 < FUSED_BLOCK ? j->in - k0 : FUSED_BLOCK;
            int64_t vec = len / LANES * LANES;
            widen(wb, (const uint16_t *)j->w + o * j->ldw + k0, j->w_dtype, len);
            for (int64_t r = 0; r < j->rows; r++) {
                const float *xr = j->x + r * j->ldx + k0;
                for (int64_t i = 0; i < vec; i += LANES)
                    for (int l = 0; l < LANES; l++) acc[r][l] += xr[i + l] * wb[i + l];
                for (int64_t i = vec; i < len; i++) tail[r] += xr[i] * wb[i];
            }
        }
        for (int64_t r = 0; r < j->rows; r++) {
            float sum = tail[r];
            for (int l = 0; l < LANES; l++) sum += acc[r][l];
            j->y[r * j->ldy + o] = sum + (j->b ? j->b[o] : 0.0f);
        }
    }
}

/* One row of x against f32 weight rows [begin, end): a gemv per thread. */
static void gemv_outputs(void *user, int64_t begin, int64_t end) {
    const linear_job *j = user;
    if (j->b) memcpy(j->y + begin, j->b + begin, (size_t)(end - begin) * sizeof(float));
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(end - begin), (int)j->in, 1.0f, (const float *)j->w + begin * j->ldw,
                (int)j->ldw, j->x, 1, j->b ? 1.0f : 0.0f, j->y + begin, 1);
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
    bool serial = 2.0 * (double)rows * (double)in * (double)out < SERIAL_FLOPS;
    if (w_dtype != ORR_F32 && rows <= FUSED_MAX_ROWS) {
        if (serial)
            fused_dot_outputs(&job, 0, out);
        else
            orr_parallel_for(out, fused_dot_outputs, &job);
        return ORR_OK;
    }
    if (w_dtype == ORR_F32 && rows == 1) {
        if (serial)
            gemv_outputs(&job, 0, out);
        else
            orr_parallel_for(out, gemv_outputs, &job);
        return ORR_OK;
    }
    int64_t max_bn = MAX_BLOCK_N;
    if (w_dtype != ORR_F32) {
        max_bn = PANEL_BYTES / ((int64_t)sizeof(float) * in) / 16 * 16;
        max_bn = max_bn < 16 ? 16 : max_bn > MAX_BLOCK_N ? MAX_BLOCK_N : max_bn;
    }
    job.grid = plan_blocks(1, rows, out, in, max_bn);
    atomic_init(&job.next, 0);
    size_t bytes = 0;
    if (w_dtype != ORR_F32) {
        bytes = (size_t)(job.grid.slots * job.grid.bn * in) * sizeof(float);
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
    job.grid = plan_blocks(batch, job.plan.m, job.plan.n, job.plan.k, MAX_BLOCK_N);
    atomic_init(&job.next, 0);
    orr_parallel_for(job.grid.slots, matmul_slots, &job);
}
