"""The figures of a bundle from per-sample scores: the accuracy matrix and every metric.
`harness eval` writes them; `harness check` recomputes them from the per-sample files."""

from __future__ import annotations

from typing import Any

from harness.results import metrics


def summarize(n_stages: int, columns: list[str], sequence: list[str], full_sequence: list[str], general: list[str],
              values: dict[tuple[int, str], list[float]], valid: dict[tuple[int, str], list[bool]], seed: int) -> dict[str, Any]:
    """The accuracy matrix (rows: stages 0..T, columns: `columns`, percent) and `metrics` from
    per-(stage, task) score values and validity. Sequence metrics need every task of
    `full_sequence` evaluated, in order; `general` tasks get paired-bootstrap deltas (base vs
    final, seeded). `harness eval` writes these; `harness check` recomputes them."""
    T = n_stages - 1
    accuracy = [[_percent(values[(t, spec)]) for spec in columns] for t in range(T + 1)]
    m: dict[str, Any] = {key: None for key in metrics.METRIC_KEYS}
    if sequence == full_sequence and T >= 1:
        m.update(metrics.sequence_metrics(accuracy, T))
    elif T >= 1:
        m["note"] = "sequence metrics need every trained task evaluated; some were left out with --tasks"
    m["invalid_rate"] = {
        spec: [_percent([0.0 if ok else 1.0 for ok in valid[(t, spec)]]) for t in range(T + 1)] for spec in columns
    }
    m["general_deltas"] = {
        spec: metrics.paired_bootstrap_delta(values[(0, spec)], values[(T, spec)], seed=seed) for spec in general
    }
    return {"accuracy": accuracy, "metrics": m}


def _percent(values: list[float]) -> float:
    return 100.0 * sum(values) / len(values)
