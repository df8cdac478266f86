"""Continual-learning metrics over an accuracy matrix.

`a[t][i]` is the accuracy (percent) on the i-th trained task (0-based column i, trained at stage
i + 1) after stage t; row 0 is the base model and row T the final model. The formulas follow
PAPERS.md; `DEFINITIONS` states them in words and is copied into every results file.
"""

from __future__ import annotations

import numpy as np

DEFINITIONS = {
    "avg_acc": "AvgAcc = (1/T) * sum_i a[T][i] over the T trained tasks",
    "fm": "FM (Paper A's sign: negative = forgetting) = 1/(T-1) * sum_{i<T} (a[T][i] - a[i][i]); null when T < 2",
    "bwt": "BWT (Lopez-Paz & Ranzato) = 1/(T-1) * sum_{i<T} (a[T][i] - a[i][i]); equals FM; null when T < 2",
    "forgetting": "classic forgetting (Chaudhry et al.) = 1/(T-1) * sum_{i<T} (max_{0<=t<T} a[t][i] - a[T][i]), the max taken over stages 0..T-1 including the base; positive = forgetting; null when T < 2",
    "fwt": "forward transfer = 1/(T-1) * sum_{i=2..T} (a[i-1][i] - a[0][i]): accuracy on a task just before training on it minus the base's; null when T < 2",
    "invalid_rate": "percent of responses with no parseable answer (scored 0), per stage",
    "general_deltas": "general task score of the final model minus the base (percentage points), with a 95% paired-bootstrap CI over samples (1000 resamples, percentile method)",
}


def _trained(matrix: list[list[float]], T: int) -> np.ndarray:
    """Rows 0..T, the first T columns (the trained tasks), as floats."""
    a = np.array([row[:T] for row in matrix[: T + 1]], dtype=float)
    if a.shape != (T + 1, T) or np.isnan(a).any():
        raise ValueError(f"need a complete {T + 1}x{T} block of trained-task accuracies")
    return a


def avg_acc(matrix: list[list[float]], T: int) -> float | None:
    if T < 1:
        return None
    return float(_trained(matrix, T)[T].mean())


def fm(matrix: list[list[float]], T: int) -> float | None:
    """Paper A's FM; identical to BWT."""
    if T < 2:
        return None
    a = _trained(matrix, T)
    return float(np.mean([a[T][i] - a[i + 1][i] for i in range(T - 1)]))


bwt = fm


def forgetting(matrix: list[list[float]], T: int) -> float | None:
    if T < 2:
        return None
    a = _trained(matrix, T)
    return float(np.mean([a[:T, i].max() - a[T][i] for i in range(T - 1)]))


def fwt(matrix: list[list[float]], T: int) -> float | None:
    if T < 2:
        return None
    a = _trained(matrix, T)
    return float(np.mean([a[i][i] - a[0][i] for i in range(1, T)]))


def paired_bootstrap_delta(
    base: list[float], final: list[float], resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Mean of (final - base) over paired samples, in percentage points, with a percentile CI
    from resampling the sample indices with replacement."""
    b, f = np.asarray(base, dtype=float), np.asarray(final, dtype=float)
    if b.shape != f.shape or b.size == 0:
        raise ValueError("paired bootstrap needs two equally long, non-empty score lists")
    diff = (f - b) * 100.0
    rng = np.random.RandomState(seed)
    idx = rng.randint(0, diff.size, size=(resamples, diff.size))
    means = diff[idx].mean(axis=1)
    lo, hi = np.percentile(means, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return {
        "base": float(b.mean() * 100),
        "final": float(f.mean() * 100),
        "delta": float(diff.mean()),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "n": int(diff.size),
    }
