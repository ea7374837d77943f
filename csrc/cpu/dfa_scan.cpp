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

#include "dfa_checks.h"
#include "twinkle/dfa_scan.h"

namespace twinkle {
namespace {

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

// Row-offset tables of the patterns that pass every check (see dfa_scan.h's fast path);
// empty for a pattern that does not, which then takes the checked path and reports its
// errors exactly.
struct Prepared {
  std::vector<int32_t> offsets;
  DfaFastPattern fast;
  bool ok = false;
};

Prepared prepare(const DfaPattern& p) {
  Prepared out;
  const int64_t s = p.n_states, c = p.n_classes;
  if (p.start < 0 || p.start >= s || s * c > INT32_MAX) return out;
  for (int64_t i = 0; i < p.vocab; ++i) {
    if (p.class_ids[i] < 0 || p.class_ids[i] >= c) return out;
  }
  out.offsets.resize(s * c);
  for (int64_t i = 0; i < s * c; ++i) {
    const int32_t next = p.table[i];
    if (next < 0 || next >= s) return out;
    out.offsets[i] = static_cast<int32_t>(next * c);
  }
  if (p.dead >= 0) {
    for (int64_t j = 0; j < c; ++j) {
      if (p.table[p.dead * c + j] != p.dead) return out;  // not a sink: the checked path
    }
  }
  out.fast = DfaFastPattern{p.class_ids, out.offsets.data(), p.vocab, static_cast<int32_t>(c),
                            static_cast<int32_t>(p.start * c),
                            p.dead >= 0 ? static_cast<int32_t>(p.dead * c) : -1};
  out.ok = true;
  return out;
}

// ---- CPU shortcut for byte input: skip runs of self-loop bytes with memchr ----------------
//
// In a format check the DFA spends most of a text in a few states that only a handful of
// bytes can leave ("inside <think>, waiting for '<'"). For a state left by at most three
// byte values, the scan jumps to the next occurrence of one of them with memchr (SIMD in
// libc) instead of stepping byte by byte; a state no byte leaves (the dead state, or an
// accepting sink of a search) ends the scan. Results equal dfa_scan_one's (the op tests
// compare both with the reference). Only for uint8 ids with V >= 256, where no id is bad.

constexpr int kMaxEscapes = 3;

struct ByteAccel {
  // Indexed by row offset (state * C): escape count (0..3, or -1: step normally) and bytes.
  std::vector<int8_t> count;
  std::vector<std::array<uint8_t, kMaxEscapes>> bytes;
  bool any = false;
};

ByteAccel byte_accel(const Prepared& prep, int64_t n_states) {
  ByteAccel a;
  const DfaFastPattern& f = prep.fast;
  const int64_t c = f.n_classes;
  a.count.assign(n_states * c, -1);
  a.bytes.resize(n_states * c);
  for (int64_t s = 0; s < n_states; ++s) {
    const int32_t off = static_cast<int32_t>(s * c);
    int cnt = 0;
    for (int b = 0; b < 256 && cnt <= kMaxEscapes; ++b) {
      if (f.offsets[off + f.class_ids[b]] != off) {
        if (cnt < kMaxEscapes) a.bytes[off][cnt] = static_cast<uint8_t>(b);
        ++cnt;
      }
    }
    if (cnt <= kMaxEscapes) {
      a.count[off] = static_cast<int8_t>(cnt);
      a.any = true;
    }
  }
  return a;
}

DfaResult scan_bytes_accel(const DfaFastPattern& f, const ByteAccel& a, const uint8_t* row,
                           int64_t n) {
  int32_t off = f.start_off;
  int64_t fd = -1;
  // Next occurrence of each byte at or after the position it was searched from (-1: not yet
  // searched; n: none left). Each memchr result is reused until the scan passes it.
  std::array<int64_t, 256> next;
  next.fill(-1);
  int64_t t = 0;
  while (t < n) {
    const int cnt = a.count[off];
    if (cnt == 0) break;  // no byte leaves this state
    if (cnt > 0) {
      int64_t p = n;
      for (int k = 0; k < cnt; ++k) {
        const uint8_t e = a.bytes[off][k];
        if (next[e] < t) {
          const void* q = std::memchr(row + t, e, static_cast<size_t>(n - t));
          next[e] = q ? static_cast<const uint8_t*>(q) - row : n;
        }
        p = next[e] < p ? next[e] : p;
      }
      t = p;
      if (t >= n) break;
    }
    off = f.offsets[off + f.class_ids[row[t]]];
    if (off == f.dead_off && fd < 0) fd = t;
    ++t;
  }
  return DfaResult{off / f.n_classes, fd};
}

template <typename Id>
void run_all(const Id* ids, const int64_t* lengths, const std::vector<DfaPattern>& pats,
             int64_t batch, int64_t max_len, int64_t grain, int32_t* final_state,
             int64_t* first_dead) {
  const int64_t k = static_cast<int64_t>(pats.size());
  std::vector<Prepared> prep(k);
  std::vector<ByteAccel> accel(k);
  for (int64_t j = 0; j < k; ++j) {
    prep[j] = prepare(pats[j]);
    prep[j].fast.offsets = prep[j].offsets.data();  // re-point after the move, never dangling
    if (std::is_same<Id, uint8_t>::value && prep[j].ok && pats[j].vocab >= 256) {
      accel[j] = byte_accel(prep[j], pats[j].n_states);
    }
  }
  const int64_t groups = (batch + kLanes - 1) / kLanes;
  at::parallel_for(0, groups, std::max<int64_t>(1, grain / kLanes), [&](int64_t g0, int64_t g1) {
    for (int64_t grp = g0; grp < g1; ++grp) {
      const int64_t b0 = grp * kLanes;
      const int64_t lanes = std::min<int64_t>(kLanes, batch - b0);
      for (int64_t j = 0; j < k; ++j) {
        if constexpr (std::is_same<Id, uint8_t>::value) {
          if (accel[j].any) {
            for (int64_t b = b0; b < b0 + lanes; ++b) {
              const DfaResult r = scan_bytes_accel(prep[j].fast, accel[j], ids + b * max_len,
                                                   dfa_clamp_length(lengths[b], max_len));
              final_state[b * k + j] = r.state;
              first_dead[b * k + j] = r.first_dead;
            }
            continue;
          }
        }
        if (prep[j].ok && lanes == kLanes) {
          const Id* rows[kLanes];
          int64_t n[kLanes];
          DfaResult r[kLanes];
          for (int g = 0; g < kLanes; ++g) {
            rows[g] = ids + (b0 + g) * max_len;
            n[g] = dfa_clamp_length(lengths[b0 + g], max_len);
          }
          dfa_scan_fast<kLanes>(prep[j].fast, rows, n, r);
          for (int g = 0; g < kLanes; ++g) {
            final_state[(b0 + g) * k + j] = r[g].state;
            first_dead[(b0 + g) * k + j] = r[g].first_dead;
          }
          continue;
        }
        for (int64_t b = b0; b < b0 + lanes; ++b) {
          const int64_t n = dfa_clamp_length(lengths[b], max_len);
          DfaResult r;
          if (prep[j].ok) {
            const Id* row = ids + b * max_len;
            dfa_scan_fast<1>(prep[j].fast, &row, &n, &r);
          } else {
            r = dfa_scan_one(pats[j], ids + b * max_len, n);
          }
          final_state[b * k + j] = r.state;
          first_dead[b * k + j] = r.first_dead;
        }
      }
    }
  });
}

std::tuple<at::Tensor, at::Tensor> dfa_scan_cpu(const at::Tensor& input_ids,
                                                const at::Tensor& lengths,
                                                const at::Tensor& class_ids,
                                                const at::Tensor& tables, const at::Tensor& starts,
                                                const at::Tensor& dead) {
  DfaScanCall c = prepare_dfa_scan(input_ids, lengths, class_ids, tables, starts, dead);
  if (c.empty()) return {c.final_state, c.first_dead};
  const std::vector<DfaPattern> pats = patterns_of(c.cls, c.tab, c.starts, c.dead);
  const at::Tensor& ids = c.ids;
  const int64_t batch = c.batch, max_len = c.max_len, k = c.k;
  const int64_t* lp = c.lens.data_ptr<int64_t>();
  int32_t* fs = c.final_state.data_ptr<int32_t>();
  int64_t* fd = c.first_dead.data_ptr<int64_t>();
  const int64_t grain = std::max<int64_t>(1, kGrainSteps / std::max<int64_t>(1, max_len * k));
  AT_DISPATCH_SWITCH(ids.scalar_type(), "dfa_scan",
      AT_DISPATCH_CASE(at::kByte, [&] {
        run_all<uint8_t>(ids.data_ptr<uint8_t>(), lp, pats, batch, max_len, grain, fs, fd);
      }) AT_DISPATCH_CASE(at::kInt, [&] {
        run_all<int32_t>(ids.data_ptr<int32_t>(), lp, pats, batch, max_len, grain, fs, fd);
      }) AT_DISPATCH_CASE(at::kLong, [&] {
        run_all<int64_t>(ids.data_ptr<int64_t>(), lp, pats, batch, max_len, grain, fs, fd);
      }));
  return {c.final_state, c.first_dead};
}

}  // namespace

TORCH_LIBRARY_IMPL(twinkle, CPU, m) {
  m.impl("dfa_scan", &dfa_scan_cpu);
}

}  // namespace twinkle
