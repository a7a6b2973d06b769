/* cpu/conv_pack.c — convolution weights with the output channel innermost
 * (the transpose of the official [cout][cin/groups * kvol]): the layout in
 * which the temporal conv's sgemms read each tap as a matrix
 * (cpu/conv_temporal.c). */
#include "conv.h"

/* Square blocks of the transpose: both sides stay within a few cache
 * lines per row. */
#define BLOCK 32

typedef struct pack_job {
    float *w_t;
    const float *w;
    int64_t cout, k_rows;
} pack_job;

/* Blocks [begin, end) of BLOCK rows of w_t. */
static void pack_blocks(void *user, int64_t begin, int64_t end) {
    const pack_job *p = user;
    for (int64_t r0 = begin * BLOCK; r0 < end * BLOCK && r0 < p->k_rows; r0 += BLOCK)
        for (int64_t c0 = 0; c0 < p->cout; c0 += BLOCK)
            for (int64_t r = r0; r < r0 + BLOCK && r < p->k_rows; r++)
                for (int64_t c = c0; c < c0 + BLOCK && c < p->cout; c++)
                    p->w_t[r * p->cout + c] = p->w[c * p->k_rows + r];
}

void orr_cpu_conv3d_pack_co_inner(float *w_t, const float *w, int64_t cout, int64_t k_rows) {
    pack_job p = {w_t, w, cout, k_rows};
    orr_parallel_for((k_rows + BLOCK - 1) / BLOCK, pack_blocks, &p);
}
