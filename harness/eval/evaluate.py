"""`harness eval`: score every stage checkpoint of a run on every task.

Generation goes through the response store, so a rerun (after a kill, or with more tasks)
generates only what is missing; scoring is then a pure function of the stored text. The model
of a stage is loaded at most once, and not at all when the store already holds its responses.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

import harness
from harness.clock import utc_now
from harness.engine import Request, backend_identity, open_backend
from harness.errors import HarnessError
from harness.eval.columns import Column, ColumnPlan, get_preset, plan_columns
from harness.eval.options import EvalOptions
from harness.files import read_config
from harness.generation.loop import Pair, StoreThrough, generation_hash
from harness.generation.store import ResponseStore, check_writable_folder
from harness.results import metrics
from harness.results.format import BUNDLE_FORMAT, SAMPLES_DIR, sample_file, sample_row
from harness.results.summary import summarize
from harness.results.types import Results, TaskRecord
from harness.results.writer import write_bundle
from harness.runs.checkpoints import Run
from harness.runs.fingerprint import FingerprintCache, fingerprint, read_generation_config, sample_digest
from tasks import Sample, Task, get_task
from tasks.base import stable_hash
from tasks.user_json import read_json


def chat_template_hash(folder: Path) -> str | None:
    for name in ("chat_template.jinja", "chat_template.json"):
        if (folder / name).is_file():
            return hashlib.sha256((folder / name).read_bytes()).hexdigest()[:16]
    cfg = folder / "tokenizer_config.json"
    if cfg.is_file():
        try:
            template = read_config(cfg, f"checkpoint {folder}").get("chat_template")
        except (HarnessError, AttributeError):  # unreadable, or not an object: no template to hash
            template = None
        if template:
            return hashlib.sha256(json.dumps(template).encode()).hexdigest()[:16]
    return None


def run_eval(run: Run, out: Path, store_root: Path, options: EvalOptions | None = None, **fields: Any) -> Results:
    """Generate what the store lacks, score, write the bundle, return its results. `options`
    (`EvalOptions`, which says what each does); keyword arguments replace its fields."""
    opts = replace(options or EvalOptions(), **fields).resolved()
    started = time.time()
    engine_id, plan, store = _prepare(run, out, Path(store_root), opts)
    run, columns = plan.run, plan.sequence + plan.general
    protocols = {t.spec: opts.protocol if opts.protocol in t.available_protocols() else t.default_protocol() for t in columns}
    samples, skipped = _load_samples(columns, opts.limit, protocols)
    cache = FingerprintCache(store.root / "fingerprints.json")
    fps = [fingerprint(stage.local, cache) for stage in run.stages]
    digests = {spec: {s.id: sample_digest(s, cache) for s in items} for spec, items in samples.items()}
    cache.save()
    hashes = {t.spec: generation_hash(t.contract(), engine_id, opts.seed) for t in columns}
    through = StoreThrough(store, engine_id)
    pairs = {(i, t.spec): Pair(fp, t.spec, t.version, hashes[t.spec], digests[t.spec]) for i, fp in enumerate(fps) for t in columns}
    responses, run_stats = _generate(run, columns, samples, through, pairs, opts)
    scored = {
        (stage, t.spec): [t.score_as(protocols[t.spec], per_task[t.spec][s.id], s) for s in samples[t.spec]]
        for stage, per_task in enumerate(responses) for t in columns
    }
    records = {
        t.spec: _task_record(t, samples[t.spec], hashes[t.spec], digests[t.spec], protocols[t.spec], skipped[t.spec],
                             [scored[(stage, t.spec)] for stage in range(len(run.stages))])
        for t in columns
    }
    general: list[Column] = list(plan.general)
    if plan.lmeval:  # lm-eval columns: lm-eval builds the requests and scores them; generation goes through the store
        from harness.eval.lmeval_bridge import evaluate_columns

        lm, lm_generated = evaluate_columns(
            [s.local for s in run.stages], plan.lmeval, store.root, opts.limit, opts.batch_size,
            opts.backend_options.get("batching", "padded"), opts.seed, opts.lmeval_include, opts.lmeval_chat_template, opts.progress)
        run_stats["generated"] += lm_generated
        for spec, column in lm.items():
            general.append(column)
            samples[spec] = column.rows
            records[spec] = {**column.info(), "n": len(column.rows), "gen_hash": column.record["gen_hash"]}
            for stage, per_task in enumerate(responses):
                per_task[spec] = {row.id: text for row, text in zip(column.rows, column.responses[stage])}
                scored[(stage, spec)] = column.scores[stage]
    results = _results(run, fps, plan.sequence, general, records, scored, engine_id, opts)
    training = read_training_diagnostics(run.folder)
    if training:
        results["training"] = training
    results["run_stats"] = {"generated": run_stats.pop("generated"), "seconds": round(time.time() - started, 2), **run_stats}
    write_bundle(out, results, _per_sample_rows(run, plan.sequence + general, samples, responses, scored))
    return results


def _prepare(run: Run, out: Path, store_root: Path, opts: EvalOptions) -> tuple[str, ColumnPlan, ResponseStore]:
    """Every check that needs no generation, before any: the backend, the columns, lm-eval, the
    output folder and the store, each checkpoint's processor (hf). Returns the backend identity,
    the column plan and the prepared store."""
    if opts.batch_size < 1:
        raise HarnessError("batch size must be at least 1")
    engine_id = backend_identity(opts.backend, batch_size=opts.batch_size, **opts.backend_options)  # a missing backend fails first
    plan = plan_columns(run, opts.task_specs, opts.general_specs, opts.overrides, opts.preset)
    if not plan.sequence + plan.general and not plan.lmeval:
        raise HarnessError("nothing to evaluate: no tasks selected")
    if plan.lmeval:
        _check_lmeval(plan.lmeval, opts.backend, opts.lmeval_include)
    for folder, what in ((out, "output folder"), (store_root, "response store")):
        if folder.exists() and not folder.is_dir():
            raise HarnessError(f"the {what} {folder} is a file, not a folder")
    check_writable_folder(out, "output folder")
    if opts.backend == "hf":  # a processor that cannot load is one line now, not when its stage generates
        from harness.engine.hf import load_processor

        for local in dict.fromkeys(str(stage.local) for stage in plan.run.stages):
            load_processor(local)
    store = ResponseStore(store_root)
    if store.prepare():
        print(f"created the response store at {store.root} (shared by later runs; --store or $CPT_HARNESS_STORE moves it)", file=sys.stderr)
    return engine_id, plan, store


def _load_samples(columns: list[Task], limit: int | None,
                  protocols: dict[str, str]) -> tuple[dict[str, list[Sample]], dict[str, dict[str, list[str]]]]:
    """Each column's test samples (the first `limit`, less the task's own skips) and its skips by
    reason; a column left with none, or whose protocol cannot score them, fails here."""
    samples: dict[str, list[Sample]] = {}
    skipped: dict[str, dict[str, list[str]]] = {}
    for task in columns:
        task.check_split("test")
        items = task.load("test")
        samples[task.spec], skipped[task.spec] = task.eval_samples(items[:limit] if limit is not None else items)
        if not samples[task.spec]:
            raise HarnessError(f"task {task.spec!r} has no test samples to evaluate")
        task.check_protocol(protocols[task.spec], samples[task.spec])
    return samples, skipped


def _generate(run: Run, columns: list[Task], samples: dict[str, list[Sample]], through: StoreThrough,
              pairs: dict[tuple[int, str], Pair], opts: EvalOptions) -> tuple[list[dict[str, dict[str, str]]], dict[str, Any]]:
    """Per stage, column -> sample id -> response, locally or on Ray; and the run's statistics
    (`generated`, then `ray` and `truncated_by_server` where they apply)."""
    options = {**opts.backend_options, "batch_size": opts.batch_size, "seed": opts.seed}
    stats: dict[str, Any] = {}
    if opts.ray is not None:
        responses, stats["ray"] = _generate_on_ray(run, columns, samples, through, pairs, opts.seed, opts.backend, options, opts.ray, opts.progress)
        truncated = stats["ray"].pop("truncated")
    else:
        responses, truncated = _generate_locally(run, columns, samples, through, pairs, opts.seed, opts.backend, options, opts.progress)
    if truncated:
        stats["truncated_by_server"] = truncated
    return responses, {"generated": through.generated, **stats}


def _task_record(task: Task, samples: list[Sample], ghash: str, digests: dict[str, str], protocol: str,
                 skipped: dict[str, list[str]], scores_by_stage: list[list[Any]]) -> TaskRecord:
    """What results.json records of a column: the task's own description, then what it loaded
    (the sample hashes in order: the store keys records by them), how it was scored and skipped."""
    record = {
        **task.info(), "n": len(samples), "gen_hash": ghash,
        "data_hash": stable_hash([digests[s.id] for s in samples], n=24), "protocol": protocol,
        "skipped_ids": [sid for ids in skipped.values() for sid in ids], "skip_reasons": skipped,
    }
    summaries = [task.summary_metrics(scores) for scores in scores_by_stage]
    if any(summaries):
        record["summary_metrics"] = summaries
    return record


def _check_lmeval(specs: list[str], backend: str, include_path: str | None) -> None:
    """lm-eval columns: lm-eval installed, the hf backend, every name known to lm-eval."""
    try:
        from harness.eval.lmeval_bridge import check_task_names
    except ImportError:
        raise HarnessError("lm-eval columns need lm-eval: pip install -e '.[compare]'") from None
    if backend != "hf":
        raise HarnessError(f"lm-eval columns generate with the hf backend; evaluate {', '.join(specs)} without --backend {backend}")
    if include_path is not None and not Path(include_path).is_dir():
        raise HarnessError(f"--lm-eval-include {include_path}: not a folder")
    from harness.eval.lmeval_names import LMEVAL_PREFIX

    check_task_names([s.strip()[len(LMEVAL_PREFIX):] for s in specs], include_path=include_path)


def _generate_locally(run, columns, samples, through, pairs, seed, backend, options, progress):
    """Stage by stage, column by column, each pair completed through the store; a stage's model
    is loaded when one of its pairs first misses something, and closed after the stage."""
    responses, truncated = [], {}  # truncated: ids a server cut at its token limit (openai backend)
    stage_bar = tqdm(run.stages, desc="stages", unit="stage", disable=not progress, position=0)
    for i, stage in enumerate(stage_bar):
        stage_bar.set_postfix_str(f"stage {stage.index}" + (f" ({stage.task})" if stage.task else " (base)"))
        engines = []

        def engine(stage=stage, engines=engines):
            if not engines:
                engines.append(open_backend(backend, str(stage.local), **options))
            return engines[0]

        per_task = {}
        try:
            for task in columns:
                spec = task.spec
                per_task[spec] = through.complete(
                    pairs[(i, spec)], [Request.for_sample(s, spec, seed) for s in samples[spec]], task.contract(), engine,
                    waiting=f"stage {stage.index} {spec}: waiting for another harness process that is generating it",
                    bar=lambda n, spec=spec: tqdm(total=n, desc=f"  stage {stage.index} {spec}", unit="sample", leave=False,
                                                  disable=not progress, position=1),
                )
                cut = engines[0].pop_truncated() if engines else []
                if cut:
                    truncated[f"stage{stage.index}/{spec}"] = cut
        finally:
            for opened in engines:
                opened.close()
        responses.append(per_task)
    stage_bar.close()
    return responses, truncated


def _generate_on_ray(run, columns, samples, through, pairs, seed, backend, options, ray, progress):
    """The Ray path of `run_eval`: lock every (checkpoint, task) pair with missing samples (in a
    fixed order, so two drivers cannot deadlock), hand the missing work to Ray as units, and read
    every pair's responses back from the store. Stages sharing a checkpoint generate once."""
    from contextlib import ExitStack

    from harness.generation.ray import PairWork, generate_on_ray

    have = {key: through.stored(pair) for key, pair in pairs.items()}
    need = {(pair.fingerprint, spec): (i, pair) for (i, spec), pair in reversed(pairs.items())
            if any(s.id not in have[(i, spec)] for s in samples[spec])}  # reversed: the first stage of a checkpoint wins
    specs = [t.spec for t in columns]
    with ExitStack() as locks:
        for fp, spec in sorted(need):
            locks.enter_context(through.lock(need[(fp, spec)][1], f"{spec} of checkpoint {fp[:12]}: waiting for another harness process that is generating it"))
        work = []
        for (fp, spec), (i, pair) in sorted(need.items(), key=lambda kv: (kv[1][0], specs.index(kv[0][1]))):
            got = have[(i, spec)] = through.stored(pair)
            missing = [s for s in samples[spec] if s.id not in got]
            if missing:
                task = columns[specs.index(spec)]
                work.append(PairWork(
                    i, str(run.stages[i].local.resolve()), spec, task.contract(),
                    [Request.for_sample(s, spec, seed) for s in missing],
                    lambda batch, pair=pair, got=got: through.keep(pair, batch, got),
                ))
        stats = generate_on_ray(work, backend=backend, backend_options=options, progress=progress, **ray)
    responses = [{t.spec: through.stored(pairs[(i, t.spec)]) for t in columns} for i in range(len(run.stages))]
    return responses, stats


def _results(run: Run, fps: list[str], sequence: list[Task], general: list[Column], records: dict[str, TaskRecord],
             scored: dict[tuple[int, str], list[Any]], backend: str, opts: EvalOptions) -> Results:
    columns = sequence + general
    summary = summarize(
        len(run.stages), [t.spec for t in columns], [t.spec for t in sequence], [get_task(s).spec for s in run.sequence],
        [t.spec for t in general],
        {key: [sc.value for sc in scores] for key, scores in scored.items()},
        {key: [sc.valid for sc in scores] for key, scores in scored.items()}, opts.seed,
    )
    generation = {"backend": backend, "batch_size": opts.batch_size, "seed": opts.seed, "limit": opts.limit,
                  "backend_options": opts.backend_options}
    if opts.preset is not None:
        generation["preset"] = get_preset(opts.preset).describe()
    import torch
    import transformers

    return {
        "bundle_format": BUNDLE_FORMAT,
        "harness_version": harness.__version__,
        "created": utc_now(),
        "run_folder": str(run.folder),
        "stages": [
            {
                "index": s.index, "task": get_task(s.task).spec if s.task else None, "path": s.path,
                "fingerprint": fp, "chat_template_hash": chat_template_hash(s.local),
                "generation_config": read_generation_config(s.local),
            }
            for s, fp in zip(run.stages, fps)
        ],
        "sequence": [t.spec for t in sequence],
        "general": [t.spec for t in general],
        "columns": [t.spec for t in columns],
        "tasks": {t.spec: records[t.spec] for t in columns},
        "accuracy": summary["accuracy"],
        "metrics": summary["metrics"],
        "definitions": metrics.DEFINITIONS,
        "generation": generation,
        "environment": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "datasets": _dist_version("datasets"),
            "mathruler": _dist_version("mathruler"),
        },
        "samples_dir": SAMPLES_DIR,
    }


def read_training_diagnostics(folder: Path) -> dict[str, Any] | None:
    """What `harness train` recorded beside the stages (method, config, per-stage diagnostics
    without the per-step lists), or None for runs trained elsewhere."""
    manifest, diag_dir = folder / "manifest.json", folder / "diagnostics"
    if not diag_dir.is_dir():
        return None
    try:
        training = read_json(manifest).get("training", {}) if manifest.is_file() else {}
        stages = []
        for path in sorted(diag_dir.glob("stage*.json"), key=lambda p: int(p.stem[5:]) if p.stem[5:].isdigit() else 0):
            d = read_json(path)
            stages.append({k: v for k, v in d.items() if not isinstance(v, list) or k == "filters"})
    except AttributeError:  # a manifest or diagnostics file that is not an object
        raise HarnessError(f"cannot read the training diagnostics in {diag_dir}: a file there is not a JSON object") from None
    return {"method": training.get("method"), "config_hash": training.get("config_hash"), "stages": stages}


def _per_sample_rows(run, columns, samples, responses, scored) -> dict[str, list[dict[str, Any]]]:
    return {
        sample_file(stage.index, task.spec): [
            sample_row(s.id, s.target, per_task[task.spec][s.id], sc)
            for s, sc in zip(samples[task.spec], scored[(stage.index, task.spec)])
        ]
        for stage, per_task in zip(run.stages, responses)
        for task in columns
    }


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None
