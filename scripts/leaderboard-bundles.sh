#!/usr/bin/env bash
# Rebuild the bundles in leaderboard/bundles: the demo's SFT and GRPO runs (the demo's base) and the
# quick lab's (the shipped lab base). Run after a change that alters what the toy runs produce (task
# versions, the tiny models, the tiny configs); then `python -m pytest tests/test_leaderboard.py`.
# Work folder: $1 (default: a new temporary folder); its own response store, so nothing is reused.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK"
harness demo --out "$WORK/demo" --store "$WORK/store" --no-progress
for method in sft grpo; do
    upper=$(echo "$method" | tr a-z A-Z)
    cat > "$WORK/$method.toml" <<TOML
method = "$upper (harness demo)"
base_model = "tiny Qwen2.5-VL, instruct-tuned by the demo (0.25 M parameters)"
training_data = "toy3 sequence: toy_science, toy_spatial, toy_count (procedural)"
code = "harness demo (baselines/train.py, method $method, baselines/configs/$method-tiny.toml)"
contact = "the cpt-harness maintainers"
licence = "Apache-2.0"
track = "toy"
TOML
    harness bundle "$WORK/demo/eval/$method" --meta "$WORK/$method.toml" --archive "$REPO/leaderboard/bundles/demo-$method.tar.gz"
done
harness lab --quick --out "$WORK/lab" --store "$WORK/store" --no-progress
cp "$WORK/lab/bundles/lab-sft-s0.tar.gz" "$WORK/lab/bundles/lab-grpo-s0.tar.gz" "$REPO/leaderboard/bundles/"
echo "leaderboard/bundles rebuilt from $WORK"
