"""GRPO's variants differ from it in one value each: the reward-scaling ablation only in how
advantages are scaled (checked on a fixed batch of rewards against hand-computed advantages),
the no-KL run only in its KL coefficient."""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from baselines.methods import load_config  # noqa: E402
from harness.errors import HarnessError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# Two prompts x four completions: Paper A's reward values (0.9 acc + 0.1 format).
REWARDS = [1.0, 0.1, 0.1, 0.0, 1.0, 1.0, 0.9, 0.1]


def test_each_variant_changes_one_value_of_grpo():
    grpo = dataclasses.asdict(load_config("grpo"))
    for method, changed in {"grpo-unscaled": {"scale_rewards": "none"}, "grpo-batch-scaled": {"scale_rewards": "batch"},
                            "grpo-nokl": {"beta": 0.0}}.items():
        variant = dataclasses.asdict(load_config(method))
        assert {k: v for k, v in variant.items() if grpo[k] != v} == changed, method


def _hand(scale: str) -> list[float]:
    """Rewards minus their group's mean, over the group's (or the batch's) sample std + 1e-4."""
    out = []
    for g in (REWARDS[:4], REWARDS[4:]):
        mean = statistics.fmean(g)
        std = {"group": statistics.stdev(g), "batch": statistics.stdev(REWARDS), "none": None}[scale]
        out += [(r - mean) / (std + 1e-4) if std is not None else r - mean for r in g]
    return out


@pytest.mark.parametrize("method,scale", [("grpo", "group"), ("grpo-unscaled", "none"), ("grpo-batch-scaled", "batch")])
def test_advantages_on_a_fixed_batch_of_rewards(tiny_model, tmp_path, method, scale):
    """The trainer each method's stage builds (`rft_trainer`, its tiny config) turns the same
    rewards into the hand-computed advantages."""
    from baselines import stages as st
    from tasks import get_task

    cfg = dataclasses.replace(load_config(method, REPO / "baselines" / "configs" / f"{method}-tiny.toml"),
                              num_generations=4, per_device_batch_size=8, max_completion_length=3, bf16=False)
    task = get_task("toy_science")
    rows = st.prompt_rows([(task, s) for s in task.load("train")[:2]], 0)
    model, processor, _ = st.load_trainable(tiny_model)
    trainer = st.rft_trainer(cfg, model, processor, False, rows, lambda completions, **kw: REWARDS[:len(completions)], tmp_path, 1.0)
    assert trainer.args.scale_rewards == scale
    batch = trainer._generate_and_score_completions([rows[0]] * 4 + [rows[1]] * 4)
    assert batch["advantages"].tolist() == pytest.approx(_hand(scale), abs=1e-5)


def test_a_config_file_cannot_contradict_its_method(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('scale_rewards = "none"\n')
    with pytest.raises(HarnessError, match="applies to GRPO"):
        load_config("rloo", path)
    path.write_text('scale_rewards = "mean"\n')
    with pytest.raises(HarnessError, match="must be 'group', 'batch' or 'none'"):
        load_config("grpo", path)
    path.write_text('beta = 0.04\n')  # a file cannot undo what makes the method itself
    with pytest.raises(HarnessError, match="fixes it to 0.0"):
        load_config("grpo-nokl", path)
    path.write_text('beta = 0.0\nscale_rewards = "group"\n')  # the values the method fixes anyway
    assert load_config("grpo-nokl", path).beta == 0.0
