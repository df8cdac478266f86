#!/usr/bin/env bash
# The GPU check, for a maintainer with one CUDA GPU: builds an environment with the README's GPU
# install line (`pip install -e '.[vllm]'`: vLLM 0.32.0, torch 2.13.0), then scores the
# release-layout fixture and every checkpoint folder given with hf and vLLM, and prints greedy
# agreement, tokens/s and the paper-scale projection (bench/gpu_check.py). Unattended; meant to
# finish within 10 minutes on one GPU with the fixture and one 7B checkpoint.
#   bash scripts/gpu-check.sh [CHECKPOINT ...]
# Environment: $CPT_HARNESS_GPU_ENV, default ~/.cache/cpt-harness/gpu-env (reused when present).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ENV="${CPT_HARNESS_GPU_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cpt-harness/gpu-env}"
[ -x "$ENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$ENV"
"$ENV/bin/python" -c "import vllm, harness" 2>/dev/null || (cd "$REPO" && "$ENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[vllm]')
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec "$ENV/bin/python" "$REPO/bench/gpu_check.py" "$@"
