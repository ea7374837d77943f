// csrc/cuda/dfa_scan_kernels.cuh compiled for the host and run under cuda_emu.h through its
// own launch sequence (dfa_scan_launches, the one csrc/cuda/dfa_scan.cu runs). Loaded by
// tests/ops/test_dfa_scan_emulated.py through ctypes; returns the sequence's cudaError_t.
// ids are int64 here (the kernels are templates over the id type, which only changes loads).
#include "cuda_emu.h"

#include "dfa_scan_kernels.cuh"

extern "C" int twinkle_emu_dfa_scan(const int64_t* ids, const int64_t* lengths,
                                    const int32_t* class_ids, const int32_t* tables,
                                    const int32_t* starts, const int32_t* dead, int64_t batch,
                                    int64_t max_len, int64_t n_patterns, int64_t vocab,
                                    int64_t n_states, int64_t n_classes, int64_t chunk,
                                    int32_t* final_state, int64_t* first_dead) {
  using namespace twinkle;
  // The device scratch the torch glue allocates, filled with garbage.
  std::vector<int32_t> col_n(n_patterns * n_classes, -7);
  std::vector<int32_t> col_img(n_patterns * n_classes * kDfaWays, -7);
  std::vector<uint8_t> col_pos(n_patterns * n_states * n_classes, 0xEE);
  std::vector<int32_t> chunkable(n_patterns, -7);
  const cuda::DfaScanArgs a{lengths, class_ids, tables, starts, dead, batch, max_len, n_patterns,
                            vocab, n_states, n_classes, final_state, first_dead, chunk,
                            col_n.data(), col_img.data(), col_pos.data(), chunkable.data()};
  return cuda::dfa_scan_launches(ids, a, cuda_emu::Launcher{});
}
