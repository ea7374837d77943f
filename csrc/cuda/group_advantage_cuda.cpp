// Torch glue for the CUDA kernel of twinkle::group_advantage.
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include "../cpu/group_advantage_checks.h"
#include "launchers.h"

namespace twinkle {
namespace {

std::tuple<at::Tensor, at::Tensor> group_advantage_cuda(const at::Tensor& rewards,
                                                        const std::optional<at::Tensor>& order,
                                                        const std::optional<at::Tensor>& sorted_ids,
                                                        int64_t group_size, int64_t baseline,
                                                        int64_t scale, double eps, bool unbiased) {
  const c10::cuda::CUDAGuard guard(rewards.device());
  GroupAdvantageCall call =
      prepare_group_advantage(rewards, order, sorted_ids, group_size, baseline, scale);
  const cuda::GroupAdvantageArgs args{call.order_ptr(),
                                      call.sorted_ids_ptr(),
                                      call.batch,
                                      group_size,
                                      baseline,
                                      scale,
                                      static_cast<float>(eps),
                                      unbiased,
                                      call.advantages.data_ptr<float>(),
                                      call.keep.data_ptr<bool>()};
  cudaError_t err = cudaSuccess;
  AT_DISPATCH_FLOATING_TYPES(call.rewards.scalar_type(), "group_advantage", [&] {
    err = cuda::launch_group_advantage(call.rewards.data_ptr<scalar_t>(), args,
                                       c10::cuda::getCurrentCUDAStream());
  });
  TORCH_CHECK(err == cudaSuccess, "group_advantage: CUDA launch failed: ",
              cudaGetErrorString(err));
  return {call.advantages, call.keep};
}

}  // namespace

TORCH_LIBRARY_IMPL(twinkle, CUDA, m) {
  m.impl("group_advantage", &group_advantage_cuda);
}

}  // namespace twinkle
