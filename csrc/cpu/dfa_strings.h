// The Python functions of the string scanner (dfa_strings.cpp), added to twinkle._C's
// module by torch_bindings.cpp. Plain CPython API: torch ops cannot take a list of str.
#pragma once

#include <Python.h>

namespace twinkle {

// {byte_program, scan_strings, sentinel}.
PyMethodDef* string_scan_methods();

}  // namespace twinkle
