"""The lab's PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any



def make_plots(out: Path, by_method: dict[str, list], figures: dict[str, Any]) -> dict[str, str]:
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
