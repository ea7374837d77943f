// Torch glue for the CUDA kernel of twinkle::dfa_scan.
#include <ATen/cuda/CUDAContext.h>
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
  check_dfa_scan_args(input_ids, lengths, class_ids, tables, starts, dead);
  const c10::cuda::CUDAGuard guard(input_ids.device());
  const at::Tensor ids = input_ids.contiguous();
  const at::Tensor lens = lengths.contiguous();
  const at::Tensor cls = class_ids.contiguous();
  const at::Tensor tab = tables.contiguous();
  const int64_t batch = ids.size(0), max_len = ids.size(1), k = tab.size(0);
  at::Tensor final_state = at::empty({batch, k}, ids.options().dtype(at::kInt));
  at::Tensor first_dead = at::empty({batch, k}, ids.options().dtype(at::kLong));
  if (batch == 0 || k == 0) return {final_state, first_dead};
  const at::Tensor st = starts.contiguous();
  const at::Tensor dd = dead.contiguous();
  const int64_t vocab = cls.size(1), n_states = tab.size(1), n_classes = tab.size(2);
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  int32_t* fs = final_state.data_ptr<int32_t>();
  int64_t* fd = first_dead.data_ptr<int64_t>();
  cudaError_t err = cudaSuccess;
  switch (ids.scalar_type()) {
    case at::kByte:
      err = cuda::launch_dfa_scan(ids.data_ptr<uint8_t>(), lens.data_ptr<int64_t>(),
                                  cls.data_ptr<int32_t>(), tab.data_ptr<int32_t>(),
                                  st.data_ptr<int32_t>(), dd.data_ptr<int32_t>(),
                                  batch, max_len, k, vocab, n_states, n_classes, fs, fd, stream);
      break;
    case at::kInt:
      err = cuda::launch_dfa_scan(ids.data_ptr<int32_t>(), lens.data_ptr<int64_t>(),
                                  cls.data_ptr<int32_t>(), tab.data_ptr<int32_t>(),
                                  st.data_ptr<int32_t>(), dd.data_ptr<int32_t>(),
                                  batch, max_len, k, vocab, n_states, n_classes, fs, fd, stream);
      break;
    default:
      err = cuda::launch_dfa_scan(ids.data_ptr<int64_t>(), lens.data_ptr<int64_t>(),
                                  cls.data_ptr<int32_t>(), tab.data_ptr<int32_t>(),
                                  st.data_ptr<int32_t>(), dd.data_ptr<int32_t>(),
                                  batch, max_len, k, vocab, n_states, n_classes, fs, fd, stream);
  }
  TORCH_CHECK(err == cudaSuccess, "dfa_scan: CUDA launch failed: ", cudaGetErrorString(err));
  return {final_state, first_dead};
}

}  // namespace

TORCH_LIBRARY_IMPL(twinkle, CUDA, m) {
  m.impl("dfa_scan", &dfa_scan_cuda);
}

}  // namespace twinkle
