"""The folders continual post-training runs actually produce, recognised, and a manifest proposed
from them (`harness manifest`).

Layouts:
- `easyr1`: EasyR1 (Paper A's RFT code) saves `…/<experiment>/global_step_N/actor/`; after its
  `scripts/model_merger.py --local_dir …/actor` the full model is in `actor/huggingface`. Each
  experiment is one stage; its highest step is the stage's checkpoint. An actor folder with FSDP
  shards (`model_world_size_*_rank_*.pt`) but no merged weights is an error naming the merge step.
- `llamafactory`: a LLaMA-Factory output folder (`config.json`, safetensors weights and the
  trainer's `trainer_state.json` / `*_results.json`); its `checkpoint-N/` folders are ignored.
- `adapter`: a PEFT LoRA adapter (`adapter_config.json` + `adapter_model.safetensors`), loaded
  over its base (`harness.runs.adapters`).
- `hf`: any other Hugging Face model folder.

Order: when every stage is a plain `hf` folder, natural order of the paths (`stage2` before
`stage10`), as `harness eval` discovers them; otherwise chronological (the weights' modification
time), since chained stages are trained one after another and experiment names rarely sort.
Task: the sequence given with `--sequence`, else a guess per stage from its name: the task name
(or a known short form such as `geo` or `clevr`) that ends last in it, so
`CL_oneRef_scienceqa_textvqa` is `textvqa`. A stage with no guess gets the task `"?"`, which
`harness eval` refuses until the manifest is edited. A LLaMA-Factory stage's task gets the
`direct` style (`scienceqa:style=direct`) when the task has one and its spec names no style:
Paper A trains and evaluates its SFT stages on the release's direct prompts, so the matrix column
of that stage is scored that way. The proposal is printed for the user to check; nothing is
written without `--write`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.runs.checkpoints import MANIFEST, natural_key

_STEP = re.compile(r"global_step_(\d+)$")
_FSDP_SHARD = "model_world_size_*_rank_*.pt"
MAX_DEPTH = 8
# Short forms used in experiment names, beside the task names themselves.
ALIASES = {
    "scienceqa": ("scienceqa", "sqa"), "textvqa": ("textvqa",), "vizwiz": ("vizwiz",), "gqa": ("gqa",),
    "geometry3k": ("geometry3k", "geo"), "pathvqa": ("pathvqa", "path-vqa", "path_vqa"), "superclevr": ("superclevr", "clevr"),
}


@dataclass
class Found:
    path: Path  # the folder a stage loads (relative paths are taken from here)
    layout: str  # easyr1 | llamafactory | adapter | hf
    name: str  # the name the task is guessed from
    mtime: float


def _has_weights(folder: Path) -> bool:
    return any(p.is_file() for p in folder.glob("*.safetensors"))


def _folders(root: Path) -> list[Path]:
    out, todo = [], [(root, 0)]
    while todo:
        folder, depth = todo.pop()
        out.append(folder)
        if depth >= MAX_DEPTH:
            continue
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink() and not child.name.startswith((".", "checkpoint-")):
                todo.append((child, depth + 1))
    return sorted(out, key=lambda p: natural_key(str(p.relative_to(root))))


def find_stages(run: Path) -> list[Found]:
    """Every stage checkpoint under `run`, in the order of the module docstring."""
    if not run.is_dir():
        raise HarnessError(f"not a folder: {run}")
    easyr1: dict[Path, tuple[int, Path]] = {}
    found: list[Found] = []
    for folder in _folders(run):
        step = _STEP.search(folder.name)
        if step and (folder / "actor").is_dir():
            actor = folder / "actor"
            hf = actor / "huggingface"
            if not _has_weights(hf):
                if any(actor.glob(_FSDP_SHARD)):
                    raise HarnessError(
                        f"{actor} holds EasyR1 FSDP shards but no merged weights; merge them first: "
                        f"python3 scripts/model_merger.py --local_dir {actor}"
                    )
                continue
            experiment = folder.parent
            if experiment not in easyr1 or easyr1[experiment][0] < int(step.group(1)):
                easyr1[experiment] = (int(step.group(1)), hf)
            continue
        if any(part.startswith("global_step_") for part in folder.relative_to(run).parts):
            continue  # inside an EasyR1 step folder: handled above
        if (folder / "adapter_config.json").is_file() and (folder / "adapter_model.safetensors").is_file():
            found.append(Found(folder, "adapter", folder.name, (folder / "adapter_model.safetensors").stat().st_mtime))
        elif (folder / "config.json").is_file() and _has_weights(folder):
            trained = (folder / "trainer_state.json").is_file() or any(folder.glob("*_results.json"))
            weights = max(p.stat().st_mtime for p in folder.glob("*.safetensors"))
            found.append(Found(folder, "llamafactory" if trained else "hf", folder.name, weights))
    for experiment, (_, hf) in easyr1.items():
        weights = max(p.stat().st_mtime for p in hf.glob("*.safetensors"))
        found.append(Found(hf, "easyr1", experiment.name, weights))
    if all(f.layout == "hf" for f in found):
        return sorted(found, key=lambda f: natural_key(str(f.path.relative_to(run))))
    return sorted(found, key=lambda f: (f.mtime, natural_key(str(f.path.relative_to(run)))))


def guess_task(name: str, candidates: list[str]) -> str | None:
    """The task whose name (or short form) ends last in `name`, the longer form on a tie (so
    "toy_geometry" is not read as "geo"), or None."""
    lower, best, key = name.lower(), None, (-1, 0)
    for task in candidates:
        for form in ALIASES.get(task, (task,)):
            pos = lower.rfind(form)
            if pos != -1 and (pos + len(form), len(form)) > key:
                best, key = task, (pos + len(form), len(form))
    return best


def direct_style(spec: str) -> str:
    """`spec` in the `direct` style, when its task has that style and the spec names none."""
    from tasks import TASKS, with_style

    cls = TASKS.get(spec.partition(":")[0])
    if cls is None or "direct" not in cls.prompt_styles:
        return spec
    return with_style(spec, "direct")


def propose_manifest(run: Path, base: str | None = None, sequence: list[str] | None = None) -> tuple[dict[str, Any], list[Found]]:
    """(manifest, stages found). Without `base`, the first stage found is the base."""
    from tasks import TASKS

    found = find_stages(run)
    if base is None:
        if not found:
            raise HarnessError(f"{run}: no stage checkpoints found (model folders, EasyR1 actor/huggingface, adapters)")
        base_path, stages = str(found[0].path.relative_to(run)), found[1:]
    else:
        base_path = base
        stages = [f for f in found if (run / base).resolve() != f.path.resolve()]
    if sequence is not None and len(sequence) != len(stages):
        names = ", ".join(str(f.path.relative_to(run)) for f in stages)
        raise HarnessError(f"{run}: found {len(stages)} stages ({names}) but --sequence names {len(sequence)} tasks")
    names = list(TASKS)
    entries = []
    for i, f in enumerate(stages):
        task = sequence[i] if sequence is not None else guess_task(f.name, names) or "?"
        if f.layout == "llamafactory":
            task = direct_style(task)
        entries.append({"task": task, "path": str(f.path.relative_to(run)), "layout": f.layout})
    return {"base": base_path, "stages": entries, "general": []}, stages


def write_manifest(run: Path, manifest: dict[str, Any], force: bool = False) -> Path:
    from harness.files import atomic_write_text

    path = run / MANIFEST
    if path.exists() and not force:
        raise HarnessError(f"{path} exists; pass --force to replace it")
    atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")
    return path
