// Host launchers of twinkle's CUDA kernels: raw pointers and a stream, no torch types, so
// the .cu files compile with plain `nvcc -c` and the torch glue (*_cuda.cpp) calls these.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace twinkle {
namespace cuda {

// See csrc/include/twinkle/group_advantage.h. order/sorted_ids are null for contiguous
// groups of group_size. One launch; no host synchronisation.
cudaError_t launch_group_advantage(const float* rewards, const int64_t* order,
                                   const int64_t* sorted_ids, int64_t batch, int64_t group_size,
                                   int64_t baseline, int64_t scale, float eps, bool unbiased,
                                   float* adv, bool* keep, cudaStream_t stream);

}  // namespace cuda
}  // namespace twinkle
