"""What one lab runs (`LabConfig`) and the config each of its runs trains with (`lab_config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


METHODS = ("sft", "grpo", "rif-grpo", "rollout-sft", "multitask")  # the default set
# Every method a lab can run (`--methods all`), in running order: grpo before rollout-sft, which samples it.
ALL_METHODS = ("sft", "grpo", "grpo-nokl", "grpo-unscaled", "grpo-batch-scaled", "remax", "grpo-nocot", "rif-grpo", "rollout-sft",
               "sft-replay", "grpo-replay", "sft-l2", "sft-ewc", "sft-lora", "multitask")
GRPO_TYPE = ("grpo", "grpo-nokl", "grpo-unscaled", "grpo-batch-scaled", "remax", "grpo-nocot", "rif-grpo", "grpo-replay")
SFT_TYPE = tuple(m for m in ALL_METHODS if m not in GRPO_TYPE)  # sft, rollout-sft, sft-replay, sft-l2, sft-ewc, sft-lora, multitask


CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@dataclass
class LabConfig:
    """What one lab runs. `quick`: one seed, `toy3`, SFT and GRPO, 32 test items."""

    sequence: str = "toy7"
    methods: tuple[str, ...] = METHODS
    seeds: tuple[int, ...] = (0, 1, 2)
    limit: int = 48  # test items per task at every stage
    # None: the shipped base (`baselines/lab/base.py`, checked by fingerprint); otherwise the
    # `build_instruct_base` keywords of a base the lab builds in OUT/base (tests: a small one).
    base_recipe: dict[str, Any] | None = None
    quick: bool = False
    # Config keys per method, over its `*-tiny.toml`: the SFT-type stages train at 1e-3 for 6 epochs
    # (192 steps on 256 items), where the tiny config's 3e-3 x 2 epochs barely moves a stage's task;
    # GRPO-type stages at 3e-4 on 128 items for the tiny config's 4 epochs (128 steps): at 64 steps
    # a stage's greedy accuracy on its own task barely moves; 256 would not fit the full lab's hour.
    # sft-lora trains a rank-8 adapter at ten times the rate (the ratio of its tiny config to sft's).
    stage_settings: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        **{m: {"learning_rate": 1e-3, "epochs": 6.0} for m in SFT_TYPE},
        "sft-lora": {"learning_rate": 1e-2, "epochs": 6.0},
        **{m: {"learning_rate": 3e-4, "n_train": 128} for m in GRPO_TYPE}})
    overrides: dict[str, Any] = field(default_factory=dict)  # config keys set for every method that has them, last (tests: smaller stages)

    @classmethod
    def quick_config(cls) -> "LabConfig":
        return cls(sequence="toy3", methods=("sft", "grpo"), seeds=(0,), limit=32, quick=True)


def lab_config(method: str, seed: int, grpo_run: Path | None, settings: dict[str, Any], overrides: dict[str, Any]) -> Any:
    """The method's tiny config with this seed (and, for rollout-sft, the lab's GRPO run of the
    same seed as its rollout source, Paper B's choice), then the lab's `settings` for the method,
    then `overrides` for the keys it has; each value of its default's type."""
    import dataclasses

    from baselines.methods import load_config
    from baselines.stage_configs import checked_types

    config = load_config(method, CONFIGS / f"{method}-tiny.toml")
    keys = _config_keys(method)
    mine = {**settings, **{k: v for k, v in overrides.items() if k in keys}, "seed": seed}
    if method == "rollout-sft":
        if grpo_run is None:
            raise HarnessError("the lab's rollout-sft imitates its grpo run of the same seed: add grpo to --methods")
        mine["source"] = str(grpo_run.resolve())
    return dataclasses.replace(config, **checked_types(type(config), mine, f"lab settings for {method}"))


def _config_keys(method: str) -> set[str]:
    """The keys a config of `method` has."""
    import dataclasses

    from baselines.methods import get_method

    return {f.name for f in dataclasses.fields(get_method(method).config)}


def check_settings(cfg: LabConfig, methods: list[str]) -> None:
    """A stage setting that is no key of its method's config fails before any work."""
    for method in methods:
        unknown = sorted(set(cfg.stage_settings.get(method, {})) - _config_keys(method))
        if unknown:
            raise HarnessError(f"lab stage setting {unknown[0]!r} is not a key of the {method} config")


def order(methods: tuple[str, ...]) -> list[str]:
    """The methods in running order; "all" stands for every method."""
    if "all" in methods:
        methods = ALL_METHODS
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise HarnessError(f"unknown lab method {unknown[0]!r} (methods: {', '.join(ALL_METHODS)}, or all)")
    if not methods:
        raise HarnessError("no method to run")
    return sorted(dict.fromkeys(methods), key=ALL_METHODS.index)
