"""Continual-learning metrics over an accuracy matrix.

`a[t][i]` is the accuracy (percent) on the i-th trained task after stage t (in the formulas of
`DEFINITIONS`, tasks and stages count from 1, so task i is trained at stage i); row 0 is the
base model and row T the final model. FM is Paper A's (arXiv 2507.05386), BWT Lopez-Paz &
Ranzato's (GEM, 2017), classic forgetting Chaudhry et al.'s (RWalk, 2018), MFT / MFN / MAA the
names used by MCITlib- and TRACE-style continual-instruction-tuning papers. `DEFINITIONS` states
each in words and is copied into every results file.
"""

from __future__ import annotations

import numpy as np

DEFINITIONS = {
    "avg_acc": "AvgAcc = (1/T) * sum_i a[T][i] over the T trained tasks",
    "fm": "FM (Paper A's sign: negative = forgetting) = 1/(T-1) * sum_{i<T} (a[T][i] - a[i][i]); null when T < 2",
    "bwt": "BWT (Lopez-Paz & Ranzato 2017) = 1/(T-1) * sum_{i<T} (a[T][i] - a[i][i]); equals FM; null when T < 2",
    "forgetting": "classic forgetting (Chaudhry et al. 2018) = 1/(T-1) * sum_{i<T} (max_{1<=t<T} a[t][i] - a[T][i]), the max over the models trained so far, the base row excluded; positive = forgetting; null when T < 2",
    "fwt": "forward transfer = 1/(T-1) * sum_{i=2..T} (a[i-1][i] - a[0][i]): accuracy on a task just before training on it minus the base's; null when T < 2",
    "mft": "MFT, mean fine-tuned accuracy = (1/T) * sum_{i=1..T} a[i][i]: each task right after training on it (the diagonal)",
    "mfn": "MFN, mean final accuracy = (1/T) * sum_{i=1..T} a[T][i] over the trained tasks (equals AvgAcc)",
    "maa": "MAA, mean average accuracy = (1/T) * sum_{t=1..T} (1/t) * sum_{i<=t} a[t][i]: after each stage, the mean over the tasks seen so far, averaged over stages",
    "invalid_rate": "percent of responses with no parseable answer (scored 0), per stage",
    "general_deltas": "general task score of the final model minus the base (percentage points), with a 95% paired-bootstrap CI over samples (1000 resamples, percentile method)",
}
METRIC_KEYS = ("avg_acc", "fm", "bwt", "forgetting", "fwt", "mft", "mfn", "maa")
LABELS = {  # each metric's name wherever a report shows it
    "avg_acc": "AvgAcc",
    "fm": "FM (Paper A sign; negative = forgetting)",
    "bwt": "BWT",
    "forgetting": "forgetting (Chaudhry et al., max over trained stages; positive = forgetting)",
    "fwt": "forward transfer",
    "mft": "MFT (mean of the diagonal)",
    "mfn": "MFN (mean of the final row; = AvgAcc)",
    "maa": "MAA (mean over stages of the seen-task average)",
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
    """Chaudhry et al.: for each task but the last, the best accuracy any trained model before
    the final one had on it (stages 1..T-1; the base row is not a trained model) minus the final."""
    if T < 2:
        return None
    a = _trained(matrix, T)
    return float(np.mean([a[1:T, i].max() - a[T][i] for i in range(T - 1)]))


def mft(matrix: list[list[float]], T: int) -> float | None:
    if T < 1:
        return None
    a = _trained(matrix, T)
    return float(np.mean([a[i + 1][i] for i in range(T)]))


def mfn(matrix: list[list[float]], T: int) -> float | None:
    return avg_acc(matrix, T)


def maa(matrix: list[list[float]], T: int) -> float | None:
    if T < 1:
        return None
    a = _trained(matrix, T)
    return float(np.mean([a[t][:t].mean() for t in range(1, T + 1)]))


def sequence_metrics(matrix: list[list[float]], T: int) -> dict[str, float | None]:
    """Every metric of `METRIC_KEYS` for a complete matrix with T trained tasks."""
    return {key: globals()[key](matrix, T) for key in METRIC_KEYS}


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
