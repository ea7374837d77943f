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
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "dfa_accel.h"

namespace twinkle {
namespace cpu {

constexpr int kMaxProduct = 64;  // patterns per product: one bit each in a uint64 dead mask

class ProductDfa {
 public:
  // Each row of the transition array: kMeta words, then one entry per product class.
  // Meta: [0] state id, [1] escape count (kEscUnknown, -1: more than kMaxEscapes),
  // [2] the escape bytes packed, [3] 1 when every escape byte is ASCII.
  static constexpr int kMeta = 4;
  static constexpr int32_t kEscUnknown = -2;

  // `vocab`: the ids the class map covers (V for token ids, 256 for bytes, built eagerly).
  ProductDfa(const std::vector<DfaFastPattern>& pats, int64_t vocab, int64_t budget_bytes);

  int k() const { return k_; }
  bool spent() const { return spent_; }
  void reset();

  // Scans one row of ids; writes K final states and first-dead positions, or returns false
  // (a bad id or class, or the budget spent) with the outputs unspecified.
  template <typename Id>
  bool scan_ids(const Id* row, int64_t n, int32_t* state, int64_t* first_dead);

  // Byte scanning (the string scanner): the class of every byte is known up front.
  const int32_t* byte_classes() const { return cls_.data(); }
  const int32_t* rows() const { return trans_.data(); }
  int32_t start_off() const { return 0; }
  uint64_t start_mask() const { return mask_[0]; }
  // Entry of (row offset, class): next row offset << 1, | 1 when the dead mask changes or
  // the next state is terminal (no pattern can move); -1 when the budget is spent.
  int32_t step_slow(int32_t off, int32_t pc);
  // Fills the escape meta of the row at `off` (the bytes that leave the state).
  void escapes(int32_t off);
  uint64_t mask_of(int32_t off) const { return mask_[trans_[off]]; }
  bool terminal_of(int32_t off) const { return terminal_[trans_[off]] != 0; }
  void finals(int32_t off, int32_t* state) const;

 private:
  int32_t add_class(int64_t id);  // product class, or -2 when a class is out of range
  int32_t intern(const int32_t* offs);  // state row offset, or -1 when the budget is spent
  void widen(int64_t need);  // room for `need` product classes per row

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
  std::vector<uint64_t> mask_;      // (N,) patterns in their dead state
  std::vector<uint8_t> terminal_;   // (N,) every pattern in a sink: nothing can change
  std::unordered_map<std::string, int32_t> st_ids_;
  std::vector<int32_t> start_;
};

template <typename Id>
bool ProductDfa::scan_ids(const Id* row, int64_t n, int32_t* state, int64_t* first_dead) {
  const uint64_t v = static_cast<uint64_t>(vocab_);
  uint64_t mask = mask_[0];
  for (int j = 0; j < k_; ++j) first_dead[j] = ((mask >> j) & 1) && n > 0 ? 0 : -1;
  const int32_t* tr = trans_.data();
  const int32_t* cls = cls_.data();
  int32_t off = 0;
  int64_t t = 0;
  bool stuck = terminal_[0] != 0;
  for (; t < n && !stuck; ++t) {
    const uint64_t id = static_cast<uint64_t>(static_cast<int64_t>(row[t]));
    if (id >= v) return false;  // negative ids wrap to huge values
    int32_t pc = cls[id];
    if (pc < 0) {
      const int32_t sid = tr[off];
      pc = add_class(static_cast<int64_t>(id));
      if (pc < 0) return false;
      tr = trans_.data();
      cls = cls_.data();
      off = static_cast<int32_t>(sid * stride_);
    }
    int32_t e = tr[off + kMeta + pc];
    if (e < 0) {
      e = step_slow(off, pc);
      if (e < 0) return false;
      tr = trans_.data();
    }
    off = e >> 1;
    if (e & 1) {  // rare: a pattern dies here, or no pattern can move any more
      const int32_t sid = tr[off];
      for (uint64_t fresh = mask_[sid] & ~mask; fresh; fresh &= fresh - 1) {
        first_dead[__builtin_ctzll(fresh)] = t;
      }
      mask = mask_[sid];
      stuck = terminal_[sid] != 0;
    }
  }
  // Stuck: the states are final, but the remaining ids must still be valid ids with valid
  // classes (a pattern in a live sink still reads its class, as the per-pattern scan does).
  const int32_t sid = tr[off];
  for (; t < n; ++t) {
    const uint64_t id = static_cast<uint64_t>(static_cast<int64_t>(row[t]));
    if (id >= v) return false;
    if (cls_[id] == -1 && add_class(static_cast<int64_t>(id)) < 0) return false;
    if (cls_[id] < 0) return false;
  }
  finals(static_cast<int32_t>(sid * stride_), state);
  return true;
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
