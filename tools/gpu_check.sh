#!/usr/bin/env bash
# The one device run of a GPU session: builds the extension with its CUDA kernels, runs the
# CUDA test cases, then the GPU benchmarks, and leaves logs and results in $OUT (at most 8
# files, as the device tool returns them). Sized to finish in about 8 minutes on an H200.
#
# Here, first: bash tools/gpu_wheels.sh. Then, with the device tool:
#   run(command="bash tools/gpu_check.sh", carry=[".whl"], timeout_s=560)
# and, if time is left, on the still-warm machine (the build is kept):
#   run(command="bash tools/gpu_check.sh sanitize", carry=[".whl"], timeout_s=300)
# which runs tools/gpu_sanitize.py under compute-sanitizer's memcheck and racecheck.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/twinkle_gpu}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} MAX_JOBS=${MAX_JOBS:-16}
if ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
{ nvidia-smi -L; "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"; } \
  2>&1 | tee "$OUT/env.log"
bash tools/check_cuda.sh 2>&1 | tee -a "$OUT/env.log"
if [ "${1:-}" = sanitize ]; then
  for tool in memcheck racecheck; do
    timeout 140 compute-sanitizer --tool "$tool" --error-exitcode 3 "$PY" tools/gpu_sanitize.py \
      > "$OUT/sanitize_$tool.log" 2>&1
    echo "compute-sanitizer $tool: exit $?"; tail -4 "$OUT/sanitize_$tool.log"
  done
  exit 0
fi
TWINKLE_FORCE_CUDA=1 "$PY" setup.py build_ext --inplace > "$OUT/build.log" 2>&1
"$PY" -c "from twinkle import _ext; print(_ext.extension_info()); assert _ext.has_kernel('dfa_scan', 'cuda')" \
  2>&1 | tee -a "$OUT/build.log" || { tail -40 "$OUT/build.log"; exit 1; }
# Every CUDA test case (ops, the chunked kernel's hypothesis differential, advantages,
# rewards, MathReward.forward on the device, samplers).
TWINKLE_REQUIRE_EXT=1 timeout 240 "$PY" -m pytest -q -p no:cacheprovider -k cuda tests 2>&1 \
  | tail -60 > "$OUT/tests.log"
tail -3 "$OUT/tests.log"
timeout 200 "$PY" benchmarks/bench_format.py --cuda-only --no-plot 2>&1 | tail -60 > "$OUT/bench_format.log"
tail -25 "$OUT/bench_format.log"
timeout 90 "$PY" benchmarks/bench_advantage.py --no-plot 2>&1 | tail -40 > "$OUT/bench_advantage.log"
tail -12 "$OUT/bench_advantage.log"
cp benchmarks/results/bench_format.json benchmarks/results/bench_advantage.json "$OUT/" 2>/dev/null
exit 0
