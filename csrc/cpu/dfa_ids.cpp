// The token path's direct entry for CPU ids: a reward's token DFAs prepared once (a program),
// and a scan that reads the ids, lengths and mask from buffers (numpy views of the tensors)
// and writes the final states where the caller says, with no torch dispatch.
//
// Why: on a few short rows the scan itself costs well under a microsecond, and the op's
// fixed cost was the whole call (FormatReward.forward on one short row: ~90 us of tensor
// allocations, dispatcher calls, an indexing op and two host reads, against ~5 us here).
// The op (dfa_scan.cpp) stays the path for CUDA, torch.compile and the reference checks;
// both step the same fast path (twinkle/dfa_scan.h), so results are equal (the reward tests
// compare them).
//
// Invariants:
//  * ids (B, L) int32 or int64; lengths (B,) int64 or None (every row has L ids); mask
//    (B, L) of 1-byte items or None. A row's ids are ids[b, :clamp(lengths[b], 0, L)].
//  * A masked position reads `mask_id` instead of its id: the caller passes an id that
//    decodes to nothing (its class maps every state to itself), so any padding layout scans
//    as the text of the unmasked ids, and positions keep their index.
//  * The outputs are each final state's value (the caller's table, NaN for the error states)
//    and the first-dead positions, as the op path computes them; the first error (kDfaBadId
//    with the id's position, or kDfaBadTable) is returned so the caller can raise.
//  * The GIL is released while scanning; the buffers are held until the call returns.
#include <Python.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "dfa_accel.h"
#include "dfa_ids.h"
#include "dfa_multi.h"
#include "py_buffer.h"

namespace twinkle {
namespace {

using cpu::Buffer;
using cpu::OwnedPatterns;

// The patterns, and what a final state is worth: values (K, S + 2) float32 (the last two
// columns are read by the error states -2 and -1, NaN in the rewards), and the patterns no
// text can match (their first-dead position is 0 on every row the scan did not flag).
struct TokenProgram {
  OwnedPatterns pats;
  // The token shortcut of each pattern, bitset tier (built once here: the ~120 us pass over
  // a 150k-id class table is paid by the program, not by each call).
  std::vector<cpu::TokenAccel> accel;
  std::vector<float> values;
  int64_t value_cols = 0;
  std::vector<uint8_t> impossible;
  // 2 <= K <= kMaxProduct: product engines with token skip, kept across calls.
  std::unique_ptr<cpu::ProductPool> product;
};

// Per product engine (the op's path budgets the same).
constexpr int64_t kProductBudget = int64_t{48} << 20;

constexpr const char* kCapsule = "twinkle.token_program";
constexpr const char* kWho = "dfa id scan";
// Rows per lockstep group, as the op's CPU kernel.
constexpr int kLanes = 4;
// Below this many ids in a call the scan runs inline: a pool wake-up costs more.
constexpr int64_t kInlineIds = int64_t{1} << 16;

struct Rows {
  const void* ids;
  int64_t batch, width;  // B, L
  const int64_t* lengths;  // nullptr: every row is L long
  const uint8_t* mask;     // nullptr: no mask
  int64_t mask_id;
};

inline int64_t row_length(const Rows& r, int64_t b) {
  return r.lengths ? std::min<int64_t>(std::max<int64_t>(r.lengths[b], 0), r.width) : r.width;
}

// Row b's first n ids as the scan reads them: the row itself, or (with a mask) a copy in
// `out` with the masked positions rewritten to mask_id.
template <typename Id>
const Id* unmasked_row(const Rows& r, int64_t b, int64_t n, Id* out) {
  const Id* row = static_cast<const Id*>(r.ids) + b * r.width;
  if (r.mask == nullptr) return row;
  const uint8_t* keep = r.mask + b * r.width;
  for (int64_t t = 0; t < n; ++t) out[t] = keep[t] ? row[t] : static_cast<Id>(r.mask_id);
  return out;
}

// The first ids of a row, fetched while the row before it is scanned: the skip loops
// prefetch kPrefetchIds ahead within a row, and a padded batch starts each row where no
// prefetcher is looking (real completions padded to the longest: ~2x the time per id).
template <typename Id>
inline void prefetch_row_start(const Id* row, int64_t n) {
  const int64_t m = std::min<int64_t>(n, cpu::kPrefetchIds);
  for (int64_t t = 0; t < m; t += 64 / sizeof(Id)) __builtin_prefetch(row + t);
}

// One row with pattern j: the token shortcut where the pattern has one, else the fast step.
template <typename Id>
DfaResult scan_row(const TokenProgram& p, int64_t j, const Id* row, int64_t n) {
  if (p.accel[j].any) return cpu::scan_tokens_accel(p.pats.prep[j].fast, p.accel[j], row, n);
  DfaResult out;
  dfa_scan_fast<1>(p.pats.prep[j].fast, &row, &n, &out);
  return out;
}

// Rows [b0, b1) with every pattern, writing (B, K) results. Patterns without a shortcut step
// kLanes unmasked rows in lockstep (independent chains hide the L1 latency).
template <typename Id>
void scan_range(const TokenProgram& prog, const Rows& r, int64_t b0, int64_t b1, int32_t* fs,
                int64_t* fd) {
  const OwnedPatterns& p = prog.pats;
  const Id* ids = static_cast<const Id*>(r.ids);
  const int64_t k = p.k;
  bool all_accel = true;
  for (int64_t j = 0; j < k; ++j) all_accel = all_accel && prog.accel[j].any;
  std::vector<Id> masked;  // a masked row, rewritten
  for (int64_t b = b0; b < b1;) {
    if (r.mask == nullptr && !all_accel && b + kLanes <= b1) {
      const Id* rows[kLanes];
      int64_t n[kLanes];
      for (int g = 0; g < kLanes; ++g) {
        rows[g] = ids + (b + g) * r.width;
        n[g] = row_length(r, b + g);
        if (b + kLanes + g < b1) {
          prefetch_row_start(ids + (b + kLanes + g) * r.width, row_length(r, b + kLanes + g));
        }
      }
      for (int64_t j = 0; j < k; ++j) {
        DfaResult out[kLanes];
        if (prog.accel[j].any) {
          for (int g = 0; g < kLanes; ++g) out[g] = scan_row(prog, j, rows[g], n[g]);
        } else {
          dfa_scan_fast<kLanes>(p.prep[j].fast, rows, n, out);
        }
        for (int g = 0; g < kLanes; ++g) {
          fs[(b + g) * k + j] = out[g].state;
          fd[(b + g) * k + j] = out[g].first_dead;
        }
      }
      b += kLanes;
      continue;
    }
    const int64_t n = row_length(r, b);
    if (b + 1 < b1) prefetch_row_start(ids + (b + 1) * r.width, row_length(r, b + 1));
    masked.resize(r.mask != nullptr ? n : 0);
    const Id* row = unmasked_row(r, b, n, masked.data());
    for (int64_t j = 0; j < k; ++j) {
      const DfaResult out = scan_row(prog, j, row, n);
      fs[b * k + j] = out.state;
      fd[b * k + j] = out.first_dead;
    }
    ++b;
  }
}

// Rows [b0, b1) of K >= 2 patterns through one leased product engine, kIdLanes rows in
// lockstep; a row the product cannot take (a bad id or class, or the engine's budget
// spent) is scanned pattern by pattern, which reports each pattern's own result. Masked
// positions read mask_id (unmasked_row).
template <typename Id>
void scan_range_product(const TokenProgram& prog, const Rows& r, int64_t b0, int64_t b1,
                        int32_t* fs, int64_t* fd) {
  cpu::ProductPool::Lease eng(*prog.product);
  const int64_t k = prog.pats.k;
  // A row in flight is read from its own copy, so each masked row keeps one.
  std::vector<std::vector<Id>> masked(r.mask != nullptr ? b1 - b0 : 0);
  const auto row_of = [&](int64_t i) {
    const int64_t b = b0 + i, n = row_length(r, b);
    if (r.mask != nullptr) masked[i].resize(n);
    return unmasked_row(r, b, n, r.mask != nullptr ? masked[i].data() : nullptr);
  };
  const cpu::RowOf<Id> view = [&](int64_t i) {
    const int64_t b = b0 + i;
    if (b + 1 < b1) {  // rows start in lane order
      prefetch_row_start(static_cast<const Id*>(r.ids) + (b + 1) * r.width, row_length(r, b + 1));
    }
    return cpu::RowView<Id>{row_of(i), row_length(r, b), fs + b * k, fd + b * k};
  };
  eng->scan_lockstep<Id>(b1 - b0, view, [&](int64_t i) {
    const int64_t b = b0 + i;
    const Id* row = row_of(i);
    for (int64_t j = 0; j < k; ++j) {
      const DfaResult out = scan_row(prog, j, row, row_length(r, b));
      fs[b * k + j] = out.state;
      fd[b * k + j] = out.first_dead;
    }
  });
}

// More than kMaxProduct patterns: the op's path, products of up to kMaxProduct patterns
// built for this call, when that pays; false (nothing written) otherwise.
template <typename Id>
bool scan_many(const TokenProgram& p, const Rows& r, int32_t* fs, int64_t* fd) {
  std::vector<int64_t> lengths(r.batch);
  for (int64_t b = 0; b < r.batch; ++b) lengths[b] = row_length(r, b);
  const Id* ids = static_cast<const Id*>(r.ids);
  std::vector<Id> masked;
  if (r.mask != nullptr) {  // the whole batch, rewritten (the op's path takes a (B, L) array)
    masked.resize(r.batch * r.width);
    for (int64_t b = 0; b < r.batch; ++b) unmasked_row(r, b, r.width, masked.data() + b * r.width);
    ids = masked.data();
  }
  return cpu::scan_multi(ids, lengths.data(), p.pats.patterns, r.batch, r.width, fs, fd);
}

template <typename Id>
void scan_all(const TokenProgram& p, const Rows& r, int32_t* fs, int64_t* fd) {
  if (p.pats.k > cpu::kMaxProduct && scan_many<Id>(p, r, fs, fd)) return;
  const auto run = [&](int64_t b0, int64_t b1) {
    if (p.product) {
      scan_range_product<Id>(p, r, b0, b1, fs, fd);
    } else {
      scan_range<Id>(p, r, b0, b1, fs, fd);
    }
  };
  // The product reads each id once for all K patterns.
  const int64_t per_row = std::max<int64_t>(1, r.width * (p.product ? 1 : p.pats.k));
  if (r.batch * per_row < kInlineIds) {
    run(0, r.batch);
    return;
  }
  at::parallel_for(0, r.batch, std::max<int64_t>(kLanes, kInlineIds / per_row), run);
}

// The first error in row-major order (state < 0), for the caller's exception.
struct FirstError {
  int32_t state = 0;
  int64_t row = -1, pattern = -1, position = -1;
};

// Final states -> values, impossible patterns' first-dead set to 0. `acc` is (B, K), or with
// `row_means` (B,): each row's mean over its K values, as a float32 sum over K divided by K
// (the values are 0, 1 or NaN, so the sum is exact and the quotient is torch's mean).
FirstError finish(const TokenProgram& p, int64_t b, const int32_t* fs, float* acc, int64_t* fd,
                  bool row_means) {
  const int64_t k = p.pats.k, cols = p.value_cols;
  FirstError err;
  for (int64_t r = 0; r < b; ++r) {
    float sum = 0.0f;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t i = r * k + j;
      const int32_t s = fs[i];
      const float v = p.values[j * cols + (s >= 0 ? s : cols + s)];
      if (row_means) {
        sum += v;
      } else {
        acc[i] = v;
      }
      if (s < 0 && err.row < 0) err = FirstError{s, r, j, fd[i]};
      if (s >= 0 && p.impossible[j]) fd[i] = 0;
    }
    if (row_means) acc[r] = k == 1 ? sum : sum / static_cast<float>(k);
  }
  return err;
}

// ---- Python glue -------------------------------------------------------------------------

void free_program(PyObject* capsule) {
  delete static_cast<TokenProgram*>(PyCapsule_GetPointer(capsule, kCapsule));
}

PyObject* token_program(PyObject*, PyObject* args) {
  PyObject *cls, *tab, *starts, *dead, *values_obj, *impossible_obj;
  long long budget = kProductBudget;
  if (!PyArg_ParseTuple(args, "OOOOOO|L:token_program", &cls, &tab, &starts, &dead, &values_obj,
                        &impossible_obj, &budget)) {
    return nullptr;
  }
  auto prog = std::make_unique<TokenProgram>();
  if (!cpu::load_patterns(cls, tab, starts, dead, 1, kWho, prog->pats)) return nullptr;
  const int64_t k = prog->pats.k;
  prog->accel.resize(k);
  for (int64_t j = 0; j < k; ++j) {
    prog->accel[j] = cpu::token_accel(prog->pats.prep[j], prog->pats.n_states, true);
  }
  Buffer values, impossible;
  if (!cpu::get_buffer(values_obj, values, 2, 4, false, kWho, "values (K, S + 2) float32") ||
      !cpu::get_buffer(impossible_obj, impossible, 1, 1, false, kWho, "impossible (K,) bool")) {
    return nullptr;
  }
  if (values.view.shape[0] != k || values.view.shape[1] != prog->pats.n_states + 2 ||
      impossible.view.shape[0] != k) {
    PyErr_Format(PyExc_ValueError, "%s: values must be (K, S + 2) = (%lld, %lld) and impossible "
                 "(K,)", kWho, static_cast<long long>(k),
                 static_cast<long long>(prog->pats.n_states + 2));
    return nullptr;
  }
  const float* vp = static_cast<const float*>(values.view.buf);
  prog->values.assign(vp, vp + values.view.shape[0] * values.view.shape[1]);
  prog->value_cols = values.view.shape[1];
  const uint8_t* ip = static_cast<const uint8_t*>(impossible.view.buf);
  prog->impossible.assign(ip, ip + k);
  if (k >= 2 && k <= cpu::kMaxProduct) {
    std::vector<DfaFastPattern> fast;
    for (const cpu::Prepared& pr : prog->pats.prep) fast.push_back(pr.fast);
    prog->product = std::make_unique<cpu::ProductPool>(std::move(fast), prog->pats.vocab,
                                                       budget, true);
  }
  return PyCapsule_New(prog.release(), kCapsule, free_program);
}

// An integer id buffer: 'i' (int32) or 'l' / 'q' (int64); 0 for anything else.
int id_width(const Py_buffer& v) {
  const char f = v.format ? v.format[v.format[0] == '=' || v.format[0] == '<' ? 1 : 0] : 'B';
  if (v.itemsize == 4 && f == 'i') return 4;
  if (v.itemsize == 8 && (f == 'l' || f == 'q')) return 8;
  return 0;
}

// An argument given by address (a C-contiguous CPU tensor's data_ptr(), which its caller
// keeps alive and unchanged through the call): false with a ValueError when it is not one.
bool address_of(PyObject* obj, const char* name, const void** out) {
  const unsigned long long a = PyLong_Check(obj) ? PyLong_AsUnsignedLongLong(obj) : ~0ull;
  *out = reinterpret_cast<const void*>(static_cast<uintptr_t>(a));
  if (a == ~0ull) {
    PyErr_Clear();
    PyErr_Format(PyExc_ValueError, "%s: %s's address must be a non-negative int", kWho, name);
    return false;
  }
  return true;
}

PyObject* mismatch(int64_t b, int64_t l, int64_t k) {
  PyErr_Format(PyExc_ValueError, "%s: lengths (%lld,), attention_mask (%lld, %lld) and outputs "
               "(%lld, %lld) or (%lld,) must match input_ids", kWho, static_cast<long long>(b),
               static_cast<long long>(b), static_cast<long long>(l), static_cast<long long>(b),
               static_cast<long long>(k), static_cast<long long>(b));
  return nullptr;
}

// Ids, lengths and mask are buffers (numpy arrays), or given by address, as a caller holding
// CPU tensors passes them without building a numpy view of each (about 1 us apiece): ids as
// (address, B, L, itemsize 4 or 8), lengths as the address of B int64, the mask as that of
// B * L bool bytes.
PyObject* scan_ids(PyObject*, PyObject* args) {
  PyObject *capsule, *ids_obj, *len_obj, *mask_obj, *acc_obj, *fd_obj;
  long long mask_id;
  if (!PyArg_ParseTuple(args, "OOOOLOO:scan_ids", &capsule, &ids_obj, &len_obj, &mask_obj,
                        &mask_id, &acc_obj, &fd_obj)) {
    return nullptr;
  }
  auto* program = static_cast<TokenProgram*>(PyCapsule_GetPointer(capsule, kCapsule));
  if (program == nullptr) return nullptr;
  const OwnedPatterns* prog = &program->pats;
  Buffer ids, lens, mask, acc, fd;
  const void* ids_data = nullptr;
  int64_t b = 0, l = 0;
  int width = 0;
  if (PyTuple_Check(ids_obj)) {  // (address, B, L, itemsize)
    PyObject* addr;
    long long bb, ll;
    if (!PyArg_ParseTuple(ids_obj, "OLLi:scan_ids input_ids", &addr, &bb, &ll, &width) ||
        !address_of(addr, "input_ids", &ids_data)) {
      return nullptr;
    }
    b = bb;
    l = ll;
    if (b < 0 || l < 0 || (width != 4 && width != 8) || (ids_data == nullptr && b * l > 0)) {
      width = 0;
    }
  } else {
    if (PyObject_GetBuffer(ids_obj, &ids.view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
      return nullptr;
    }
    ids.held = true;
    width = ids.view.ndim == 2 ? id_width(ids.view) : 0;
    ids_data = ids.view.buf;
    b = width ? ids.view.shape[0] : 0;
    l = width ? ids.view.shape[1] : 0;
  }
  if (width == 0) {
    PyErr_Format(PyExc_ValueError, "%s: input_ids must be a C-contiguous (B, L) int32 or int64 "
                 "array", kWho);
    return nullptr;
  }
  const int64_t k = prog->k;
  const int64_t* lengths = nullptr;
  const uint8_t* mask_data = nullptr;
  const void* got = nullptr;
  if (PyLong_Check(len_obj)) {
    if (!address_of(len_obj, "lengths", &got)) return nullptr;
    lengths = static_cast<const int64_t*>(got);
  } else if (len_obj != Py_None) {
    if (!cpu::get_buffer(len_obj, lens, 1, 8, false, kWho, "lengths (B,) int64")) return nullptr;
    if (lens.view.shape[0] != b) return mismatch(b, l, k);
    lengths = static_cast<const int64_t*>(lens.view.buf);
  }
  if (PyLong_Check(mask_obj)) {
    if (!address_of(mask_obj, "attention_mask", &got)) return nullptr;
    mask_data = static_cast<const uint8_t*>(got);
  } else if (mask_obj != Py_None) {
    if (!cpu::get_buffer(mask_obj, mask, 2, 1, false, kWho, "attention_mask (B, L) bool")) {
      return nullptr;
    }
    if (mask.view.shape[0] != b || mask.view.shape[1] != l) return mismatch(b, l, k);
    mask_data = static_cast<const uint8_t*>(mask.view.buf);
  }
  if ((lengths == nullptr && len_obj != Py_None && b > 0) ||
      (mask_data == nullptr && mask_obj != Py_None && b * l > 0)) {
    PyErr_Format(PyExc_ValueError, "%s: lengths and attention_mask must not be given at address 0",
                 kWho);
    return nullptr;
  }
  if (fd_obj != Py_None &&
      !cpu::get_buffer(fd_obj, fd, 2, 8, true, kWho, "first_dead (B, K) int64")) {
    return nullptr;
  }
  // accepted: (B, K) values, or (B,) row means.
  const int acc_dims = PyObject_GetBuffer(acc_obj, &acc.view, PyBUF_C_CONTIGUOUS |
                                          PyBUF_FORMAT | PyBUF_WRITABLE) == 0 ? acc.view.ndim : -1;
  if (acc_dims < 0) return nullptr;
  acc.held = true;
  if ((acc_dims != 1 && acc_dims != 2) || acc.view.itemsize != 4) {
    PyErr_Format(PyExc_ValueError, "%s: accepted must be a C-contiguous (B, K) or (B,) array of "
                 "float32, got %d-D of %zd-byte items", kWho, acc_dims, acc.view.itemsize);
    return nullptr;
  }
  const bool row_means = acc_dims == 1;
  if (acc.view.shape[0] != b || (!row_means && acc.view.shape[1] != k) ||
      (fd_obj != Py_None && (fd.view.shape[0] != b || fd.view.shape[1] != k))) {
    return mismatch(b, l, k);
  }
  const Rows rows{ids_data, b, l, lengths, mask_data, static_cast<int64_t>(mask_id)};
  // The lengths' range, for the caller's check (it names the argument; clamping is the scan's).
  int64_t low = l, high = l;
  if (rows.lengths != nullptr && b > 0) {
    const auto mm = std::minmax_element(rows.lengths, rows.lengths + b);
    low = *mm.first;
    high = *mm.second;
  }
  std::vector<int64_t> fd_scratch(fd_obj == Py_None ? b * k : 0);
  int64_t* out_fd = fd_obj == Py_None ? fd_scratch.data() : static_cast<int64_t*>(fd.view.buf);
  std::vector<int32_t> states(b * k);
  FirstError err;
  Py_BEGIN_ALLOW_THREADS
  if (width == 4) {
    scan_all<int32_t>(*program, rows, states.data(), out_fd);
  } else {
    scan_all<int64_t>(*program, rows, states.data(), out_fd);
  }
  err = finish(*program, b, states.data(), static_cast<float*>(acc.view.buf), out_fd, row_means);
  Py_END_ALLOW_THREADS
  return Py_BuildValue("(LLiLLL)", static_cast<long long>(low), static_cast<long long>(high),
                       err.state, static_cast<long long>(err.row),
                       static_cast<long long>(err.pattern), static_cast<long long>(err.position));
}

PyMethodDef kMethods[] = {
    {"token_program", token_program, METH_VARARGS,
     "token_program(class_ids, tables, starts, dead, values, impossible[, budget]) -> program: "
     "K token DFAs (int32 arrays (K, V), (K, S, C), (K,), (K,)), the float32 value of each "
     "final state (K, S + 2; the last two columns for the error states -2, -1) and the bool "
     "(K,) patterns no text matches, prepared for scan_ids; budget: bytes per product engine "
     "(K >= 2), past which a row is scanned pattern by pattern."},
    {"scan_ids", scan_ids, METH_VARARGS,
     "scan_ids(program, ids, lengths, mask, mask_id, accepted, first_dead) -> (low, high, "
     "error_state, row, pattern, position): scans (B, L) int32/int64 ids (lengths (B,) int64 "
     "or None, mask (B, L) bool or None; each a C-contiguous array, or given by address: ids "
     "as (address, B, L, itemsize), the others as an int) with every pattern, writing the "
     "float32 values of the final states (accepted (B, K); or (B,): each row's mean over the "
     "K) and the (B, K) int64 first-dead positions (first_dead None: not kept); returns the "
     "lengths' range and the first error (state 0 and -1s when none)."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

PyMethodDef* id_scan_methods() { return kMethods; }

}  // namespace twinkle
