"""The `harness` command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.errors import HarnessError
from harness.files import atomic_write_text


def _split(text: str | None) -> list[str] | None:
    from tasks import split_specs

    if text is None:
        return None
    items = split_specs(text)
    if not items:
        raise HarnessError("empty task list")
    return items


def _quiet_libraries() -> None:
    import warnings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Two notices TRL's trainers trigger inside transformers on every stage; neither is ours to act on.
    warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated")
    warnings.filterwarnings("ignore", message=r"`max_length` is ignored when `padding`")
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def cmd_tasks(args: argparse.Namespace) -> int:
    import textwrap

    from tasks import SEQUENCES, TASKS

    width = 100
    for name, cls in TASKS.items():
        print(f"{name}  (version {cls.version}, metric: {cls.metric})")
        sources = ", ".join(f"hub {cls.hub_id}" if src == "hub" else src for src in cls.sources)
        params = " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in cls.defaults.items())
        for label, text in (
            ("", cls.description), ("styles", ", ".join(cls.prompt_styles)),
            ("protocols", ", ".join(cls.protocols) + _default_protocols(cls)),
            ("sources", sources), ("parameters", params or "none"),
        ):
            head = f"    {label + ': ' if label else ''}"
            print(textwrap.fill(text, width, initial_indent=head, subsequent_indent=" " * 8))
    print()
    for name, seq in SEQUENCES.items():
        print(textwrap.fill(f"sequence {name}: {', '.join(seq['sequence'])} (general: {', '.join(seq['general'])})", width, subsequent_indent=" " * 4))
    print("\nParameters go after a colon, e.g. jigsaw:grid=3,mode=tiles or toy_count:style=direct,n_test=50.")
    return 0


def _default_protocols(cls: type) -> str:
    """Which protocol scores each style when none is named."""
    by_protocol: dict[str, list[str]] = {}
    for style in cls.prompt_styles if "style" in cls.defaults else ():
        by_protocol.setdefault(cls(style=style).default_protocol(), []).append(style)
    if len(by_protocol) <= 1:
        return " (the first is the default)"
    return " (default: " + "; ".join(f"{p} in {', '.join(styles)}" for p, styles in by_protocol.items()) + ")"


def cmd_eval(args: argparse.Namespace) -> int:
    from harness.runs.checkpoints import load_run
    from harness.engine import BACKENDS
    from harness.eval.evaluate import run_eval
    from harness.results.report import render_report, save_heatmap
    from harness.generation.store import default_store_root
    from tasks import resolve_sequence

    if args.backend not in BACKENDS:
        raise HarnessError(f"unknown backend {args.backend!r} (available: {', '.join(BACKENDS)})")
    if args.limit is not None and args.limit < 1:
        raise HarnessError("--limit must be at least 1")
    if args.batch_size < 1:
        raise HarnessError("--batch-size must be at least 1")
    ray_options = _ray_options(args)
    backend_options = _backend_options(args)
    sequence = resolve_sequence(args.sequence)[0] if args.sequence else None
    task_specs = _split(args.tasks)
    general_specs = _split(args.general)
    if task_specs is not None and general_specs is not None:
        raise HarnessError("give --tasks (the columns to evaluate) or --general (the untrained columns), not both")
    from harness.eval.columns import get_preset, plan_columns
    from harness.eval.lmeval_names import is_lmeval_spec
    from tasks import get_task

    get_preset(args.preset)
    overrides = _image_bounds(args)
    for spec in (task_specs or []) + (general_specs or []):
        if not is_lmeval_spec(spec):
            get_task(spec)  # unknown tasks fail before any model is touched (lm-eval names: in run_eval, before any model)
    run = load_run(args.checkpoint_dir, sequence, allow_external_paths=args.allow_external_paths, allow_hub=args.allow_hub)
    plan = plan_columns(run, task_specs, general_specs, overrides, args.preset)
    if (args.lm_eval_include or args.lm_eval_chat_template) and not plan.lmeval:
        raise HarnessError("--lm-eval-include and --lm-eval-chat-template need an lm-eval column (--general lm-eval:TASK)")
    if not (Path(args.checkpoint_dir) / "manifest.json").is_file():
        order = ", ".join(f"{s.path} ({s.task or 'base'})" for s in run.stages)
        print(f"no manifest.json: took {run.stages[0].path} as the base; stage order: {order}")
    for trained, evaluated in plan.restyled.items():
        print(f"stage task {trained} is evaluated as {evaluated}")
    if args.protocol:
        if not any(args.protocol in t.available_protocols() for t in plan.columns):
            known = sorted({p for t in plan.columns for p in t.available_protocols()})
            raise HarnessError(f"no task here has protocol {args.protocol!r} (protocols: {', '.join(known)})")
    _quiet_libraries()
    out = Path(args.out)
    results = run_eval(
        run, out, Path(args.store) if args.store else default_store_root(), task_specs=task_specs,
        backend=args.backend, batch_size=args.batch_size, limit=args.limit, seed=args.seed,
        progress=not args.no_progress, protocol=args.protocol, backend_options=backend_options,
        ray=ray_options, general_specs=general_specs, lmeval_include=args.lm_eval_include,
        lmeval_chat_template=args.lm_eval_chat_template, overrides=overrides, preset=args.preset,
    )
    report = render_report(results)
    atomic_write_text(out / "report.md", report)
    save_heatmap(results, out / "heatmap.png")
    print(report)
    stats = results["run_stats"]
    print(f"generated {stats['generated']} responses in {stats['seconds']} s; results in {out / 'results.json'}")
    return 0


def _image_bounds(args: argparse.Namespace) -> dict:
    """Task parameters from --image-min-pixels / --image-max-pixels (set on every column that
    shows images)."""
    bounds = {"image_min_pixels": args.image_min_pixels, "image_max_pixels": args.image_max_pixels}
    for name, value in bounds.items():
        if value is not None and value < 0:
            raise HarnessError(f"--{name.replace('_', '-')} must be 0 (no bound) or a pixel count")
    return {k: v for k, v in bounds.items() if v is not None}


def _ray_options(args: argparse.Namespace) -> dict | None:
    """`generate_on_ray`'s arguments from --ray and its options, or None without --ray."""
    ray_flags = (args.ray_cpus_per_unit, args.ray_gpus_per_unit, args.ray_shard_size, args.ray_retries)
    if args.ray is None:
        if any(v is not None for v in ray_flags):
            raise HarnessError("the --ray-* options need --ray")
        return None
    from harness.generation.ray import DEFAULT_RETRIES, DEFAULT_SHARD_SIZE, check_address, import_ray

    import_ray()  # missing Ray, or a cluster that does not answer, fails before any work
    if args.ray != "local":
        check_address(args.ray)
    cpus = 1.0 if args.ray_cpus_per_unit is None else args.ray_cpus_per_unit
    if cpus <= 0 or (args.ray_gpus_per_unit is not None and args.ray_gpus_per_unit < 0):
        raise HarnessError("--ray-cpus-per-unit must be positive and --ray-gpus-per-unit not negative")
    return {
        "address": None if args.ray == "local" else args.ray, "cpus_per_unit": cpus, "gpus_per_unit": args.ray_gpus_per_unit,
        "shard_size": DEFAULT_SHARD_SIZE if args.ray_shard_size is None else args.ray_shard_size,
        "retries": DEFAULT_RETRIES if args.ray_retries is None else args.ray_retries,
    }


DP_REFUSED = ("--dp above 1: vLLM's offline engine refuses data parallelism for dense models such as Qwen2.5-VL; to use "
              "several GPUs, give each stage its own with --ray --ray-gpus-per-unit 1, or split one model with --tp")


def _backend_options(args: argparse.Namespace) -> dict:
    """The options of the chosen backend, as given on the command line (recorded in results)."""
    if args.backend == "hf":
        return {"batching": args.batching}
    if args.backend == "vllm":
        if args.dp is not None and args.dp > 1:
            raise HarnessError(DP_REFUSED)
        options = {"tp": args.tp, "dp": args.dp, "gpu_memory_utilization": args.gpu_memory_utilization,
                   "max_model_len": args.max_model_len}
    else:
        options = {"base_url": args.base_url, "model": args.model, "api_key_env": args.api_key_env,
                   "concurrency": args.concurrency, "request_timeout": args.request_timeout}
    return {k: v for k, v in options.items() if v is not None}


def cmd_manifest(args: argparse.Namespace) -> int:
    import json

    from tabulate import tabulate

    from harness.runs.layouts import propose_manifest, write_manifest

    run = Path(args.run)
    manifest, found = propose_manifest(run, args.base, _split(args.sequence))
    rows = [[0, "base", manifest["base"], ""]] + [
        [i, e["task"], e["path"], e["layout"]] for i, e in enumerate(manifest["stages"], start=1)
    ]
    print(tabulate(rows, ["stage", "task", "path", "layout"], tablefmt="simple"))
    order = "natural order of the paths" if all(f.layout == "hf" for f in found) else "the time the weights were written"
    print(f"\nstages in {order}; tasks " + ("as given by --sequence" if args.sequence else "guessed from the names ('?' = none: edit it)"))
    if args.write:
        path = write_manifest(run, manifest, force=args.force)
        print(f"wrote {path}; check it, then: harness eval --checkpoint-dir {run} --out OUT")
    else:
        print(json.dumps(manifest, indent=2))
        print("(not written: pass --write)")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from harness.eval.score import score_file

    summary = score_file(args.task, args.data, Path(args.responses), Path(args.out), args.protocol)
    extra = summary.pop("summary_metrics", {})
    print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in {**summary, **extra}.items()))
    if summary["missing"]:
        print(f"note: {summary['missing']} of {summary['n']} samples have no response; they count as wrong (and invalid) in accuracy and invalid_rate")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import json

    from harness.check.checker import check_bundle

    if args.regenerate and not args.checkpoint_dir:
        raise HarnessError("--regenerate needs --checkpoint-dir (the submitted checkpoints)")
    report = check_bundle(args.bundle, args.checkpoint_dir, args.regenerate, args.seed, args.allow_external_paths)
    for problem in report.problems:
        print(problem.line())
    for note in report.notes:
        print(f"note: {note}")
    verdict = "accepted" if report.accepted else f"rejected ({len(report.problems)} problems)"
    regen = report.checked.get("regeneration")
    if regen:
        print(f"spot regeneration: {regen['matched']} of {regen['total']} responses identical (K={regen['k']}, seed {regen['seed']}, {regen['backend']})")
    print(f"{args.bundle}: {verdict}")
    if args.report:
        atomic_write_text(Path(args.report), json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return 0 if report.accepted else 1


def cmd_bundle(args: argparse.Namespace) -> int:
    from harness.results.bundle import make_bundle

    archive = make_bundle(Path(args.out), Path(args.meta) if args.meta else None, Path(args.archive) if args.archive else None)
    print(f"packed {archive}; check it with: harness check {archive}")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from leaderboard.build import build_site

    summary = build_site(Path(args.bundles), Path(args.out))
    counts = ", ".join(f"{name}: {len(ids)}" for name, ids in summary["tracks"].items())
    print(f"built {Path(args.out) / 'index.html'} from {len(summary['entries'])} bundles ({counts})")
    return 0


def _require_trl() -> None:
    try:
        import trl  # noqa: F401
    except ImportError:
        raise HarnessError("training needs TRL: pip install -e '.[train]' (or '.[dev]')") from None


def cmd_train(args: argparse.Namespace) -> int:
    _require_trl()
    from baselines.train import train_run

    _quiet_libraries()
    manifest = train_run(args.method, args.sequence, args.base, Path(args.out), args.config, progress=not args.no_progress)
    print(f"done: {len(manifest['stages'])} stages in {args.out}; evaluate with `harness eval --checkpoint-dir {args.out} --out OUT`")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _require_trl()
    from baselines.demo import run_demo

    _quiet_libraries()
    return run_demo(Path(args.out), store=Path(args.store) if args.store else None, limit=args.limit, progress=not args.no_progress)


def cmd_lab(args: argparse.Namespace) -> int:
    _require_trl()
    import dataclasses

    from baselines.lab import LabConfig, run_lab
    from harness.generation.store import default_store_root

    cfg = LabConfig.quick_config() if args.quick else LabConfig()
    if args.seeds is not None:  # run_lab refuses fewer than one
        cfg = dataclasses.replace(cfg, seeds=tuple(range(args.seeds)))
    if args.methods:
        cfg = dataclasses.replace(cfg, methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()))
    if args.limit is not None:
        if args.limit < 1:
            raise HarnessError("--limit must be at least 1")
        cfg = dataclasses.replace(cfg, limit=args.limit)
    if args.sequence:
        cfg = dataclasses.replace(cfg, sequence=args.sequence)
    _quiet_libraries()
    summary = run_lab(Path(args.out), cfg, Path(args.store) if args.store else default_store_root(), progress=not args.no_progress)
    outcome = (summary.get("outcome") or {}).get("verdict", "SFT and GRPO were not both run")
    print(f"{outcome}.\nreport: {Path(args.out) / 'report.md'}; bundles: {Path(args.out) / 'bundles'}; lab finished in {summary['seconds']:.0f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harness", description="Evaluation harness for continual post-training of multimodal LLMs.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("tasks", help="list the tasks with version, sources, prompt styles and metric")
    t.set_defaults(func=cmd_tasks)

    e = sub.add_parser("eval", help="score every stage checkpoint of a run on every task")
    e.add_argument("--checkpoint-dir", required=True, help="run folder (manifest.json, or stage folders in natural order)")
    e.add_argument("--out", required=True, help="folder for results.json, per-sample scores, report.md, heatmap.png")
    e.add_argument("--store", help="response store folder (default: the user cache, shared by all runs)")
    e.add_argument("--tasks", help="comma-separated task specs to evaluate (default: the sequence and its general tasks)")
    e.add_argument("--general", help="general (untrained) columns, replacing the manifest's: task specs and lm-eval tasks as "
                   "lm-eval:TASK[,TASK...] (lm-evaluation-harness builds and scores those; generation goes through the store)")
    e.add_argument("--lm-eval-include", help="a folder of lm-eval task YAMLs (lm-eval's include_path) for lm-eval:TASK columns")
    e.add_argument("--lm-eval-chat-template", action="store_true", help="lm-eval columns: apply the model's chat template (lm-eval's --apply_chat_template)")
    e.add_argument("--sequence", help="trained tasks in order, or a named sequence (needed without a manifest)")
    e.add_argument("--limit", type=int, help="first N test samples of each task")
    e.add_argument("--backend", default="hf", help="generation backend: hf (default), vllm, openai")
    e.add_argument("--batch-size", type=int, default=8)
    e.add_argument("--batching", choices=("padded", "exact"), default="padded",
                   help="hf: padded = length-sorted, left-padded full batches (fast; default); exact = no padding, "
                        "responses independent of batch company (slow on mixed lengths)")
    e.add_argument("--tp", type=int, help="vllm: tensor-parallel size")
    e.add_argument("--dp", type=int, help="vllm: data-parallel size (only 1: vLLM refuses offline data parallelism for dense models)")
    e.add_argument("--gpu-memory-utilization", type=float, help="vllm: memory share for the KV cache (default 0.9 on GPU, 0.2 on CPU)")
    e.add_argument("--max-model-len", type=int, help="vllm: longest prompt + response in tokens")
    e.add_argument("--base-url", help="openai: the server's API root, e.g. http://127.0.0.1:8000/v1")
    e.add_argument("--model", help="openai: the served model name (default: each stage's checkpoint path, as `vllm serve PATH` names it)")
    e.add_argument("--api-key-env", default="OPENAI_API_KEY", help="openai: environment variable holding the API key")
    e.add_argument("--concurrency", type=int, help="openai: requests in flight (default 8)")
    e.add_argument("--request-timeout", type=float, help="openai: seconds per request before a retry (default 120)")
    e.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="generate on Ray: alone, a local instance on this machine; or a cluster's HOST:PORT, ray://HOST:PORT, auto")
    e.add_argument("--ray-cpus-per-unit", type=float, help="ray: CPUs each stage worker asks for (default 1; also its torch threads)")
    e.add_argument("--ray-gpus-per-unit", type=float, help="ray: GPUs each stage worker asks for (default: 1 for hf, --tp for vllm, when the cluster has GPUs)")
    e.add_argument("--ray-shard-size", type=int, help="ray: most samples in one unit (default 512)")
    e.add_argument("--ray-retries", type=int, help="ray: retries of a unit whose worker died or failed (default 2)")
    e.add_argument("--seed", type=int, default=0, help="sampling seed (unused by greedy contracts)")
    e.add_argument("--protocol", help="scoring protocol for the tasks that have it, e.g. official (default: each task's own)")
    e.add_argument("--preset", help="an evaluation preset: paper-a (Paper A's evaluation; mmmu, mmlu_pro and pope given "
                   "without a style are evaluated in its `paper` style; recorded in results)")
    e.add_argument("--image-min-pixels", type=int, help="bound every image's area from below before the processor (0: no bound; "
                   "default: each task's style)")
    e.add_argument("--image-max-pixels", type=int, help="bound every image's area from above before the processor (0: no bound; "
                   "default: each task's style)")
    e.add_argument("--allow-external-paths", action="store_true",
                   help="let manifest paths lead outside the checkpoint directory (runs of `harness train` keep their base outside)")
    e.add_argument("--allow-hub", action="store_true", help="let a base given as a hub id be downloaded")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")
    e.set_defaults(func=cmd_eval)

    mf = sub.add_parser("manifest", help="propose a manifest from a run's folders (EasyR1, LLaMA-Factory, LoRA adapters, model folders)")
    mf.add_argument("run", help="the run folder")
    mf.add_argument("--base", help="the base model (a path relative to the run folder, or any path or hub id); default: the first stage found")
    mf.add_argument("--sequence", help="the trained tasks in stage order (default: guessed from the folder names)")
    mf.add_argument("--write", action="store_true", help="write RUN/manifest.json")
    mf.add_argument("--force", action="store_true", help="replace an existing manifest.json")
    mf.set_defaults(func=cmd_manifest)

    s = sub.add_parser("score", help="score responses generated elsewhere, without a model")
    s.add_argument("--task", required=True)
    s.add_argument("--data", required=True, help="the task's data: a hub dataset id, a local dataset folder, a LLaMA-Factory JSON file or a parquet file")
    s.add_argument("--responses", required=True, help='JSON lines {"id": ..., "response": ...}')
    s.add_argument("--out", required=True, help="JSON lines of scores, in input order")
    s.add_argument("--protocol", help="scoring protocol, e.g. paper or official (default: the task's first)")
    s.set_defaults(func=cmd_score)

    c = sub.add_parser("check", help="accept or reject a result bundle (folder or .tar.gz): files, schema, completeness, re-scored answers, recomputed figures")
    c.add_argument("bundle", help="the output folder of `harness eval`, or a .tar.gz of one")
    c.add_argument("--report", help="write the machine-readable report (JSON) here")
    c.add_argument("--checkpoint-dir", help="the submitted checkpoints (a run folder), for spot regeneration")
    c.add_argument("--regenerate", type=int, default=0, metavar="K", help="regenerate K random samples per stage x task and compare")
    c.add_argument("--seed", type=int, default=0, help="seed of the spot-regeneration draw (recorded)")
    c.add_argument("--allow-external-paths", action="store_true", help="let the run's manifest paths leave its folder")
    c.set_defaults(func=cmd_check)

    b = sub.add_parser("bundle", help="add submission metadata to an eval output folder and pack it as .tar.gz")
    b.add_argument("out", help="the output folder of `harness eval`")
    b.add_argument("--meta", help="submission.toml: method, base_model, training_data, code, contact, licence [, track, trainer_config]")
    b.add_argument("--archive", help="the archive to write (default: OUT.tar.gz beside the folder)")
    b.set_defaults(func=cmd_bundle)

    lb = sub.add_parser("leaderboard", help="the static leaderboard site")
    lb_sub = lb.add_subparsers(dest="action", required=True)
    lbb = lb_sub.add_parser("build", help="check every bundle, then render the site (same bundles, same bytes)")
    lbb.add_argument("--bundles", default="leaderboard/bundles", help="folder of accepted bundles (folders or .tar.gz; default: leaderboard/bundles)")
    lbb.add_argument("--out", required=True, help="the site folder to write (replaced as a whole)")
    lbb.set_defaults(func=cmd_leaderboard)

    tr = sub.add_parser("train", help="train a method over a task sequence (reference trainer on TRL)")
    tr.add_argument("--method", required=True, help="sft, grpo, rloo, rif-grpo, rollout-sft, multitask (joint SFT, Paper A's upper bound) or multitask-grpo")
    tr.add_argument("--sequence", required=True, help="a named sequence (cpt7, toy3, ...) or task specs t1,t2,...")
    tr.add_argument("--base", required=True, help="base model: a local folder or a hub id")
    tr.add_argument("--out", required=True, help="run folder (manifest.json + one folder per stage); rerun to resume")
    tr.add_argument("--config", help="TOML overriding the method's defaults (see baselines/configs/)")
    tr.add_argument("--no-progress", action="store_true")
    tr.set_defaults(func=cmd_train)

    lab = sub.add_parser("lab", help="the papers' experiment at toy scale: every method over the toy sequence for several seeds, with intervals")
    lab.add_argument("--out", required=True, help="lab folder (base, runs, eval, bundles, report.md, plots, lab.json); rerun to resume")
    lab.add_argument("--seeds", type=int, help="seeds 0..N-1 (default 3; --quick: 1)")
    lab.add_argument("--methods", help="comma-separated, from sft, grpo, rif-grpo, rollout-sft, multitask (default: all; --quick: sft,grpo)")
    lab.add_argument("--sequence", help="toy sequence (default toy7; --quick: toy3)")
    lab.add_argument("--limit", type=int, help="test items per task and stage (default 48; --quick: 32)")
    lab.add_argument("--quick", action="store_true", help="one seed, toy3, sft and grpo, 32 test items")
    lab.add_argument("--store", help="response store folder (default: the user cache)")
    lab.add_argument("--no-progress", action="store_true")
    lab.set_defaults(func=cmd_lab)

    d = sub.add_parser("demo", help="the whole pipeline on the embedded tiny model, on CPU")
    d.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    d.add_argument("--store", help="response store folder (default: the user cache)")
    d.add_argument("--limit", type=int, default=48, help="test samples per task (default: 48)")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as e:
        print(f"harness: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("harness: interrupted; what was generated is stored, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
