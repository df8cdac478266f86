"""`harness score`: score generations produced elsewhere, without loading any model.

Input: JSON lines `{"id": ..., "response": ...}`. Output: JSON lines `{"id", "score",
"extracted", "valid"}` in input order, written atomically, and a summary dict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.files import atomic_write_text
from tasks import get_task
from tasks.sources import detect_source


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
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise HarnessError(f"{path}:{number}: not a JSON line") from None
            if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("response"), str):
                raise HarnessError(f'{path}:{number}: expected {{"id": ..., "response": "..."}}')
            rows.append(row)
    return rows


def score_file(task_spec: str, data: str, responses: Path, out: Path, protocol: str | None = None) -> dict[str, Any]:
    task = task_with_data(task_spec, data)
    protocol = protocol or task.protocols[0]
    if protocol not in task.protocols:
        raise HarnessError(f"task {task.name!r} has no protocol {protocol!r} (protocols: {', '.join(task.protocols)})")
    rows = read_responses(responses)  # a bad responses file fails before any data is read
    samples = {s.id: s for s in task.load("test")}
    unknown = [str(r["id"]) for r in rows if str(r["id"]) not in samples]
    if unknown:
        raise HarnessError(f"{len(unknown)} response ids are not in {data} (first: {unknown[0]!r})")
    scored, scores = [], []
    for r in rows:
        sc = task.score_as(protocol, r["response"], samples[str(r["id"])])
        scores.append(sc)
        scored.append({"id": r["id"], "score": sc.value, "extracted": sc.extracted, "valid": sc.valid})
    atomic_write_text(out, "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in scored))
    n = len(scored)
    return {
        "task": task.name, "version": task.version, "protocol": protocol, "n": n,
        "accuracy": 100.0 * sum(s["score"] for s in scored) / n if n else None,
        "invalid_rate": 100.0 * sum(not s["valid"] for s in scored) / n if n else None,
        "covered": f"{len({str(r['id']) for r in rows})} of {len(samples)} samples",
        "summary_metrics": task.summary_metrics(scores),
    }
