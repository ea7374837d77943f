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
  check_group_advantage_args(rewards, order, sorted_ids, group_size, baseline, scale);
  const c10::cuda::CUDAGuard guard(rewards.device());
  const at::Tensor r = rewards.contiguous();
  const int64_t batch = r.size(0);
  at::Tensor adv = at::empty({batch}, r.options().dtype(at::kFloat));
  at::Tensor keep = at::empty({batch}, r.options().dtype(at::kBool));
  at::Tensor ord, ids;
  if (order.has_value()) {
    ord = order->contiguous();
    ids = sorted_ids->contiguous();
  }
  cudaError_t err = cudaSuccess;
  AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "group_advantage", [&] {
    err = cuda::launch_group_advantage(
        r.data_ptr<scalar_t>(), ord.defined() ? ord.data_ptr<int64_t>() : nullptr,
        ids.defined() ? ids.data_ptr<int64_t>() : nullptr, batch, group_size, baseline, scale,
        static_cast<float>(eps), unbiased, adv.data_ptr<float>(), keep.data_ptr<bool>(),
        c10::cuda::getCurrentCUDAStream());
  });
  TORCH_CHECK(err == cudaSuccess, "group_advantage: CUDA launch failed: ",
              cudaGetErrorString(err));
  return {adv, keep};
}

}  // namespace

TORCH_LIBRARY_IMPL(twinkle, CUDA, m) {
  m.impl("group_advantage", &group_advantage_cuda);
}

}  // namespace twinkle
