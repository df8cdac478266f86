"""Writing a bundle so that a kill never leaves a torn or mixed one: per-sample files first,
`results.json` last, each atomically."""

from __future__ import annotations

import json
from pathlib import Path

from harness.files import atomic_write_text
from harness.results.format import SAMPLES_DIR
from harness.results.types import Results, SampleRow


def write_bundle(out: Path, results: Results, sample_files: dict[str, list[SampleRow]]) -> None:
    """Write the per-sample files (`sample_files`: path relative to `out`, as
    `harness.results.format.sample_file` names it, -> rows), then results.json, each atomically
    (temp file + rename), then remove per-sample files this bundle does not have."""
    out.mkdir(parents=True, exist_ok=True)
    for rel, rows in sample_files.items():
        atomic_write_text(out / rel, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    atomic_write_text(out / "results.json", json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    remove_stale_sample_files(out, set(sample_files))


def remove_stale_sample_files(out: Path, keep: set[str]) -> None:
    """A reused output folder keeps no per-sample file of a stage or task this bundle does not
    have (they would read as part of it). Only `samples/stage*/*.jsonl` files are touched;
    `keep` holds paths relative to `out`."""
    samples = out / SAMPLES_DIR
    if not samples.is_dir():
        return
    for path in samples.glob("stage*/*.jsonl"):
        if path.is_file() and not path.is_symlink() and path.relative_to(out).as_posix() not in keep:
            path.unlink()
    for folder in samples.glob("stage*"):
        if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()
