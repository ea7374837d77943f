// The Python function that lifts a byte DFA to a tokenizer's vocabulary (dfa_lift.cpp),
// added to twinkle._C's module by torch_bindings.cpp beside the string scanner.
#pragma once

#include <Python.h>

namespace twinkle {

// {lift_tokens, sentinel}.
PyMethodDef* token_lift_methods();

}  // namespace twinkle
