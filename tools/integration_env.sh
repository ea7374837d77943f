#!/usr/bin/env bash
# The trainer frameworks whose pins conflict with twinkle's test environment, in a virtual
# environment of their own, so tests/integrations can run their real reward code on CPU:
#
#   verl 0.9.1       transformers>=5.5.3,<5.11 and tensordict<=0.10 (ours: a newer transformers)
#   openrlhf 0.11.2  pins deepspeed, flash-attn (CUDA builds), ray 2.55 and transformers 5.15;
#                    installed with --no-deps: its reward loader (openrlhf.utils.agent) needs
#                    only aiohttp, pylatexenc, sympy, torch and transformers
#   verifiers 0.3.1  the last release with the classic `vf.Rubric` (0.4.0, in the main
#                    environment, has only the `verifiers.v1` Task API)
#
# The environment sees the main interpreter's packages (--system-site-packages), so torch is
# the CPU build already installed there: a plain `torch` requirement would pull a several-GB
# CUDA build, and the constraints file below pins torch==2.13.0 to forbid that. twinkle
# itself is imported from this checkout (a .pth file), with the extension already built here.
#
# Usage:
#   bash tools/integration_env.sh            build (or reuse) the environment, print its python
#   bash tools/integration_env.sh test ARGS  build, then run pytest ARGS (default:
#                                            tests/integrations) with it
# TWINKLE_INTEGRATION_ENV sets where it lives (default ~/.cache/twinkle/integration-env);
# PYTHON picks the base interpreter (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
ENV_DIR=${TWINKLE_INTEGRATION_ENV:-$HOME/.cache/twinkle/integration-env}
REQS=(verl==0.9.1 'transformers>=5.5.3,<5.11' 'tensordict==0.10.0' 'ray[default]==2.60.0'
      verifiers==0.3.1 pylatexenc jsonlines aiohttp)
NODEPS=(openrlhf==0.11.2)
STAMP="$ENV_DIR/.twinkle-integration-stamp"
want="${REQS[*]} | ${NODEPS[*]} | $("$PY" -c 'import torch; print(torch.__version__)')"

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "building the integration environment in $ENV_DIR" >&2
  "$PY" -m venv --system-site-packages "$ENV_DIR"
  constraints=$(mktemp)
  trap 'rm -f "$constraints"' EXIT
  # Whatever a framework asks for, torch stays the CPU build on disk.
  printf 'torch==2.13.0\n' >"$constraints"
  "$ENV_DIR/bin/python" -m pip install -q -c "$constraints" "${REQS[@]}"
  "$ENV_DIR/bin/python" -m pip install -q --no-deps "${NODEPS[@]}"
  printf '%s' "$want" >"$STAMP"
fi
# This checkout's twinkle, whichever folder it was cloned into.
site=$("$ENV_DIR/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf '%s\n' "$PWD" >"$site/twinkle_checkout.pth"

case "${1:-}" in
  test)
    args=("${@:2}")
    [ ${#args[@]} -gt 0 ] || args=(tests/integrations)
    exec "$ENV_DIR/bin/python" -m pytest -q -p no:cacheprovider "${args[@]}"
    ;;
  "")
    echo "$ENV_DIR/bin/python"
    ;;
  *)
    echo "usage: bash tools/integration_env.sh [test [pytest args]]" >&2
    exit 2
    ;;
esac
