"""`harness demo`: the whole pipeline on the embedded tiny model, on CPU.

1. the tiny model is built and given a short instruction stage (`baselines/instruct_base.py`),
   the base of both runs;
2. the reference trainer trains it through the `toy3` sequence twice, with `sft` and with `grpo`
   (the tiny configs in `baselines/configs/`);
3. each run is evaluated on its trained tasks and the general probes, and the report puts the
   two side by side.

Everything is resumable: a rerun reuses the base, skips trained stages and generates only what
the response store lacks.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.eval.evaluate import run_eval
from harness.generation.store import default_store_root
from harness.results.metrics import LABELS
from harness.results.report import fmt, render_matrix, render_report, save_heatmap
from harness.runs.checkpoints import load_run

DEMO_SEQUENCE = "toy3"
METHODS = ("sft", "grpo")
CONFIGS = Path(__file__).with_name("configs")

NOTE = (
    "What you are looking at: a 0.25M-parameter model, first given a short instruction stage on "
    "other items of every toy task, then trained through the sequence by SFT (on the gold answers, "
    "prompted and evaluated in the direct style, as Paper A trains SFT) and by GRPO (reward 0.9 "
    "accuracy + 0.1 format, think/boxed style). The two stage-0 rows measure the same base in two "
    "prompt styles: each run is evaluated on its sequence in the style it trains (direct for SFT, "
    "think/boxed for GRPO; the column names say which), so they agree only where the base answers "
    "both styles alike; both are evaluated on the general probes in both styles. Models this small "
    "learn little: read the numbers as the pipeline working end to end, not as a replication of the "
    "papers' findings."
)


def run_demo(out: Path, store: Path | None = None, limit: int = 48, progress: bool = True) -> int:
    from baselines.instruct_base import build_instruct_base
    from baselines.methods import load_config
    from baselines.train import train_run

    started = time.time()
    store = store or default_store_root()
    print(f"1/3 instruct base: {out / 'base'}", flush=True)
    base = build_instruct_base(out / "base", progress=progress)
    results: dict[str, dict[str, Any]] = {}
    for method in METHODS:
        print(f"2/3 training {method} through {DEMO_SEQUENCE} -> {out / 'runs' / method}", flush=True)
        config = load_config(method, CONFIGS / f"{method}-tiny.toml")
        train_run(method, DEMO_SEQUENCE, str(base), out / "runs" / method, config, progress=progress)
    for method in METHODS:
        print(f"3/3 evaluating the {method} run ({limit} test samples per task)", flush=True)
        results[method] = run_eval(load_run(out / "runs" / method, allow_external_paths=True), out / "eval" / method, store, limit=limit, progress=progress)
        report = render_report(results[method], title=f"{method}: sequence {DEMO_SEQUENCE}")
        (out / "eval" / method / "report.md").write_text(report)
        save_heatmap(results[method], out / "eval" / method / "heatmap.png", title=f"demo: {method}")
    report = side_by_side(results) + "\n" + NOTE + "\n"
    (out / "report.md").write_text(report)
    print(report)
    print(f"reports: {out / 'report.md'}, {out / 'eval' / 'sft' / 'report.md'}, {out / 'eval' / 'grpo' / 'report.md'}")
    generated = sum(r["run_stats"]["generated"] for r in results.values())
    print(f"demo finished in {time.time() - started:.0f} s ({generated} responses generated)")
    return 0


def side_by_side(results: dict[str, dict[str, Any]]) -> str:
    """Both runs' matrices, then their sequence metrics and general deltas in one table."""
    parts = [f"# demo: {' vs '.join(results)} on {DEMO_SEQUENCE}", ""]
    for method, r in results.items():
        parts += render_matrix(r, title=method)
    rows = [[LABELS[key]] + [_num(r["metrics"].get(key)) for r in results.values()] for key in ("avg_acc", "fm", "forgetting", "mft", "maa")]
    first = next(iter(results.values()))
    for task in first["metrics"]["general_deltas"]:  # the same general columns for every method
        rows.append([f"{task} delta (final - base)"] + [_num(r["metrics"]["general_deltas"].get(task, {}).get("delta")) for r in results.values()])
    for method, r in results.items():
        for d in (r.get("training") or {}).get("stages", []):
            if d.get("reward_first_quarter") is not None:
                rows.append([f"{method} stage {d['stage']} reward, first → last quarter",
                             *[f"{d['reward_first_quarter']:.3f} → {d['reward_last_quarter']:.3f}" if m == method else "" for m in results]])
    parts += [tabulate(rows, ["", *results], tablefmt="github", disable_numparse=True), ""]
    return "\n".join(parts)


def _num(v: float | None) -> str:
    return fmt(v, digits=1)
