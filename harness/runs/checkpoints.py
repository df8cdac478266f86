"""Run folders: the ordered stage checkpoints of a continual post-training run.

With `manifest.json`: `{"base": PATH_OR_ID, "stages": [{"task": NAME, "path": REL_PATH}, ...],
"general": [TASK, ...] (optional)}`; a stage entry may add `adapter_base` (a path relative to the
run folder) when its path is a LoRA adapter (`harness.runs.adapters`); `harness manifest` proposes a
manifest from the folders a run holds (`harness.runs.layouts`). Stage 0 is the base; stage t is the
model after training on the t-th task. Relative paths are relative to the run folder.

Without a manifest: the sub-folders holding a `config.json` are the stages, in natural order
(`stage2` before `stage10`), the first being the base; `--sequence` names the trained tasks.

A manifest is untrusted input: every path it names must resolve (symlinks followed) inside the
run folder unless the caller allows external paths, and a hub id is fetched only when the caller
allows the hub. Every stage folder then passes `check_model_folder` before any work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.files import MAX_CONFIG_BYTES
from harness.runs.adapters import adapter_base, is_adapter, merged_folder
from harness.runs.fingerprint import check_model_folder
from tasks import expand_general, get_task
from tasks.sources import looks_like_hub_id
from tasks.user_json import read_json

MANIFEST = "manifest.json"


@dataclass
class Stage:
    index: int
    task: str | None  # None for the base
    path: str  # local folder, or a hub id for the base
    local: Path  # the folder that is loaded (for a hub base: its downloaded snapshot; for an adapter: the merged model)
    adapter_base: str | None = None  # the manifest's base for a LoRA adapter stage


@dataclass
class Run:
    folder: Path
    stages: list[Stage]
    general: list[str]

    @property
    def sequence(self) -> list[str]:
        return [s.task for s in self.stages[1:] if s.task is not None]


def natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def load_run(
    folder: str | Path, sequence: list[str] | None = None, allow_external_paths: bool = False, allow_hub: bool = False
) -> Run:
    """The run in `folder`, every stage checked. `allow_external_paths`: manifest paths may
    leave the folder (runs of `harness train` name their base outside it); `allow_hub`: a base
    given as a hub id may be downloaded."""
    folder = Path(folder)
    if not folder.exists():
        raise HarnessError(f"checkpoint directory not found: {folder}")
    if not folder.is_dir():
        raise HarnessError(f"checkpoint directory is not a folder: {folder}")
    manifest = folder / MANIFEST
    if manifest.is_file():
        run = _from_manifest(folder, manifest)
        if sequence is not None and sequence != run.sequence:
            raise HarnessError(
                f"--sequence {','.join(sequence)} differs from the manifest's {','.join(run.sequence)}"
            )
    else:
        run = _discover(folder, sequence)
    for stage in run.stages:
        _resolve(stage, folder, allow_external_paths, allow_hub)
    return run


def _from_manifest(folder: Path, manifest: Path) -> Run:
    data = read_json(manifest, max_bytes=MAX_CONFIG_BYTES)
    if not isinstance(data, dict) or "base" not in data or not isinstance(data.get("stages"), list):
        raise HarnessError(f"{manifest}: expected {{'base': ..., 'stages': [{{'task': ..., 'path': ...}}, ...]}}")
    stages = [Stage(0, None, str(data["base"]), folder / str(data["base"]))]
    for i, entry in enumerate(data["stages"], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("task"), str) or not isinstance(entry.get("path"), str):
            raise HarnessError(f"{manifest}: stage {i} needs string fields 'task' and 'path'")
        if entry.get("adapter_base") is not None and not isinstance(entry["adapter_base"], str):
            raise HarnessError(f"{manifest}: stage {i}: 'adapter_base' must be a path")
        try:
            get_task(entry["task"])
        except HarnessError as e:
            raise HarnessError(f"{manifest}: stage {i}: {e}") from None
        stages.append(Stage(i, entry["task"], entry["path"], folder / entry["path"], entry.get("adapter_base")))
    general = data.get("general", [])
    if not isinstance(general, list) or not all(isinstance(g, str) for g in general):
        raise HarnessError(f"{manifest}: 'general' must be a list of task names")
    return Run(folder, stages, expand_general(general))


def _discover(folder: Path, sequence: list[str] | None) -> Run:
    subdirs = sorted((p for p in folder.iterdir() if p.is_dir() and (p / "config.json").is_file()), key=lambda p: natural_key(p.name))
    if not subdirs:
        raise HarnessError(f"{folder}: no {MANIFEST} and no stage folders (sub-folders with a config.json)")
    if sequence is None:
        raise HarnessError(f"{folder} has no {MANIFEST}: name the trained tasks with --sequence t1,t2,...")
    if len(subdirs) != len(sequence) + 1:
        names = ", ".join(p.name for p in subdirs)
        raise HarnessError(
            f"{folder}: found {len(subdirs)} stage folders ({names}) but --sequence names "
            f"{len(sequence)} tasks; expected base + one folder per task"
        )
    stages = [Stage(0, None, subdirs[0].name, subdirs[0])]
    stages += [Stage(i, t, p.name, p) for i, (t, p) in enumerate(zip(sequence, subdirs[1:]), start=1)]
    return Run(folder, stages, [])


def _resolve(stage: Stage, folder: Path, allow_external_paths: bool, allow_hub: bool) -> None:
    """Give every stage a local folder (downloading a hub base if allowed) and check it."""
    label = f"stage {stage.index}" + (f" ({stage.task})" if stage.task else " (base)")
    if stage.index == 0 and not stage.local.exists() and looks_like_hub_id(stage.path):
        if not allow_hub:
            raise HarnessError(
                f"{label}: {stage.path!r} is a hub id; pass --allow-hub to download it (or give a local folder)"
            )
        stage.local = hub_snapshot(stage.path, label)
    elif not allow_external_paths:
        _inside(folder, stage.local, stage.path, label)
    if is_adapter(stage.local):
        stage.local = merged_folder(stage.local, _adapter_base(stage, folder, label, allow_external_paths, allow_hub), label)
    check_model_folder(stage.local, label)


def _inside(folder: Path, path: Path, given: str, label: str) -> None:
    inside, target = folder.resolve(), path.resolve()
    if target != inside and inside not in target.parents:
        raise HarnessError(
            f"{label}: path {given!r} leads outside the checkpoint directory {folder} (to {target}); "
            "pass --allow-external-paths if you trust this manifest (runs of `harness train` keep their base outside)"
        )


def _adapter_base(stage: Stage, folder: Path, label: str, allow_external_paths: bool, allow_hub: bool) -> Path:
    """The base model folder of an adapter stage: the manifest's `adapter_base` (relative to the
    run folder), else the adapter config's `base_model_name_or_path` (a path, relative ones taken
    from the adapter folder, or a hub id)."""
    given = stage.adapter_base or adapter_base(stage.local, label)
    candidates = [folder / given] if stage.adapter_base else [stage.local / given, Path(given)]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        if looks_like_hub_id(given):
            if not allow_hub:
                raise HarnessError(f"{label}: the adapter's base {given!r} is a hub id; pass --allow-hub to download it")
            return hub_snapshot(given, label)
        raise HarnessError(f"{label}: the adapter's base {given!r} was not found")
    if not allow_external_paths:
        _inside(folder, path, given, f"{label} (adapter base)")
    return path


def hub_snapshot(repo_id: str, label: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id))
    except Exception as e:  # offline, unknown repo, auth: all end the same way for the user
        raise HarnessError(f"{label}: cannot get {repo_id!r} from the Hugging Face hub: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
