// Per-sequence DFA scan over token ids, shared by csrc/cpu/dfa_scan.cpp and
// csrc/cuda/dfa_scan.cu. Plain functions on raw pointers; no torch or CUDA headers.
//
// Invariants:
//  * A pattern is a DFA lifted to tokens (twinkle/dfa/tokens.py): class_ids (V,) int32 maps
//    a token id to its class in [0, C), and table (S, C) int32, row-major, gives the next
//    state. Several patterns are stacked as (K, V) and (K, S_max, C_max); a pattern with
//    fewer states or classes leaves its padding unused (never read for valid inputs).
//  * A sequence is ids[0 .. n) with n = clamp(length, 0, L); ids past n are padding and are
//    never read, whatever they hold.
//  * `dead` is the pattern's sink state (no accepting state reachable from it) or -1. The
//    DFAs of twinkle.dfa merge every such state into one, so "dead" means exactly "no
//    continuation can be accepted". The first-dead position is the index t of the token
//    after which the state first equals `dead` (0 if the start state is already dead and
//    n > 0: dfa_start_first_dead), or -1 if it never does. Every path (one row, lockstep,
//    CPU byte shortcut, chunks and tiles, CUDA) gives the same position, whatever the chunk
//    length. Once dead the state cannot change, so the scan stops reading the table and
//    only checks the remaining ids' range.
//  * Errors are values, never out-of-bounds reads (the CUDA kernel cannot throw): an id
//    outside [0, V) makes the final state kBadId and the first-dead position that id's
//    index; a start state, class or table entry out of range makes it kBadTable.
//    The torch glue / Python wrapper turns these into exceptions.
#pragma once

#include <cstdint>

#include "twinkle/macros.h"

namespace twinkle {

// Error states, returned as the final state (mirrored by twinkle.ops.constants.DfaError).
// Unscoped, so kDfaBadId / kDfaBadTable convert to int32_t wherever a state is stored.
enum DfaError : int32_t {
  kDfaBadId = -1,     // an id outside [0, V)
  kDfaBadTable = -2,  // a start state, class id or transition out of range
};

struct DfaPattern {
  const int32_t* class_ids;  // (V,)
  const int32_t* table;      // (S, C), row-major, row stride n_classes
  int64_t vocab;             // V
  int64_t n_states;          // S (rows in use)
  int64_t n_classes;         // C (row stride)
  int32_t start;
  int32_t dead;              // -1: no sink state
};

struct DfaResult {
  int32_t state;       // final state, or kDfaBadId / kDfaBadTable
  int64_t first_dead;  // token index, or -1
};

// First-dead position of a row of n ids before its first step: 0 when the start state is
// already dead and the row is not empty (its first token is the first offending one), else
// -1. Stepping paths get the same value by stepping the dead start on its first token; paths
// that skip a sink's tokens (the CPU byte shortcut, the chunked scan) start from it.
// `start` and `dead` may be states or row offsets (state * C): the rule is the same.
TWINKLE_HD int64_t dfa_start_first_dead(int32_t start, int32_t dead, int64_t n) {
  return (dead >= 0 && start == dead && n > 0) ? 0 : -1;
}

// Next state after one token, or a negative error code.
template <typename Id>
TWINKLE_HD int32_t dfa_step(const DfaPattern& p, int32_t state, Id id) {
  const int64_t i = static_cast<int64_t>(id);
  if (i < 0 || i >= p.vocab) return kDfaBadId;
  const int32_t c = p.class_ids[i];
  if (c < 0 || c >= p.n_classes) return kDfaBadTable;
  const int32_t next = p.table[static_cast<int64_t>(state) * p.n_classes + c];
  if (next < 0 || next >= p.n_states) return kDfaBadTable;
  return next;
}

// Scans one sequence of n ids with one pattern.
template <typename Id>
TWINKLE_HD DfaResult dfa_scan_one(const DfaPattern& p, const Id* ids, int64_t n) {
  DfaResult r{p.start, -1};
  if (p.start < 0 || p.start >= p.n_states) {
    r.state = kDfaBadTable;
    return r;
  }
  int64_t t = 0;
  for (; t < n; ++t) {
    const int32_t next = dfa_step(p, r.state, ids[t]);
    if (next < 0) {
      r.state = next;
      r.first_dead = t;
      return r;
    }
    r.state = next;
    if (next == p.dead) {
      r.first_dead = t;
      ++t;
      break;
    }
  }
  // Dead: the state is final, but the remaining ids must still be valid.
  for (; t < n; ++t) {
    const int64_t i = static_cast<int64_t>(ids[t]);
    if (i < 0 || i >= p.vocab) {
      r.state = kDfaBadId;
      r.first_dead = t;
      return r;
    }
  }
  return r;
}

// ---- fast path: a pre-validated pattern, several sequences in lockstep -------------------
//
// A pattern whose transitions are all in [0, S), start in range and dead state (if any) a
// sink skips the table checks: ids and their classes are checked as they are read (once
// the dead state is reached, only ids are, as dfa_scan_one does). Transitions are stored
// as row offsets (s * C), taking the multiply off the per-token dependency chain, and G
// sequences advance in lockstep so their independent chains overlap (one chain is bound by
// the latency of one L1 load per token). The result equals dfa_scan_one's for such a
// pattern.

struct DfaFastPattern {
  const int32_t* class_ids;  // (V,), checked per id (the first 256 ids checked up front)
  const int32_t* offsets;    // (S * C,), offsets[s * C + c] = next(s, c) * C
  int64_t vocab;
  int32_t n_classes;
  int32_t start_off;         // start * C
  int32_t dead_off;          // dead * C, or -1
};

// One token of the fast path: a bad id (kDfaBadId) or class (kDfaBadTable) stops the
// sequence with that error (recording where), else the state advances and the first
// entry into the dead state is recorded.
template <typename Id>
TWINKLE_HD void dfa_fast_step(const DfaFastPattern& p, Id id, int64_t t, int32_t& off,
                              int64_t& fd, int32_t& err) {
  const int64_t i = static_cast<int64_t>(id);
  if (i < 0 || i >= p.vocab) {
    err = kDfaBadId;
    fd = t;
    return;
  }
  if (fd >= 0) return;  // dead (a sink) since an earlier token: no class is read any more
  const int32_t c = p.class_ids[i];
  if (c < 0 || c >= p.n_classes) {
    err = kDfaBadTable;
    fd = t;
    return;
  }
  off = p.offsets[off + c];
  if (off == p.dead_off && fd < 0) fd = t;
}

template <int G, typename Id>
TWINKLE_HD void dfa_scan_fast(const DfaFastPattern& p, const Id* const* rows, const int64_t* n,
                              DfaResult* out) {
  int32_t off[G];
  int64_t fd[G];
  int32_t err[G];
  int64_t common = n[0];
  for (int g = 0; g < G; ++g) {
    off[g] = p.start_off;
    fd[g] = -1;
    err[g] = 0;
    common = n[g] < common ? n[g] : common;
  }
  for (int64_t t = 0; t < common; ++t) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      if (!err[g]) dfa_fast_step(p, rows[g][t], t, off[g], fd[g], err[g]);
    }
  }
  for (int g = 0; g < G; ++g) {
    for (int64_t t = common; t < n[g] && !err[g]; ++t) {
      dfa_fast_step(p, rows[g][t], t, off[g], fd[g], err[g]);
    }
    out[g].state = err[g] ? err[g] : off[g] / p.n_classes;
    out[g].first_dead = fd[g];
  }
}

// The clamp every backend applies to a length.
TWINKLE_HD int64_t dfa_clamp_length(int64_t length, int64_t max_len) {
  return length < 0 ? 0 : (length > max_len ? max_len : length);
}

}  // namespace twinkle
