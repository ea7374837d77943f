// The string path of the byte DFAs: scans Python str objects where they lie, without
// encoding them first.
//
// Encoding a batch to UTF-8 and padding it into a tensor cost 20x the scan itself (about
// 20 ms against 1 ms for 4096 texts of ~4,400 characters on a 2-core host), so this scanner
// reads each string's own storage (CPython's compact representation: 1, 2 or 4 bytes per
// code point) and feeds the byte DFA the UTF-8 bytes of each code point as it goes. The
// bytes and positions are exactly those of ``text.encode('utf-8')`` with a lone surrogate
// read as U+FFFD (twinkle.reward.format.pad_texts), so results equal the op's on
// pad_texts' output (tests/reward/test_format_strings.py checks it against that and `re`).
//
// Invariants:
//  * A program holds K byte patterns (V >= 256 classes ids, every table entry valid: the
//    patterns twinkle.dfa compiles); building one copies the tables.
//  * first_dead is a byte offset into the text's UTF-8 encoding, as the op reports it.
//  * The GIL is released while scanning; the strings are kept alive by a reference each.
//  * With 2 <= K <= 64 patterns a text is scanned once, through a lazy product of the K
//    DFAs (dfa_multi.h) kept in the program; the results equal each pattern's scan alone.
//    A one-pattern program moves to the same product (of one) once its scans show text
//    leaving its states every few units (one_lanes), with the same results.
//  * A program may hold a literal filter (LiteralFilter): with `filtered` set, a pattern
//    that cannot die is not scanned on a text that lacks all its factors, or is scanned
//    from a later unit where no match can start earlier, or only around its factors
//    (Attempts). Acceptance and first-dead offsets are the exact scan's; only such a
//    pattern's final state may differ.
#include <Python.h>

#include <ATen/Parallel.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <cwchar>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "dfa_accel.h"
#include "dfa_multi.h"
#include "dfa_strings.h"
#include "py_buffer.h"

namespace twinkle {
namespace {

using cpu::Prepared;

constexpr const char* kCapsule = "twinkle.byte_program";
constexpr const char* kWho = "dfa string scan";

// Per state of one pattern: its ASCII exit bytes (count by row offset, -1 past
// kMaxUnitEscapes: the scan steps) and the code points above ASCII that can leave it
// (cpu::high_range). A scan jumps to the next unit that is an ASCII exit or such a code
// point. As many exit bytes as a product state keeps.
constexpr int kMaxUnitEscapes = cpu::ProductDfa::kMaxByteEscapes;

struct UnitAccel {
  std::vector<int8_t> count;                                  // by row offset
  std::vector<std::array<uint8_t, kMaxUnitEscapes>> bytes;   // by state
  std::vector<std::array<uint8_t, 16>> table;                 // by state: the bytes' set
  std::vector<cpu::HighRange> high;                           // by state
  bool any = false;                                           // some count >= 0
};

UnitAccel unit_accel(const DfaFastPattern& f, int64_t n_states) {
  UnitAccel a;
  const int64_t c = f.n_classes;
  a.count.assign(n_states * c, -1);
  a.bytes.resize(n_states);
  a.table.assign(n_states, {});
  a.high.assign(n_states, cpu::HighRange{});
  for (int64_t st = 0; st < n_states; ++st) {
    const int32_t off = static_cast<int32_t>(st * c);
    int cnt = 0;
    for (int b = 0; b < 0x80 && cnt <= kMaxUnitEscapes; ++b) {
      if (f.offsets[off + f.class_ids[b]] == off) continue;
      if (cnt < kMaxUnitEscapes) a.bytes[st][cnt] = static_cast<uint8_t>(b);
      cpu::exit_table_add(a.table[st].data(), static_cast<uint8_t>(b));
      ++cnt;
    }
    a.high[st] = cpu::high_range([&](uint8_t b) { return f.offsets[off + f.class_ids[b]] != off; });
    if (cnt <= kMaxUnitEscapes) {
      a.count[off] = static_cast<int8_t>(cnt);
      a.any = true;
    }
  }
  return a;
}

// ---- the literal filter's data (its scan is further down) --------------------------------
//
// Per pattern, factors one of which its every match holds (twinkle.dfa.literals): a factor
// is a few positions, each a set of at most kFactorSet code points. A text holding none of
// a pattern's factors cannot match it; when that pattern also can never die (its dead state
// is out of reach, which the caller checks), its results on that text are known without a
// scan: not accepted, never dead. All factors are found in one pass (FactorScan), as
// Hyperscan's Teddy matcher does: up to four positions of each factor (its window) are
// tested in byte shuffles against nibble tables, 32 or 64 units a step, factors sharing
// eight buckets, and a hit is checked against the factor's code points.
constexpr int kFactorSet = 8;   // code points per position
constexpr int kMaxFactors = 64;  // one bit each
constexpr int kBuckets = 8;
constexpr int kMinWindow = 3;   // positions a factor has at least
// Positions of a factor in the shuffles, at most: each costs ~8 instructions per 32 units,
// and past four the fewer false hits on the benchmark patterns did not pay for them.
constexpr int kMaxWindow = 4;

struct Factor {
  int len = 0, at = 0;  // positions; the window's first position
  int width = 0;        // positions in the window: min(kMaxWindow, len - at)
  std::vector<std::array<uint32_t, kFactorSet>> cps;
  std::vector<uint8_t> count;  // code points per position
  // A test of its first eight positions in one-byte storage, read as one word: a position
  // of one code point below 0x100 is that byte, one of a letter in both cases that byte
  // less its case bit, any other any byte (mask 0). A hit whose word fails it is no factor.
  uint64_t word_mask = 0, word_value = 0;
  // The same test of its first four positions in two-byte storage (a code point below
  // 0x10000, or an ASCII letter in both cases).
  uint64_t word16_mask = 0, word16_value = 0;
};

struct LiteralFilter {
  std::vector<Factor> factors;
  std::vector<uint64_t> of_pattern;  // per pattern: its factors' bits (0: not filtered)
  std::vector<uint64_t> serves;      // per factor: the patterns it rules in
  std::vector<int32_t> reject;       // per pattern: the state reported where ruled out
  uint64_t filtered = 0;             // the patterns with factors
  uint64_t leading = 0;              // those whose every match starts with one of them
  uint64_t after_run = 0;            // those whose every match is a run of one class, then one
  // Those of leading or after_run scanned in attempts, one around each window hit (with no
  // assertion, search mode: see Attempts).
  uint64_t attempt = 0;
  std::vector<int> max_at;           // per pattern: its factors' largest window start
  // Per pattern of after_run: the run's class, ASCII members by bit, and its members above
  // ASCII as sorted disjoint ranges [lo, hi].
  std::vector<std::array<uint64_t, 2>> run_ascii;
  std::vector<std::vector<std::array<uint32_t, 2>>> run_high;
  uint64_t in_bucket[kBuckets] = {};  // the factors of each bucket
  // Window position p: bucket bits of the bytes whose low (high) nibble is the index; a
  // unit above 0xFF is read as the byte 0xFF. A bucket's bits are set throughout past the
  // width of its factors' windows.
  int window = kMinWindow;  // positions tested: the widest window
  alignas(16) uint8_t lo[kMaxWindow][16] = {};
  alignas(16) uint8_t hi[kMaxWindow][16] = {};
};

// Whether a program's filter pays depends on its texts: a pass over each text costs about
// a tenth of a nanosecond a unit for one-byte storage and more for wider units (narrowing
// them reads 2 or 4 bytes a unit), and it saves the stepping of the patterns it rules out
// only where the patterns left do not step anyway. So the scanner measures it: calls of at
// least kChoiceUnits units are taken in pairs, one call with the filter and the next
// without (the other way round every other pair), and after kChoicePairs pairs the filter
// is kept when the median of the pairs' ratios of nanoseconds a unit favours it. Calls
// next to each other see the host in the same state, so a pair's ratio holds where a busy
// host makes single times swing by half. Every kChoiceReview calls the pairs are taken
// again, for texts that change. Results are the same either way.
//
// A program's first large calls build the lazy product states of both ways (the products
// of the patterns each text leaves after the filter, and the product of all of them), and
// a call that builds costs up to twice a call that does not: timed from the first call, a
// pair's ratio read 0.52-0.63 where the ratio once built was 1.2-1.3 (16 patterns on the
// benchmark's synthetic completions), and 2 of 4 fresh programs chose wrong there. So the
// first kChoiceWarm large calls each way are not timed.
//
// Half of a review's calls go the slower way, which can be several times slower: 16
// patterns on Chinese text took 14 ms a call without the filter against 2.4 ms with it,
// so reviews every 128 calls added ~17% to the average call. A review that keeps the
// choice by a wide margin (the median ratio below 1/kChoiceMargin or above kChoiceMargin)
// doubles the calls to the next one, up to kChoiceReviewMax; any other review, and the
// first choice, set it back to kChoiceReview.
struct FilterChoice {
  static constexpr int64_t kChoiceUnits = int64_t{1} << 16;
  static constexpr int kChoiceWarm = 2;
  static constexpr int kChoicePairs = 5;
  static constexpr int64_t kChoiceReview = 128;
  static constexpr int64_t kChoiceReviewMax = 4096;
  static constexpr double kChoiceMargin = 2.0;

  // Whether a call of `units` units uses the filter; `sample` is set when its time counts.
  bool use(int64_t units, bool& sample) {
    std::lock_guard<std::mutex> lock(mu);
    sample = false;
    if (!adapt) return true;
    if (units < kChoiceUnits) return on;
    if (warm < 2 * kChoiceWarm) return warm++ % 2 == 0;  // with the filter, then without
    if (pairs == kChoicePairs) {
      if (++calls < review) return on;
      calls = 0;
      pairs = 0;
    }
    sample = true;
    // Even pairs filter first, odd ones second: a program's first calls build its product
    // states, which would favour whichever way a pair's second call goes.
    return half == (pairs % 2 == 1);
  }

  // A sampled call's time; `threads`: the intra-op threads it ran on. A pair's two calls
  // must have had the same: a caller that alternates thread counts on one reward (a
  // benchmark timing it on one thread and on all) otherwise pairs a call on one thread
  // with a call on two, and the choice follows the thread counts.
  void record(bool filtered, double ns_per_unit, int threads) {
    std::lock_guard<std::mutex> lock(mu);
    if (pairs == kChoicePairs) return;  // a sample that finished after the choice
    if (!half) {
      first = ns_per_unit;
      first_filtered = filtered;
      first_threads = threads;
      half = true;
      return;
    }
    if (threads != first_threads) {  // no pair: the next call starts this one again
      half = false;
      return;
    }
    if (filtered == first_filtered) return;  // another thread's call: wait for the other way
    half = false;
    ratio[pairs++] = filtered ? ns_per_unit / std::max(first, 1e-9) : first / std::max(ns_per_unit, 1e-9);
    if (pairs == kChoicePairs) {
      std::array<double, kChoicePairs> r = ratio;
      std::sort(r.begin(), r.end());
      const double m = r[kChoicePairs / 2];
      const bool wide = m < 1.0 / kChoiceMargin || m > kChoiceMargin;
      review = decided && (m < 1.0) == on && wide ? std::min(2 * review, kChoiceReviewMax) : kChoiceReview;
      on = m < 1.0;
      decided = true;
    }
  }

  bool adapt = true;  // false: always filter
  std::mutex mu;
  bool on = true;
  bool decided = false;  // a choice has been made
  int warm = 0;  // large calls not timed so far
  int64_t calls = 0;  // large calls since the choice
  int64_t review = kChoiceReview;  // large calls from a choice to its review
  int pairs = 0;
  bool half = false;  // the pair's first call is in
  bool first_filtered = false;
  int first_threads = 0;
  double first = 0;  // its ns a unit
  std::array<double, kChoicePairs> ratio{};  // filtered / not, per pair
};

struct ByteProgram {
  int64_t k = 0;
  cpu::OwnedPatterns pats;  // owned copies, prepared
  std::vector<UnitAccel> accel;  // per pattern
  // K <= kMaxProduct: lazy product DFAs over the K patterns, kept across calls so the
  // states a batch discovered serve the next one. One pattern goes through it too once its
  // scans have shown that text leaves its states every few units (one_lanes): four texts
  // in lockstep then step faster than one text's jumps.
  std::unique_ptr<cpu::ProductPool> product;
  std::atomic<int64_t> one_units{0}, one_stops{0};
  std::atomic<bool> one_lanes{false};
  int64_t budget = 0;  // bytes per product engine
  // The literal filter (optional): patterns ruled out of a text by their factors, and the
  // products of the patterns left, one pool per set of them (bit j: pattern j).
  std::unique_ptr<LiteralFilter> filter;
  std::mutex subsets_mu;
  std::unordered_map<uint64_t, std::unique_ptr<cpu::ProductPool>> subsets;
  // Whether the filter pays is measured on the program's own calls (FilterChoice).
  std::unique_ptr<FilterChoice> choice;
};

// A pattern whose scans stop (jump or step) more often than every kUnitsPerStop units, over
// at least kOneEvidence units, is scanned in the lanes.
constexpr int64_t kUnitsPerStop = 16;
constexpr int64_t kOneEvidence = int64_t{1} << 18;

// Text bytes in one block of rows that scan_strings passes through the filter and then
// scans, while they are in cache (a core's L2 is 0.5-2 MB).
constexpr int64_t kBlockBytes = int64_t{256} << 10;

// ---- UTF-8 of one code point, as str.encode('utf-8') with lone surrogates as U+FFFD ------

inline int utf8(uint32_t cp, uint8_t* out) {
  if (cp < 0x80) {
    out[0] = static_cast<uint8_t>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<uint8_t>(0xC0 | (cp >> 6));
    out[1] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // a lone surrogate
  if (cp < 0x10000) {
    out[0] = static_cast<uint8_t>(0xE0 | (cp >> 12));
    out[1] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<uint8_t>(0xF0 | (cp >> 18));
  out[1] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
  return 4;
}

template <typename CU>
int64_t byte_offset(const CU* s, int64_t units) {
  int64_t n = 0;
  // UTF-8 lengths, branch-free (vectorised; mixed ASCII and CJK text mispredicts branches).
  // A lone surrogate counts 3, as U+FFFD.
  for (int64_t i = 0; i < units; ++i) {
    const uint32_t cp = static_cast<uint32_t>(s[i]);
    n += 1 + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000);
  }
  return n;
}

// First index in [i, n) whose unit equals e, or n. Latin-1 text is searched with memchr and
// UCS-4 text with wmemchr where wchar_t is 32 bits (both SIMD in libc); UCS-2 text with
// SSE2 compares, 16 units a step (about 0.1 ns a unit, against 1 ns stepping the DFA).
inline int64_t find_unit(const uint8_t* s, int64_t i, int64_t n, uint8_t e) {
  const void* q = std::memchr(s + i, e, static_cast<size_t>(n - i));
  return q ? static_cast<const uint8_t*>(q) - s : n;
}

inline int64_t find_unit(const uint32_t* s, int64_t i, int64_t n, uint8_t e) {
  if constexpr (sizeof(wchar_t) == 4) {
    const wchar_t* w = reinterpret_cast<const wchar_t*>(s);
    const wchar_t* q = std::wmemchr(w + i, static_cast<wchar_t>(e), static_cast<size_t>(n - i));
    return q ? q - w : n;
  }
  for (; i < n; ++i) {
    if (s[i] == e) return i;
  }
  return n;
}

#if defined(__x86_64__) && defined(__GNUC__)
// UCS-2 with AVX2: 32 units a step; the first index at or after i equal to e, or the first
// of the last (n - i) % 32 units when none is before them.
__attribute__((target("avx2"))) inline int64_t find_unit16_avx2(const uint16_t* s, int64_t i,
                                                                int64_t n, uint8_t e) {
  const __m256i v = _mm256_set1_epi16(static_cast<int16_t>(e));
  for (; i + 32 <= n; i += 32) {
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + 16));
    // Two mask bits per unit.
    const uint64_t m = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi16(x0, v))) |
                       static_cast<uint64_t>(static_cast<uint32_t>(
                           _mm256_movemask_epi8(_mm256_cmpeq_epi16(x1, v))))
                           << 32;
    if (m) return i + __builtin_ctzll(m) / 2;
  }
  return i;
}
#endif

inline int64_t find_unit(const uint16_t* s, int64_t i, int64_t n, uint8_t e) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu::cpu_has_avx2()) {
    i = find_unit16_avx2(s, i, n, e);
    if (i + 32 <= n) return i;  // found before the tail
  }
#endif
#if defined(__SSE2__)
  const __m128i v = _mm_set1_epi16(static_cast<int16_t>(e));
  for (; i + 16 <= n; i += 16) {
    const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 8));
    const uint32_t m = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi16(x0, v))) |
                       static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi16(x1, v))) << 16;
    if (m) return i + __builtin_ctz(m) / 2;  // two mask bits per unit
  }
#endif
  for (; i < n; ++i) {
    if (s[i] == e) return i;
  }
  return n;
}

// First index in [i, n) of a non-ASCII unit, or n (SSE2: 16 bytes a step).
inline int64_t find_high(const uint8_t* s, int64_t i, int64_t n) {
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    if (_mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)))) break;
  }
#endif
  for (; i < n; ++i) {
    if (s[i] >= 0x80) return i;
  }
  return n;
}

template <typename CU>
inline int64_t find_high(const CU* s, int64_t i, int64_t n) {
#if defined(__SSE2__)
  constexpr int per = 16 / sizeof(CU);
  const __m128i high = sizeof(CU) == 2 ? _mm_set1_epi16(static_cast<int16_t>(0xFF80))
                                       : _mm_set1_epi32(static_cast<int32_t>(0xFFFFFF80));
  for (; i + 2 * per <= n; i += 2 * per) {
    const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + per));
    const __m128i any = _mm_and_si128(_mm_or_si128(x0, x1), high);
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(any, _mm_setzero_si128())) != 0xFFFF) break;
  }
#endif
  for (; i < n; ++i) {
    if (static_cast<uint32_t>(s[i]) >= 0x80) return i;
  }
  return n;
}

// The largest unit str storage of CU can hold.
template <typename CU>
constexpr uint32_t storage_top() {
  return sizeof(CU) == 1 ? 0xFF : sizeof(CU) == 2 ? 0xFFFF : 0x10FFFF;
}

// A state's non-ASCII exits as text of storage CU can hold them: none where every code
// point that leaves the state is above the storage's largest unit (0xFF, 0xFFFF).
template <typename CU>
inline cpu::HighRange for_storage(cpu::HighRange r) {
  return r.any() && r.lo <= storage_top<CU>() ? r : cpu::HighRange{};
}

// Whether `r` holds every non-ASCII unit of storage CU: its hits need no check.
template <typename CU>
inline bool every_high(cpu::HighRange r) {
  return r.lo <= 0x80 && r.hi >= storage_top<CU>();
}

// Bits of `m` (units s[0..32) that are non-ASCII) whose code point is in r.
template <typename CU>
inline uint32_t high_in(const CU* s, uint32_t m, cpu::HighRange r) {
  uint32_t keep = 0;
  for (; m; m &= m - 1) {
    const int q = __builtin_ctz(m);
    if (r.has(static_cast<uint32_t>(s[q]))) keep |= uint32_t{1} << q;
  }
  return keep;
}

// First index in [i, n) of a non-ASCII unit in r, or n.
template <typename CU>
inline int64_t find_high_in(const CU* s, int64_t i, int64_t n, cpu::HighRange r) {
  for (;; ++i) {
    i = find_high(s, i, n);
    if (i >= n || r.has(static_cast<uint32_t>(s[i]))) return i;
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// ---- one pass for a set of exit units (AVX2 hosts: byte shuffles, 16 or 32 units a step) --
//
// Units narrowed to bytes, 32 or 16 at a time (code points above 0xFF saturate to 0xFF, so
// every non-ASCII unit has its top bit set; one-byte storage is read as it lies), then a
// set of ASCII bytes tested in two shuffles:
// the table at a byte's low nibble holds a bit per high nibble (0-7) whose byte is in the
// set, and the high nibble picks its bit (none for 8-15: non-ASCII never matches the set).
// `high` adds the non-ASCII units in its range (a block's non-ASCII units are checked
// against it one by one, unless it holds them all). About 1 instruction a unit whatever
// the set's size, where a search per exit byte reads the text once per byte.

template <typename CU>
__attribute__((target("avx2"))) inline __m128i narrow16(const CU* s) {
  if constexpr (sizeof(CU) == 1) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  } else if constexpr (sizeof(CU) == 2) {
    const __m128i ff = _mm_set1_epi16(0xFF);
    const __m128i a = _mm_min_epu16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), ff);
    const __m128i b = _mm_min_epu16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 8)), ff);
    return _mm_packus_epi16(a, b);
  } else {  // code points fit int32: signed saturation to 0x7FFF, then to 0xFF
    const __m128i a = _mm_packs_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)),
                                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 4)));
    const __m128i b = _mm_packs_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 8)),
                                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 12)));
    return _mm_packus_epi16(a, b);
  }
}

// Thirty-two units as bytes, as narrow16 has them: one-byte storage as it lies, wider units
// packed with saturation (the packs work within 128-bit halves, so the halves are put
// back in order after them).
template <typename CU>
__attribute__((target("avx2"))) inline __m256i narrow32(const CU* s) {
  if constexpr (sizeof(CU) == 1) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
  } else if constexpr (sizeof(CU) == 2) {
    const __m256i ff = _mm256_set1_epi16(0xFF);
    const __m256i a = _mm256_min_epu16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)), ff);
    const __m256i b = _mm256_min_epu16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 16)), ff);
    return _mm256_permute4x64_epi64(_mm256_packus_epi16(a, b), 0xD8);  // 64-bit quarters 0, 2, 1, 3
  } else {
    const __m256i* v = reinterpret_cast<const __m256i*>(s);
    const __m256i ab = _mm256_packs_epi32(_mm256_loadu_si256(v), _mm256_loadu_si256(v + 1));
    const __m256i cd = _mm256_packs_epi32(_mm256_loadu_si256(v + 2), _mm256_loadu_si256(v + 3));
    // Bytes by 32-bit groups: a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7.
    return _mm256_permutevar8x32_epi32(_mm256_packus_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  }
}

// 32 units a step with AVX2's 256-bit shuffles (each 128-bit half shuffles within itself,
// so the tables are the 16-byte ones twice). Returns the first index at or after i in the
// set, or the first index of the last (n - i) % 32 units when none is before them.
template <typename CU>
__attribute__((target("avx2"))) inline int64_t find_set32(const CU* s, int64_t i, int64_t n,
                                                         const uint8_t* table, cpu::HighRange high) {
  const __m256i lo_tab =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table)));
  const __m256i bit_tab = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, static_cast<char>(0x80), 0,
                                           0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64,
                                           static_cast<char>(0x80), 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i nib = _mm256_set1_epi8(0x0F);
  const __m256i zero = _mm256_setzero_si256();
  const uint32_t high_mask = high.any() ? 0xFFFFFFFFu : 0u;
  const bool every = every_high<CU>(high);
  for (; i + 32 <= n; i += 32) {
    const __m256i x = narrow32(s + i);
    const __m256i lo = _mm256_and_si256(x, nib);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), nib);
    const __m256i in =
        _mm256_and_si256(_mm256_shuffle_epi8(lo_tab, lo), _mm256_shuffle_epi8(bit_tab, hi));
    const uint32_t set = ~static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(in, zero)));
    uint32_t above = static_cast<uint32_t>(_mm256_movemask_epi8(x)) & high_mask;
    if ((set | above) == 0) continue;
    if (above && !every) above = high_in(s + i, above, high);
    if (set | above) return i + __builtin_ctz(set | above);
  }
  return i;
}

template <typename CU>
__attribute__((target("avx2"))) int64_t find_set(const CU* s, int64_t i, int64_t n,
                                                 const uint8_t* table, cpu::HighRange high) {
  i = find_set32(s, i, n, table, high);
  if (i + 32 <= n) return i;  // a hit before the tail
  const __m128i lo_tab = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table));
  const __m128i bit_tab = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, static_cast<char>(0x80), 0, 0, 0,
                                        0, 0, 0, 0, 0);
  const __m128i nib = _mm_set1_epi8(0x0F);
  const __m128i zero = _mm_setzero_si128();
  const uint32_t high_mask = high.any() ? 0xFFFF : 0;
  const bool every = every_high<CU>(high);
  for (; i + 16 <= n; i += 16) {
    const __m128i x = narrow16(s + i);
    const __m128i lo = _mm_and_si128(x, nib);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), nib);
    const __m128i in = _mm_and_si128(_mm_shuffle_epi8(lo_tab, lo), _mm_shuffle_epi8(bit_tab, hi));
    const uint32_t set = ~static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(in, zero))) & 0xFFFF;
    uint32_t above = static_cast<uint32_t>(_mm_movemask_epi8(x)) & high_mask;
    if ((set | above) == 0) continue;
    if (above && !every) above = high_in(s + i, above, high);
    if (set | above) return i + __builtin_ctz(set | above);
  }
  for (; i < n; ++i) {
    const uint32_t u = static_cast<uint32_t>(s[i]);
    if (u >= 0x80 ? high.has(u) : ((table[u & 15] >> (u >> 4)) & 1) != 0) return i;
  }
  return n;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
// Two or three exit bytes (a, b, c; a byte may repeat) in one-byte storage: a compare per
// byte, 64 units a step; the first index at or after i that holds one, or n. The common
// jump of a product over tag patterns (`<`, `?`): on the 4096 champ completions, sixteen
// patterns took 2-15% less than through find_set's nibble tables (one process, calls
// alternating), and ten unfiltered ones 0-5% less.
__attribute__((target("avx2"))) inline int64_t find_few(const uint8_t* s, int64_t i, int64_t n, uint8_t a, uint8_t b,
                                                         uint8_t c) {
  const __m256i va = _mm256_set1_epi8(static_cast<char>(a));
  const __m256i vb = _mm256_set1_epi8(static_cast<char>(b));
  const __m256i vc = _mm256_set1_epi8(static_cast<char>(c));
  const auto hits = [&](__m256i x) __attribute__((target("avx2"))) {
    const __m256i h = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x, va), _mm256_cmpeq_epi8(x, vb)),
                                      _mm256_cmpeq_epi8(x, vc));
    return static_cast<uint32_t>(_mm256_movemask_epi8(h));
  };
  for (; i + 64 <= n; i += 64) {
    const uint64_t m = hits(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i))) |
                       static_cast<uint64_t>(hits(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + 32))))
                           << 32;
    if (m) return i + __builtin_ctzll(m);
  }
  for (; i < n; ++i) {
    if (s[i] == a || s[i] == b || s[i] == c) return i;
  }
  return n;
}
#endif

// next_stop's cache of per-exit searches (index 0x80: the next non-ASCII unit), cleared on
// first use: most texts never need it (one exit, or AVX2), and clearing 1 KB per text
// cost ~20 ns, more than scanning a short text.
class ExitCache {
 public:
  ExitCache() = default;
  // A lane moved in its array (product_units_lockstep) copies the searches only where it
  // made some: 1 KB a text, most of it never filled, cost more than the text's jumps.
  ExitCache(const ExitCache& o) : ready_(o.ready_) {
    if (ready_) next_ = o.next_;
  }
  ExitCache& operator=(const ExitCache& o) {
    ready_ = o.ready_;
    if (ready_) next_ = o.next_;
    return *this;
  }
  void reset() { ready_ = false; }
  std::array<int64_t, 129>& get() {
    if (!ready_) {
      next_.fill(-1);
      ready_ = true;
    }
    return next_;
  }

 private:
  std::array<int64_t, 129> next_;
  bool ready_ = false;
};

// The next unit at or after i that can leave a state: equal to one of its `cnt` ASCII exit
// bytes (exit(k); `table`: the same set, cpu::exit_table_add's), or a code point in `high`
// (for_storage's: non-empty only where this text's storage can hold one); n when none.
// One exit: one search. Else, with AVX2, one pass for the whole set (find_set); without, a
// search per exit, each cached until the scan passes it, as cpu::next_exit does (the
// cache keeps the next non-ASCII unit, whatever the state's range: one outside it is passed
// over and the search goes on after it).
template <typename CU, typename Exit>
inline int64_t next_stop(const CU* s, int64_t i, int64_t n, int cnt, cpu::HighRange high,
                         const uint8_t* table, Exit exit, ExitCache& cache) {
  const int nh = high.any() ? 1 : 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if constexpr (sizeof(CU) == 1) {
    if (nh == 0 && cnt <= 3 && cnt > 1 && cpu::cpu_has_avx2()) return find_few(s, i, n, exit(0), exit(1), exit(cnt - 1));
  }
  if (cpu::cpu_has_avx2() && cnt + nh > 1) return find_set(s, i, n, table, high);
#endif
  if (cnt + nh == 1) return cnt == 1 ? find_unit(s, i, n, exit(0)) : find_high_in(s, i, n, high);
  for (;; ++i) {
    i = cpu::next_exit(
        i, n, cnt + nh, [&](int k) { return k < cnt ? exit(k) : uint8_t{0x80}; }, cache.get(),
        [&](uint8_t e) { return e == 0x80 ? find_high(s, i, n) : find_unit(s, i, n, e); });
    if (i >= n || static_cast<uint32_t>(s[i]) < 0x80 || high.has(static_cast<uint32_t>(s[i]))) return i;
  }
}

// One text of n code units (1, 2 or 4 bytes each) with one pattern. As the byte shortcut
// (cpu::scan_bytes_accel): in a state with few ASCII exits the scan jumps to the next unit
// that can leave it (next_stop), so text in such a state costs a vector compare per 16
// bytes whatever its script. `ascii`: the text has no non-ASCII unit to jump to; `stops`
// gains the units stepped.
//
// A stop is the common case in some patterns (a `\n` in `<think>\n.*?\n</think>` every
// ~40 units of real text), so its path is kept short: an ASCII unit is one table step, the
// jumping state's index is divided out once per state change rather than per jump, and the
// exit cache is cleared only where a search filled it.
template <typename CU>
DfaResult scan_units(const DfaFastPattern& f, const UnitAccel& a, bool ascii, const CU* s,
                     int64_t n, int64_t& stops) {
  int32_t off = f.start_off;
  if (f.dead_off >= 0 && off == f.dead_off) return DfaResult{off / f.n_classes, n > 0 ? 0 : -1};
  ExitCache next;
  int64_t stepped = 0;
  int32_t jump_off = -1;  // the jumping state whose index `st` holds
  int64_t st = 0;
  uint8_t buf[4];
  for (int64_t i = 0; i < n; ++i) {
    if (a.any) {
      const int cnt = a.count[off];
      if (cnt >= 0) {
        if (off != jump_off) {
          jump_off = off;
          st = off / f.n_classes;
        }
        const cpu::HighRange h = ascii ? cpu::HighRange{} : for_storage<CU>(a.high[st]);
        if (cnt == 0 && !h.any()) break;  // no unit of this text can leave the state
        i = next_stop(s, i, n, cnt, h, a.table[st].data(), [&](int k) { return a.bytes[st][k]; },
                      next);
        if (i >= n) break;
      }
    }
    ++stepped;
    const uint32_t u = static_cast<uint32_t>(s[i]);
    if (u < 0x80) {  // one byte
      off = f.offsets[off + f.class_ids[u]];
      if (off == f.dead_off) {
        stops += stepped;
        return DfaResult{off / f.n_classes, byte_offset(s, i)};
      }
      continue;
    }
    // A code point outside the state's range leaves it as it is (a stepped state).
    if (!for_storage<CU>(a.high[off / f.n_classes]).has(u)) continue;
    const int len = utf8(u, buf);
    for (int b = 0; b < len; ++b) {
      off = f.offsets[off + f.class_ids[buf[b]]];
      if (off == f.dead_off) {
        stops += stepped;
        return DfaResult{off / f.n_classes, byte_offset(s, i) + b};
      }
    }
  }
  stops += stepped;
  return DfaResult{off / f.n_classes, -1};
}

// Pattern f from its start state over units [i, n) of s, as scan_units steps it, until it
// is back in its start state (returns the unit after the one that took it there), is in a
// state no unit leaves (returns n) or the text ends (n); `off` is its state then. A
// pattern of the literal filter's attempts (Attempts), which cannot die.
template <typename CU>
int64_t attempt_units(const DfaFastPattern& f, const UnitAccel& a, const CU* s, int64_t i, int64_t n,
                      int32_t& off) {
  off = f.start_off;
  ExitCache next;
  uint8_t buf[4];
  for (; i < n; ++i) {
    // The start state is only ever the first unit's: the scan returns when it is back.
    const int cnt = off == f.start_off ? -1 : a.count[off];
    if (cnt >= 0) {
      const int64_t st = off / f.n_classes;
      const cpu::HighRange h = for_storage<CU>(a.high[st]);
      if (cnt == 0 && !h.any()) return n;
      i = next_stop(s, i, n, cnt, h, a.table[st].data(), [&](int k) { return a.bytes[st][k]; }, next);
      if (i >= n) return n;
    }
    const uint32_t u = static_cast<uint32_t>(s[i]);
    if (u < 0x80) {
      off = f.offsets[off + f.class_ids[u]];
    } else {
      const int len = utf8(u, buf);
      for (int b = 0; b < len; ++b) off = f.offsets[off + f.class_ids[buf[b]]];
    }
    if (off == f.start_off) return i + 1;
  }
  return n;
}

// ---- K patterns in one pass: the same scans over a lazy product DFA (dfa_multi.h) -------

using cpu::ProductDfa;

// Per product engine: ~1 KB per state (256 byte classes at most), so ~16k states.
constexpr int64_t kProductBudget = int64_t{16} << 20;

// The patterns that the transition into `off` adds to the dead mask die at byte `pos`.
inline void record_deaths(const ProductDfa& d, int32_t off, int64_t pos, uint64_t& mask,
                          int64_t* first_dead) {
  const uint64_t m = d.mask_of(off);
  for (uint64_t fresh = m & ~mask; fresh; fresh &= fresh - 1) {
    first_dead[__builtin_ctzll(fresh)] = pos;
  }
  mask = m;
}

// Exit byte k of a product row's meta (the byte product computes them when it interns a
// state).
inline uint8_t escape_byte(const int32_t* meta, int k) {
  return static_cast<uint8_t>(static_cast<uint32_t>(meta[k < 4 ? 2 : 5]) >> (8 * (k % 4)));
}

// One byte through the product; false when the engine's budget is spent.
inline bool product_step(ProductDfa& d, uint8_t byte, int32_t& off, int32_t& e) {
  const int32_t pc = d.byte_classes()[byte];
  e = d.rows()[off + ProductDfa::kMeta + pc];
  if (e == ProductDfa::kUnbuilt) e = d.step_slow(off, pc);
  if (e == ProductDfa::kUnbuilt) return false;
  off = ProductDfa::next_of(e);
  return true;
}

struct Text {
  const void* data;
  int64_t units;
  int kind;  // 1, 2 or 4 bytes per unit
  bool ascii;
};

// Asks for the first kPrefetchBytes of a text's storage ahead of its scan. A batch's texts
// lie apart in memory, and a scan that starts on one waits for its cache lines: one
// pattern on 4096 real completions (6 MB) took three times as long as on the same strings
// while they were in cache.
constexpr int64_t kPrefetchBytes = int64_t{16} << 10;
inline void prefetch_text(const Text& t) {
  const char* p = static_cast<const char*>(t.data);
  const int64_t bytes = std::min<int64_t>(t.units * t.kind, kPrefetchBytes);
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o);
}

// Pattern j alone on one text; `stops` gains the units it stepped.
DfaResult scan_text(const ByteProgram& prog, int64_t j, const Text& t, int64_t& stops) {
  const Prepared& p = prog.pats.prep[j];
  const UnitAccel& a = prog.accel[j];
  // ASCII storage is the UTF-8 encoding itself, with no byte >= 0x80.
  if (t.kind == 1) return scan_units(p.fast, a, t.ascii, static_cast<const uint8_t*>(t.data), t.units, stops);
  if (t.kind == 2) return scan_units(p.fast, a, false, static_cast<const uint16_t*>(t.data), t.units, stops);
  return scan_units(p.fast, a, false, static_cast<const uint32_t*>(t.data), t.units, stops);
}

// Rows idx[0..m) with the patterns cols[0..kp), each alone (scan_text); a row's text is
// texts[q] when given (a part of it), else rows[idx[q]]. Writes those patterns' columns of
// the (B, K) outputs; returns the units stepped.
int64_t scan_each(const ByteProgram& prog, const int64_t* cols, int64_t kp, const Text* rows, const int64_t* idx,
                  int64_t m, int32_t* out_state, int64_t* out_fd, const Text* texts = nullptr) {
  int64_t stops = 0;
  const int64_t k = prog.k;
  for (int64_t q = 0; q < m; ++q) {
    const Text& t = texts != nullptr ? texts[q] : rows[idx[q]];
    if (q + 1 < m) prefetch_text(texts != nullptr ? texts[q + 1] : rows[idx[q + 1]]);
    for (int64_t c = 0; c < kp; ++c) {
      const DfaResult r = scan_text(prog, cols[c], t, stops);
      out_state[idx[q] * k + cols[c]] = r.state;
      out_fd[idx[q] * k + cols[c]] = r.first_dead;
    }
  }
  return stops;
}

// ---- four texts in lockstep over the product -------------------------------------------
//
// As scan_units, over the product; where a state has many exits, one text would step one
// unit at a time, a chain of dependent loads (~2 ns a unit). Four texts of the same
// storage kind step in lockstep instead, so their chains overlap: each lane is a
// resumable scan, and the lockstep loop steps ASCII units through entries that are built
// and not flagged. A lane that stops (a non-ASCII unit, an entry not built yet or
// flagged, a state with few ASCII exits) goes on alone (lane_settle: jumps to the next
// unit that can leave its state) until it is in a many-exit state again and a few units
// later (kAloneUnits), since a jump's exit is mostly one or two units from the next jumping
// state. A state whose
// exits come too often for the jumps to pay is stepped in lockstep instead
// (ProductDfa::note_jump). A death's byte offset is found by advancing a running offset
// from the previous death, so a text costs O(n) however many patterns die.

constexpr int kUnitLanes = 4;

template <typename CU>
struct UnitLane {
  const CU* s = nullptr;
  int64_t n = 0, i = 0, row = -1;
  bool ascii = false;  // no non-ASCII unit: a state's non-ASCII exits cannot be taken
  int32_t off = 0;
  uint64_t mask = 0;
  int64_t seen = 0, seen_bytes = 0;  // byte offset of unit `seen`
  int64_t* first_dead = nullptr;
  ExitCache next;  // next_stop's
};

template <typename CU>
void lane_start(const ProductDfa& d, UnitLane<CU>& L, const Text& t, int64_t row, int64_t* fd) {
  L.s = static_cast<const CU*>(t.data);
  L.n = t.units;
  L.ascii = t.ascii;
  L.i = 0;
  L.row = row;
  L.off = d.start_off();
  L.mask = d.start_mask();
  L.seen = L.seen_bytes = 0;
  L.first_dead = fd;
  if (L.mask == 0 || L.n == 0) {  // the common case: no pattern dead before a byte
    std::fill(fd, fd + d.k(), int64_t{-1});
  } else {
    for (int j = 0; j < d.k(); ++j) fd[j] = ((L.mask >> j) & 1) ? 0 : -1;
  }
  L.next.reset();
}

// The non-ASCII exits of the product state whose row meta is `meta`, for storage CU (every
// code point where the state's exits were not computed, which a string scanner's product
// computes for each state it interns).
template <typename CU>
inline cpu::HighRange row_high(const int32_t* meta) {
  if (meta[1] == ProductDfa::kEscUnknown) return cpu::HighRange{0x80, 0x10FFFF};
  if (!meta[3]) return cpu::HighRange{};
  return for_storage<CU>(cpu::HighRange{static_cast<uint32_t>(meta[ProductDfa::kHighRange]),
                                        static_cast<uint32_t>(meta[ProductDfa::kHighRange + 1])});
}

// One step of a lane at unit L.i: in a state with few ASCII exits the jump to the next
// unit that can leave it, then that unit's bytes. 1: the text is done, 0: go on, -1: the
// engine's budget is spent.
template <typename CU>
int lane_unit(ProductDfa& d, UnitLane<CU>& L) {
  const int32_t* meta = d.rows() + L.off;
  const int cnt = meta[1];
  if (cnt >= 0) {
    const cpu::HighRange high = L.ascii ? cpu::HighRange{} : row_high<CU>(meta);
    if (cnt == 0 && !high.any()) return 1;  // no unit of this text can leave the state
    const int64_t from = L.i;
    L.i = next_stop(L.s, L.i, L.n, cnt, high,
                    reinterpret_cast<const uint8_t*>(meta + ProductDfa::kExitTable),
                    [&](int k) { return escape_byte(meta, k); }, L.next);
    d.note_jump(L.off, L.i - from);
    if (L.i >= L.n) return 1;
  }
  // Byte b of the unit's UTF-8 through the product; false when the budget is spent.
  const auto step = [&](uint8_t byte, int b) {
    int32_t e;
    if (!product_step(d, byte, L.off, e)) return false;
    if (e < 0 && d.mask_of(L.off) != L.mask) {
      L.seen_bytes += byte_offset(L.s + L.seen, L.i - L.seen);
      L.seen = L.i;
      record_deaths(d, L.off, L.seen_bytes + b, L.mask, L.first_dead);
    }
    return true;
  };
  const uint32_t u = static_cast<uint32_t>(L.s[L.i]);
  if (u < 0x80) {  // one byte: the common stop
    if (!step(static_cast<uint8_t>(u), 0)) return -1;
  } else {
    // A code point outside the state's range leaves it as it is, and so does the run of
    // such after it: a state with many ASCII exits (stepped, not jumped) in CJK text
    // passes over the text between its ASCII units without stepping their bytes.
    const cpu::HighRange r = row_high<CU>(meta);
    if (!r.has(u)) {
      while (++L.i < L.n) {
        const uint32_t v = static_cast<uint32_t>(L.s[L.i]);
        if (v < 0x80 || r.has(v)) return 0;
      }
      return 1;
    }
    uint8_t buf[4];
    const int len = utf8(u, buf);
    for (int b = 0; b < len; ++b) {
      if (!step(buf[b], b)) return -1;
    }
  }
  return ++L.i >= L.n ? 1 : 0;
}

// The product entry of unit u from the state at `off` for the lanes' inline steps: kUnbuilt
// for a non-ASCII unit (its UTF-8 bytes are lane_unit's), else the table's entry (negative:
// not built yet, or flagged).
inline int32_t unit_entry(const int32_t* tr, const int32_t* cls, uint32_t u, int32_t off) {
  // Offsets are non-negative: as unsigned, the index needs no sign extension.
  return u < 0x80 ? tr[static_cast<uint32_t>(off + ProductDfa::kMeta + cls[u])]
                  : ProductDfa::kUnbuilt;
}

// One unit of a lane in the lockstep: false where the lane must stop (a non-ASCII unit, an
// entry not built yet, or a flagged one).
template <typename CU>
inline bool lockstep_unit(const int32_t* tr, const int32_t* cls, const CU* s, int32_t& off) {
  const int32_t e = unit_entry(tr, cls, static_cast<uint32_t>(*s), off);
  if (e < 0) return false;
  off = e;
  return true;
}

// After each jump, a lane steps up to this many units of many-exit states alone, inline,
// before it rejoins the lockstep: most such stretches end in a jumping state again within
// a unit or two (the unit after a `?` or a `<`), and a round trip through the lockstep
// costs more than those steps. A `?` every 64 units of ASCII text, against none: ~41 ns a
// stop through the lockstep, ~16 ns inline. 4 and 8 gave the same times on the 14
// benchmark patterns that jump most; 8 was the slower on all 16, where most units step.
constexpr int kAloneUnits = 4;

// Runs single units (after the one the lockstep stopped at, when `stopped`) until the lane
// has stepped kAloneUnits units in many-exit states since its last jump and is in such a
// state (the lockstep's), or is done; as lane_unit's result.
template <typename CU>
int lane_settle(ProductDfa& d, UnitLane<CU>& L, bool stopped) {
  if (stopped) {
    const int r = lane_unit(d, L);
    if (r != 0) return r;
  }
  int alone = kAloneUnits;
  for (;;) {
    const int32_t* tr = d.rows();
    if (tr[L.off + 1] >= 0) {  // few exits: a jump, then the unit it stopped at
      alone = kAloneUnits;
      const int r = lane_unit(d, L);
      if (r != 0) return r;
      continue;
    }
    if (alone == 0) return 0;
    // Many exits: units inline while their entries are built and no pattern dies. A
    // flagged entry that keeps the dead mask leads to a state with few exits or a
    // terminal one (no exits): the loop's top takes it from there.
    const int32_t* cls = d.byte_classes();
    bool generic = false;
    while (alone > 0 && L.i < L.n) {
      const int32_t e = unit_entry(tr, cls, static_cast<uint32_t>(L.s[L.i]), L.off);
      --alone;
      if (e >= 0) {
        L.off = e;
        ++L.i;
        continue;
      }
      generic = e == ProductDfa::kUnbuilt || d.mask_of(ProductDfa::next_of(e)) != L.mask;
      if (!generic) {
        L.off = ProductDfa::next_of(e);
        ++L.i;
      }
      break;
    }
    if (L.i >= L.n) return 1;  // no death on the way: the mask is the lane's
    if (generic) {  // a non-ASCII unit, an entry not built yet, or a death: lane_unit's
      const int r = lane_unit(d, L);
      if (r != 0) return r;
    }
  }
}

// Four lanes in lockstep, held in registers, for as many rounds as every lane has units
// left; returns the lane that stopped (or, after those rounds, one at its end).
template <typename CU>
int lockstep_four(const int32_t* tr, const int32_t* cls, UnitLane<CU>* lanes) {
  int64_t m = lanes[0].n - lanes[0].i;
  for (int l = 1; l < kUnitLanes; ++l) m = std::min(m, lanes[l].n - lanes[l].i);
  const CU* s0 = lanes[0].s + lanes[0].i;
  const CU* s1 = lanes[1].s + lanes[1].i;
  const CU* s2 = lanes[2].s + lanes[2].i;
  const CU* s3 = lanes[3].s + lanes[3].i;
  int32_t o0 = lanes[0].off, o1 = lanes[1].off, o2 = lanes[2].off, o3 = lanes[3].off;
  int stop = -1;
  int64_t r = 0;
  for (; r < m; ++r) {
    if (!lockstep_unit(tr, cls, s0 + r, o0)) {
      stop = 0;
      break;
    }
    if (!lockstep_unit(tr, cls, s1 + r, o1)) {
      stop = 1;
      break;
    }
    if (!lockstep_unit(tr, cls, s2 + r, o2)) {
      stop = 2;
      break;
    }
    if (!lockstep_unit(tr, cls, s3 + r, o3)) {
      stop = 3;
      break;
    }
  }
  const int32_t offs[kUnitLanes] = {o0, o1, o2, o3};
  for (int l = 0; l < kUnitLanes; ++l) {
    lanes[l].off = offs[l];
    lanes[l].i += r + (stop >= 0 && l < stop ? 1 : 0);  // lanes before the stop took round r
  }
  if (stop < 0) {  // the rounds ran out: a lane is at its end
    for (int l = 0; l < kUnitLanes && stop < 0; ++l) stop = lanes[l].i >= lanes[l].n ? l : -1;
  }
  return stop;
}

// The texts rows[order[0..m)] (one storage kind CU); `alone(i)` scans text i pattern by
// pattern (after the engine's budget is spent, for every text in flight).
template <typename CU, typename Alone>
void product_units_lockstep(ProductDfa& d, const Text* rows, const int64_t* order, int64_t m,
                            int64_t k, int32_t* out_state, int64_t* out_fd, Alone alone) {
  UnitLane<CU> lanes[kUnitLanes];
  int act = 0;
  int64_t q = 0;
  const auto spent = [&]() {  // every text in flight starts again, pattern by pattern
    for (int l = 0; l < act; ++l) alone(lanes[l].row);
    act = 0;
    d.reset();
  };
  const auto fill = [&]() {
    while (act < kUnitLanes && q < m) {
      UnitLane<CU>& L = lanes[act];
      const int64_t row = order[q++];
      if (q < m) prefetch_text(rows[order[q]]);  // the text the next free lane takes
      lane_start(d, L, rows[row], row, out_fd + row * k);
      const int r = lane_settle(d, L, false);
      if (r == 0) {
        ++act;
      } else if (r == 1) {
        d.finals(L.off, out_state + row * k);
      } else {
        alone(row);
        spent();
      }
    }
  };
  fill();
  while (act > 0) {
    const int32_t* tr = d.rows();
    const int32_t* cls = d.byte_classes();
    int stop = act == kUnitLanes ? lockstep_four(tr, cls, lanes) : -1;
    while (stop < 0) {
      for (int l = 0; l < act; ++l) {
        UnitLane<CU>& L = lanes[l];
        if (L.i >= L.n) {
          stop = l;
          break;
        }
        const int32_t e = unit_entry(tr, cls, static_cast<uint32_t>(L.s[L.i]), L.off);
        if (e < 0) {
          stop = l;
          break;
        }
        L.off = e;
        ++L.i;
      }
    }
    UnitLane<CU>& L = lanes[stop];
    const int r = L.i >= L.n ? 1 : lane_settle(d, L, true);
    if (r == 0) continue;
    if (r < 0) {
      spent();
    } else {
      d.finals(L.off, out_state + L.row * k);
      if (stop != --act) lanes[stop] = lanes[act];
    }
    fill();
  }
}

// Rows idx[0..m) through one product of the patterns `cols` (the pool's, in its order),
// four texts at a time per storage kind (ASCII text with Latin-1); writes those patterns'
// columns of the (B, K) outputs. `texts`, when given, holds what to scan of each row (a
// part of its text), else rows[idx[q]] is scanned. A text that spends the engine's budget
// resets it and is scanned pattern by pattern.
void scan_rows_product(ByteProgram& prog, cpu::ProductPool& pool, const std::vector<int64_t>& cols,
                       const Text* rows, const int64_t* idx, int64_t m, int32_t* out_state,
                       int64_t* out_fd, const Text* texts = nullptr) {
  cpu::ProductPool::Lease eng(pool);
  ProductDfa& d = *eng;
  const int64_t kp = static_cast<int64_t>(cols.size()), k = prog.k;
  std::vector<Text> group(m);
  for (int64_t q = 0; q < m; ++q) group[q] = texts != nullptr ? texts[q] : rows[idx[q]];
  std::vector<int32_t> state(m * kp);
  std::vector<int64_t> fd(m * kp);
  const auto alone = [&](int64_t q) {
    int64_t stops = 0;
    for (int64_t c = 0; c < kp; ++c) {
      const DfaResult r = scan_text(prog, cols[c], group[q], stops);
      state[q * kp + c] = r.state;
      fd[q * kp + c] = r.first_dead;
    }
  };
  std::vector<int64_t> by_kind[3];
  for (int64_t q = 0; q < m; ++q) by_kind[group[q].kind == 1 ? 0 : group[q].kind == 2 ? 1 : 2].push_back(q);
  const auto run = [&](const std::vector<int64_t>& order, auto unit) {
    using CU = decltype(unit);
    product_units_lockstep<CU>(d, group.data(), order.data(), static_cast<int64_t>(order.size()), kp,
                               state.data(), fd.data(), alone);
  };
  run(by_kind[0], uint8_t{});
  run(by_kind[1], uint16_t{});
  run(by_kind[2], uint32_t{});
  for (int64_t q = 0; q < m; ++q) {
    for (int64_t c = 0; c < kp; ++c) {
      out_state[idx[q] * k + cols[c]] = state[q * kp + c];
      out_fd[idx[q] * k + cols[c]] = fd[q * kp + c];
    }
  }
}

// ---- the literal filter's scan -----------------------------------------------------------

// Whether factor f holds at unit `at` of s (every position in the text).
template <typename CU>
inline bool factor_at(const Factor& f, const CU* s, int64_t at) {
  for (int p = 0; p < f.len; ++p) {
    const uint32_t u = static_cast<uint32_t>(s[at + p]);
    const uint32_t* c = f.cps[p].data();
    bool in = false;
    for (int q = 0; q < f.count[p]; ++q) in |= c[q] == u;
    if (!in) return false;
  }
  return true;
}

// Where the run of pattern j's class that ends just before unit `at` of s starts (j of
// the filter's after_run). Every match of j is such a run and then a factor, and its factor
// starts at or after `at`: so its run, which holds every unit from the match's start to
// there, starts no earlier than this one.
// A lone surrogate reads as U+FFFD; it is taken to be in the run where either is.
template <typename CU>
int64_t run_back(const LiteralFilter& F, int j, const CU* s, int64_t at) {
  const std::vector<std::array<uint32_t, 2>>& ranges = F.run_high[j];
  const auto in_ranges = [&](uint32_t u) {
    const auto it = std::upper_bound(ranges.begin(), ranges.end(), u,
                                     [](uint32_t v, const std::array<uint32_t, 2>& r) { return v < r[0]; });
    return it != ranges.begin() && u <= (*(it - 1))[1];
  };
  const auto in_run = [&](uint32_t u) {
    if (u < 128) return ((F.run_ascii[j][u >> 6] >> (u & 63)) & 1) != 0;
    if (ranges.empty()) return false;
    return in_ranges(u) || (u >= 0xD800 && u <= 0xDFFF && in_ranges(0xFFFD));
  };
  while (at > 0 && in_run(static_cast<uint32_t>(s[at - 1]))) --at;
  return at;
}

// ---- attempts: a pattern scanned only around its factors ---------------------------------
//
// A leading or after-run pattern is otherwise scanned from its first factor to the text's
// end, and one whose factor seldom starts a match (` * ` in `\d+ \* \d+ = \d+`, in text
// whose digits keep the pattern stepping) steps most of a text that holds it. With no
// assertion and in search mode, the filter's pass hands it every window hit h of its
// factors in order instead. From each, the pattern runs from its start state at unit
// max(y, x(h)) until it is back in that state (the unit after becomes the new y), is in a
// state no unit leaves, or the text ends; x(h) is h less its factors' largest window start
// (then back over the run of its class, for after-run). While y is not past h it runs
// again from y; hits before y are passed over.
//
// Acceptance is the whole scan's. The DFA is deterministic, so a scan in the start state
// at y goes on as a scan of the text from y would, and that accepts just when some match
// starts at or after y (no assertion reads what lies before). Each such match holds a
// factor whose hit h is at or after y, and starts at or after x(h); x only grows with h,
// so a run from the first hit at or after y finds every one of them.
struct Attempts {
  const ByteProgram& prog;
  const LiteralFilter& F;
  uint64_t mask = 0;     // the patterns the pass scans in attempts (none without AVX2)
  int64_t y[64] = {};    // per pattern: where its scan is back in the start state
  int32_t state[64] = {};  // per pattern settled: its final state

  // A hit of pattern j's factors whose window starts at unit h of s (n units); true when
  // j is settled (state[j] is its final state).
  template <typename CU>
  bool hit(int j, int64_t h, const CU* s, int64_t n) {
    if (h < y[j]) return false;
    int64_t from = std::max<int64_t>(0, h - F.max_at[j]);
    if ((F.after_run >> j) & 1) from = run_back(F, j, s, from);
    const DfaFastPattern& f = prog.pats.prep[j].fast;
    // Until the scan is past h: one back in the start state before h may start a match
    // that holds this very hit.
    while (h >= y[j]) {
      int32_t off;
      const int64_t end = attempt_units(f, prog.accel[j], s, std::max(from, y[j]), n, off);
      if (end >= n) {
        state[j] = off / f.n_classes;
        return true;
      }
      y[j] = end;
    }
    return false;
  }
};

#if defined(__x86_64__) && defined(__GNUC__)
// One text's pass for the filter: the filtered patterns still open (no factor found yet,
// or not settled by their attempts), the factors they want and the buckets those are in.
template <typename CU>
class FactorScan {
 public:
  // `first`: per pattern, where the first window of its factors that holds starts (written
  // for the patterns found, except those of `att`, which are settled by their attempts).
  FactorScan(const LiteralFilter& F, const CU* s, int64_t n, int64_t* first, Attempts& att)
      : F_(F), s_(s), n_(n), first_(first), open_(F.filtered), att_(att) {}

  // The filtered patterns (bits) the text rules out: those none of whose factors it holds
  // (and the attempt patterns that no attempt settled). Stops as soon as none is open:
  // every other filtered pattern has a factor and every attempt pattern is settled.
  __attribute__((target("avx2"))) uint64_t run() {
    if (n_ < kMinWindow) return open_;
    const int w = F_.window;
    want();
    return w == 3 ? windows<3>() : windows<4>();
  }

 private:
  // Windows start at every unit but the last kMinWindow - 1: past the text's end, a
  // window reads bytes that are no unit (zeros, which a factor's check rules out).
  //
  // Each unit is read once, as a byte (narrow32: a unit above 0xFF reads as 0xFF, as the
  // nibble tables have it), and classified once per window position: c[p], the buckets
  // whose factors' position p may be that byte (its low nibble's table ANDed with its high
  // nibble's). The window that ends at byte j holds a bucket where every c[p] at
  // j - (W - 1 - p) does: c[p] shifted by W - 1 - p bytes, the bytes shifted in taken from
  // the previous 32 units' c[p] (`prev`; zeros before the text, where no window starts).
  // A load per position of each window start (W loads, shifts and nibble masks a 32 units)
  // took up to 8% more on sixteen patterns of the benchmark's texts (the two in one
  // process, calls alternating), and 40% more a byte for a copy of the loop on text in L2.
  template <int W>
  struct Stream {
    __m256i lo[W], hi[W];
    __m256i prev[W - 1];
  };

  template <int W>
  __attribute__((target("avx2"))) Stream<W> stream() const {
    Stream<W> t;
    for (int k = 0; k < W; ++k) {
      t.lo[k] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(F_.lo[k])));
      t.hi[k] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(F_.hi[k])));
    }
    for (int k = 0; k < W - 1; ++k) t.prev[k] = _mm256_setzero_si256();
    return t;
  }

  // cur's bytes S places later, the S bytes before its first from prev's last.
  template <int S>
  static __attribute__((target("avx2"), always_inline)) inline __m256i shifted(__m256i cur, __m256i prev) {
    return _mm256_alignr_epi8(cur, _mm256_permute2x128_si256(prev, cur, 0x21), 16 - S);
  }

  // The buckets one window position allows each byte: its low nibble's ANDed with its high
  // nibble's (xl, xh).
  static __attribute__((target("avx2"), always_inline)) inline __m256i position(__m256i lo, __m256i hi, __m256i xl,
                                                                              __m256i xh) {
    return _mm256_and_si256(_mm256_shuffle_epi8(lo, xl), _mm256_shuffle_epi8(hi, xh));
  }

  // The bucket bits (ANDed with live) of the 32 windows that end at x's bytes; byte j of
  // the result is the window from unit j - (W - 1) of these 32.
  template <int W>
  static __attribute__((target("avx2"), always_inline)) inline __m256i classify(Stream<W>& t, __m256i x,
                                                                              __m256i live) {
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i xl = _mm256_and_si256(x, nib);
    const __m256i xh = _mm256_and_si256(_mm256_srli_epi16(x, 4), nib);
    __m256i r = _mm256_and_si256(live, position(t.lo[W - 1], t.hi[W - 1], xl, xh));
    const __m256i c0 = position(t.lo[0], t.hi[0], xl, xh), c1 = position(t.lo[1], t.hi[1], xl, xh);
    if constexpr (W == 4) {
      const __m256i c2 = position(t.lo[2], t.hi[2], xl, xh);
      r = _mm256_and_si256(r, _mm256_and_si256(shifted<3>(c0, t.prev[0]), shifted<2>(c1, t.prev[1])));
      r = _mm256_and_si256(r, shifted<1>(c2, t.prev[2]));
      t.prev[2] = c2;
    } else {
      r = _mm256_and_si256(r, _mm256_and_si256(shifted<2>(c0, t.prev[0]), shifted<1>(c1, t.prev[1])));
    }
    t.prev[0] = c0;
    t.prev[1] = c1;
    return r;
  }

  static __attribute__((target("avx2"), always_inline)) inline uint32_t nonzero(__m256i r) {
    return ~static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(r, _mm256_setzero_si256())));
  }

  // Every window of the text, 64 units a step while they lie in it, then its last units
  // (fewer than 32) from a copy with zeros after them; the filtered patterns left open.
  template <int W>
  __attribute__((target("avx2"))) uint64_t windows() {
    Stream<W> t = stream<W>();
    // Windows end before unit `end` (the last starts at n - kMinWindow).
    const int64_t end = n_ - kMinWindow + W;
    int64_t i = 0;
    for (; i + 64 <= n_; i += 64) {
      const __m256i r0 = classify<W>(t, narrow32(s_ + i), live_);
      const __m256i r1 = classify<W>(t, narrow32(s_ + i + 32), live_);
      const uint32_t m0 = nonzero(r0), m1 = nonzero(r1);
      if ((m0 | m1) == 0) continue;
      if (m0 && verify(r0, m0, i - (W - 1))) return 0;
      if (m1 && verify(r1, m1, i + 32 - (W - 1))) return 0;
    }
    for (; i + 32 <= n_; i += 32) {
      const __m256i r = classify<W>(t, narrow32(s_ + i), live_);
      const uint32_t m = nonzero(r);
      if (m && verify(r, m, i - (W - 1))) return 0;
    }
    if (i < end) {  // end - i <= 31 + W - kMinWindow <= 32
      alignas(32) uint8_t tail[32] = {};
      for (int64_t q = i; q < n_; ++q) tail[q - i] = static_cast<uint8_t>(std::min<uint32_t>(static_cast<uint32_t>(s_[q]), 0xFF));
      const __m256i r = classify<W>(t, _mm256_load_si256(reinterpret_cast<const __m256i*>(tail)), live_);
      const int limit = static_cast<int>(end - i);
      const uint32_t m = nonzero(r) & (limit < 32 ? (1u << limit) - 1 : ~0u);
      if (m && verify(r, m, i - (W - 1))) return 0;
    }
    return open_;
  }

  __attribute__((target("avx2"))) void want() {
    wanted_ = 0;
    for (uint64_t o = open_; o; o &= o - 1) wanted_ |= F_.of_pattern[__builtin_ctzll(o)];
    int buckets = 0;
    for (int k = 0; k < kBuckets; ++k) buckets |= (F_.in_bucket[k] & wanted_) ? 1 << k : 0;
    live_ = _mm256_set1_epi8(static_cast<char>(buckets));
  }

  // The hits `m` (bits of window starts i .. i + 31) of bucket bits r, each checked against
  // the factors of its buckets still wanted; true once no filtered pattern is left open.
  __attribute__((target("avx2"), noinline)) bool verify(__m256i r, uint32_t m, int64_t i) {
    alignas(32) uint8_t hits[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(hits), r);
    for (; m; m &= m - 1) {
      const int q = __builtin_ctz(m);
      for (uint32_t bk = hits[q]; bk; bk &= bk - 1) {
        for (uint64_t fs = F_.in_bucket[__builtin_ctz(bk)] & wanted_; fs; fs &= fs - 1) {
          const int fi = __builtin_ctzll(fs);
          const Factor& f = F_.factors[fi];
          const int64_t at = i + q - f.at;
          if (at < 0 || at + f.len > n_) continue;
          if constexpr (sizeof(CU) <= 2) {
            if (at + 8 / static_cast<int64_t>(sizeof(CU)) <= n_) {
              uint64_t word;
              std::memcpy(&word, s_ + at, 8);
              if (sizeof(CU) == 1 ? (word & f.word_mask) != f.word_value : (word & f.word16_mask) != f.word16_value) {
                continue;
              }
            }
          }
          if (!factor_at(f, s_, at)) continue;
          const uint64_t got = open_ & F_.serves[fi];
          uint64_t closed = got & ~att_.mask;
          for (uint64_t c = closed; c; c &= c - 1) first_[__builtin_ctzll(c)] = i + q;
          for (uint64_t t = got & att_.mask; t; t &= t - 1) {
            const int j = __builtin_ctzll(t);
            if (att_.hit(j, i + q, s_, n_)) closed |= uint64_t{1} << j;
          }
          if (closed == 0) continue;
          open_ &= ~closed;
          if (open_ == 0) return true;
          want();
        }
      }
    }
    return false;
  }

  const LiteralFilter& F_;
  const CU* s_;
  int64_t n_;
  int64_t* first_;
  uint64_t open_;
  Attempts& att_;        // att_.mask: the patterns scanned in attempts
  uint64_t wanted_ = 0;  // the factors of the open patterns
  __m256i live_;         // the buckets holding some of them, in every byte
};
#endif

// As FactorScan::run, with the filter's attempt patterns settled in the pass where
// att.mask says so (their final states in att.state; those left open do not accept).
// Without AVX2 no pattern is ruled out, none is found (every text is scanned whole) and
// none is scanned in attempts.
uint64_t ruled_out(const LiteralFilter& F, const Text& t, int64_t* first, Attempts& att) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu::cpu_has_avx2()) {
    att.mask = F.attempt;
    for (uint64_t m = att.mask; m; m &= m - 1) att.y[__builtin_ctzll(m)] = 0;
    if (t.kind == 1) return FactorScan<uint8_t>(F, static_cast<const uint8_t*>(t.data), t.units, first, att).run();
    if (t.kind == 2) {
      return FactorScan<uint16_t>(F, static_cast<const uint16_t*>(t.data), t.units, first, att).run();
    }
    return FactorScan<uint32_t>(F, static_cast<const uint32_t*>(t.data), t.units, first, att).run();
  }
#endif
  att.mask = 0;
  for (uint64_t m = F.filtered; m; m &= m - 1) first[__builtin_ctzll(m)] = 0;
  return 0;
}

// run_back on a text of any storage kind.
int64_t run_start(const LiteralFilter& F, int j, const Text& t, int64_t at) {
  if (t.kind == 1) return run_back(F, j, static_cast<const uint8_t*>(t.data), at);
  if (t.kind == 2) return run_back(F, j, static_cast<const uint16_t*>(t.data), at);
  return run_back(F, j, static_cast<const uint32_t*>(t.data), at);
}

// The product pool of the patterns in `live`, made on first use; null once kMaxSubsets
// sets have one (the caller then scans every pattern).
constexpr size_t kMaxSubsets = 32;

cpu::ProductPool* subset_pool(ByteProgram& prog, uint64_t live) {
  std::lock_guard<std::mutex> lock(prog.subsets_mu);
  const auto it = prog.subsets.find(live);
  if (it != prog.subsets.end()) return it->second.get();
  if (prog.subsets.size() >= kMaxSubsets) return nullptr;
  std::vector<DfaFastPattern> fast;
  for (uint64_t m = live; m; m &= m - 1) fast.push_back(prog.pats.prep[__builtin_ctzll(m)].fast);
  auto pool = std::make_unique<cpu::ProductPool>(std::move(fast), 256, prog.budget, false, true);
  cpu::ProductPool* got = pool.get();
  prog.subsets.emplace(live, std::move(pool));
  return got;
}

std::vector<int64_t> bits_of(uint64_t m) {
  std::vector<int64_t> out;
  for (; m; m &= m - 1) out.push_back(__builtin_ctzll(m));
  return out;
}

// ---- Python glue -------------------------------------------------------------------------

void free_program(PyObject* capsule) {
  delete static_cast<ByteProgram*>(PyCapsule_GetPointer(capsule, kCapsule));
}

// An int from a Python object, or false with an error naming `what`.
bool int_of(PyObject* o, const char* what, long long lo, long long hi, long long& out) {
  out = PyLong_Check(o) ? PyLong_AsLongLong(o) : -1;
  if (!PyLong_Check(o) || (out == -1 && PyErr_Occurred()) || out < lo || out > hi) {
    PyErr_Clear();
    PyErr_Format(PyExc_ValueError, "dfa string scan: %s must be an int in [%lld, %lld]", what, lo, hi);
    return false;
  }
  return true;
}

// A run class's members above ASCII: a sequence of (lo, hi) code point pairs, sorted and
// disjoint, each with 0x80 <= lo <= hi <= 0x10FFFF.
bool run_ranges(PyObject* obj, std::vector<std::array<uint32_t, 2>>& out) {
  PyObject* seq = PySequence_Fast(obj, "dfa string scan: a run's ranges must be a sequence of (lo, hi)");
  if (seq == nullptr) return false;
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  bool ok = true;
  for (Py_ssize_t q = 0; q < n && ok; ++q) {
    PyObject* pair = PySequence_Fast_GET_ITEM(seq, q);
    long long lo = 0, hi = 0;
    ok = PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2;
    if (!ok) {
      PyErr_SetString(PyExc_TypeError, "dfa string scan: a run's ranges must be (lo, hi) tuples");
      break;
    }
    ok = int_of(PyTuple_GET_ITEM(pair, 0), "a run range's lo", 0x80, 0x10FFFF, lo) &&
         int_of(PyTuple_GET_ITEM(pair, 1), "a run range's hi", lo, 0x10FFFF, hi);
    if (ok && !out.empty() && static_cast<uint32_t>(lo) <= out.back()[1]) {
      PyErr_SetString(PyExc_ValueError, "dfa string scan: a run's ranges must be sorted and disjoint");
      ok = false;
    }
    if (ok) out.push_back({static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)});
  }
  Py_DECREF(seq);
  return ok;
}

// Reads the filter argument of byte_program: (factors, of_pattern[, leading[, adapt[,
// attempts]]]), factors a list of (window start, positions) with positions a list of lists
// of code points, of_pattern K lists of factor indices (empty: the pattern is not
// filtered), leading per pattern True, a run's class or False (see the method's doc), adapt
// whether FilterChoice measures the filter, attempts None or per pattern whether a leading
// or after-run pattern is scanned in attempts.
bool load_filter(PyObject* obj, ByteProgram& prog) {
  PyObject *factors_obj, *of_obj, *lead_obj = Py_None, *att_obj = Py_None;
  int adapt = 1;
  if (!PyArg_ParseTuple(obj, "O!O!|OpO:filter", &PyList_Type, &factors_obj, &PyList_Type, &of_obj, &lead_obj,
                        &adapt, &att_obj)) {
    return false;
  }
  if (att_obj != Py_None && (!PyList_Check(att_obj) || PyList_GET_SIZE(att_obj) != prog.k)) {
    PyErr_SetString(PyExc_ValueError, "dfa string scan: filter's attempts must be None or one bool per pattern");
    return false;
  }
  if (lead_obj != Py_None && (!PyList_Check(lead_obj) || PyList_GET_SIZE(lead_obj) != prog.k)) {
    PyErr_SetString(PyExc_ValueError,
                    "dfa string scan: filter's leading must be None or one entry per pattern (a bool, or a "
                    "run's class as (low ASCII bits, high ASCII bits, ranges above ASCII))");
    return false;
  }
  const Py_ssize_t nf = PyList_GET_SIZE(factors_obj);
  if (nf > kMaxFactors || PyList_GET_SIZE(of_obj) != prog.k || prog.k > cpu::kMaxProduct) {
    PyErr_Format(PyExc_ValueError,
                 "dfa string scan: filter needs at most %d factors and one list per pattern (K <= %d)",
                 kMaxFactors, cpu::kMaxProduct);
    return false;
  }
  auto F = std::make_unique<LiteralFilter>();
  for (Py_ssize_t i = 0; i < nf; ++i) {
    PyObject *item = PyList_GET_ITEM(factors_obj, i), *pos_obj;
    long long at;
    if (!PyArg_ParseTuple(item, "LO!:factor", &at, &PyList_Type, &pos_obj)) return false;
    Factor f;
    f.len = static_cast<int>(PyList_GET_SIZE(pos_obj));
    if (f.len < kMinWindow || f.len > 256 || at < 0 || at + kMinWindow > f.len) {
      PyErr_Format(PyExc_ValueError, "dfa string scan: factor %zd needs %d to 256 positions and its window in them",
                   i, kMinWindow);
      return false;
    }
    f.at = static_cast<int>(at);
    f.width = std::min(kMaxWindow, f.len - f.at);
    for (int p = 0; p < f.len; ++p) {
      PyObject* cps = PyList_GET_ITEM(pos_obj, p);
      if (!PyList_Check(cps) || PyList_GET_SIZE(cps) < 1 || PyList_GET_SIZE(cps) > kFactorSet) {
        PyErr_Format(PyExc_ValueError, "dfa string scan: factor %zd position %d needs 1 to %d code points", i, p,
                     kFactorSet);
        return false;
      }
      std::array<uint32_t, kFactorSet> set{};
      for (Py_ssize_t q = 0; q < PyList_GET_SIZE(cps); ++q) {
        long long cp;
        if (!int_of(PyList_GET_ITEM(cps, q), "a factor's code point", 0, 0x10FFFF, cp)) return false;
        set[q] = static_cast<uint32_t>(cp);
      }
      f.cps.push_back(set);
      f.count.push_back(static_cast<uint8_t>(PyList_GET_SIZE(cps)));
      const uint32_t a = set[0], b = set[1];
      uint64_t mask = 0, value = 0, mask16 = 0, value16 = 0;
      if (f.count[p] == 1 && a < 0x100) {
        mask = 0xFF, value = a;
      } else if (f.count[p] == 2 && (a ^ b) == 0x20 && ((a | 0x20) - 'a') < 26) {
        mask = 0xDF, value = a & 0xDF;
        mask16 = 0xFFDF, value16 = a & 0xDF;
      }
      if (f.count[p] == 1 && a < 0x10000) mask16 = 0xFFFF, value16 = a;
      if (p < 8) {
        f.word_mask |= mask << (8 * p);
        f.word_value |= value << (8 * p);
      }
      if (p < 4) {
        f.word16_mask |= mask16 << (16 * p);
        f.word16_value |= value16 << (16 * p);
      }
    }
    F->factors.push_back(std::move(f));
  }
  F->serves.assign(nf, 0);
  for (int64_t j = 0; j < prog.k; ++j) {
    PyObject* ids = PyList_GET_ITEM(of_obj, j);
    if (!PyList_Check(ids)) {
      PyErr_SetString(PyExc_ValueError, "dfa string scan: filter's of_pattern must hold lists");
      return false;
    }
    uint64_t bits = 0;
    for (Py_ssize_t q = 0; q < PyList_GET_SIZE(ids); ++q) {
      long long fi;
      if (!int_of(PyList_GET_ITEM(ids, q), "a factor index", 0, nf - 1, fi)) return false;
      bits |= uint64_t{1} << fi;
      F->serves[fi] |= uint64_t{1} << j;
    }
    F->of_pattern.push_back(bits);
    int max_at = 0;
    for (uint64_t m = bits; m; m &= m - 1) max_at = std::max(max_at, F->factors[__builtin_ctzll(m)].at);
    F->max_at.push_back(max_at);
    if (bits) F->filtered |= uint64_t{1} << j;
    std::array<uint64_t, 2> run_ascii{};
    std::vector<std::array<uint32_t, 2>> run_high;
    if (bits && lead_obj != Py_None) {
      PyObject* lead = PyList_GET_ITEM(lead_obj, j);
      if (PyTuple_Check(lead)) {
        unsigned long long lo, hi;
        PyObject* ranges;
        if (!PyArg_ParseTuple(lead, "KKO:run", &lo, &hi, &ranges)) return false;
        if (!run_ranges(ranges, run_high)) return false;
        run_ascii = {lo, hi};
        F->after_run |= uint64_t{1} << j;
      } else {
        const int yes = PyObject_IsTrue(lead);
        if (yes < 0) return false;
        if (yes) F->leading |= uint64_t{1} << j;
      }
    }
    if (att_obj != Py_None && ((F->leading | F->after_run) >> j & 1)) {
      const int yes = PyObject_IsTrue(PyList_GET_ITEM(att_obj, j));
      if (yes < 0) return false;
      if (yes) F->attempt |= uint64_t{1} << j;
    }
    F->run_ascii.push_back(run_ascii);
    F->run_high.push_back(std::move(run_high));
    const DfaFastPattern& fast = prog.pats.prep[j].fast;
    F->reject.push_back(fast.start_off / fast.n_classes);
  }
  // Buckets. A bucket's tables take, at each window position, every byte whose low nibble
  // is one of its factors' there and whose high nibble is one of theirs, so factors in one
  // bucket make hits of the crossings of their bytes (`\n\n\n` with ` * ` takes ` \n `
  // and `**\n`). With more factors than buckets they are put together greedily: each time
  // the two groups whose union takes the fewest windows beyond theirs (the product over
  // the window of the bytes each position takes). Factors with the same window share for
  // free (`[Tt]herefore the answer is` with and without its comma).
  for (const Factor& f : F->factors) F->window = std::max(F->window, f.width);
  struct Group {
    std::array<uint16_t, kMaxWindow> lo{}, hi{};
    uint64_t members = 0;
    double takes() const {
      double n = 1;
      for (int p = 0; p < kMaxWindow; ++p) n *= __builtin_popcount(lo[p]) * __builtin_popcount(hi[p]);
      return n;
    }
    Group with(const Group& o) const {
      Group g = *this;
      for (int p = 0; p < kMaxWindow; ++p) g.lo[p] |= o.lo[p], g.hi[p] |= o.hi[p];
      g.members |= o.members;
      return g;
    }
  };
  std::vector<Group> groups(nf);
  for (int i = 0; i < nf; ++i) {
    const Factor& f = F->factors[i];
    Group& g = groups[i];
    g.members = uint64_t{1} << i;
    for (int p = 0; p < kMaxWindow; ++p) {
      if (p >= F->window || p >= f.width) {  // past the window, or past the factor's: any byte
        g.lo[p] = g.hi[p] = 0xFFFF;
        continue;
      }
      for (int q = 0; q < f.count[f.at + p]; ++q) {
        const uint32_t byte = std::min<uint32_t>(f.cps[f.at + p][q], 0xFF);
        g.lo[p] |= static_cast<uint16_t>(1u << (byte & 15));
        g.hi[p] |= static_cast<uint16_t>(1u << (byte >> 4));
      }
    }
  }
  while (groups.size() > static_cast<size_t>(kBuckets)) {
    size_t ba = 0, bb = 1;
    double best = 0;
    for (size_t a = 0; a < groups.size(); ++a) {
      for (size_t b = a + 1; b < groups.size(); ++b) {
        const double extra = groups[a].with(groups[b]).takes() - groups[a].takes() - groups[b].takes();
        if ((a == 0 && b == 1) || extra < best) best = extra, ba = a, bb = b;
      }
    }
    groups[ba] = groups[ba].with(groups[bb]);
    groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(bb));
  }
  // Each group is a bucket: its members, and its nibble sets as the bucket's bits in the tables.
  for (size_t g = 0; g < groups.size(); ++g) {
    F->in_bucket[g] = groups[g].members;
    const uint8_t bit = static_cast<uint8_t>(1u << g);
    for (int p = 0; p < F->window; ++p) {
      for (int q = 0; q < 16; ++q) {
        if ((groups[g].lo[p] >> q) & 1) F->lo[p][q] |= bit;
        if ((groups[g].hi[p] >> q) & 1) F->hi[p][q] |= bit;
      }
    }
  }
  if (F->filtered) {
    prog.filter = std::move(F);
    prog.choice = std::make_unique<FilterChoice>();
    prog.choice->adapt = adapt != 0;
  }
  return true;
}

PyObject* byte_program(PyObject*, PyObject* args) {
  PyObject *cls_obj, *tab_obj, *start_obj, *dead_obj, *filter_obj = Py_None;
  long long budget = kProductBudget;
  if (!PyArg_ParseTuple(args, "OOOO|LO:byte_program", &cls_obj, &tab_obj, &start_obj, &dead_obj,
                        &budget, &filter_obj)) {
    return nullptr;
  }
  if (budget < 0) budget = kProductBudget;
  auto prog = std::make_unique<ByteProgram>();
  if (!cpu::load_patterns(cls_obj, tab_obj, start_obj, dead_obj, 256, kWho, prog->pats)) {
    return nullptr;
  }
  const int64_t k = prog->pats.k, s = prog->pats.n_states;
  prog->k = k;
  prog->budget = budget;
  if (filter_obj != Py_None) {
    if (!PyTuple_Check(filter_obj)) {
      PyErr_SetString(PyExc_TypeError, "dfa string scan: filter must be a tuple (factors, of_pattern) or None");
      return nullptr;
    }
    if (!load_filter(filter_obj, *prog)) return nullptr;
  }
  for (int64_t j = 0; j < k; ++j) prog->accel.push_back(unit_accel(prog->pats.prep[j].fast, s));
  if (k >= 1 && k <= cpu::kMaxProduct) {
    std::vector<DfaFastPattern> fast;
    for (const Prepared& pr : prog->pats.prep) fast.push_back(pr.fast);
    prog->product = std::make_unique<cpu::ProductPool>(std::move(fast), 256, budget, false, true);
  }
  return PyCapsule_New(prog.release(), kCapsule, free_program);
}

PyObject* scan_strings(PyObject*, PyObject* args) {
  PyObject *capsule, *texts, *final_obj, *fd_obj;
  int filtered = 0;
  if (!PyArg_ParseTuple(args, "OO!OO|p:scan_strings", &capsule, &PyList_Type, &texts, &final_obj,
                        &fd_obj, &filtered)) {
    return nullptr;
  }
  auto* prog = static_cast<ByteProgram*>(PyCapsule_GetPointer(capsule, kCapsule));
  if (prog == nullptr) return nullptr;
  const Py_ssize_t b = PyList_GET_SIZE(texts);
  cpu::Buffer fin, fd;
  if (!cpu::get_buffer(final_obj, fin, 2, 4, true, kWho, "final_state (B, K) int32") ||
      !cpu::get_buffer(fd_obj, fd, 2, 8, true, kWho, "first_dead (B, K) int64")) {
    return nullptr;
  }
  if (fin.view.shape[0] != b || fin.view.shape[1] != prog->k || fd.view.shape[0] != b ||
      fd.view.shape[1] != prog->k) {
    PyErr_Format(PyExc_ValueError, "dfa string scan: outputs must have shape (%zd, %lld)", b,
                 static_cast<long long>(prog->k));
    return nullptr;
  }
  std::vector<Text> rows(b);
  std::vector<PyObject*> keep(b);  // the list may change while the GIL is released
  int64_t units = 0;
  for (Py_ssize_t i = 0; i < b; ++i) {
    PyObject* t = PyList_GET_ITEM(texts, i);
    if (!PyUnicode_Check(t)) {
      PyErr_Format(PyExc_TypeError, "dfa string scan: texts[%zd] must be str, got %s", i,
                   Py_TYPE(t)->tp_name);
      for (Py_ssize_t q = 0; q < i; ++q) Py_DECREF(keep[q]);
      return nullptr;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(t) != 0) {
      for (Py_ssize_t q = 0; q < i; ++q) Py_DECREF(keep[q]);
      return nullptr;
    }
#endif
    Py_INCREF(t);
    keep[i] = t;
    rows[i] = Text{PyUnicode_DATA(t), PyUnicode_GET_LENGTH(t), static_cast<int>(PyUnicode_KIND(t)),
                   PyUnicode_IS_ASCII(t) != 0};
    units += rows[i].units;
  }
  const int64_t total = units * prog->k;
  int32_t* out_state = static_cast<int32_t*>(fin.view.buf);
  int64_t* out_fd = static_cast<int64_t*>(fd.view.buf);
  const int64_t k = prog->k;
  // ~64k code units per task; a batch of one short text runs inline, without a pool wake-up.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, total / std::max<Py_ssize_t>(b, 1)));
  Py_BEGIN_ALLOW_THREADS
  const bool product = prog->product != nullptr && (k >= 2 || prog->one_lanes.load());
  std::vector<int64_t> every(k);
  for (int64_t j = 0; j < k; ++j) every[j] = j;
  // Rows idx[0..m) with every pattern.
  const auto scan_all = [&](const int64_t* idx, int64_t m) {
    if (product) return scan_rows_product(*prog, *prog->product, every, rows.data(), idx, m, out_state, out_fd);
    const int64_t stops = scan_each(*prog, every.data(), k, rows.data(), idx, m, out_state, out_fd);
    if (k == 1) {
      int64_t units = 0;
      for (int64_t q = 0; q < m; ++q) units += rows[idx[q]].units;
      prog->one_units += units;
      prog->one_stops += stops;
    }
  };
  bool sample = false;
  const int threads = at::get_num_threads();
  const LiteralFilter* filter =
      filtered && prog->filter && prog->choice->use(units, sample) ? prog->filter.get() : nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t all = k >= 64 ? ~uint64_t{0} : (uint64_t{1} << k) - 1;
  // Rows [i0, i1): without the filter, every pattern on each text. With it (one block: see
  // run), each text's patterns that its factors rule out are reported without a scan (the
  // start state, never dead), and the texts that leave the same patterns go through those
  // patterns' product together.
  const auto run_block = [&](int64_t i0, int64_t i1) {
    std::vector<int64_t> idx(i1 - i0);
    for (int64_t i = i0; i < i1; ++i) idx[i - i0] = i;
    if (filter == nullptr) return scan_all(idx.data(), i1 - i0);
    // Each text's filter pass; the patterns it rules out are written at once, and so are
    // those its attempts settle (Attempts). Those found whose every match starts with a
    // factor (or with a run of one class and then a factor), if not in attempts, are
    // scanned alone, from the first of its factors' windows less
    // its largest window start (and back over the run of the class before that), less one
    // unit for the look-behind of `\b`, `\B` or a multiline `^`. No match starts earlier,
    // and a scan from any earlier unit finds every match starting after it.
    std::vector<uint64_t> live(i1 - i0);  // by row - i0: the patterns to scan from the start
    int64_t first[64];
    // Per pattern scanned from a later unit: its rows and what to scan of each. Those go
    // through the pattern's product of one, four texts in lockstep, which steps a text
    // with frequent exits faster than one text's jumps do.
    std::vector<std::vector<int64_t>> late_rows(k);
    std::vector<std::vector<Text>> late_texts(k);
    Attempts att{*prog, *filter};
    for (int64_t i = i0; i < i1; ++i) {
      if (i + 1 < i1) prefetch_text(rows[i + 1]);
      const uint64_t out = ruled_out(*filter, rows[i], first, att);
      const uint64_t late = (filter->leading | filter->after_run) & ~out & ~att.mask;
      for (uint64_t m = out; m; m &= m - 1) {
        const int j = __builtin_ctzll(m);
        out_state[i * k + j] = filter->reject[j];
        out_fd[i * k + j] = -1;
      }
      for (uint64_t m = att.mask & ~out; m; m &= m - 1) {  // settled by their attempts
        const int j = __builtin_ctzll(m);
        out_state[i * k + j] = att.state[j];
        out_fd[i * k + j] = -1;
      }
      for (uint64_t m = late; m; m &= m - 1) {
        const int j = __builtin_ctzll(m);
        int64_t from = std::max<int64_t>(0, first[j] - filter->max_at[j]);
        if ((filter->after_run >> j) & 1) from = run_start(*filter, j, rows[i], from);
        from = std::max<int64_t>(0, from - 1);
        Text rest = rows[i];
        rest.data = static_cast<const char*>(rest.data) + from * rest.kind;
        rest.units -= from;
        late_rows[j].push_back(i);
        late_texts[j].push_back(rest);
      }
      live[i - i0] = all & ~out & ~late & ~att.mask;
    }
    for (int64_t j = 0; j < k; ++j) {
      const int64_t m = static_cast<int64_t>(late_rows[j].size());
      if (m == 0) continue;
      cpu::ProductPool* pool = subset_pool(*prog, uint64_t{1} << j);
      if (pool != nullptr) {
        scan_rows_product(*prog, *pool, {j}, rows.data(), late_rows[j].data(), m, out_state, out_fd,
                          late_texts[j].data());
      } else {
        scan_each(*prog, &j, 1, rows.data(), late_rows[j].data(), m, out_state, out_fd, late_texts[j].data());
      }
      for (const int64_t i : late_rows[j]) out_fd[i * k + j] = -1;  // a filtered pattern cannot die
    }
    const auto live_of = [&](int64_t i) { return live[i - i0]; };
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t x, int64_t y) { return live_of(x) < live_of(y); });
    for (size_t g0 = 0, g1; g0 < idx.size(); g0 = g1) {
      const uint64_t keep = live_of(idx[g0]);
      for (g1 = g0 + 1; g1 < idx.size() && live_of(idx[g1]) == keep; ++g1) {
      }
      const int64_t* group = idx.data() + g0;
      const int64_t m = static_cast<int64_t>(g1 - g0);
      if (keep == all) {
        scan_all(group, m);
        continue;
      }
      if (keep == 0) continue;
      cpu::ProductPool* pool = subset_pool(*prog, keep);
      if (pool != nullptr) {
        scan_rows_product(*prog, *pool, bits_of(keep), rows.data(), group, m, out_state, out_fd);
      } else {
        scan_all(group, m);  // no pool for this set: every pattern, exactly
      }
    }
  };
  // Without the filter each text is read once. With it, the filter pass reads a text and
  // the product of its patterns left reads it again, so the rows go in blocks of about
  // kBlockBytes of text, each block's filter pass and then its scans: the second read
  // finds the text in cache, where after a whole batch's filter pass (6 MB for 4096 real
  // completions) it came from memory.
  const auto run = [&](int64_t i0, int64_t i1) {
    if (filter == nullptr) return run_block(i0, i1);
    for (int64_t a = i0, c; a < i1; a = c) {
      int64_t bytes = 0;
      for (c = a; c < i1 && (c == a || bytes < kBlockBytes); ++c) bytes += rows[c].units * rows[c].kind;
      run_block(a, c);
    }
  };
  if (total < (int64_t{1} << 16)) {
    run(0, b);
  } else {
    at::parallel_for(0, b, grain, run);
  }
  if (sample) {
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    prog->choice->record(filter != nullptr, ns / static_cast<double>(units), threads);
  }
  if (!product && prog->product != nullptr) {
    const int64_t seen = prog->one_units.load(), stops = prog->one_stops.load();
    if (seen >= kOneEvidence && seen < kUnitsPerStop * stops) prog->one_lanes = true;
  }
  Py_END_ALLOW_THREADS
  for (Py_ssize_t i = 0; i < b; ++i) Py_DECREF(keep[i]);
  Py_RETURN_NONE;
}

// Whether `obj` is a list whose every item is exactly of one type (Is): a list of str is
// the batch of bare completions, its own list of texts; a list of float, a reward's scores
// that need no conversion. One pass in C (~2 ns an item, against ~25-30 ns for
// set(map(type, items))).
inline bool is_str(PyObject* o) { return PyUnicode_CheckExact(o); }
inline bool is_float(PyObject* o) { return PyFloat_CheckExact(o); }

template <bool (*Is)(PyObject*)>
PyObject* list_of(PyObject*, PyObject* obj) {
  if (!PyList_CheckExact(obj)) Py_RETURN_FALSE;
  const Py_ssize_t n = PyList_GET_SIZE(obj);
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!Is(PyList_GET_ITEM(obj, i))) Py_RETURN_FALSE;
  }
  Py_RETURN_TRUE;
}

// P lists of B items, out[p][b] = tables[p][codes[b, p]]: each part's scores as Python lists
// read from the few floats it can take, with a new reference per item and no float made.
template <typename T>
PyObject* gather_lists_of(const T* codes, Py_ssize_t b, Py_ssize_t p, PyObject* tables) {
  PyObject* out = PyList_New(p);
  if (out == nullptr) return nullptr;
  for (Py_ssize_t j = 0; j < p; ++j) {
    PyObject* table = PyList_GET_ITEM(tables, j);
    const Py_ssize_t size = PyList_GET_SIZE(table);
    PyObject* row = PyList_New(b);
    if (row == nullptr) {
      Py_DECREF(out);
      return nullptr;
    }
    PyList_SET_ITEM(out, j, row);
    for (Py_ssize_t i = 0; i < b; ++i) {
      const T c = codes[i * p + j];
      if (static_cast<uint64_t>(c) >= static_cast<uint64_t>(size)) {
        PyErr_Format(PyExc_ValueError, "gather_lists: codes[%zd, %zd] = %lld is not an index of tables[%zd] (0 .. %zd)",
                     i, j, static_cast<long long>(c), j, size - 1);
        Py_DECREF(out);  // the items set so far go with it; the rest are NULL, which lists allow
        return nullptr;
      }
      PyObject* item = PyList_GET_ITEM(table, c);
      Py_INCREF(item);
      PyList_SET_ITEM(row, i, item);
    }
  }
  return out;
}

PyObject* gather_lists(PyObject*, PyObject* args) {
  PyObject *codes_obj, *tables;
  if (!PyArg_ParseTuple(args, "OO!:gather_lists", &codes_obj, &PyList_Type, &tables)) return nullptr;
  Py_buffer view{};
  if (PyObject_GetBuffer(codes_obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) return nullptr;
  // Integers only: the struct code's last character (after any byte-order mark).
  const char* fmt = view.format != nullptr ? view.format : "B";
  const char code = fmt[std::strlen(fmt) - 1];
  const bool wide = view.itemsize == 8 && (code == 'q' || code == 'l');
  const bool narrow = view.itemsize == 1 && (code == 'B' || code == '?');
  PyObject* out = nullptr;
  const Py_ssize_t p = view.ndim == 2 ? view.shape[1] : -1;
  if (view.ndim != 2 || (!narrow && !wide)) {
    PyErr_Format(PyExc_ValueError, "gather_lists: codes must be a C-contiguous (B, P) array of uint8, bool or int64, "
                 "got %d-D of %zd-byte items '%s'", view.ndim, view.itemsize, fmt);
  } else if (PyList_GET_SIZE(tables) != p) {
    PyErr_Format(PyExc_ValueError, "gather_lists: tables must hold a list per column of codes (%zd), got %zd",
                 p, PyList_GET_SIZE(tables));
  } else {
    bool lists = true;
    for (Py_ssize_t j = 0; j < p && lists; ++j) lists = PyList_Check(PyList_GET_ITEM(tables, j));
    if (!lists) {
      PyErr_SetString(PyExc_TypeError, "gather_lists: tables must be a list of lists");
    } else if (wide) {
      out = gather_lists_of(static_cast<const int64_t*>(view.buf), view.shape[0], p, tables);
    } else {
      out = gather_lists_of(static_cast<const uint8_t*>(view.buf), view.shape[0], p, tables);
    }
  }
  PyBuffer_Release(&view);
  return out;
}

PyObject* filter_choice(PyObject*, PyObject* args) {
  PyObject* capsule;
  if (!PyArg_ParseTuple(args, "O:filter_choice", &capsule)) return nullptr;
  auto* prog = static_cast<ByteProgram*>(PyCapsule_GetPointer(capsule, kCapsule));
  if (prog == nullptr) return nullptr;
  if (!prog->filter) Py_RETURN_NONE;
  FilterChoice& c = *prog->choice;
  std::lock_guard<std::mutex> lock(c.mu);
  PyObject* ratios = PyList_New(0);
  if (ratios == nullptr) return nullptr;
  for (int i = 0; i < c.pairs; ++i) {
    PyObject* r = PyFloat_FromDouble(c.ratio[i]);
    if (r == nullptr || PyList_Append(ratios, r) != 0) {
      Py_XDECREF(r);
      Py_DECREF(ratios);
      return nullptr;
    }
    Py_DECREF(r);
  }
  PyObject* buckets = PyList_New(0);  // the factor indices of each bucket in use
  if (buckets == nullptr) {
    Py_DECREF(ratios);
    return nullptr;
  }
  for (int k = 0; k < kBuckets; ++k) {
    if (prog->filter->in_bucket[k] == 0) continue;
    PyObject* ids = PyList_New(0);
    bool ok = ids != nullptr && PyList_Append(buckets, ids) == 0;
    for (uint64_t m = prog->filter->in_bucket[k]; ok && m; m &= m - 1) {
      PyObject* i = PyLong_FromLong(__builtin_ctzll(m));
      ok = i != nullptr && PyList_Append(ids, i) == 0;
      Py_XDECREF(i);
    }
    Py_XDECREF(ids);
    if (!ok) {
      Py_DECREF(ratios);
      Py_DECREF(buckets);
      return nullptr;
    }
  }
  return Py_BuildValue("{s:O,s:O,s:N,s:L,s:N}", "on", c.on ? Py_True : Py_False, "adapts",
                       c.adapt ? Py_True : Py_False, "ratios", ratios, "review",
                       static_cast<long long>(c.review), "buckets", buckets);
}

// out[b, k] = values[k, final[b, k]]: each pattern's verdict for its final state (a negative
// state counts from the end, as the scan op's error states -1 and -2 do). Torch's
// and numpy's gathers cost ~2-5 ns an element at (4096, 16), more than some scans.
PyObject* accept_values(PyObject*, PyObject* args) {
  PyObject *values_obj, *final_obj, *out_obj;
  if (!PyArg_ParseTuple(args, "OOO:accept_values", &values_obj, &final_obj, &out_obj)) return nullptr;
  constexpr const char* who = "accept_values";
  cpu::Buffer val, fin, out;
  if (!cpu::get_buffer(values_obj, val, 2, 4, false, who, "values (K, S) float32") ||
      !cpu::get_buffer(final_obj, fin, 2, 4, false, who, "final_state (B, K) int32") ||
      !cpu::get_buffer(out_obj, out, 2, 4, true, who, "out (B, K) float32")) {
    return nullptr;
  }
  const Py_ssize_t k = val.view.shape[0], s = val.view.shape[1], b = fin.view.shape[0];
  if (fin.view.shape[1] != k || out.view.shape[0] != b || out.view.shape[1] != k) {
    PyErr_Format(PyExc_ValueError, "%s: final_state and out must have shape (B, %zd), got (%zd, %zd) and (%zd, %zd)",
                 who, k, b, fin.view.shape[1], out.view.shape[0], out.view.shape[1]);
    return nullptr;
  }
  const float* v = static_cast<const float*>(val.view.buf);
  const int32_t* f = static_cast<const int32_t*>(fin.view.buf);
  float* o = static_cast<float*>(out.view.buf);
  int64_t bad = 0;
  Py_ssize_t at = -1;
  for (Py_ssize_t r = 0; r < b; ++r) {
    for (Py_ssize_t j = 0; j < k; ++j) {
      const Py_ssize_t i = r * k + j;
      const int64_t q = f[i];
      const int64_t at_q = q < 0 ? q + s : q;  // as torch indexes: -1 is the last column
      const bool ok = static_cast<uint64_t>(at_q) < static_cast<uint64_t>(s);
      o[i] = v[j * s + (ok ? at_q : 0)];
      if (!ok && at < 0) at = i, bad = q;
    }
  }
  if (at >= 0) {
    PyErr_Format(PyExc_ValueError, "%s: final_state[%zd, %zd] = %lld is not a column of values (-%zd .. %zd)", who,
                 at / k, at % k, static_cast<long long>(bad), s, s - 1);
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyMethodDef kMethods[] = {
    {"byte_program", byte_program, METH_VARARGS,
     "byte_program(class_ids, tables, starts, dead[, budget[, filter]]) -> program: K byte DFAs "
     "(int32 arrays (K, V>=256), (K, S, C), (K,), (K,)) prepared for scan_strings; budget: bytes "
     "per product engine (K >= 2), past which a text is scanned pattern by pattern (-1: the "
     "default); filter: "
     "(factors, of_pattern[, leading[, adapt[, attempts]]]), factors a list of (window start, positions), "
     "positions a list of lists of code points, of_pattern K lists of factor indices: a text "
     "holding none of a pattern's factors cannot match it (patterns that can die must have none); "
     "leading: None or, per pattern, True when every match starts with one of its factors, a "
     "run's class (low ASCII bits, high ASCII bits, its members above ASCII as sorted disjoint "
     "(lo, hi) code point ranges) when every match is a run of "
     "that class and then one, else False; adapt (default True): use the filter only where calls measure it faster, else "
     "always; attempts: None or, per pattern, True to scan a leading or run-then-factor pattern only around each "
     "hit of its factors (for a pattern with no assertion, in search mode)."},
    {"scan_strings", scan_strings, METH_VARARGS,
     "scan_strings(program, texts, final_state, first_dead[, filtered]): scans a list of str with "
     "every pattern, writing (B, K) int32 final states and (B, K) int64 first-dead byte offsets; "
     "filtered: a pattern that the program's filter rules out of a text is not scanned (its "
     "final state is reported as the start state, which does not accept)."},
    {"accept_values", accept_values, METH_VARARGS,
     "accept_values(values, final_state, out): out[b, k] = values[k, final_state[b, k]], values (K, S) "
     "float32, final_state (B, K) int32 (negative: from the end, as in torch), out (B, K) float32; a "
     "final state outside -S .. S - 1 is a ValueError that names it."},
    {"all_str", list_of<is_str>, METH_O,
     "all_str(obj) -> bool: whether obj is a list whose every item is exactly a str."},
    {"all_float", list_of<is_float>, METH_O,
     "all_float(obj) -> bool: whether obj is a list whose every item is exactly a float."},
    {"gather_lists", gather_lists, METH_VARARGS,
     "gather_lists(codes, tables) -> list of P lists: out[p][b] = tables[p][codes[b, p]], codes a "
     "C-contiguous (B, P) array of uint8 or int64, tables a list of P lists; a code outside its "
     "table is a ValueError that names it."},
    {"filter_choice", filter_choice, METH_VARARGS,
     "filter_choice(program) -> None or {'on', 'adapts', 'ratios', 'review', 'buckets'}: whether the "
     "program's literal filter is in use for large calls, whether that is measured, the time ratios "
     "(with / without) of the pairs of calls measured so far, the large calls from the choice to its "
     "review, and the factor indices that share each bucket of the filter's pass."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

PyMethodDef* string_scan_methods() { return kMethods; }

}  // namespace twinkle
