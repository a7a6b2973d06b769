/* dit_stream.c — the DiT's streamed memory mode (ORR_DIT_STREAMED): the
 * blocks' matrices live in one pinned host buffer, block after block in
 * the same layout, and are copied into two device buffers on a copy stream
 * of their own. Block i+1's copy is queued before block i's compute, after
 * the compute that last read its buffer (block i-1) and before the compute
 * that reads it (events both ways), so the copy of one block hides behind
 * the previous block's work: at the 7B's shape a block's 0.5 GB crosses
 * PCIe in 10-20 ms while it computes for about 90 ms. */
#ifdef ORR_HAVE_CUDA
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "dit.h"

struct dit_stream {
    int blocks;
    size_t block_bytes;
    char *host;   /* pinned: blocks * block_bytes */
    char *dev[2]; /* block buffers (accounted cuda memory) */
    cudaStream_t copy;
    cudaEvent_t copied[2], consumed[2];
    bool events[2]; /* both events of buffer i exist */
    int holds[2];   /* the block whose copy was last queued into buffer i; -1 for none */
};

static const char *OP = "dit streamed";

void orr_dit_stream_free(dit_stream *s) {
    if (!s) return;
    /* copies may still be in flight into the buffers, and computes reading them */
    if (s->copy) cudaStreamSynchronize(s->copy);
    orr_cuda_synchronize();
    for (int i = 0; i < 2; i++) {
        if (s->dev[i]) orr_mem_free(ORR_CUDA, s->dev[i], s->block_bytes);
        if (s->events[i]) {
            cudaEventDestroy(s->copied[i]);
            cudaEventDestroy(s->consumed[i]);
        }
    }
    if (s->copy) cudaStreamDestroy(s->copy);
    if (s->host) cudaFreeHost(s->host);
    free(s);
}

static size_t round256(size_t bytes) { return (bytes + 255) / 256 * 256; }

orr_status orr_dit_stream_create(const orr_dit *dit, orr_dtype dtype, dit_stream **out, orr_tensor **views) {
    const dit_config *c = &dit->cfg;
    *out = NULL;
    dit_stream *s = calloc(1, sizeof *s);
    if (!s) return orr_error(ORR_ERR_MEMORY, "%s: out of host memory", OP);
    s->blocks = c->num_blocks;
    s->holds[0] = s->holds[1] = -1;
    /* every block has block 0's matrices (one config), laid out alike */
    size_t offsets[ORR_DIT_MAX_SUBBLOCKS][DIT_BLOCK_MATRICES] = {{0}};
    for (int j = 0; c->num_blocks > 0 && j < c->n_subblocks; j++) {
        orr_tensor **m[DIT_BLOCK_MATRICES];
        orr_dit_block_matrices(&dit->blocks[0].sub[j], m);
        for (int k = 0; k < DIT_BLOCK_MATRICES; k++) {
            if (!*m[k]) continue;
            offsets[j][k] = s->block_bytes;
            s->block_bytes += round256((size_t)orr_tensor_numel(*m[k]) * orr_dtype_size(dtype));
        }
    }
    size_t total = s->block_bytes * (size_t)s->blocks;
    orr_status st = ORR_OK;
    if (total) {
        st = orr_cuda_check(cudaHostAlloc((void **)&s->host, total, cudaHostAllocDefault), OP,
                            "pinning the blocks' weights in host memory");
        if (st) orr_error_context(st, "%s: %.1f MiB: ", OP, total / 1048576.0);
        for (int i = 0; !st && i < 2; i++) st = orr_mem_alloc(ORR_CUDA, s->block_bytes, (void **)&s->dev[i]);
        if (!st) st = orr_cuda_check(cudaStreamCreateWithFlags(&s->copy, cudaStreamNonBlocking), OP, "copy stream");
        for (int i = 0; !st && i < 2; i++) {
            st = orr_cuda_check(cudaEventCreateWithFlags(&s->copied[i], cudaEventDisableTiming), OP, "event");
            if (!st) {
                st = orr_cuda_check(cudaEventCreateWithFlags(&s->consumed[i], cudaEventDisableTiming), OP, "event");
                if (st) cudaEventDestroy(s->copied[i]);
            }
            s->events[i] = !st;
        }
    }
    for (int i = 0; !st && i < c->num_blocks; i++)
        for (int j = 0; !st && j < c->n_subblocks; j++) {
            orr_tensor **m[DIT_BLOCK_MATRICES];
            orr_dit_block_matrices(&dit->blocks[i].sub[j], m);
            for (int k = 0; !st && k < DIT_BLOCK_MATRICES; k++) {
                if (!*m[k]) continue;
                int64_t idx = ((int64_t)i * ORR_DIT_MAX_SUBBLOCKS + j) * DIT_BLOCK_MATRICES + k;
                st = orr_tensor_wrap(&views[idx], s->host + (size_t)i * s->block_bytes + offsets[j][k], dtype,
                                     (*m[k])->ndim, (*m[k])->shape, NULL, NULL);
            }
        }
    if (st) {
        orr_dit_stream_free(s);
        return st;
    }
    *out = s;
    return ORR_OK;
}

size_t orr_dit_stream_block_bytes(const dit_stream *s) { return s->block_bytes; }

orr_status orr_dit_stream_prefetch(dit_stream *s, int block) {
    int b = block % 2;
    if (s->holds[b] == block || !s->block_bytes) return ORR_OK;
    orr_status st = orr_cuda_check(cudaStreamWaitEvent(s->copy, s->consumed[b], 0), OP, "waiting for a block buffer");
    if (!st)
        st = orr_cuda_check(cudaMemcpyAsync(s->dev[b], s->host + (size_t)block * s->block_bytes, s->block_bytes,
                                            cudaMemcpyHostToDevice, s->copy),
                            OP, "copying a block's weights");
    if (!st) st = orr_cuda_check(cudaEventRecord(s->copied[b], s->copy), OP, "cudaEventRecord");
    s->holds[b] = st ? -1 : block;
    return st ? orr_error_context(st, "block %d: ", block) : ORR_OK;
}

orr_status orr_dit_stream_acquire(dit_stream *s, int block, char **base) {
    int b = block % 2;
    orr_status st = orr_dit_stream_prefetch(s, block);
    if (!st && s->block_bytes)
        st = orr_cuda_check(cudaStreamWaitEvent(orr_cuda_stream(), s->copied[b], 0), OP, "waiting for a block copy");
    *base = s->dev[b];
    return st;
}

const void *orr_dit_stream_ptr(const dit_stream *s, int block, char *base, const orr_tensor *t) {
    return base + ((const char *)t->data - (s->host + (size_t)block * s->block_bytes));
}

orr_status orr_dit_stream_release(dit_stream *s, int block) {
    if (!s->block_bytes) return ORR_OK;
    return orr_cuda_check(cudaEventRecord(s->consumed[block % 2], orr_cuda_stream()), OP, "cudaEventRecord");
}
#endif /* ORR_HAVE_CUDA */
