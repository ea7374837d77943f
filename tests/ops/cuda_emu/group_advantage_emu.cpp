// csrc/cuda/group_advantage_kernels.cuh compiled for the host and run under cuda_emu.h, with
// the launch choices of csrc/cuda/group_advantage.cu. Loaded by
// tests/ops/test_group_advantage_emulated.py through ctypes.
#include "cuda_emu.h"

#include "group_advantage_kernels.cuh"

extern "C" int twinkle_emu_group_advantage(const float* rewards, const int64_t* order,
                                           const int64_t* sorted_ids, int64_t batch,
                                           int64_t group_size, int64_t baseline, int64_t scale,
                                           float eps, bool unbiased, float* adv, bool* keep) {
  using namespace twinkle::cuda;
  if (batch == 0) return 0;
  if (order == nullptr) {
    const int64_t groups = batch / group_size;
    const unsigned blocks = static_cast<unsigned>((groups + kThreads - 1) / kThreads);
    cuda_emu::launch(blocks, kThreads, 0, [&] {
      group_advantage_contiguous_kernel(rewards, groups, group_size, baseline, scale, eps,
                                        unbiased, adv, keep);
    });
  } else {
    const unsigned blocks = static_cast<unsigned>((batch + kThreads - 1) / kThreads);
    cuda_emu::launch(blocks, kThreads, 0, [&] {
      group_advantage_ragged_kernel(rewards, order, sorted_ids, batch, baseline, scale, eps,
                                    unbiased, adv, keep);
    });
  }
  return 0;
}
