"""Files: writing so that a crash never leaves a half-written one behind, reading a
checkpoint's JSON config files, and splitting JSON-lines text."""

from __future__ import annotations

import os
from pathlib import Path

from tasks import user_json

MAX_CONFIG_BYTES = 50 << 20  # a checkpoint's JSON config file (config.json, an index, a manifest)


def read_config(path: Path, label: str) -> object:
    """A checkpoint's JSON config file, size-capped, through the one reader of user JSON."""
    return user_json.read_json(path, f"{label}: {path}", max_bytes=MAX_CONFIG_BYTES)


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, fsync it, then rename it over `path`: readers
    see the old file or the new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def lines_of(text: str) -> list[str]:
    """The lines of a JSON-lines text: split at "\\n" only, the empty piece after a final newline
    dropped. Not `str.splitlines`, which also splits at U+2028, U+2029, U+0085 and \\x1c-\\x1e:
    a JSON string may hold those raw (a sampled response can), and the row would be cut in two."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
