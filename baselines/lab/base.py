"""The lab's base model, shipped with the project: a 0.7M-parameter Qwen2.5-VL (head size 32)
given a long instruction stage, so that it knows the general probes and several toy tasks
before any CPT stage, the way an instruct model does.

The weights lie in `baselines/lab_base/`; `baselines/configs/lab-base.json` holds the recipe
that produced them and their fingerprint (`harness.runs.fingerprint`). `shipped_base()` checks
the folder against that fingerprint, and the task versions it was trained on against today's,
before the lab uses it; `rebuild_base()` (`harness lab --rebuild-base`) trains it again from the
recipe and records the new fingerprint.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from baselines.tiny_model import TinySpec
from harness.errors import HarnessError
from harness.files import atomic_write_text
from tasks.user_json import read_json

HERE = Path(__file__).resolve().parents[1]
SHIPPED = HERE / "lab_base"
RECORD = HERE / "configs" / "lab-base.json"


def recipe() -> dict[str, Any]:
    """The recipe of the shipped base (`build_instruct_base`'s keyword arguments)."""
    return read_json(RECORD)["recipe"]


def build_kwargs(rec: dict[str, Any]) -> dict[str, Any]:
    """`build_instruct_base` keywords from a recipe as stored (the spec's lists back to tuples)."""
    kwargs = dict(rec)
    if "spec" in kwargs:
        kwargs["spec"] = TinySpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in kwargs["spec"].items()})
    return kwargs


def recorded_fingerprint() -> str | None:
    """The fingerprint the shipped base's files must have."""
    return read_json(RECORD).get("fingerprint")


def shipped_base() -> Path:
    """The shipped base's folder, once its files match the recorded fingerprint."""
    from harness.runs.fingerprint import check_model_folder, fingerprint

    expected = recorded_fingerprint()
    if not (SHIPPED / "config.json").is_file():
        raise HarnessError(f"the lab's base is missing from {SHIPPED}; rebuild it with `harness lab --rebuild-base`")
    check_model_folder(SHIPPED, "the lab's shipped base")
    got = fingerprint(SHIPPED)
    if got != expected:
        raise HarnessError(f"the lab's base in {SHIPPED} has fingerprint {got}, not the recorded {expected}: "
                           "restore it from the repository or rebuild it with `harness lab --rebuild-base`")
    _check_task_versions()
    return SHIPPED


def _check_task_versions() -> None:
    """The shipped base was trained on items of its tasks' versions then (recorded in its
    recipe file); a task changed since needs a rebuilt base, not a silently stale one."""
    from baselines.instruct_base import RECIPE, task_versions

    built = read_json(SHIPPED / RECIPE).get("task_versions")
    if not isinstance(built, dict):
        raise HarnessError(f"{SHIPPED / RECIPE} records no task versions; rebuild the base with `harness lab --rebuild-base`")
    now = task_versions(built)
    for name in sorted(built):
        if now[name] != built[name]:
            raise HarnessError(f"the lab's shipped base was trained on {name} version {built[name]}, and {name} is now version {now[name]}: "
                               "rebuild it with `harness lab --rebuild-base`")


def rebuild_base(progress: bool = True) -> dict[str, Any]:
    """Train the shipped base again from its recipe into `baselines/lab_base/` and record its
    fingerprint; returns the record."""
    from baselines.instruct_base import build_instruct_base
    from harness.runs.fingerprint import fingerprint

    record = read_json(RECORD)
    started = time.time()
    staging = SHIPPED.with_name(SHIPPED.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    build_instruct_base(staging, progress=progress, **build_kwargs(record["recipe"]))
    record["fingerprint"] = fingerprint(staging)
    record["build_seconds"] = round(time.time() - started, 1)
    shutil.rmtree(SHIPPED, ignore_errors=True)
    staging.replace(SHIPPED)
    atomic_write_text(RECORD, json.dumps(record, indent=2) + "\n")
    return record
