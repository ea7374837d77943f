// Launches of twinkle::group_advantage's CUDA kernels (group_advantage_kernels.cuh).
#include <cuda_runtime.h>

#include "group_advantage_kernels.cuh"

namespace twinkle {
namespace cuda {

cudaError_t launch_group_advantage(const float* rewards, const int64_t* order,
                                   const int64_t* sorted_ids, int64_t batch, int64_t group_size,
                                   int64_t baseline, int64_t scale, float eps, bool unbiased,
                                   float* adv, bool* keep, cudaStream_t stream) {
  if (batch == 0) return cudaSuccess;
  if (order == nullptr) {
    const int64_t groups = batch / group_size;
    const unsigned blocks = static_cast<unsigned>((groups + kThreads - 1) / kThreads);
    group_advantage_contiguous_kernel<<<blocks, kThreads, 0, stream>>>(
        rewards, groups, group_size, baseline, scale, eps, unbiased, adv, keep);
  } else {
    const unsigned blocks = static_cast<unsigned>((batch + kThreads - 1) / kThreads);
    group_advantage_ragged_kernel<<<blocks, kThreads, 0, stream>>>(
        rewards, order, sorted_ids, batch, baseline, scale, eps, unbiased, adv, keep);
  }
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace twinkle
