"""`harness check`: accept or reject a result bundle."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.files import atomic_write_text


def run(args: argparse.Namespace) -> int:
    import json

    from harness.check.checker import check_bundle

    if args.regenerate and not args.checkpoint_dir:
        raise HarnessError("--regenerate needs --checkpoint-dir (the submitted checkpoints)")
    report = check_bundle(args.bundle, args.checkpoint_dir, args.regenerate, args.seed, args.allow_external_paths)
    for problem in report.problems:
        print(problem.line())
    for note in report.notes:
        print(f"note: {note}")
    verdict = "accepted" if report.accepted else f"rejected ({len(report.problems)} problems)"
    regen = report.checked.get("regeneration")
    if regen:
        print(f"spot regeneration: {regen['matched']} of {regen['total']} responses identical (K={regen['k']}, seed {regen['seed']}, {regen['backend']})")
    print(f"{args.bundle}: {verdict}")
    if args.report:
        atomic_write_text(Path(args.report), json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return 0 if report.accepted else 1


def register(sub: Any) -> None:
    c = sub.add_parser("check", help="accept or reject a result bundle (folder or .tar.gz): files, schema, completeness, re-scored answers, recomputed figures")
    c.add_argument("bundle", help="the output folder of `harness eval`, or a .tar.gz of one")
    c.add_argument("--report", help="write the machine-readable report (JSON) here")
    c.add_argument("--checkpoint-dir", help="the submitted checkpoints (a run folder), for spot regeneration")
    c.add_argument("--regenerate", type=int, default=0, metavar="K", help="regenerate K random samples per stage x task and compare")
    c.add_argument("--seed", type=int, default=0, help="seed of the spot-regeneration draw (recorded)")
    c.add_argument("--allow-external-paths", action="store_true", help="let the run's manifest paths leave its folder")
    c.set_defaults(func=run)
