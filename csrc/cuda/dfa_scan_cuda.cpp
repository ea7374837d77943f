// Torch glue for the CUDA kernel of twinkle::dfa_scan.
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>
#include <torch/types.h>

#include "../cpu/dfa_checks.h"
#include "launchers.h"

namespace twinkle {
namespace {

std::tuple<at::Tensor, at::Tensor> dfa_scan_cuda(const at::Tensor& input_ids,
                                                 const at::Tensor& lengths,
                                                 const at::Tensor& class_ids,
                                                 const at::Tensor& tables, const at::Tensor& starts,
                                                 const at::Tensor& dead) {
  const c10::cuda::CUDAGuard guard(input_ids.device());
  DfaScanCall c = prepare_dfa_scan(input_ids, lengths, class_ids, tables, starts, dead);
  if (c.empty()) return {c.final_state, c.first_dead};
  const int64_t vocab = c.cls.size(1), n_states = c.tab.size(1), n_classes = c.tab.size(2);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  // One launcher overload per id dtype; everything else is the same.
  const auto launch = [&](const auto* ids) {
    return cuda::launch_dfa_scan(ids, c.lens.data_ptr<int64_t>(), c.cls.data_ptr<int32_t>(),
                                 c.tab.data_ptr<int32_t>(), c.starts.data_ptr<int32_t>(),
                                 c.dead.data_ptr<int32_t>(), c.batch, c.max_len, c.k, vocab,
                                 n_states, n_classes, c.final_state.data_ptr<int32_t>(),
                                 c.first_dead.data_ptr<int64_t>(), stream);
  };
  cudaError_t err;
  switch (c.ids.scalar_type()) {
    case at::kByte: err = launch(c.ids.data_ptr<uint8_t>()); break;
    case at::kInt: err = launch(c.ids.data_ptr<int32_t>()); break;
    default: err = launch(c.ids.data_ptr<int64_t>()); break;  // kLong, checked above
  }
  TORCH_CHECK(err == cudaSuccess, "dfa_scan: CUDA launch failed: ", cudaGetErrorString(err));
  return {c.final_state, c.first_dead};
}

}  // namespace

TORCH_LIBRARY_IMPL(twinkle, CUDA, m) {
  m.impl("dfa_scan", &dfa_scan_cuda);
}

}  // namespace twinkle
