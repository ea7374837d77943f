// csrc/cuda/group_advantage_kernels.cuh compiled for the host and run under cuda_emu.h through
// its own launch (group_advantage_launches, the one csrc/cuda/group_advantage.cu runs). Loaded
// by tests/ops/test_group_advantage_emulated.py through ctypes.
#include "cuda_emu.h"

#include "group_advantage_kernels.cuh"

namespace {

template <typename R>
int run(const R* rewards, const int64_t* order, const int64_t* sorted_ids, int64_t batch,
        int64_t group_size, int64_t baseline, int64_t scale, float eps, bool unbiased, float* adv,
        bool* keep) {
  const twinkle::cuda::GroupAdvantageArgs args{order, sorted_ids, batch,    group_size, baseline,
                                               scale, eps,        unbiased, adv,        keep};
  return twinkle::cuda::group_advantage_launches(rewards, args, cuda_emu::Launcher{});
}

}  // namespace

extern "C" int twinkle_emu_group_advantage(const float* rewards, const int64_t* order,
                                           const int64_t* sorted_ids, int64_t batch,
                                           int64_t group_size, int64_t baseline, int64_t scale,
                                           float eps, bool unbiased, float* adv, bool* keep) {
  return run(rewards, order, sorted_ids, batch, group_size, baseline, scale, eps, unbiased, adv,
             keep);
}

// The float64-reward kernels (rewards read unrounded; float32 advantages).
extern "C" int twinkle_emu_group_advantage_f64(const double* rewards, const int64_t* order,
                                               const int64_t* sorted_ids, int64_t batch,
                                               int64_t group_size, int64_t baseline,
                                               int64_t scale, float eps, bool unbiased,
                                               float* adv, bool* keep) {
  return run(rewards, order, sorted_ids, batch, group_size, baseline, scale, eps, unbiased, adv,
             keep);
}
