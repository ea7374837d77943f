// Host launchers of twinkle's CUDA kernels: raw pointers and a stream, no torch types, so
// the .cu files compile with plain `nvcc -c` and the torch glue (*_cuda.cpp) calls these.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace twinkle {
namespace cuda {

// See csrc/include/twinkle/group_advantage.h. order/sorted_ids are null for contiguous
// groups of group_size. One launch; no host synchronisation.
cudaError_t launch_group_advantage(const float* rewards, const int64_t* order,
                                   const int64_t* sorted_ids, int64_t batch, int64_t group_size,
                                   int64_t baseline, int64_t scale, float eps, bool unbiased,
                                   float* adv, bool* keep, cudaStream_t stream);

// See csrc/include/twinkle/dfa_scan.h. ids (B, L) row-major; class_ids (K, V) and tables
// (K, S, C) contiguous; starts/dead (K,) int32 on the device. Outputs (B, K). One launch, no
// host synchronisation; errors are negative final states. Overloads per id dtype.
cudaError_t launch_dfa_scan(const uint8_t* ids, const int64_t* lengths, const int32_t* class_ids,
                            const int32_t* tables, const int32_t* starts, const int32_t* dead,
                            int64_t batch, int64_t max_len, int64_t n_patterns, int64_t vocab,
                            int64_t n_states, int64_t n_classes, int32_t* final_state,
                            int64_t* first_dead, cudaStream_t stream);
cudaError_t launch_dfa_scan(const int32_t* ids, const int64_t* lengths, const int32_t* class_ids,
                            const int32_t* tables, const int32_t* starts, const int32_t* dead,
                            int64_t batch, int64_t max_len, int64_t n_patterns, int64_t vocab,
                            int64_t n_states, int64_t n_classes, int32_t* final_state,
                            int64_t* first_dead, cudaStream_t stream);
cudaError_t launch_dfa_scan(const int64_t* ids, const int64_t* lengths, const int32_t* class_ids,
                            const int32_t* tables, const int32_t* starts, const int32_t* dead,
                            int64_t batch, int64_t max_len, int64_t n_patterns, int64_t vocab,
                            int64_t n_states, int64_t n_classes, int32_t* final_state,
                            int64_t* first_dead, cudaStream_t stream);

}  // namespace cuda
}  // namespace twinkle
