/* cpu/conv.c — convolution as sgemm. Per batch item and group the output
 * [cout_g, P] (P = output positions) is W [cout_g, K] times the im2col
 * matrix [K, P] (K = cin_g * kt * kh * kw). The im2col matrix is built one
 * tile of positions (and, for large K, one chunk of its rows) at a time
 * into a per-thread buffer of about 1 MiB, so memory stays bounded whatever
 * the video size and the tile is still in L2 when sgemm packs it. A 1x1x1
 * conv with stride 1 and no padding needs no im2col at all: x itself is the
 * [K, P] operand; one that leaves h and w alone (the tokenizers' (3,1,1)
 * temporal convs) has im2col rows that are whole frames.
 *
 * Threading as in cpu/linear.c: tiles (and, for small P, slices of the
 * output channels) are blocks that the pool's threads take from a shared
 * counter; each builds its im2col tile and runs a single-threaded sgemm. */
#include <cblas.h>
#include <stdatomic.h>

#include "conv.h"
#include "conv_temporal.h"
#include "conv_winograd.h"

/* A thread's im2col tile is at least MIN_TILE positions wide (narrower
 * ones cost sgemm speed) and, past that, as wide as COL_BYTES (about L2)
 * allows; where K rows of that width do not fit in COL_BYTES, the tile is
 * built and multiplied in chunks of rows that do (at least MIN_K_CHUNK).
 * Tiles are cut down to MIN_SPLIT_TILE and output channels to
 * MIN_SPLIT_CHANNELS only to keep every thread busy. */
#define COL_BYTES (1024 * 1024)
#define MIN_TILE 256
#define MIN_K_CHUNK 256
#define POINTWISE_TILE 2048
#define MIN_SPLIT_TILE 64
#define MIN_SPLIT_CHANNELS 32
/* Convolutions under this many flops run on the calling thread. */
#define SERIAL_FLOPS (1 << 21)

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int64_t ceil_div_signed(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

typedef struct conv_job {
    const orr_conv_shape *s;
    const float *x, *w, *b;
    float *y;
    bool pointwise;
    int64_t k_rows;     /* K of one group */
    int64_t positions;  /* P = out[0] * out[1] * out[2] */
    int64_t cout_g, cin_g;
    int64_t tile, tiles, co_block, co_blocks, tasks, slots;
    int64_t k_chunk;    /* im2col rows built and multiplied at a time */
    atomic_llong next;
    float *cols;        /* one im2col tile per slot */
} conv_job;

/* The block a thread works on: one tile of positions of one (batch item,
 * group), for output channels [co0, co0 + co_n) of the group. */
typedef struct conv_block {
    const float *x; /* first input channel of the group */
    float *y;       /* first output channel of the group */
    int64_t item, p0, width, co0, co_n;
} conv_block;

/* Row r of the im2col tile: input channel ci at kernel tap (kt, kh, kw),
 * one value per output position in [p0, p0 + width). The tile is walked an
 * output row at a time; in each row, the columns [lo, up) read inside the
 * input and the rest are zero padding. */
static void im2col_row(const conv_job *j, const conv_block *blk, int64_t r, float *dst) {
    const orr_conv_shape *s = j->s;
    const int64_t *k = s->kernel, *st = s->stride, *d = s->dilation, *pad = s->padding;
    const int64_t out_w = s->out[2], in_w = s->in[2], sw = st[2];
    int64_t kw = r % k[2], kh = r / k[2] % k[1], kt = r / (k[1] * k[2]) % k[0], ci = r / (k[0] * k[1] * k[2]);
    const float *xc = blk->x + ci * s->x_stride[1];
    int64_t w_off = kw * d[2] - pad[2];
    int64_t lo = clamp(ceil_div_signed(-w_off, sw), 0, out_w);
    int64_t up = clamp(ceil_div_signed(in_w - w_off, sw), lo, out_w);
    int64_t p = blk->p0, end = blk->p0 + blk->width;
    int64_t ot = p / (s->out[1] * out_w), oh = p / out_w % s->out[1], ow = p % out_w;
    while (p < end) {
        int64_t stop = end - p < out_w - ow ? ow + (end - p) : out_w; /* columns [ow, stop) */
        int64_t tc = ot * st[0] + kt * d[0] - pad[0]; /* frame of the causally extended input */
        int64_t hi = oh * st[1] + kh * d[1] - pad[1];
        int64_t a = stop, z = stop;
        const float *src = NULL; /* src[c * sw] is the input under output column c */
        if (tc >= 0 && tc < s->in[0] + s->causal_pad && hi >= 0 && hi < s->in[1]) {
            int64_t frame = tc < s->causal_pad ? 0 : tc - s->causal_pad;
            src = xc + (frame * s->in[1] + hi) * in_w + w_off;
            a = clamp(lo, ow, stop);
            z = clamp(up, a, stop);
        }
        float *out = dst - ow; /* out[c] is output column c */
        for (int64_t c = ow; c < a; c++) out[c] = 0.0f;
        if (sw == 1)
            for (int64_t c = a; c < z; c++) out[c] = src[c];
        else
            for (int64_t c = a; c < z; c++) out[c] = src[c * sw];
        for (int64_t c = z; c < stop; c++) out[c] = 0.0f;
        dst += stop - ow;
        p += stop - ow;
        ow = 0;
        if (++oh == s->out[1]) {
            oh = 0;
            ot++;
        }
    }
}

static conv_block block_of(const conv_job *j, int64_t task) {
    conv_block blk;
    int64_t per_item = j->tiles * j->co_blocks;
    blk.item = task / per_item;
    int64_t n = blk.item / j->s->groups, g = blk.item % j->s->groups;
    blk.x = j->x + n * j->s->x_stride[0] + g * j->cin_g * j->s->x_stride[1];
    blk.y = j->y + n * j->s->y_stride[0] + g * j->cout_g * j->s->y_stride[1];
    /* tiles vary fastest: threads taking consecutive blocks of a split
     * channel range tend to find their tile already built */
    blk.p0 = task % j->tiles * j->tile;
    blk.width = j->positions - blk.p0 < j->tile ? j->positions - blk.p0 : j->tile;
    blk.co0 = task % per_item / j->tiles * j->co_block;
    blk.co_n = j->cout_g - blk.co0 < j->co_block ? j->cout_g - blk.co0 : j->co_block;
    return blk;
}

/* Multiplies one block. The im2col tile goes through `col` k_chunk rows at
 * a time, each chunk multiplied while it is in cache; when one chunk holds
 * all of K, a tile built for the previous block (`built`) is reused. */
static void conv_run_block(const conv_job *j, const conv_block *blk, float *col, int64_t *built) {
    int64_t ldy = j->s->y_stride[1], g = blk->item % j->s->groups;
    float *y = blk->y + blk->co0 * ldy + blk->p0;
    if (j->b) {
        const float *bias = j->b + g * j->cout_g + blk->co0;
        for (int64_t co = 0; co < blk->co_n; co++)
            for (int64_t i = 0; i < blk->width; i++) y[co * ldy + i] = bias[co];
    }
    float beta = j->b ? 1.0f : 0.0f;
    const float *w = j->w + (g * j->cout_g + blk->co0) * j->k_rows;
    if (j->pointwise) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)blk->co_n, (int)blk->width, (int)j->k_rows, 1.0f,
                    w, (int)j->k_rows, blk->x + blk->p0, (int)j->s->x_stride[1], beta, y, (int)ldy);
        return;
    }
    int64_t key = blk->item * j->tiles + blk->p0 / j->tile;
    for (int64_t r0 = 0; r0 < j->k_rows; r0 += j->k_chunk) {
        int64_t kc = j->k_rows - r0 < j->k_chunk ? j->k_rows - r0 : j->k_chunk;
        if (*built != key)
            for (int64_t r = r0; r < r0 + kc; r++) im2col_row(j, blk, r, col + (r - r0) * blk->width);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)blk->co_n, (int)blk->width, (int)kc, 1.0f, w + r0,
                    (int)j->k_rows, col, (int)blk->width, beta, y, (int)ldy);
        beta = 1.0f;
    }
    *built = j->k_chunk == j->k_rows ? key : -1;
}

static void conv_slots(void *user, int64_t begin, int64_t end) {
    conv_job *j = user;
    float *col = j->pointwise ? NULL : j->cols + begin * j->k_chunk * j->tile;
    int64_t built = -1;
    for (int64_t task; (task = atomic_fetch_add(&j->next, 1)) < j->tasks;) {
        conv_block blk = block_of(j, task);
        conv_run_block(j, &blk, col, &built);
    }
}

static bool is_pointwise(const orr_conv_shape *s) {
    for (int a = 0; a < 3; a++)
        if (s->kernel[a] != 1 || s->stride[a] != 1 || s->padding[a] != 0) return false;
    return s->causal_pad == 0;
}

/* Whether `count` blocks of about equal size keep `threads` threads evenly
 * busy: a multiple of them, or so many that the last round hardly matters. */
static bool balanced(int64_t count, int64_t threads) {
    return count >= threads && (count % threads == 0 || count >= 8 * threads);
}

/* Tiles as wide as the scratch budget allows, then cut (tiles first, then
 * output channels) until the threads are evenly busy. */
static void plan_blocks(conv_job *j) {
    int64_t items = j->s->batch * j->s->groups;
    int64_t threads = orr_get_num_threads();
    double flops = 2.0 * (double)items * (double)j->cout_g * (double)j->positions * (double)j->k_rows;
    bool serial = flops < SERIAL_FLOPS || threads == 1;
    int64_t cap = j->pointwise ? POINTWISE_TILE : COL_BYTES / ((int64_t)sizeof(float) * j->k_rows);
    cap = cap < MIN_TILE ? MIN_TILE : cap;
    int64_t tiles = ceil_div(j->positions, cap), co_blocks = 1;
    while (!serial && !balanced(items * tiles * co_blocks, threads)) {
        if (ceil_div(j->positions, tiles + 1) >= MIN_SPLIT_TILE)
            tiles++;
        else if (ceil_div(j->cout_g, co_blocks + 1) >= MIN_SPLIT_CHANNELS)
            co_blocks++;
        else
            break;
    }
    j->tile = ceil_div(j->positions, tiles);
    j->tiles = ceil_div(j->positions, j->tile);
    j->co_block = ceil_div(j->cout_g, co_blocks);
    j->co_blocks = ceil_div(j->cout_g, j->co_block);
    j->tasks = items * j->tiles * j->co_blocks;
    j->slots = serial ? 1 : j->tasks < threads ? j->tasks : threads;
    j->k_chunk = COL_BYTES / ((int64_t)sizeof(float) * j->tile);
    j->k_chunk = j->k_chunk < MIN_K_CHUNK ? MIN_K_CHUNK : j->k_chunk;
    j->k_chunk = j->k_chunk < j->k_rows ? j->k_chunk : j->k_rows;
}

/* A conv that leaves h and w alone (kernel, stride 1 there, no padding: the
 * (3,1,1) temporal convs) is the same conv over one long row per frame,
 * which im2col copies a frame at a time. */
static orr_conv_shape merge_spatial(const orr_conv_shape *s) {
    orr_conv_shape m = *s;
    if (s->kernel[1] == 1 && s->kernel[2] == 1 && s->stride[1] == 1 && s->stride[2] == 1 && s->padding[1] == 0 &&
        s->padding[2] == 0) {
        m.in[2] = s->in[1] * s->in[2];
        m.out[2] = s->out[1] * s->out[2];
        m.in[1] = m.out[1] = 1;
    }
    return m;
}

orr_status orr_cpu_conv3d(float *y, const float *x, const float *w, const float *b, const orr_conv_shape *shape) {
    /* 3x3 spatial convs, most of the tokenizers' work: a quarter of the multiplies */
    if (orr_cpu_conv3d_winograd_applies(shape)) return orr_cpu_conv3d_winograd(y, x, w, b, shape);
    /* (kt,1,1) temporal convs on frames large enough to pay for packing the
     * weights: sgemms straight on the frames */
    if (orr_cpu_conv3d_temporal_pays(shape)) return orr_cpu_conv3d_temporal(y, x, w, b, shape);
    orr_conv_shape merged = merge_spatial(shape);
    const orr_conv_shape *s = &merged;
    conv_job j = {.s = s, .x = x, .w = w, .b = b, .y = y, .pointwise = is_pointwise(s)};
    j.cin_g = s->in_channels / s->groups;
    j.cout_g = s->out_channels / s->groups;
    j.k_rows = j.cin_g * s->kernel[0] * s->kernel[1] * s->kernel[2];
    j.positions = s->out[0] * s->out[1] * s->out[2];
    if (s->batch <= 0 || j.cout_g <= 0 || j.positions <= 0) return ORR_OK;
    if (j.k_rows == 0) {
        for (int64_t n = 0; n < s->batch; n++)
            for (int64_t co = 0; co < s->out_channels; co++)
                for (int64_t p = 0; p < j.positions; p++)
                    y[n * s->y_stride[0] + co * s->y_stride[1] + p] = b ? b[co] : 0.0f;
        return ORR_OK;
    }
    plan_blocks(&j);
    atomic_init(&j.next, 0);
    size_t bytes = 0;
    if (!j.pointwise) {
        bytes = (size_t)(j.slots * j.k_chunk * j.tile) * sizeof(float);
        orr_status st = orr_mem_alloc(ORR_CPU, bytes, (void **)&j.cols);
        if (st) return st;
    }
    orr_parallel_for(j.slots, conv_slots, &j);
    if (j.cols) orr_mem_free(ORR_CPU, j.cols, bytes);
    return ORR_OK;
}

/* ---- avg_pool3d -------------------------------------------------------------- */

typedef struct pool_job {
    float *y;
    const float *x;
    const int64_t *in, *kernel, *stride, *out;
} pool_job;

/* Output rows (plane, ot, oh) in [begin, end). */
static void pool_rows(void *user, int64_t begin, int64_t end) {
    const pool_job *j = user;
    const int64_t *in = j->in, *k = j->kernel, *st = j->stride, *out = j->out;
    float scale = 1.0f / (float)(k[0] * k[1] * k[2]);
    for (int64_t r = begin; r < end; r++) {
        int64_t oh = r % out[1], ot = r / out[1] % out[0], plane = r / (out[0] * out[1]);
        float *dst = j->y + r * out[2];
        for (int64_t ow = 0; ow < out[2]; ow++) dst[ow] = 0.0f;
        for (int64_t kt = 0; kt < k[0]; kt++)
            for (int64_t kh = 0; kh < k[1]; kh++) {
                const float *src = j->x + ((plane * in[0] + ot * st[0] + kt) * in[1] + oh * st[1] + kh) * in[2];
                for (int64_t ow = 0; ow < out[2]; ow++) {
                    const float *win = src + ow * st[2];
                    float sum = 0.0f;
                    for (int64_t kw = 0; kw < k[2]; kw++) sum += win[kw];
                    dst[ow] += sum;
                }
            }
        for (int64_t ow = 0; ow < out[2]; ow++) dst[ow] *= scale;
    }
}

void orr_cpu_avg_pool3d(float *y, const float *x, int64_t planes, const int64_t in[3], const int64_t kernel[3],
                        const int64_t stride[3], const int64_t out[3]) {
    pool_job job = {y, x, in, kernel, stride, out};
    orr_parallel_for(planes * out[0] * out[1], pool_rows, &job);
}
