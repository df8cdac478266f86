"""The result bundle's records as types: what `harness eval` writes, `harness check` reads back,
the report and the leaderboard render. Each mirrors its object in `schemas/results.schema.json`
(a test keeps the keys equal); at run time they are plain dicts, as JSON gives them."""

from __future__ import annotations

from typing import Any, TypedDict


class StageRecord(TypedDict, total=False):
    index: int
    task: str | None  # None for the base (stage 0)
    path: str
    fingerprint: str
    chat_template_hash: str | None
    generation_config: dict[str, Any] | None  # the checkpoint's file as read; it decides no decoding


class TaskRecord(TypedDict, total=False):
    name: str  # the column's spec
    family: str
    version: str
    metric: str
    params: dict[str, Any]
    style: str | None
    preset: str | None
    contract: dict[str, Any]
    n: int
    gen_hash: str
    data_hash: str
    protocol: str
    skipped_ids: list[str]
    skip_reasons: dict[str, list[str]]
    summary_metrics: list[dict[str, float]]
    source: list[Any]
    lm_eval: dict[str, Any]


class GeneralDelta(TypedDict):
    base: float
    final: float
    delta: float
    ci_low: float
    ci_high: float
    n: int


class Metrics(TypedDict, total=False):
    avg_acc: float | None
    fm: float | None
    bwt: float | None
    forgetting: float | None
    fwt: float | None
    mft: float | None
    mfn: float | None
    maa: float | None
    invalid_rate: dict[str, list[float]]  # column -> percent per stage
    general_deltas: dict[str, GeneralDelta]
    note: str  # why sequence metrics are null (not every trained task evaluated)


class Generation(TypedDict, total=False):
    backend: str  # the backend identity
    batch_size: int
    seed: int
    limit: int | None
    backend_options: dict[str, Any]
    preset: dict[str, Any]


class Results(TypedDict, total=False):
    """`results.json`."""

    bundle_format: int
    harness_version: str
    created: str
    run_folder: str
    stages: list[StageRecord]
    sequence: list[str]
    general: list[str]
    columns: list[str]
    tasks: dict[str, TaskRecord]
    accuracy: list[list[float]]  # rows: stages 0..T; columns: `columns`; percent
    metrics: Metrics
    definitions: dict[str, str]
    generation: Generation
    environment: dict[str, Any]
    samples_dir: str
    training: dict[str, Any]
    run_stats: dict[str, Any]


class SampleRow(TypedDict):
    """One line of a per-sample file."""

    id: str
    target: Any
    response: str
    extracted: str | None
    score: float
    valid: bool
    parts: dict[str, Any]
