"""Every training method, in one registry: `METHODS[name]` pairs the method's config class with
what trains one stage (TRL pairs each trainer with its config the same way). `harness train
--method NAME` looks the name up here and nowhere else.

Per-stage methods train stage t of the sequence from stage t-1's model (`StageJob`); joint
methods (multitask, multitask-grpo) train one stage on every task of the sequence at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from baselines import stages as st
from baselines.stage_configs import (GRPOConfig, GRPOReplayConfig, LoRASFTConfig, MultitaskConfig, MultitaskGRPOConfig, NoCoTGRPOConfig, RegularisedSFTConfig, RIFConfig,
                                     RolloutSFTConfig, SFTConfig, SFTReplayConfig, StageConfig, read_config_file)
from harness.errors import HarnessError
from tasks.base import Sample, Task


@dataclass
class StageJob:
    """One stage to train: `task`'s `samples`, from the model at `src` into `dest` (TRL's
    checkpoints under `work`), for `epochs`; `out` is the run folder (rollout files go there),
    `t` the stage number. `reference`: the KL reference of RFT methods; `rollout_source`: the
    model whose rollouts rollout-SFT imitates (None: `src`)."""

    cfg: StageConfig
    task: Task
    samples: list[Sample]
    src: Path
    dest: Path
    work: Path
    out: Path
    t: int
    epochs: float
    progress: bool
    reference: Path
    rollout_source: Path | None = None
    replay: list[tuple[Task, Sample]] = field(default_factory=list)  # earlier stages' items mixed in (replay methods)

    def items(self) -> list[tuple[Task, Sample]]:
        """What the stage trains on: its task's items, then the replayed ones."""
        return [(self.task, s) for s in self.samples] + self.replay

    def demonstrations(self) -> list[tuple[Task, Sample, str]]:
        """What an SFT-type stage imitates: each item of `items()` with its task's demonstration."""
        return [(task, s, st.demonstration(task, s)) for task, s in self.items()]

    def replay_summary(self) -> dict[str, Any]:
        if not hasattr(self.cfg, "replay_share"):
            return {}
        by_task: dict[str, int] = {}
        for task, _ in self.replay:
            by_task[task.spec] = by_task.get(task.spec, 0) + 1
        total = len(self.samples) + len(self.replay)
        return {"replay": {"share_configured": self.cfg.replay_share, "share": len(self.replay) / total if total else 0.0,
                           "items": len(self.replay), "by_task": by_task}}


@dataclass(frozen=True)
class Method:
    """A method: its config class, the values it fixes in that config, and either what trains
    one stage or, for a joint method, the kind of its one joint stage ("sft" or "grpo")."""

    config: type[StageConfig]
    train_stage: Callable[[StageJob], dict[str, Any]] | None = None
    joint: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)


def _sft(job: StageJob) -> dict[str, Any]:
    return {**st.train_sft(job.cfg, job.demonstrations(), job.src, job.dest, job.work, job.epochs, job.progress), **job.replay_summary()}


def _regularised_sft(job: StageJob) -> dict[str, Any]:
    """SFT with a penalty towards the previous stage (`sft-l2`, `sft-ewc`): EWC reads the earlier
    stages' Fisher files and writes this stage's (`fisher/stage{t}.safetensors`)."""
    cfg, folder = job.cfg, job.out / "fisher"
    earlier = [folder / f"stage{s}.safetensors" for s in range(1, job.t)] if cfg.penalty == "ewc" else []
    missing = [p.name for p in earlier if not p.is_file()]
    if missing:
        raise HarnessError(f"{job.out}: EWC needs the earlier stages' Fisher, but {missing[0]} is missing; train the run again from its base")
    fisher_out = folder / f"stage{job.t}.safetensors" if cfg.penalty == "ewc" else None
    regulariser = st.Regulariser(cfg.penalty, cfg.reg_weight, earlier, fisher_out, cfg.fisher_items)
    return st.train_sft(cfg, job.demonstrations(), job.src, job.dest, job.work, job.epochs, job.progress, regulariser)


def _lora_sft(job: StageJob) -> dict[str, Any]:
    """SFT of a LoRA adapter (`sft-lora`): saved in `adapters/stage{t}/`, merged into the stage."""
    return st.train_sft(job.cfg, job.demonstrations(), job.src, job.dest, job.work, job.epochs, job.progress, adapter_dir=job.out / "adapters" / f"stage{job.t}")


def _rft(job: StageJob) -> dict[str, Any]:
    diag = st.train_rft(job.cfg, job.items(), job.src, job.dest, job.work, job.epochs, job.progress, job.reference)
    return {**diag, **job.replay_summary()}


def _rif(job: StageJob) -> dict[str, Any]:
    """Rollout-based instance filtering, then GRPO on the kept items; with `refilter_every`, the
    stage is cut into chunks of that many epochs and the filter reruns before each chunk."""
    cfg, task, t = job.cfg, job.task, job.t
    chunk = cfg.refilter_every if cfg.refilter_every > 0 else job.epochs
    n_chunks = max(1, int(round(job.epochs / chunk)))
    current, filters, parts = job.src, [], []
    for c in range(n_chunks):
        suffix = "" if n_chunks == 1 else f"-filter{c + 1}"
        rows = st.rollouts(current, [(task, s) for s in job.samples], cfg.rif_k, cfg.rif_temperature, cfg.rif_top_p,
                           cfg.rif_max_new_tokens, cfg.rif_batch_size, cfg.seed + c, job.out / "rollouts" / f"stage{t}{suffix}.jsonl",
                           job.progress)
        summary = st.rollout_summary(rows)
        kept = {key[1] for key in summary.pop("kept_keys")}
        filters.append({**summary, "file": f"rollouts/stage{t}{suffix}.jsonl"})
        print(f"  RIF filter {c + 1}/{n_chunks}: kept {summary['kept']} of {summary['items']} items ({100 * summary['kept_fraction']:.0f}%)", flush=True)
        target = job.dest if c == n_chunks - 1 else job.work / f"chunk{c + 1}"
        if target.is_dir() and c < n_chunks - 1:  # a finished chunk of a resumed stage
            current = target
            continue
        items = [(task, s) for s in job.samples if s.id in kept]
        if not items:  # nothing to learn from: the model passes through unchanged
            print(f"  RIF: no item of {task.spec} had a correct rollout in {cfg.rif_k}; this chunk trains nothing", flush=True)
            st.copy_stage(current, target)
        else:
            parts.append(st.train_rft(cfg, items, current, target, job.work / f"trl{c + 1}", chunk if n_chunks > 1 else job.epochs,
                                      job.progress, job.reference))
        current = target
    diag = parts[-1] if parts else {"items": 0, "steps": 0, "wall_seconds": sum(f["rollout_seconds"] or 0 for f in filters)}
    return {**diag, "kind": "rif-grpo", "filters": filters, "kept_fraction": filters[0]["kept_fraction"], "chunks": parts}


def _rollout_sft(job: StageJob) -> dict[str, Any]:
    """SFT of `src` on the correct rollouts of the rollout source (`train._rollout_sources`)."""
    from harness.runs.fingerprint import check_model_folder, fingerprint

    cfg, task, t = job.cfg, job.task, job.t
    source = job.rollout_source or job.src
    check_model_folder(source, "rollout source")
    rows = st.rollouts(source, [(task, s) for s in job.samples], cfg.rollout_k, cfg.rollout_temperature, cfg.rollout_top_p,
                       cfg.rollout_max_new_tokens, cfg.rollout_batch_size, cfg.seed, job.out / "rollouts" / f"stage{t}.jsonl", job.progress)
    by_id = {s.id: s for s in job.samples}
    seen, pairs = set(), []
    for r in rows:
        if r["acc"] >= 1.0 and (r["id"], r["response"]) not in seen:
            seen.add((r["id"], r["response"]))
            pairs.append((task, by_id[r["id"]], r["response"]))
    summary = st.rollout_summary(rows)
    summary.pop("kept_keys")
    if pairs:
        diag = st.train_sft(cfg, pairs, job.src, job.dest, job.work, job.epochs, job.progress)
    else:  # nothing correct to imitate: the model passes through unchanged
        print(f"  rollout-sft: no correct rollout for {task.spec} from {source}; this stage trains nothing", flush=True)
        st.copy_stage(job.src, job.dest)
        diag = {"items": 0, "steps": 0, "wall_seconds": summary["rollout_seconds"]}
    return {**diag, "kind": "rollout-sft", "source": str(source), "source_fingerprint": fingerprint(source),
            "correct_rollouts": len(pairs), "rollout_file": f"rollouts/stage{t}.jsonl", **summary}


def train_joint(kind: str, cfg: MultitaskConfig | MultitaskGRPOConfig, items: list[tuple[Task, Sample]], src: Path, dest: Path, work: Path, progress: bool) -> dict[str, Any]:
    """The one stage of a joint method: SFT or GRPO on every task's items at once."""
    if kind == "sft":
        return st.train_sft(cfg, [(t, s, st.demonstration(t, s)) for t, s in items], src, dest, work, cfg.epochs, progress)
    return st.train_rft(cfg, items, src, dest, work, cfg.epochs, progress)


METHODS: dict[str, Method] = {
    "sft": Method(SFTConfig, _sft),
    "grpo": Method(GRPOConfig, _rft),
    # Paper A's no-KL runs (`EasyR1/examples/nokl_*.sh`: disable_kl, use_kl_loss false).
    "grpo-nokl": Method(GRPOConfig, _rft, fixed={"beta": 0.0}),
    # Paper A's no-CoT runs (`EasyR1/examples/nocot_*.sh`: `no_cot.jinja` prompt, reward
    # `math.py:no_cot` = accuracy alone, which is the tasks' reward in style no_cot).
    "grpo-nocot": Method(NoCoTGRPOConfig, _rft, fixed={"style": "no_cot"}),
    # The reward-scaling ablation: GRPO with unscaled advantages (updates scale with the rewards'
    # spread) and with one std over the batch; "grpo" itself is the group-normalised variant.
    "grpo-unscaled": Method(GRPOConfig, _rft, fixed={"scale_rewards": "none"}),
    "grpo-batch-scaled": Method(GRPOConfig, _rft, fixed={"scale_rewards": "batch"}),
    "rloo": Method(GRPOConfig, _rft, fixed={"estimator": "rloo"}),
    # Paper A's ReMax runs (EasyR1's `adv_estimator: remax`; `baselines/remax.py`).
    "remax": Method(GRPOConfig, _rft, fixed={"estimator": "remax"}),
    "rif-grpo": Method(RIFConfig, _rif),
    "rollout-sft": Method(RolloutSFTConfig, _rollout_sft),
    "sft-replay": Method(SFTReplayConfig, _sft),
    "grpo-replay": Method(GRPOReplayConfig, _rft),
    # Regularisation towards the previous stage: L2 on the weights, or EWC's Fisher-weighted L2.
    "sft-l2": Method(RegularisedSFTConfig, _regularised_sft, fixed={"penalty": "l2"}),
    "sft-ewc": Method(RegularisedSFTConfig, _regularised_sft, fixed={"penalty": "ewc"}),
    # A LoRA adapter per stage, merged into the stage's model (`adapters/stage{t}/` keeps it).
    "sft-lora": Method(LoRASFTConfig, _lora_sft),
    "multitask": Method(MultitaskConfig, joint="sft"),
    "multitask-grpo": Method(MultitaskGRPOConfig, joint="grpo"),
}


ESTIMATORS = ("grpo", "rloo", "remax")  # GRPOConfig.estimator


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise HarnessError(f"unknown method {name!r} (methods: {', '.join(METHODS)})")
    return METHODS[name]


def load_config(method: str, path: str | Path | None = None) -> StageConfig:
    """The method's config: its class's defaults, overridden by the TOML file's keys, then the
    values the method fixes."""
    spec = get_method(method)
    config = read_config_file(spec.config, path, method)
    default = spec.config()
    for key, value in spec.fixed.items():
        if getattr(config, key) not in (value, getattr(default, key)):
            raise HarnessError(f"{path}: {key} = {getattr(config, key)!r}, but method {method!r} fixes it to {value!r}")
        setattr(config, key, value)
    estimator = getattr(config, "estimator", "grpo")
    if estimator not in ESTIMATORS:
        raise HarnessError(f"{path}: estimator {estimator!r} is none of {', '.join(ESTIMATORS)}")
    if estimator in ("rloo", "remax") and config.scale_rewards != "group":
        raise HarnessError(f"{path}: scale_rewards applies to GRPO; {estimator} has its own advantage")
    if spec.joint and config.per_task_epochs:
        raise HarnessError(f"{path}: multitask trains one joint stage for `epochs`; per_task_epochs does not apply")
    return config
