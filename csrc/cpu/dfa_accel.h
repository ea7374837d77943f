// CPU-only helpers of the DFA scan, shared by the op (dfa_scan.cpp) and the string scanner
// (dfa_strings.cpp): a pattern's validated row-offset table, the byte shortcut that skips
// runs of self-loop bytes with memchr, and the token shortcut that skips runs of self-loop
// token ids with per-state bitsets. No torch headers: the string scanner is a plain
// CPython function, and a cached token program can call the token shortcut the same way.
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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

// The first position in [t, n) holding one of `cnt` exit bytes (exit(k), k < cnt), or n.
// next[e] keeps the last position found for byte e (-1: not searched yet; n: none left),
// so each is searched again only once the scan has passed it; find(e) searches from t.
template <typename Exit, typename Next, typename Find>
inline int64_t next_exit(int64_t t, int64_t n, int cnt, Exit exit, Next& next, Find find) {
  int64_t p = n;
  for (int k = 0; k < cnt; ++k) {
    const uint8_t e = exit(k);
    if (next[e] < t) next[e] = find(e);
    p = next[e] < p ? next[e] : p;
  }
  return p;
}

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
      t = next_exit(t, n, cnt, [&](int k) { return a.bytes[off][k]; }, next, [&](uint8_t e) {
        const void* q = std::memchr(row + t, e, static_cast<size_t>(n - t));
        return q ? static_cast<const uint8_t*>(q) - row : n;
      });
      if (t >= n) break;
    }
    off = f.offsets[off + f.class_ids[row[t]]];
    if (off == f.dead_off && fd < 0) fd = t;
    ++t;
  }
  return DfaResult{off / f.n_classes, fd};
}

// ---- CPU shortcut for token ids: skip runs of self-loop tokens with a bitset --------------
//
// The same idea for int32 / int64 ids over a large vocabulary (151,669 ids for Qwen3): in a
// format check a row spends ~99% of its tokens in states that only ~0.1% of the ids leave
// (those holding '<', ...). For such a state a bitset over the ids marks the ones that stay
// (a valid class that loops back); the skip loop tests 8 ids per iteration (16 with AVX2)
// with loads that do not depend on the state, where a step is a chain id -> class -> next
// state: ~0.5 ns per skipped id against ~2.5 ns per lockstep step (one thread). An id
// outside [0, V) or with a class outside [0, C) has no bit (bit V is always clear), so the
// checked step after the skip reports it exactly as dfa_fast_step does. The dead state ends
// the scan; the rest of the row is only range-checked, as dfa_scan_one does.
//
// Building the bitsets reads the whole class table (~120 us for Qwen3), so callers build
// them only when a call scans enough tokens to repay that (token_accel_pays), or keep them
// with a cached program (a TokenAccel points into nothing: it outlives the call's tensors
// as long as the pattern's class table and transitions do not change).

struct TokenAccel {
  std::vector<int32_t> set_of;  // by row offset (state * C): stay-set index, or -1: step
  std::vector<uint64_t> bits;   // n_sets * words, the stay bits of every id (bitset tier)
  int64_t words = 0;            // V / 64 + 1: bit V exists and is clear (ids clamp to V)
  std::vector<uint8_t> stay;    // n_sets * (C + 1), 1: the class stays (class tier; entry C
                                // stands for every class outside [0, C) and is 0)
  bool any = false;
};

// Two tiers. Bitsets: ~0.55 ns per skipped id but a build reads the class table. Class
// flags: the skip loop reads each id's class itself (~0.8 ns per id, the class load is one
// more independent load per id), and a build costs only a sample of the table (~10 us).

// A state is skipped when at most this share of the ids (1 / kSkipShare) leaves it: each stop
// costs a checked step and a restart of the skip loop, ~10x a skipped id.
constexpr int64_t kSkipShare = 16;
constexpr int64_t kMaxStaySets = 16;           // distinct bitsets (16 x 19 KB for Qwen3)
constexpr int64_t kMaxAccelOffsets = 1 << 22;  // set_of entries (S * C); larger: no shortcut

// When each tier pays, for one pattern's tokens in a call (the think/answer searches over
// Qwen3 ids, one thread, the op alone, a loaded 2-core Zen 3):
//   16 rows x ~1.2k ids (18k):   lockstep  46 us, class flags  34 us (a ~10 us build)
//   64 rows x ~1.2k ids (74k):   lockstep 171 us, class flags  91 us
//   64 rows x ~4.6k ids (295k):  lockstep ~680 us, bitsets ~270 us (~120 us of it the
//                                build: the 600 KB class table, read mostly from memory)
// The bitsets overtake the flags near V tokens; they start at V / 2. Below V / 32 (one
// short row: its ~11 us call) the lockstep path runs.
inline bool token_accel_pays(int64_t vocab, int64_t tokens) { return tokens >= vocab / 32; }
inline bool token_bitsets_pay(int64_t vocab, int64_t tokens) { return tokens >= vocab / 2; }

// Ids per class, estimated from kSizeSamples evenly spaced ids (out[C]: ids whose class is
// outside [0, C)): it only chooses which states get a stay set, so an estimate does, and
// ~2k reads touch a fraction of the table's cache lines (a full pass costs ~100 us).
constexpr int64_t kSizeSamples = 2048;

inline std::vector<int64_t> class_sizes(const DfaFastPattern& f) {
  std::vector<int64_t> size(f.n_classes + 1, 0);
  const uint32_t c = static_cast<uint32_t>(f.n_classes);
  const int64_t stride = std::max<int64_t>(1, f.vocab / kSizeSamples);
  for (int64_t i = 0; i < f.vocab; i += stride) {
    const uint32_t k = static_cast<uint32_t>(f.class_ids[i]);
    size[k < c ? k : c] += stride;
  }
  return size;
}

// The leave mask of each skipped state (by class, entry C: bad classes) and its set index;
// states with equal masks share a bitset. Returns the masks, one per set.
inline std::vector<std::vector<uint8_t>> stay_sets(const DfaFastPattern& f, int64_t n_states,
                                                   TokenAccel& a) {
  const int64_t c = f.n_classes;
  const std::vector<int64_t> size = class_sizes(f);
  std::vector<std::pair<int64_t, int64_t>> cand;  // (ids leaving, state)
  for (int64_t s = 0; s < n_states; ++s) {
    const int32_t off = static_cast<int32_t>(s * c);
    if (off == f.dead_off) continue;
    int64_t leave = size[c];
    for (int64_t j = 0; j < c; ++j) leave += f.offsets[off + j] != off ? size[j] : 0;
    if (leave * kSkipShare <= f.vocab) cand.push_back({leave, s});
  }
  std::sort(cand.begin(), cand.end());
  std::vector<std::vector<uint8_t>> masks;
  for (const auto& [leave, s] : cand) {
    const int32_t off = static_cast<int32_t>(s * c);
    std::vector<uint8_t> m(c + 1, 1);
    for (int64_t j = 0; j < c; ++j) m[j] = f.offsets[off + j] != off;
    auto it = std::find(masks.begin(), masks.end(), m);
    if (it == masks.end() && static_cast<int64_t>(masks.size()) == kMaxStaySets) continue;
    if (it == masks.end()) it = masks.insert(masks.end(), m);
    a.set_of[off] = static_cast<int32_t>(it - masks.begin());
  }
  return masks;
}

// Ids i in [i, v) whose class (C for one outside [0, C)) has leaves[class] set, appended.
inline void leaving_ids_scalar(const int32_t* cls, int64_t i, int64_t v, const int32_t* leaves,
                               uint32_t c, std::vector<int64_t>& out) {
  for (; i < v; ++i) {
    const uint32_t k = static_cast<uint32_t>(cls[i]);
    if (leaves[k < c ? k : c]) out.push_back(i);
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// Eight classes per gather from the (C + 1)-entry table; this pass is most of a build
// (Qwen3's 151,669 ids: ~80 us, the scalar loop ~100 us, on a loaded 2-core Zen 3).
__attribute__((target("avx2"))) inline void leaving_ids_avx2(const int32_t* cls, int64_t v,
                                                             const int32_t* leaves, uint32_t c,
                                                             std::vector<int64_t>& out) {
  const __m256i cc = _mm256_set1_epi32(static_cast<int>(c));
  int64_t i = 0;
  for (; i + 8 <= v; i += 8) {
    const __m256i k = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cls + i));
    const __m256i l = _mm256_i32gather_epi32(leaves, _mm256_min_epu32(k, cc), 4);
    for (int m = _mm256_movemask_ps(_mm256_castsi256_ps(l)); m; m &= m - 1) {
      out.push_back(i + __builtin_ctz(m));
    }
  }
  leaving_ids_scalar(cls, i, v, leaves, c, out);
}
#endif

// Whether the AVX2 paths run: the CPU has AVX2 and TWINKLE_NO_AVX2 is not set (the
// tests set it to run the paths other CPUs take, with the same results).
inline bool cpu_has_avx2() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has = __builtin_cpu_supports("avx2") && std::getenv("TWINKLE_NO_AVX2") == nullptr;
  return has;
#else
  return false;
#endif
}

// Sets every id's stay bit in each set, then clears the bits of the ids that leave (rare by
// construction: one pass over the class table collects them).
inline void fill_stay_bits(const DfaFastPattern& f, const std::vector<std::vector<uint8_t>>& masks,
                           TokenAccel& a) {
  const int64_t c = f.n_classes, v = f.vocab, n_sets = static_cast<int64_t>(masks.size());
  std::vector<int32_t> leaves_any(c + 1, 0);  // -1 (all bits: the gather's sign mask) or 0
  for (const auto& m : masks) {
    for (int64_t j = 0; j <= c; ++j) leaves_any[j] |= m[j] ? -1 : 0;
  }
  a.bits.assign(n_sets * a.words, 0);
  for (int64_t k = 0; k < n_sets; ++k) {
    uint64_t* b = a.bits.data() + k * a.words;
    std::fill(b, b + v / 64, ~uint64_t{0});
    if (v % 64) b[v / 64] = (uint64_t{1} << (v % 64)) - 1;
  }
  std::vector<int64_t> leaving;
  const uint32_t cu = static_cast<uint32_t>(c);
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_avx2() && c < INT32_MAX) {
    leaving_ids_avx2(f.class_ids, v, leaves_any.data(), cu, leaving);
  } else
#endif
  {
    leaving_ids_scalar(f.class_ids, 0, v, leaves_any.data(), cu, leaving);
  }
  for (const int64_t i : leaving) {
    const uint32_t k = static_cast<uint32_t>(f.class_ids[i]);
    const uint32_t j = k < cu ? k : cu;
    for (int64_t s = 0; s < n_sets; ++s) {
      if (masks[s][j]) a.bits[s * a.words + i / 64] &= ~(uint64_t{1} << (i % 64));
    }
  }
}

// Class flags of each set: 1 where the class stays (the masks hold 1 where it leaves).
inline void fill_stay_classes(const std::vector<std::vector<uint8_t>>& masks, TokenAccel& a) {
  for (const auto& m : masks) {
    for (const uint8_t leaves : m) a.stay.push_back(!leaves);
  }
}

// The shortcut of a prepared pattern: bitsets (a pass over the class table; for calls or
// cached programs that scan >= V / 2 tokens) or class flags. `any` is false when no state
// is worth skipping or the pattern is not prepared.
inline TokenAccel token_accel(const Prepared& prep, int64_t n_states, bool bitsets) {
  TokenAccel a;
  const DfaFastPattern& f = prep.fast;
  if (!prep.ok || n_states * f.n_classes > kMaxAccelOffsets) return a;
  a.set_of.assign(n_states * f.n_classes, -1);
  const std::vector<std::vector<uint8_t>> masks = stay_sets(f, n_states, a);
  if (masks.empty()) return a;
  if (bitsets) {
    a.words = f.vocab / 64 + 1;
    fill_stay_bits(f, masks, a);
  } else {
    fill_stay_classes(masks, a);
  }
  a.any = true;
  return a;
}

// Bit 0 of the result: id stays (ids outside [0, V) read bit V, which is clear).
template <typename Id>
inline uint64_t stay_bit(const uint64_t* bits, uint64_t vocab, Id id) {
  uint64_t u = static_cast<uint64_t>(static_cast<int64_t>(id));
  u = u < vocab ? u : vocab;
  return bits[u >> 6] >> (u & 63);
}

// First index in [t, n) whose id does not stay, or n. Eight ids per test: their loads are
// independent, and the AND of their bits takes one branch per eight.
// Ids ahead that the skip loops prefetch: a row crosses a 4 KB page every 512 int64 ids,
// where the hardware prefetcher stops; 1 KB ahead keeps int64 rows near the read bandwidth
// (64 and 256 were slower on a 2-core Zen 3).
constexpr int64_t kPrefetchIds = 128;

// The first of eight ids that leaves (their stay bits read again, without a branch each:
// a loop that tested them one by one mispredicted at every stop).
template <typename Id>
inline int64_t first_leaving_of_eight(const uint64_t* bits, uint64_t vocab, const Id* r) {
  uint32_t stay = 0;
  for (int x = 0; x < 8; ++x) stay |= static_cast<uint32_t>(stay_bit(bits, vocab, r[x]) & 1) << x;
  return __builtin_ctz(~stay);
}

template <typename Id>
inline int64_t skip_stays_scalar(const uint64_t* bits, uint64_t vocab, const Id* row, int64_t t,
                                 int64_t n) {
  for (; t + 8 <= n; t += 8) {
    const Id* r = row + t;
    __builtin_prefetch(r + kPrefetchIds);
    const uint64_t all = stay_bit(bits, vocab, r[0]) & stay_bit(bits, vocab, r[1]) &
                         stay_bit(bits, vocab, r[2]) & stay_bit(bits, vocab, r[3]) &
                         stay_bit(bits, vocab, r[4]) & stay_bit(bits, vocab, r[5]) &
                         stay_bit(bits, vocab, r[6]) & stay_bit(bits, vocab, r[7]);
    if (!(all & 1)) return t + first_leaving_of_eight(bits, vocab, r);
  }
  for (; t < n; ++t) {
    if (!(stay_bit(bits, vocab, row[t]) & 1)) return t;
  }
  return n;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define TWINKLE_TOKEN_SKIP_AVX2 1
// Eight int32 ids clamped to V (negative ids read as huge), one gather of their 32-bit bit
// words, one variable shift: bit 0 of each lane is the id's stay bit. x86 is little-endian,
// so bit i of the 64-bit words is bit i % 32 of 32-bit word i / 32.
__attribute__((target("avx2"))) inline __m256i eight_stay_bits(const int* words, const int32_t* p,
                                                               __m256i v) {
  const __m256i id =
      _mm256_min_epu32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), v);
  const __m256i w = _mm256_i32gather_epi32(words, _mm256_srli_epi32(id, 5), 4);
  return _mm256_srlv_epi32(w, _mm256_and_si256(id, _mm256_set1_epi32(31)));
}

// int32 ids with AVX2 (chosen at run time; the library is built for baseline x86-64): 16
// ids per test, 0.46 ns per id on Zen 3 against 0.67 for the scalar loop (one thread, ids
// in cache). For int64 ids the packing to 32-bit lanes ate the gain (0.62 vs 0.56 ns), so
// they take the scalar loop.
__attribute__((target("avx2"))) inline int64_t skip_stays_avx2(const uint64_t* bits,
                                                               uint64_t vocab,
                                                               const int32_t* row, int64_t t,
                                                               int64_t n) {
  const int* words = reinterpret_cast<const int*>(bits);
  const __m256i v = _mm256_set1_epi32(static_cast<int>(vocab));
  for (; t + 16 <= n; t += 16) {
    const __m256i a = eight_stay_bits(words, row + t, v);
    const __m256i b = eight_stay_bits(words, row + t + 8, v);
    if (!_mm256_testc_si256(_mm256_and_si256(a, b), _mm256_set1_epi32(1))) {  // some bit 0 clear
      // Bit 0 of each lane to its sign bit: the lanes' stay bits, the first clear one leaves.
      const uint32_t stay =
          static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(a, 31)))) |
          static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(b, 31))))
              << 8;
      return t + __builtin_ctz(~stay);
    }
  }
  return skip_stays_scalar(bits, vocab, row, t, n);
}
#endif

template <typename Id>
inline int64_t skip_stays(const uint64_t* bits, uint64_t vocab, const Id* row, int64_t t,
                          int64_t n) {
#ifdef TWINKLE_TOKEN_SKIP_AVX2
  // 32-bit lanes: V must fit (V < 2^31; every real vocabulary does).
  if constexpr (std::is_same<Id, int32_t>::value) {
    if (vocab < (uint64_t{1} << 31) && cpu_has_avx2()) {
      return skip_stays_avx2(bits, vocab, row, t, n);
    }
  }
#endif
  return skip_stays_scalar(bits, vocab, row, t, n);
}

// Class tier: first index in [t, n) whose id is outside [0, V) or whose class (clamped to
// C, whose flag is 0) does not stay, or n. Eight ids per test, as skip_stays_scalar.
template <typename Id>
inline int64_t skip_stay_classes(const int32_t* cls, const uint8_t* stay, uint64_t vocab,
                                 uint32_t c, const Id* row, int64_t t, int64_t n) {
  for (; t + 8 <= n; t += 8) {
    uint32_t all = 1;
    uint64_t bad = 0;
    for (int x = 0; x < 8; ++x) {
      const uint64_t u = static_cast<uint64_t>(static_cast<int64_t>(row[t + x]));
      bad |= u >= vocab;
      const uint32_t k = static_cast<uint32_t>(cls[u < vocab ? u : 0]);
      all &= stay[k < c ? k : c];
    }
    if (!all || bad) break;
  }
  for (; t < n; ++t) {
    const uint64_t u = static_cast<uint64_t>(static_cast<int64_t>(row[t]));
    if (u >= vocab) return t;
    const uint32_t k = static_cast<uint32_t>(cls[u]);
    if (!stay[k < c ? k : c]) return t;
  }
  return n;
}

// First index in [t, n) with an id outside [0, V), or n (the tail after the dead state).
template <typename Id>
inline int64_t first_bad_id(uint64_t vocab, const Id* row, int64_t t, int64_t n) {
  for (; t + 16 <= n; t += 16) {
    bool bad = false;
    for (int x = 0; x < 16; ++x) bad |= static_cast<uint64_t>(static_cast<int64_t>(row[t + x])) >= vocab;
    if (bad) break;
  }
  for (; t < n; ++t) {
    if (static_cast<uint64_t>(static_cast<int64_t>(row[t])) >= vocab) return t;
  }
  return n;
}

// One row; equals dfa_scan_one's result (and dfa_scan_fast's) for a prepared pattern.
template <typename Id>
inline DfaResult scan_tokens_accel(const DfaFastPattern& f, const TokenAccel& a, const Id* row,
                                   int64_t n) {
  const uint64_t vocab = static_cast<uint64_t>(f.vocab);
  int32_t off = f.start_off;
  int64_t t = 0;
  // The dead state has no bitset: a dead start takes the checked step on its first token
  // (which reads its class, as dfa_fast_step does) and leaves the loop there.
  for (;; ++t) {
    const int32_t set = a.set_of[off];
    if (set >= 0) t = a.words ? skip_stays(a.bits.data() + set * a.words, vocab, row, t, n)
                              : skip_stay_classes(f.class_ids, a.stay.data() + set * (f.n_classes + 1),
                                                  vocab, static_cast<uint32_t>(f.n_classes), row,
                                                  t, n);
    if (t >= n) return DfaResult{off / f.n_classes, -1};
    const uint64_t i = static_cast<uint64_t>(static_cast<int64_t>(row[t]));
    if (i >= vocab) return DfaResult{kDfaBadId, t};
    const uint32_t c = static_cast<uint32_t>(f.class_ids[i]);
    if (c >= static_cast<uint32_t>(f.n_classes)) return DfaResult{kDfaBadTable, t};
    off = f.offsets[off + c];
    if (off == f.dead_off) break;
  }
  // Dead after token t: the state is final, only the remaining ids' range is checked.
  const int64_t bad = first_bad_id(vocab, row, t + 1, n);
  return bad < n ? DfaResult{kDfaBadId, bad} : DfaResult{off / f.n_classes, t};
}

}  // namespace cpu
}  // namespace twinkle
