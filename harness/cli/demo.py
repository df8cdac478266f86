"""`harness demo`: the whole pipeline on the embedded tiny model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.common import quiet_libraries, require_trl


def run(args: argparse.Namespace) -> int:
    require_trl()
    from baselines.demo import run_demo

    quiet_libraries()
    return run_demo(Path(args.out), store=Path(args.store) if args.store else None, limit=args.limit, progress=not args.no_progress)


def register(sub: Any) -> None:
    d = sub.add_parser("demo", help="the whole pipeline on the embedded tiny model, on CPU")
    d.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    d.add_argument("--store", help="response store folder (default: the user cache)")
    d.add_argument("--limit", type=int, default=48, help="test samples per task (default: 48)")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=run)
