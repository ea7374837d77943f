// Argument checks of twinkle::dfa_scan shared by the CPU and CUDA torch glue (torch headers
// allowed: never included from a .cu file). Only shapes, dtypes, devices and the host-side
// here; id, start and table ranges are checked inside the scan (dfa_scan.h), which runs on
// the device without a host sync.
#pragma once

#include <torch/types.h>

namespace twinkle {

inline void check_dfa_scan_args(const at::Tensor& input_ids, const at::Tensor& lengths,
                                const at::Tensor& class_ids, const at::Tensor& tables,
                                const at::Tensor& starts, const at::Tensor& dead, int64_t chunk) {
  TORCH_CHECK(chunk >= 0, "dfa_scan: chunk must be >= 0 (0 picks a chunk length), got ", chunk);
  TORCH_CHECK(input_ids.dim() == 2, "dfa_scan: input_ids must be 2-D (B, L), got shape ",
              input_ids.sizes());
  const auto id_type = input_ids.scalar_type();
  TORCH_CHECK(id_type == at::kByte || id_type == at::kInt || id_type == at::kLong,
              "dfa_scan: input_ids must be uint8, int32 or int64, got ", id_type);
  TORCH_CHECK(lengths.dim() == 1 && lengths.size(0) == input_ids.size(0),
              "dfa_scan: lengths must have shape (B,) = (", input_ids.size(0), ",), got ",
              lengths.sizes());
  TORCH_CHECK(lengths.scalar_type() == at::kLong, "dfa_scan: lengths must be int64, got ",
              lengths.scalar_type());
  TORCH_CHECK(class_ids.dim() == 2, "dfa_scan: class_ids must be 2-D (K, V), got shape ",
              class_ids.sizes());
  TORCH_CHECK(tables.dim() == 3, "dfa_scan: tables must be 3-D (K, S, C), got shape ",
              tables.sizes());
  TORCH_CHECK(class_ids.scalar_type() == at::kInt && tables.scalar_type() == at::kInt,
              "dfa_scan: class_ids and tables must be int32, got ", class_ids.scalar_type(),
              " and ", tables.scalar_type());
  const int64_t k = tables.size(0);
  TORCH_CHECK(class_ids.size(0) == k, "dfa_scan: class_ids has ", class_ids.size(0),
              " patterns but tables has ", k);
  TORCH_CHECK(starts.dim() == 1 && starts.size(0) == k && dead.dim() == 1 && dead.size(0) == k,
              "dfa_scan: starts and dead must have shape (K,) = (", k, ",), got ", starts.sizes(),
              " and ", dead.sizes());
  TORCH_CHECK(starts.scalar_type() == at::kInt && dead.scalar_type() == at::kInt,
              "dfa_scan: starts and dead must be int32, got ", starts.scalar_type(), " and ",
              dead.scalar_type());
  const int64_t s = tables.size(1);
  TORCH_CHECK(k == 0 || (s > 0 && tables.size(2) > 0),
              "dfa_scan: tables must have at least one state and one class, got shape ",
              tables.sizes());
  for (const at::Tensor* t : {&lengths, &class_ids, &tables, &starts, &dead}) {
    TORCH_CHECK(t->device() == input_ids.device(),
                "dfa_scan: lengths, class_ids, tables, starts and dead must be on the input_ids' device (",
                input_ids.device(), "), got ", t->device());
  }
}

// Checked, contiguous inputs and freshly allocated outputs of one dfa_scan call: the part
// of the CPU and CUDA glue that does not depend on the device.
struct DfaScanCall {
  at::Tensor ids, lens, cls, tab, starts, dead;
  at::Tensor final_state;  // (B, K) int32
  at::Tensor first_dead;   // (B, K) int64
  int64_t batch, max_len, k;

  bool empty() const { return batch == 0 || k == 0; }
};

inline DfaScanCall prepare_dfa_scan(const at::Tensor& input_ids, const at::Tensor& lengths,
                                    const at::Tensor& class_ids, const at::Tensor& tables,
                                    const at::Tensor& starts, const at::Tensor& dead,
                                    int64_t chunk) {
  check_dfa_scan_args(input_ids, lengths, class_ids, tables, starts, dead, chunk);
  DfaScanCall c;
  c.ids = input_ids.contiguous();
  c.lens = lengths.contiguous();
  c.cls = class_ids.contiguous();
  c.tab = tables.contiguous();
  c.starts = starts.contiguous();
  c.dead = dead.contiguous();
  c.batch = c.ids.size(0);
  c.max_len = c.ids.size(1);
  c.k = c.tab.size(0);
  c.final_state = at::empty({c.batch, c.k}, c.ids.options().dtype(at::kInt));
  c.first_dead = at::empty({c.batch, c.k}, c.ids.options().dtype(at::kLong));
  return c;
}

}  // namespace twinkle
