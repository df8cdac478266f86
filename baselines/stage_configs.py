"""One config dataclass per training method. Defaults are Paper A's (arXiv 2507.05386 and its
released configs), so a reader can audit them line by line; `baselines/configs/*-tiny.toml` shrink them for a CPU.
Which method uses which class is `baselines.methods.METHODS`.

A config file is TOML whose keys are the dataclass fields (`per_task_epochs` a table); an unknown
key is an error, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


@dataclass
class StageConfig:
    """What every method shares. Effective batch = per_device_batch_size x grad_accum x GPUs."""

    learning_rate: float = 1e-5
    epochs: float = 1.0
    per_task_epochs: dict[str, float] = field(default_factory=dict)  # task family -> epochs
    per_device_batch_size: int = 1
    grad_accum: int = 1
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.0
    max_steps: int = -1  # > 0 caps the steps of every stage (smoke runs)
    n_train: int = 0  # > 0: first N training items of each task
    seed: int = 0
    save_steps: int = 50  # TRL checkpoint interval inside a stage, for resuming a killed stage
    logging_steps: int = 1
    gradient_checkpointing: bool = True
    bf16: bool = True  # ignored (fp32) when no GPU is present
    deepspeed: str = ""  # a DeepSpeed JSON (e.g. ZeRO-3), passed to TRL as-is
    image_max_pixels: int = 0  # > 0: downscale training images to this area
    image_min_pixels: int = 0  # > 0: upscale training images below this area
    weight_decay: float = 0.0

    def epochs_for(self, family: str) -> float:
        return float(self.per_task_epochs.get(family, self.epochs))


@dataclass
class SFTConfig(StageConfig):
    """Paper A's SFT, from its LLaMA-Factory yamls (laisong-22004009/RFTvsSFT @ 6ea0eeac,
    `LLaMA-Factory/examples/mllm_cl/`: `qwen2_5vl_scienceqa*.yaml`, `5_geo.yaml`, `6_path-vqa.yaml`,
    `7_clevr.yaml`): full fine-tune, lr 1e-5, cosine, warm-up 0.1, per-device batch 1 x
    accumulation 2 (effective 16 on 8 GPUs), 1 epoch per task but 10 on Geometry3K (`5_geo.yaml`)
    and 3 on Super-CLEVR (`7_clevr.yaml`), `cutoff_len` 7,168 tokens (8,192 for TextVQA,
    `qwen2_5vl_scienceqa_textvqa.yaml`), `image_max_pixels` 4,194,304, loss on the assistant turn
    only, trained on the release's direct answers. An item longer than its cutoff is dropped and
    counted (diagnostics `dropped_overlong`), never truncated: truncation into the image tokens
    crashes a stage, truncation of the answer trains on nothing."""

    learning_rate: float = 1e-5
    warmup_ratio: float = 0.1
    per_device_batch_size: int = 1
    grad_accum: int = 2
    n_train: int = 100000  # `max_samples`: LLaMA-Factory keeps the first 100,000 items of each dataset
    seed: int = 42  # not in the yamls: LLaMA-Factory keeps transformers' default
    per_task_epochs: dict[str, float] = field(default_factory=lambda: {"geometry3k": 10.0, "superclevr": 3.0})
    image_max_pixels: int = 4194304
    style: str = "direct"  # prompt style trained (and then evaluated): the gold answer as the target
    max_length: int = 7168  # tokens of prompt + answer, images included; longer items are dropped
    per_task_max_length: dict[str, float] = field(default_factory=lambda: {"textvqa": 8192.0})

    def max_length_for(self, family: str) -> int:
        return int(self.per_task_max_length.get(family, self.max_length))


@dataclass
class GRPOConfig(StageConfig):
    """Paper A's GRPO, from its EasyR1 code (laisong-22004009/RFTvsSFT @ 6ea0eeac):
    `EasyR1/examples/config.yaml` (lr 1e-6, weight decay 0.01, KL loss `low_var_kl` (k3) 0.01,
    group size 8, temperature 1.0, top_p 0.99, responses up to 1,024 tokens, prompts over 4,096
    tokens dropped, images between 200,704 and 1,003,520 pixels, rollout batch 512 prompts,
    update batch 128, micro-batch 4 per device); `EasyR1/verl/workers/actor/config.py` (clip
    ratio 0.2 low / 0.3 high, dual-clip 3.0); `EasyR1/verl/workers/actor/dp_actor.py` (loss =
    token mean over each micro-batch, divided by the accumulation); 1 epoch per task except
    ScienceQA (5: `nokl_1_scienceqa.sh`, the only released reasoning-prompt ScienceQA run; the KL
    chain's TextVQA stage starts from ScienceQA's `global_step_90`, more than one epoch),
    Geometry3K (10) and Super-CLEVR (3). The KL reference is the run's base for the whole
    sequence (Paper A's `CL_oneRef` runs, `config.ref.model`); RIF sets it to the stage's start.
    Each value's file and line: `baselines/configs/grpo-paper.toml`.
    Reward: the task's (0.9 acc + 0.1 format).

    In TRL: `epsilon`/`epsilon_high` are the clip ratios; `dual_clip` is TRL's `delta`, which
    caps the ratio of the unclipped term and so equals the dual-clip bound on negative
    advantages (for positive advantages the clipped term is already the smaller one);
    `loss_type = "bnpo"` normalises by the active tokens of the local batch, EasyR1's micro-batch
    token mean when the per-device batch is EasyR1's update micro-batch (4)."""

    learning_rate: float = 1e-6
    lr_scheduler: str = "constant"
    weight_decay: float = 0.01
    seed: int = 1  # `data.seed`
    per_task_epochs: dict[str, float] = field(default_factory=lambda: {"scienceqa": 5.0, "geometry3k": 10.0, "superclevr": 3.0})
    num_generations: int = 8
    beta: float = 0.01
    temperature: float = 1.0
    top_p: float = 0.99
    max_completion_length: int = 1024
    max_prompt_length: int = 4096  # > 0: longer prompts (images included) are dropped and counted
    image_max_pixels: int = 1003520
    image_min_pixels: int = 200704
    epsilon: float = 0.2
    epsilon_high: float = 0.3
    dual_clip: float = 3.0  # 0: off
    # TRL counts completions. Update batch 128 prompts x 8 = 1,024 completions per optimiser step
    # = 8 GPUs x 4 x 32 accumulation; rollout batch 512 prompts = 4,096 completions per generation
    # = 8 GPUs x 4 x 128 micro-steps (TRL's steps_per_generation), i.e. 4 optimiser steps.
    per_device_batch_size: int = 4
    grad_accum: int = 32
    steps_per_generation: int = 128
    style: str = ""  # empty: the task's default (Paper A's think/boxed format)
    loss_type: str = "bnpo"
    kl_reference: str = "base"  # "base": the run's base for every stage; "stage": the stage's start
    # "grpo" | "rloo" (TRL's RLOOTrainer; no RLOO script in Paper A's release) | "remax" (reward
    # minus the prompt's greedy reward, `baselines/remax.py`; no ReMax script in the release either)
    estimator: str = "grpo"
    # Advantage scaling, TRL's `scale_rewards`: "group" divides each group's centred rewards by the
    # group's std (EasyR1's GRPO, `verl/trainer/core_algos.py` line 172, with eps 1e-6 where TRL
    # adds 1e-4), "batch" by the std over the whole batch, "none" keeps them unscaled.
    scale_rewards: str = "group"


@dataclass
class NoCoTGRPOConfig(GRPOConfig):
    """Paper A's GRPO without chain of thought (method `grpo-nocot`), from `EasyR1/examples/
    nocot_*.sh` (laisong-22004009/RFTvsSFT @ 6ea0eeac): GRPO's values with the `no_cot.jinja`
    prompt ("You MUST provide the final answer directly.") and the `math.py:no_cot` reward
    (accuracy alone), 1 epoch per task but 10 on Geometry3K and 3 on Super-CLEVR; the KL loss
    stays on. Each value's file and line: `baselines/configs/grpo-nocot-paper.toml`."""

    style: str = "no_cot"
    per_task_epochs: dict[str, float] = field(default_factory=lambda: {"geometry3k": 10.0, "superclevr": 3.0})


@dataclass
class RIFConfig(GRPOConfig):
    """RIF-RFT: before each stage, k = 8 rollouts per training item from the current model
    (temperature 1.0, up to 1,024 tokens); items with 0 of k correct are dropped."""

    rif_k: int = 8
    rif_temperature: float = 1.0
    rif_top_p: float = 1.0
    rif_max_new_tokens: int = 1024
    rif_batch_size: int = 16
    refilter_every: float = 0.0  # > 0: re-filter after every this many epochs of the stage
    kl_reference: str = "stage"  # Paper A's RIF runs reset the reference to each stage's start


@dataclass
class RolloutSFTConfig(SFTConfig):
    """Paper B's SFT on rollouts: k rollouts per training item from `source`; the correct ones
    (by the task's scorer) become the SFT targets. `source`:
    - a run folder of RFT checkpoints for the same sequence (e.g. `harness train --method grpo`'s
      output, or any folder `harness eval` reads): stage t imitates that run's stage-t model, the
      RFT model of that task, as Paper B trains on the RFT model's correct rollouts. No default:
      the RFT run must be named;
    - a model folder: every stage samples that model;
    - "current": the model being trained, before each stage (ours, a self-distillation ablation).
    Paper A's release has no rollout-SFT training script: the SFT values are LLaMA-Factory's, the
    rollout values follow `rollout_filter.py` (`rollout-sft-paper.toml` says which is which)."""

    style: str = ""  # rollouts answer the task's default (think/boxed) prompt
    source: str = ""
    rollout_k: int = 8
    rollout_temperature: float = 1.0
    rollout_top_p: float = 1.0
    rollout_max_new_tokens: int = 1024
    rollout_batch_size: int = 16


@dataclass
class MultitaskConfig(SFTConfig):
    """The upper bound as Paper A trains it (`LLaMA-Factory/examples/mllm_cl/multitask.yaml`): one
    joint SFT stage on the seven training sets concatenated, on their gold answers, 1 epoch, with
    the SFT values above (lr 1e-5, cosine, warm-up 0.1, 1 x 2, cutoff 7,168, image cap 4,194,304).
    Every stage row of the run is that one model. `per_task_epochs` does not apply to one joint
    stage and is refused."""

    per_task_epochs: dict[str, float] = field(default_factory=dict)
    per_task_max_length: dict[str, float] = field(default_factory=dict)


REPLAY_DOC = """experience replay, the continual-learning baseline (CoIN, MCITlib): each stage's
    training set mixes in training items of the earlier stages, `replay_share` of the whole set
    (0.1: ours, no paper fixes it), drawn evenly from the earlier tasks' training items with the
    run's seed; the current task's items stay as they are."""


@dataclass
class SFTReplayConfig(SFTConfig):
    __doc__ = "SFT with " + REPLAY_DOC

    replay_share: float = 0.1


@dataclass
class GRPOReplayConfig(GRPOConfig):
    __doc__ = "GRPO with " + REPLAY_DOC

    replay_share: float = 0.1


@dataclass
class RegularisedSFTConfig(SFTConfig):
    """SFT with a penalty towards the previous stage's weights (`baselines.regularisers`): `l2`
    (method `sft-l2`) or `ewc` with the earlier stages' diagonal Fisher (method `sft-ewc`).
    `reg_weight` (lambda) and `fisher_items` are ours: no paper's released code fixes them.
    DeepSpeed is refused: ZeRO-3 shards the parameters the penalty reads whole."""

    penalty: str = "l2"  # "l2" | "ewc", fixed by the method
    reg_weight: float = 1.0
    fisher_items: int = 64  # training items per stage for its Fisher (EWC)


@dataclass
class LoRASFTConfig(SFTConfig):
    """SFT of a LoRA adapter per stage (method `sft-lora`): the stage's adapter is trained on the
    previous stage's model, saved in the run's `adapters/stage{t}/`, and merged into the stage's
    folder, which the next stage and the evaluation read. Paper A ran no LoRA stage; the adapter's
    shape is LLaMA-Factory's default (`LLaMA-Factory/src/llamafactory/hparams/finetuning_args.py`
    lines 69-83 in Paper A's release: rank 8, alpha = 2 x rank, dropout 0, target `all` = every
    linear layer of the language model, vision tower and projector frozen, lines 414-420;
    `stages.language_linear_layers`), the other values SFT's.
    DeepSpeed is refused: the adapter is merged on one process."""

    learning_rate: float = 1e-4  # not Paper A's (it ran no LoRA stage): LoRA takes a larger rate than a full fine-tune
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0


@dataclass
class MultitaskGRPOConfig(GRPOConfig):
    """Ours, not Paper A's: one joint GRPO stage on every task of the sequence (method
    `multitask-grpo`), with the GRPO values above and `epochs` for the joint stage."""

    per_task_epochs: dict[str, float] = field(default_factory=dict)


def read_config_file(cls: type[StageConfig], path: str | Path | None, method: str) -> StageConfig:
    """`cls`'s defaults, overridden by the TOML file's keys (`method` names it in errors)."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise HarnessError(f"config file not found: {path}")
        try:
            values = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise HarnessError(f"{path}: not valid TOML ({e})") from None
        except RecursionError:
            raise HarnessError(f"{path}: not valid TOML (nested too deeply)") from None
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise HarnessError(f"{path}: unknown key {unknown[0]!r} for method {method!r} (keys: {', '.join(sorted(names))})")
    config = cls(**checked_types(cls, values, path))
    if getattr(config, "kl_reference", "base") not in ("base", "stage"):
        raise HarnessError(f"{path}: kl_reference must be 'base' or 'stage'")
    if not 0.0 <= getattr(config, "replay_share", 0.0) < 1.0:
        raise HarnessError(f"{path}: replay_share must be at least 0 and below 1")
    if getattr(config, "penalty", "l2") not in ("l2", "ewc"):
        raise HarnessError(f"{path}: penalty must be 'l2' or 'ewc'")
    if getattr(config, "reg_weight", 0.0) < 0 or getattr(config, "fisher_items", 1) < 1:
        raise HarnessError(f"{path}: reg_weight must be at least 0 and fisher_items at least 1")
    if hasattr(config, "penalty") and config.deepspeed:
        raise HarnessError(f"{path}: the {config.penalty} penalty reads whole parameters, which DeepSpeed shards; run it without deepspeed")
    if hasattr(config, "lora_rank") and (config.lora_rank < 1 or config.lora_alpha < 1 or not 0.0 <= config.lora_dropout < 1.0):
        raise HarnessError(f"{path}: lora_rank and lora_alpha must be at least 1 and lora_dropout within [0, 1)")
    if hasattr(config, "lora_rank") and config.deepspeed:
        raise HarnessError(f"{path}: sft-lora merges its adapter on one process; run it without deepspeed")
    if getattr(config, "scale_rewards", "group") not in ("group", "batch", "none"):
        raise HarnessError(f"{path}: scale_rewards must be 'group', 'batch' or 'none'")
    return config


def checked_types(cls: type[StageConfig], values: dict[str, Any], path: Any) -> dict[str, Any]:
    """The file's values, each of its default's type (an int is accepted for a float and becomes
    one), or a one-line error naming the key, before anything is written."""
    defaults = cls()
    out: dict[str, Any] = {}
    for key, value in values.items():
        default = getattr(defaults, key)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        elif isinstance(default, dict):
            ok = isinstance(value, dict) and all(
                isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) for k, v in value.items()
            )
            value = {k: float(v) for k, v in value.items()} if ok else value
        else:
            ok = isinstance(value, type(default))
        if not ok:
            kind = "a table of numbers" if isinstance(default, dict) else f"a {type(default).__name__}"
            raise HarnessError(f"{path}: {key} = {value!r} is not {kind} (default: {default!r})")
        out[key] = value
    return out


def config_dict(config: StageConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_hash(config: StageConfig) -> str:
    text = json.dumps(config_dict(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
