/* cpu/conv_winograd.c — the stride-1, padding-1 3x3 convolution of every
 * frame by Winograd's F(4x4, 3x3). Each 6x6 window d of a channel (a 4x4
 * output tile and its one-pixel border) and each 3x3 filter g are
 * transformed into 36 values at the products of the interpolation points
 * 0, 1, -1, 2, -1/2 and infinity, and the output tile is
 *     Y = A^T [ sum over input channels of (G g G^T) * (B^T d B) ] A
 * with * elementwise: the sum over channels becomes 36 independent
 * products M[p] = U[p] V[p] of the transformed filters U[p] [cout x cin]
 * and the transformed windows V[p] [cin x tiles], 36 multiplications per
 * tile and channel pair instead of 144. Points 2 and -1/2 rather than the
 * usual +-2 keep the rounding error low: on random data at 512 input
 * channels the largest error relative to the largest output is about
 * 5e-6 (1.3e-5 with +-2; 9e-7 for F(2x2, 3x3), which saves only 2.25x;
 * im2col + sgemm: 3e-7).
 *
 * The tiles of all frames are numbered in one sequence and packed 16 to a
 * group, one per vector lane. A block of groups is done at a time, in two
 * parallel steps: the threads transform the block's windows into V; then
 * each task, 16 output channels, transforms its filters into U (128 input
 * channels at a time, so that U stays in L2), runs the 36 products for
 * every group of the block through a kernel that keeps a 16x16 block of M
 * in registers, and turns M into its channels of y. The products are too
 * small for sgemm to run well (12 tiles on the tokenizers' 8x8 latents of
 * a 17-frame clip) and it would repack U and V for each of the 36; here
 * both are written once, in the order the kernel reads them. Blocks are as
 * large as V_BYTES allows, so that the filter transform, repeated per
 * block, stays a small part of the products.
 *
 * Layouts (16 = one vector: tiles of a group, or output channels of a task):
 *   V [groups][cin][POINTS][16 tiles]     per block, shared
 *   U [128 cin][POINTS][16 channels]     per thread
 *   M [groups][16 channels][POINTS][16 tiles]   per thread
 * so each transform writes or reads one tile or filter's 36 values as
 * consecutive vectors, and the kernel steps through a channel at a time. */
#include <stdatomic.h>
#include <string.h>

#if defined(__AVX512F__) && defined(__AVX512VL__)
#define WINO_AVX512 1
#include <immintrin.h>
#endif

#include "conv_winograd.h"

enum {
    LANES = 16, /* tiles per group */
    ROWS = 16,  /* output channels per task: the kernel's accumulators */
    ALPHA = 6,  /* input window side */
    TILE = 4,   /* output tile side */
    POINTS = ALPHA * ALPHA,
    /* groups per block: V within V_BYTES (shared, L3) and each thread's M
     * within MAX_BLOCK_GROUPS * 36 KiB */
    V_BYTES = 8 << 20,
    MAX_BLOCK_GROUPS = 16,
    TURN_CHANNELS = 16, /* input channels per turn of the filters (9 KiB) */
    U_CHANNELS = 128,   /* input channels of U at a time (288 KiB, L2) */
    /* below this many (input, output) channel pairs the transforms and the
     * padding of channels to 16 cost more than the products save
     * (measured: 3 -> 3 is slower than im2col, 4 -> 8 faster) */
    MIN_CHANNEL_PAIRS = 32,
};

/* turn_filters writes whole blocks of 16 taps */
_Static_assert(TURN_CHANNELS * 9 % 16 == 0, "TURN_CHANNELS * 9 taps are not whole vectors");

/* Sixteen floats: one AVX-512 register (two or four narrower ones
 * elsewhere), as in cpu/linear.c; moved in and out of float arrays with
 * memcpy. */
typedef float vec16 __attribute__((vector_size(64)));

/* v[i] = the 16 floats at p + i * stride, and back. (The transforms read
 * and write columns and rows of 6x6 tiles a vector at a time: GCC turns
 * longer copies into library calls through memory.) */
static inline void load_vectors(vec16 *v, const float *p, int n, int64_t stride) {
    for (int i = 0; i < n; i++) memcpy(&v[i], p + i * stride, sizeof v[i]);
}

static inline void store_vectors(float *p, const vec16 *v, int n) {
    for (int i = 0; i < n; i++) memcpy(p + i * 16, &v[i], sizeof v[i]);
}

/* c + s * a for a float s, as one fused instruction: in ISO C mode the
 * compiler does not contract the expression itself, and the kernel would
 * run at half speed. (A macro rather than a function: a vec16 argument
 * would change the calling convention between builds with and without
 * AVX-512.) */
#if WINO_AVX512
#define SCALE_ADD(s, a, c) ((vec16)_mm512_fmadd_ps(_mm512_set1_ps(s), (__m512)(a), (__m512)(c)))
#else
#define SCALE_ADD(s, a, c) ((c) + (a) * (s))
#endif

/* The 1-D transforms, applied to the columns and then the rows of a tile;
 * d[k * ds] is element k of the input, o[i * os] element i of the output.
 * A scaling of a point's row of B^T or G is undone in A^T, so G is kept in
 * integers (the filter transform runs the most often on small frames) and
 * B^T in halves.
 *
 * B^T: Lagrange's numerators at each point, row 3 (point 2) doubled. */
static inline void window_1d(vec16 *o, int os, const vec16 *d, int ds) {
    vec16 d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds], d5 = d[5 * ds];
    vec16 d13 = d1 - d3, d42 = d4 - d2;
    o[0] = SCALE_ADD(1.5f, d13, SCALE_ADD(-2.0f, d2, d0 + d4));
    o[os] = SCALE_ADD(-2.5f, d2, SCALE_ADD(-0.5f, d3, d4 - d1));
    o[2 * os] = SCALE_ADD(0.5f, d2, SCALE_ADD(-2.5f, d3, d4 + d1));
    o[3 * os] = SCALE_ADD(2.0f, d42, d3 - d1);
    o[4 * os] = SCALE_ADD(2.0f, d13, d42);
    o[5 * os] = SCALE_ADD(-1.5f, d42, SCALE_ADD(-2.0f, d3, d5 + d1));
}

/* G: the filter (as a polynomial) at the points 0, 1, -1, 2, -1/2 (times
 * 4) and infinity (its last tap); the Lagrange denominators are left to
 * A^T. */
static inline void filter_1d(vec16 *o, int os, const vec16 *g, int gs) {
    vec16 g0 = g[0], g1 = g[gs], g2 = g[2 * gs], g02 = g0 + g2;
    o[0] = g0;
    o[os] = g02 + g1;
    o[2 * os] = g02 - g1;
    o[3 * os] = SCALE_ADD(4.0f, g2, SCALE_ADD(2.0f, g1, g0));
    o[4 * os] = SCALE_ADD(4.0f, g0, SCALE_ADD(-2.0f, g1, g2));
    o[5 * os] = g2;
}

/* A^T with the Lagrange denominators of the points (and the scalings of
 * B^T and G) in its columns: the output at 0..3 from the products at the
 * points. */
static inline void output_1d(vec16 *o, int os, const vec16 *m, int ms) {
    vec16 m1 = m[ms], m2 = m[2 * ms];
    vec16 odd = (m2 - m1) * (1.0f / 3), even = (m1 + m2) * (-1.0f / 3);
    vec16 m3 = m[3 * ms] * (1.0f / 30), m4 = m[4 * ms] * (1.0f / 15);
    o[0] = SCALE_ADD(-4.0f, m4, m[0] + odd + m3);
    o[os] = SCALE_ADD(2.0f, m3 + m4, even);
    o[2 * os] = SCALE_ADD(4.0f, m3, odd - m4);
    o[3 * os] = SCALE_ADD(0.5f, m4, SCALE_ADD(8.0f, m3, even + m[5 * ms]));
}

#if WINO_AVX512
static inline __m512 unpack_lo64(__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

static inline __m512 unpack_hi64(__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

/* v[i][k] becomes v[k][i]: pairs, then quads within each 128-bit lane,
 * then the lanes. Gathering the windows, turning the filters and storing
 * the output tiles element by element would cost more than the
 * transforms. */
static inline void transpose16(__m512 v[16]) {
    __m512 t[16], q[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        q[i] = unpack_lo64(t[i], t[i + 2]);
        q[i + 1] = unpack_hi64(t[i], t[i + 2]);
        q[i + 2] = unpack_lo64(t[i + 1], t[i + 3]);
        q[i + 3] = unpack_hi64(t[i + 1], t[i + 3]);
    }
    /* q[4a + c] holds, in 128-bit lane L, column 4L + c of rows 4a..4a+3 */
    for (int c = 0; c < 4; c++) {
        __m512 even01 = _mm512_shuffle_f32x4(q[c], q[4 + c], 0x88), odd01 = _mm512_shuffle_f32x4(q[c], q[4 + c], 0xdd);
        __m512 even23 = _mm512_shuffle_f32x4(q[8 + c], q[12 + c], 0x88);
        __m512 odd23 = _mm512_shuffle_f32x4(q[8 + c], q[12 + c], 0xdd);
        v[c] = _mm512_shuffle_f32x4(even01, even23, 0x88);
        v[4 + c] = _mm512_shuffle_f32x4(odd01, odd23, 0x88);
        v[8 + c] = _mm512_shuffle_f32x4(even01, even23, 0xdd);
        v[12 + c] = _mm512_shuffle_f32x4(odd01, odd23, 0xdd);
    }
}
#endif

/* Where the tiles of one group lie, worked out once for all channels.
 * Window row i of lane l starts at in_row[i][l] of an input channel (-1:
 * above or below the frame, zero) and covers window columns [first_col,
 * last_col) of the lane (the others are outside the frame); the lane's
 * output tile starts at out_at[l] of an output channel and keeps out_rows x
 * out_cols pixels inside the frame. Lanes past `used` hold no tile. */
typedef struct group_plan {
    int used;
    int64_t in_row[ALPHA][LANES], out_at[LANES];
    int first_col[LANES], last_col[LANES], out_rows[LANES], out_cols[LANES];
} group_plan;

typedef struct wino_job {
    const orr_conv_shape *s;
    const float *x, *w, *b;
    float *y;
    int64_t cin, cout, height, width, tiles_w, tiles_per_frame, tiles;
    int64_t block_groups; /* groups per block (V's capacity) */
    int64_t g0, gn;       /* the block being worked on */
    group_plan plans[MAX_BLOCK_GROUPS]; /* of its groups */
    int64_t tasks;        /* blocks of ROWS output channels */
    float *v;
    float *slots;         /* per slot (thread): U, then M */
    int64_t u_channels;   /* input channels of U at a time: U_CHANNELS, or fewer in all */
    int64_t slot_floats;
    int64_t v_floats;     /* V's size, ahead of the slots */
    int64_t n_slots;      /* threads working on the products */
    atomic_llong next;
} wino_job;

static void plan_group(const wino_job *j, int64_t g, group_plan *plan) {
    const orr_conv_shape *s = j->s;
    int64_t plane = j->height * j->width;
    plan->used = 0;
    for (int64_t t = g * LANES; t < j->tiles && plan->used < LANES; t++) {
        int l = plan->used++;
        int64_t frame = t / j->tiles_per_frame, in_frame = t % j->tiles_per_frame;
        int64_t n = frame / s->in[0], frame_at = frame % s->in[0] * plane;
        int64_t row = in_frame / j->tiles_w * TILE, col = in_frame % j->tiles_w * TILE;
        plan->first_col[l] = col == 0;
        plan->last_col[l] = (int)(j->width - col + 1 < ALPHA ? j->width - col + 1 : ALPHA);
        for (int i = 0; i < ALPHA; i++) {
            int64_t r = row - 1 + i;
            plan->in_row[i][l] = r < 0 || r >= j->height
                                     ? -1
                                     : n * s->x_stride[0] + frame_at + r * j->width + col - 1 + plan->first_col[l];
        }
        plan->out_at[l] = n * s->y_stride[0] + frame_at + row * j->width + col;
        plan->out_rows[l] = (int)(j->height - row < TILE ? j->height - row : TILE);
        plan->out_cols[l] = (int)(j->width - col < TILE ? j->width - col : TILE);
    }
    for (int l = plan->used; l < LANES; l++) {
        plan->first_col[l] = plan->last_col[l] = 0;
        for (int i = 0; i < ALPHA; i++) plan->in_row[i][l] = -1;
    }
}

/* d[i * ALPHA + k] lane l = element (i, k) of lane l's window in the input
 * channel that starts at x. */
static void gather_windows(const group_plan *plan, const float *x, vec16 d[POINTS]) {
#if WINO_AVX512
    for (int i = 0; i < ALPHA; i++) {
        __m512 rows[LANES];
        for (int l = 0; l < LANES; l++) {
            rows[l] = _mm512_setzero_ps();
            if (plan->in_row[i][l] < 0) continue;
            /* the row's columns inside the frame, moved up a lane at the
             * left edge (an expanding load would do both, slowly) */
            __mmask16 inside = (__mmask16)((1u << (plan->last_col[l] - plan->first_col[l])) - 1);
            rows[l] = _mm512_maskz_loadu_ps(inside, x + plan->in_row[i][l]);
            if (plan->first_col[l])
                rows[l] = _mm512_castsi512_ps(
                    _mm512_alignr_epi32(_mm512_castps_si512(rows[l]), _mm512_setzero_si512(), 15));
        }
        transpose16(rows);
        for (int k = 0; k < ALPHA; k++) d[i * ALPHA + k] = (vec16)rows[k];
    }
#else
    memset(d, 0, sizeof(vec16) * POINTS);
    for (int i = 0; i < ALPHA; i++)
        for (int l = 0; l < LANES; l++)
            if (plan->in_row[i][l] >= 0)
                for (int k = plan->first_col[l]; k < plan->last_col[l]; k++)
                    d[i * ALPHA + k][l] = x[plan->in_row[i][l] + k - plan->first_col[l]];
#endif
}

/* V for items [begin, end) of the block's (input channel, group) pairs:
 * consecutive items read along a channel. */
static void transform_windows(void *user, int64_t begin, int64_t end) {
    const wino_job *j = user;
    for (int64_t item = begin; item < end; item++) {
        int64_t ci = item / j->gn, g = item % j->gn;
        vec16 d[POINTS], t[POINTS];
        gather_windows(&j->plans[g], j->x + ci * j->s->x_stride[1], d);
        for (int k = 0; k < ALPHA; k++) window_1d(t + k, ALPHA, d + k, ALPHA);
        float *dst = j->v + (g * j->cin + ci) * POINTS * LANES;
        for (int i = 0; i < ALPHA; i++) {
            vec16 row[ALPHA];
            window_1d(row, 1, t + i * ALPHA, 1);
            store_vectors(dst + i * ALPHA * LANES, row, ALPHA);
        }
    }
}

/* taps[e * ROWS + r] = tap e of the n * 9 taps of input channels [c0, c0
 * + n) of output channel co0 + r, zero for r >= rows: the filters turned so
 * that each tap of the 16 output channels is one vector. */
static void turn_filters(const wino_job *j, int64_t co0, int64_t rows, int64_t c0, int64_t n, float *taps) {
    const float *w = j->w + (co0 * j->cin + c0) * 9;
    int64_t len = n * 9, row_stride = j->cin * 9;
#if WINO_AVX512
    for (int64_t e0 = 0; e0 < len; e0 += 16) {
        int64_t width = len - e0 < 16 ? len - e0 : 16;
        __mmask16 mask = (__mmask16)((1u << width) - 1);
        __m512 v[16];
        for (int r = 0; r < 16; r++)
            v[r] = r < rows ? _mm512_maskz_loadu_ps(mask, w + r * row_stride + e0) : _mm512_setzero_ps();
        transpose16(v);
        /* all 16, also past len: taps has room for 9 whole blocks */
        for (int e = 0; e < 16; e++) _mm512_storeu_ps(taps + (e0 + e) * ROWS, v[e]);
    }
#else
    for (int64_t r = 0; r < ROWS; r++)
        for (int64_t e = 0; e < len; e++) taps[e * ROWS + r] = r < rows ? w[r * row_stride + e] : 0.0f;
#endif
}

/* U [n][POINTS][ROWS] for input channels [ci0, ci0 + n) and output
 * channels [co0, co0 + ROWS), zero past cout. */
static void transform_filters(const wino_job *j, int64_t co0, int64_t ci0, int64_t n, float *u) {
    float taps[TURN_CHANNELS * 9 * ROWS];
    int64_t rows = j->cout - co0 < ROWS ? j->cout - co0 : ROWS;
    for (int64_t c0 = 0; c0 < n; c0 += TURN_CHANNELS) {
        int64_t turned = n - c0 < TURN_CHANNELS ? n - c0 : TURN_CHANNELS;
        turn_filters(j, co0, rows, ci0 + c0, turned, taps);
        for (int64_t c = 0; c < turned; c++) {
            vec16 t[ALPHA * 3];
            for (int k = 0; k < 3; k++) {
                vec16 column[3];
                load_vectors(column, taps + (c * 9 + k) * ROWS, 3, 3 * ROWS);
                filter_1d(t + k, 3, column, 1);
            }
            float *dst = u + (c0 + c) * POINTS * ROWS;
            for (int i = 0; i < ALPHA; i++) {
                vec16 row[ALPHA];
                filter_1d(row, 1, t + i * 3, 1);
                store_vectors(dst + i * ALPHA * ROWS, row, ALPHA);
            }
        }
    }
}

/* m[row * STEP + lane] (+)= sum over c < k of u[c * STEP + row] * v[c *
 * STEP + lane], STEP = POINTS * 16 (the other points lie between): 16
 * vector accumulators, one vector load and 16 broadcast multiply-adds per
 * input channel. */
static void multiply(int64_t k, const float *restrict u, const float *restrict v, float *restrict m, bool add) {
    vec16 acc[ROWS];
    vec16 vc;
    load_vectors(&vc, v, 1, 0);
    /* the first channel sets the accumulators (zeroing them would go
     * through memset and the stack) */
    for (int r = 0; r < ROWS; r++) {
        acc[r] = vc * u[r];
        if (add) {
            vec16 before;
            load_vectors(&before, m + r * POINTS * LANES, 1, 0);
            acc[r] += before;
        }
    }
    for (int64_t c = 1; c < k; c++) {
        load_vectors(&vc, v + c * POINTS * LANES, 1, 0);
        for (int r = 0; r < ROWS; r++) acc[r] = SCALE_ADD(u[c * POINTS * ROWS + r], vc, acc[r]);
    }
    for (int r = 0; r < ROWS; r++) store_vectors(m + r * POINTS * LANES, &acc[r], 1);
}

/* Writes o[i * TILE + k] lane l (output pixel (i, k) of lane l's tile) to
 * the output channel that starts at y, leaving out what lies outside the
 * frame. */
static void scatter_tiles(const group_plan *plan, int64_t width, const vec16 o[TILE * TILE], float *y) {
#if WINO_AVX512
    __m512 tiles[LANES];
    for (int p = 0; p < TILE * TILE; p++) tiles[p] = (__m512)o[p];
    transpose16(tiles);
    for (int l = 0; l < plan->used; l++) {
        float *dst = y + plan->out_at[l];
        __mmask8 cols = (__mmask8)((1u << plan->out_cols[l]) - 1);
        _mm_mask_storeu_ps(dst, cols, _mm512_extractf32x4_ps(tiles[l], 0));
        if (plan->out_rows[l] > 1) _mm_mask_storeu_ps(dst + width, cols, _mm512_extractf32x4_ps(tiles[l], 1));
        if (plan->out_rows[l] > 2) _mm_mask_storeu_ps(dst + 2 * width, cols, _mm512_extractf32x4_ps(tiles[l], 2));
        if (plan->out_rows[l] > 3) _mm_mask_storeu_ps(dst + 3 * width, cols, _mm512_extractf32x4_ps(tiles[l], 3));
    }
#else
    for (int l = 0; l < plan->used; l++)
        for (int i = 0; i < plan->out_rows[l]; i++)
            for (int k = 0; k < plan->out_cols[l]; k++) y[plan->out_at[l] + i * width + k] = o[i * TILE + k][l];
#endif
}

/* y for output channels [co0, co0 + ROWS) of the block's tiles, from M. */
static void transform_outputs(const wino_job *j, int64_t co0, const float *m) {
    /* a channel at a time: consecutive tiles are stored close together */
    for (int r = 0; r < ROWS && co0 + r < j->cout; r++)
        for (int64_t g = 0; g < j->gn; g++) {
            int64_t co = co0 + r;
            const float *src = m + (g * ROWS + r) * POINTS * LANES;
            vec16 t[TILE * ALPHA], o[TILE * TILE];
            for (int k = 0; k < ALPHA; k++) {
                vec16 column[ALPHA];
                load_vectors(column, src + k * LANES, ALPHA, ALPHA * LANES);
                output_1d(t + k, ALPHA, column, 1);
            }
            for (int i = 0; i < TILE; i++) output_1d(o + i * TILE, 1, t + i * ALPHA, 1);
            float bias = j->b ? j->b[co] : 0.0f;
            for (int p = 0; p < TILE * TILE; p++) o[p] += bias;
            scatter_tiles(&j->plans[g], j->width, o, j->y + co * j->s->y_stride[1]);
        }
}

static void run_tasks(void *user, int64_t begin, int64_t end) {
    (void)end;
    wino_job *j = user;
    float *u = j->slots + begin * j->slot_floats, *m = u + j->u_channels * POINTS * ROWS;
    for (int64_t task; (task = atomic_fetch_add(&j->next, 1)) < j->tasks;) {
        for (int64_t ci0 = 0; ci0 < j->cin; ci0 += j->u_channels) {
            int64_t n = j->cin - ci0 < j->u_channels ? j->cin - ci0 : j->u_channels;
            transform_filters(j, task * ROWS, ci0, n, u);
            for (int64_t p = 0; p < POINTS; p++)
                for (int64_t g = 0; g < j->gn; g++)
                    multiply(n, u + p * ROWS, j->v + ((g * j->cin + ci0) * POINTS + p) * LANES,
                             m + (g * ROWS * POINTS + p) * LANES, ci0 > 0);
        }
        transform_outputs(j, task * ROWS, m);
    }
}

bool orr_cpu_conv3d_winograd_applies(const orr_conv_shape *s) {
    static const int64_t kernel[3] = {1, 3, 3}, padding[3] = {0, 1, 1};
    for (int a = 0; a < 3; a++)
        if (s->kernel[a] != kernel[a] || s->padding[a] != padding[a] || s->stride[a] != 1 || s->out[a] != s->in[a])
            return false;
    return s->dilation[1] == 1 && s->dilation[2] == 1 && s->groups == 1 && s->causal_pad == 0 &&
           s->in_channels * s->out_channels >= MIN_CHANNEL_PAIRS;
}

/* Sizes j's tiles, blocks and slots for j->s; returns the scratch bytes
 * (0 when there is nothing to compute). */
static size_t size_job(wino_job *j) {
    const orr_conv_shape *s = j->s;
    j->cin = s->in_channels;
    j->cout = s->out_channels;
    j->height = s->in[1];
    j->width = s->in[2];
    j->tiles_w = (j->width + TILE - 1) / TILE;
    j->tiles_per_frame = (j->height + TILE - 1) / TILE * j->tiles_w;
    j->tiles = s->batch * s->in[0] * j->tiles_per_frame;
    if (j->tiles == 0 || j->cout == 0) return 0;
    int64_t groups = (j->tiles + LANES - 1) / LANES;
    j->block_groups = V_BYTES / ((int64_t)sizeof(float) * POINTS * j->cin * LANES);
    j->block_groups = j->block_groups < 1 ? 1 : j->block_groups > MAX_BLOCK_GROUPS ? MAX_BLOCK_GROUPS : j->block_groups;
    j->block_groups = j->block_groups < groups ? j->block_groups : groups;
    j->tasks = (j->cout + ROWS - 1) / ROWS;
    int64_t slots = orr_get_num_threads();
    slots = slots < j->tasks ? slots : j->tasks;
    j->u_channels = j->cin < U_CHANNELS ? j->cin : U_CHANNELS;
    j->slot_floats = j->u_channels * POINTS * ROWS + j->block_groups * ROWS * POINTS * LANES;
    j->v_floats = j->block_groups * j->cin * POINTS * LANES;
    j->n_slots = slots;
    return (size_t)(j->v_floats + slots * j->slot_floats) * sizeof(float);
}

size_t orr_cpu_conv3d_winograd_scratch_bytes(const orr_conv_shape *s) {
    wino_job j = {.s = s};
    return orr_cpu_conv3d_winograd_applies(s) ? size_job(&j) : 0;
}

orr_status orr_cpu_conv3d_winograd(float *y, const float *x, const float *w, const float *b, const orr_conv_shape *s) {
    wino_job j = {.s = s, .x = x, .w = w, .b = b, .y = y};
    size_t bytes = size_job(&j);
    if (!bytes) return ORR_OK;
    int64_t groups = (j.tiles + LANES - 1) / LANES;
    orr_status st = orr_mem_alloc(ORR_CPU, bytes, (void **)&j.v);
    if (st) return st;
    j.slots = j.v + j.v_floats;
    for (j.g0 = 0; j.g0 < groups; j.g0 += j.block_groups) {
        j.gn = groups - j.g0 < j.block_groups ? groups - j.g0 : j.block_groups;
        for (int64_t g = 0; g < j.gn; g++) plan_group(&j, j.g0 + g, &j.plans[g]);
        orr_parallel_for(j.gn * j.cin, transform_windows, &j);
        atomic_store(&j.next, 0);
        orr_parallel_for(j.n_slots, run_tasks, &j);
    }
    orr_mem_free(ORR_CPU, j.v, bytes);
    return ORR_OK;
}
