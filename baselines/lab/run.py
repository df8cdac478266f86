"""`harness lab`: Paper A's experiment at toy scale, on a CPU, with the harness's own trainer,
evaluator and metrics, over several seeds.

For every seed and method the lab trains a run over the toy sequence from one shared base
(`baselines/instruct_base.py`), evaluates it with `harness eval`'s `run_eval`, and packs a result
bundle for the leaderboard's toy track. `lab_report` then summarises the runs: every metric as a
mean with a 95% Student-t interval over seeds, the paired SFT-GRPO difference in forgetting with
its interval and a sentence stating the outcome, whatever it is; mean accuracy matrices; each
task's accuracy across stages; RIF's kept fractions and the rollouts they saved; and two
mechanism probes from the papers (GRPO's reward variance per stage against the forgetting that
followed; the base's perplexity on SFT's gold targets against its own rollouts).

Seeds are used as given, never chosen by result; every seed, config hash and checkpoint
fingerprint is in `lab.json`. Everything resumes: trained stages are skipped, stored responses
are not generated again."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from baselines.lab.base import build_kwargs, recorded_fingerprint, shipped_base
from baselines.lab.config import LabConfig, check_settings, lab_config, order
from baselines.lab.probes import perplexity_probe
from baselines.lab.report import lab_report
from harness.errors import HarnessError
from harness.files import atomic_write_text


def run_lab(out: Path, cfg: LabConfig, store: Path, progress: bool = True) -> dict[str, Any]:
    """Train, evaluate and bundle every (method, seed); write `lab.json`, `report.md` and plots."""
    from baselines.train import train_run
    from harness.results.bundle import make_bundle
    from harness.runs.checkpoints import load_run
    from harness.eval.evaluate import run_eval
    from harness.results.report import save_heatmap
    from tasks import resolve_sequence

    methods = order(cfg.methods)
    if not cfg.seeds:
        raise HarnessError("--seeds must be at least 1")
    resolve_sequence(cfg.sequence)  # an unknown sequence fails before any work
    check_settings(cfg, methods)
    started = time.time()
    out.mkdir(parents=True, exist_ok=True)
    print(f"lab: {', '.join(methods)} over {cfg.sequence}, seeds {list(cfg.seeds)}, {cfg.limit} test items per task", flush=True)
    base = place_base(out / "base", cfg, progress)
    runs: list[dict[str, Any]] = []
    for seed in cfg.seeds:
        for method in methods:
            name = f"{method}-s{seed}"
            run_dir = out / "runs" / name
            config = lab_config(method, seed, out / "runs" / f"grpo-s{seed}" if method == "rollout-sft" else None,
                                cfg.stage_settings.get(method, {}), cfg.overrides)
            t0 = time.time()
            print(f"lab: training {name}", flush=True)
            train_run(method, cfg.sequence, str(base), run_dir, config, progress=progress)
            t1 = time.time()
            print(f"lab: evaluating {name}", flush=True)
            eval_dir = out / "eval" / name
            results = run_eval(load_run(run_dir, allow_external_paths=True), eval_dir, store, limit=cfg.limit, progress=progress)
            save_heatmap(results, eval_dir / "heatmap.png", title=f"lab: {name}")
            meta = out / "configs" / f"{name}.submission.toml"
            atomic_write_text(meta, submission(method, seed, cfg))
            (out / "bundles").mkdir(exist_ok=True)
            make_bundle(eval_dir, meta, out / "bundles" / f"lab-{name}.tar.gz")
            runs.append({"method": method, "seed": seed, "run": str(run_dir), "eval": str(eval_dir),
                         "train_seconds": round(t1 - t0, 1), "eval_seconds": round(time.time() - t1, 1)})
    print("lab: perplexity probe (the base on SFT's gold targets and on its own correct rollouts)", flush=True)
    ppl = perplexity_probe(base, cfg.sequence, out, progress=progress)
    summary = lab_report(out, runs, cfg, ppl)
    summary["seconds"] = round(time.time() - started, 1)
    atomic_write_text(out / "lab.json", json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return summary


def place_base(dest: Path, cfg: LabConfig, progress: bool) -> Path:
    """The lab's base in `dest`: a copy of the shipped base (checked by fingerprint, and a copy
    left by an earlier lab must still match it), or one built from `cfg.base_recipe`."""
    from baselines.instruct_base import build_instruct_base
    from harness.runs.fingerprint import fingerprint

    if cfg.base_recipe is not None:
        return build_instruct_base(dest, progress=progress, **build_kwargs(cfg.base_recipe))
    shipped = shipped_base()  # its files match the recorded fingerprint
    if dest.exists():
        if fingerprint(dest) != recorded_fingerprint():
            raise HarnessError(f"{dest} holds another base than the shipped one; remove it, and the runs trained from it, "
                               "or choose another output folder")
        return dest
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(shipped, staging)
    staging.replace(dest)
    return dest


def base_name(cfg: LabConfig) -> str:
    if cfg.base_recipe is not None:
        return "tiny Qwen2.5-VL, instruct-tuned by the lab from its base_recipe"
    return f"tiny Qwen2.5-VL lab base (0.7 M parameters, shipped in baselines/lab_base, fingerprint {recorded_fingerprint()})"


def submission(method: str, seed: int, cfg: LabConfig) -> str:
    return "\n".join([
        f'method = "lab {method} (seed {seed})"',
        f'base_model = "{base_name(cfg)}"',
        f'training_data = "toy sequence {cfg.sequence}, train split, seed {seed}"',
        'code = "harness lab (baselines/lab/)"',
        'contact = "cpt-harness maintainers"',
        'licence = "Apache-2.0"',
        'track = "toy"',
    ]) + "\n"
