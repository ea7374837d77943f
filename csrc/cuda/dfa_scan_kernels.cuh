// Kernels of twinkle::dfa_scan (see dfa_scan.cu for the launches). A header of its own so
// that tests/ops/cuda_emu can also compile these exact kernels for the host and run them
// under an emulation of the CUDA execution model (threads, barriers, shared memory). It
// includes only the shared headers; the includer provides CUDA's runtime (or the emulator).
//
// The per-token logic is in include/twinkle/dfa_scan.h (one thread walks one row) and
// include/twinkle/dfa_chunks.h (a row cut into chunks that are summarised in parallel, then
// applied in order); the CPU op runs the same functions.
//
// Chunked kernel, one block of kBlock threads per (row, pattern):
//  1. the block reads a tile of kBlock * chunk ids of its row, coalesced, and turns them
//     into token codes in shared memory (rows padded by one word: thread i reads row i, and
//     an odd stride keeps a warp's reads on distinct banks);
//  2. thread i summarises chunk i of the tile (ways stepped in registers; tables from L1);
//  3. thread 0 applies the tile's chunk summaries in order to the carried state, one lookup
//     each, and the block moves on to the next tile.
// Once the row's state is a sink (dead, or a search that has matched) only the ids' range
// is still checked. A pattern that is not chunkable (a table entry out of range, a dead
// state that is not a sink, a bad start) runs the checked one-thread scan, so errors are
// exact and nothing is read out of bounds. A first small kernel checks each pattern and
// builds its column summaries on the device: nothing waits for the host.
#pragma once

#include <climits>

#include "launchers.h"
#include "twinkle/dfa_chunks.h"
#include "twinkle/dfa_scan.h"

// The block's dynamic shared memory as an array of T (the emulator defines its own).
#ifndef TWINKLE_DYNAMIC_SMEM
#define TWINKLE_DYNAMIC_SMEM(T, name) extern __shared__ T name[]
#endif

namespace twinkle {
namespace cuda {
namespace {

constexpr int kRowThreads = 128;  // one thread per (row, pattern) kernel
constexpr int kBlock = kDfaTileChunks;  // chunked kernel: a thread per chunk of a tile
constexpr int kColumnThreads = 128;

__device__ DfaPattern pattern_at(const DfaScanArgs& a, int64_t j) {
  return DfaPattern{a.class_ids + j * a.vocab, a.tables + j * a.n_states * a.n_classes,
                    a.vocab, a.n_states, a.n_classes, a.starts[j], a.dead[j]};
}

template <typename Id>
__global__ void dfa_scan_rows_kernel(const Id* __restrict__ ids, const DfaScanArgs a) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= a.batch * a.n_patterns) return;
  const int64_t b = i / a.n_patterns;
  const int64_t j = i - b * a.n_patterns;
  const int64_t n = dfa_clamp_length(a.lengths[b], a.max_len);
  const DfaResult r = dfa_scan_one(pattern_at(a, j), ids + b * a.max_len, n);
  a.final_state[i] = r.state;
  a.first_dead[i] = r.first_dead;
}

// One block per pattern: chunkable? and, if so, every column's summary.
__global__ void dfa_columns_kernel(const DfaScanArgs a) {
  const int64_t j = blockIdx.x;
  const DfaPattern p = pattern_at(a, j);
  const bool ok = __syncthreads_and(dfa_chunkable_part(p, threadIdx.x, blockDim.x));
  if (ok) {
    for (int64_t c = threadIdx.x; c < a.n_classes; c += blockDim.x) {
      dfa_column_summary(p.table, a.n_states, a.n_classes, c, a.col_n + j * a.n_classes,
                         a.col_img + j * a.n_classes * kDfaWays,
                         a.col_pos + j * a.n_states * a.n_classes);
    }
  }
  if (threadIdx.x == 0) a.chunkable[j] = ok ? 1 : 0;
}

template <typename Id>
__global__ void __launch_bounds__(kBlock)
    dfa_scan_chunked_kernel(const Id* __restrict__ ids, const DfaScanArgs a) {
  TWINKLE_DYNAMIC_SMEM(int32_t, smem);
  __shared__ int32_t s_mode;     // 0: alive, 1: in a sink (only ids checked), 2: finished
  __shared__ int32_t s_state;    // the carried state, for the sink mode
  __shared__ int32_t s_bad_rel;  // sink mode: first stopping id in the tile, or INT_MAX
  const int64_t i = blockIdx.x;
  const int64_t b = i / a.n_patterns;
  const int64_t j = i - b * a.n_patterns;
  const int64_t n = dfa_clamp_length(a.lengths[b], a.max_len);
  const Id* row = ids + b * a.max_len;
  if (!a.chunkable[j]) {
    if (threadIdx.x == 0) {
      const DfaResult r = dfa_scan_one(pattern_at(a, j), row, n);
      a.final_state[i] = r.state;
      a.first_dead[i] = r.first_dead;
    }
    return;
  }
  const DfaChunkPattern p{a.class_ids + j * a.vocab,
                          a.tables + j * a.n_states * a.n_classes,
                          a.col_n + j * a.n_classes,
                          a.col_img + j * a.n_classes * kDfaWays,
                          a.col_pos + j * a.n_states * a.n_classes,
                          a.vocab,
                          a.n_states,
                          a.n_classes,
                          a.starts[j],
                          a.dead[j]};
  const int32_t chunk = static_cast<int32_t>(a.chunk);
  int32_t* codes = smem;  // (kBlock, chunk + 1), see dfa_tile_slot
  DfaChunk* chunks = reinterpret_cast<DfaChunk*>(smem + kBlock * (chunk + 1));  // (kBlock,)
  DfaResult r{p.start, -1};  // meaningful in thread 0
  if (threadIdx.x == 0) {
    r = dfa_chunked_begin(p, DfaIdCodes<Id>{row, p.class_ids, p.vocab, p.n_classes}, n);
    s_mode = r.state < 0 ? 2 : (dfa_is_sink(p, r.state) ? 1 : 0);
    s_state = r.state;
  }
  __syncthreads();
  const int64_t tile = static_cast<int64_t>(kBlock) * chunk;
  for (int64_t t0 = 0; t0 < n; t0 += tile) {
    const int32_t mode = s_mode;
    if (mode == 2) break;
    const int32_t len = static_cast<int32_t>(n - t0 < tile ? n - t0 : tile);
    if (mode == 1) {
      // In a sink (dead, or a search that has matched) the state is final, and the first
      // dead position, if any, is recorded: only an id out of range can still change it.
      if (threadIdx.x == 0) s_bad_rel = INT_MAX;
      __syncthreads();
      const int32_t sink = s_state;
      for (int32_t x = threadIdx.x; x < len; x += kBlock) {
        if (dfa_sink_code(p, sink, row[t0 + x]) < 0) atomicMin(&s_bad_rel, x);
      }
      __syncthreads();
      if (threadIdx.x == 0 && s_bad_rel != INT_MAX) {
        r.state = dfa_sink_code(p, sink, row[t0 + s_bad_rel]);
        r.first_dead = t0 + s_bad_rel;
        s_mode = 2;
      }
      __syncthreads();
      continue;
    }
    // Independent loads (id, then its class from L2): unrolled so that several are in
    // flight per thread; this phase carries the kernel's memory traffic.
#pragma unroll 4
    for (int32_t x = threadIdx.x; x < len; x += kBlock) {
      codes[dfa_tile_slot(x, chunk)] = dfa_token_code(p.class_ids, p.vocab, p.n_classes, row[t0 + x]);
    }
    __syncthreads();
    dfa_tile_summarize(p, codes, len, chunk, threadIdx.x, chunks);
    __syncthreads();
    if (threadIdx.x == 0) {
      dfa_tile_apply(p, chunks, codes, len, chunk, t0, r);
      s_mode = r.state < 0 ? 2 : (dfa_is_sink(p, r.state) ? 1 : 0);
      s_state = r.state;
    }
    __syncthreads();  // codes and chunks are rewritten by the next tile
  }
  if (threadIdx.x == 0) {
    a.final_state[i] = r.state;
    a.first_dead[i] = r.first_dead;
  }
}

size_t chunked_smem_bytes(int64_t chunk) {
  return static_cast<size_t>(kBlock) * (chunk + 1) * sizeof(int32_t) +
         static_cast<size_t>(kBlock) * sizeof(DfaChunk);
}

// The launches of one dfa_scan call, written once for the CUDA launcher (dfa_scan.cu) and
// the host emulation (tests/ops/cuda_emu): launch(grid, block, smem_bytes, kernel, args...)
// starts one kernel and returns its cudaError_t. One thread per row for chunk <= 0, else
// the column summaries, then the chunked scan. No host synchronisation.
template <typename Id, typename Launch>
cudaError_t dfa_scan_launches(const Id* ids, const DfaScanArgs& a, const Launch& launch) {
  const int64_t work = a.batch * a.n_patterns;
  if (work == 0) return cudaSuccess;
  if (a.chunk <= 0) {
    const unsigned blocks = static_cast<unsigned>((work + kRowThreads - 1) / kRowThreads);
    return launch(blocks, kRowThreads, 0, dfa_scan_rows_kernel<Id>, ids, a);
  }
  if (a.chunk > kMaxDfaChunk) return cudaErrorInvalidValue;
  if (work > INT_MAX) return cudaErrorInvalidConfiguration;
  const cudaError_t err =
      launch(static_cast<unsigned>(a.n_patterns), kColumnThreads, 0, dfa_columns_kernel, a);
  if (err != cudaSuccess) return err;
  return launch(static_cast<unsigned>(work), kBlock, chunked_smem_bytes(a.chunk),
                dfa_scan_chunked_kernel<Id>, ids, a);
}

}  // namespace
}  // namespace cuda
}  // namespace twinkle
