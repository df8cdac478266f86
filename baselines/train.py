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
import shutil
import time
from pathlib import Path
from typing import Any

import harness
from baselines import stages as st
from baselines.configs import METHODS, MultitaskConfig, MultitaskGRPOConfig, RolloutSFTConfig, config_dict, config_hash, load_config
from harness.runs.checkpoints import MANIFEST
from harness.errors import HarnessError
from harness.files import atomic_write_text
from tasks import get_task, resolve_sequence
from tasks.base import Sample, Task
from tasks.user_json import read_json


def plan_tasks(sequence: str, style: str) -> tuple[list[Task], list[str]]:
    """The tasks to train, in order, with `style` applied where the task has that style, and
    the general probes. A task without a train split is an error."""
    specs, general = resolve_sequence(sequence)
    tasks = []
    for spec in specs:
        task = get_task(spec)
        if "train" not in task.splits:
            raise HarnessError(f"task {task.spec!r} has no train split (splits: {', '.join(task.splits)}); it cannot be trained on")
        tasks.append(_styled(task, style))
    return tasks, [_styled(get_task(g), style).spec for g in general]


def _styled(task: Task, style: str) -> Task:
    if not style or "style" not in task.params:
        return task
    if style not in task.prompt_styles:
        raise HarnessError(f"task {task.name!r} has no prompt style {style!r} (styles: {', '.join(task.prompt_styles)})")
    return type(task)(**{**task.params, "style": style})


def train_run(method: str, sequence: str, base: str, out: Path, config_path: str | None = None, progress: bool = True) -> dict[str, Any]:
    cfg = load_config(method, config_path)
    tasks, general = plan_tasks(sequence, getattr(cfg, "style", ""))
    base_path = _check_base(base)
    identity = {
        "method": method, "sequence": [t.spec for t in tasks], "base": base_path,
        "config_hash": config_hash(cfg),
    }
    rollout_sources = _rollout_sources(cfg, tasks) if isinstance(cfg, RolloutSFTConfig) else []
    manifest = _open_run(out, identity, general, cfg)
    print(f"training {method} on {', '.join(identity['sequence'])} into {out} "
          f"({len(manifest['stages'])} of {len(tasks)} stages already done)", flush=True)
    if isinstance(cfg, (MultitaskConfig, MultitaskGRPOConfig)):
        _train_multitask(cfg, tasks, out, manifest, progress)
    else:
        for t, task in enumerate(tasks, start=1):
            if t <= len(manifest["stages"]):
                continue
            src = Path(base_path) if t == 1 else out / manifest["stages"][-1]["path"]
            name = f"stage{t}-{task.name}"
            print(f"stage {t}/{len(tasks)}: {task.spec} from {src}", flush=True)
            rollout_source = rollout_sources[t - 1] if rollout_sources else None
            diag = _train_stage(method, cfg, task, src, out, t, name, progress, Path(base_path), rollout_source)
            _finish_stage(out, manifest, t, [(task.spec, name)], diag)
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


def _open_run(out: Path, identity: dict[str, Any], general: list[str], cfg: Any) -> dict[str, Any]:
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
        "training": {**identity, "config": config_dict(cfg), "harness_version": harness.__version__, "created": _now()},
    }
    if st.is_main_process():
        atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return manifest


def _finish_stage(out: Path, manifest: dict[str, Any], t: int, stages: list[tuple[str, str]], diag: dict[str, Any]) -> None:
    diag = {"stage": t, **diag, "finished": _now()}
    manifest["stages"].extend({"task": spec, "path": path} for spec, path in stages)
    if not st.is_main_process():  # under `accelerate launch`, rank 0 alone writes run files
        return
    atomic_write_text(out / "diagnostics" / f"stage{t}.json", json.dumps(diag, indent=2, default=str) + "\n")
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out / ".work" / f"stage{t}", ignore_errors=True)


def _train_items(task: Task, cfg: Any) -> list[Sample]:
    samples = task.load("train")
    if cfg.n_train > 0:
        samples = samples[: cfg.n_train]
    kept, skipped = task.loadable_for_generation(samples)
    if not kept:
        raise HarnessError(f"task {task.spec!r}: no training items")
    return kept


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


def _train_stage(method: str, cfg: Any, task: Task, src: Path, out: Path, t: int, name: str, progress: bool, base: Path,
                 rollout_source: Path | None = None) -> dict[str, Any]:
    work = out / ".work" / f"stage{t}"
    dest = out / name
    epochs = cfg.epochs_for(task.name)
    samples = _train_items(task, cfg)
    reference = base if getattr(cfg, "kl_reference", "base") == "base" else src  # the KL reference of RFT methods
    if method == "sft":
        return st.train_sft(cfg, [(task, s, st.demonstration(task, s)) for s in samples], src, dest, work, epochs, progress)
    if method in ("grpo", "rloo"):
        return st.train_rft(cfg, [(task, s) for s in samples], src, dest, work, epochs, progress, reference)
    if method == "rif-grpo":
        return _train_rif(cfg, task, samples, src, dest, work, out, t, epochs, progress, reference)
    if method == "rollout-sft":
        return _train_rollout_sft(cfg, task, samples, rollout_source or src, src, dest, work, out, t, epochs, progress)
    raise HarnessError(f"unknown method {method!r} (methods: {', '.join(METHODS)})")


def _train_rif(cfg: Any, task: Task, samples: list[Sample], src: Path, dest: Path, work: Path, out: Path, t: int,
               epochs: float, progress: bool, reference: Path) -> dict[str, Any]:
    """Rollout-based instance filtering, then GRPO on the kept items; with `refilter_every`, the
    stage is cut into chunks of that many epochs and the filter reruns before each chunk."""
    chunk = cfg.refilter_every if cfg.refilter_every > 0 else epochs
    n_chunks = max(1, int(round(epochs / chunk)))
    current, filters, parts = src, [], []
    for c in range(n_chunks):
        suffix = "" if n_chunks == 1 else f"-filter{c + 1}"
        rows = st.rollouts(current, [(task, s) for s in samples], cfg.rif_k, cfg.rif_temperature, cfg.rif_top_p,
                           cfg.rif_max_new_tokens, cfg.rif_batch_size, cfg.seed + c, out / "rollouts" / f"stage{t}{suffix}.jsonl", progress)
        summary = st.rollout_summary(rows)
        kept = {key[1] for key in summary.pop("kept_keys")}
        filters.append({**summary, "file": f"rollouts/stage{t}{suffix}.jsonl"})
        print(f"  RIF filter {c + 1}/{n_chunks}: kept {summary['kept']} of {summary['items']} items ({100 * summary['kept_fraction']:.0f}%)", flush=True)
        target = dest if c == n_chunks - 1 else work / f"chunk{c + 1}"
        if target.is_dir() and c < n_chunks - 1:  # a finished chunk of a resumed stage
            current = target
            continue
        items = [(task, s) for s in samples if s.id in kept]
        if not items:  # nothing to learn from: the model passes through unchanged
            print(f"  RIF: no item of {task.spec} had a correct rollout in {cfg.rif_k}; this chunk trains nothing", flush=True)
            st.copy_stage(current, target)
        else:
            parts.append(st.train_rft(cfg, items, current, target, work / f"trl{c + 1}", chunk if n_chunks > 1 else epochs, progress, reference))
        current = target
    diag = parts[-1] if parts else {"items": 0, "steps": 0, "wall_seconds": sum(f["rollout_seconds"] or 0 for f in filters)}
    return {**diag, "kind": "rif-grpo", "filters": filters, "kept_fraction": filters[0]["kept_fraction"], "chunks": parts}


def _train_rollout_sft(cfg: RolloutSFTConfig, task: Task, samples: list[Sample], source: Path, src: Path, dest: Path,
                       work: Path, out: Path, t: int, epochs: float, progress: bool) -> dict[str, Any]:
    """SFT of `src` on the correct rollouts of `source` (see `_rollout_sources`)."""
    from harness.runs.fingerprint import check_model_folder, fingerprint

    check_model_folder(source, "rollout source")
    rows = st.rollouts(source, [(task, s) for s in samples], cfg.rollout_k, cfg.rollout_temperature, cfg.rollout_top_p,
                       cfg.rollout_max_new_tokens, cfg.rollout_batch_size, cfg.seed, out / "rollouts" / f"stage{t}.jsonl", progress)
    by_id = {s.id: s for s in samples}
    seen, pairs = set(), []
    for r in rows:
        if r["acc"] >= 1.0 and (r["id"], r["response"]) not in seen:
            seen.add((r["id"], r["response"]))
            pairs.append((task, by_id[r["id"]], r["response"]))
    summary = st.rollout_summary(rows)
    summary.pop("kept_keys")
    if pairs:
        diag = st.train_sft(cfg, pairs, src, dest, work, epochs, progress)
    else:  # nothing correct to imitate: the model passes through unchanged
        print(f"  rollout-sft: no correct rollout for {task.spec} from {source}; this stage trains nothing", flush=True)
        st.copy_stage(src, dest)
        diag = {"items": 0, "steps": 0, "wall_seconds": summary["rollout_seconds"]}
    return {**diag, "kind": "rollout-sft", "source": str(source), "source_fingerprint": fingerprint(source),
            "correct_rollouts": len(pairs), "rollout_file": f"rollouts/stage{t}.jsonl", **summary}


def _train_multitask(cfg: MultitaskConfig | MultitaskGRPOConfig, tasks: list[Task], out: Path, manifest: dict[str, Any], progress: bool) -> None:
    if manifest["stages"]:
        return
    src = Path(manifest["base"])
    items = [(task, s) for task in tasks for s in _train_items(task, cfg)]
    joint = "sft" if isinstance(cfg, MultitaskConfig) else "grpo"
    print(f"multitask ({joint}): {len(items)} items from {len(tasks)} tasks, one joint stage", flush=True)
    work, dest = out / ".work" / "stage1", out / "joint"
    if joint == "sft":
        diag = st.train_sft(cfg, [(t, s, st.demonstration(t, s)) for t, s in items], src, dest, work, cfg.epochs, progress)
    else:
        diag = st.train_rft(cfg, items, src, dest, work, cfg.epochs, progress)
    # Every stage row is the joint model: the matrix's last row is the upper bound.
    _finish_stage(out, manifest, 1, [(task.spec, "joint") for task in tasks], {**diag, "kind": f"multitask-{joint}"})


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
