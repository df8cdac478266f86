"""The lab's `report.md` and the figures behind it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from baselines.lab.config import LabConfig
from baselines.lab.plots import make_plots
from baselines.lab.probes import rif_figures, variance_probe
from baselines.lab.stats import interval, learning, outcome
from harness.files import atomic_write_text


def load_results(run: dict[str, Any]) -> dict[str, Any]:
    return json.loads((Path(run["eval"]) / "results.json").read_text())


def lab_report(out: Path, runs: list[dict[str, Any]], cfg: LabConfig, ppl: dict[str, Any] | None = None) -> dict[str, Any]:
    """Aggregate the runs into `report.md` and PNG plots beside it; returns the figures."""
    import torch

    from harness.results.metrics import DEFINITIONS, METRIC_KEYS

    by_method: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for run in runs:
        by_method.setdefault(run["method"], []).append((run, load_results(run)))
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
    figures["threads"] = torch.get_num_threads()  # recorded: the figures were measured equal at 1 and 2 (docs/lab.md)
    figures["learning"] = {method: learning(pairs) for method, pairs in by_method.items()}
    figures["outcome"] = outcome(by_method)
    figures["rif"] = rif_figures(by_method.get("rif-grpo", []))
    figures["variance_probe"] = variance_probe(by_method.get("grpo", []))
    figures["perplexity_probe"] = ppl
    plots = make_plots(out, by_method, figures)
    atomic_write_text(out / "report.md", render(cfg, figures, plots, DEFINITIONS))
    return figures


def _num(v: float | None) -> str:
    from harness.results.report import fmt

    return fmt(v, digits=2, missing="–")


def _fmt_interval(ci: dict[str, Any]) -> str:
    if ci["mean"] is None:
        return "–"
    if ci["lo"] is None:
        return f"{ci['mean']:.1f}"
    return f"{ci['mean']:.1f} [{ci['lo']:.1f}, {ci['hi']:.1f}]"


def learning_section(learned: dict[str, Any]) -> list[str]:
    """Each column at the base against chance, and each stage's gain on its own task."""
    from tabulate import tabulate

    from tasks import get_task

    methods = list(learned)
    columns = list(dict.fromkeys(c for m in methods for c in learned[m]["base"]))  # in each method's column order
    # One shared base: its row is the same at every seed, so it is given as one figure.
    base_rows = [[c, _num(getattr(get_task(c), "chance", None))] + [_num(learned[m]["base"].get(c, interval([]))["mean"]) for m in methods] for c in columns]
    stages = learned[methods[0]]["gains"]
    gain_rows = [[f"{g['stage']}: {g['task']}"] + [
        f"{_fmt_interval(learned[m]['gains'][i]['before'])} → {_fmt_interval(learned[m]['gains'][i]['after'])}: "
        f"{_fmt_interval(learned[m]['gains'][i]['gain'])}" if i < len(learned[m]["gains"]) else "–" for m in methods]
        for i, g in enumerate(stages)]
    return ["## What the base knows and what each stage learns", "",
            "Accuracy (%) at the base (stage 0, one shared base: the same at every seed) in each method's evaluation, beside "
            "a uniform guess's; each column keeps its prompt style in its name, so a method's sequence columns are in the "
            "style it trains.", "",
            tabulate(base_rows, ["column", "chance"] + methods, tablefmt="github"), "",
            "Each stage's own task: accuracy just before the stage → after it: the gain (multitask trains all tasks in "
            "one joint stage, so its later rows repeat the joint model).", "",
            tabulate(gain_rows, ["stage"] + methods, tablefmt="github"), ""]


def base_line(cfg: LabConfig, base_fingerprint: str) -> str:
    from baselines.lab.base import recipe

    rec = cfg.base_recipe if cfg.base_recipe is not None else recipe()
    origin = "built by this lab" if cfg.base_recipe is not None else "the shipped base, baselines/lab_base"
    return f"{origin}, fingerprint {base_fingerprint}; recipe {json.dumps(rec, sort_keys=True)}"


def render(cfg: LabConfig, figures: dict[str, Any], plots: dict[str, str], definitions: dict[str, str]) -> str:
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
        f"one shared base ({base_line(cfg, figures['runs'][0]['fingerprints'][0])}); "  # stage 0 of every run
        f"stage settings over the tiny configs: {json.dumps(cfg.stage_settings, sort_keys=True)}. Every figure is a mean over seeds with its 95% "
        "Student-t interval in brackets (no interval with one seed).",
        "",
        "## Outcome",
        "",
        (figures["outcome"] or {}).get("verdict", "SFT and GRPO were not both run: no comparison.") + ".",
        "",
    ]
    if figures["outcome"]:
        diffs = ", ".join(f"{d:+.1f}" for d in figures["outcome"]["fm_grpo_minus_sft"])
        lines += [f"Stability across seeds: FM(GRPO) − FM(SFT) per seed {diffs}; {figures['outcome']['stability']}. "
                  f"Run with {figures['threads']} torch thread(s); docs/lab.md compares 1 and 2 threads.", ""]
    lines += learning_section(figures["learning"]) + [
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
