"""`harness leaderboard`: the static leaderboard site."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def run(args: argparse.Namespace) -> int:
    from leaderboard.build import build_site

    summary = build_site(Path(args.bundles), Path(args.out))
    counts = ", ".join(f"{name}: {len(ids)}" for name, ids in summary["tracks"].items())
    print(f"built {Path(args.out) / 'index.html'} from {len(summary['entries'])} bundles ({counts})")
    return 0


def register(sub: Any) -> None:
    lb = sub.add_parser("leaderboard", help="the static leaderboard site")
    lb_sub = lb.add_subparsers(dest="action", required=True)
    lbb = lb_sub.add_parser("build", help="check every bundle, then render the site (same bundles, same bytes)")
    lbb.add_argument("--bundles", default="leaderboard/bundles", help="folder of accepted bundles (folders or .tar.gz; default: leaderboard/bundles)")
    lbb.add_argument("--out", required=True, help="the site folder to write (replaced as a whole)")
    lbb.set_defaults(func=run)
