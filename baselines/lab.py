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
are not generated again.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.files import atomic_write_text
from tasks.user_json import read_json

METHODS = ("sft", "grpo", "rif-grpo", "rollout-sft", "multitask")
CONFIGS = Path(__file__).resolve().parent / "configs"

# Student's t quantile t(0.975, df) for df = 1..30; above 30 the normal 1.96 is within 2%.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


@dataclass
class LabConfig:
    """What one lab runs. `quick`: one seed, `toy3`, SFT and GRPO, 32 test items."""

    sequence: str = "toy7"
    methods: tuple[str, ...] = METHODS
    seeds: tuple[int, ...] = (0, 1, 2)
    limit: int = 48  # test items per task at every stage
    base_seed: int = 0  # the shared base is built once, from this seed
    # The lab's base recipe (`build_instruct_base`): more items and steps at a lower learning rate
    # than the demo's base. Measured on the tiny model: at 3e-3 training stalls at chance on
    # counting; at 1e-3 over ~1,760 steps the base reads colours, textures and OCR tokens.
    base_learning_rate: float = 1e-3
    base_epochs: float = 10.0
    base_n_general: int = 256  # items of each general probe, per style
    base_n_task: int = 128  # items of each toy task, per style (drawn with seed 1: no CPT item)
    quick: bool = False
    # Config keys per method, over its `*-tiny.toml`: the SFT-type stages train at 1e-3 for 6 epochs
    # (192 steps on 256 items), where the tiny config's 3e-3 x 2 epochs barely moves a stage's task.
    stage_settings: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        m: {"learning_rate": 1e-3, "epochs": 6.0} for m in ("sft", "rollout-sft", "multitask")})
    overrides: dict[str, Any] = field(default_factory=dict)  # config keys set for every method that has them, last (tests: smaller stages)

    @classmethod
    def quick_config(cls) -> "LabConfig":
        return cls(sequence="toy3", methods=("sft", "grpo"), seeds=(0,), limit=32, quick=True)


def interval(values: list[float]) -> dict[str, Any]:
    """Mean and 95% Student-t interval of `values` (None bounds for a single value)."""
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return {"mean": None, "lo": None, "hi": None, "n": 0}
    mean = statistics.fmean(vals)
    if len(vals) < 2:
        return {"mean": mean, "lo": None, "hi": None, "n": 1}
    half = (T975[len(vals) - 2] if len(vals) - 1 <= len(T975) else 1.96) * statistics.stdev(vals) / math.sqrt(len(vals))
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": len(vals)}


def lab_config(method: str, seed: int, grpo_run: Path | None, settings: dict[str, Any], overrides: dict[str, Any]) -> Any:
    """The method's tiny config with this seed (and, for rollout-sft, the lab's GRPO run of the
    same seed as its rollout source, Paper B's choice), then the lab's `settings` for the method,
    then `overrides` for the keys it has; each value of its default's type."""
    import dataclasses

    from baselines.methods import load_config
    from baselines.stage_configs import checked_types

    config = load_config(method, CONFIGS / f"{method}-tiny.toml")
    keys = _config_keys(method)
    mine = {**settings, **{k: v for k, v in overrides.items() if k in keys}, "seed": seed}
    if method == "rollout-sft":
        if grpo_run is None:
            raise HarnessError("the lab's rollout-sft imitates its grpo run of the same seed: add grpo to --methods")
        mine["source"] = str(grpo_run.resolve())
    return dataclasses.replace(config, **checked_types(type(config), mine, f"lab settings for {method}"))


def _config_keys(method: str) -> set[str]:
    """The keys a config of `method` has."""
    import dataclasses

    from baselines.methods import get_method

    return {f.name for f in dataclasses.fields(get_method(method).config)}


def _check_settings(cfg: LabConfig, methods: list[str]) -> None:
    """A stage setting that is no key of its method's config fails before any work."""
    for method in methods:
        unknown = sorted(set(cfg.stage_settings.get(method, {})) - _config_keys(method))
        if unknown:
            raise HarnessError(f"lab stage setting {unknown[0]!r} is not a key of the {method} config")


def _order(methods: tuple[str, ...]) -> list[str]:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise HarnessError(f"unknown lab method {unknown[0]!r} (methods: {', '.join(METHODS)})")
    if not methods:
        raise HarnessError("no method to run")
    return sorted(dict.fromkeys(methods), key=METHODS.index)  # grpo before rollout-sft, which samples it


def run_lab(out: Path, cfg: LabConfig, store: Path, progress: bool = True) -> dict[str, Any]:
    """Train, evaluate and bundle every (method, seed); write `lab.json`, `report.md` and plots."""
    from baselines.instruct_base import build_instruct_base
    from baselines.train import train_run
    from harness.results.bundle import make_bundle
    from harness.runs.checkpoints import load_run
    from harness.eval.evaluate import run_eval
    from harness.results.report import save_heatmap
    from tasks import resolve_sequence

    methods = _order(cfg.methods)
    if not cfg.seeds:
        raise HarnessError("--seeds must be at least 1")
    resolve_sequence(cfg.sequence)  # an unknown sequence fails before any work
    _check_settings(cfg, methods)
    started = time.time()
    out.mkdir(parents=True, exist_ok=True)
    print(f"lab: {', '.join(methods)} over {cfg.sequence}, seeds {list(cfg.seeds)}, {cfg.limit} test items per task", flush=True)
    base = build_instruct_base(out / "base", seed=cfg.base_seed, n_general=cfg.base_n_general, n_task=cfg.base_n_task,
                               epochs=cfg.base_epochs, learning_rate=cfg.base_learning_rate, progress=progress)
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
            atomic_write_text(meta, _submission(method, seed, cfg))
            (out / "bundles").mkdir(exist_ok=True)
            make_bundle(eval_dir, meta, out / "bundles" / f"lab-{name}.tar.gz")
            runs.append({"method": method, "seed": seed, "run": str(run_dir), "eval": str(eval_dir),
                         "train_seconds": round(t1 - t0, 1), "eval_seconds": round(time.time() - t1, 1)})
    print("lab: perplexity probe (the base on SFT's gold targets and on its own correct rollouts)", flush=True)
    ppl = perplexity_probe(base, cfg.sequence, out, progress=progress)
    summary = lab_report(out, runs, cfg, base, ppl)
    summary["seconds"] = round(time.time() - started, 1)
    atomic_write_text(out / "lab.json", json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return summary


def _submission(method: str, seed: int, cfg: LabConfig) -> str:
    return "\n".join([
        f'method = "lab {method} (seed {seed})"',
        'base_model = "cpt-harness lab base (baselines/instruct_base.py)"',
        f'training_data = "toy sequence {cfg.sequence}, train split, seed {seed}"',
        'code = "harness lab (baselines/lab.py)"',
        'contact = "cpt-harness maintainers"',
        'licence = "Apache-2.0"',
        'track = "toy"',
    ]) + "\n"


# ---- the report ---------------------------------------------------------------------------------

def _load(run: dict[str, Any]) -> dict[str, Any]:
    return json.loads((Path(run["eval"]) / "results.json").read_text())


def lab_report(out: Path, runs: list[dict[str, Any]], cfg: LabConfig, base: Path, ppl: dict[str, Any] | None = None) -> dict[str, Any]:
    """Aggregate the runs into `report.md` and PNG plots beside it; returns the figures."""
    from harness.results.metrics import DEFINITIONS, METRIC_KEYS

    by_method: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for run in runs:
        by_method.setdefault(run["method"], []).append((run, _load(run)))
    figures: dict[str, Any] = {"config": asdict(cfg), "runs": [], "methods": {}}
    for method, pairs in by_method.items():
        stats = {key: interval([res["metrics"].get(key) for _, res in pairs]) for key in METRIC_KEYS}
        general = sorted({g for _, res in pairs for g in res["metrics"]["general_deltas"]})
        stats.update({f"delta {g}": interval([res["metrics"]["general_deltas"][g]["delta"] for _, res in pairs if g in res["metrics"]["general_deltas"]]) for g in general})
        figures["methods"][method] = stats
        for run, res in pairs:
            figures["runs"].append({
                **run, "fingerprints": [s["fingerprint"] for s in res["stages"]], "columns": res["columns"],
                "accuracy": res["accuracy"], "metrics": {k: res["metrics"].get(k) for k in METRIC_KEYS},
                "config_hash": (res.get("training") or {}).get("config_hash"),
            })
    figures["outcome"] = _outcome(by_method)
    figures["rif"] = _rif_figures(by_method.get("rif-grpo", []))
    figures["variance_probe"] = _variance_probe(by_method.get("grpo", []))
    figures["perplexity_probe"] = ppl
    plots = _plots(out, by_method, figures)
    atomic_write_text(out / "report.md", _render(cfg, figures, plots, DEFINITIONS, base))
    return figures


def _outcome(by_method: dict[str, list]) -> dict[str, Any] | None:
    """The paired (same seed) difference FM(GRPO) - FM(SFT) over seeds: positive = SFT forgets more."""
    if "sft" not in by_method or "grpo" not in by_method:
        return None
    fm = {m: {run["seed"]: res["metrics"].get("fm") for run, res in by_method[m]} for m in ("sft", "grpo")}
    seeds = sorted(set(fm["sft"]) & set(fm["grpo"]))
    diffs = [fm["grpo"][s] - fm["sft"][s] for s in seeds if fm["grpo"][s] is not None and fm["sft"][s] is not None]
    ci = interval(diffs)
    if ci["mean"] is None:
        verdict = "no seed gave both methods' forgetting"
    elif ci["lo"] is None:
        verdict = (f"one seed only: GRPO's FM minus SFT's is {ci['mean']:+.1f} points; one seed gives no interval, "
                   "so this says nothing either way (run with --seeds 3 or more)")
    elif ci["lo"] > 0:
        verdict = f"SFT forgets more than GRPO at this scale: FM(GRPO) - FM(SFT) = {ci['mean']:+.1f} points, 95% interval [{ci['lo']:+.1f}, {ci['hi']:+.1f}] over {ci['n']} seeds"
    elif ci["hi"] < 0:
        verdict = f"GRPO forgets more than SFT at this scale: FM(GRPO) - FM(SFT) = {ci['mean']:+.1f} points, 95% interval [{ci['lo']:+.1f}, {ci['hi']:+.1f}] over {ci['n']} seeds"
    else:
        verdict = (f"no difference in forgetting is resolved at this scale: FM(GRPO) - FM(SFT) = {ci['mean']:+.1f} points, "
                   f"95% interval [{ci['lo']:+.1f}, {ci['hi']:+.1f}] over {ci['n']} seeds contains 0")
    return {"seeds": seeds, "fm_grpo_minus_sft": diffs, "interval": ci, "verdict": verdict}


def _rif_figures(pairs: list) -> dict[str, Any] | None:
    """Per stage: RIF's kept fraction, the items with 0 of k correct rollouts, and the GRPO
    rollouts the filter saved net of its own (GRPO would have sampled `num_generations` per
    dropped item per epoch; the filter sampled `rif_k` per item)."""
    if not pairs:
        return None
    from baselines.stage_configs import RIFConfig

    per_stage: dict[int, list[dict[str, float]]] = {}
    for run, res in pairs:
        cfg = RIFConfig(**read_json(Path(run["run"]) / "manifest.json")["training"]["config"])  # as that run trained
        for d in (res.get("training") or {}).get("stages", []):
            filt = (d.get("filters") or [{}])[0]
            items, kept = filt.get("items"), filt.get("kept")
            if not items:
                continue
            per_item = cfg.num_generations * float(d.get("epochs") or cfg.epochs)  # GRPO's rollouts per item in the stage
            per_stage.setdefault(d["stage"], []).append({
                "kept": 100.0 * kept / items, "zero": items - kept,
                "saved": ((items - kept) * per_item - items * cfg.rif_k) / (items * per_item),
            })
    return {"stages": [
        {"stage": stage, "kept_percent": interval([v["kept"] for v in vals]), "items_with_0_of_k": statistics.fmean(v["zero"] for v in vals),
         "net_saved_fraction": statistics.fmean(v["saved"] for v in vals)}
        for stage, vals in sorted(per_stage.items())
    ]}


def perplexity_probe(base: Path, sequence: str, out: Path, n_items: int = 24, k: int = 4, seed: int = 0, progress: bool = False) -> dict[str, Any]:
    """Paper B's data argument: the base's perplexity on each method's training targets. Per task
    of the sequence, on its first `n_items` training items: SFT's targets (the gold answer, direct
    style, as the SFT run trains) and RFT's (the base's own correct rollouts in the think/boxed
    style, `k` per item at GRPO's temperature, what GRPO's first step reinforces). Perplexity =
    exp(mean negative log-likelihood per target token, the end-of-turn token included)."""
    from baselines import stages as st
    from baselines.methods import load_config
    from harness.engine import Request
    from harness.engine.hf import HFBackend
    from tasks import get_task, resolve_sequence

    grpo = load_config("grpo", CONFIGS / "grpo-tiny.toml")
    names, _ = resolve_sequence(sequence)
    per_task: dict[str, Any] = {}
    engine = HFBackend(str(base), batch_size=16)
    try:
        for name in names:
            task = get_task(name)
            family = task.name
            sft_task = get_task(f"{family}:style=direct,n_train={n_items}")
            rft_style = "paper" if "paper" in task.prompt_styles else "cot"  # toy tasks: think/boxed is `cot`
            rft_task = get_task(f"{family}:style={rft_style},n_train={n_items}")
            gold = [(Request(s.id, s.messages, s.images), st.demonstration(sft_task, s)) for s in sft_task.load("train")]
            rft_items = rft_task.load("train")
            rows = st.rollouts(base, [(rft_task, s) for s in rft_items], k, grpo.temperature, grpo.top_p,
                               grpo.max_completion_length, 32, seed, out / "perplexity" / f"{family}.rollouts.jsonl", progress)
            by_id = {s.id: s for s in rft_items}
            correct = [(Request(r["id"], by_id[r["id"]].messages, by_id[r["id"]].images), r["response"]) for r in rows if r["correct"]]
            entry = {"sft_gold": _perplexity(engine, gold, sft_task), "rft_rollouts": _perplexity(engine, correct, rft_task),
                     "rollouts": len(rows), "correct_rollouts": len(correct)}
            per_task[family] = entry
    finally:
        engine.close()
    return per_task


def _perplexity(engine: Any, pairs: list[tuple[Any, str]], task: Any) -> float | None:
    if not pairs:
        return None
    contract = task.contract()
    nll, n = 0.0, 0
    for req, target in pairs:
        total, count = engine.continuation_nll(req, target, contract)
        nll, n = nll + total, n + count
    return math.exp(nll / n)


def _stage_forgetting(accuracy: list[list[float]], t: int) -> float | None:
    """Mean drop, over the tasks trained before stage t, from stage t-1 to stage t (points;
    positive = forgotten)."""
    if t < 2:
        return None
    return statistics.fmean(accuracy[t - 1][j] - accuracy[t][j] for j in range(t - 1))


def _variance_probe(pairs: list) -> dict[str, Any] | None:
    """Paper A's variance argument: per (seed, stage) the variance of the rewards GRPO saw and
    the forgetting of earlier tasks at that stage; Pearson r over the points."""
    if not pairs:
        return None
    points = []
    for run, res in pairs:
        stages = (res.get("training") or {}).get("stages", [])
        for d in stages:
            t = d["stage"]
            drop = _stage_forgetting(res["accuracy"], t)
            if drop is not None and d.get("reward_std") is not None:
                points.append({"seed": run["seed"], "stage": t, "reward_variance": d["reward_std"] ** 2, "forgetting": drop})
    r = None
    if len(points) >= 3:
        xs, ys = [p["reward_variance"] for p in points], [p["forgetting"] for p in points]
        if statistics.pstdev(xs) > 0 and statistics.pstdev(ys) > 0:
            r = statistics.correlation(xs, ys)
    return {"points": points, "pearson_r": r}


def _plots(out: Path, by_method: dict[str, list], figures: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    plots: dict[str, str] = {}
    methods = list(by_method)
    matrices = {m: np.array([res["accuracy"] for _, res in by_method[m]]) for m in methods}  # seed x stage x column
    # Mean accuracy matrix per method.
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.8), squeeze=False)
    for ax, method in zip(axes[0], methods):
        mats = matrices[method]
        mean = mats.mean(axis=0)
        cols = by_method[method][0][1]["columns"]
        ax.imshow(mean, vmin=0, vmax=100, cmap="viridis")
        ax.set_title(f"{method} (mean of {len(mats)})", fontsize=9)
        ax.set_xticks(range(len(cols)), [c.split(":")[0].replace("toy_", "") for c in cols], rotation=60, fontsize=7)
        ax.set_yticks(range(mean.shape[0]), [str(i) for i in range(mean.shape[0])], fontsize=7)
        ax.set_ylabel("stage", fontsize=8)
        for (i, j), v in np.ndenumerate(mean):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6, color="white" if v < 60 else "black")
    fig.tight_layout()
    fig.savefig(out / "matrices.png", dpi=110)
    plt.close(fig)
    plots["matrices"] = "matrices.png"
    # Each task's accuracy across stages, one panel per column, a line per method.
    cols = by_method[methods[0]][0][1]["columns"]
    n = len(cols)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.6), squeeze=False, sharey=True)
    for j, ax in enumerate(axes[0]):
        for method in methods:
            mats = matrices[method]
            if mats.shape[2] > j:
                ax.plot(range(mats.shape[1]), mats[:, :, j].mean(axis=0), marker="o", ms=2, label=method)
        ax.set_title(cols[j].split(":")[0].replace("toy_", ""), fontsize=8)
        ax.set_xlabel("stage", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0][0].set_ylabel("accuracy (%)", fontsize=7)
    axes[0][-1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / "tasks_across_stages.png", dpi=110)
    plt.close(fig)
    plots["tasks"] = "tasks_across_stages.png"
    probe = figures.get("variance_probe")
    if probe and probe["points"]:
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.scatter([p["reward_variance"] for p in probe["points"]], [p["forgetting"] for p in probe["points"]], s=12)
        ax.set_xlabel("GRPO reward variance in the stage", fontsize=8)
        ax.set_ylabel("forgetting of earlier tasks (points)", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "variance_vs_forgetting.png", dpi=110)
        plt.close(fig)
        plots["variance"] = "variance_vs_forgetting.png"
    return plots


def _num(v: float | None) -> str:
    from harness.results.report import fmt

    return fmt(v, digits=2, missing="–")


def _fmt_interval(ci: dict[str, Any]) -> str:
    if ci["mean"] is None:
        return "–"
    if ci["lo"] is None:
        return f"{ci['mean']:.1f}"
    return f"{ci['mean']:.1f} [{ci['lo']:.1f}, {ci['hi']:.1f}]"


def _render(cfg: LabConfig, figures: dict[str, Any], plots: dict[str, str], definitions: dict[str, str], base: Path) -> str:
    from tabulate import tabulate

    methods = list(figures["methods"])
    from harness.results.metrics import LABELS

    keys = [(key, LABELS[key]) for key in ("avg_acc", "fm", "forgetting", "mft", "maa")] + \
        [(k, k) for k in sorted({k for m in methods for k in figures["methods"][m] if k.startswith("delta ")})]
    rows = [[label] + [_fmt_interval(figures["methods"][m].get(key, interval([]))) for m in methods] for key, label in keys]
    lines = [
        f"# Lab: {', '.join(methods)} over {cfg.sequence}",
        "",
        f"Seeds {list(cfg.seeds)} (as given, none dropped), {cfg.limit} test items per task and stage, "
        f"one shared base built from seed {cfg.base_seed} ({base}: {cfg.base_n_general} items of each general probe and "
        f"{cfg.base_n_task} of each toy task per style, {cfg.base_epochs:g} epochs at learning rate {cfg.base_learning_rate:g}); "
        f"stage settings over the tiny configs: {json.dumps(cfg.stage_settings, sort_keys=True)}. Every figure is a mean over seeds with its 95% "
        "Student-t interval in brackets (no interval with one seed).",
        "",
        "## Outcome",
        "",
        (figures["outcome"] or {}).get("verdict", "SFT and GRPO were not both run: no comparison.") + ".",
        "",
        "## Metrics",
        "",
        tabulate(rows, ["metric"] + methods, tablefmt="github"),
        "",
        f"![mean accuracy matrices]({plots['matrices']})",
        "",
        f"![each task across stages]({plots['tasks']})",
        "",
    ]
    if figures["rif"]:
        lines += ["## RIF: kept items and rollouts saved", "",
                  tabulate([[r["stage"], _fmt_interval(r["kept_percent"]), f"{r['items_with_0_of_k']:.1f}", f"{100 * r['net_saved_fraction']:+.0f}%"] for r in figures["rif"]["stages"]],
                           ["stage", "kept (%)", "items with 0 of k correct", "GRPO rollouts saved, net of the filter's"], tablefmt="github"), ""]
    probe = figures["variance_probe"]
    if probe:
        r = probe["pearson_r"]
        lines += ["## Mechanism: reward variance and forgetting (Paper A)", "",
                  f"{len(probe['points'])} (seed, stage) points of the GRPO runs; Pearson r between the variance of the rewards GRPO "
                  f"saw in a stage and the forgetting of earlier tasks at that stage: {'undefined' if r is None else f'{r:+.2f}'}.", ""]
        if "variance" in plots:
            lines += [f"![reward variance vs forgetting]({plots['variance']})", ""]
    if figures.get("perplexity_probe"):
        table = [[task, _num(v["sft_gold"]), _num(v["rft_rollouts"]), f"{v['correct_rollouts']} of {v['rollouts']}"]
                 for task, v in figures["perplexity_probe"].items()]
        lines += ["## Mechanism: how far each method's training data is from the base (Paper B)", "",
                  "Perplexity of the base on SFT's targets (gold answers, direct style) and on RFT's (its own correct "
                  "rollouts, think/boxed style), on each task's first training items; lower = closer to what the base "
                  "already says.", "", tabulate(table, ["task", "SFT gold", "RFT rollouts", "correct rollouts"], tablefmt="github"), ""]
    lines += ["## Definitions", ""] + [f"- **{k}**: {v}" for k, v in definitions.items()] + [
        "", "## Runs", "",
        tabulate([[r["method"], r["seed"], r["config_hash"], r["fingerprints"][-1][:12], r["train_seconds"], r["eval_seconds"]] for r in figures["runs"]],
                 ["method", "seed", "config hash", "final checkpoint", "train s", "eval s"], tablefmt="github"),
        "", "Every stage's fingerprint, the matrices and the metrics are in lab.json; the result bundles in bundles/ are "
        "`harness check`-able and build the leaderboard's toy track.", ""]
    return "\n".join(lines)
