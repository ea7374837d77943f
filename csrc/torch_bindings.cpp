// The one TORCH_LIBRARY of twinkle: every op schema, grouped by family. Kernels register
// per device in csrc/cpu/*.cpp and csrc/cuda/*_cuda.cpp.
#include <Python.h>
#include <torch/library.h>

TORCH_LIBRARY(twinkle, m) {
  // ---- advantage family -------------------------------------------------------------
  // Per-group GRPO/RLOO advantages. Contiguous groups of `group_size` when order is None;
  // else ragged groups: `order` lists each group's members together and `sorted_ids` is
  // group_ids[order]. Returns (advantages (B,) float32, dapo_keep (B,) bool).
  m.def(
      "group_advantage(Tensor rewards, Tensor? order, Tensor? sorted_ids, int group_size, "
      "int baseline, int scale, float eps, bool unbiased) -> (Tensor, Tensor)");

  // ---- format family ----------------------------------------------------------------
  // (dfa_scan is declared here when the format engine lands.)
}

// `import twinkle._C` loads this library (and so registers the ops); it has no Python API.
extern "C" PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
