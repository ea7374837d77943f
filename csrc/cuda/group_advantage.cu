// Launchers of twinkle::group_advantage's CUDA kernels, float32 and float64 rewards: the
// launch and the kernels are in group_advantage_kernels.cuh.
#include <cuda_runtime.h>

#include "group_advantage_kernels.cuh"
#include "launchers.h"
#include "stream_launch.cuh"

namespace twinkle {
namespace cuda {

cudaError_t launch_group_advantage(const float* rewards, const GroupAdvantageArgs& a,
                                   cudaStream_t stream) {
  return group_advantage_launches(rewards, a, StreamLaunch{stream});
}
cudaError_t launch_group_advantage(const double* rewards, const GroupAdvantageArgs& a,
                                   cudaStream_t stream) {
  return group_advantage_launches(rewards, a, StreamLaunch{stream});
}

}  // namespace cuda
}  // namespace twinkle
