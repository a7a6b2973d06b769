/* rng.c — Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy
 * as 1, 2, 3", SC'11). Counter based, so element i of a fill depends only on
 * (seed, offset, i): the same noise on any backend and any thread count.
 * Fills of cuda tensors run there (kernels/cuda/rng.cu). */
#include <math.h>

#include "cuda/device.h"
#include "internal.h"
#ifdef ORR_HAVE_CUDA
#include "cuda/cuda_internal.h"
#include "cuda/rng.h"
#endif

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void orr_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void orr_rng_init(orr_rng *rng, uint64_t seed) {
    rng->seed = seed;
    rng->offset = 0;
}

static void block_at(const orr_rng *rng, uint64_t block, uint32_t out[4]) {
    uint64_t c = rng->offset + block;
    uint32_t counter[4] = {(uint32_t)c, (uint32_t)(c >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)rng->seed, (uint32_t)(rng->seed >> 32)};
    orr_philox4x32_10(counter, key, out);
}

/* [0,1) with 24 random bits, exactly representable in float. */
static double unit_open_right(uint32_t x) { return (x >> 8) * (1.0 / 16777216.0); }
/* (0,1], so that log() stays finite. */
static double unit_open_left(uint32_t x) { return ((x >> 8) + 1) * (1.0 / 16777216.0); }

typedef struct fill_job {
    const orr_rng *rng;
    float *data;
    int64_t n;
    bool normal;
    float mean, std;
} fill_job;

static void fill_blocks(void *user, int64_t begin, int64_t end) {
    const fill_job *j = user;
    uint32_t r[4];
    for (int64_t b = begin; b < end; b++) {
        block_at(j->rng, (uint64_t)b, r);
        double v[4];
        if (j->normal) {
            for (int pair = 0; pair < 2; pair++) {
                double radius = sqrt(-2.0 * log(unit_open_left(r[2 * pair])));
                double theta = 2.0 * M_PI * unit_open_right(r[2 * pair + 1]);
                v[2 * pair] = j->mean + j->std * radius * cos(theta);
                v[2 * pair + 1] = j->mean + j->std * radius * sin(theta);
            }
        } else {
            for (int lane = 0; lane < 4; lane++) v[lane] = unit_open_right(r[lane]);
        }
        for (int lane = 0; lane < 4 && b * 4 + lane < j->n; lane++) j->data[b * 4 + lane] = (float)v[lane];
    }
}

static orr_status fill(orr_rng *rng, orr_tensor *t, bool normal, float mean, float std) {
    orr_status st;
    orr_device device;
    if (!rng) return orr_error(ORR_ERR_ARGUMENT, "rng: generator is NULL");
    if ((st = orr_op_device("rng", "tensor", t, &device))) return st;
    orr_tensor *tmp;
    float *data;
    if ((st = orr_output_f32_begin(t, &tmp, &data))) return st;
#ifdef ORR_HAVE_CUDA
    if (device == ORR_CUDA) {
        int64_t n = orr_tensor_numel(t);
        st = normal ? orr_cuda_rng_normal(rng, data, n, mean, std, orr_cuda_stream())
                    : orr_cuda_rng_uniform(rng, data, n, orr_cuda_stream());
        if (st) {
            orr_tensor_free(tmp);
            return st;
        }
        return orr_output_f32_end(t, tmp);
    }
#endif
    fill_job job = {rng, data, orr_tensor_numel(t), normal, mean, std};
    int64_t blocks = (job.n + 3) / 4;
    orr_parallel_for(blocks, fill_blocks, &job);
    rng->offset += (uint64_t)blocks;
    return orr_output_f32_end(t, tmp);
}

orr_status orr_rng_uniform(orr_rng *rng, orr_tensor *t) { return fill(rng, t, false, 0, 1); }

orr_status orr_rng_normal(orr_rng *rng, orr_tensor *t, float mean, float std) {
    return fill(rng, t, true, mean, std);
}
