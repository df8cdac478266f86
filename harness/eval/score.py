"""`harness score`: score generations produced elsewhere, without loading any model.

Input: JSON lines `{"id": ..., "response": ...}`. Output: JSON lines `{"id", "score",
"extracted", "valid"}` in input order, written atomically (the previous file is replaced only
after everything succeeded), and a summary dict.

Accounting: accuracy and the invalid rate are over the task's samples, not over the lines
submitted: a sample with no response counts as wrong (and is reported as missing). Samples an
evaluation leaves out for their prompt's length (a preset's bound, `Task.overlong_ids`) are not
counted, as an evaluation does not generate for them; responses to them are an error. An id that
is not in the data, the same id twice with different responses, and an empty responses file
are errors; the same id twice with the same response counts once. `--out` may not be the
responses file or the data file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.files import atomic_write_text
from tasks import get_task
from tasks.sources import detect_source
from tasks.user_json import json_lines


def task_with_data(task_spec: str, data: str) -> Any:
    """The task of `task_spec` reading its samples from `data` (a hub id, a local dataset folder,
    a LLaMA-Factory JSON file or a parquet file; `tasks.sources.detect_source` tells which)."""
    task = get_task(task_spec)
    if "data" not in task.params:
        raise HarnessError(f"task {task.name!r} does not read external data (it is generated)")
    kind = detect_source(data)
    if kind in ("llamafactory", "easyr1") and "llamafactory json" not in task.sources and "easyr1 parquet" not in task.sources:
        raise HarnessError(f"task {task.name!r} cannot read {kind} data (sources: {', '.join(task.sources)})")
    return type(task)(**{**task.params, "data": data})


def read_responses(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise HarnessError(f"responses file not found: {path}")
    rows = []
    for number, row in json_lines(path):
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("response"), str):
            raise HarnessError(f'{path}:{number}: expected {{"id": ..., "response": "..."}}')
        rows.append(row)
    return rows


def score_file(task_spec: str, data: str, responses: Path, out: Path, protocol: str | None = None) -> dict[str, Any]:
    task = task_with_data(task_spec, data)
    protocol = protocol or task.default_protocol()
    if protocol not in task.available_protocols():
        raise HarnessError(f"task {task.spec!r} has no protocol {protocol!r} (protocols: {', '.join(task.available_protocols())})")
    for source, what in ((responses, "responses file"), (Path(data), "data")):
        if out.resolve() == source.resolve():
            raise HarnessError(f"--out {out} is the {what}; write the scores elsewhere")
    if out.exists() and not out.is_file():
        raise HarnessError(f"--out {out} exists and is not a file")
    rows = read_responses(responses)  # a bad responses file fails before any data is read
    if not rows:
        raise HarnessError(f"{responses}: no responses (the file is empty)")
    first: dict[str, str] = {}
    for r in rows:
        sid = str(r["id"])
        if sid in first and first[sid] != r["response"]:
            raise HarnessError(f"{responses}: id {sid!r} appears twice with different responses")
        first.setdefault(sid, r["response"])
    all_samples = task.load("test")
    task.check_protocol(protocol, all_samples)
    overlong = set(task.overlong_ids(all_samples))
    samples = {s.id: s for s in all_samples if s.id not in overlong}
    unknown = [sid for sid in first if sid not in samples]
    if unknown:
        why = "left out as too long for the preset" if unknown[0] in overlong else f"not in {data}"
        raise HarnessError(f"{len(unknown)} response ids are {why} (first: {unknown[0]!r})")
    by_id = {sid: task.score_as(protocol, response, samples[sid]) for sid, response in first.items()}
    scored = []
    for r in rows:  # one output line per input line, in input order
        sc = by_id[str(r["id"])]
        scored.append({"id": r["id"], "score": sc.value, "extracted": sc.extracted, "valid": sc.valid})
    atomic_write_text(out, "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in scored))
    n, answered = len(samples), len(by_id)
    missing = n - answered
    return {
        "task": task.name, "version": task.version, "protocol": protocol, "n": n,
        "accuracy": 100.0 * sum(sc.value for sc in by_id.values()) / n,
        "invalid_rate": 100.0 * (sum(not sc.valid for sc in by_id.values()) + missing) / n,
        "answered": answered,
        "missing": missing,
        "duplicate_lines": len(rows) - answered,
        "prompt_too_long": len(overlong),
        # Precision/recall-style summaries (POPE) need a prediction per sample: over the answered ones.
        "summary_metrics": task.summary_metrics(list(by_id.values())),
    }
