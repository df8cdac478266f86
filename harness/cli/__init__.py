"""The command line: the only layer that imports `baselines` and `leaderboard`."""

from harness.cli.main import main

__all__ = ["main"]
