"""`harness score`: score responses generated elsewhere, without a model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def run(args: argparse.Namespace) -> int:
    from harness.eval.score import score_file

    summary = score_file(args.task, args.data, Path(args.responses), Path(args.out), args.protocol)
    extra = summary.pop("summary_metrics", {})
    print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in {**summary, **extra}.items()))
    if summary["missing"]:
        print(f"note: {summary['missing']} of {summary['n']} samples have no response; they count as wrong (and invalid) in accuracy and invalid_rate")
    return 0


def register(sub: Any) -> None:
    s = sub.add_parser("score", help="score responses generated elsewhere, without a model")
    s.add_argument("--task", required=True)
    s.add_argument("--data", required=True, help="the task's data: a hub dataset id, a local dataset folder, a LLaMA-Factory JSON file or a parquet file")
    s.add_argument("--responses", required=True, help='JSON lines {"id": ..., "response": ...}')
    s.add_argument("--out", required=True, help="JSON lines of scores, in input order")
    s.add_argument("--protocol", help="scoring protocol, e.g. paper or official (default: the task's first)")
    s.set_defaults(func=run)
