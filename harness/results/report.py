"""Human-readable views of a results bundle: a markdown/terminal report and a heatmap PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.results.metrics import LABELS, METRIC_KEYS
from harness.results.types import Results

SIGNED = {"fm", "bwt", "forgetting", "fwt"}  # metrics shown with their sign


def fmt(v: float | None, signed: bool = False, digits: int = 1, missing: str = "n/a") -> str:
    """A figure for a report: `digits` decimals, a sign when `signed`, `missing` for None."""
    if v is None:
        return missing
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"



def stage_labels(results: Results) -> list[str]:
    return [f"{s['index']} base" if s["task"] is None else f"{s['index']} after {s['task']}" for s in results["stages"]]


def render_matrix(results: Results, title: str | None = None) -> list[str]:
    """Markdown lines: the title, then the accuracy matrix (rows = stages, columns = trained then
    general tasks)."""
    seq = set(results["sequence"])
    headers = ["stage"] + [c + ("" if c in seq else " (general)") for c in results["columns"]]
    rows = [[label] + [fmt(v) for v in row] for label, row in zip(stage_labels(results), results["accuracy"])]
    out = [f"## {title}", ""] if title else []
    return out + ["Accuracy (%) of every stage on every task:", "", tabulate(rows, headers, tablefmt="github", disable_numparse=True), ""]


def render_report(results: Results, title: str | None = None) -> str:
    """Markdown: the accuracy matrix, sequence metrics, general-capability deltas and invalid
    rates."""
    m = results["metrics"]
    out = render_matrix(results, title)
    metric_rows = [[LABELS[key], fmt(m.get(key), key in SIGNED)] for key in METRIC_KEYS]
    out += [tabulate(metric_rows, ["sequence metric", "value"], tablefmt="github", disable_numparse=True), ""]
    if m.get("note"):
        out += [f"Note: {m['note']}", ""]
    if m["general_deltas"]:
        g_rows = [
            [t, fmt(d["base"]), fmt(d["final"]), fmt(d["delta"], True), f"[{d['ci_low']:+.1f}, {d['ci_high']:+.1f}]", d["n"]]
            for t, d in m["general_deltas"].items()
        ]
        out += [tabulate(g_rows, ["general task", "base", "final", "delta", "95% CI", "n"], tablefmt="github", disable_numparse=True), ""]
    for spec, info in results["tasks"].items():
        for stage, summary in enumerate(info.get("summary_metrics") or []):
            if summary and stage == len(results["stages"]) - 1:
                out += [f"{spec} (final stage): " + ", ".join(f"{k} {v:.1f}" for k, v in summary.items()), ""]
    if results.get("training"):
        out += render_training(results["training"])
    inv_rows = [[t] + [fmt(v) for v in vals] for t, vals in m["invalid_rate"].items()]
    out += [
        "Invalid (unparseable) answers, % per stage:",
        "",
        tabulate(inv_rows, ["task"] + [str(s["index"]) for s in results["stages"]], tablefmt="github", disable_numparse=True),
        "",
    ]
    scoring = [
        [spec, info.get("style") or "–", info["protocol"], info.get("preset") or "–",
         ", ".join(f"{reason} {len(ids)}" for reason, ids in (info.get("skip_reasons") or {}).items()) or "–"]
        for spec, info in results["tasks"].items()
    ]
    out += ["How each column was scored (items left out, by reason):", "",
            tabulate(scoring, ["column", "style", "protocol", "preset", "left out"], tablefmt="github", disable_numparse=True), ""]
    return "\n".join(out)


def render_training(training: dict[str, Any]) -> list[str]:
    """The trainer's per-stage diagnostics as a table."""

    def num(v: Any, pattern: str = "{:.3f}") -> str:
        return "–" if v is None else pattern.format(v)

    rows = []
    for d in training["stages"]:
        rows.append([
            d.get("stage"), d.get("kind"), d.get("items"), d.get("steps"),
            f"{num(d.get('reward_mean'))} ± {num(d.get('reward_std'))}" if d.get("reward_mean") is not None else "–",
            f"{num(d.get('reward_first_quarter'))} → {num(d.get('reward_last_quarter'))}" if d.get("reward_first_quarter") is not None else "–",
            num(d.get("frac_zero_std_groups"), "{:.2f}"), num(d.get("format_rate"), "{:.2f}"),
            num(d.get("kept_fraction"), "{:.2f}"), d.get("tokens_generated", "–"), num(d.get("wall_seconds"), "{:.0f}"),
        ])
    headers = ["stage", "kind", "items", "steps", "reward mean ± std", "reward first → last quarter", "zero-std groups",
               "format rate", "kept (RIF)", "tokens generated", "wall s"]
    return [f"Training diagnostics ({training.get('method')}):", "", tabulate(rows, headers, tablefmt="github", disable_numparse=True), ""]


def save_heatmap(results: Results, path: Path, title: str | None = None) -> Path:
    """The accuracy matrix as a heatmap with the values written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acc = results["accuracy"]
    cols = results["columns"]
    labels = stage_labels(results)
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(cols), 1.0 + 0.5 * len(labels)))
    im = ax.imshow(acc, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    seq = set(results["sequence"])
    ax.set_xticks(range(len(cols)), labels=[c if c in seq else f"{c} (general)" for c in cols], rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels=labels, fontsize=8)
    for i, row in enumerate(acc):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7, color="white" if v < 60 else "black")
    n_seq = len(results["sequence"])
    if 0 < n_seq < len(cols):
        ax.axvline(n_seq - 0.5, color="white", linewidth=2)
    fig.colorbar(im, ax=ax, label="accuracy (%)")
    ax.set_title(title or "accuracy by stage", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
