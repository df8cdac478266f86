"""The demo's base model: the tiny model after a short supervised "instruction" stage, so it
follows both prompt styles (a stand-in for an instruct model such as Qwen2.5-VL-7B-Instruct).

It sees a few items of every toy task (drawn with `seed=1`, so none is a CPT training or test
item, which use seed 0) and more of the general probes (`toy_mcq10`, `toy_imgmcq`), each in the
`cot` style (think/boxed demonstrations) and the `direct` style. Like an instruct model, the base
then scores above zero on the tasks and the probes: a CPT run can show the probes kept or
forgotten, and RFT gets a reward signal from its first step.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

from baselines import stages as st
from baselines.stage_configs import SFTConfig
from baselines.tiny_model import TinySpec, build_tiny_model
from harness.errors import HarnessError
from tasks import get_task

GENERAL = ("toy_mcq10", "toy_imgmcq")
TASKS = ("toy_science", "toy_ocr", "toy_vizwiz", "toy_spatial", "toy_geometry", "toy_texture", "toy_count")
RECIPE = "instruct_recipe.json"  # what a finished base was built with, beside its weights


def build_instruct_base(out: Path, seed: int = 0, n_general: int = 192, n_task: int = 48, epochs: float = 3.0,
                        learning_rate: float = 3e-3, progress: bool = False, mix: dict[str, int] | None = None,
                        spec: TinySpec | None = None, withheld: dict[str, list[str]] | None = None) -> Path:
    """Build (or reuse, when `out` already holds one built with the same recipe) the instruct base:
    the defaults are the demo's; the lab's shipped base has its own recipe (`baselines/lab/base.py`).
    `mix` (task name -> items per style) replaces `n_general` / `n_task` items of every general
    probe / toy task; `spec` sizes the model (default `TinySpec()`). `withheld` (task name -> gold
    answers) leaves out that task's drawn items with one of those answers, so the base knows only
    part of a task and the stage that trains it has something to teach (the lab's toy_science).
    A base built with another recipe, or from other versions of its tasks, is never reused: runs
    resumed on it would mix two bases."""
    out = Path(out)
    recipe: dict = {"seed": seed, "epochs": epochs, "learning_rate": learning_rate}
    recipe |= {"n_general": n_general, "n_task": n_task} if mix is None else {"mix": dict(mix)}
    if withheld:
        recipe["withheld"] = {name: list(answers) for name, answers in withheld.items()}
    if spec is not None:
        recipe["spec"] = json.loads(json.dumps(asdict(spec)))  # tuples as lists, as read back
    counts = dict(mix) if mix is not None else {name: n_general if name in GENERAL else n_task for name in GENERAL + TASKS}
    # The items come from the tasks' code: a base built before a task changed is another base.
    recipe["task_versions"] = task_versions(name for name, n in counts.items() if n > 0)
    if (out / "config.json").is_file():
        _check_recipe(out, recipe)
        return out
    raw = out.with_name(out.name + "-raw")
    build_tiny_model(raw, seed=seed, spec=spec or TinySpec())
    # Copied into `out` with the trained weights (save_stage keeps the source's small files), so
    # a finished base always carries the recipe it was built with.
    (raw / RECIPE).write_text(json.dumps(recipe, indent=2) + "\n")
    pairs = instruction_pairs(counts, withheld or {})
    cfg = SFTConfig(learning_rate=learning_rate, epochs=epochs, per_device_batch_size=16, grad_accum=1, warmup_ratio=0.05, seed=seed, save_steps=10_000)
    work = out.with_name(out.name + "-work")
    st.train_sft(cfg, pairs, raw, out, work, epochs, progress)
    # The untrained model and the trainer's checkpoints are only means to `out`.
    shutil.rmtree(raw, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return out


def task_versions(names) -> dict[str, str]:
    """Each named task's version today: what a base records of the tasks it was trained on."""
    return {name: get_task(name).version for name in names}


def instruction_pairs(counts: dict[str, int], withheld: dict[str, list[str]]) -> list[tuple]:
    """(task, sample, demonstration) for the instruction stage: `counts[name]` training items of
    each task drawn with seed 1, in the `cot` and the `direct` style, less those whose gold answer
    `withheld[name]` lists."""
    pairs = []
    for name, n in counts.items():
        if n <= 0:
            continue
        left_out = set(withheld.get(name, ()))
        for style in ("cot", "direct"):
            task = get_task(f"{name}:style={style},seed=1,n_train={n}")
            pairs += [(task, s, st.demonstration(task, s)) for s in task.load("train") if s.target not in left_out]
    return pairs


def _check_recipe(out: Path, recipe: dict) -> None:
    try:
        built = json.loads((out / RECIPE).read_text())
    except FileNotFoundError:
        raise HarnessError(f"{out} holds a base without {RECIPE} (built by an older version); remove it, "
                           "and the runs trained from it, or choose another output folder") from None
    except (OSError, ValueError) as e:
        raise HarnessError(f"cannot read {out / RECIPE}: {e}") from None
    if not isinstance(built, dict):
        raise HarnessError(f"cannot read {out / RECIPE}: not a JSON object")
    # Over the keys of both: a base built with an option (e.g. `withheld`) the recipe lacks differs too.
    diff = next((k for k in sorted(set(recipe) | set(built)) if built.get(k) != recipe.get(k)), None)
    if diff is not None:
        raise HarnessError(f"{out} holds a base built with another recipe ({diff}: {built.get(diff)!r}, not {recipe.get(diff)!r}); "
                           "remove it, and the runs trained from it, or choose another output folder")
