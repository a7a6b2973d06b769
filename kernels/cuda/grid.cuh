// cuda/grid.cuh — the launch geometry the kernels share: blocks of kThreads
// threads, and no more blocks than a bound, the grid-stride loops covering
// the rest of the work.
#ifndef ORR_CUDA_GRID_CUH
#define ORR_CUDA_GRID_CUH

#include <cstdint>

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 8192;

// Blocks for `work` items, `per_block` to a block: at least 1, at most
// max_blocks.
inline int grid_for(int64_t work, int64_t per_block = kThreads, int64_t max_blocks = kMaxBlocks) {
    const int64_t blocks = (work + per_block - 1) / per_block;
    return (int)(blocks < 1 ? 1 : blocks < max_blocks ? blocks : max_blocks);
}

// A grid-stride loop's first index and step.
__device__ __forceinline__ int64_t thread_index() { return (int64_t)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t thread_count() { return (int64_t)gridDim.x * blockDim.x; }

#endif // ORR_CUDA_GRID_CUH
