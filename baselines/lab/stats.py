"""The lab's statistics: means with 95% Student-t intervals over seeds, and the paired SFT-GRPO outcome."""

from __future__ import annotations

import math
import statistics
from typing import Any



# Student's t quantile t(0.975, df) for df = 1..30; above 30 the normal 1.96 is within 2%.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


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


def outcome(by_method: dict[str, list]) -> dict[str, Any] | None:
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
    return {"seeds": seeds, "fm_grpo_minus_sft": diffs, "interval": ci, "verdict": verdict, "stability": sign_agreement(diffs)}


def stage_forgetting(accuracy: list[list[float]], t: int) -> float | None:
    """Mean drop, over the tasks trained before stage t, from stage t-1 to stage t (points;
    positive = forgotten)."""
    if t < 2:
        return None
    return statistics.fmean(accuracy[t - 1][j] - accuracy[t][j] for j in range(t - 1))


def learning(pairs: list) -> dict[str, Any]:
    """What a method's runs learned, over seeds: each column's accuracy at the base (stage 0),
    and each stage's gain on its own task, accuracy after the stage minus just before it."""
    first = pairs[0][1]
    columns, stages = first["columns"], [s["task"] for s in first["stages"][1:]]
    base = {c: interval([res["accuracy"][0][j] for _, res in pairs]) for j, c in enumerate(columns)}
    gains = [{"stage": t, "task": task,
              "before": interval([res["accuracy"][t - 1][t - 1] for _, res in pairs]),
              "after": interval([res["accuracy"][t][t - 1] for _, res in pairs]),
              "gain": interval([res["accuracy"][t][t - 1] - res["accuracy"][t - 1][t - 1] for _, res in pairs])}
             for t, task in enumerate(stages, start=1)]
    return {"base": base, "gains": gains}


def sign_agreement(diffs: list[float]) -> str:
    """How many seeds agree with the mean's sign: the outcome's stability across seeds."""
    if not diffs:
        return "no seed"
    mean = statistics.fmean(diffs)
    if mean == 0:
        return f"the mean over {len(diffs)} seeds is 0"
    same = sum(1 for d in diffs if d != 0 and (d > 0) == (mean > 0))
    return f"{same} of {len(diffs)} seeds have the sign of the mean ({'+' if mean > 0 else '-'})"
