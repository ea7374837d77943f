// K patterns in one pass: a product DFA built lazily while scanning, as RE2 and Hyperscan
// build theirs. Shared by the op (dfa_multi.cpp) and the string scanner (dfa_strings.cpp);
// no torch headers.
//
// Invariants:
//  * Every pattern in a product passed cpu::prepare (start, transitions and dead sink valid);
//    patterns that did not are scanned alone by the caller, with their exact errors.
//  * A product state is the K-tuple of per-pattern row offsets; a product class is the
//    K-tuple of per-pattern classes of an id. Both get dense ids the first time a scan
//    reaches them, so only combinations real text reaches are ever built.
//  * Results equal scanning each pattern alone: the product state holds each pattern's state
//    exactly, a pattern's first-dead position is the token whose transition first adds it to
//    the state's dead mask, and a row holding an id that is out of range or has an invalid
//    class for some pattern is not scanned here (scan_ids returns false): the caller scans
//    it pattern by pattern, which reports each pattern's error (or its absence) exactly.
//  * The cache is bounded (budget_bytes); a scan that would exceed it returns false with
//    spent() true, and reset() empties the states (the class map stays valid).
//  * Token skip (token ids, when asked for): a product state that most ids leave unchanged
//    gets a bitset over the ids, the AND of each pattern's stay bits in its state, and the
//    scan skips runs of staying ids with cpu::skip_stays, as the one-pattern scan does. An
//    id outside [0, V) or with an invalid class for some pattern has no bit, so the checked
//    step still sees it. A state's bitset is built after a few visits, and dropped again
//    when the text leaves it too often for the skip to pay.
#pragma once

#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "dfa_accel.h"

namespace twinkle {
namespace cpu {

// Adds ASCII byte b to a 16-byte set table: the byte at b's low nibble holds a bit per
// high nibble (0-7), as the string scanner's one-pass search (find_set) reads it.
inline void exit_table_add(uint8_t* table, uint8_t b) {
  table[b & 15] |= static_cast<uint8_t>(1u << (b >> 4));
}

// The code points whose UTF-8 bytes can take a state elsewhere, as one range [lo, hi] that
// holds them all (lo > hi: none), for a scan of str storage that jumps over the others.
// A code point leaves the state at once when its lead byte does; when the lead byte loops,
// the continuation bytes are read in the same state, so they matter only where one of
// them leaves it, and then every non-ASCII code point is kept. A lone surrogate (U+D800 to
// U+DFFF) is read as U+FFFD, whose lead byte is 0xEF: the range holds them where 0xEF
// leaves. C0, C1 and F5-FF lead no code point Python stores.
struct HighRange {
  uint32_t lo = 1, hi = 0;
  bool any() const { return lo <= hi; }
  bool has(uint32_t u) const { return lo <= u && u <= hi; }
};

// `leaves(b)`: whether byte b (>= 0x80) takes the state elsewhere.
template <typename Leaves>
inline HighRange high_range(Leaves leaves) {
  HighRange r{UINT32_MAX, 0};
  for (int b = 0x80; b < 0xC0; ++b) {
    if (leaves(static_cast<uint8_t>(b))) return HighRange{0x80, 0x10FFFF};
  }
  const auto add = [&](uint32_t lo, uint32_t hi) {
    r.lo = std::min(r.lo, lo);
    r.hi = std::max(r.hi, hi);
  };
  for (int b = 0xC2; b < 0xF5; ++b) {
    if (!leaves(static_cast<uint8_t>(b))) continue;
    // The code points of each length start at 0x80, 0x800 and 0x10000 (shorter forms of
    // the same lead bytes are overlong: never an encoding).
    if (b < 0xE0) {
      const uint32_t lo = static_cast<uint32_t>(b & 0x1F) << 6;
      add(std::max<uint32_t>(lo, 0x80), lo | 0x3F);
    } else if (b < 0xF0) {
      const uint32_t lo = static_cast<uint32_t>(b & 0x0F) << 12;
      add(std::max<uint32_t>(lo, 0x800), lo | 0xFFF);
      if (b == 0xEF) add(0xD800, 0xDFFF);
    } else {
      const uint32_t lo = static_cast<uint32_t>(b & 0x07) << 18;
      add(std::max<uint32_t>(lo, 0x10000), lo | 0x3FFFF);
    }
  }
  return r.lo <= r.hi ? r : HighRange{};
}

constexpr int kMaxProduct = 64;  // patterns per product: one bit each in a uint64 dead mask
constexpr int kIdLanes = 4;      // rows per lockstep group

// One row of ids where a scan is: resumable, so rows can step in lockstep.
template <typename Id>
struct IdLane {
  const Id* row = nullptr;
  int64_t n = 0, t = 0;
  int32_t off = 0;
  uint64_t mask = 0;
  bool stuck = false;
  int32_t* state = nullptr;
  int64_t* first_dead = nullptr;
};

template <typename Id>
struct RowView {
  const Id* row;
  int64_t n;
  int32_t* state;
  int64_t* first_dead;
};

template <typename Id>
using RowOf = std::function<RowView<Id>(int64_t)>;

class ProductDfa {
 public:
  // Each row of the transition array: kMeta words, then one entry per product class.
  // Meta: [0] state id; [1] the count of ASCII bytes that leave the state (-1: more than
  // kMaxByteEscapes; set when a string scanner's byte product interns the state,
  // kEscUnknown otherwise); [2] the first four of those bytes packed; [3] 1 when some byte
  // >= 0x80 leaves it; [4] the state's token skip: a bitset index, kSkipNone, or
  // kSkipUndecided; [5] the next four exit bytes; [6..9] the same ASCII exits as a
  // 16-byte nibble table (exit_table_add), for the string scanner's one-pass search;
  // [10..11] where [3] is set, the code points that can leave it (high_range: lo, hi).
  static constexpr int kMeta = 12;
  static constexpr int kExitTable = 6;
  static constexpr int kHighRange = 10;
  static constexpr int kMaxByteEscapes = 8;
  static constexpr int32_t kEscUnknown = -2;
  static constexpr int32_t kSkipNone = -1;
  static constexpr int32_t kSkipUndecided = -2;
  static constexpr int32_t kUnbuilt = -1;
  static constexpr int32_t kFlag = INT32_MIN;
  static int32_t next_of(int32_t e) { return e & INT32_MAX; }

  // `vocab`: the ids the class map covers (V for token ids, 256 for bytes, built eagerly).
  // `token_skip`: build skip bitsets for token ids (worth it for an engine kept across
  // calls: each pattern state's bits cost a pass over its class table once).
  // `byte_escapes` (vocab 256, the string scanner): compute each state's exit bytes as it is
  // interned (meta[1..3]) and flag the entries into states with few ASCII exits.
  ProductDfa(const std::vector<DfaFastPattern>& pats, int64_t vocab, int64_t budget_bytes,
             bool token_skip = false, bool byte_escapes = false);

  int k() const { return k_; }
  bool spent() const { return spent_; }
  void reset();

  // Scans one row of ids; writes K final states and first-dead positions, or returns false
  // (a bad id or class, or the budget spent) with the outputs unspecified.
  template <typename Id>
  bool scan_ids(const Id* row, int64_t n, int32_t* state, int64_t* first_dead);

  // Rows 0..count-1 (row_of(i): the ids, length and outputs of row i), kIdLanes in
  // lockstep: where a state has no skip bitset a step is a chain of dependent loads, and
  // independent rows overlap theirs. `alone(i)` scans row i pattern by pattern (a bad id
  // or class in it, or the budget spent while it was in flight). Results equal scan_ids'.
  template <typename Id, typename Alone>
  void scan_lockstep(int64_t count, const RowOf<Id>& row_of, Alone alone);

  // Byte scanning (the string scanner): the class of every byte is known up front.
  const int32_t* byte_classes() const { return cls_.data(); }
  const int32_t* rows() const { return trans_.data(); }
  int32_t start_off() const { return 0; }
  uint64_t start_mask() const { return mask_[0]; }
  // Entry of (row offset, class): the next row offset, with kFlag set when the dead mask
  // changes, the next state is terminal (no pattern can move) or, with byte escapes, the
  // next state has at most kMaxByteEscapes ASCII exits (meta[1] != -1); kUnbuilt in the
  // table until a scan first takes it, and from step_slow when the budget is spent. So a
  // lockstep step tests one sign: negative is either kind of stop, and a plain entry is the
  // next offset as it stands.
  int32_t step_slow(int32_t off, int32_t pc);
  // After a jump of `skipped` units from the state at `off` to its next exit (byte
  // escapes): a state whose exits come too often for the jumps to pay is stepped instead,
  // its meta[1] set to -1 and the entries into it unflagged where only that flagged them.
  void note_jump(int32_t off, int64_t skipped) {
    const int32_t sid = trans_[off];
    jumped_[sid] += skipped;
    if (++jumps_[sid] % kJumpReview == 0 && jumped_[sid] < kJumpPerStop * jumps_[sid]) {
      step_instead(off);
    }
  }
  uint64_t mask_of(int32_t off) const { return mask_[trans_[off]]; }
  bool terminal_of(int32_t off) const { return terminal_[trans_[off]] != 0; }
  void finals(int32_t off, int32_t* state) const;

 private:
  int32_t add_class(int64_t id);  // product class, or -2 when a class is out of range
  int32_t intern(const int32_t* offs);  // state row offset, or -1 when the budget is spent
  void widen(int64_t need);  // room for `need` product classes per row
  void escapes(int32_t off);  // fills the escape meta of the row at `off` (byte escapes)
  void step_instead(int32_t off);
  // A jump costs ~10 ns more than a lockstep step (~1 ns a unit): states whose jumps
  // average fewer than kJumpPerStop units, judged every kJumpReview jumps, are stepped.
  static constexpr int64_t kJumpPerStop = 16;
  static constexpr int64_t kJumpReview = 64;
  // Token skip of the state at `off` while undecided: counts a visit, and after
  // kSkipVisits builds the state's bitset (or decides kSkipNone); returns meta[4].
  int32_t decide_skip(int32_t off);
  const uint64_t* pattern_stay_bits(int j, int32_t pattern_off);  // built on first use
  // After a skip of `skipped` ids from the state at `off`, with bitset `set`: drops the
  // bitset when the text leaves the state too often for skipping to pay.
  void note_skip(int32_t off, int32_t set, int64_t skipped);
  // The lane protocol: start a row; step it (a skip, then one id): 0 go on, 1 done with the
  // results written, -1 the product cannot take the row (a bad id or class, or spent()).
  template <typename Id>
  void start(IdLane<Id>& L, const Id* row, int64_t n, int32_t* state, int64_t* first_dead) const;
  template <typename Id>
  int step(IdLane<Id>& L);
  template <typename Id>
  int finish(IdLane<Id>& L);

  std::vector<DfaFastPattern> pats_;
  int k_;
  int64_t vocab_;
  int64_t budget_;
  bool spent_ = false;
  std::vector<int32_t> cls_;        // (vocab,) product class; -1 not seen, -2 invalid
  std::vector<int32_t> cls_tuple_;  // (P, K) per-pattern classes
  std::unordered_map<std::string, int32_t> cls_ids_;
  int64_t cap_ = 0;                 // product classes a row has room for
  int64_t stride_ = kMeta;
  std::vector<int32_t> trans_;      // (N, stride_)
  std::vector<int32_t> st_tuple_;   // (N, K) per-pattern row offsets
  std::vector<int32_t> st_final_;   // (N, K) the same as state ids (finals' answer, with no division)
  std::vector<uint64_t> mask_;      // (N,) patterns in their dead state
  std::vector<uint8_t> terminal_;   // (N,) every pattern in a sink: nothing can change
  std::unordered_map<std::string, int32_t> st_ids_;
  std::vector<int32_t> start_;
  // Token skip: stay bitsets of (pattern, state) and of product states, `words_` each.
  bool token_skip_;
  bool byte_escapes_;
  bool bytes_ready_ = false;  // byte classes all built: escapes are computed on interning
  int64_t words_ = 0;
  std::vector<std::unordered_map<int32_t, int32_t>> pat_set_;  // per pattern: offset -> set
  std::vector<uint64_t> pat_bits_;
  std::vector<uint64_t> skip_bits_;
  std::vector<int64_t> skip_ids_, skip_stops_;  // per product bitset: ids skipped, stops
  std::vector<int32_t> visits_;                 // per product state, while undecided
  std::vector<int64_t> jumps_, jumped_;         // per product state: jumps, units jumped
};

// Engines of one set of patterns kept across calls, so the states, classes and skip
// bitsets one batch discovered serve the next: a scan leases one for its task (an engine
// grows its cache while scanning, so it is never shared while in use).
class ProductPool {
 public:
  ProductPool(std::vector<DfaFastPattern> pats, int64_t vocab, int64_t budget_bytes,
              bool token_skip, bool byte_escapes = false)
      : pats_(std::move(pats)),
        vocab_(vocab),
        budget_(budget_bytes),
        token_skip_(token_skip),
        byte_escapes_(byte_escapes) {}

  class Lease {
   public:
    explicit Lease(ProductPool& pool) : pool_(pool) {
      {
        std::lock_guard<std::mutex> lock(pool_.mu_);
        if (!pool_.free_.empty()) {
          eng_ = std::move(pool_.free_.back());
          pool_.free_.pop_back();
        }
      }
      if (!eng_) {
        eng_ = std::make_unique<ProductDfa>(pool_.pats_, pool_.vocab_, pool_.budget_,
                                            pool_.token_skip_, pool_.byte_escapes_);
      }
    }
    ~Lease() {
      std::lock_guard<std::mutex> lock(pool_.mu_);
      pool_.free_.push_back(std::move(eng_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ProductDfa& operator*() { return *eng_; }
    ProductDfa* operator->() { return eng_.get(); }

   private:
    ProductPool& pool_;
    std::unique_ptr<ProductDfa> eng_;
  };

 private:
  std::vector<DfaFastPattern> pats_;
  int64_t vocab_, budget_;
  bool token_skip_, byte_escapes_;
  std::mutex mu_;
  std::vector<std::unique_ptr<ProductDfa>> free_;
};

template <typename Id>
void ProductDfa::start(IdLane<Id>& L, const Id* row, int64_t n, int32_t* state,
                       int64_t* first_dead) const {
  L.row = row;
  L.n = n;
  L.t = 0;
  L.off = 0;
  L.mask = mask_[0];
  L.stuck = terminal_[0] != 0;
  L.state = state;
  L.first_dead = first_dead;
  for (int j = 0; j < k_; ++j) first_dead[j] = ((L.mask >> j) & 1) && n > 0 ? 0 : -1;
}

template <typename Id>
int ProductDfa::step(IdLane<Id>& L) {
  if (L.stuck || L.t >= L.n) return finish(L);
  const uint64_t v = static_cast<uint64_t>(vocab_);
  int32_t set = trans_[L.off + 4];
  if (set != kSkipNone) {  // skip the ids that leave every pattern where it is
    if (set == kSkipUndecided) set = decide_skip(L.off);
    if (set >= 0) {
      const int64_t t0 = L.t;
      L.t = skip_stays(skip_bits_.data() + set * words_, v, L.row, L.t, L.n);
      note_skip(L.off, set, L.t - t0);
      if (L.t >= L.n) return finish(L);
    }
  }
  const uint64_t id = static_cast<uint64_t>(static_cast<int64_t>(L.row[L.t]));
  if (id >= v) return -1;  // negative ids wrap to huge values
  int32_t pc = cls_[id];
  if (pc < 0) {
    const int32_t sid = trans_[L.off];
    pc = add_class(static_cast<int64_t>(id));
    if (pc < 0) return -1;
    L.off = static_cast<int32_t>(sid * stride_);  // the rows may have widened
  }
  int32_t e = trans_[L.off + kMeta + pc];
  if (e == kUnbuilt) {
    e = step_slow(L.off, pc);
    if (e == kUnbuilt) return -1;
  }
  L.off = next_of(e);
  if (e < 0) {  // rare: a pattern dies here, or no pattern can move any more
    const int32_t sid = trans_[L.off];
    for (uint64_t fresh = mask_[sid] & ~L.mask; fresh; fresh &= fresh - 1) {
      L.first_dead[__builtin_ctzll(fresh)] = L.t;
    }
    L.mask = mask_[sid];
    L.stuck = terminal_[sid] != 0;
  }
  ++L.t;
  return L.stuck || L.t >= L.n ? finish(L) : 0;
}

template <typename Id>
int ProductDfa::finish(IdLane<Id>& L) {
  // Stuck: the states are final, but the remaining ids must still be valid ids with valid
  // classes (a pattern in a live sink still reads its class, as the per-pattern scan does).
  const int32_t sid = trans_[L.off];
  const uint64_t v = static_cast<uint64_t>(vocab_);
  for (int64_t t = L.t; t < L.n; ++t) {
    const uint64_t id = static_cast<uint64_t>(static_cast<int64_t>(L.row[t]));
    if (id >= v) return -1;
    if (cls_[id] == -1 && add_class(static_cast<int64_t>(id)) < 0) return -1;
    if (cls_[id] < 0) return -1;
  }
  finals(static_cast<int32_t>(sid * stride_), L.state);
  return 1;
}

template <typename Id>
bool ProductDfa::scan_ids(const Id* row, int64_t n, int32_t* state, int64_t* first_dead) {
  IdLane<Id> lane;
  start(lane, row, n, state, first_dead);
  int r;
  while ((r = step(lane)) == 0) {
  }
  return r == 1;
}

template <typename Id, typename Alone>
void ProductDfa::scan_lockstep(int64_t count, const RowOf<Id>& row_of, Alone alone) {
  IdLane<Id> lanes[kIdLanes];
  int64_t index[kIdLanes];
  int act = 0;
  int64_t q = 0;
  const auto spent = [&]() {  // every row in flight starts again, pattern by pattern
    for (int l = 0; l < act; ++l) alone(index[l]);
    act = 0;
    reset();
  };
  // Runs lane l alone until it is in a state without a skip bitset (the lockstep's), is
  // done (1) or cannot be taken (-1).
  const auto settle = [&](int l) {
    for (;;) {
      const int64_t stride = stride_;
      const int r = step(lanes[l]);
      if (stride_ != stride) {  // the rows widened: the other lanes' offsets move too
        for (int o = 0; o < act; ++o) {
          if (o != l) lanes[o].off = static_cast<int32_t>(lanes[o].off / stride * stride_);
        }
      }
      if (r != 0 || trans_[lanes[l].off + 4] == kSkipNone) return r;
    }
  };
  const auto done = [&](int l, int r) {  // lane l left with result r; false: spent
    if (r < 0) {
      if (spent_) return false;
      alone(index[l]);  // a bad id or class: that row alone
    }
    --act;
    if (l != act) {
      lanes[l] = lanes[act];
      index[l] = index[act];
    }
    return true;
  };
  const auto fill = [&]() {
    while (act < kIdLanes && q < count) {
      index[act] = q;
      const RowView<Id> rv = row_of(q++);
      start(lanes[act], rv.row, rv.n, rv.state, rv.first_dead);
      ++act;
      const int r = trans_[lanes[act - 1].off + 4] == kSkipNone && !lanes[act - 1].stuck &&
                            lanes[act - 1].n > 0
                        ? 0
                        : settle(act - 1);
      if (r != 0 && !done(act - 1, r)) spent();
    }
  };
  const uint64_t v = static_cast<uint64_t>(vocab_);
  fill();
  while (act > 0) {
    const int32_t* tr = trans_.data();
    const int32_t* cls = cls_.data();
    int stop = -1;
    while (stop < 0) {
      for (int l = 0; l < act; ++l) {
        IdLane<Id>& L = lanes[l];
        if (L.t >= L.n) {
          stop = l;
          break;
        }
        const uint64_t id = static_cast<uint64_t>(static_cast<int64_t>(L.row[L.t]));
        const int32_t pc = id < v ? cls[id] : -1;
        const int32_t e = pc >= 0 ? tr[L.off + kMeta + pc] : kUnbuilt;
        if (e < 0) {
          stop = l;
          break;
        }
        L.off = e;
        ++L.t;
        if (tr[L.off + 4] != kSkipNone) {
          stop = l;
          break;
        }
      }
    }
    const int r = settle(stop);
    if (r != 0 && !done(stop, r)) spent();
    fill();
  }
}

// ---- the op's entry point ---------------------------------------------------------------

// Scans every row with every pattern through lazy products when that pays (two or more
// valid patterns, enough tokens to fill a class map); returns false, writing nothing, when
// the caller's per-pattern path should run instead. Defined for int32_t and int64_t ids.
template <typename Id>
bool scan_multi(const Id* ids, const int64_t* lengths, const std::vector<DfaPattern>& pats,
                int64_t batch, int64_t max_len, int32_t* final_state, int64_t* first_dead);

}  // namespace cpu
}  // namespace twinkle
