// Host launchers of twinkle's CUDA kernels: raw pointers and a stream, no torch types, so
// the .cu files compile with plain `nvcc -c` and the torch glue (*_cuda.cpp) calls these.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "twinkle/dfa_chunks.h"

namespace twinkle {
namespace cuda {

// Arguments of twinkle::group_advantage on the device, rewards aside (see
// csrc/include/twinkle/group_advantage.h). order/sorted_ids (B,) are null for contiguous
// groups of group_size. Outputs (B,).
struct GroupAdvantageArgs {
  const int64_t* order;
  const int64_t* sorted_ids;
  int64_t batch, group_size, baseline, scale;
  float eps;
  bool unbiased;
  float* adv;
  bool* keep;
};

// One launch; no host synchronisation. One overload per reward dtype: float64 rewards are
// read unrounded; the advantages are float32 either way.
cudaError_t launch_group_advantage(const float* rewards, const GroupAdvantageArgs& a,
                                   cudaStream_t stream);
cudaError_t launch_group_advantage(const double* rewards, const GroupAdvantageArgs& a,
                                   cudaStream_t stream);

// Arguments of twinkle::dfa_scan on the device, ids aside. ids (B, L) row-major; class_ids
// (K, V) and tables (K, S, C) contiguous; starts/dead (K,). Outputs (B, K).
struct DfaScanArgs {
  const int64_t* lengths;
  const int32_t* class_ids;
  const int32_t* tables;
  const int32_t* starts;
  const int32_t* dead;
  int64_t batch, max_len, n_patterns, vocab, n_states, n_classes;
  int32_t* final_state;
  int64_t* first_dead;
  // Tokens per chunk of the chunked kernel (include/twinkle/dfa_chunks.h), 1..kMaxDfaChunk;
  // 0 runs one thread per (row, pattern) instead. The chunked kernel needs device scratch:
  // col_n (K, C) int32, col_img (K, C, kDfaWays) int32, col_pos (K, S, C) uint8 and
  // chunkable (K,) int32, all filled by the launch itself.
  int64_t chunk;
  int32_t* col_n;
  int32_t* col_img;
  uint8_t* col_pos;
  int32_t* chunkable;
};

// Longest chunk the chunked kernel takes (its shared memory grows with the chunk).
constexpr int64_t kMaxDfaChunk = 128;
// The chunk length the glue picks when the caller leaves it to the backend, and the row
// length up to which one thread per row is used instead.
constexpr int64_t kDefaultDfaChunk = 64;
constexpr int64_t kDfaRowsPerThreadMaxLen = 128;

// See csrc/include/twinkle/dfa_scan.h. At most two launches (column summaries, scan), no
// host synchronisation; errors are negative final states. Overloads per id dtype.
cudaError_t launch_dfa_scan(const uint8_t* ids, const DfaScanArgs& a, cudaStream_t stream);
cudaError_t launch_dfa_scan(const int32_t* ids, const DfaScanArgs& a, cudaStream_t stream);
cudaError_t launch_dfa_scan(const int64_t* ids, const DfaScanArgs& a, cudaStream_t stream);

}  // namespace cuda
}  // namespace twinkle
