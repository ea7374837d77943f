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
#include <Python.h>

#include <ATen/Parallel.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <cwchar>
#include <memory>
#include <mutex>
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
// kMaxUnitEscapes: the scan steps) and whether a byte >= 0x80 leaves it. A scan jumps to
// the next unit that is an ASCII exit or, where such a byte leaves, a non-ASCII code point.
// As many exit bytes as a product state keeps.
constexpr int kMaxUnitEscapes = cpu::ProductDfa::kMaxByteEscapes;

struct UnitAccel {
  std::vector<int8_t> count;                                  // by row offset
  std::vector<std::array<uint8_t, kMaxUnitEscapes>> bytes;   // by state
  std::vector<std::array<uint8_t, 16>> table;                 // by state: the bytes' set
  std::vector<uint8_t> high;                                  // by state
  bool any = false;                                           // some count >= 0
};

UnitAccel unit_accel(const DfaFastPattern& f, int64_t n_states) {
  UnitAccel a;
  const int64_t c = f.n_classes;
  a.count.assign(n_states * c, -1);
  a.bytes.resize(n_states);
  a.table.assign(n_states, {});
  a.high.assign(n_states, 0);
  for (int64_t st = 0; st < n_states; ++st) {
    const int32_t off = static_cast<int32_t>(st * c);
    int cnt = 0;
    for (int b = 0; b < 0x80 && cnt <= kMaxUnitEscapes; ++b) {
      if (f.offsets[off + f.class_ids[b]] == off) continue;
      if (cnt < kMaxUnitEscapes) a.bytes[st][cnt] = static_cast<uint8_t>(b);
      cpu::exit_table_add(a.table[st].data(), static_cast<uint8_t>(b));
      ++cnt;
    }
    for (int b = 0x80; b < 256 && !a.high[st]; ++b) a.high[st] = f.offsets[off + f.class_ids[b]] != off;
    if (cnt <= kMaxUnitEscapes) {
      a.count[off] = static_cast<int8_t>(cnt);
      a.any = true;
    }
  }
  return a;
}

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
};

// A pattern whose scans stop (jump or step) more often than every kUnitsPerStop units, over
// at least kOneEvidence units, is scanned in the lanes.
constexpr int64_t kUnitsPerStop = 16;
constexpr int64_t kOneEvidence = int64_t{1} << 18;

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

#if defined(__x86_64__) && defined(__GNUC__)
// ---- one pass for a set of exit units (AVX2 hosts: byte shuffles, 16 or 32 units a step) --
//
// Sixteen units narrowed to bytes (code points above 0xFF saturate to 0xFF, so every
// non-ASCII unit has its top bit set; one-byte storage is read 32 bytes at a time as it
// lies), then a set of ASCII bytes tested in two shuffles:
// the table at a byte's low nibble holds a bit per high nibble (0-7) whose byte is in the
// set, and the high nibble picks its bit (none for 8-15: non-ASCII never matches the set).
// `want_high` adds every non-ASCII unit. About 1 instruction a unit whatever the set's
// size, where a search per exit byte reads the text once per byte.

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

// One-byte storage: 32 bytes a step with AVX2's 256-bit shuffles (each 128-bit half
// shuffles within itself, so the tables are the 16-byte ones twice). Returns the first
// index at or after i in the set, or the first index of the last (n - i) % 32 units when
// none is before them.
__attribute__((target("avx2"))) inline int64_t find_set32(const uint8_t* s, int64_t i, int64_t n,
                                                         const uint8_t* table, bool want_high) {
  const __m256i lo_tab =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table)));
  const __m256i bit_tab = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, static_cast<char>(0x80), 0,
                                           0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64,
                                           static_cast<char>(0x80), 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i nib = _mm256_set1_epi8(0x0F);
  const __m256i zero = _mm256_setzero_si256();
  const uint32_t high_mask = want_high ? 0xFFFFFFFFu : 0u;
  for (; i + 32 <= n; i += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
    const __m256i lo = _mm256_and_si256(x, nib);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), nib);
    const __m256i in =
        _mm256_and_si256(_mm256_shuffle_epi8(lo_tab, lo), _mm256_shuffle_epi8(bit_tab, hi));
    const uint32_t hit =
        ~static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(in, zero))) |
        (static_cast<uint32_t>(_mm256_movemask_epi8(x)) & high_mask);
    if (hit) return i + __builtin_ctz(hit);
  }
  return i;
}

template <typename CU>
__attribute__((target("avx2"))) int64_t find_set(const CU* s, int64_t i, int64_t n,
                                                 const uint8_t* table, bool want_high) {
  if constexpr (sizeof(CU) == 1) {
    i = find_set32(s, i, n, table, want_high);
    if (i + 32 <= n) return i;  // a hit before the tail
  }
  const __m128i lo_tab = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table));
  const __m128i bit_tab = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, static_cast<char>(0x80), 0, 0, 0,
                                        0, 0, 0, 0, 0);
  const __m128i nib = _mm_set1_epi8(0x0F);
  const __m128i zero = _mm_setzero_si128();
  const int high_mask = want_high ? 0xFFFF : 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i x = narrow16(s + i);
    const __m128i lo = _mm_and_si128(x, nib);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), nib);
    const __m128i in = _mm_and_si128(_mm_shuffle_epi8(lo_tab, lo), _mm_shuffle_epi8(bit_tab, hi));
    const int hit = (~_mm_movemask_epi8(_mm_cmpeq_epi8(in, zero)) & 0xFFFF) |
                    (_mm_movemask_epi8(x) & high_mask);
    if (hit) return i + __builtin_ctz(static_cast<unsigned>(hit));
  }
  for (; i < n; ++i) {
    const uint32_t u = static_cast<uint32_t>(s[i]);
    if (u >= 0x80 ? want_high : ((table[u & 15] >> (u >> 4)) & 1) != 0) return i;
  }
  return n;
}
#endif

// next_stop's cache of per-exit searches (index 0x80: the next non-ASCII unit), cleared on
// first use: most texts never need it (one exit, or AVX2), and clearing 1 KB per text
// cost ~20 ns, more than scanning a short text.
class ExitCache {
 public:
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
// bytes (exit(k); `table`: the same set, cpu::exit_table_add's), or non-ASCII when `high`;
// n when none. One exit: one search. Else, with AVX2, one pass for the whole set
// (find_set); without, a search per exit, each cached until the scan passes it, as
// cpu::next_exit does.
template <typename CU, typename Exit>
inline int64_t next_stop(const CU* s, int64_t i, int64_t n, int cnt, bool high,
                         const uint8_t* table, Exit exit, ExitCache& cache) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu::cpu_has_avx2() && cnt + (high ? 1 : 0) > 1) return find_set(s, i, n, table, high);
#endif
  if (cnt + (high ? 1 : 0) == 1) return cnt == 1 ? find_unit(s, i, n, exit(0)) : find_high(s, i, n);
  return cpu::next_exit(
      i, n, cnt + (high ? 1 : 0), [&](int k) { return k < cnt ? exit(k) : uint8_t{0x80}; }, cache.get(),
      [&](uint8_t e) { return e == 0x80 ? find_high(s, i, n) : find_unit(s, i, n, e); });
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
        const bool h = !ascii && a.high[st];
        if (cnt == 0 && !h) break;  // no unit of this text can leave the state
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

// Pattern j alone on one text; `stops` gains the units it stepped.
DfaResult scan_text(const ByteProgram& prog, int64_t j, const Text& t, int64_t& stops) {
  const Prepared& p = prog.pats.prep[j];
  const UnitAccel& a = prog.accel[j];
  // ASCII storage is the UTF-8 encoding itself, with no byte >= 0x80.
  if (t.kind == 1) return scan_units(p.fast, a, t.ascii, static_cast<const uint8_t*>(t.data), t.units, stops);
  if (t.kind == 2) return scan_units(p.fast, a, false, static_cast<const uint16_t*>(t.data), t.units, stops);
  return scan_units(p.fast, a, false, static_cast<const uint32_t*>(t.data), t.units, stops);
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
  for (int j = 0; j < d.k(); ++j) fd[j] = ((L.mask >> j) & 1) && L.n > 0 ? 0 : -1;
  L.next.reset();
}

// One step of a lane at unit L.i: in a state with few ASCII exits the jump to the next
// unit that can leave it, then that unit's bytes. 1: the text is done, 0: go on, -1: the
// engine's budget is spent.
template <typename CU>
int lane_unit(ProductDfa& d, UnitLane<CU>& L) {
  const int32_t* meta = d.rows() + L.off;
  const int cnt = meta[1];
  if (cnt >= 0) {
    const bool high = meta[3] && !L.ascii;
    if (cnt == 0 && !high) return 1;  // no unit of this text can leave the state
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

// Rows [i0, i1) with every pattern through one product, four texts at a time per storage
// kind (ASCII text with Latin-1). A text that spends the engine's budget resets it and is
// scanned pattern by pattern.
void scan_rows_product(ByteProgram& prog, const Text* rows, int64_t i0, int64_t i1,
                       int32_t* out_state, int64_t* out_fd) {
  cpu::ProductPool::Lease eng(*prog.product);
  ProductDfa& d = *eng;
  const int64_t k = prog.k;
  const auto alone = [&](int64_t i) {
    int64_t stops = 0;
    for (int64_t j = 0; j < k; ++j) {
      const DfaResult r = scan_text(prog, j, rows[i], stops);
      out_state[i * k + j] = r.state;
      out_fd[i * k + j] = r.first_dead;
    }
  };
  std::vector<int64_t> by_kind[3];
  for (int64_t i = i0; i < i1; ++i) by_kind[rows[i].kind == 1 ? 0 : rows[i].kind == 2 ? 1 : 2].push_back(i);
  const auto run = [&](const std::vector<int64_t>& order, auto unit) {
    using CU = decltype(unit);
    const int64_t m = static_cast<int64_t>(order.size());
    product_units_lockstep<CU>(d, rows, order.data(), m, k, out_state, out_fd, alone);
  };
  run(by_kind[0], uint8_t{});
  run(by_kind[1], uint16_t{});
  run(by_kind[2], uint32_t{});
}

// ---- Python glue -------------------------------------------------------------------------

void free_program(PyObject* capsule) {
  delete static_cast<ByteProgram*>(PyCapsule_GetPointer(capsule, kCapsule));
}

PyObject* byte_program(PyObject*, PyObject* args) {
  PyObject *cls_obj, *tab_obj, *start_obj, *dead_obj;
  long long budget = kProductBudget;
  if (!PyArg_ParseTuple(args, "OOOO|L:byte_program", &cls_obj, &tab_obj, &start_obj, &dead_obj,
                        &budget)) {
    return nullptr;
  }
  auto prog = std::make_unique<ByteProgram>();
  if (!cpu::load_patterns(cls_obj, tab_obj, start_obj, dead_obj, 256, kWho, prog->pats)) {
    return nullptr;
  }
  const int64_t k = prog->pats.k, s = prog->pats.n_states;
  prog->k = k;
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
  if (!PyArg_ParseTuple(args, "OO!OO:scan_strings", &capsule, &PyList_Type, &texts, &final_obj,
                        &fd_obj)) {
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
  int64_t total = 0;
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
    total += rows[i].units * prog->k;
  }
  int32_t* out_state = static_cast<int32_t*>(fin.view.buf);
  int64_t* out_fd = static_cast<int64_t*>(fd.view.buf);
  const int64_t k = prog->k;
  // ~64k code units per task; a batch of one short text runs inline, without a pool wake-up.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, total / std::max<Py_ssize_t>(b, 1)));
  Py_BEGIN_ALLOW_THREADS
  const bool product = prog->product != nullptr && (k >= 2 || prog->one_lanes.load());
  const auto run = [&](int64_t i0, int64_t i1) {
    if (product) return scan_rows_product(*prog, rows.data(), i0, i1, out_state, out_fd);
    int64_t stops = 0, units = 0;
    for (int64_t i = i0; i < i1; ++i) {
      units += rows[i].units;
      for (int64_t j = 0; j < k; ++j) {
        const DfaResult r = scan_text(*prog, j, rows[i], stops);
        out_state[i * k + j] = r.state;
        out_fd[i * k + j] = r.first_dead;
      }
    }
    if (k == 1) {
      prog->one_units += units;
      prog->one_stops += stops;
    }
  };
  if (total < (int64_t{1} << 16)) {
    run(0, b);
  } else {
    at::parallel_for(0, b, grain, run);
  }
  if (!product && prog->product != nullptr) {
    const int64_t units = prog->one_units.load(), stops = prog->one_stops.load();
    if (units >= kOneEvidence && units < kUnitsPerStop * stops) prog->one_lanes = true;
  }
  Py_END_ALLOW_THREADS
  for (Py_ssize_t i = 0; i < b; ++i) Py_DECREF(keep[i]);
  Py_RETURN_NONE;
}

PyMethodDef kMethods[] = {
    {"byte_program", byte_program, METH_VARARGS,
     "byte_program(class_ids, tables, starts, dead[, budget]) -> program: K byte DFAs (int32 "
     "arrays (K, V>=256), (K, S, C), (K,), (K,)) prepared for scan_strings; budget: bytes per "
     "product engine (K >= 2), past which a text is scanned pattern by pattern."},
    {"scan_strings", scan_strings, METH_VARARGS,
     "scan_strings(program, texts, final_state, first_dead): scans a list of str with every "
     "pattern, writing (B, K) int32 final states and (B, K) int64 first-dead byte offsets."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

PyMethodDef* string_scan_methods() { return kMethods; }

}  // namespace twinkle
