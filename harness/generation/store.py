"""The response store: every generation ever made, keyed by content, append-only.

One record per (checkpoint fingerprint, task spec, task version, sample id, sample hash,
generation hash). The sample hash covers what the task loaded for that sample: its prompt
(messages), its gold answer and the bytes of its images (`harness.runs.fingerprint.sample_digest`),
so two data files under the same spec never share records, and a rewritten data file
regenerates exactly the samples that changed. The generation hash covers the generation
contract, the backend and the seed. Records live in JSON-lines files, one per (fingerprint,
task): `ROOT/<fp[:2]>/<fp>/<task>.jsonl`. Records written before sample hashes existed have
none and are never matched.

Concurrency: `generation_lock(fp, task)` is an exclusive lock per (fingerprint, task) that a
process holds while it generates that pair's missing records; a second process waits for it,
reloads, and generates only what is still missing.

Writes: a batch of records is appended under an exclusive lock, flushed and fsynced before the
call returns, so a kill loses at most the batch being written. A torn last line (a kill in the
middle of a write) is ignored on read and cut off before the next append. Any other line that
does not parse is corruption: reading stops with an error naming the file and line, and the file
is left untouched. The store does not care how many workers wrote it or in which batch sizes:
the first record for a key wins and later duplicates are ignored.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from harness.errors import HarnessError
from tasks import user_json

KEY_FIELDS = ("fingerprint", "task", "task_version", "sample_id", "sample_hash", "gen_hash")
Key = tuple[str, str, str, str]  # (task_version, gen_hash, sample_id, sample_hash) within one file


def default_store_root() -> Path:
    """`$CPT_HARNESS_STORE`, else `$XDG_CACHE_HOME/cpt-harness/store`, else
    `~/.cache/cpt-harness/store`: one store shared by all runs of a user."""
    if os.environ.get("CPT_HARNESS_STORE"):
        return Path(os.environ["CPT_HARNESS_STORE"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "cpt-harness" / "store"


def check_writable_folder(folder: Path, what: str) -> None:
    """Create `folder` if needed and prove it writable with a probe file, or raise a one-line
    HarnessError: an unwritable output must fail before any work, not after it."""
    if folder.exists() and not folder.is_dir():
        raise HarnessError(f"{what} {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise HarnessError(f"cannot write to the {what} {folder}: {e.strerror or e}") from None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,-]", "_", name)


class ResponseStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def file_for(self, fingerprint: str, task: str) -> Path:
        return self.root / fingerprint[:2] / fingerprint / f"{_safe(task)}.jsonl"

    def prepare(self) -> bool:
        """Create the store folder if needed and check that it can be written, before any work;
        True when it was created by this call."""
        created = not self.root.exists()
        check_writable_folder(self.root, "response store")
        return created

    @contextmanager
    def generation_lock(self, fingerprint: str, task: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the (fingerprint, task) generation lock; `on_wait` is called once if another
        process holds it. The lock dies with its process (flock), so a killed run never leaves
        it stuck."""
        path = self.file_for(fingerprint, task).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def load(self, fingerprint: str, task: str) -> dict[Key, dict[str, Any]]:
        """All records of one (fingerprint, task), keyed by (task_version, gen_hash, sample_id,
        sample_hash)."""
        path = self.file_for(fingerprint, task)
        records: dict[Key, dict[str, Any]] = {}
        if not path.exists():
            return records
        data = path.read_bytes()
        lines = data.split(b"\n")
        complete = lines if data.endswith(b"\n") else lines[:-1]  # the rest is a torn tail
        for number, line in enumerate(complete, start=1):
            if not line.strip():
                continue
            rec = _parse(line)
            if rec is None:
                raise HarnessError(
                    f"corrupt response store record at {path}:{number}; "
                    "move the file aside or delete that line, then rerun"
                )
            key = (rec["task_version"], rec["gen_hash"], rec["sample_id"], rec["sample_hash"])
            records.setdefault(key, rec)
        return records

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append records (all of one fingerprint and task) durably."""
        records = list(records)
        if not records:
            return
        fp, task = records[0]["fingerprint"], records[0]["task"]
        for rec in records:
            missing = [k for k in KEY_FIELDS if not isinstance(rec.get(k), str)]
            if missing or (rec["fingerprint"], rec["task"]) != (fp, task):
                raise ValueError(f"bad store record (missing or mixed keys {missing}): {rec}")
            if not isinstance(rec.get("response"), str):
                raise ValueError("a store record needs a 'response' string")
        path = self.file_for(fp, task)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = b"".join(
            json.dumps(r, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n" for r in records
        )
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _cut_torn_tail(fd)
            os.lseek(fd, 0, os.SEEK_END)
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        rec = user_json.parse(line)
    except user_json.InvalidJSON:  # corruption (`load` names the file and line)
        return None
    if isinstance(rec, dict) and "sample_hash" not in rec:
        rec["sample_hash"] = ""  # written before sample hashes existed: never matches
    if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str) for k in KEY_FIELDS):
        return None
    if not isinstance(rec.get("response"), str):
        return None
    return rec


def _cut_torn_tail(fd: int) -> None:
    """If the file does not end in a newline, a write was interrupted: drop the partial line."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return
    os.lseek(fd, size - 1, os.SEEK_SET)
    if os.read(fd, 1) == b"\n":
        return
    pos, chunk = size, 1 << 16
    while pos > 0:
        start = max(0, pos - chunk)
        os.lseek(fd, start, os.SEEK_SET)
        block = os.read(fd, pos - start)
        nl = block.rfind(b"\n")
        if nl != -1:
            os.ftruncate(fd, start + nl + 1)
            return
        pos = start
    os.ftruncate(fd, 0)
