// Argument checks and call set-up of twinkle::group_advantage, shared by the CPU and CUDA
// torch glue (csrc/cpu/group_advantage.cpp, csrc/cuda/group_advantage_cuda.cpp). Torch
// headers are allowed here: this file is never included from a .cu file.
#pragma once

#include <torch/types.h>

#include <optional>

#include "twinkle/group_advantage.h"

namespace twinkle {

inline void check_group_advantage_args(const at::Tensor& rewards,
                                       const std::optional<at::Tensor>& order,
                                       const std::optional<at::Tensor>& sorted_ids,
                                       int64_t group_size, int64_t baseline, int64_t scale) {
  TORCH_CHECK(rewards.dim() == 1, "group_advantage: rewards must be 1-D (B,), got shape ",
              rewards.sizes());
  // float64 is taken as is, so that its statistics see what the caller computed
  TORCH_CHECK(rewards.scalar_type() == at::kFloat || rewards.scalar_type() == at::kDouble,
              "group_advantage: rewards must be float32 or float64, got ",
              rewards.scalar_type());
  TORCH_CHECK(baseline == kBaselineMean || baseline == kBaselineLeaveOneOut ||
                  baseline == kBaselineSecondMax,
              "group_advantage: baseline must be 0 (mean), 1 (leave-one-out) or 2 (second max), ",
              "got ", baseline);
  TORCH_CHECK(scale == kScaleNone || scale == kScaleGroup,
              "group_advantage: scale must be 0 (none) or 1 (group std), got ", scale);
  TORCH_CHECK(order.has_value() == sorted_ids.has_value(),
              "group_advantage: order and sorted_ids must be given together");
  const int64_t batch = rewards.size(0);
  if (order.has_value()) {
    for (const at::Tensor* t : {&*order, &*sorted_ids}) {
      TORCH_CHECK(t->dim() == 1 && t->size(0) == batch,
                  "group_advantage: order and sorted_ids must have shape (B,) = (", batch,
                  ",), got ", t->sizes());
      TORCH_CHECK(t->scalar_type() == at::kLong,
                  "group_advantage: order and sorted_ids must be int64, got ", t->scalar_type());
      TORCH_CHECK(t->device() == rewards.device(),
                  "group_advantage: order and sorted_ids must be on the rewards' device");
    }
  } else {
    TORCH_CHECK(group_size > 0, "group_advantage: group_size must be > 0, got ", group_size);
    TORCH_CHECK(batch % group_size == 0, "group_advantage: group_size ", group_size,
                " does not divide the batch size ", batch);
  }
}

// Checked, contiguous inputs and freshly allocated outputs of one group_advantage call: the
// part of the CPU and CUDA glue that does not depend on the device.
struct GroupAdvantageCall {
  at::Tensor rewards;            // (B,) float32 or float64
  at::Tensor order, sorted_ids;  // (B,) int64, or undefined for contiguous groups
  at::Tensor advantages;         // (B,) float32
  at::Tensor keep;               // (B,) bool
  int64_t batch;

  const int64_t* order_ptr() const { return order.defined() ? order.data_ptr<int64_t>() : nullptr; }
  const int64_t* sorted_ids_ptr() const {
    return sorted_ids.defined() ? sorted_ids.data_ptr<int64_t>() : nullptr;
  }
};

inline GroupAdvantageCall prepare_group_advantage(const at::Tensor& rewards,
                                                  const std::optional<at::Tensor>& order,
                                                  const std::optional<at::Tensor>& sorted_ids,
                                                  int64_t group_size, int64_t baseline,
                                                  int64_t scale) {
  check_group_advantage_args(rewards, order, sorted_ids, group_size, baseline, scale);
  GroupAdvantageCall c;
  c.rewards = rewards.contiguous();
  if (order.has_value()) {
    c.order = order->contiguous();
    c.sorted_ids = sorted_ids->contiguous();
  }
  c.batch = c.rewards.size(0);
  c.advantages = at::empty({c.batch}, c.rewards.options().dtype(at::kFloat));
  c.keep = at::empty({c.batch}, c.rewards.options().dtype(at::kBool));
  return c;
}

}  // namespace twinkle
