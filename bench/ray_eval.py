"""`harness eval` in one process vs `harness eval --ray` (a local Ray instance) on the same run.

Each round evaluates the run twice from empty response stores, once each way, interleaved
(single, ray, single, ray, ...), as whole `harness eval` processes, and checks that the two
bundles are equal apart from timing fields (`created`, `run_stats`) and that every per-sample
file is byte-identical. Prints the wall times (median, min-max) and their ratio.

    python bench/ray_eval.py --run demo-out/runs/sft [--rounds 3] [--limit 48]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def evaluate(run: Path, out: Path, store: Path, limit: int, ray: bool) -> float:
    cmd = [sys.executable, "-m", "harness.cli", "eval", "--checkpoint-dir", str(run), "--out", str(out), "--store", str(store),
           "--limit", str(limit), "--no-progress", "--allow-external-paths"] + (["--ray"] if ray else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return seconds


def comparable(out: Path) -> tuple[dict, dict[str, bytes]]:
    results = json.loads((out / "results.json").read_text())
    for timing in ("created", "run_stats"):
        results.pop(timing)
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "samples").rglob("*.jsonl"))}
    return results, files


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limit", type=int, default=48)
    args = p.parse_args()
    times: dict[str, list[float]] = {"single": [], "ray": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            outs = {}
            for mode in ("single", "ray"):
                out = Path(tmp) / f"{mode}{r}"
                times[mode].append(evaluate(args.run, out, Path(tmp) / f"store-{mode}{r}", args.limit, mode == "ray"))
                outs[mode] = out
                print(f"round {r + 1} {mode}: {times[mode][-1]:.1f} s", flush=True)
            single, ray = comparable(outs["single"]), comparable(outs["ray"])
            same_files = sum(single[1].get(k) == v for k, v in ray[1].items())
            print(f"round {r + 1}: results.json equal apart from timing fields: {single[0] == ray[0]}; "
                  f"per-sample files identical: {same_files}/{len(single[1])}", flush=True)
            if single[0] != ray[0] or same_files != len(single[1]) or len(ray[1]) != len(single[1]):
                sys.exit("the Ray run differs from the single-process run")
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k}: median {med[k]:.1f} s (min {min(v):.1f}, max {max(v):.1f}) over {len(v)} runs")
    print(f"ray / single: {med['ray'] / med['single']:.2f}")


if __name__ == "__main__":
    main()
