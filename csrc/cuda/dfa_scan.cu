// Launches of twinkle::dfa_scan's CUDA kernels (the kernels are in dfa_scan_kernels.cuh):
// one thread per (row, pattern) for short rows, else the column summaries, then the chunked
// scan. No host synchronisation; errors come back as negative final states.
#include <cuda_runtime.h>

#include "dfa_scan_kernels.cuh"

namespace twinkle {
namespace cuda {
namespace {

template <typename Id>
cudaError_t launch(const Id* ids, const DfaScanArgs& a, cudaStream_t stream) {
  const int64_t work = a.batch * a.n_patterns;
  if (work == 0) return cudaSuccess;
  if (a.chunk <= 0) {
    const unsigned blocks = static_cast<unsigned>((work + kRowThreads - 1) / kRowThreads);
    dfa_scan_rows_kernel<Id><<<blocks, kRowThreads, 0, stream>>>(ids, a);
    return cudaGetLastError();
  }
  if (a.chunk > kMaxDfaChunk) return cudaErrorInvalidValue;
  dfa_columns_kernel<<<static_cast<unsigned>(a.n_patterns), kColumnThreads, 0, stream>>>(a);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  if (work > INT_MAX) return cudaErrorInvalidConfiguration;
  dfa_scan_chunked_kernel<Id><<<static_cast<unsigned>(work), kBlock, chunked_smem_bytes(a.chunk),
                                stream>>>(ids, a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_dfa_scan(const uint8_t* ids, const DfaScanArgs& a, cudaStream_t stream) {
  return launch(ids, a, stream);
}
cudaError_t launch_dfa_scan(const int32_t* ids, const DfaScanArgs& a, cudaStream_t stream) {
  return launch(ids, a, stream);
}
cudaError_t launch_dfa_scan(const int64_t* ids, const DfaScanArgs& a, cudaStream_t stream) {
  return launch(ids, a, stream);
}

}  // namespace cuda
}  // namespace twinkle
