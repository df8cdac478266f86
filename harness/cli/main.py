"""The `harness` command line: one module per subcommand (`register` adds its parser, `run`
runs it). The only layer that imports `baselines` or `leaderboard`."""

from __future__ import annotations

import argparse
import os
import sys

from harness.cli import bundle, check, demo, eval, lab, leaderboard, manifest, score, tasks, train
from harness.errors import HarnessError

SUBCOMMANDS = (tasks, eval, manifest, score, check, bundle, leaderboard, train, lab, demo)  # in `--help` order


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description="Evaluation harness for continual post-training of multimodal LLMs.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in SUBCOMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as e:
        print(f"harness: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("harness: interrupted; what was generated is stored, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
