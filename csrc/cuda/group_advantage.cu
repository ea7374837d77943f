// Launchers of twinkle::group_advantage's CUDA kernels, float32 and float64 rewards: the
// launch and the kernels are in group_advantage_kernels.cuh.
#include <cuda_runtime.h>

#include "group_advantage_kernels.cuh"
#include "launchers.h"
#include "stream_launch.cuh"

namespace twinkle {
namespace cuda {

cudaError_t launch_group_advantage(const float* rewards, const int64_t* order,
                                   const int64_t* sorted_ids, int64_t batch, int64_t group_size,
                                   int64_t baseline, int64_t scale, float eps, bool unbiased,
                                   float* adv, bool* keep, cudaStream_t stream) {
  return group_advantage_launches(rewards, order, sorted_ids, batch, group_size, baseline, scale,
                                  eps, unbiased, adv, keep, StreamLaunch{stream});
}

cudaError_t launch_group_advantage(const double* rewards, const int64_t* order,
                                   const int64_t* sorted_ids, int64_t batch, int64_t group_size,
                                   int64_t baseline, int64_t scale, float eps, bool unbiased,
                                   float* adv, bool* keep, cudaStream_t stream) {
  return group_advantage_launches(rewards, order, sorted_ids, batch, group_size, baseline, scale,
                                  eps, unbiased, adv, keep, StreamLaunch{stream});
}

}  // namespace cuda
}  // namespace twinkle
