/* cpu/elementwise.c — the fast versions of elementwise.h: work split into
 * fixed blocks over the thread pool, inner loops the compiler vectorises,
 * and AVX2/FMA versions of exp, tanh and the GELU/SiLU family (without
 * AVX2, and for log/sin/cos, the reference's scalar libm code runs per
 * block). Results never depend on the thread count. */
#include "elementwise.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ORR_VEC_MATH 1
#endif

/* BLOCK: elements per task, large enough to amortise a task and small
 * enough to balance a few threads (less work than that runs inline).
 * TILE: columns folded at once when reducing over a strided dim, so the
 * accumulators stay in L1. MAX_CHUNKS: partial results of a whole-buffer
 * reduction, kept on the stack. */
enum { BLOCK = 1 << 14, TILE = 256, MAX_CHUNKS = 256, SERIAL_WORK = 1 << 18 };

static void run_tasks(int64_t tasks, int64_t work_per_task, orr_range_fn fn, void *user) {
    if (tasks <= 0) return;
    if (tasks == 1 || tasks * work_per_task < SERIAL_WORK) fn(user, 0, tasks);
    else orr_parallel_for(tasks, fn, user);
}

/* ------------------------------------------------------------------------ */
/* Vector math (AVX2 + FMA), 8 floats at a time.                              */

#ifdef ORR_VEC_MATH
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

static inline __m256 vset(float v) { return _mm256_set1_ps(v); }

/* exp: Cody-Waite reduction by ln2 and a degree-6 polynomial (Cephes
 * coefficients), about 1 ulp. 2^n is applied as two factors so that n in
 * [-150, 128] scales without overflow; underflow gives 0, overflow Inf,
 * NaN stays NaN. */
static inline __m256 v_exp(__m256 x) {
    __m256 overflow = _mm256_cmp_ps(x, vset(88.72283935546875f), _CMP_GT_OQ);
    x = _mm256_min_ps(vset(89.0f), _mm256_max_ps(vset(-104.0f), x)); /* NaN passes */
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, vset(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, vset(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, vset(-2.12194440e-4f), r);
    __m256 p = vset(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, vset(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, vset(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, vset(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, vset(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, vset(5.0000001201e-1f));
    __m256 e = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, vset(1.0f)));
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(e, s1), s2);
    return _mm256_blendv_ps(y, vset(INFINITY), overflow);
}

/* tanh: an odd polynomial below |x| = 0.625 (Cephes tanhf) where the exp
 * form would cancel, else sign(x)·(1 - 2/(exp(2|x|)+1)). */
static inline __m256 v_tanh(__m256 x) {
    const __m256 sign = vset(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = vset(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, vset(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, vset(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, vset(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, vset(-3.33332819422e-1f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    __m256 e = v_exp(_mm256_add_ps(ax, ax));
    __m256 large = _mm256_sub_ps(vset(1.0f), _mm256_div_ps(vset(2.0f), _mm256_add_ps(e, vset(1.0f))));
    large = _mm256_or_ps(large, _mm256_and_ps(x, sign));
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(ax, vset(0.625f), _CMP_LT_OQ));
}

static inline __m256 v_sigmoid(__m256 x) {
    __m256 e = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(vset(1.0f), _mm256_add_ps(vset(1.0f), e));
}

static inline __m256 v_silu(__m256 x) {
    __m256 e = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(x, _mm256_add_ps(vset(1.0f), e));
}

/* 0.5x(1+tanh(u)) = x·sigmoid(2u): the same function without the
 * cancellation of 1+tanh for negative x. */
static inline __m256 v_gelu_tanh(__m256 x) {
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 u = _mm256_mul_ps(vset(0.7978845608028654f), _mm256_fmadd_ps(vset(0.044715f), x3, x));
    __m256 e = v_exp(_mm256_mul_ps(vset(-2.0f), u));
    return _mm256_div_ps(x, _mm256_add_ps(vset(1.0f), e));
}

/* 0.5x(1+erf(x/√2)) with erfc(|z|) from Abramowitz & Stegun 7.1.26
 * (absolute error below 1.5e-7): 1+erf(z) is erfc(|z|) for z < 0 and
 * 2-erfc(z) otherwise, so negative x keeps its small tail. */
static inline __m256 v_gelu_erf(__m256 x) {
    __m256 z = _mm256_mul_ps(_mm256_andnot_ps(vset(-0.0f), x), vset(0.7071067811865476f));
    __m256 t = _mm256_div_ps(vset(1.0f), _mm256_fmadd_ps(vset(0.3275911f), z, vset(1.0f)));
    __m256 p = vset(1.061405429f);
    p = _mm256_fmadd_ps(p, t, vset(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, vset(1.421413741f));
    p = _mm256_fmadd_ps(p, t, vset(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, vset(0.254829592f));
    __m256 erfc = _mm256_mul_ps(_mm256_mul_ps(p, t), v_exp(_mm256_mul_ps(_mm256_sub_ps(_mm256_setzero_ps(), z), z)));
    __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 f = _mm256_blendv_ps(_mm256_sub_ps(vset(2.0f), erfc), erfc, negative);
    return _mm256_mul_ps(_mm256_mul_ps(vset(0.5f), x), f);
}

static inline __m256 v_sqrt(__m256 x) { return _mm256_sqrt_ps(x); }
static inline __m256 v_rsqrt(__m256 x) { return _mm256_div_ps(vset(1.0f), _mm256_sqrt_ps(x)); }

/* Lanes [0, k) set, for the tail of a row (1 <= k <= 7). */
static inline __m256i tail_mask(int64_t k) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

typedef __m256 (*vec_fn)(__m256);

/* Inlined with a constant f, so each use compiles to a straight loop. */
static ALWAYS_INLINE void map_vec(float *o, const float *a, int64_t n, vec_fn f) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, f(_mm256_loadu_ps(a + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(o + i, m, f(_mm256_maskload_ps(a + i, m)));
    }
}
#endif /* ORR_VEC_MATH */

/* o[i] = exp(x[i] - shift[i·shift_step]), shift_step 0 or 1. */
static void exp_shifted(float *o, const float *x, const float *shift, int shift_step, int64_t n) {
    int64_t i = 0;
#ifdef ORR_VEC_MATH
    for (; i + 8 <= n; i += 8) {
        __m256 s = shift_step ? _mm256_loadu_ps(shift + i) : _mm256_broadcast_ss(shift);
        _mm256_storeu_ps(o + i, v_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
    }
#endif
    for (; i < n; i++) o[i] = expf(x[i] - shift[i * shift_step]);
}

/* ------------------------------------------------------------------------ */
/* Binary with broadcasting                                                   */

#define BINARY_LOOPS(X, Y)                                                          \
    switch (op) {                                                                   \
    case ORR_ADD: for (i = 0; i < n; i++) o[i] = (X) + (Y); break;                   \
    case ORR_SUB: for (i = 0; i < n; i++) o[i] = (X) - (Y); break;                   \
    case ORR_MUL: for (i = 0; i < n; i++) o[i] = (X) * (Y); break;                   \
    case ORR_DIV: for (i = 0; i < n; i++) o[i] = (X) / (Y); break;                   \
    case ORR_MAX:                                                                   \
        for (i = 0; i < n; i++) {                                                   \
            float x = (X), y = (Y);                                                 \
            o[i] = (x != x || x > y) ? x : y;                                       \
        }                                                                           \
        break;                                                                      \
    case ORR_MIN:                                                                   \
        for (i = 0; i < n; i++) {                                                   \
            float x = (X), y = (Y);                                                 \
            o[i] = (x != x || x < y) ? x : y;                                       \
        }                                                                           \
        break;                                                                      \
    }

/* One run of n outputs; the unit and broadcast stride cases get their own
 * loops so that they vectorise. */
static void binary_run(float *o, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n,
                       orr_binary_op op) {
    int64_t i;
    if (sa == 1 && sb == 1) {
        BINARY_LOOPS(a[i], b[i])
    } else if (sa == 1 && sb == 0) {
        const float b0 = b[0];
        BINARY_LOOPS(a[i], b0)
    } else if (sa == 0 && sb == 1) {
        const float a0 = a[0];
        BINARY_LOOPS(a0, b[i])
    } else {
        BINARY_LOOPS(a[i * sa], b[i * sb])
    }
}

typedef struct binary_job {
    float *out;
    const float *a, *b;
    int ndim; /* after merging, >= 1; the last dim is the run */
    int64_t shape[ORR_MAX_DIMS], sa[ORR_MAX_DIMS], sb[ORR_MAX_DIMS];
    int64_t runs_per_row; /* the last dim is cut into pieces of BLOCK */
    orr_binary_op op;
} binary_job;

/* Drops size-1 dims and merges neighbours that both operands walk as one,
 * so that a plain contiguous add becomes one long run. */
static void binary_merge_dims(binary_job *job, int ndim, const int64_t *shape, const int64_t *sa,
                              const int64_t *sb) {
    int m = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1) continue;
        if (m > 0 && job->sa[m - 1] == sa[d] * shape[d] && job->sb[m - 1] == sb[d] * shape[d]) {
            job->shape[m - 1] *= shape[d];
            job->sa[m - 1] = sa[d];
            job->sb[m - 1] = sb[d];
        } else {
            job->shape[m] = shape[d];
            job->sa[m] = sa[d];
            job->sb[m] = sb[d];
            m++;
        }
    }
    if (m == 0) {
        job->shape[0] = 1;
        job->sa[0] = job->sb[0] = 0;
        m = 1;
    }
    job->ndim = m;
}

static void binary_range(void *user, int64_t begin, int64_t end) {
    const binary_job *job = user;
    const int last = job->ndim - 1;
    const int64_t len = job->shape[last];
    int64_t idx[ORR_MAX_DIMS] = {0}, ia = 0, ib = 0;
    int64_t row = begin / job->runs_per_row;
    int64_t rest = row;
    for (int d = last - 1; d >= 0; d--) {
        idx[d] = rest % job->shape[d];
        rest /= job->shape[d];
        ia += idx[d] * job->sa[d];
        ib += idx[d] * job->sb[d];
    }
    for (int64_t t = begin; t < end; t++) {
        if (t / job->runs_per_row != row) { /* next row: step the odometer */
            row++;
            for (int d = last - 1; d >= 0; d--) {
                ia += job->sa[d];
                ib += job->sb[d];
                if (++idx[d] < job->shape[d]) break;
                ia -= job->sa[d] * job->shape[d];
                ib -= job->sb[d] * job->shape[d];
                idx[d] = 0;
            }
        }
        int64_t j0 = (t % job->runs_per_row) * BLOCK;
        int64_t j1 = j0 + BLOCK < len ? j0 + BLOCK : len;
        binary_run(job->out + row * len + j0, job->a + ia + j0 * job->sa[last], job->sa[last],
                   job->b + ib + j0 * job->sb[last], job->sb[last], j1 - j0, job->op);
    }
}

void orr_cpu_binary(float *out, const float *a, const int64_t *a_stride, const float *b, const int64_t *b_stride,
                    int ndim, const int64_t *shape, orr_binary_op op) {
    assert(ndim >= 0 && ndim <= ORR_MAX_DIMS);
    for (int d = 0; d < ndim; d++)
        if (shape[d] == 0) return;
    binary_job job = {.out = out, .a = a, .b = b, .op = op};
    binary_merge_dims(&job, ndim, shape, a_stride, b_stride);
    int64_t rows = 1, len = job.shape[job.ndim - 1];
    for (int d = 0; d < job.ndim - 1; d++) rows *= job.shape[d];
    job.runs_per_row = (len + BLOCK - 1) / BLOCK;
    run_tasks(rows * job.runs_per_row, len < BLOCK ? len : BLOCK, binary_range, &job);
}

/* ------------------------------------------------------------------------ */
/* Unary and affine                                                           */

static void unary_block(float *o, const float *a, int64_t n, orr_unary_op op) {
    switch (op) {
    case ORR_IDENTITY:
        if (o != a) memcpy(o, a, (size_t)n * sizeof(float));
        return;
    case ORR_NEG:
        for (int64_t i = 0; i < n; i++) o[i] = -a[i];
        return;
    case ORR_ABS:
        for (int64_t i = 0; i < n; i++) o[i] = fabsf(a[i]);
        return;
    case ORR_RELU:
        for (int64_t i = 0; i < n; i++) o[i] = a[i] < 0.0f ? 0.0f : a[i];
        return;
#ifdef ORR_VEC_MATH
    case ORR_EXP: map_vec(o, a, n, v_exp); return;
    case ORR_SQRT: map_vec(o, a, n, v_sqrt); return;
    case ORR_RSQRT: map_vec(o, a, n, v_rsqrt); return;
    case ORR_TANH: map_vec(o, a, n, v_tanh); return;
    case ORR_SIGMOID: map_vec(o, a, n, v_sigmoid); return;
    case ORR_SILU: map_vec(o, a, n, v_silu); return;
    case ORR_GELU_TANH: map_vec(o, a, n, v_gelu_tanh); return;
    case ORR_GELU_ERF: map_vec(o, a, n, v_gelu_erf); return;
#endif
    default:
        orr_ref_unary(o, a, n, op);
        return;
    }
}

typedef struct map_job {
    float *out;
    const float *a;
    int64_t n;
    orr_unary_op op;
    float scale, shift;
} map_job;

static void unary_range(void *user, int64_t begin, int64_t end) {
    const map_job *job = user;
    int64_t i0 = begin * BLOCK, i1 = end * BLOCK < job->n ? end * BLOCK : job->n;
    unary_block(job->out + i0, job->a + i0, i1 - i0, job->op);
}

void orr_cpu_unary(float *out, const float *a, int64_t n, orr_unary_op op) {
    map_job job = {.out = out, .a = a, .n = n, .op = op};
    run_tasks((n + BLOCK - 1) / BLOCK, BLOCK, unary_range, &job);
}

static void affine_range(void *user, int64_t begin, int64_t end) {
    const map_job *job = user;
    int64_t i1 = end * BLOCK < job->n ? end * BLOCK : job->n;
    float *o = job->out;
    const float *a = job->a;
    const float scale = job->scale, shift = job->shift;
    for (int64_t i = begin * BLOCK; i < i1; i++) o[i] = a[i] * scale + shift;
}

void orr_cpu_affine(float *out, const float *a, int64_t n, float scale, float shift) {
    map_job job = {.out = out, .a = a, .n = n, .scale = scale, .shift = shift};
    run_tasks((n + BLOCK - 1) / BLOCK, BLOCK, affine_range, &job);
}

/* ------------------------------------------------------------------------ */
/* Reductions                                                                 */

/* Sum of a contiguous run in double, eight independent lanes so that the
 * loop vectorises without reassociating anything the compiler can see. */
static double run_sum(const float *x, int64_t n) {
    double lane[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) lane[k] += x[i + k];
    double s = 0;
    for (; i < n; i++) s += x[i];
    for (int k = 0; k < 8; k++) s += lane[k];
    return s;
}

/* Max (or min) of a contiguous run (n > 0), NaN if any element is NaN. */
static float run_extreme(const float *x, int64_t n, bool is_max) {
    float m = x[0];
    bool nan = false;
    int64_t i = 0;
#ifdef ORR_VEC_MATH
    if (n >= 8) {
        __m256 vm = _mm256_set1_ps(x[0]), vnan = _mm256_setzero_ps();
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i);
            vnan = _mm256_or_ps(vnan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            vm = is_max ? _mm256_max_ps(vm, v) : _mm256_min_ps(vm, v);
        }
        float lane[8];
        _mm256_storeu_ps(lane, vm);
        for (int k = 0; k < 8; k++) m = (is_max ? lane[k] > m : lane[k] < m) ? lane[k] : m;
        nan = _mm256_movemask_ps(vnan) != 0;
    }
#endif
    for (; i < n; i++) {
        nan |= x[i] != x[i];
        m = (is_max ? x[i] > m : x[i] < m) ? x[i] : m;
    }
    return nan ? NAN : m;
}

typedef struct reduce_job {
    float *out;
    const float *a;
    int64_t outer, n, inner, tiles; /* tiles: column tiles per outer index */
    orr_reduce_op op;
} reduce_job;

static void reduce_rows_range(void *user, int64_t begin, int64_t end) {
    const reduce_job *job = user;
    for (int64_t o = begin; o < end; o++) {
        const float *x = job->a + o * job->n;
        if (job->op == ORR_SUM || job->op == ORR_MEAN) {
            double s = run_sum(x, job->n);
            job->out[o] = (float)(job->op == ORR_MEAN ? s / (double)job->n : s);
        } else {
            job->out[o] = run_extreme(x, job->n, job->op == ORR_AMAX);
        }
    }
}

/* Reduction over a strided dim: whole rows of up to TILE columns are
 * folded into per-column accumulators. */
static void reduce_columns_range(void *user, int64_t begin, int64_t end) {
    const reduce_job *job = user;
    const int64_t n = job->n, inner = job->inner;
    for (int64_t t = begin; t < end; t++) {
        int64_t o = t / job->tiles, c0 = (t % job->tiles) * TILE;
        int64_t w = inner - c0 < TILE ? inner - c0 : TILE;
        const float *x = job->a + o * n * inner + c0;
        float *y = job->out + o * inner + c0;
        if (job->op == ORR_SUM || job->op == ORR_MEAN) {
            double acc[TILE] = {0};
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < w; j++) acc[j] += x[i * inner + j];
            double div = job->op == ORR_MEAN ? (double)n : 1.0;
            for (int64_t j = 0; j < w; j++) y[j] = (float)(acc[j] / div);
        } else {
            float m[TILE];
            memcpy(m, x, (size_t)w * sizeof(float));
            if (job->op == ORR_AMAX) {
                for (int64_t i = 1; i < n; i++)
                    for (int64_t j = 0; j < w; j++) {
                        float v = x[i * inner + j];
                        m[j] = (v != v || v > m[j]) ? v : m[j];
                    }
            } else {
                for (int64_t i = 1; i < n; i++)
                    for (int64_t j = 0; j < w; j++) {
                        float v = x[i * inner + j];
                        m[j] = (v != v || v < m[j]) ? v : m[j];
                    }
            }
            memcpy(y, m, (size_t)w * sizeof(float));
        }
    }
}

void orr_cpu_reduce(float *out, const float *a, int64_t outer, int64_t n, int64_t inner, orr_reduce_op op) {
    reduce_job job = {.out = out, .a = a, .outer = outer, .n = n, .inner = inner, .op = op};
    if (inner == 1) {
        run_tasks(outer, n, reduce_rows_range, &job);
    } else {
        job.tiles = (inner + TILE - 1) / TILE;
        run_tasks(outer * job.tiles, n * (inner < TILE ? inner : TILE), reduce_columns_range, &job);
    }
}

/* Whole-buffer reductions: at most MAX_CHUNKS chunks whose size depends on
 * n only, one partial result each, combined in order. */
typedef struct all_job {
    const float *a;
    int64_t n, chunk;
    orr_reduce_op op;
    double partial[MAX_CHUNKS];
    int64_t count[MAX_CHUNKS];
} all_job;

static int64_t chunk_size(int64_t n) {
    int64_t chunk = (n + MAX_CHUNKS - 1) / MAX_CHUNKS;
    return chunk < BLOCK ? BLOCK : chunk;
}

static void reduce_all_range(void *user, int64_t begin, int64_t end) {
    all_job *job = user;
    for (int64_t c = begin; c < end; c++) {
        int64_t i0 = c * job->chunk, len = job->n - i0 < job->chunk ? job->n - i0 : job->chunk;
        const bool sum = job->op == ORR_SUM || job->op == ORR_MEAN;
        job->partial[c] = sum ? run_sum(job->a + i0, len) : run_extreme(job->a + i0, len, job->op == ORR_AMAX);
    }
}

double orr_cpu_reduce_all(const float *a, int64_t n, orr_reduce_op op) {
    all_job job = {.a = a, .n = n, .chunk = chunk_size(n), .op = op};
    int64_t chunks = (n + job.chunk - 1) / job.chunk;
    run_tasks(chunks, job.chunk, reduce_all_range, &job);
    if (op == ORR_SUM || op == ORR_MEAN) {
        double s = 0;
        for (int64_t c = 0; c < chunks; c++) s += job.partial[c];
        return op == ORR_MEAN ? s / (double)n : s;
    }
    double m = job.partial[0];
    for (int64_t c = 1; c < chunks; c++) {
        double v = job.partial[c];
        if (v != v || (op == ORR_AMAX ? v > m : v < m)) m = v;
        if (m != m) break;
    }
    return m;
}

static void count_range(void *user, int64_t begin, int64_t end) {
    all_job *job = user;
    for (int64_t c = begin; c < end; c++) {
        int64_t i0 = c * job->chunk, i1 = job->n - i0 < job->chunk ? job->n : i0 + job->chunk;
        int64_t count = 0;
        for (int64_t i = i0; i < i1; i++) count += !(job->a[i] - job->a[i] == 0.0f); /* NaN for Inf and NaN */
        job->count[c] = count;
    }
}

int64_t orr_cpu_count_nonfinite(const float *a, int64_t n) {
    all_job job = {.a = a, .n = n, .chunk = chunk_size(n)};
    int64_t chunks = (n + job.chunk - 1) / job.chunk, total = 0;
    run_tasks(chunks, job.chunk, count_range, &job);
    for (int64_t c = 0; c < chunks; c++) total += job.count[c];
    return total;
}

/* ------------------------------------------------------------------------ */
/* Softmax                                                                    */

typedef struct softmax_job {
    float *out;
    const float *a;
    int64_t n, inner, tiles;
} softmax_job;

static void softmax_rows_range(void *user, int64_t begin, int64_t end) {
    const softmax_job *job = user;
    const int64_t n = job->n;
    for (int64_t o = begin; o < end; o++) {
        const float *x = job->a + o * n;
        float *y = job->out + o * n;
        float m = run_extreme(x, n, true);
        exp_shifted(y, x, &m, 0, n);
        float inv = (float)(1.0 / run_sum(y, n));
        for (int64_t i = 0; i < n; i++) y[i] *= inv;
    }
}

static void softmax_columns_range(void *user, int64_t begin, int64_t end) {
    const softmax_job *job = user;
    const int64_t n = job->n, inner = job->inner;
    for (int64_t t = begin; t < end; t++) {
        int64_t o = t / job->tiles, c0 = (t % job->tiles) * TILE;
        int64_t w = inner - c0 < TILE ? inner - c0 : TILE;
        const float *x = job->a + o * n * inner + c0;
        float *y = job->out + o * n * inner + c0;
        float m[TILE], inv[TILE];
        double s[TILE] = {0};
        for (int64_t j = 0; j < w; j++) m[j] = -INFINITY;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < w; j++) m[j] = x[i * inner + j] > m[j] ? x[i * inner + j] : m[j];
        for (int64_t i = 0; i < n; i++) {
            exp_shifted(y + i * inner, x + i * inner, m, 1, w);
            for (int64_t j = 0; j < w; j++) s[j] += y[i * inner + j];
        }
        for (int64_t j = 0; j < w; j++) inv[j] = (float)(1.0 / s[j]);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < w; j++) y[i * inner + j] *= inv[j];
    }
}

void orr_cpu_softmax(float *out, const float *a, int64_t outer, int64_t n, int64_t inner) {
    softmax_job job = {.out = out, .a = a, .n = n, .inner = inner};
    if (n == 0) return;
    if (inner == 1) {
        run_tasks(outer, 4 * n, softmax_rows_range, &job);
    } else {
        job.tiles = (inner + TILE - 1) / TILE;
        run_tasks(outer * job.tiles, 4 * n * (inner < TILE ? inner : TILE), softmax_columns_range, &job);
    }
}

/* ------------------------------------------------------------------------ */
/* Padding                                                                    */

typedef struct pad_job {
    float *out;
    const float *in;
    int ndim;
    int64_t in_shape[ORR_MAX_DIMS], out_shape[ORR_MAX_DIMS];
    const int64_t *pads;
    orr_pad_mode mode;
    float value;
} pad_job;

/* Input index for output index o of a dim of size n padded by `before`;
 * -1 stands for the constant. */
static int64_t pad_index(int64_t o, int64_t n, int64_t before, orr_pad_mode mode) {
    int64_t i = o - before;
    if (i >= 0 && i < n) return i;
    if (mode == ORR_PAD_REPLICATE) return i < 0 ? 0 : n - 1;
    if (mode == ORR_PAD_REFLECT) return i < 0 ? -i : 2 * (n - 1) - i;
    return -1;
}

/* One output row along the last dim: the edges index by index, the middle
 * as one copy. */
static void pad_row(float *y, const float *x, int64_t n, int64_t len, int64_t before, orr_pad_mode mode,
                    float value) {
    int64_t mid0 = before < 0 ? 0 : before;
    int64_t mid1 = before + n < len ? before + n : len;
    if (mid1 < mid0) mid1 = mid0;
    for (int64_t o = 0; o < mid0; o++) {
        int64_t i = pad_index(o, n, before, mode);
        y[o] = i < 0 ? value : x[i];
    }
    if (mid1 > mid0) memcpy(y + mid0, x + (mid0 - before), (size_t)(mid1 - mid0) * sizeof(float));
    for (int64_t o = mid1; o < len; o++) {
        int64_t i = pad_index(o, n, before, mode);
        y[o] = i < 0 ? value : x[i];
    }
}

static void pad_range(void *user, int64_t begin, int64_t end) {
    const pad_job *job = user;
    const int last = job->ndim - 1;
    const int64_t len = job->out_shape[last];
    for (int64_t r = begin; r < end; r++) {
        int64_t rest = r, src = 0, step = job->in_shape[last];
        for (int d = last - 1; d >= 0 && src >= 0; d--) {
            int64_t i = pad_index(rest % job->out_shape[d], job->in_shape[d], job->pads[2 * d], job->mode);
            rest /= job->out_shape[d];
            src = i < 0 ? -1 : src + i * step;
            step *= job->in_shape[d];
        }
        float *y = job->out + r * len;
        if (src < 0) {
            for (int64_t o = 0; o < len; o++) y[o] = job->value;
        } else {
            pad_row(y, job->in + src, job->in_shape[last], len, job->pads[2 * last], job->mode, job->value);
        }
    }
}

void orr_cpu_pad(float *out, const float *in, int ndim, const int64_t *in_shape, const int64_t *pads,
                 orr_pad_mode mode, float value) {
    assert(ndim >= 0 && ndim <= ORR_MAX_DIMS);
    if (ndim == 0) {
        out[0] = in[0];
        return;
    }
    pad_job job = {.out = out, .in = in, .ndim = ndim, .pads = pads, .mode = mode, .value = value};
    int64_t rows = 1;
    for (int d = 0; d < ndim; d++) {
        job.in_shape[d] = in_shape[d];
        job.out_shape[d] = in_shape[d] + pads[2 * d] + pads[2 * d + 1];
        if (d < ndim - 1) rows *= job.out_shape[d];
    }
    if (job.out_shape[ndim - 1] == 0) return;
    run_tasks(rows, job.out_shape[ndim - 1], pad_range, &job);
}
