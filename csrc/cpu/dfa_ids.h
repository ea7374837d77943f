// The Python functions of the token-id scanner (dfa_ids.cpp), added to twinkle._C's module
// by torch_bindings.cpp. Plain CPython API: they read numpy buffers, not tensors.
#pragma once

#include <Python.h>

namespace twinkle {

// {token_program, scan_ids, sentinel}.
PyMethodDef* id_scan_methods();

}  // namespace twinkle
