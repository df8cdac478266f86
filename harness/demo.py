"""`harness demo`: the whole evaluation pipeline on the embedded tiny model, on CPU.

It builds the tiny model, lays out a run folder for the `toy3` sequence, evaluates every stage
on every task and prints the report. There is no reference trainer yet, so each stage is an
independently seeded, untrained tiny model: the numbers show the harness at work, not learning.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from harness.checkpoints import MANIFEST, load_run
from harness.evaluate import run_eval
from harness.report import render_report, save_heatmap
from harness.store import default_store_root
from tasks import SEQUENCES

DEMO_SEQUENCE = "toy3"

NOTE = (
    "What you are looking at: every stage of this run is an independently seeded, untrained "
    "tiny model (random weights; the reference trainer does not exist yet). The responses are "
    "noise, so accuracies sit at or near zero, most answers are unparseable (the invalid rates), "
    "and the forgetting numbers carry no meaning. The pipeline itself is real: models built, "
    "fingerprinted, generated with transformers, stored, scored, and summarised."
)


def build_demo_run(folder: Path, sequence: list[str], general: list[str]) -> Path:
    """A run folder with base + one folder per trained task, each a tiny model of its own seed."""
    from baselines.tiny_model import build_tiny_model

    folder.mkdir(parents=True, exist_ok=True)
    build_tiny_model(folder / "stage0-base", seed=0)
    stages = []
    for i, task in enumerate(sequence, start=1):
        name = f"stage{i}-{task}"
        build_tiny_model(folder / name, seed=i)
        stages.append({"task": task, "path": name})
    manifest = {"base": "stage0-base", "stages": stages, "general": general}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def run_demo(out: Path, store: Path | None = None, limit: int = 48, progress: bool = True) -> int:
    started = time.time()
    named = SEQUENCES[DEMO_SEQUENCE]
    print(f"Building the tiny model and a {len(named['sequence'])}-stage run folder in {out / 'run'} ...", flush=True)
    build_demo_run(out / "run", named["sequence"], named["general"])
    run = load_run(out / "run")
    results = run_eval(
        run, out / "eval", store or default_store_root(), limit=limit, progress=progress,
    )
    report = render_report(results, title=f"demo: sequence {DEMO_SEQUENCE}, {limit} test samples per task")
    report = report + "\n" + NOTE + "\n"
    (out / "eval" / "report.md").write_text(report)
    save_heatmap(results, out / "eval" / "heatmap.png", title="demo (untrained stages)")
    print(report)
    print(f"results: {out / 'eval' / 'results.json'}; heatmap: {out / 'eval' / 'heatmap.png'}")
    print(f"demo finished in {time.time() - started:.0f} s ({results['run_stats']['generated']} responses generated)")
    return 0
