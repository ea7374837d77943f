// CPU-only helpers of the DFA scan, shared by the op (dfa_scan.cpp) and the string scanner
// (dfa_strings.cpp): a pattern's validated row-offset table, and the byte shortcut that
// skips runs of self-loop bytes with memchr. No torch headers: the string scanner is a
// plain CPython function.
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

#include "twinkle/dfa_scan.h"

namespace twinkle {
namespace cpu {

// Row-offset tables of the patterns that pass every check (see dfa_scan.h's fast path);
// empty for a pattern that does not, which then takes the checked path and reports its
// errors exactly. Class ids are checked here only for the first 256 ids (the bytes the
// byte shortcut and the string scanner read unchecked); the fast step checks the class of
// every other id it reads, so a call costs no pass over a 150k-id vocabulary (that pass
// was most of the op's fixed cost: ~140 us of a ~150 us call on one short row).
struct Prepared {
  std::vector<int32_t> offsets;
  DfaFastPattern fast;
  bool ok = false;
};

inline Prepared prepare(const DfaPattern& p) {
  Prepared out;
  const int64_t s = p.n_states, c = p.n_classes;
  if (p.start < 0 || p.start >= s || s * c > INT32_MAX) return out;
  for (int64_t i = 0; i < std::min<int64_t>(p.vocab, 256); ++i) {
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

inline ByteAccel byte_accel(const Prepared& prep, int64_t n_states) {
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

inline DfaResult scan_bytes_accel(const DfaFastPattern& f, const ByteAccel& a, const uint8_t* row,
                           int64_t n) {
  int32_t off = f.start_off;
  // A dead start never steps below (no byte leaves the dead state), so its position 0 is
  // recorded here, as the stepping paths record it on the first token.
  int64_t fd = dfa_start_first_dead(f.start_off, f.dead_off, n);
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

}  // namespace cpu
}  // namespace twinkle
