/* cpu/conv_temporal.c — a conv with kernel (kt,1,1) and stride 1 (the
 * tokenizers' causal temporal convs) as plain sgemms. Output frame t is
 *     y_t = sum over taps k of W_k x_{t+k-cp}     (cp = causal_pad)
 * where frames before 0 are frame 0 again. Since each channel's frames lie
 * one after another, the frames that tap k reads for a run of output
 * frames form one contiguous run too: one sgemm W_k [cout x cin] times x
 * [cin x frames*plane] per tap and run, with no im2col copy.
 *
 * The taps that read the replicated frame 0 are where im2col wastes most
 * on short clips: frame t <= cp takes (W_0 + ... + W_{cp-t}) x_0. Taking
 * the taps in order, tap k's sgemm covers the output frames from cp - k
 * on, and the one frame it reaches first starts as a copy of the next
 * (which then holds bias and taps 0..k-1 of frame 0 only). On the 3-frame
 * latents of a 17-frame clip that is 6 frame products in 3 sgemms (each
 * tap's weights read once) instead of im2col's 9.
 *
 * The sgemms read tap k as W_k^T out of weights with the output channel
 * innermost ([cin][kt][cout]; the official [cout][cin][kt] interleaves the
 * taps along the rows): transposed by the caller once (the tokenizer does
 * it at load time: on small frames that costs as much as the products) or
 * here into scratch. The work is split into blocks of output channels
 * and chunks of output positions (runs of whole frames, or tiles of one
 * frame where frames are large) that the pool's threads take from a shared
 * counter, each with a single-threaded sgemm. */
#include <cblas.h>
#include <stdatomic.h>
#include <string.h>

#include "conv_temporal.h"

/* A chunk's input span (cin rows of its positions) is kept within about
 * L2, for the taps to find it there; chunks are at least MIN_CHUNK
 * positions wide. Output channels are cut to MIN_SPLIT_CHANNELS and chunks
 * to single frames (or MIN_SPLIT_TILE positions) only to keep every thread
 * busy, channels first: a thread then streams only its rows of the
 * weights. */
#define SPAN_BYTES (1024 * 1024)
#define MIN_CHUNK 256
#define MIN_SPLIT_CHANNELS 64
#define MIN_SPLIT_TILE 64
/* Convolutions under this many flops run on the calling thread. */
#define SERIAL_FLOPS (1 << 21)

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

bool orr_cpu_conv3d_temporal_applies(const orr_conv_shape *s) {
    for (int a = 0; a < 3; a++)
        if (s->stride[a] != 1 || s->padding[a] != 0 || s->dilation[a] != 1) return false;
    return s->kernel[0] >= 2 && s->kernel[1] == 1 && s->kernel[2] == 1 && s->groups == 1 && s->in_channels > 0 &&
           s->causal_pad < s->kernel[0];
}

bool orr_cpu_conv3d_temporal_pays(const orr_conv_shape *s) {
    return orr_cpu_conv3d_temporal_applies(s) && s->out_channels <= s->batch * s->out[0] * s->out[1] * s->out[2];
}

size_t orr_cpu_conv3d_temporal_scratch_bytes(const orr_conv_shape *s) {
    if (!orr_cpu_conv3d_temporal_applies(s)) return 0;
    return (size_t)(s->kernel[0] * s->out_channels * s->in_channels) * sizeof(float);
}

typedef struct temporal_job {
    const orr_conv_shape *s;
    const float *x, *w_t, *b; /* w_t [cin][kt][cout] */
    const float *add;         /* NULL, or added to y (y's geometry) */
    float *y;
    int64_t kt, cp, cin, cout, frames_out, plane;
    int64_t co_block, co_blocks;
    int64_t run_frames;  /* frames per chunk when chunks are whole frames */
    int64_t tile, tiles; /* tiles per frame where frames are cut (tiles > 1) */
    int64_t chunks, tasks;
    atomic_llong next;
} temporal_job;

/* The positions of one task: output frames [t0, t1) of batch item n,
 * positions [p0, p0 + width) of each frame (the whole frame when t1 - t0 >
 * 1), output channels [co0, co0 + co_n). */
typedef struct temporal_block {
    int64_t n, co0, co_n, t0, t1, p0, width;
} temporal_block;

static temporal_block block_of(const temporal_job *j, int64_t task) {
    temporal_block blk;
    int64_t chunk = task % j->chunks, co_block = task / j->chunks % j->co_blocks;
    blk.n = task / (j->chunks * j->co_blocks);
    blk.co0 = co_block * j->co_block;
    blk.co_n = min64(j->co_block, j->cout - blk.co0);
    if (j->tiles > 1) {
        blk.t0 = chunk / j->tiles;
        blk.t1 = blk.t0 + 1;
        blk.p0 = chunk % j->tiles * j->tile;
        blk.width = min64(j->tile, j->plane - blk.p0);
    } else {
        blk.t0 = chunk * j->run_frames;
        blk.t1 = min64(blk.t0 + j->run_frames, j->frames_out);
        blk.p0 = 0;
        blk.width = j->plane;
    }
    return blk;
}

/* The block's part of output frame t, channel co. */
static float *out_at(const temporal_job *j, const temporal_block *blk, int64_t co, int64_t t) {
    return j->y + blk->n * j->s->y_stride[0] + co * j->s->y_stride[1] + t * j->plane + blk->p0;
}

/* Output frames [t, t + frames) of the block += tap k times input frames
 * [f, f + frames) (several frames only where chunks are whole frames,
 * which then form one run). */
static void product(const temporal_job *j, const temporal_block *blk, int64_t k, int64_t f, int64_t t,
                    int64_t frames) {
    const orr_conv_shape *s = j->s;
    const float *a = j->w_t + k * j->cout + blk->co0; /* W_k^T: [cin x cout], rows kt*cout apart */
    const float *x = j->x + blk->n * s->x_stride[0] + f * j->plane + blk->p0;
    int64_t width = frames > 1 ? frames * j->plane : blk->width;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)blk->co_n, (int)width, (int)j->cin, 1.0f, a,
                (int)(j->kt * j->cout), x, (int)s->x_stride[1], 1.0f, out_at(j, blk, blk->co0, t),
                (int)s->y_stride[1]);
}

/* Output frames [t0, t1) of the block set to the bias, plus `add` there
 * when with_add. */
static void set_bias(const temporal_job *j, const temporal_block *blk, int64_t t0, int64_t t1, bool with_add) {
    for (int64_t co = blk->co0; co < blk->co0 + blk->co_n; co++) {
        float bias = j->b ? j->b[co] : 0.0f;
        for (int64_t t = t0; t < t1; t++) {
            float *y = out_at(j, blk, co, t);
            const float *add = with_add ? j->add + (y - j->y) : NULL;
            if (add)
                for (int64_t i = 0; i < blk->width; i++) y[i] = bias + add[i];
            else
                for (int64_t i = 0; i < blk->width; i++) y[i] = bias;
        }
    }
}

/* Output frames [t0, t1) of the block += `add`. */
static void add_frames(const temporal_job *j, const temporal_block *blk, int64_t t0, int64_t t1) {
    for (int64_t co = blk->co0; co < blk->co0 + blk->co_n; co++)
        for (int64_t t = t0; t < t1; t++) {
            float *y = out_at(j, blk, co, t);
            const float *add = j->add + (y - j->y);
            for (int64_t i = 0; i < blk->width; i++) y[i] += add[i];
        }
}

/* Output frame s of the block = its frame s + 1. */
static void copy_frame(const temporal_job *j, const temporal_block *blk, int64_t s) {
    for (int64_t co = blk->co0; co < blk->co0 + blk->co_n; co++)
        memcpy(out_at(j, blk, co, s), out_at(j, blk, co, s + 1), sizeof(float) * (size_t)blk->width);
}

/* Tap k reads input frame t - s for output frame t, s = cp - k, frame 0
 * for t < s. Taking the taps in order, the frames t <= s hold the same sum
 * (bias and taps 0..k-1 of frame 0) until tap k, so frame s is frame s + 1
 * copied, and then one sgemm adds tap k to all frames from s on. A block
 * that ends at a frame top < cp first gives it taps 0..cp-top-1 of frame
 * 0, which it would have had from frame top + 1. */
static void run_block(const temporal_job *j, const temporal_block *blk) {
    int64_t top = min64(blk->t1 - 1, j->cp);
    set_bias(j, blk, blk->t0, top + 1, false);
    set_bias(j, blk, max64(blk->t0, top + 1), blk->t1, j->add != NULL);
    if (top >= blk->t0)
        for (int64_t k = 0; k < j->cp - top; k++) product(j, blk, k, 0, top, 1);
    for (int64_t k = 0; k < j->kt; k++) {
        int64_t s = j->cp - k, t = max64(blk->t0, s);
        if (k > 0 && s >= blk->t0 && s + 1 < blk->t1) copy_frame(j, blk, s);
        if (t < blk->t1) product(j, blk, k, t - s, t, blk->t1 - t);
    }
    if (j->add) add_frames(j, blk, blk->t0, top + 1);
}

static void run_tasks(void *user, int64_t begin, int64_t end) {
    (void)begin, (void)end;
    temporal_job *j = user;
    for (int64_t task; (task = atomic_fetch_add(&j->next, 1)) < j->tasks;) {
        temporal_block blk = block_of(j, task);
        run_block(j, &blk);
    }
}

/* Whether `count` blocks of about equal size keep `threads` threads evenly
 * busy: a multiple of them, or so many that the last round hardly matters. */
static bool balanced(int64_t count, int64_t threads) {
    return count >= threads && (count % threads == 0 || count >= 8 * threads);
}

/* Chunks of runs of `run_frames` whole frames (tiles == 1) or of one of
 * `tiles` tiles of a frame. */
static void set_chunks(temporal_job *j, int64_t run_frames, int64_t tiles) {
    j->tile = ceil_div(j->plane, tiles);
    j->tiles = ceil_div(j->plane, j->tile);
    if (j->tiles > 1) {
        j->run_frames = 1;
        j->chunks = j->frames_out * j->tiles;
    } else {
        j->chunks = ceil_div(j->frames_out, run_frames);
        j->run_frames = ceil_div(j->frames_out, j->chunks);
    }
}

/* Chunks as large as SPAN_BYTES allows, then cut (output channels first,
 * then runs of frames, then frames into tiles) until the threads are
 * evenly busy; returns the number of threads to use. */
static int64_t plan_tasks(temporal_job *j) {
    int64_t threads = orr_get_num_threads();
    double flops = 2.0 * (double)j->s->batch * (double)j->cout * (double)j->cin * (double)j->kt *
                   (double)(j->frames_out * j->plane);
    bool serial = flops < SERIAL_FLOPS || threads == 1;
    int64_t span = max64(MIN_CHUNK, SPAN_BYTES / ((int64_t)sizeof(float) * j->cin));
    set_chunks(j, max64(1, span / j->plane), ceil_div(j->plane, span));
    int64_t co_blocks = 1;
    while (!serial && !balanced(j->s->batch * co_blocks * j->chunks, threads)) {
        if (ceil_div(j->cout, co_blocks + 1) >= MIN_SPLIT_CHANNELS)
            co_blocks++;
        else if (j->tiles == 1 && j->run_frames > 1)
            set_chunks(j, j->run_frames - 1, 1);
        else if (ceil_div(j->plane, j->tiles + 1) >= MIN_SPLIT_TILE)
            set_chunks(j, 1, j->tiles + 1);
        else
            break;
    }
    j->co_block = ceil_div(j->cout, co_blocks);
    j->co_blocks = ceil_div(j->cout, j->co_block);
    j->tasks = j->s->batch * j->co_blocks * j->chunks;
    return serial ? 1 : min64(j->tasks, threads);
}

void orr_cpu_conv3d_temporal_co_inner(float *y, const float *x, const float *w_t, const float *b, const float *add,
                                      const orr_conv_shape *s) {
    temporal_job j = {.s = s, .x = x, .w_t = w_t, .b = b, .add = add, .y = y, .kt = s->kernel[0], .cp = s->causal_pad,
                      .cin = s->in_channels, .cout = s->out_channels, .frames_out = s->out[0],
                      .plane = s->in[1] * s->in[2]};
    if (s->batch <= 0 || j.cout <= 0 || j.frames_out <= 0 || j.plane <= 0) return;
    int64_t slots = plan_tasks(&j);
    atomic_init(&j.next, 0);
    if (slots > 1)
        orr_parallel_for(slots, run_tasks, &j);
    else
        run_tasks(&j, 0, 1);
}

orr_status orr_cpu_conv3d_temporal(float *y, const float *x, const float *w, const float *b, const orr_conv_shape *s) {
    size_t bytes = orr_cpu_conv3d_temporal_scratch_bytes(s);
    if (bytes == 0) return ORR_OK; /* no output channels */
    float *w_t = NULL;
    orr_status st = orr_mem_alloc(ORR_CPU, bytes, (void **)&w_t);
    if (st) return st;
    orr_cpu_conv3d_pack_co_inner(w_t, w, s->out_channels, s->in_channels * s->kernel[0]);
    orr_cpu_conv3d_temporal_co_inner(y, x, w_t, b, NULL, s);
    orr_mem_free(ORR_CPU, w_t, bytes);
    return ORR_OK;
}
