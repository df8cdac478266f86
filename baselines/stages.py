"""One training stage on TRL: the datasets, the reward, rollouts, and saving a stage folder.

Everything here trains one model from one source folder into one destination folder; the run
loop (order, resume, manifest) is `baselines/train.py`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from baselines.easyr1_actor import decaying_every_parameter, easyr1_grpo
from baselines.remax import remax
from baselines.stage_configs import GRPOConfig, SFTConfig, StageConfig
from harness.engine.base import Request, prepare_images
from harness.errors import HarnessError
from harness.files import atomic_write_text
from tasks import user_json
from tasks.base import Sample, Task

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


# ---- reward: the task's own scorer ------------------------------------------------------------

def completion_text(completion: Any) -> str:
    """The text of one TRL completion: a string, or a list of messages (conversational)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        content = completion[-1].get("content", "")
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content)
    return ""


class TaskReward:
    """The reward TRL calls: `task.reward(text, sample)` for each completion, looked up by the
    `sample_key` column. It also records accuracy, format and completion length for diagnostics."""

    __name__ = "task_reward"

    def __init__(self, items: dict[str, tuple[Task, Sample]], tokenizer: Any = None):
        self.items = items
        self.tokenizer = tokenizer
        self.log: list[dict[str, float]] = []

    def __call__(self, prompts: list[Any], completions: list[Any], sample_key: list[str], **_: Any) -> list[float]:
        rewards = []
        for completion, key in zip(completions, sample_key):
            task, sample = self.items[key]
            text = completion_text(completion)
            score = task.score(text, sample)
            reward = task.reward_of(score)  # = task.reward(text, sample), scored once
            tokens = len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if self.tokenizer is not None else 0
            self.log.append({"reward": reward, "acc": score.parts.get("acc", score.value), "fmt": score.parts.get("fmt", 0.0), "tokens": tokens})
            rewards.append(reward)
        return rewards


def demonstration(task: Task, sample: Sample) -> str:
    """The SFT target for a sample in its task's style: the gold answer for `direct`; for the
    think/boxed styles (`cot`, `paper`) the gold answer in that format with a one-line stand-in
    for the reasoning, `<think>The answer is G.</think> \\boxed{G}` (datasets hold no reasoning)."""
    gold = str(sample.target)
    if task.style in ("cot", "paper"):
        return f"<think>The answer is {gold}.</think> \\boxed{{{gold}}}"
    return gold


def sample_key(task: Task, sample: Sample) -> str:
    return f"{task.spec}\x00{sample.id}"


# ---- datasets ---------------------------------------------------------------------------------

def _images(sample: Sample, max_pixels: int, min_pixels: int = 0) -> list[Any]:
    return prepare_images(sample.images, min_pixels or None, max_pixels or None)


def sft_rows(pairs: list[tuple[Task, Sample, str]], max_pixels: int) -> list[dict[str, Any]]:
    """SFT rows: the sample's user turn and `target` as the assistant turn, images opened."""
    return [
        {
            "messages": sample.messages + [{"role": "assistant", "content": [{"type": "text", "text": target}]}],
            "images": _images(sample, max_pixels),
        }
        for task, sample, target in pairs
    ]


def prompt_rows(items: list[tuple[Task, Sample]], max_pixels: int, min_pixels: int = 0) -> list[dict[str, Any]]:
    """RFT rows: the prompt, its images and the key the reward looks the sample up by."""
    return [{"prompt": s.messages, "images": _images(s, max_pixels, min_pixels), "sample_key": sample_key(t, s)} for t, s in items]


def to_dataset(rows: list[dict[str, Any]], seed: int):
    import datasets

    if not rows:
        raise HarnessError("no training items left for this stage")
    rng = random.Random(seed)
    rows = list(rows)
    rng.shuffle(rows)  # multitask mixes tasks; single tasks are shuffled by the trainer anyway
    return datasets.Dataset.from_list(rows)


# ---- models -----------------------------------------------------------------------------------

def load_trainable(src: Path) -> tuple[Any, Any, bool]:
    """(model, processor, on_gpu) for training from a model folder, loaded as the engine loads
    it (the trainer switches the model to training mode)."""
    import torch

    from harness.engine.hf import default_device_and_dtype, load_model, load_processor

    device, dtype = default_device_and_dtype()
    try:
        processor = load_processor(str(src))
        model = load_model(str(src), getattr(torch, dtype), device)
    except (OSError, ValueError, KeyError) as e:
        raise HarnessError(f"cannot load model from {src}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return model, processor, device == "cuda"


def is_main_process() -> bool:
    """True on the process that writes run files (rank 0 under `accelerate launch`)."""
    import os

    return int(os.environ.get("RANK", "0")) == 0


def save_stage(trainer: Any, src: Path, dest: Path) -> None:
    """Write the trained weights (through the trainer, which gathers ZeRO-3 shards) plus the
    source's processor, tokenizer and code files into `dest`, atomically: a `.partial` folder
    renamed into place by the main process."""
    tmp = dest.with_name(dest.name + ".partial")
    if is_main_process() and tmp.exists():
        shutil.rmtree(tmp)
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(tmp))
    trainer.accelerator.wait_for_everyone()
    if not is_main_process():
        return
    _carry_source_files(src, tmp)
    for name in ("training_args.bin",):  # trainer bookkeeping, not part of a model folder
        (tmp / name).unlink(missing_ok=True)
    _publish(tmp, dest)


def language_linear_layers(model: Any) -> list[str]:
    """LLaMA-Factory's LoRA target `all` with the vision tower and projector frozen (its defaults):
    every linear layer but the output head and those under the vision tower, projector included
    (Paper A's release: `LLaMA-Factory/src/llamafactory/model/model_utils/misc.py` lines 28-52,
    `hparams/finetuning_args.py` lines 414-420). Full module names, so the vision tower's own
    `gate_proj`-style names are never matched."""
    import torch

    visual = {name for name, module in model.named_modules() if name.split(".")[-1] == "visual"}
    return sorted(name for name, module in model.named_modules()
                  if isinstance(module, torch.nn.Linear) and name != "lm_head" and not any(name.startswith(v + ".") for v in visual))


def with_lora(model: Any, cfg: Any) -> Any:
    """`model` with a fresh LoRA adapter of `cfg`'s shape on `language_linear_layers` (PEFT),
    initialised from `cfg.seed`: PEFT draws the adapter's A matrices from torch's global
    generator, whose state is otherwise whatever loading the model left (runs then differ)."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise HarnessError("sft-lora needs peft: pip install peft") from None
    from transformers import set_seed

    set_seed(cfg.seed)
    lora = LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=language_linear_layers(model), bias="none")
    return get_peft_model(model, lora)


def save_merged_stage(trainer: Any, src: Path, dest: Path, adapter_dir: Path) -> None:
    """Save the trained adapter into `adapter_dir`, then write `dest` as `src` with the adapter
    merged the way `harness eval` merges an adapter stage (`harness.runs.adapters`), so the stage
    equals its source plus its adapter; saved in the source's dtype."""
    from harness.files import read_config
    from harness.runs.adapters import write_merged

    trainer.accelerator.wait_for_everyone()
    if not is_main_process():
        return
    tmp_adapter = adapter_dir.with_name(adapter_dir.name + ".partial")
    shutil.rmtree(tmp_adapter, ignore_errors=True)
    trainer.model.save_pretrained(str(tmp_adapter), safe_serialization=True)
    _publish(tmp_adapter, adapter_dir)
    declared = read_config(src / "config.json", "stage source")
    dtype = declared.get("dtype") or declared.get("torch_dtype") or "float32"
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    write_merged(adapter_dir, src, tmp, f"stage {dest.name}", dtype if dtype in ("float32", "bfloat16", "float16") else "float32")
    _carry_source_files(src, tmp)
    _publish(tmp, dest)


def _carry_source_files(src: Path, folder: Path) -> None:
    """The source's small files (processor, tokenizer, templates, recipes) a stage folder keeps."""
    for f in src.iterdir():
        if f.is_file() and not f.name.endswith(WEIGHT_SUFFIXES) and not f.name.endswith(".index.json") and f.name != "config.json" and not (folder / f.name).exists():
            shutil.copy2(f, folder / f.name)


def copy_stage(src: Path, dest: Path) -> None:
    """A stage that trains nothing (no item kept): its folder is a copy of its source."""
    tmp = dest.with_name(dest.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp)
    _publish(tmp, dest)


def _publish(tmp: Path, dest: Path) -> None:
    """Rename a finished `.partial` folder into place."""
    if dest.exists():  # left by a run killed between the rename and the manifest update
        shutil.rmtree(dest)
    tmp.rename(dest)


def trl_common(cfg: StageConfig, work: Path, epochs: float, gpu: bool) -> dict[str, Any]:
    return dict(
        output_dir=str(work),
        learning_rate=cfg.learning_rate,
        num_train_epochs=epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a ratio of the total steps
        seed=cfg.seed,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        report_to=[],
        use_cpu=not gpu,
        bf16=bool(gpu and cfg.bf16),
        gradient_checkpointing=bool(gpu and cfg.gradient_checkpointing),
        weight_decay=cfg.weight_decay,
        deepspeed=cfg.deepspeed or None,
        disable_tqdm=False,  # the bar is chosen by `quiet_logs`
    )


def quiet_logs(trainer: Any, progress: bool) -> None:
    """Keep the step progress bar (when asked) but not a printed dict per logged step; the logs
    still land in `trainer.state.log_history`, which the diagnostics read."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class StepBar(ProgressCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            pass

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if progress:
        trainer.add_callback(StepBar())


def last_checkpoint(work: Path) -> str | None:
    """The newest *complete* TRL checkpoint in `work`, or None. The trainer creates the folder
    first and writes `trainer_state.json` last, so a kill during a save leaves a folder without
    it; such a folder is removed rather than resumed from (resuming from it fails)."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    if not work.is_dir():
        return None
    found = []
    for folder in work.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        step = folder.name.rsplit("-", 1)[-1]
        if not step.isdigit():
            continue
        if (folder / "trainer_state.json").is_file():
            found.append((int(step), folder))
        elif is_main_process():
            shutil.rmtree(folder, ignore_errors=True)
    return str(max(found)[1]) if found else None


def exact_resume(trainer_class: type) -> type:
    """`trainer_class` resuming a killed stage from its checkpoint's weights. transformers' Trainer
    reads a checkpoint back with `model.load_state_dict(..., strict=False)`, but `save_pretrained`
    writes Qwen2.5-VL's weights under their original names (`model.layers.*` for the model's
    `model.language_model.layers.*`), so that load keeps all but `lm_head` at the stage's starting
    weights without an error (huggingface/transformers#43701; measured with transformers 5.24: 1 of
    57 tensors of the lab's base). The checkpoint is read through `from_pretrained`, which renames
    them, and loaded strictly: a key that still does not match is an error. DeepSpeed and FSDP
    restore through their own checkpoints."""

    class ExactResume(trainer_class):  # type: ignore[misc, valid-type]
        def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
            model = self.model if model is None else model
            # An adapter checkpoint holds the adapter's weights under the runtime names PEFT reads back.
            if self.is_deepspeed_enabled or self.is_fsdp_enabled or hasattr(model, "peft_config"):
                return super()._load_from_checkpoint(resume_from_checkpoint, model)
            saved = type(model).from_pretrained(resume_from_checkpoint, dtype=next(model.parameters()).dtype)
            model.load_state_dict(saved.state_dict(), strict=True)
            return None

    ExactResume.__name__ = ExactResume.__qualname__ = trainer_class.__name__
    return ExactResume


def resumable_sampling(trainer_class: type) -> type:
    """`trainer_class` (TRL's GRPO or RLOO trainer) whose prompt order survives a resume. TRL's
    `RepeatSampler` draws one permutation per epoch from a generator that runs on from epoch to
    epoch, so a stage resumed in epoch e > 0 would start that generator afresh and replay epoch 0's
    order. Here the sampler learns the epoch from the Trainer's loop (`set_epoch`, through
    accelerate) and first draws the permutations of the epochs it did not see: every epoch gets
    TRL's own order, resumed or not."""
    import torch
    from trl.trainer.utils import RepeatSampler

    class ResumableRepeatSampler(RepeatSampler):
        epoch = 0
        drawn = 0  # permutations drawn so far

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __iter__(self) -> Any:
            if self.shuffle:
                while self.drawn < self.epoch:  # a resumed run: the earlier epochs' draws, as TRL made them
                    torch.randperm(self.num_samples, generator=self.generator)
                    self.drawn += 1
                self.drawn += 1
            return super().__iter__()

    class Resumable(trainer_class):  # type: ignore[misc, valid-type]
        def _get_train_sampler(self, dataset: Any = None) -> Any:
            stock = super()._get_train_sampler(dataset)
            return ResumableRepeatSampler(stock.data_source, stock.mini_repeat_count, stock.batch_size, stock.repeat_count,
                                          stock.shuffle, stock.seed)

    Resumable.__name__ = Resumable.__qualname__ = trainer_class.__name__
    return Resumable


def generation_aligned(save_steps: int, steps_per_generation: int, grad_accum: int) -> int:
    """The smallest multiple of TRL's generation block (`steps_per_generation` micro-steps, in
    optimiser steps) not below `save_steps`. TRL keeps one generation's completions in memory for
    the block's steps and does not checkpoint them; a stage resumed inside a block would generate
    anew from a different place, so checkpoints fall on block boundaries only."""
    block = math.lcm(steps_per_generation, grad_accum) // grad_accum
    return max(block, math.ceil(save_steps / block) * block)


# ---- the two training kinds -------------------------------------------------------------------

def token_length(processor: Any, row: dict[str, Any]) -> int:
    """Tokens of a conversation (`messages`, `images`) as the model sees it: chat template
    applied, images expanded."""
    if hasattr(processor, "image_processor"):
        text = processor.apply_chat_template(row["messages"], tokenize=False)
        return int(processor(text=[text], images=row["images"] or None, return_tensors="pt")["input_ids"].shape[1])
    flat = [{"role": m["role"], "content": "".join(p.get("text", "") for p in m["content"])} for m in row["messages"]]
    return len(processor.apply_chat_template(flat, tokenize=True))


def within_limits(processor: Any, counted: list[dict[str, Any]], limits: list[int], ids: list[str], what: str) -> tuple[list[int], list[str]]:
    """(indices of the conversations no longer than their limit, ids of the others): training
    drops over-long items and counts them, never truncates them. None kept is an error."""
    kept: list[int] = []
    dropped: list[str] = []
    for i, (row, limit) in enumerate(zip(counted, limits)):
        if token_length(processor, row) <= limit:
            kept.append(i)
        else:
            dropped.append(ids[i])
    if not kept:
        raise HarnessError(f"all {len(ids)} training {what}; raise the limit in the config")
    return kept, dropped


def drop_overlong(cfg: SFTConfig, pairs: list[tuple[Task, Sample, str]], rows: list[dict[str, Any]], processor: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows within their task's token limit, ids of the dropped ones). A config without limits
    keeps everything."""
    limit_of = getattr(cfg, "max_length_for", None)
    if limit_of is None:
        return rows, []
    kept, dropped = within_limits(processor, rows, [limit_of(t.name) for t, _, _ in pairs], [s.id for _, s, _ in pairs],
                                  "items are longer than their max_length")
    return [rows[i] for i in kept], dropped


@dataclasses.dataclass
class Regulariser:
    """What a regularised SFT stage (`sft-l2`, `sft-ewc`; `baselines.regularisers`) needs: the
    penalty, its weight, the earlier stages' Fisher files (EWC; none on the first stage: no
    penalty) and where to write this stage's Fisher (EWC) from `fisher_items` items."""

    kind: str
    weight: float
    fisher_from: list[Path]
    fisher_out: Path | None
    fisher_items: int


def train_sft(cfg: SFTConfig, pairs: list[tuple[Task, Sample, str]], src: Path, dest: Path, work: Path, epochs: float, progress: bool,
              regulariser: Regulariser | None = None, adapter_dir: Path | None = None) -> dict[str, Any]:
    """SFT of `src` on `pairs` into `dest`. `adapter_dir`: train a LoRA adapter instead (`cfg` is
    a `LoRASFTConfig`), save it there and write `dest` as `src` with the adapter merged."""
    from trl import SFTConfig, SFTTrainer

    from baselines import regularisers as reg

    started = time.time()
    model, processor, gpu = load_trainable(src)
    if adapter_dir is not None:
        model = with_lora(model, cfg)
    rows, dropped = drop_overlong(cfg, pairs, sft_rows(pairs, cfg.image_max_pixels), processor)
    # Every kept item fits its limit, so nothing is truncated (max_length=None).
    args = SFTConfig(**trl_common(cfg, work, epochs, gpu), assistant_only_loss=True, max_length=None)
    trainer_cls = exact_resume(SFTTrainer if regulariser is None else reg.regularised(SFTTrainer))
    trainer = trainer_cls(model=model, args=args, train_dataset=to_dataset(rows, cfg.seed), processing_class=processor)
    if regulariser is not None and (regulariser.kind == "l2" or regulariser.fisher_from):
        importance = reg.summed_fisher(regulariser.fisher_from) if regulariser.kind == "ewc" else None
        trainer.regulariser = reg.Anchor(reg.anchor_weights(model), importance, regulariser.weight)
    quiet_logs(trainer, progress)
    trainer.train(resume_from_checkpoint=last_checkpoint(work))
    if adapter_dir is None:
        save_stage(trainer, src, dest)
    else:
        save_merged_stage(trainer, src, dest, adapter_dir)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    diag: dict[str, Any] = {
        "kind": "sft", "items": len(rows), "dropped_overlong": len(dropped), "dropped_ids": dropped[:20],
        "steps": trainer.state.global_step, "epochs": epochs,
        "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
        "loss_per_step": losses,
    }
    if adapter_dir is not None:
        diag["lora"] = {"rank": cfg.lora_rank, "alpha": cfg.lora_alpha, "dropout": cfg.lora_dropout,
                        "adapter": str(adapter_dir.relative_to(adapter_dir.parents[1])),
                        "trainable_parameters": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
                        "target_modules": len(trainer.model.peft_config["default"].target_modules)}
    if regulariser is not None:
        diag["regulariser"] = {
            "penalty": regulariser.kind, "weight": regulariser.weight, "active": trainer.regulariser is not None,
            "fisher_from": [p.name for p in regulariser.fisher_from],
            # per micro-batch of this process's run (a resumed stage lists the steps after its checkpoint)
            "penalty_per_micro_batch": list(trainer.penalties),
        }
        if regulariser.fisher_out is not None:
            fisher = reg.diagonal_fisher(trainer, regulariser.fisher_items)  # the same on every process: the same first items
            if is_main_process():
                reg.save_fisher(fisher, regulariser.fisher_out)
            diag["regulariser"].update(fisher_file=str(regulariser.fisher_out.relative_to(regulariser.fisher_out.parents[1])),
                                       fisher_items=min(regulariser.fisher_items, len(rows)))
    diag["wall_seconds"] = round(time.time() - started, 2)
    return diag


def train_rft(cfg: GRPOConfig, items: list[tuple[Task, Sample]], src: Path, dest: Path, work: Path, epochs: float, progress: bool,
              reference: Path | None = None) -> dict[str, Any]:
    """GRPO (or RLOO, or ReMax) with the tasks' own reward. `reference`: the KL reference model's folder
    (None: the stage's start, `src`); prompts longer than `max_prompt_length` are dropped."""
    from harness.runs.fingerprint import fingerprint

    started = time.time()
    model, processor, gpu = load_trainable(src)
    reference = reference or src
    # TRL builds its reference model from the policy's config path: point that at the reference.
    model.config._name_or_path = str(reference)
    rows = prompt_rows(items, cfg.image_max_pixels, cfg.image_min_pixels)
    limit = getattr(cfg, "max_prompt_length", 0)
    dropped: list[str] = []
    if limit > 0:
        prompts = [{"messages": s.messages, "images": row["images"]} for (_, s), row in zip(items, rows)]
        kept, dropped = within_limits(processor, prompts, [limit] * len(items), [s.id for _, s in items],
                                      f"prompts are longer than max_prompt_length ({limit})")
        items, rows = [items[i] for i in kept], [rows[i] for i in kept]
    tokenizer = getattr(processor, "tokenizer", processor)
    reward = TaskReward({sample_key(t, s): (t, s) for t, s in items}, tokenizer)
    trainer = rft_trainer(cfg, model, processor, gpu, rows, reward, work, epochs)
    quiet_logs(trainer, progress)
    trainer.train(resume_from_checkpoint=last_checkpoint(work))
    save_stage(trainer, src, dest)
    diag = rft_diagnostics(trainer.state.log_history, reward.log, cfg, len(items), epochs, trainer.state.global_step, started)
    diag["per_device_batch_size"] = trainer.args.per_device_train_batch_size
    diag["save_steps"] = trainer.args.save_steps  # on the generation blocks (`generation_aligned`)
    diag["dropped_overlong_prompts"] = len(dropped)
    diag["advantages"] = advantage_summary(trainer.advantage_log)
    if cfg.estimator == "remax":
        baselines = trainer.baseline_log
        diag["greedy_baseline_reward_mean"] = statistics.fmean(baselines) if baselines else None
    if cfg.beta > 0:
        diag["kl_reference"] = {"path": str(reference), "fingerprint": fingerprint(reference)}
    return diag


def rft_trainer(cfg: GRPOConfig, model: Any, processor: Any, gpu: bool, rows: list[dict[str, Any]], reward: Any, work: Path, epochs: float) -> Any:
    """The TRL trainer of one RFT stage on `rows` (`prompt_rows`) with `reward`: GRPO with
    EasyR1's actor update (`baselines.easyr1_actor`), ReMax (`baselines.remax`, the same update),
    or RLOO."""
    common = trl_common(cfg, work, epochs, gpu)
    # Few items (e.g. after RIF filtering) cannot fill one generation batch; shrink it to fit
    # rather than fail, and record the change.
    steps_per_generation = cfg.steps_per_generation or cfg.grad_accum
    if len(rows) < steps_per_generation:
        steps_per_generation = 1
    fit = max(1, len(rows) // steps_per_generation) * cfg.num_generations
    common["per_device_train_batch_size"] = min(cfg.per_device_batch_size, fit)
    common["save_steps"] = generation_aligned(cfg.save_steps, steps_per_generation, cfg.grad_accum)
    rft = dict(
        num_generations=cfg.num_generations, beta=cfg.beta, temperature=cfg.temperature, top_p=cfg.top_p,
        max_completion_length=cfg.max_completion_length, steps_per_generation=steps_per_generation,
        epsilon=cfg.epsilon, epsilon_high=cfg.epsilon_high,
    )
    dataset = to_dataset(rows, cfg.seed)
    if cfg.estimator == "rloo":
        from trl import RLOOConfig, RLOOTrainer

        trainer_cls = exact_resume(resumable_sampling(recording_advantages(decaying_every_parameter(RLOOTrainer))))
        return trainer_cls(model=model, args=RLOOConfig(**common, **rft), reward_funcs=[reward], train_dataset=dataset, processing_class=processor)
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(**common, **rft, loss_type=cfg.loss_type, scale_rewards=cfg.scale_rewards, delta=cfg.dual_clip or None)
    policy = easyr1_grpo(GRPOTrainer)
    if cfg.estimator == "remax":
        policy = remax(policy)  # TRL's group-centred advantages replaced by reward - greedy reward
    trainer_cls = exact_resume(resumable_sampling(recording_advantages(policy)))
    return trainer_cls(model=model, args=args, reward_funcs=[reward], train_dataset=dataset, processing_class=processor)


def recording_advantages(trainer_class: type) -> type:
    """`trainer_class` keeping every advantage it trains with (`advantage_log`), for the stage's
    diagnostics: the reward-scaling variants and ReMax differ in nothing else."""

    class RecordingAdvantages(trainer_class):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.advantage_log: list[float] = []

        def _generate_and_score_completions(self, inputs: list) -> dict[str, Any]:
            out = super()._generate_and_score_completions(inputs)
            if self.model.training:
                self.advantage_log.extend(out["advantages"].flatten().tolist())
            return out

    RecordingAdvantages.__name__ = RecordingAdvantages.__qualname__ = trainer_class.__name__
    return RecordingAdvantages


def advantage_summary(values: list[float]) -> dict[str, Any]:
    """Mean, population std, mean absolute value and share of zeros of the advantages a stage
    trained with (a zero advantage moves nothing: a group whose rewards are all equal)."""
    if not values:
        return {"count": 0}
    return {"count": len(values), "mean": statistics.fmean(values), "std": statistics.pstdev(values),
            "mean_abs": statistics.fmean(abs(v) for v in values), "zero_fraction": sum(v == 0.0 for v in values) / len(values)}


def rft_diagnostics(history: list[dict[str, Any]], log: list[dict[str, float]], cfg: GRPOConfig, n_items: int, epochs: float, steps: int, started: float) -> dict[str, Any]:
    per_step = [h for h in history if "reward" in h]
    rewards = [r["reward"] for r in log]
    quarter = max(1, len(per_step) // 4)
    return {
        "kind": cfg.estimator, "items": n_items, "steps": steps, "epochs": epochs,
        "reward_mean": statistics.fmean(rewards) if rewards else None,
        "reward_std": statistics.pstdev(rewards) if len(rewards) > 1 else 0.0,
        "reward_per_step": [h["reward"] for h in per_step],
        "reward_first_quarter": statistics.fmean(h["reward"] for h in per_step[:quarter]) if per_step else None,
        "reward_last_quarter": statistics.fmean(h["reward"] for h in per_step[-quarter:]) if per_step else None,
        "frac_zero_std_groups": statistics.fmean(h.get("frac_reward_zero_std", 0.0) for h in per_step) if per_step else None,
        "format_rate": statistics.fmean(r["fmt"] for r in log) if log else None,
        "accuracy_rate": statistics.fmean(r["acc"] for r in log) if log else None,
        "completions": len(log),
        "tokens_generated": int(sum(r["tokens"] for r in log)),
        "wall_seconds": round(time.time() - started, 2),
    }


# ---- rollouts through the harness engine ------------------------------------------------------

def rollouts(model: Path, items: list[tuple[Task, Sample]], k: int, temperature: float, top_p: float, max_new_tokens: int,
             batch_size: int, seed: int, out: Path, progress: bool) -> list[dict[str, Any]]:
    """k sampled responses per item from `model`, scored by the task; saved to `out` (JSON lines,
    written once complete, reused when present)."""
    if out.is_file():
        return [row for _, row in user_json.json_lines(out)]  # lines split at "\n" only: a response may hold U+2028
    from tqdm import tqdm

    from harness.engine import open_backend

    started = time.time()
    engine = open_backend("hf", str(model), batch_size=batch_size)
    tokenizer = engine.tokenizer
    rows: list[dict[str, Any]] = []
    try:
        for task, group in _by_task(items).items():
            # Paper A's `rollout_filter.py` (lines 81, 111) samples with vLLM's defaults otherwise and
            # gives the processor the raw images: no evaluation bounds here.
            contract = dataclasses.replace(task.contract(), temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                           top_k=-1, repetition_penalty=1.0, min_pixels=None, max_pixels=None)
            by_id = {s.id: s for s in group}
            requests = [Request.for_sample(s, task.spec, seed, f"{s.id}#{j}") for s in group for j in range(k)]
            bar = tqdm(total=len(requests), desc=f"  rollouts {task.spec}", unit="resp", leave=False, disable=not progress)
            for batch in engine.generate(requests, contract):
                for req, text in batch:
                    sid, j = req.id.rsplit("#", 1)
                    score = task.score(text, by_id[sid])
                    rows.append({
                        "task": task.spec, "id": sid, "k": int(j), "response": text,
                        "acc": score.parts.get("acc", score.value),
                        "correct": task.rollout_correct(text, by_id[sid], score),
                        "tokens": len(tokenizer(text, add_special_tokens=False)["input_ids"]),
                    })
                bar.update(len(batch))
            bar.close()
    finally:
        engine.close()
    rows.sort(key=lambda r: (r["task"], r["id"], r["k"]))
    seconds = round(time.time() - started, 2)
    for r in rows:
        r["batch_seconds"] = seconds
    atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return rows


def _by_task(items: list[tuple[Task, Sample]]) -> dict[Task, list[Sample]]:
    groups: dict[Task, list[Sample]] = {}
    for task, sample in items:
        groups.setdefault(task, []).append(sample)
    return groups


def rollout_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Kept items (at least one correct rollout, by `Task.rollout_correct`: right and in the
    think/boxed shape, as Paper A's filter counts) and the rollout cost."""
    correct: dict[tuple[str, str], int] = {}
    for r in rows:
        ok = r["correct"] if "correct" in r else r["acc"] >= 1.0  # rows saved before the shape rule
        correct[(r["task"], r["id"])] = correct.get((r["task"], r["id"]), 0) + (1 if ok else 0)
    kept = sorted(key for key, n in correct.items() if n > 0)
    return {
        "items": len(correct), "kept": len(kept),
        "kept_fraction": len(kept) / len(correct) if correct else math.nan,
        "rollouts": len(rows), "rollout_tokens": int(sum(r.get("tokens", 0) for r in rows)),
        "rollout_seconds": rows[0].get("batch_seconds") if rows else 0.0,
        "kept_keys": kept,
    }
