"""Content fingerprints of checkpoint folders.

A fingerprint is the SHA-256 over the names and contents of the files that decide what a model
generates: weights, configs, tokenizer, chat template, processor files and shipped code. It
never depends on the folder's path, so a stage folder overwritten by a later run gets a new
fingerprint and never reuses stale generations. Training leftovers (optimizer state, trainer
state, `checkpoint-*` subfolders, logs) are ignored.

Hashing gigabytes takes a while, so digests of single files are cached by (path, size, mtime,
ctime, inode). The ctime is set by the kernel on every write and cannot be set back, so even a
copy that keeps size and mtime (`cp -p` over the old file) misses the cache.

`check_model_folder` is the gate every checkpoint passes before any work: a Hugging Face folder
whose weights are safetensors with a sound header (no pickle is ever loaded) and no `auto_map`
in any config (which would make transformers import Python shipped in the folder).

`sample_digest` is the content hash of one loaded sample (prompt, gold, image bytes): the
response store keys records by it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.files import atomic_write_text, read_config
from tasks import user_json

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
# Configs transformers reads while loading a model, tokenizer or processor; any of them may hold
# an `auto_map` that points at Python code in the folder.
CONFIG_FILES = (
    "config.json", "generation_config.json", "processor_config.json", "preprocessor_config.json",
    "video_preprocessor_config.json", "image_processor_config.json", "feature_extractor_config.json",
    "tokenizer_config.json",
)
MAX_SAFETENSORS_HEADER = 100 << 20


def model_files(folder: Path) -> list[Path]:
    """The files of `folder` (top level only) that define the model, sorted by name."""
    files = {p for pattern in MODEL_FILE_PATTERNS for p in folder.glob(pattern) if p.is_file()}
    return sorted(files, key=lambda p: p.name)


def check_model_folder(folder: Path, label: str) -> None:
    """Raise a one-line HarnessError unless `folder` is a model folder the harness will load:
    `config.json`, safetensors weights whose headers are complete (a 0-byte or truncated file is
    caught here, before any stage runs), shards of an index inside the folder, and no `auto_map`
    in any config. Pickle weights (`*.bin`) are refused: loading them can run code."""
    if not folder.exists():
        raise HarnessError(f"{label}: folder not found: {folder}")
    if not folder.is_dir():
        raise HarnessError(f"{label}: not a folder: {folder}")
    if not (folder / "config.json").is_file():
        raise HarnessError(f"{label}: no config.json in {folder} (not a Hugging Face model folder)")
    for name in CONFIG_FILES:
        cfg = folder / name
        if cfg.is_file():
            data = read_config(cfg, label)
            if isinstance(data, dict) and "auto_map" in data:
                raise HarnessError(
                    f"{label}: {cfg} has an auto_map (it would load Python code shipped in the folder); "
                    "the harness never runs a checkpoint's code: remove the auto_map or use a built-in architecture"
                )
    shards = sorted(folder.glob("*.safetensors"))
    if not shards:
        if any(p.is_file() for pattern in WEIGHT_PATTERNS[1:] for p in folder.glob(pattern)):
            raise HarnessError(
                f"{label}: only pickle weights (*.bin) in {folder}; the harness loads safetensors only "
                "(loading a pickle can run code): convert with `model.save_pretrained(dir, safe_serialization=True)`"
            )
        if folder.name == "huggingface" and any(folder.parent.glob("model_world_size_*_rank_*.pt")):
            raise HarnessError(
                f"{label}: {folder.parent} holds EasyR1 FSDP shards but no merged weights; merge them first: "
                f"python3 scripts/model_merger.py --local_dir {folder.parent}"
            )
        raise HarnessError(f"{label}: no model weights (*.safetensors) in {folder}")
    held = {shard.name: check_safetensors(shard, label) for shard in shards}
    for index in folder.glob("*.safetensors.index.json"):
        data = read_config(index, label)
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict):
            raise HarnessError(f"{label}: {index} has no weight_map")
        for shard in sorted(set(map(str, weight_map.values()))):
            if "/" in shard or "\\" in shard or shard in (".", "..") or not (folder / shard).is_file():
                raise HarnessError(f"{label}: {index} names shard {shard!r}, which is not a file in {folder}")
        for tensor, shard in sorted(weight_map.items()):
            if tensor not in held.get(str(shard), set()):
                raise HarnessError(f"{label}: {index} puts tensor {tensor!r} in {shard}, which does not hold it")
        listed = set(weight_map.values())
        for shard, names in sorted(held.items()):
            unlisted = sorted(names - set(weight_map)) if shard in listed else []
            if unlisted:
                raise HarnessError(f"{label}: {shard} holds tensor {unlisted[0]!r}, which {index.name} does not list")


MAX_RECORDED_GENERATION_CONFIG = 64 << 10


def read_generation_config(folder: Path) -> dict[str, Any] | None:
    """A checkpoint's `generation_config.json` as results record it (it decides no decoding: see
    `harness.engine`): the parsed object, or a note with its size and digest when it is over 64 KB
    or not a JSON object; None when the folder has none."""
    path = folder / "generation_config.json"
    if not path.is_file():
        return None
    data = read_config(path, f"checkpoint {folder}")
    size = path.stat().st_size
    if not isinstance(data, dict) or size > MAX_RECORDED_GENERATION_CONFIG:
        return {"not_recorded": f"{size} bytes, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}"}
    return data


def check_safetensors(path: Path, label: str) -> set[str]:
    """The safetensors layout: an 8-byte little-endian header length, a JSON header whose
    tensors' `data_offsets` cover the rest of the file exactly. Reads the header only; returns
    the names of the tensors the file holds."""
    size = path.stat().st_size
    problem = None
    with open(path, "rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if n < 0:
            problem = f"{size} bytes, shorter than a header"
        elif n > min(size - 8, MAX_SAFETENSORS_HEADER):
            problem = f"header of {n} bytes does not fit in {size} bytes"
        else:
            try:
                header = user_json.parse(f.read(n))
                ends = [int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"]
            except (ValueError, TypeError, KeyError, IndexError, AttributeError):  # InvalidJSON is a ValueError
                header, ends = None, []
            if not isinstance(header, dict):
                problem = "unreadable header"
            elif max(ends, default=0) != size - 8 - n:
                problem = f"tensors need {max(ends, default=0)} bytes of data but the file holds {size - 8 - n} (truncated?)"
    if problem:
        raise HarnessError(f"{label}: {path} is not a complete safetensors file ({problem})")
    return {k for k in header if k != "__metadata__"}


class FingerprintCache:
    """Per-file digests keyed by file identity, kept as JSON at `path` (None: memory only)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, str] = {}
        if path is not None and path.is_file():
            try:
                entries = user_json.read_json(path)
            except HarnessError:
                entries = {}  # a cache: a damaged one is rebuilt, nothing is lost
            self.entries = entries if isinstance(entries, dict) else {}
        self.dirty = False

    def file_digest(self, file: Path) -> str:
        st = file.stat()
        key = f"{file.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}"
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


def sample_digest(sample: Any, cache: FingerprintCache) -> str:
    """Hex SHA-256 (first 24 digits) over what decides a sample's prompt and gold: its id,
    messages, target, and each image's bytes (files through `cache`; images inside a dataset
    table from their stored bytes; in-memory images from their pixels). A missing image file
    hashes as missing, so a later restored file changes the digest."""
    h = hashlib.sha256()
    h.update(json.dumps([sample.id, sample.messages, sample.target], sort_keys=True, default=str, ensure_ascii=False).encode("utf-8"))
    for image in sample.images:
        h.update(b"\0" + _image_digest(image, cache).encode())
    return h.hexdigest()[:24]


def _image_digest(image: Any, cache: FingerprintCache) -> str:
    from PIL import Image

    from tasks.sources import LazyImage

    if isinstance(image, LazyImage):
        raw = image.raw()
        if isinstance(raw, dict) and raw.get("bytes") is not None:
            return hashlib.sha256(raw["bytes"]).hexdigest()
        image = Path(raw["path"]) if isinstance(raw, dict) and raw.get("path") else Path(raw) if isinstance(raw, str) else None
        if image is None:
            return "none"
    if isinstance(image, (str, Path)):
        path = Path(image)
        return cache.file_digest(path) if path.is_file() else f"missing:{path}"
    if isinstance(image, Image.Image):
        return hashlib.sha256(f"{image.mode}|{image.size}|".encode() + image.tobytes()).hexdigest()
    return hashlib.sha256(repr(image).encode()).hexdigest()
