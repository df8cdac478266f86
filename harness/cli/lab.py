"""`harness lab`: the papers' experiment at toy scale."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.common import quiet_libraries, require_trl
from harness.errors import HarnessError


def run(args: argparse.Namespace) -> int:
    require_trl()
    import dataclasses

    from baselines.lab import LabConfig, run_lab
    from harness.generation.store import default_store_root

    if args.rebuild_base:
        from baselines.lab.base import SHIPPED, rebuild_base

        quiet_libraries()
        record = rebuild_base(progress=not args.no_progress)
        print(f"rebuilt the lab's base in {SHIPPED}: fingerprint {record['fingerprint']}, {record['build_seconds']:.0f} s")
        return 0
    if not args.out:
        raise HarnessError("--out is required (except with --rebuild-base)")
    cfg = LabConfig.quick_config() if args.quick else LabConfig()
    if args.seeds is not None:  # run_lab refuses fewer than one
        cfg = dataclasses.replace(cfg, seeds=tuple(range(args.seeds)))
    if args.methods:
        cfg = dataclasses.replace(cfg, methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()))
    if args.limit is not None:
        if args.limit < 1:
            raise HarnessError("--limit must be at least 1")
        cfg = dataclasses.replace(cfg, limit=args.limit)
    if args.sequence:
        cfg = dataclasses.replace(cfg, sequence=args.sequence)
    quiet_libraries()
    summary = run_lab(Path(args.out), cfg, Path(args.store) if args.store else default_store_root(), progress=not args.no_progress)
    outcome = (summary.get("outcome") or {}).get("verdict", "SFT and GRPO were not both run")
    print(f"{outcome}.\nreport: {Path(args.out) / 'report.md'}; bundles: {Path(args.out) / 'bundles'}; lab finished in {summary['seconds']:.0f} s")
    return 0


def register(sub: Any) -> None:
    lab = sub.add_parser("lab", help="the papers' experiment at toy scale: every method over the toy sequence for several seeds, with intervals")
    lab.add_argument("--out", help="lab folder (base, runs, eval, bundles, report.md, plots, lab.json); rerun to resume")
    lab.add_argument("--seeds", type=int, help="seeds 0..N-1 (default 3; --quick: 1)")
    from baselines.lab.config import ALL_METHODS, METHODS  # names only: no torch

    lab.add_argument("--methods", help=f"comma-separated, from {', '.join(ALL_METHODS)}, or all "
                                       f"(default: {', '.join(METHODS)}; --quick: sft,grpo)")
    lab.add_argument("--sequence", help="toy sequence (default toy7; --quick: toy3)")
    lab.add_argument("--limit", type=int, help="test items per task and stage (default 48; --quick: 32)")
    lab.add_argument("--quick", action="store_true", help="one seed, toy3, sft and grpo, 32 test items")
    lab.add_argument("--store", help="response store folder (default: the user cache)")
    lab.add_argument("--rebuild-base", action="store_true",
                     help="train the shipped base (baselines/lab_base) again from its recipe and record its fingerprint, then stop")
    lab.add_argument("--no-progress", action="store_true")
    lab.set_defaults(func=run)
