// cuda/block_reduce.cuh — reductions over a thread block in a fixed order
// (a shuffle tree within each warp, then over the warps' results), so that
// a kernel's results do not change from run to run. blockDim.x must be a
// multiple of 32, at most 1024; every thread of the block must call.
#ifndef ORR_CUDA_BLOCK_REDUCE_CUH
#define ORR_CUDA_BLOCK_REDUCE_CUH

// Reduces v over the block with `combine` (`identity` fills the missing
// warps) and gives every thread the result.
template <typename T, typename Combine>
__device__ T block_allreduce(T v, T identity, Combine combine) {
    __shared__ T warp_part[32];
    __shared__ T total;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v = combine(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (lane == 0) warp_part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? warp_part[lane] : identity;
        for (int o = 16; o > 0; o >>= 1) v = combine(v, __shfl_xor_sync(0xffffffffu, v, o));
        if (lane == 0) total = v;
    }
    __syncthreads();
    T result = total;
    __syncthreads(); // the next call may overwrite the shared slots
    return result;
}

// The sum over the block, in double.
__device__ inline double block_sum(double v) {
    return block_allreduce(v, 0.0, [](double a, double b) { return a + b; });
}

#endif // ORR_CUDA_BLOCK_REDUCE_CUH
