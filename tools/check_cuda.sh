#!/usr/bin/env bash
# Checks the CUDA sources without a GPU:
#  * every csrc/cuda/*.cu compiles with plain `nvcc -c` (they include no torch headers);
#  * every csrc/cuda/*_cuda.cpp (the torch glue) passes a g++ syntax check against torch's
#    headers and CUDA's. A CPU torch wheel lacks one generated header of c10's CUDA part,
#    so a stand-in defining its single macro is put on the include path for this check.
# Prints what it checked; exits non-zero on the first error. Skips (exit 0) without nvcc.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v nvcc >/dev/null 2>&1; then
  echo "nvcc not found: CUDA sources not compiled"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cu in csrc/cuda/*.cu; do
  nvcc -c -std=c++17 -arch=sm_90 -Icsrc/include -Icsrc/cuda "$cu" -o "$tmp/$(basename "$cu").o"
  echo "nvcc -c $cu: ok"
done
cuda_inc=$(nvcc --dryrun -c -x cu /dev/null -o /dev/null 2>&1 | sed -n 's/.*INCLUDES="-I\([^"]*\)".*/\1/p' | head -1)
torch_inc=$("$PY" -c "from torch.utils.cpp_extension import include_paths; print(' '.join('-I' + p for p in include_paths()))")
mkdir -p "$tmp/stub/c10/cuda/impl"
echo '#define C10_CUDA_BUILD_SHARED_LIBS' > "$tmp/stub/c10/cuda/impl/cuda_cmake_macros.h"
for glue in csrc/cuda/*_cuda.cpp; do
  # shellcheck disable=SC2086
  g++ -std=c++20 -fsyntax-only -I"$tmp/stub" $torch_inc -I"$cuda_inc" -Icsrc/include -Icsrc/cuda -Icsrc/cpu "$glue"
  echo "g++ -fsyntax-only $glue: ok"
done
