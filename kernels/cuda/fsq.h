/* cuda/fsq.h — finite scalar quantization on the GPU, as the Cosmos
 * discrete tokenizers do it (core/models/tokenizer_fsq.c, one codebook):
 * each of the n channels is bounded by a shifted tanh, rounded half to even
 * to one of L levels, scaled to [-1, 1]; the index is the mixed-radix number
 * of the level digits (channel 0 the least significant).
 *
 * The quantizer's constants are HOST arrays of n <= ORR_CUDA_FSQ_MAX
 * entries: levels, and half_l, offset, shift exactly as tok_fsq_init
 * computes them (pass a tok_fsq's fields), so both backends share them bit
 * for bit. DEVICE pointers otherwise; queued on `stream` without
 * synchronising. Returns ORR_OK, ORR_ERR_ARGUMENT for a bad size or level,
 * or the launch failure.
 *
 * Exactness: after the tanh every step is one IEEE float operation (add,
 * multiply, subtract, rint, divide), as on the CPU. The tanh is computed in
 * double and rounded to float: the correctly rounded tanhf except with a
 * probability of about 2^-28 per value. glibc 2.36's tanhf is not
 * correctly rounded (1 ulp off on ~14% of FSQ inputs), so `bounded` may
 * differ from the CPU's by about that much, and a level (hence a code and
 * an index) only where the bounded value lies within an ulp of k + 0.5:
 * measured, 8 in 4*10^8 values for z uniform in [-4, 4] (L = 8 and 5).
 * With a correctly rounded host tanhf (or the CPU switched to
 * (float)tanh((double)x)) the indices agree always but for that 2^-28.
 */
#ifndef ORR_CUDA_FSQ_H
#define ORR_CUDA_FSQ_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { ORR_CUDA_FSQ_MAX = 8 };

/* z [batch, n, rest] -> codes [batch, n, rest] (may equal z), indices
 * [batch, rest] (int64), bounded [batch, rest, n] (the pre-rounding
 * values); any output may be NULL. */
orr_status orr_cuda_fsq_quantize(float *codes, int64_t *indices, float *bounded, const float *z, int64_t batch,
                                 int64_t rest, int n, const int *levels, const float *half_l, const float *offset,
                                 const float *shift, cudaStream_t stream);

/* indices [batch, rest] (int64) -> codes [batch, n, rest]. An index outside
 * [0, prod(levels)) cannot be reported from the device: its codes are NaN
 * (the CPU fails with ORR_ERR_ARGUMENT; check the indices first, or count
 * the non-finite codes afterwards). */
orr_status orr_cuda_fsq_dequantize(float *codes, const int64_t *indices, int64_t batch, int64_t rest, int n,
                                   const int *levels, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_FSQ_H */
