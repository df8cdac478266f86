"""`EvalOptions`: everything `harness eval` takes besides the run and its two folders, built once
(by `harness.cli` from the command line, by the demo and the lab from their settings)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class EvalOptions:
    """`task_specs`: the columns (None: the run's sequence and general columns); `general_specs`
    replaces the run's general columns. `lm-eval:NAME` among either is an lm-evaluation-harness
    task, run by lm-eval on every stage with generation through our store
    (`harness.eval.lmeval_bridge.evaluate_columns`; `lmeval_include` = lm-eval's
    `include_path`, `lmeval_chat_template` = its `apply_chat_template`), after the harness's own
    columns. `protocol` names a scoring protocol for the tasks that have it (the others keep
    their first; None: each task's first). `backend_options` go to the backend (hf: `batching`,
    default padded; vllm: `tp`, `dp`, `gpu_memory_utilization`, `max_model_len`; openai:
    `base_url`, `model`, `api_key_env`, `concurrency`, `request_timeout`) and are recorded in the
    results. `ray` (a dict of `harness.generation.ray.generate_on_ray`'s keyword arguments,
    `address` None for a local instance) spreads generation over Ray; the results are the same,
    with Ray's unit counts in `run_stats.ray`. `overrides` (task parameters such as
    `image_max_pixels`) apply to every column that takes them and `preset` names an evaluation
    preset (`tasks.presets`), recorded in the results; both as `harness.eval.columns.plan_columns`
    applies them. `limit`: the first N test samples of each column; `seed`: request seeds for
    sampled decoding and the bootstrap."""

    task_specs: list[str] | None = None
    general_specs: list[str] | None = None
    backend: str = "hf"
    batch_size: int = 8
    limit: int | None = None
    seed: int = 0
    progress: bool = True
    protocol: str | None = None
    backend_options: dict[str, Any] | None = None
    ray: dict[str, Any] | None = None
    lmeval_include: str | None = None
    lmeval_chat_template: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    preset: str | None = None

    def resolved(self) -> "EvalOptions":
        """The options with the backend's default options filled in (hf: padded batching)."""
        default = {"batching": "padded"} if self.backend_options is None and self.backend == "hf" else {}
        return replace(self, backend_options=dict(self.backend_options or default), overrides=dict(self.overrides or {}))
