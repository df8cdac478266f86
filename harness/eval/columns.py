"""The columns of an evaluation, planned before any work: which tasks, with which parameters.

- Sequence columns are the run's trained tasks in stage order; general columns are the run's
  general list, or `--general`, or the specs of `--tasks` outside the sequence; lm-eval columns
  (`lm-eval:NAME`) are kept apart (`ColumnPlan.lmeval`).
- `--tasks` restricts the columns. A spec that names a trained task with other evaluation
  parameters (`tasks.base.EVAL_PARAMS`: style, image bounds) evaluates that stage's column that
  way instead of adding a general column: `--tasks scienceqa:style=direct` scores the ScienceQA
  stage of an RFT-styled run in the direct style. The run's stages then name the restyled spec,
  so the matrix, its metrics and the bundle all speak of the evaluated column.
- `overrides` (the command line's image bounds) set parameters on every column whose task has
  them, sequence columns included.
- A preset (`tasks.presets`) gives the general benchmarks it covers its style when their spec
  names none (`--preset paper-a`: `mmmu` is evaluated as `mmmu:style=paper`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from harness.errors import HarnessError
from harness.eval.lmeval_names import is_lmeval_spec
from harness.runs.checkpoints import Run
from tasks import Task, get_task, with_style
from tasks.presets import PRESETS, EvalPreset


class Column(Protocol):
    """A column of the matrix: a harness task (`tasks.Task`), or an lm-eval task that lm-eval
    ran and scored (`harness.eval.lmeval_bridge.LMEvalColumn`). Both give their spec and what
    results.json records of them."""

    spec: str

    def info(self) -> dict[str, Any]: ...


@dataclass
class ColumnPlan:
    run: Run  # the run with its stages' tasks as evaluated (restyled where asked)
    sequence: list[Task]
    general: list[Task]
    lmeval: list[str] = field(default_factory=list)
    restyled: dict[str, str] = field(default_factory=dict)  # a stage's task as trained -> as evaluated

    @property
    def columns(self) -> list[Task]:
        return self.sequence + self.general


def get_preset(name: str | None) -> EvalPreset | None:
    if name is None:
        return None
    if name not in PRESETS:
        raise HarnessError(f"unknown preset {name!r} (presets: {', '.join(PRESETS)})")
    return PRESETS[name]


def preset_spec(spec: str, preset: EvalPreset | None) -> str:
    """`spec` with the preset's style when it is one of the preset's general benchmarks and names
    no style of its own."""
    if preset is None or spec.strip().partition(":")[0] not in preset.general:
        return spec
    return with_style(spec.strip(), preset.general_style)


def _overridden(task: Task, overrides: dict[str, Any]) -> Task:
    mine = {k: v for k, v in overrides.items() if k in task.defaults}
    return task.with_params(**mine) if mine else task


def plan_columns(run: Run, task_specs: list[str] | None = None, general_specs: list[str] | None = None,
                 overrides: dict[str, Any] | None = None, preset: str | None = None) -> ColumnPlan:
    """The columns of evaluating `run` (module docstring). Every spec is checked here."""
    chosen_preset = get_preset(preset)
    overrides = overrides or {}
    written = [get_task(s) for s in run.sequence]
    trained = [_overridden(t, overrides) for t in written]
    names = [t.spec for t in trained]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise HarnessError(f"task {dupes[0]!r} appears twice in the sequence; each stage must train a different task")
    if task_specs is None:
        specs = run.general if general_specs is None else general_specs
        sequence = trained
        general = [get_task(preset_spec(s, chosen_preset)) for s in specs if not is_lmeval_spec(s)]
    else:
        specs = task_specs
        chosen = [get_task(preset_spec(s, chosen_preset)) for s in specs if not is_lmeval_spec(s)]
        chosen = [_overridden(c, overrides) for c in chosen]
        sequence = []
        for task in trained:  # the same spec, else the same items with other evaluation parameters
            match = next((c for c in chosen if c.spec == task.spec), None) or next((c for c in chosen if c.same_items(task)), None)
            if match is not None:
                sequence.append(match)
        general = [c for c in chosen if all(c is not s for s in sequence)]
    lmeval = list(dict.fromkeys(s.strip() for s in specs if is_lmeval_spec(s)))
    evaluated = [next((s for s in sequence if s.same_items(t)), t).spec for t in trained]
    restyled = {w.spec: e for w, e in zip(written, evaluated) if w.spec != e}
    stage_tasks = iter(evaluated)
    stages = [stage if stage.task is None else replace(stage, task=next(stage_tasks)) for stage in run.stages]
    unique: dict[str, Task] = {}
    for task in general:
        task = _overridden(task, overrides)
        if task.spec not in {s.spec for s in sequence}:
            unique.setdefault(task.spec, task)
    return ColumnPlan(replace(run, stages=stages), sequence, list(unique.values()), lmeval, restyled)
