"""Content fingerprints of checkpoint folders.

A fingerprint is the SHA-256 over the names and contents of the files that decide what a model
generates: weights, configs, tokenizer, chat template, processor files and shipped code. It
never depends on the folder's path, so a stage folder overwritten by a later run gets a new
fingerprint and never reuses stale generations. Training leftovers (optimizer state, trainer
state, `checkpoint-*` subfolders, logs) are ignored.

Hashing gigabytes takes a while, so digests of single files are cached by (path, size, mtime,
inode); any rewrite of a file changes its mtime and so misses the cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from harness.errors import HarnessError
from harness.files import atomic_write_text

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model*.bin")
MODEL_FILE_PATTERNS = WEIGHT_PATTERNS + (
    "*.safetensors.index.json",
    "pytorch_model.bin.index.json",
    "config.json",
    "generation_config.json",
    "tokenizer*",
    "vocab*",
    "merges.txt",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template*",
    "preprocessor_config.json",
    "processor_config.json",
    "video_preprocessor_config.json",
    "*.model",
    "*.tiktoken",
    "*.py",
)


def model_files(folder: Path) -> list[Path]:
    """The files of `folder` (top level only) that define the model, sorted by name."""
    files = {p for pattern in MODEL_FILE_PATTERNS for p in folder.glob(pattern) if p.is_file()}
    return sorted(files, key=lambda p: p.name)


def check_model_folder(folder: Path, label: str) -> None:
    """Raise a one-line HarnessError unless `folder` looks like a loadable model folder."""
    if not folder.exists():
        raise HarnessError(f"{label}: folder not found: {folder}")
    if not folder.is_dir():
        raise HarnessError(f"{label}: not a folder: {folder}")
    if not (folder / "config.json").is_file():
        raise HarnessError(f"{label}: no config.json in {folder} (not a Hugging Face model folder)")
    if not any(p.is_file() for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern)):
        raise HarnessError(f"{label}: no model weights (*.safetensors or pytorch_model*.bin) in {folder}")


class FingerprintCache:
    """Per-file digests keyed by file identity, kept as JSON at `path` (None: memory only)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, str] = {}
        if path is not None and path.is_file():
            try:
                self.entries = json.loads(path.read_text())
            except (OSError, ValueError):
                self.entries = {}  # a cache: a damaged one is rebuilt, nothing is lost
        self.dirty = False

    def file_digest(self, file: Path) -> str:
        st = file.stat()
        key = f"{file.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
        digest = self.entries.get(key)
        if digest is None:
            h = hashlib.sha256()
            with open(file, "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    h.update(block)
            digest = h.hexdigest()
            self.entries[key] = digest
            self.dirty = True
        return digest

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        atomic_write_text(self.path, json.dumps(self.entries))
        self.dirty = False


def fingerprint(folder: Path, cache: FingerprintCache | None = None) -> str:
    """Hex SHA-256 (first 32 digits) over the model files' names and content digests."""
    cache = cache or FingerprintCache(None)
    h = hashlib.sha256()
    for file in model_files(folder):
        h.update(file.name.encode() + b"\0" + cache.file_digest(file).encode() + b"\n")
    return h.hexdigest()[:32]
