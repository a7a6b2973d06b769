/* cuda/tokenizer_fused.h — the Cosmos tokenizers' own steps on the GPU
 * (core/models/tokenizer*.c), the device versions of loops there: the
 * decoder's nearest upsampling, the encoder's pooled shortcut of the hybrid
 * downsampler, the diffusion latent normalisation, the tiled decode's
 * blending, and the pipelines' uint8 conversions.
 *
 * DEVICE pointers to contiguous buffers (shape arrays are HOST arrays),
 * queued on `stream` without synchronising; each returns ORR_OK,
 * ORR_ERR_ARGUMENT for a negative or inconsistent size, or the launch
 * failure. Every kernel does the float operations of its CPU loop in the
 * same order, one rounding each and no fused multiply-add, so the results
 * are the CPU's bit for bit. */
#ifndef ORR_CUDA_TOKENIZER_FUSED_H
#define ORR_CUDA_TOKENIZER_FUSED_H

#include <cuda_runtime_api.h>

#include "orrery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Nearest upsampling of x [planes, frames, rows, cols] (tokenizer_layers3d.c
 * upsample): temporal, y [planes, 2*frames-1, rows, cols] with output frame
 * t reading frame (t+1)/2 (frame 0 once, every other twice); spatial,
 * y [planes, frames, 2*rows, 2*cols] with every row and column twice. */
orr_status orr_cuda_tok_upsample(float *y, const float *x, int64_t planes, int64_t frames, int64_t rows, int64_t cols,
                                 bool temporal, cudaStream_t stream);

/* y += avg_pool3d(x) with stride = kernel (orr_cpu_avg_pool3d, then the
 * add): x [planes, in[0], in[1], in[2]], y [planes, out[0], out[1],
 * out[2]], out[a] = (in[a] - kernel[a]) / kernel[a] + 1. Sums run over
 * (kt, kh) rows of kw values as the CPU kernel sums them, then times
 * 1/(kt*kh*kw). */
orr_status orr_cuda_tok_pool_add(float *y, const float *x, int64_t planes, const int64_t in[3], const int64_t kernel[3],
                                 const int64_t out[3], cudaStream_t stream);

/* The diffusion latent normalisation (tokenizer_pipeline.c latent_affine)
 * of latent [batch, channels, frames, plane] into out (may equal latent),
 * mean and std holding channels * columns values (frame t of channel c at
 * c * columns + t): (l - m) / s * sigma_data, or with `inverse`
 * l / sigma_data * s + m. */
orr_status orr_cuda_tok_latent_affine(float *out, const float *latent, const float *mean, const float *std,
                                      int64_t batch, int64_t channels, int64_t frames, int64_t plane, int64_t columns,
                                      float sigma_data, bool inverse, cudaStream_t stream);

/* One tile of the tiled decode (tokenizer_tiles.c blend_tile): tile
 * [planes, th, tw] is added into acc [planes, height, width] at (y0, x0)
 * times wy(i) * wx(j), and wy(i) * wx(j) into weights [height, width]. The
 * ramps are tokenizer_tiles.c ramp_weight: `ramp` pixels at each edge with
 * a neighbour (top, bottom, left, right). */
orr_status orr_cuda_tok_blend_tile(float *acc, float *weights, const float *tile, int64_t planes, int64_t height,
                                   int64_t width, int64_t th, int64_t tw, int64_t y0, int64_t x0, int64_t ramp,
                                   bool top, bool bottom, bool left, bool right, cudaStream_t stream);
/* acc [planes, area] /= weights [area]. */
orr_status orr_cuda_tok_blend_finish(float *acc, const float *weights, int64_t planes, int64_t area,
                                     cudaStream_t stream);

/* The official video conversion y = uint8(255 * clamp(1 + x, 0, 2) / 2)
 * (truncating; NaN gives 0), and its reading back x = y / 255 * 2 - 1. */
orr_status orr_cuda_tok_to_u8(uint8_t *y, const float *x, int64_t n, cudaStream_t stream);
orr_status orr_cuda_tok_from_u8(float *x, const uint8_t *y, int64_t n, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif /* ORR_CUDA_TOKENIZER_FUSED_H */
