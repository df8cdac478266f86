#!/usr/bin/env bash
# Rebuild the bundles in leaderboard/bundles: the demo's SFT and GRPO runs (the demo's base) and
# the full lab's seed-0 run of each default method (the shipped lab base). Run after a change that
# alters what the toy runs produce (task versions, the tiny models, the tiny configs); then
# `python -m pytest tests/test_leaderboard.py`.
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
# The default methods, seed 0 of the full lab (toy7, 48 test items): the runs docs/lab.md reports.
# About 43 min on a 2-core CPU (docs/lab.md); a rerun with the same --out resumes.
harness lab --out "$WORK/lab" --store "$WORK/store" --no-progress
find "$REPO/leaderboard/bundles" -name 'lab-*.tar.gz' -delete
cp "$WORK"/lab/bundles/lab-*-s0.tar.gz "$REPO/leaderboard/bundles/"
echo "leaderboard/bundles rebuilt from $WORK"
