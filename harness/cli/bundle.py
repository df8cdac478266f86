"""`harness bundle`: add submission metadata to an eval output folder and pack it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def run(args: argparse.Namespace) -> int:
    from harness.results.bundle import make_bundle

    archive = make_bundle(Path(args.out), Path(args.meta) if args.meta else None, Path(args.archive) if args.archive else None)
    print(f"packed {archive}; check it with: harness check {archive}")
    return 0


def register(sub: Any) -> None:
    b = sub.add_parser("bundle", help="add submission metadata to an eval output folder and pack it as .tar.gz")
    b.add_argument("out", help="the output folder of `harness eval`")
    b.add_argument("--meta", help="submission.toml: method, base_model, training_data, code, contact, licence [, track, trainer_config]")
    b.add_argument("--archive", help="the archive to write (default: OUT.tar.gz beside the folder)")
    b.set_defaults(func=run)
