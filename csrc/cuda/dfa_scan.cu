// CUDA kernel of twinkle::dfa_scan: one thread per (sequence, pattern) runs the shared
// per-sequence scan of include/twinkle/dfa_scan.h. The class and transition tables are a
// few KiB to a few hundred KiB and stay in L1/L2; each thread walks its own row of ids.
// Errors (bad id, bad table entry) come back as negative final states: the kernel never
// reads outside ids[b, 0 .. n), class_ids[0 .. V) or table[0 .. S*C).
#include <cuda_runtime.h>

#include "launchers.h"
#include "twinkle/dfa_scan.h"

namespace twinkle {
namespace cuda {
namespace {

constexpr int kThreads = 128;

template <typename Id>
__global__ void dfa_scan_kernel(const Id* __restrict__ ids, const int64_t* __restrict__ lengths,
                                const int32_t* __restrict__ class_ids,
                                const int32_t* __restrict__ tables,
                                const int32_t* __restrict__ starts,
                                const int32_t* __restrict__ dead, int64_t batch, int64_t max_len,
                                int64_t n_patterns, int64_t vocab, int64_t n_states,
                                int64_t n_classes, int32_t* final_state, int64_t* first_dead) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= batch * n_patterns) return;
  const int64_t b = i / n_patterns;
  const int64_t j = i - b * n_patterns;
  const DfaPattern p{class_ids + j * vocab, tables + j * n_states * n_classes, vocab, n_states,
                     n_classes, starts[j], dead[j]};
  const int64_t n = dfa_clamp_length(lengths[b], max_len);
  const DfaResult r = dfa_scan_one(p, ids + b * max_len, n);
  final_state[i] = r.state;
  first_dead[i] = r.first_dead;
}

template <typename Id>
cudaError_t launch(const Id* ids, const int64_t* lengths, const int32_t* class_ids,
                   const int32_t* tables, const int32_t* starts, const int32_t* dead,
                   int64_t batch, int64_t max_len, int64_t n_patterns, int64_t vocab,
                   int64_t n_states, int64_t n_classes, int32_t* final_state,
                   int64_t* first_dead, cudaStream_t stream) {
  const int64_t work = batch * n_patterns;
  if (work == 0) return cudaSuccess;
  const unsigned blocks = static_cast<unsigned>((work + kThreads - 1) / kThreads);
  dfa_scan_kernel<Id><<<blocks, kThreads, 0, stream>>>(ids, lengths, class_ids, tables, starts,
                                                      dead, batch, max_len, n_patterns, vocab,
                                                      n_states, n_classes, final_state,
                                                      first_dead);
  return cudaGetLastError();
}

}  // namespace

#define TWINKLE_DFA_SCAN_LAUNCHER(ID_T)                                                        \
  cudaError_t launch_dfa_scan(const ID_T* ids, const int64_t* lengths, const int32_t* class_ids, \
                              const int32_t* tables, const int32_t* starts, const int32_t* dead, \
                              int64_t batch, int64_t max_len, int64_t n_patterns, int64_t vocab, \
                              int64_t n_states, int64_t n_classes, int32_t* final_state,       \
                              int64_t* first_dead, cudaStream_t stream) {                      \
    return launch<ID_T>(ids, lengths, class_ids, tables, starts, dead, batch, max_len,         \
                        n_patterns, vocab, n_states, n_classes, final_state, first_dead,       \
                        stream);                                                               \
  }
TWINKLE_DFA_SCAN_LAUNCHER(uint8_t)
TWINKLE_DFA_SCAN_LAUNCHER(int32_t)
TWINKLE_DFA_SCAN_LAUNCHER(int64_t)
#undef TWINKLE_DFA_SCAN_LAUNCHER

}  // namespace cuda
}  // namespace twinkle
