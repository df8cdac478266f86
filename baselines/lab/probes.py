"""The mechanism probes from the papers: RIF's kept fractions and saved rollouts, GRPO's reward variance
against the forgetting that followed, the base's perplexity on SFT's gold targets against its own rollouts."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from baselines.lab.config import CONFIGS
from baselines.lab.stats import interval, stage_forgetting
from tasks.user_json import read_json


def rif_figures(pairs: list) -> dict[str, Any] | None:
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


def variance_probe(pairs: list) -> dict[str, Any] | None:
    """Paper A's variance argument: per (seed, stage) the variance of the rewards GRPO saw and
    the forgetting of earlier tasks at that stage; Pearson r over the points."""
    if not pairs:
        return None
    points = []
    for run, res in pairs:
        stages = (res.get("training") or {}).get("stages", [])
        for d in stages:
            t = d["stage"]
            drop = stage_forgetting(res["accuracy"], t)
            if drop is not None and d.get("reward_std") is not None:
                points.append({"seed": run["seed"], "stage": t, "reward_variance": d["reward_std"] ** 2, "forgetting": drop})
    r = None
    if len(points) >= 3:
        xs, ys = [p["reward_variance"] for p in points], [p["forgetting"] for p in points]
        if statistics.pstdev(xs) > 0 and statistics.pstdev(ys) > 0:
            r = statistics.correlation(xs, ys)
    return {"points": points, "pearson_r": r}
