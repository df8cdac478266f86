"""`harness train`: a method over a task sequence, one stage folder per task, resumable.

The run folder is exactly what `harness eval --checkpoint-dir` reads: `manifest.json` lists the
base and the *completed* stages (each `{"task", "path"}`), plus a `training` block naming the
method, the sequence as trained, the base and the config. Per stage the folder also holds
`diagnostics/stage{t}.json` and, for rollout-based methods, `rollouts/stage{t}*.jsonl`.

Resume: the manifest is rewritten (atomically) only after a stage folder is complete, so a rerun
skips every completed stage; inside a stage, TRL checkpoints under `.work/stage{t}` are resumed
from the last one. A folder holding another run's manifest is never touched.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any, Callable

import harness
from baselines import stages as st
from baselines.methods import StageJob, get_method, load_config, train_joint
from baselines.stage_configs import RolloutSFTConfig, StageConfig, config_dict, config_hash
from harness.clock import utc_now
from harness.errors import HarnessError
from harness.files import atomic_write_text
from harness.runs.checkpoints import MANIFEST
from tasks import get_task, names_style, resolve_sequence
from tasks.base import Sample, Task
from tasks.user_json import read_json


def plan_tasks(sequence: str, style: str) -> tuple[list[Task], list[str]]:
    """The tasks to train, in order, with `style` applied where the task has that style, and
    the general probes (with `style` too, unless their spec names one: every method is then
    evaluated on them alike). A task without a train split is an error."""
    specs, general = resolve_sequence(sequence)
    tasks = []
    for spec in specs:
        task = get_task(spec)
        if "train" not in task.splits:
            raise HarnessError(f"task {task.spec!r} has no train split (splits: {', '.join(task.splits)}); it cannot be trained on")
        tasks.append(_styled(task, style))
    return tasks, [get_task(g).spec if names_style(g) else _styled(get_task(g), style).spec for g in general]


def _styled(task: Task, style: str) -> Task:
    if not style or "style" not in task.params:
        return task
    if style not in task.prompt_styles:
        raise HarnessError(f"task {task.name!r} has no prompt style {style!r} (styles: {', '.join(task.prompt_styles)})")
    return type(task)(**{**task.params, "style": style})


def train_run(method: str, sequence: str, base: str, out: Path, config: StageConfig | None = None, progress: bool = True) -> dict[str, Any]:
    """Train `method` (`baselines.methods.METHODS`) over `sequence` from `base` into the run
    folder `out`, with `config` (default: the method's defaults; `load_config` reads a TOML
    file), resuming what a previous call left."""
    spec = get_method(method)
    cfg = config if config is not None else load_config(method)
    if type(cfg) is not spec.config:
        raise HarnessError(f"method {method!r} takes a {spec.config.__name__}, not a {type(cfg).__name__}")
    tasks, general = plan_tasks(sequence, getattr(cfg, "style", ""))
    base_path = _check_base(base)
    identity = {
        "method": method, "sequence": [t.spec for t in tasks], "base": base_path,
        "config_hash": config_hash(cfg),
    }
    rollout_sources = _rollout_sources(cfg, tasks) if method == "rollout-sft" else []
    manifest = _open_run(out, identity, general, cfg)
    print(f"training {method} on {', '.join(identity['sequence'])} into {out} "
          f"({len(manifest['stages'])} of {len(tasks)} stages already done)", flush=True)
    if spec.joint:
        _train_joint(spec.joint, cfg, tasks, out, manifest, progress)
    else:
        replaying = getattr(cfg, "replay_share", 0.0) > 0.0
        loaded: dict[str, list[Sample]] = {}

        def items_of(task: Task) -> list[Sample]:
            """A task's training items, read once; kept for later stages only when they replay them."""
            items = loaded.get(task.spec) or _train_items(task, cfg)
            if replaying:
                loaded[task.spec] = items
            return items

        for t, task in enumerate(tasks, start=1):
            if t <= len(manifest["stages"]):
                continue
            src = Path(base_path) if t == 1 else out / manifest["stages"][-1]["path"]
            name = f"stage{t}-{task.name}"
            print(f"stage {t}/{len(tasks)}: {task.spec} from {src}", flush=True)
            samples = items_of(task)
            job = StageJob(cfg, task, samples, src, out / name, out / ".work" / f"stage{t}", out, t,
                           cfg.epochs_for(task.name), progress,
                           reference=Path(base_path) if getattr(cfg, "kl_reference", "base") == "base" else src,  # RFT's KL reference
                           rollout_source=rollout_sources[t - 1] if rollout_sources else None,
                           replay=replay_items(cfg, tasks[: t - 1], len(samples), t, items_of))
            _finish_stage(out, manifest, t, [(task.spec, name)], spec.train_stage(job))
    shutil.rmtree(out / ".work", ignore_errors=True)
    return manifest


def _check_base(base: str) -> str:
    path = Path(base)
    if path.exists():
        from harness.runs.fingerprint import check_model_folder

        check_model_folder(path, "base")
        return str(path.resolve())
    from harness.runs.checkpoints import hub_snapshot, looks_like_hub_id

    if not looks_like_hub_id(base):
        raise HarnessError(f"base model not found: {base}")
    return str(hub_snapshot(base, "base"))


def _open_run(out: Path, identity: dict[str, Any], general: list[str], cfg: StageConfig) -> dict[str, Any]:
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--out {out} is a file, not a run folder")
    manifest_path = out / MANIFEST
    if manifest_path.is_file():
        manifest = read_json(manifest_path)
        old = manifest.get("training") if isinstance(manifest, dict) else None
        if not isinstance(old, dict):
            raise HarnessError(f"{out} holds a run manifest not written by `harness train`; choose another --out")
        mine = {k: old.get(k) for k in identity}
        if mine != identity:
            diff = next(k for k in identity if mine[k] != identity[k])
            raise HarnessError(
                f"{out} holds another run ({diff}: {mine[diff]!r}, not {identity[diff]!r}); choose another --out"
            )
        return manifest
    if out.exists() and any(out.iterdir()):
        raise HarnessError(f"{out} is not empty and holds no run manifest; choose another --out")
    if st.is_main_process():
        out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "base": identity["base"], "stages": [], "general": general,
        "training": {**identity, "config": config_dict(cfg), "harness_version": harness.__version__, "created": utc_now()},
    }
    if st.is_main_process():
        atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return manifest


def _finish_stage(out: Path, manifest: dict[str, Any], t: int, stages: list[tuple[str, str]], diag: dict[str, Any]) -> None:
    diag = {"stage": t, **diag, "finished": utc_now()}
    manifest["stages"].extend({"task": spec, "path": path} for spec, path in stages)
    if not st.is_main_process():  # under `accelerate launch`, rank 0 alone writes run files
        return
    atomic_write_text(out / "diagnostics" / f"stage{t}.json", json.dumps(diag, indent=2, default=str) + "\n")
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out / ".work" / f"stage{t}", ignore_errors=True)


def _train_items(task: Task, cfg: StageConfig) -> list[Sample]:
    samples = task.load("train")
    if cfg.n_train > 0:
        samples = samples[: cfg.n_train]
    kept, skipped = task.loadable_for_generation(samples)
    if not kept:
        raise HarnessError(f"task {task.spec!r}: no training items")
    return kept


def replay_items(cfg: StageConfig, earlier: list[Task], n_own: int, t: int,
                 items_of: Callable[[Task], list[Sample]] | None = None) -> list[tuple[Task, Sample]]:
    """Stage t's replayed items: round(share / (1 - share) x n_own) training items of the
    `earlier` tasks (read by `items_of`, default `_train_items`), so that they are `replay_share`
    of the stage's set, split as evenly as the tasks allow (the first tasks take the remainder) and
    drawn with a generator seeded by the run's seed and t, so a resumed stage replays the same
    items. Nothing without `replay_share`."""
    share = getattr(cfg, "replay_share", 0.0)
    if share <= 0.0 or not earlier:
        return []
    items_of = items_of or (lambda task: _train_items(task, cfg))
    want = round(share / (1.0 - share) * n_own)
    rng = random.Random(f"replay-{cfg.seed}-{t}")
    quota = [want // len(earlier) + (1 if i < want % len(earlier) else 0) for i in range(len(earlier))]
    chosen: list[tuple[Task, Sample]] = []
    for task, k in zip(earlier, quota):
        pool = items_of(task)
        chosen += [(task, s) for s in rng.sample(pool, min(k, len(pool)))]
    return chosen


def _rollout_sources(cfg: RolloutSFTConfig, tasks: list[Task]) -> list[Path | None]:
    """Per stage, the model whose correct rollouts rollout-SFT imitates (None: the model being
    trained), checked before any work starts."""
    from harness.runs.checkpoints import load_run
    from harness.runs.fingerprint import check_model_folder

    if not cfg.source:
        raise HarnessError(
            "rollout-sft needs `source`: the RFT run folder whose stage-t model gives stage t its rollouts "
            "(Paper B), a model folder, or \"current\" (the model being trained)"
        )
    if cfg.source == "current":
        return [None] * len(tasks)
    folder = Path(cfg.source)
    if not folder.is_dir():
        raise HarnessError(f"rollout-sft source not found: {folder}")
    if not (folder / MANIFEST).is_file() and (folder / "config.json").is_file():
        check_model_folder(folder, "rollout source")
        return [folder] * len(tasks)
    run = load_run(folder, allow_external_paths=True)
    have = [get_task(s).name for s in run.sequence]
    want = [t.name for t in tasks]
    if have[: len(want)] != want:
        raise HarnessError(f"rollout-sft source {folder} trained {','.join(have) or 'nothing'}, not {','.join(want)}")
    return [stage.local for stage in run.stages[1 : len(want) + 1]]


def _train_joint(kind: str, cfg: StageConfig, tasks: list[Task], out: Path, manifest: dict[str, Any], progress: bool) -> None:
    if manifest["stages"]:
        return
    items = [(task, s) for task in tasks for s in _train_items(task, cfg)]
    print(f"multitask ({kind}): {len(items)} items from {len(tasks)} tasks, one joint stage", flush=True)
    diag = train_joint(kind, cfg, items, Path(manifest["base"]), out / "joint", out / ".work" / "stage1", progress)
    # Every stage row is the joint model: the matrix's last row is the upper bound.
    _finish_stage(out, manifest, 1, [(task.spec, "joint") for task in tasks], {**diag, "kind": f"multitask-{kind}"})
