// Kernels of twinkle::group_advantage (launched from group_advantage.cu). A header of its
// own so that tests/ops/cuda_emu compiles these exact kernels for the host too.
//
// One thread owns one group and runs the shared per-group logic (two passes over G <= a few
// hundred rewards, from L1/L2). For B = 8192, G = 8 that is 1024 threads: the launch, not
// the arithmetic, is the cost.
#pragma once

#include "launchers.h"
#include "twinkle/group_advantage.h"

namespace twinkle {
namespace cuda {
namespace {

constexpr int kThreads = 256;

template <typename R>
__global__ void group_advantage_contiguous_kernel(const R* __restrict__ rewards, int64_t groups,
                                                  int64_t group_size, int64_t baseline,
                                                  int64_t scale, float eps, bool unbiased,
                                                  float* adv, bool* keep) {
  const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= groups) return;
  group_advantage_one(rewards, ContiguousIndex{g * group_size}, group_size, baseline, scale,
                      eps, unbiased, adv, keep);
}

// A thread per sorted position; the threads at group heads do the work. Ragged batches
// never learn their group count on the host, so nothing waits for the device.
template <typename R>
__global__ void group_advantage_ragged_kernel(const R* __restrict__ rewards,
                                              const int64_t* __restrict__ order,
                                              const int64_t* __restrict__ sorted_ids,
                                              int64_t batch, int64_t baseline, int64_t scale,
                                              float eps, bool unbiased, float* adv, bool* keep) {
  const int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= batch) return;
  const int64_t n = segment_length_at(sorted_ids, batch, p);
  if (n == 0) return;
  group_advantage_one(rewards, PermutedIndex{order, p}, n, baseline, scale, eps, unbiased, adv,
                      keep);
}

// The launch of one group_advantage call, written once for the CUDA launcher
// (group_advantage.cu) and the host emulation (tests/ops/cuda_emu); `launch` is as in
// dfa_scan_kernels.cuh. One launch; no host synchronisation. R: float or double rewards.
template <typename R, typename Launch>
cudaError_t group_advantage_launches(const R* rewards, const GroupAdvantageArgs& a,
                                     const Launch& launch) {
  if (a.batch == 0) return cudaSuccess;
  if (a.order == nullptr) {
    const int64_t groups = a.batch / a.group_size;
    const unsigned blocks = static_cast<unsigned>((groups + kThreads - 1) / kThreads);
    return launch(blocks, kThreads, 0, group_advantage_contiguous_kernel<R>, rewards, groups,
                  a.group_size, a.baseline, a.scale, a.eps, a.unbiased, a.adv, a.keep);
  }
  const unsigned blocks = static_cast<unsigned>((a.batch + kThreads - 1) / kThreads);
  return launch(blocks, kThreads, 0, group_advantage_ragged_kernel<R>, rewards, a.order,
                a.sorted_ids, a.batch, a.baseline, a.scale, a.eps, a.unbiased, a.adv, a.keep);
}

}  // namespace
}  // namespace cuda
}  // namespace twinkle
