// The one TORCH_LIBRARY of twinkle: every op schema, grouped by family. Kernels register
// per device in csrc/cpu/*.cpp and csrc/cuda/*_cuda.cpp.
#include <Python.h>
#include <torch/library.h>

#include <vector>

#include "dfa_ids.h"
#include "dfa_lift.h"
#include "dfa_strings.h"

TORCH_LIBRARY(twinkle, m) {
  // ---- advantage family -------------------------------------------------------------
  // Per-group GRPO/RLOO/pass@k advantages. Contiguous groups of `group_size` when order is None;
  // else ragged groups: `order` lists each group's members together and `sorted_ids` is
  // group_ids[order]. Returns (advantages (B,) float32, dapo_keep (B,) bool).
  m.def(
      "group_advantage(Tensor rewards, Tensor? order, Tensor? sorted_ids, int group_size, "
      "int baseline, int scale, float eps, bool unbiased) -> (Tensor, Tensor)");

  // ---- format family ----------------------------------------------------------------
  // Runs K token-level DFAs over padded ids (B, L) (uint8, int32 or int64; lengths (B,) int64)
  // with class_ids (K, V) int32 and tables (K, S, C) int32, from starts (K,) int32; dead (K,)
  // int32 is each pattern's sink state or -1.
  // Returns (final_state (B, K) int32, first_dead (B, K) int64); errors are negative states
  // (-1: id out of [0, V), -2: table out of range), see include/twinkle/dfa_scan.h.
  // `chunk` > 0 scans each row in chunks of that many tokens summarised in parallel
  // (include/twinkle/dfa_chunks.h); 0 lets the backend choose. The result never depends on it.
  m.def(
      "dfa_scan(Tensor input_ids, Tensor lengths, Tensor class_ids, Tensor tables, Tensor starts, "
      "Tensor dead, int chunk=0) -> (Tensor, Tensor)");
}

// `import twinkle._C` loads this library (and so registers the ops). Its Python API is the
// plain-C functions that take what no op schema can or should: lists of str (the string
// scanner, cpu/dfa_strings.cpp), numpy views of CPU ids without dispatch (cpu/dfa_ids.cpp)
// and the token lift over numpy buffers (cpu/dfa_lift.cpp).
extern "C" PyObject* PyInit__C(void) {
  static std::vector<PyMethodDef> methods;
  if (methods.empty()) {
    for (PyMethodDef* table : {twinkle::string_scan_methods(), twinkle::id_scan_methods(),
                               twinkle::token_lift_methods()}) {
      for (PyMethodDef* m = table; m->ml_name != nullptr; ++m) methods.push_back(*m);
    }
    methods.push_back({nullptr, nullptr, 0, nullptr});
  }
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, methods.data()};
  return PyModule_Create(&module_def);
}
