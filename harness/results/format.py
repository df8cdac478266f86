"""The result bundle's format, in one place: what `harness eval` writes, `harness bundle` packs and
`harness check` accepts.

A bundle is a folder (or a `.tar.gz` of one) holding `results.json` (schema
`schemas/results.schema.json`), optionally `submission.json` (`schemas/submission.schema.json`),
`report.md`, `heatmap.png`, and one per-sample file per stage and column,
`samples/stage{t}/{column}.jsonl` (`sample_file`), whose lines are sample rows (`sample_row`).
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from harness.results.types import SampleRow

BUNDLE_FORMAT = 2  # the version of this layout, `results.json`'s `bundle_format`
SCHEMAS = Path(__file__).with_name("schemas")
TOP_FILES = {"results.json", "submission.json", "report.md", "heatmap.png"}
SAMPLES_DIR = "samples"


def file_safe(name: str) -> str:
    """A column spec as a file name: characters other than letters, digits and `_.=,-` become `_`."""
    return "".join(c if c.isalnum() or c in "_.=,-" else "_" for c in name)


def sample_file(stage: int, spec: str) -> str:
    """The per-sample file of a stage and column, relative to the bundle folder."""
    return f"{SAMPLES_DIR}/stage{stage}/{file_safe(spec)}.jsonl"


def sample_row(sample_id: str, target: Any, response: str, score: Any) -> SampleRow:
    """One line of a per-sample file: the sample, the response and its `tasks.base.Score`."""
    return {"id": sample_id, "target": target, "response": response, "extracted": score.extracted,
            "score": score.value, "valid": score.valid, "parts": score.parts}


def read_stage_responses(folder: Path, stage: int) -> dict[tuple[str, str], str]:
    """(per-sample file name less `.jsonl`, sample id) -> response, for one stage of a bundle
    folder: what two evaluations of the same checkpoints are compared on. Read as written, not
    checked (`harness check` does that)."""
    from tasks.user_json import json_lines

    return {
        (path.stem, row["id"]): row["response"]
        for path in sorted((folder / SAMPLES_DIR / f"stage{stage}").glob("*.jsonl"))
        for _, row in json_lines(path)
    }


def allowed(rel: PurePosixPath) -> bool:
    """Whether a path (relative to the bundle folder) is one a bundle may hold."""
    parts = rel.parts
    if len(parts) == 1:
        return parts[0] in TOP_FILES
    return (len(parts) == 3 and parts[0] == SAMPLES_DIR and parts[1].startswith("stage") and parts[1][5:].isdigit()
            and parts[2].endswith(".jsonl"))


def schema(name: str) -> dict[str, Any]:
    """One of the bundle's JSON schemas (ours, read as plain JSON)."""
    return json.loads((SCHEMAS / name).read_text())


def schema_errors(document: Any, schema_name: str) -> list[str]:
    """Up to 20 schema violations of `document`, one line each, ordered by their place in it."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema(schema_name))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:200]}" for e in errors[:20]]
