"""`harness eval`: score every stage checkpoint of a run on every task."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.common import quiet_libraries, split_arg
from harness.errors import HarnessError
from harness.files import atomic_write_text


def run(args: argparse.Namespace) -> int:
    from harness.runs.checkpoints import load_run
    from harness.engine import BACKENDS
    from harness.eval.evaluate import run_eval
    from harness.eval.options import EvalOptions
    from harness.results.report import render_report, save_heatmap
    from harness.generation.store import default_store_root
    from tasks import expand_general, resolve_sequence

    if args.backend not in BACKENDS:
        raise HarnessError(f"unknown backend {args.backend!r} (available: {', '.join(BACKENDS)})")
    if args.limit is not None and args.limit < 1:
        raise HarnessError("--limit must be at least 1")
    if args.batch_size < 1:
        raise HarnessError("--batch-size must be at least 1")
    ray_options = _ray_options(args)
    backend_options = _backend_options(args)
    sequence = resolve_sequence(args.sequence)[0] if args.sequence else None
    task_specs = split_arg(args.tasks)
    general_specs = split_arg(args.general)
    if general_specs is not None:
        general_specs = expand_general(general_specs)
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
    quiet_libraries()
    out = Path(args.out)
    options = EvalOptions(
        task_specs=task_specs, general_specs=general_specs, backend=args.backend, batch_size=args.batch_size,
        limit=args.limit, seed=args.seed, progress=not args.no_progress, protocol=args.protocol,
        backend_options=backend_options, ray=ray_options, lmeval_include=args.lm_eval_include,
        lmeval_chat_template=args.lm_eval_chat_template, overrides=overrides, preset=args.preset,
    )
    results = run_eval(run, out, Path(args.store) if args.store else default_store_root(), options)
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


def register(sub: Any) -> None:
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
    e.set_defaults(func=run)
