#!/usr/bin/env bash
# Build (or complete) an environment in which torchvision imports, so that transformers' stock
# Qwen2.5-VL processor runs: the tests compare it with the harness's image-only processor
# (tests/test_release_model.py). PyPI's torchvision does not import beside our CPU torch 2.13.0
# wheel, so this environment takes torch 2.14.1 with its matching torchvision 0.29.1 (CUDA builds,
# which run on a CPU) and the newest transformers our pins allow, then this checkout without its
# dependencies. Location: $CPT_HARNESS_TORCHVISION_ENV, default
# ~/.cache/cpt-harness/torchvision-env. Idempotent.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ENV="${CPT_HARNESS_TORCHVISION_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cpt-harness/torchvision-env}"
PY="${PYTHON:-python3}"
[ -x "$ENV/bin/python" ] || "$PY" -m venv "$ENV"
PIP=("$ENV/bin/python" -m pip install -q --disable-pip-version-check)
"$ENV/bin/python" -c "import torchvision" 2>/dev/null || "${PIP[@]}" torch==2.14.1 torchvision==0.29.1
"${PIP[@]}" 'transformers>=5.19,<6' 'tokenizers>=0.21' 'safetensors>=0.4' 'pillow>=10' numpy tqdm tabulate jsonlines matplotlib \
    mathruler==0.1.0 sympy pylatexenc 'datasets>=4,<6' 'jsonschema>=4' 'jinja2>=3.1' pytest
"${PIP[@]}" --no-deps -e "$REPO"
"$ENV/bin/python" -c "import torchvision, transformers; print('torchvision', torchvision.__version__, 'transformers', transformers.__version__, 'ready in', '$ENV')"
