// csrc/cuda/dfa_scan_kernels.cuh compiled for the host and run under cuda_emu.h, with the
// same launch choices as csrc/cuda/dfa_scan.cu. Loaded by tests/ops/test_dfa_scan_emulated.py
// through ctypes: ids are int64 here (the kernels are templates over the id type, and the
// id type only changes the loads).
#include "cuda_emu.h"

#include "dfa_scan_kernels.cuh"

extern "C" int twinkle_emu_dfa_scan(const int64_t* ids, const int64_t* lengths,
                                    const int32_t* class_ids, const int32_t* tables,
                                    const int32_t* starts, const int32_t* dead, int64_t batch,
                                    int64_t max_len, int64_t n_patterns, int64_t vocab,
                                    int64_t n_states, int64_t n_classes, int64_t chunk,
                                    int32_t* final_state, int64_t* first_dead) {
  using namespace twinkle;
  using namespace twinkle::cuda;
  std::vector<int32_t> col_n(n_patterns * n_classes, -7);
  std::vector<int32_t> col_img(n_patterns * n_classes * kDfaWays, -7);
  std::vector<uint8_t> col_pos(n_patterns * n_states * n_classes, 0xEE);
  std::vector<int32_t> chunkable(n_patterns, -7);
  const DfaScanArgs a{lengths, class_ids, tables, starts, dead, batch, max_len, n_patterns,
                      vocab, n_states, n_classes, final_state, first_dead, chunk,
                      col_n.data(), col_img.data(), col_pos.data(), chunkable.data()};
  const int64_t work = batch * n_patterns;
  if (work == 0) return 0;
  if (chunk <= 0) {
    const unsigned blocks = static_cast<unsigned>((work + kRowThreads - 1) / kRowThreads);
    cuda_emu::launch(blocks, kRowThreads, 0, [&] { dfa_scan_rows_kernel<int64_t>(ids, a); });
    return 0;
  }
  if (chunk > kMaxDfaChunk) return 1;
  cuda_emu::launch(static_cast<unsigned>(n_patterns), kColumnThreads, 0,
                   [&] { dfa_columns_kernel(a); });
  cuda_emu::launch(static_cast<unsigned>(work), kBlock, chunked_smem_bytes(chunk),
                   [&] { dfa_scan_chunked_kernel<int64_t>(ids, a); });
  return 0;
}
