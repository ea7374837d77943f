// Torch glue for the CUDA kernels of twinkle::dfa_scan: checks, outputs, the chunked
// kernel's scratch, and the choice between one thread per row and the chunked kernel.
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>
#include <torch/types.h>

#include "../cpu/dfa_scan_checks.h"
#include "launchers.h"

namespace twinkle {
namespace {

std::tuple<at::Tensor, at::Tensor> dfa_scan_cuda(const at::Tensor& input_ids,
                                                 const at::Tensor& lengths,
                                                 const at::Tensor& class_ids,
                                                 const at::Tensor& tables, const at::Tensor& starts,
                                                 const at::Tensor& dead, int64_t chunk) {
  const c10::cuda::CUDAGuard guard(input_ids.device());
  DfaScanCall c = prepare_dfa_scan(input_ids, lengths, class_ids, tables, starts, dead, chunk);
  if (c.empty()) return {c.final_state, c.first_dead};
  const int64_t vocab = c.cls.size(1), n_states = c.tab.size(1), n_classes = c.tab.size(2);
  // Short rows: one thread per row is enough. Otherwise chunks (a longer chunk than the
  // kernel's shared memory takes is cut down to kMaxDfaChunk; the result is the same).
  if (chunk == 0) chunk = c.max_len <= cuda::kDfaRowsPerThreadMaxLen ? 0 : cuda::kDefaultDfaChunk;
  chunk = std::min(chunk, cuda::kMaxDfaChunk);
  at::Tensor col_n, col_img, col_pos, chunkable;
  if (chunk > 0) {
    const auto i32 = c.tab.options();
    col_n = at::empty({c.k, n_classes}, i32);
    col_img = at::empty({c.k, n_classes, kDfaWays}, i32);
    col_pos = at::empty({c.k, n_states, n_classes}, i32.dtype(at::kByte));
    chunkable = at::empty({c.k}, i32);
  }
  const auto ptr_or_null = [](const at::Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; };
  const cuda::DfaScanArgs args{c.lens.data_ptr<int64_t>(),
                              c.cls.data_ptr<int32_t>(),
                              c.tab.data_ptr<int32_t>(),
                              c.starts.data_ptr<int32_t>(),
                              c.dead.data_ptr<int32_t>(),
                              c.batch,
                              c.max_len,
                              c.k,
                              vocab,
                              n_states,
                              n_classes,
                              c.final_state.data_ptr<int32_t>(),
                              c.first_dead.data_ptr<int64_t>(),
                              chunk,
                              static_cast<int32_t*>(ptr_or_null(col_n)),
                              static_cast<int32_t*>(ptr_or_null(col_img)),
                              static_cast<uint8_t*>(ptr_or_null(col_pos)),
                              static_cast<int32_t*>(ptr_or_null(chunkable))};
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  cudaError_t err;
  switch (c.ids.scalar_type()) {
    case at::kByte: err = cuda::launch_dfa_scan(c.ids.data_ptr<uint8_t>(), args, stream); break;
    case at::kInt: err = cuda::launch_dfa_scan(c.ids.data_ptr<int32_t>(), args, stream); break;
    default: err = cuda::launch_dfa_scan(c.ids.data_ptr<int64_t>(), args, stream); break;  // kLong
  }
  TORCH_CHECK(err == cudaSuccess, "dfa_scan: CUDA launch failed: ", cudaGetErrorString(err));
  return {c.final_state, c.first_dead};
}

}  // namespace

TORCH_LIBRARY_IMPL(twinkle, CUDA, m) {
  m.impl("dfa_scan", &dfa_scan_cuda);
}

}  // namespace twinkle
