// CPython glue shared by the plain-C entry points of _C (the string scanner and the token-id
// scanner): typed views of buffer-protocol objects (numpy arrays, torch tensors' .numpy())
// and the K patterns a program owns. No torch headers.
//
// Invariants:
//  * A view is C-contiguous with the asked item size and rank, or the call fails with a
//    ValueError that names the argument.
//  * A program owns copies of its class ids and tables: the arrays it was built from may
//    change or go away afterwards.
#pragma once

#include <Python.h>

#include <cstdint>
#include <vector>

#include "dfa_accel.h"

namespace twinkle {
namespace cpu {

struct Buffer {
  Py_buffer view{};
  bool held = false;
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() {
    if (held) PyBuffer_Release(&view);
  }
};

// A C-contiguous buffer of `itemsize`-byte items and `ndim` dims, or a ValueError naming it.
inline bool get_buffer(PyObject* obj, Buffer& b, int ndim, Py_ssize_t itemsize, bool writable,
                       const char* who, const char* name) {
  const int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
  if (PyObject_GetBuffer(obj, &b.view, flags) != 0) return false;
  b.held = true;
  if (b.view.ndim != ndim || b.view.itemsize != itemsize) {
    PyErr_Format(PyExc_ValueError,
                 "%s: %s must be a C-contiguous %d-D array of %zd-byte items, got %d-D of %zd-byte "
                 "items", who, name, ndim, itemsize, b.view.ndim, b.view.itemsize);
    return false;
  }
  return true;
}

// K validated patterns with their own copies of the tables (see the invariants above).
struct OwnedPatterns {
  int64_t k = 0, vocab = 0, n_states = 0, n_classes = 0;
  std::vector<std::vector<int32_t>> class_ids, tables;
  std::vector<DfaPattern> patterns;  // pointing into class_ids and tables
  std::vector<Prepared> prep;
};

// Reads (class_ids (K, V), tables (K, S, C), starts (K,), dead (K,)) int32 into `out`, each
// pattern prepared for the fast step. False with a ValueError set when a shape disagrees,
// V < min_vocab, or a pattern fails the fast path's checks (cpu::prepare).
inline bool load_patterns(PyObject* cls_obj, PyObject* tab_obj, PyObject* start_obj,
                          PyObject* dead_obj, int64_t min_vocab, const char* who,
                          OwnedPatterns& out) {
  Buffer cls, tab, starts, dead;
  if (!get_buffer(cls_obj, cls, 2, 4, false, who, "class_ids (K, V) int32") ||
      !get_buffer(tab_obj, tab, 3, 4, false, who, "tables (K, S, C) int32") ||
      !get_buffer(start_obj, starts, 1, 4, false, who, "starts (K,) int32") ||
      !get_buffer(dead_obj, dead, 1, 4, false, who, "dead (K,) int32")) {
    return false;
  }
  const int64_t k = cls.view.shape[0], v = cls.view.shape[1];
  const int64_t s = tab.view.shape[1], c = tab.view.shape[2];
  if (tab.view.shape[0] != k || starts.view.shape[0] != k || dead.view.shape[0] != k ||
      v < min_vocab) {
    PyErr_Format(PyExc_ValueError,
                 "%s: patterns need class_ids (K, V >= %lld), tables (K, S, C), starts (K,) and "
                 "dead (K,) with one K; got K = %lld, V = %lld", who,
                 static_cast<long long>(min_vocab), static_cast<long long>(k),
                 static_cast<long long>(v));
    return false;
  }
  out.k = k;
  out.vocab = v;
  out.n_states = s;
  out.n_classes = c;
  out.class_ids.resize(k);
  out.tables.resize(k);
  out.prep.resize(k);
  out.patterns.resize(k);
  const int32_t* cp = static_cast<const int32_t*>(cls.view.buf);
  const int32_t* tp = static_cast<const int32_t*>(tab.view.buf);
  for (int64_t j = 0; j < k; ++j) {
    out.class_ids[j].assign(cp + j * v, cp + (j + 1) * v);
    out.tables[j].assign(tp + j * s * c, tp + (j + 1) * s * c);
    const DfaPattern pat{out.class_ids[j].data(), out.tables[j].data(), v, s, c,
                         static_cast<const int32_t*>(starts.view.buf)[j],
                         static_cast<const int32_t*>(dead.view.buf)[j]};
    out.patterns[j] = pat;
    out.prep[j] = prepare(pat);
    if (!out.prep[j].ok) {
      PyErr_Format(PyExc_ValueError, "%s: pattern %lld has a start, class or transition out of "
                   "range", who, static_cast<long long>(j));
      return false;
    }
    out.prep[j].fast.offsets = out.prep[j].offsets.data();  // re-point after the move
  }
  return true;
}

}  // namespace cpu
}  // namespace twinkle
