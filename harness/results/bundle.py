"""`harness bundle OUT --meta submission.toml`: add a submission's metadata to a result bundle
(the output folder of `harness eval`) and pack it as a `.tar.gz`.

The metadata (method, base model, training data, code link, contact, licence; optional `track`
"main" or "toy", and `trainer_config`, taken from the run's training record when the reference
trainer made it) is validated against `harness/results/schemas/submission.schema.json` and written as
`OUT/submission.json`. The archive holds the bundle's files only (the layout `harness check`
accepts), in sorted order with zeroed owners and times, so packing the same bundle twice gives
the same bytes.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from harness.errors import HarnessError
from harness.files import atomic_write_text
from harness.results.format import SCHEMAS, allowed, schema_errors
from harness.results.types import Results
from tasks.user_json import read_json


def read_meta(path: Path, results: Results) -> dict[str, Any]:
    if not path.is_file():
        raise HarnessError(f"metadata file not found: {path}")
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise HarnessError(f"{path}: not valid TOML ({e})") from None
    except RecursionError:
        raise HarnessError(f"{path}: not valid TOML (nested too deeply)") from None
    training = results.get("training") or {}
    if "trainer_config" not in meta and training.get("config_hash"):
        meta["trainer_config"] = {"method": training.get("method"), "config_hash": training.get("config_hash")}
    errors = schema_errors(meta, "submission.schema.json")
    if errors:
        raise HarnessError(f"{path}: {errors[0]} (schema: {SCHEMAS / 'submission.schema.json'})")
    return meta


def pack(out: Path, archive: Path) -> None:
    """A deterministic .tar.gz of the bundle files under `out`."""
    files = sorted(p for p in out.rglob("*") if p.is_file() and not p.is_symlink() and allowed(PurePosixPath(p.relative_to(out).as_posix())))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(out).as_posix())
            info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = len(data), 0, 0o644, 0, 0, "", ""
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, filename="") as gz:
        gz.write(buffer.getvalue())
    tmp = archive.with_name(archive.name + ".partial")
    tmp.write_bytes(packed.getvalue())
    tmp.replace(archive)


def make_bundle(out: Path, meta_path: Path | None, archive: Path | None) -> Path:
    results_path = out / "results.json"
    if not results_path.is_file():
        raise HarnessError(f"{out} holds no results.json: give the output folder of `harness eval`")
    results = read_json(results_path)
    if meta_path is not None:
        meta = read_meta(meta_path, results)
        atomic_write_text(out / "submission.json", json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    archive = archive or out.with_name(out.name + ".tar.gz")
    pack(out, archive)
    return archive
