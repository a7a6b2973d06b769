// cuda/fsq.cu — FSQ quantize/dequantize on the GPU (contract and exactness
// argument in cuda/fsq.h), one thread per position (batch item, rest
// index) looping over the n channels, as tokenizer_fsq.c does.
#include <math.h>

#include "cuda/cuda_internal.h"
#include "cuda/fsq.h"
#include "cuda/grid.cuh"

extern "C" {
#include "internal.h"
}

namespace {

struct quantizer {
    int n;
    int levels[ORR_CUDA_FSQ_MAX], half_width[ORR_CUDA_FSQ_MAX];
    int64_t basis[ORR_CUDA_FSQ_MAX], codebook_size;
    float half_l[ORR_CUDA_FSQ_MAX], offset[ORR_CUDA_FSQ_MAX], shift[ORR_CUDA_FSQ_MAX];
};

__global__ void quantize_kernel(float *codes, int64_t *indices, float *bounded, const float *z, int64_t batch,
                                int64_t rest, quantizer q) {
    for (int64_t k = thread_index(); k < batch * rest; k += thread_count()) {
        const int64_t b = k / rest, r = k % rest;
        int64_t index = 0;
        for (int c = 0; c < q.n; c++) {
            const int64_t at = (b * q.n + c) * rest + r;
            // tanh in double rounded once to float: the correctly rounded tanhf
            const float t = (float)tanh((double)__fadd_rn(z[at], q.shift[c]));
            const float v = __fsub_rn(__fmul_rn(t, q.half_l[c]), q.offset[c]);
            const float level = rintf(v); // torch.round: half to even
            if (bounded) bounded[k * q.n + c] = v;
            if (codes) codes[at] = __fdiv_rn(level, (float)q.half_width[c]);
            index += ((int64_t)level + q.half_width[c]) * q.basis[c];
        }
        if (indices) indices[k] = index;
    }
}

__global__ void dequantize_kernel(float *codes, const int64_t *indices, int64_t batch, int64_t rest, quantizer q) {
    for (int64_t k = thread_index(); k < batch * rest; k += thread_count()) {
        const int64_t b = k / rest, r = k % rest, index = indices[k];
        const bool valid = index >= 0 && index < q.codebook_size;
        for (int c = 0; c < q.n; c++) {
            const int64_t digit = valid ? index / q.basis[c] % q.levels[c] : 0;
            codes[(b * q.n + c) * rest + r] =
                valid ? __fdiv_rn((float)(digit - q.half_width[c]), (float)q.half_width[c]) : NAN;
        }
    }
}

orr_status make_quantizer(quantizer *q, int n, const int *levels, const char *op) {
    if (n < 1 || n > ORR_CUDA_FSQ_MAX)
        return orr_error(ORR_ERR_ARGUMENT, "cuda %s: %d levels, want 1 to %d", op, n, (int)ORR_CUDA_FSQ_MAX);
    *q = quantizer{};
    q->n = n;
    int64_t basis = 1;
    for (int i = 0; i < n; i++) {
        if (levels[i] < 2 || levels[i] > 1 << 16)
            return orr_error(ORR_ERR_ARGUMENT, "cuda %s: level %d is %d, want 2 to 65536", op, i, levels[i]);
        q->levels[i] = levels[i];
        q->half_width[i] = levels[i] / 2;
        q->basis[i] = basis;
        basis *= levels[i];
    }
    q->codebook_size = basis;
    return ORR_OK;
}

orr_status check_sizes(const char *op, int64_t batch, int64_t rest) {
    if (batch < 0 || rest < 0)
        return orr_error(ORR_ERR_ARGUMENT, "cuda %s: batch %lld, rest %lld: a size is negative", op,
                         (long long)batch, (long long)rest);
    return ORR_OK;
}

} // namespace

extern "C" {

orr_status orr_cuda_fsq_quantize(float *codes, int64_t *indices, float *bounded, const float *z, int64_t batch,
                                 int64_t rest, int n, const int *levels, const float *half_l, const float *offset,
                                 const float *shift, cudaStream_t stream) {
    quantizer q;
    orr_status st = make_quantizer(&q, n, levels, "fsq_quantize");
    if (!st) st = check_sizes("fsq_quantize", batch, rest);
    if (st) return st;
    for (int i = 0; i < n; i++) {
        q.half_l[i] = half_l[i];
        q.offset[i] = offset[i];
        q.shift[i] = shift[i];
    }
    if (batch * rest == 0) return ORR_OK;
    quantize_kernel<<<grid_for(batch * rest), kThreads, 0, stream>>>(codes, indices, bounded, z, batch, rest, q);
    return orr_cuda_check_launch("fsq_quantize");
}

orr_status orr_cuda_fsq_dequantize(float *codes, const int64_t *indices, int64_t batch, int64_t rest, int n,
                                   const int *levels, cudaStream_t stream) {
    quantizer q;
    orr_status st = make_quantizer(&q, n, levels, "fsq_dequantize");
    if (!st) st = check_sizes("fsq_dequantize", batch, rest);
    if (st || batch * rest == 0) return st;
    dequantize_kernel<<<grid_for(batch * rest), kThreads, 0, stream>>>(codes, indices, batch, rest, q);
    return orr_cuda_check_launch("fsq_dequantize");
}

} // extern "C"
