"""A stage resumed from a mid-stage checkpoint ends with the same weights, to the bit, as the same
stage run without a stop: for SFT and GRPO, resumed in their second epoch (where TRL's own sampler
would replay the first epoch's order) and with the checkpoint read back under Qwen2.5-VL's renamed
keys (which transformers' Trainer silently skips)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file

from baselines import stages as st
from baselines.stage_configs import GRPOConfig, SFTConfig
from tasks import get_task


def _weights(folder: Path) -> dict:
    return {k: v for path in sorted(folder.glob("*.safetensors")) for k, v in load_file(str(path)).items()}


def _resumed_equals_uninterrupted(train, src: Path, tmp_path: Path, last_step: int) -> None:
    """`train(dest, work)` once through, keeping its checkpoints; then again from a copy of its
    checkpoint before the last one (in the second epoch), as a rerun after a kill finds it."""
    train(tmp_path / "A", tmp_path / "work-A")
    checkpoints = sorted((tmp_path / "work-A").glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[1]))
    assert [int(p.name.rsplit("-", 1)[1]) for p in checkpoints][-1] == last_step
    resume_from = checkpoints[-2]
    (tmp_path / "work-B").mkdir()
    shutil.copytree(resume_from, tmp_path / "work-B" / resume_from.name)
    assert st.last_checkpoint(tmp_path / "work-B") == str(tmp_path / "work-B" / resume_from.name)
    train(tmp_path / "B", tmp_path / "work-B")
    a, b = _weights(tmp_path / "A"), _weights(tmp_path / "B")
    assert a.keys() == b.keys()
    assert [k for k in a if not (a[k] == b[k]).all()] == []
    start = _weights(src)  # saved under the same (original) names; the stage did move away from them
    assert any(not (start[k] == a[k]).all() for k in a)


def test_sft_resumed_in_its_second_epoch_ends_bitwise_equal(instruct_base, tmp_path):
    task = get_task("toy_count:style=direct")
    pairs = [(task, s, st.demonstration(task, s)) for s in task.load("train")[:8]]
    cfg = SFTConfig(learning_rate=1e-3, epochs=2.0, per_device_batch_size=4, grad_accum=1, save_steps=1, seed=0,
                    bf16=False, gradient_checkpointing=False, warmup_ratio=0.0)
    _resumed_equals_uninterrupted(lambda dest, work: st.train_sft(cfg, pairs, instruct_base, dest, work, 2.0, False), instruct_base, tmp_path, 4)


def test_grpo_resumed_in_its_second_epoch_ends_bitwise_equal(instruct_base, tmp_path):
    task = get_task("toy_count")
    items = [(task, s) for s in task.load("train")[:4]]
    cfg = GRPOConfig(learning_rate=1e-3, epochs=2.0, per_device_batch_size=4, grad_accum=1, steps_per_generation=1, num_generations=2,
                     max_completion_length=12, save_steps=1, seed=0, bf16=False, gradient_checkpointing=False, image_max_pixels=0,
                     image_min_pixels=0)
    _resumed_equals_uninterrupted(lambda dest, work: st.train_rft(cfg, items, instruct_base, dest, work, 2.0, False), instruct_base, tmp_path, 4)


@pytest.mark.parametrize("save_steps, spg, accum, aligned", [(50, 128, 32, 52), (3, 1, 1, 3), (1, 4, 2, 2), (5, 6, 4, 6)])
def test_grpo_checkpoints_fall_on_generation_blocks(save_steps, spg, accum, aligned):
    # Paper A's scale: 128 micro-steps per generation / 32 accumulation = blocks of 4 optimiser steps.
    assert st.generation_aligned(save_steps, spg, accum) == aligned
