// Chunked DFA scan: one long sequence split into chunks that are summarised independently
// (in parallel) and then applied in order. Shared by the CPU op (csrc/cpu/dfa_scan.cpp, when
// asked for chunks or when there are more threads than rows) and the CUDA kernel
// (csrc/cuda/dfa_scan_kernels.cuh, one thread per chunk, one block per row). No torch or
// CUDA headers.
//
// Why it is cheap. A chunk's effect on the state is a map S -> S. Computing it for every
// state would cost S lookups per token (S is about 70 for the strict think/answer format).
// But a token's column of the table has few distinct values: after any plain-text token the
// format DFA is in one of about three states (in <think>, in <answer>, dead), whatever it was
// before. So a chunk is summarised from its first "anchor" token, whose column has at most
// kDfaWays distinct next states: one way per distinct state, each stepped over the rest of
// the chunk. Applying the chunk to the true incoming state s is then a lookup:
// way = col_pos[s, class(anchor)], after stepping s over the (usually zero) tokens before
// the anchor. Columns that map every state to itself (tokens that decode to nothing) never
// serve as anchors and are skipped before one.
//
// Invariants:
//  * The pattern is "chunkable": start in [0, S), every table entry in [0, S), and `dead`
//    is -1 or a sink (dfa_chunkable checks this once per pattern). Class ids are NOT
//    pre-validated: a class outside [0, C) is reported per token, as dfa_scan_one does.
//  * Token codes: a class in [0, C), or kDfaBadId (id outside [0, V)), or kDfaBadTable
//    (class outside [0, C)); see DfaIdCodes.
//  * A carried result with state == dead has recorded its first-dead position (the caller
//    steps the first token itself when the start state is already dead, see
//    dfa_chunked_begin), so a dead state only needs the remaining ids range-checked.
//  * Results equal dfa_scan_one's for every chunkable pattern, every chunk length >= 1 and
//    every input, errors included (tests/ops/test_dfa_scan.py checks this on the CPU op,
//    tests/ops/test_dfa_scan_emulated.py on the CUDA kernels run under an emulation).
#pragma once

#include <cstdint>

#include "twinkle/dfa_scan.h"
#include "twinkle/macros.h"

namespace twinkle {

// Most distinct next states a column may have to serve as an anchor. The format DFAs seen
// have 2-7 for nearly every class; 8 keeps a chunk's ways in registers on the GPU.
constexpr int kDfaWays = 8;
// col_n of a column that maps every state to itself (skipped) and of one with too many ways.
constexpr int32_t kDfaColIdentity = 0;
constexpr int32_t kDfaColWide = kDfaWays + 1;

// A chunkable pattern with its per-column summaries.
//   col_n (C,):        kDfaColIdentity, 1..kDfaWays distinct next states, or kDfaColWide.
//   col_img (C, W):    those distinct states, in first-seen order over s = 0..S-1.
//   col_pos (S, C):    index of table[s, c] in col_img[c] (defined when 1 <= col_n[c] <= W).
struct DfaChunkPattern {
  const int32_t* class_ids;  // (V,)
  const int32_t* table;      // (S, C)
  const int32_t* col_n;      // (C,)
  const int32_t* col_img;    // (C, kDfaWays)
  const uint8_t* col_pos;    // (S, C)
  int64_t vocab;
  int64_t n_states;
  int64_t n_classes;
  int32_t start;
  int32_t dead;
};

// Checks cells first, first + step, ... of a pattern for the chunked path (the CPU calls it
// with (0, 1); a CUDA block with (threadIdx.x, blockDim.x) and ANDs the answers): every
// table entry in range and, for the cells of the dead row, the dead state a sink.
TWINKLE_HD bool dfa_chunkable_part(const DfaPattern& p, int64_t first, int64_t step) {
  if (p.n_states <= 0 || p.n_classes <= 0) return false;
  if (p.start < 0 || p.start >= p.n_states || p.dead >= p.n_states) return false;
  const int64_t cells = p.n_states * p.n_classes;
  for (int64_t i = first; i < cells; i += step) {
    const int32_t next = p.table[i];
    if (next < 0 || next >= p.n_states) return false;
    if (p.dead >= 0 && i / p.n_classes == p.dead && next != p.dead) return false;
  }
  return true;
}

// True when the chunked path may run this pattern (see the invariants above).
TWINKLE_HD bool dfa_chunkable(const DfaPattern& p) { return dfa_chunkable_part(p, 0, 1); }

// Fills col_n[c], col_img[c, :] and col_pos[:, c] for one column of a chunkable table.
// The column is read kColumnBatch entries at a time before any of them is processed: the
// loads are then independent of the stores below (which may alias the table as far as the
// compiler knows), so a GPU thread has that many in flight instead of one.
constexpr int kColumnBatch = 8;

TWINKLE_HD void dfa_column_summary(const int32_t* table, int64_t n_states, int64_t n_classes,
                                   int64_t c, int32_t* col_n, int32_t* col_img,
                                   uint8_t* col_pos) {
  bool identity = true;
  int32_t n = 0;
  int32_t* img = col_img + c * kDfaWays;
  for (int64_t s0 = 0; s0 < n_states; s0 += kColumnBatch) {
    int32_t batch[kColumnBatch];
#pragma unroll
    for (int u = 0; u < kColumnBatch; ++u) {
      batch[u] = s0 + u < n_states ? table[(s0 + u) * n_classes + c] : 0;
    }
    for (int u = 0; u < kColumnBatch && s0 + u < n_states; ++u) {
      const int64_t s = s0 + u;
      const int32_t next = batch[u];
      identity = identity && next == s;
      if (n > kDfaWays) continue;  // already too wide: only the identity test goes on
      int32_t i = 0;
      while (i < n && img[i] != next) ++i;
      if (i == n) {
        if (n < kDfaWays) img[n] = next;
        ++n;
      }
      if (i < kDfaWays) col_pos[s * n_classes + c] = static_cast<uint8_t>(i);
    }
  }
  col_n[c] = identity ? kDfaColIdentity : (n > kDfaWays ? kDfaColWide : n);
}

// True when no token leaves state s (the dead state, or the accepting sink a search reaches
// once it has matched): the rest of a row can then only change the result by a bad id.
TWINKLE_HD bool dfa_is_sink(const DfaChunkPattern& p, int32_t s) {
  for (int64_t c = 0; c < p.n_classes; ++c) {
    if (p.table[static_cast<int64_t>(s) * p.n_classes + c] != s) return false;
  }
  return true;
}

// Token code of one id: its class, or kDfaBadId / kDfaBadTable.
template <typename Id>
TWINKLE_HD int32_t dfa_token_code(const int32_t* class_ids, int64_t vocab, int64_t n_classes,
                                  Id id) {
  const int64_t i = static_cast<int64_t>(id);
  if (i < 0 || i >= vocab) return kDfaBadId;
  const int32_t c = class_ids[i];
  return (c < 0 || c >= n_classes) ? kDfaBadTable : c;
}

// Token codes read straight from ids (the CPU op).
template <typename Id>
struct DfaIdCodes {
  const Id* ids;  // the chunk's first id
  const int32_t* class_ids;
  int64_t vocab;
  int64_t n_classes;
  TWINKLE_HD int32_t operator()(int64_t t) const {
    return dfa_token_code(class_ids, vocab, n_classes, ids[t]);
  }
};

// Token codes computed beforehand (the CUDA kernel keeps them in shared memory).
struct DfaCodeArray {
  const int32_t* codes;  // the chunk's first code
  TWINKLE_HD int32_t operator()(int64_t t) const { return codes[t]; }
};

// What a chunk of n >= 1 tokens does, for any incoming state (positions relative to it).
struct DfaChunk {
  int32_t anchor;  // first token whose column has 1..W ways; == stop when there is none
  int32_t stop;    // first token with an error code, or n
  int32_t bad_id;  // first token with an id out of range, or -1 (bad_id >= stop)
  int32_t n;       // tokens in the chunk (>= 1)
  int32_t n_ways;  // ways started at the anchor (0 when anchor == stop)
  int32_t end[kDfaWays];  // state of each way after token stop - 1
  int32_t fd[kDfaWays];   // token at which the way entered `dead`, or -1
};

// Summarises tokens [0, n) of a chunk: finds stop / bad_id / anchor and steps every way from
// the anchor to stop. The ways are independent dependency chains (ILP on both CPU and GPU).
template <typename Codes>
TWINKLE_HD void dfa_chunk_summarize(const DfaChunkPattern& p, Codes codes, int32_t n,
                                    DfaChunk& out) {
  out.anchor = -1;
  out.n = n;
  out.stop = n;
  out.bad_id = -1;
  out.n_ways = 0;
  int32_t st[kDfaWays];
  int32_t fd[kDfaWays];
#pragma unroll
  for (int w = 0; w < kDfaWays; ++w) {
    st[w] = 0;
    fd[w] = -1;
  }
  int32_t n_ways = 0;
  for (int32_t t = 0; t < n; ++t) {
    const int32_t c = codes(t);
    if (c < 0) {
      if (out.stop == n) out.stop = t;
      if (c == kDfaBadId) {
        out.bad_id = t;
        break;  // nothing after a bad id can change the result
      }
      continue;
    }
    if (out.stop < n) continue;  // past an error only a bad id matters
    if (out.anchor < 0) {
      const int32_t k = p.col_n[c];
      // Identity tokens change nothing; wide ones are stepped one by one when the chunk
      // is applied.
      if (k == kDfaColIdentity || k == kDfaColWide) continue;
      out.anchor = t;
      n_ways = k;
#pragma unroll
      for (int w = 0; w < kDfaWays; ++w) {
        if (w < k) {
          st[w] = p.col_img[c * kDfaWays + w];
          fd[w] = st[w] == p.dead ? t : -1;
        }
      }
      continue;
    }
    // Past the anchor every token is stepped, identity columns included (they map each
    // state to itself): no per-token col_n load, so nothing but the ways' own table loads
    // sits on the loop's critical path.
#pragma unroll
    for (int w = 0; w < kDfaWays; ++w) {
      if (w < n_ways) {
        st[w] = p.table[static_cast<int64_t>(st[w]) * p.n_classes + c];
        if (st[w] == p.dead && fd[w] < 0) fd[w] = t;
      }
    }
  }
  if (out.anchor < 0) out.anchor = out.stop;
  out.n_ways = n_ways;
#pragma unroll
  for (int w = 0; w < kDfaWays; ++w) {
    out.end[w] = st[w];
    out.fd[w] = fd[w];
  }
}

// Starts a row of n ids: a start state that is already dead records position 0 on the
// first token (as dfa_scan_one does), so that afterwards state == dead means "recorded".
template <typename Codes>
TWINKLE_HD DfaResult dfa_chunked_begin(const DfaChunkPattern& p, Codes codes, int64_t n) {
  DfaResult r{p.start, dfa_start_first_dead(p.start, p.dead, n)};
  if (r.first_dead == 0) {
    const int32_t c = codes(0);  // dfa_scan_one still reads the first token's class
    if (c < 0) r.state = c;
  }
  return r;
}

// Applies one summarised chunk starting at row position t0 to the carried result r (which
// stays unchanged once it holds an error). `codes` reads the chunk's own tokens.
template <typename Codes>
TWINKLE_HD void dfa_chunk_apply(const DfaChunkPattern& p, const DfaChunk& ch, Codes codes,
                                int64_t t0, DfaResult& r) {
  if (r.state < 0) return;
  int32_t s = r.state;
  if (s != p.dead) {
    // Tokens before the anchor, one by one (their codes are valid: they precede stop).
    for (int32_t t = 0; t < ch.anchor; ++t) {
      const int32_t c = codes(t);
      if (p.col_n[c] == kDfaColIdentity) continue;
      s = p.table[static_cast<int64_t>(s) * p.n_classes + c];
      if (s == p.dead) {
        r.first_dead = t0 + t;
        break;
      }
    }
    if (s != p.dead && ch.anchor < ch.stop) {
      const int32_t w = p.col_pos[static_cast<int64_t>(s) * p.n_classes + codes(ch.anchor)];
      s = ch.end[w];
      if (ch.fd[w] >= 0) r.first_dead = t0 + ch.fd[w];
    }
    r.state = s;
    if (s != p.dead && ch.stop < ch.n) {
      // Alive at an error: a bad id, or a class out of range (read only while alive).
      r.state = ch.stop == ch.bad_id ? kDfaBadId : kDfaBadTable;
      r.first_dead = t0 + ch.stop;
      return;
    }
  }
  // Dead (now or before the chunk): only an id out of range still changes the result.
  if (s == p.dead && ch.bad_id >= 0) {
    r.state = kDfaBadId;
    r.first_dead = t0 + ch.bad_id;
  }
}

// Code of an id read while the row sits in the sink s: in the dead state only the id's
// range is checked (classes are never read there, as in dfa_scan_one); in another sink the
// class is checked as well. A negative code ends the row with that error at that position.
template <typename Id>
TWINKLE_HD int32_t dfa_sink_code(const DfaChunkPattern& p, int32_t s, Id id) {
  if (s == p.dead) {
    const int64_t i = static_cast<int64_t>(id);
    return (i < 0 || i >= p.vocab) ? kDfaBadId : 0;
  }
  return dfa_token_code(p.class_ids, p.vocab, p.n_classes, id);
}

// ---- tiles: codes of consecutive chunks side by side -----------------------------------
//
// A row is read in tiles of kDfaTileChunks chunks. The CUDA kernel (one thread per chunk)
// and the CPU op's few-rows path run the same loop: a row whose state is a sink only has
// its ids checked (dfa_sink_code); otherwise the tile's ids become codes,
// chunk i at codes[i * (chunk + 1)], every chunk is summarised, and the summaries are
// applied in order. The spare word per chunk gives an odd stride, so the threads of a warp,
// each reading its own chunk, hit distinct shared-memory banks.
constexpr int kDfaTileChunks = 64;

// Slot of the tile's x-th token.
TWINKLE_HD int64_t dfa_tile_slot(int64_t x, int32_t chunk) {
  return (x / chunk) * (chunk + 1) + x % chunk;
}

// Summarises chunk i of a tile of len tokens (nothing when the tile ends before it).
TWINKLE_HD void dfa_tile_summarize(const DfaChunkPattern& p, const int32_t* codes, int64_t len,
                                   int32_t chunk, int64_t i, DfaChunk* chunks) {
  const int64_t first = i * chunk;
  if (first >= len) return;
  const int32_t m = static_cast<int32_t>(len - first < chunk ? len - first : chunk);
  dfa_chunk_summarize(p, DfaCodeArray{codes + i * (chunk + 1)}, m, chunks[i]);
}

// Applies a tile's chunk summaries in order; the tile starts at row position t0.
TWINKLE_HD void dfa_tile_apply(const DfaChunkPattern& p, const DfaChunk* chunks,
                               const int32_t* codes, int64_t len, int32_t chunk, int64_t t0,
                               DfaResult& r) {
  const int64_t n_chunks = (len + chunk - 1) / chunk;
  for (int64_t i = 0; i < n_chunks && r.state >= 0; ++i) {
    dfa_chunk_apply(p, chunks[i], DfaCodeArray{codes + i * (chunk + 1)}, t0 + i * chunk, r);
  }
}

}  // namespace twinkle
