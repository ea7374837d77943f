// CPU kernel of twinkle::group_advantage: checks, allocation, and at::parallel_for over
// groups. The per-group arithmetic lives in include/twinkle/group_advantage.h.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <vector>

#include "group_advantage_checks.h"
#include "twinkle/group_advantage.h"

namespace twinkle {
namespace {

// A reward costs about a nanosecond here, so a thread is worth waking only for tens of
// thousands of them: below that, OpenMP's fork/join (and, on a loaded machine, waiting
// for a core) costs more than the work. Same order as ATen's internal grain size (32768).
constexpr int64_t kGrainRewards = 32768;

// The per-call settings every group is computed with.
struct Settings {
  int64_t baseline, scale;
  float eps;
  bool unbiased;
};

// Contiguous groups of group_size; R is float or double, advantages are float32.
template <typename R>
void run_contiguous(const R* rp, int64_t batch, int64_t group_size, const Settings& c,
                    float* ap, bool* kp) {
  const int64_t groups = batch / group_size;
  const int64_t grain = std::max<int64_t>(1, kGrainRewards / group_size);
  at::parallel_for(0, groups, grain, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      group_advantage_one(rp, ContiguousIndex{g * group_size}, group_size, c.baseline, c.scale,
                          c.eps, c.unbiased, ap, kp);
    }
  });
}

// Ragged groups: `op` lists each group's members together, `ip` is group_ids[order].
template <typename R>
void run_ragged(const R* rp, const int64_t* op, const int64_t* ip, int64_t batch,
                const Settings& c, float* ap, bool* kp) {
  // Group heads in sorted order: one cheap serial scan, then the groups in parallel.
  std::vector<int64_t> heads;
  heads.reserve(64);
  for (int64_t p = 0; p < batch; ++p) {
    if (p == 0 || ip[p] != ip[p - 1]) heads.push_back(p);
  }
  const int64_t n_groups = static_cast<int64_t>(heads.size());
  heads.push_back(batch);
  const int64_t grain = std::max<int64_t>(1, kGrainRewards * n_groups / batch);
  at::parallel_for(0, n_groups, grain, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t start = heads[g];
      group_advantage_one(rp, PermutedIndex{op, start}, heads[g + 1] - start, c.baseline,
                          c.scale, c.eps, c.unbiased, ap, kp);
    }
  });
}

std::tuple<at::Tensor, at::Tensor> group_advantage_cpu(const at::Tensor& rewards,
                                                       const std::optional<at::Tensor>& order,
                                                       const std::optional<at::Tensor>& sorted_ids,
                                                       int64_t group_size, int64_t baseline,
                                                       int64_t scale, double eps, bool unbiased) {
  GroupAdvantageCall call =
      prepare_group_advantage(rewards, order, sorted_ids, group_size, baseline, scale);
  const int64_t batch = call.batch;
  if (batch == 0) return {call.advantages, call.keep};
  const Settings c{baseline, scale, static_cast<float>(eps), unbiased};
  float* ap = call.advantages.data_ptr<float>();
  bool* kp = call.keep.data_ptr<bool>();
  AT_DISPATCH_FLOATING_TYPES(call.rewards.scalar_type(), "group_advantage", [&] {
    const scalar_t* rp = call.rewards.data_ptr<scalar_t>();
    if (call.order.defined()) {
      run_ragged(rp, call.order_ptr(), call.sorted_ids_ptr(), batch, c, ap, kp);
    } else {
      run_contiguous(rp, batch, group_size, c, ap, kp);
    }
  });
  return {call.advantages, call.keep};
}

}  // namespace

TORCH_LIBRARY_IMPL(twinkle, CPU, m) {
  m.impl("group_advantage", &group_advantage_cpu);
}

}  // namespace twinkle
