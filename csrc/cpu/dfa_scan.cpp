// CPU kernel of twinkle::dfa_scan: checks, allocation and at::parallel_for over sequences.
// The per-token step lives in include/twinkle/dfa_scan.h, shared with the CUDA kernel.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/types.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <type_traits>
#include <vector>

#include "dfa_accel.h"
#include "dfa_multi.h"
#include "dfa_scan_checks.h"
#include "twinkle/dfa_chunks.h"
#include "twinkle/dfa_scan.h"

namespace twinkle {
namespace {

using cpu::ByteAccel;
using cpu::Prepared;
using cpu::TokenAccel;

// Each step is ~3 dependent loads (id, class, table); hand a thread ~64k steps at a time.
constexpr int64_t kGrainSteps = 1 << 16;

std::vector<DfaPattern> patterns_of(const at::Tensor& class_ids, const at::Tensor& tables,
                                    const at::Tensor& starts, const at::Tensor& dead) {
  const int64_t k = tables.size(0), s = tables.size(1), c = tables.size(2), v = class_ids.size(1);
  std::vector<DfaPattern> out(k);
  const int32_t* cp = class_ids.data_ptr<int32_t>();
  const int32_t* tp = tables.data_ptr<int32_t>();
  const int32_t* sp = starts.data_ptr<int32_t>();
  const int32_t* dp = dead.data_ptr<int32_t>();
  for (int64_t j = 0; j < k; ++j) {
    out[j] = DfaPattern{cp + j * v, tp + j * s * c, v, s, c, sp[j], dp[j]};
  }
  return out;
}

// Sequences per lockstep group on the fast path: 4 chains hide most of the L1 latency.
constexpr int kLanes = 4;

// ---- chunked path (include/twinkle/dfa_chunks.h, the CUDA kernel's algorithm) -----------
//
// Used when the caller asks for chunks, or when rows are few (at most half the threads) and
// long: a row's chunks are then summarised in parallel and applied in order.

// Column summaries of one chunkable pattern, owned here (DfaChunkPattern points into them).
struct ChunkTables {
  std::vector<int32_t> col_n, col_img;
  std::vector<uint8_t> col_pos;
  DfaChunkPattern pat{};
  bool ok = false;
};

void build_chunk_tables(const DfaPattern& p, ChunkTables& out) {
  out.ok = dfa_chunkable(p);
  if (!out.ok) return;
  const int64_t s = p.n_states, c = p.n_classes;
  out.col_n.assign(c, 0);
  out.col_img.assign(c * kDfaWays, 0);
  out.col_pos.assign(s * c, 0);
  for (int64_t j = 0; j < c; ++j) {
    dfa_column_summary(p.table, s, c, j, out.col_n.data(), out.col_img.data(), out.col_pos.data());
  }
  out.pat = DfaChunkPattern{p.class_ids, p.table, out.col_n.data(), out.col_img.data(),
                            out.col_pos.data(), p.vocab, s, c, p.start, p.dead};
}

// One row, in the CUDA kernel's loop over tiles. Each tile's chunks go to at::parallel_for:
// with few rows that spreads a row over the threads; inside the many-rows loop below (already
// a parallel region) ATen runs it inline.
template <typename Id>
DfaResult scan_row_chunked(const DfaChunkPattern& p, const Id* row, int64_t n, int64_t chunk) {
  DfaResult r = dfa_chunked_begin(p, DfaIdCodes<Id>{row, p.class_ids, p.vocab, p.n_classes}, n);
  const int32_t c32 = static_cast<int32_t>(chunk);
  const int64_t tile = kDfaTileChunks * chunk;
  const int64_t tile_chunks = std::min<int64_t>(kDfaTileChunks, (n + chunk - 1) / chunk);
  std::vector<int32_t> codes(tile_chunks * (chunk + 1));  // no more than the row needs
  std::vector<DfaChunk> chunks(tile_chunks);
  for (int64_t t0 = 0; t0 < n && r.state >= 0; t0 += tile) {
    const int64_t len = std::min(tile, n - t0);
    if (dfa_is_sink(p, r.state)) {
      for (int64_t x = 0; x < len; ++x) {
        const int32_t code = dfa_sink_code(p, r.state, row[t0 + x]);
        if (code < 0) {
          r.state = code;
          r.first_dead = t0 + x;
          break;
        }
      }
      continue;
    }
    const int64_t n_chunks = (len + chunk - 1) / chunk;
    at::parallel_for(0, n_chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t x = c0 * chunk; x < std::min(len, c1 * chunk); ++x) {
        codes[dfa_tile_slot(x, c32)] =
            dfa_token_code(p.class_ids, p.vocab, p.n_classes, row[t0 + x]);
      }
      for (int64_t i = c0; i < c1; ++i) {
        dfa_tile_summarize(p, codes.data(), len, c32, i, chunks.data());
      }
    });
    dfa_tile_apply(p, chunks.data(), codes.data(), len, c32, t0, r);
  }
  return r;
}

template <typename Id>
void run_chunked(const Id* ids, const int64_t* lengths, const std::vector<DfaPattern>& pats,
                 int64_t batch, int64_t max_len, int64_t chunk, int32_t* final_state,
                 int64_t* first_dead) {
  const int64_t k = static_cast<int64_t>(pats.size());
  std::vector<ChunkTables> tabs(k);
  for (int64_t j = 0; j < k; ++j) build_chunk_tables(pats[j], tabs[j]);
  const auto one = [&](int64_t i) {
    const int64_t b = i / k, j = i % k;
    const int64_t n = dfa_clamp_length(lengths[b], max_len);
    const DfaResult r = tabs[j].ok ? scan_row_chunked(tabs[j].pat, ids + b * max_len, n, chunk)
                                   : dfa_scan_one(pats[j], ids + b * max_len, n);
    final_state[i] = r.state;
    first_dead[i] = r.first_dead;
  };
  if (batch * k >= at::get_num_threads()) {  // many rows: a thread per row
    at::parallel_for(0, batch * k, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) one(i);
    });
  } else {  // few rows: each row's chunks spread over the threads
    for (int64_t i = 0; i < batch * k; ++i) one(i);
  }
}

// chunk == 0 (the default) picks: chunks only pay off when rows are fewer than threads,
// because a chunk steps every way (2-7 for a format DFA) where the plain scan steps one state.
int64_t auto_chunk(int64_t batch, int64_t k, int64_t max_len) {
  const int64_t threads = at::get_num_threads();
  if (threads < 2 || batch * k * 2 > threads || max_len < (1 << 14)) return 0;
  return std::max<int64_t>(1024, max_len / (kDfaTileChunks * threads));
}

// Tokens one pattern scans in this call (each pattern scans every row).
int64_t total_tokens(const int64_t* lengths, int64_t batch, int64_t max_len) {
  int64_t sum = 0;
  for (int64_t b = 0; b < batch; ++b) sum += dfa_clamp_length(lengths[b], max_len);
  return sum;
}

// The byte shortcut for uint8 ids; the token shortcut for wider ids when the call scans
// enough tokens to repay its build (one short row keeps the ~11 us call).
template <typename Id>
void build_accel(const std::vector<DfaPattern>& pats, const std::vector<Prepared>& prep,
                 int64_t tokens, std::vector<ByteAccel>& bytes, std::vector<TokenAccel>& toks) {
  const int64_t k = static_cast<int64_t>(pats.size());
  if (std::is_same<Id, uint8_t>::value) {
    for (int64_t j = 0; j < k; ++j) {
      if (prep[j].ok && pats[j].vocab >= 256) bytes[j] = cpu::byte_accel(prep[j], pats[j].n_states);
    }
    return;
  }
  // Every pattern shares V (class_ids is (K, V)); a small call opens no parallel region.
  if (k == 0 || !cpu::token_accel_pays(pats[0].vocab, tokens)) return;
  const bool bitsets = cpu::token_bitsets_pay(pats[0].vocab, tokens);
  at::parallel_for(0, k, 1, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      toks[j] = cpu::token_accel(prep[j], pats[j].n_states, bitsets);
    }
  });
}

// Rows b0 .. b0 + lanes of pattern j, one at a time with a shortcut.
template <typename Id>
void scan_rows_accel(const Prepared& prep, const ByteAccel& bytes, const TokenAccel& toks,
                     const Id* ids, const int64_t* lengths, int64_t b0, int64_t lanes,
                     int64_t max_len, int64_t k, int64_t j, int32_t* final_state,
                     int64_t* first_dead) {
  for (int64_t b = b0; b < b0 + lanes; ++b) {
    const Id* row = ids + b * max_len;
    const int64_t n = dfa_clamp_length(lengths[b], max_len);
    DfaResult r;
    if constexpr (std::is_same<Id, uint8_t>::value) {
      r = cpu::scan_bytes_accel(prep.fast, bytes, row, n);
    } else {
      r = cpu::scan_tokens_accel(prep.fast, toks, row, n);
    }
    final_state[b * k + j] = r.state;
    first_dead[b * k + j] = r.first_dead;
  }
}

// Where one group of up to kLanes rows writes pattern j's results.
struct GroupOut {
  int64_t k, j;
  int32_t* final_state;
  int64_t* first_dead;
  void put(int64_t b, const DfaResult& r) const {
    final_state[b * k + j] = r.state;
    first_dead[b * k + j] = r.first_dead;
  }
};

// Strategy: a full group of kLanes rows in lockstep (a prepared pattern without shortcut).
template <typename Id>
void scan_group_lockstep(const Prepared& prep, const Id* ids, const int64_t* lengths, int64_t b0,
                         int64_t max_len, const GroupOut& out) {
  const Id* rows[kLanes];
  int64_t n[kLanes];
  DfaResult r[kLanes];
  for (int g = 0; g < kLanes; ++g) {
    rows[g] = ids + (b0 + g) * max_len;
    n[g] = dfa_clamp_length(lengths[b0 + g], max_len);
  }
  dfa_scan_fast<kLanes>(prep.fast, rows, n, r);
  for (int g = 0; g < kLanes; ++g) out.put(b0 + g, r[g]);
}

// Strategy: rows one at a time, the fast step for a prepared pattern, else the checked
// scan (a pattern that failed cpu::prepare reports its exact errors).
template <typename Id>
void scan_group_rows(const DfaPattern& pat, const Prepared& prep, const Id* ids,
                     const int64_t* lengths, int64_t b0, int64_t lanes, int64_t max_len,
                     const GroupOut& out) {
  for (int64_t b = b0; b < b0 + lanes; ++b) {
    const int64_t n = dfa_clamp_length(lengths[b], max_len);
    const Id* row = ids + b * max_len;
    DfaResult r;
    if (prep.ok) {
      dfa_scan_fast<1>(prep.fast, &row, &n, &r);
    } else {
      r = dfa_scan_one(pat, row, n);
    }
    out.put(b, r);
  }
}

// Every row with every pattern: the product of the K patterns when it pays (dfa_multi.h),
// else per pattern and group of kLanes rows the shortcut (byte or token skips), lockstep,
// or rows one at a time.
template <typename Id>
void run_all(const Id* ids, const int64_t* lengths, const std::vector<DfaPattern>& pats,
             int64_t batch, int64_t max_len, int64_t grain, int32_t* final_state,
             int64_t* first_dead) {
  if constexpr (!std::is_same<Id, uint8_t>::value) {  // K patterns in one pass (dfa_multi.h)
    if (cpu::scan_multi(ids, lengths, pats, batch, max_len, final_state, first_dead)) return;
  }
  const int64_t k = static_cast<int64_t>(pats.size());
  std::vector<Prepared> prep(k);
  std::vector<ByteAccel> accel(k);
  std::vector<TokenAccel> taccel(k);
  for (int64_t j = 0; j < k; ++j) {
    prep[j] = cpu::prepare(pats[j]);
    prep[j].fast.offsets = prep[j].offsets.data();  // re-point after the move, never dangling
  }
  build_accel<Id>(pats, prep, total_tokens(lengths, batch, max_len), accel, taccel);
  const int64_t groups = (batch + kLanes - 1) / kLanes;
  at::parallel_for(0, groups, std::max<int64_t>(1, grain / kLanes), [&](int64_t g0, int64_t g1) {
    for (int64_t grp = g0; grp < g1; ++grp) {
      const int64_t b0 = grp * kLanes;
      const int64_t lanes = std::min<int64_t>(kLanes, batch - b0);
      for (int64_t j = 0; j < k; ++j) {
        const GroupOut out{k, j, final_state, first_dead};
        if (accel[j].any || taccel[j].any) {
          scan_rows_accel(prep[j], accel[j], taccel[j], ids, lengths, b0, lanes, max_len, k, j,
                          final_state, first_dead);
        } else if (prep[j].ok && lanes == kLanes) {
          scan_group_lockstep(prep[j], ids, lengths, b0, max_len, out);
        } else {
          scan_group_rows(pats[j], prep[j], ids, lengths, b0, lanes, max_len, out);
        }
      }
    }
  });
}

std::tuple<at::Tensor, at::Tensor> dfa_scan_cpu(const at::Tensor& input_ids,
                                                const at::Tensor& lengths,
                                                const at::Tensor& class_ids,
                                                const at::Tensor& tables, const at::Tensor& starts,
                                                const at::Tensor& dead, int64_t chunk) {
  DfaScanCall c = prepare_dfa_scan(input_ids, lengths, class_ids, tables, starts, dead, chunk);
  if (c.empty()) return {c.final_state, c.first_dead};
  const std::vector<DfaPattern> pats = patterns_of(c.cls, c.tab, c.starts, c.dead);
  const at::Tensor& ids = c.ids;
  const int64_t batch = c.batch, max_len = c.max_len, k = c.k;
  const int64_t* lp = c.lens.data_ptr<int64_t>();
  int32_t* fs = c.final_state.data_ptr<int32_t>();
  int64_t* fd = c.first_dead.data_ptr<int64_t>();
  if (chunk == 0) chunk = auto_chunk(batch, k, max_len);
  // A chunk longer than the rows changes nothing; the cap keeps chunk lengths in int32 and
  // the tile buffers no larger than a row.
  chunk = std::min<int64_t>(chunk, std::min<int64_t>(std::max<int64_t>(max_len, 1), 1 << 24));
  const int64_t grain = std::max<int64_t>(1, kGrainSteps / std::max<int64_t>(1, max_len * k));
  const auto run = [&](const auto* ids_ptr) {
    using Id = std::remove_cv_t<std::remove_pointer_t<decltype(ids_ptr)>>;
    if (chunk > 0) {
      run_chunked<Id>(ids_ptr, lp, pats, batch, max_len, chunk, fs, fd);
    } else {
      run_all<Id>(ids_ptr, lp, pats, batch, max_len, grain, fs, fd);
    }
  };
  AT_DISPATCH_SWITCH(ids.scalar_type(), "dfa_scan",
      AT_DISPATCH_CASE(at::kByte, [&] { run(ids.data_ptr<uint8_t>()); })
      AT_DISPATCH_CASE(at::kInt, [&] { run(ids.data_ptr<int32_t>()); })
      AT_DISPATCH_CASE(at::kLong, [&] { run(ids.data_ptr<int64_t>()); }));
  return {c.final_state, c.first_dead};
}

}  // namespace

TORCH_LIBRARY_IMPL(twinkle, CPU, m) {
  m.impl("dfa_scan", &dfa_scan_cpu);
}

}  // namespace twinkle
