"""`harness train`: train a method over a task sequence."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.common import quiet_libraries, require_trl


def run(args: argparse.Namespace) -> int:
    require_trl()
    from baselines.methods import load_config
    from baselines.train import train_run

    config = load_config(args.method, args.config)  # a bad method or config file fails before any work
    quiet_libraries()
    manifest = train_run(args.method, args.sequence, args.base, Path(args.out), config, progress=not args.no_progress)
    print(f"done: {len(manifest['stages'])} stages in {args.out}; evaluate with `harness eval --checkpoint-dir {args.out} --allow-external-paths --out OUT`")
    return 0


def register(sub: Any) -> None:
    tr = sub.add_parser("train", help="train a method over a task sequence (reference trainer on TRL)")
    tr.add_argument("--method", required=True, help="sft, grpo, grpo-nokl, grpo-nocot, remax, grpo-unscaled, grpo-batch-scaled (the reward-scaling ablation), rloo, rif-grpo, rollout-sft, sft-replay, grpo-replay, sft-l2, sft-ewc (regularisation towards the previous stage), sft-lora (a LoRA adapter per stage, merged), multitask (joint SFT, Paper A's upper bound) or multitask-grpo")
    tr.add_argument("--sequence", required=True, help="a named sequence (cpt7, toy3, ...) or task specs t1,t2,...")
    tr.add_argument("--base", required=True, help="base model: a local folder or a hub id")
    tr.add_argument("--out", required=True, help="run folder (manifest.json + one folder per stage); rerun to resume")
    tr.add_argument("--config", help="TOML overriding the method's defaults (see baselines/configs/)")
    tr.add_argument("--no-progress", action="store_true")
    tr.set_defaults(func=run)
