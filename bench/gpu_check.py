"""The GPU check: the release-layout fixture and any checkpoint folders given, scored with the
hf backend and with vLLM on the GPU; prints greedy agreement, tokens/s and the paper-scale
projection (tokens per stage / tokens per second). Started by `scripts/gpu-check.sh`, which
builds the environment with the README's GPU install line first.

Work per checkpoint: the four toy image tasks in their greedy style (`--limit` items each) and
the text task `toy_mcq10`, from empty stores, hf (bf16) then vLLM; tokens are the responses'
token counts under the checkpoint's own tokenizer; tokens/s = tokens / wall time of the whole
`run_eval` (engine start-up included, as a user sees it).

    python bench/gpu_check.py [CHECKPOINT ...] [--limit 64] [--tokens-per-stage 10000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TASKS = ["toy_count:style=direct", "toy_science:style=direct", "toy_texture:style=direct", "toy_spatial:style=direct", "toy_mcq10"]


def score(folder: Path, work: Path, backend: str, limit: int) -> tuple[dict, float, int]:
    from transformers import AutoTokenizer

    from harness.eval.evaluate import run_eval
    from harness.results.format import read_stage_responses
    from harness.runs.checkpoints import load_run

    run = work / "run"
    run.mkdir(parents=True, exist_ok=True)
    (run / "manifest.json").write_text(json.dumps({"base": str(folder), "stages": []}))
    out = work / backend
    start = time.perf_counter()
    run_eval(load_run(run, allow_external_paths=True), out, work / f"store-{backend}", task_specs=TASKS, limit=limit, progress=False,
             backend=backend, backend_options={"batching": "exact"} if backend == "hf" else {})
    seconds = time.perf_counter() - start
    got = read_stage_responses(out, 0)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokens = sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in got.values())
    return got, seconds, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoints", nargs="*", help="checkpoint folders (a Qwen2.5-VL release or a stage saved from one)")
    ap.add_argument("--limit", type=int, default=64)
    ap.add_argument("--tokens-per-stage", type=float, default=1e7,
                    help="generated tokens to score one stage at paper scale (default: about 10,000 items x 1,000 tokens)")
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        sys.exit("gpu-check: no CUDA GPU is visible to torch")
    import vllm

    from baselines.release_model import build_release_model

    work = Path(tempfile.mkdtemp(prefix="cpt-gpu-check-"))
    folders = [build_release_model(work / "release-fixture", seed=0)] + [Path(c).resolve() for c in args.checkpoints]
    print(f"torch {torch.__version__}, vllm {vllm.__version__}, {torch.cuda.get_device_name(0)}; work in {work}")
    for i, folder in enumerate(folders):
        hf, hf_s, hf_tokens = score(folder, work / f"c{i}", "hf", args.limit)
        vl, vl_s, vl_tokens = score(folder, work / f"c{i}", "vllm", args.limit)
        same = sum(hf[k] == vl[k] for k in hf)
        print(f"{folder}: greedy agreement hf vs vllm {same}/{len(hf)}")
        for name, seconds, tokens in (("hf", hf_s, hf_tokens), ("vllm", vl_s, vl_tokens)):
            rate = tokens / seconds
            print(f"  {name}: {tokens} tokens in {seconds:.1f} s = {rate:.1f} tokens/s; "
                  f"paper-scale stage ({args.tokens_per_stage:,.0f} tokens): {args.tokens_per_stage / rate / 3600:.2f} h")


if __name__ == "__main__":
    main()
