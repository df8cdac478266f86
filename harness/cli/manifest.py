"""`harness manifest`: propose a manifest from a run's folders."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.common import split_arg


def run(args: argparse.Namespace) -> int:
    import json

    from tabulate import tabulate

    from harness.runs.layouts import propose_manifest, write_manifest

    run = Path(args.run)
    manifest, found = propose_manifest(run, args.base, split_arg(args.sequence))
    rows = [[0, "base", manifest["base"], ""]] + [
        [i, e["task"], e["path"], e["layout"]] for i, e in enumerate(manifest["stages"], start=1)
    ]
    print(tabulate(rows, ["stage", "task", "path", "layout"], tablefmt="simple"))
    order = "natural order of the paths" if all(f.layout == "hf" for f in found) else "the time the weights were written"
    print(f"\nstages in {order}; tasks " + ("as given by --sequence" if args.sequence else "guessed from the names ('?' = none: edit it)"))
    if args.write:
        path = write_manifest(run, manifest, force=args.force)
        print(f"wrote {path}; check it, then: harness eval --checkpoint-dir {run} --out OUT")
    else:
        print(json.dumps(manifest, indent=2))
        print("(not written: pass --write)")
    return 0


def register(sub: Any) -> None:
    mf = sub.add_parser("manifest", help="propose a manifest from a run's folders (EasyR1, LLaMA-Factory, LoRA adapters, model folders)")
    mf.add_argument("run", help="the run folder")
    mf.add_argument("--base", help="the base model (a path relative to the run folder, or any path or hub id); default: the first stage found")
    mf.add_argument("--sequence", help="the trained tasks in stage order (default: guessed from the folder names)")
    mf.add_argument("--write", action="store_true", help="write RUN/manifest.json")
    mf.add_argument("--force", action="store_true", help="replace an existing manifest.json")
    mf.set_defaults(func=run)
