"""`harness check BUNDLE`: accept or reject a result bundle without trusting any of it.

A bundle is what `harness eval` writes (`results.json`, `samples/stage{t}/{task}.jsonl`,
`report.md`, `heatmap.png`, optionally `submission.json`), as a folder or a `.tar.gz` of one.
Nothing in it is executed or unpickled; it is read as bytes, UTF-8 and JSON only. In order:

1. Files (`scan_folder`, and `open_archive` first for archives): no symlinks or special files,
   no path leaving the bundle, no name outside the bundle layout, each file under its size cap,
   the total under `MAX_TOTAL_BYTES`; an archive is refused before extraction when its members'
   declared sizes or count pass the limits, or a member is anything but a file or folder.
2. Schema: `results.json` (and `submission.json` when present), read through `tasks.user_json`
   (a key given twice, NaN or nesting past 64 levels is refused), against the closed schemas in
   `harness/results/schemas/` (a key the format does not have is a problem).
3. Completeness and identity, per stage x task: the per-sample file exists; every line is a
   sample row; each sample id of the task (as this harness loads it, at the bundle's `limit`,
   less the task's own skips, which must equal the recorded ones: a bundle cannot skip hard
   samples) appears exactly once, none other; the task's version, the data
   hash over the samples' content, the generation contract and the protocol are this harness's.
4. Scores: every stored response is scored again by the task's own scorer under the recorded
   protocol; the stored score, validity, extracted answer and gold must equal the re-scored ones.
5. Figures: the accuracy matrix, invalid rates and every metric are recomputed from the
   re-scored values (`harness.results.summary.summarize`) and must equal what `results.json` reports.

Each problem is one line (file, stage, task, sample where they apply). The verdict is "accepted"
only with no problem.

6. Spot regeneration (`--checkpoint-dir DIR --regenerate K`): each checkpoint's fingerprint must be
   the bundle's; K samples per stage x task, drawn with `--seed` (recorded in the report), are
   generated again with the bundle's backend (hf or vllm, same batching) and contract and compared
   with the submitted responses. Same backend identity: every greedy response must match. Another
   identity (e.g. bf16 on a GPU vs fp32 on a CPU): the count is reported and not judged, since
   dtype and kernels can move near-ties. With hf's padded batching the regenerated samples keep
   their batch size but not their batch company; on the tiny model padded and unpadded greedy
   answers agree (see tests/test_engine.py), on large models a near-tie can differ.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from harness.errors import HarnessError
from harness.files import lines_of
from harness.results.format import SAMPLES_DIR, allowed, sample_file, schema, schema_errors
from harness.results.types import Results
from tasks import user_json

MAX_RESULTS_BYTES = 64 << 20
MAX_SAMPLES_FILE_BYTES = 512 << 20
MAX_OTHER_FILE_BYTES = 16 << 20
MAX_TOTAL_BYTES = 4 << 30
MAX_FILES = 20_000


@dataclass
class Problem:
    message: str
    file: str = ""
    stage: int | None = None
    task: str | None = None
    sample: str | None = None

    def line(self) -> str:
        where = ", ".join(
            part for part in (
                f"stage {self.stage}" if self.stage is not None else "",
                f"task {self.task}" if self.task else "",
                f"sample {self.sample}" if self.sample is not None else "",
            ) if part
        )
        head = ": ".join(x for x in (self.file, where) if x)
        return f"{head}: {self.message}" if head else self.message


@dataclass
class Report:
    bundle: str
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.problems

    def add(self, message: str, **where: Any) -> None:
        self.problems.append(Problem(message, **where))

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle, "verdict": "accepted" if self.accepted else "rejected",
            "problems": [asdict(p) | {"line": p.line()} for p in self.problems],
            "notes": self.notes, "checked": self.checked,
        }


# ---- files -----------------------------------------------------------------------------------

def _cap(rel: PurePosixPath) -> int:
    if rel.name == "results.json":
        return MAX_RESULTS_BYTES
    return MAX_SAMPLES_FILE_BYTES if rel.parts[0] == SAMPLES_DIR else MAX_OTHER_FILE_BYTES


@contextmanager
def open_archive(path: Path, report: Report) -> Iterator[Path | None]:
    """Extract a `.tar.gz` bundle into a temporary folder after checking every member's header;
    None when the archive is refused (the reasons are in `report`)."""
    tmp = Path(tempfile.mkdtemp(prefix="cpt-check-"))
    try:
        try:
            archive = tarfile.open(path, "r:*")
        except (tarfile.TarError, OSError) as e:
            report.add(f"not a readable tar archive ({e})", file=path.name)
            yield None
            return
        with archive:
            members, total, ok = [], 0, True
            for member in archive:  # headers only: nothing is extracted yet
                members.append(member)
                name = member.name.lstrip("./") or "."
                rel = PurePosixPath(name)
                if member.issym() or member.islnk():
                    report.add("link in the archive (symlinks and hard links are refused)", file=member.name)
                    ok = False
                elif not (member.isfile() or member.isdir()):
                    report.add("special file in the archive", file=member.name)
                    ok = False
                elif PurePosixPath(member.name).is_absolute() or ".." in PurePosixPath(member.name).parts:
                    report.add("path leaves the bundle", file=member.name)
                    ok = False
                elif member.isfile() and member.size > _cap(rel):
                    report.add(f"file of {member.size} bytes, over the cap of {_cap(rel)}", file=member.name)
                    ok = False
                total += member.size
                if total > MAX_TOTAL_BYTES or len(members) > MAX_FILES:
                    report.add(f"archive expands past the limit ({MAX_TOTAL_BYTES} bytes, {MAX_FILES} files)", file=path.name)
                    ok = False
                    break
            if not ok:
                yield None
                return
            archive.extractall(tmp, members=members, filter="data")
        # A bundle packed with its folder name as the top level: use that folder.
        entries = [p for p in tmp.iterdir()]
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() and not (tmp / "results.json").exists() else tmp
        yield root
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def scan_folder(folder: Path, report: Report) -> bool:
    """Every entry of the bundle folder is a plain file or folder inside the layout and its caps."""
    ok, total, count = True, 0, 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = PurePosixPath(path.relative_to(folder).as_posix())
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                report.add("symlink (refused: it may point outside the bundle)", file=str(rel))
                ok = False
            elif stat.S_ISDIR(st.st_mode):
                if not (rel == PurePosixPath(SAMPLES_DIR) or (len(rel.parts) == 2 and rel.parts[0] == SAMPLES_DIR)):
                    report.add("unexpected folder", file=str(rel))
                    ok = False
            elif not stat.S_ISREG(st.st_mode):
                report.add("special file", file=str(rel))
                ok = False
            elif not allowed(rel):
                report.add("unexpected file (a bundle holds results.json, submission.json, report.md, heatmap.png, samples/stage*/…jsonl)", file=str(rel))
                ok = False
            elif st.st_size > _cap(rel):
                report.add(f"file of {st.st_size} bytes, over the cap of {_cap(rel)}", file=str(rel))
                ok = False
            else:
                total += st.st_size
                count += 1
    if total > MAX_TOTAL_BYTES or count > MAX_FILES:
        report.add(f"bundle larger than the limit ({MAX_TOTAL_BYTES} bytes, {MAX_FILES} files)")
        ok = False
    return ok


def _read_text(path: Path, rel: str, report: Report) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        report.add(f"not UTF-8 (byte {e.start})", file=rel)
    except OSError as e:
        report.add(f"unreadable ({e.strerror})", file=rel)
    return None


def _read_json(path: Path, rel: str, report: Report) -> Any:
    text = _read_text(path, rel, report)
    if text is None:
        return None
    try:
        return user_json.parse(text)
    except user_json.InvalidJSON as e:
        report.add(str(e), file=rel)
        return None


# ---- the bundle's content ---------------------------------------------------------------------

def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@dataclass
class Checked:
    """What `check_content` verified, for spot regeneration: per column its task and the samples
    it expects; per (stage, column) the submitted responses by sample id."""

    tasks: dict[str, tuple[Any, list[Any]]] = field(default_factory=dict)
    responses: dict[tuple[int, str], dict[str, str]] = field(default_factory=dict)


def check_content(folder: Path, results: Results, report: Report) -> Checked:
    """Steps 3 to 5 of the module docstring (problems go to `report`); returns what was checked."""
    from harness.eval.lmeval_names import is_lmeval_spec
    from harness.runs.fingerprint import FingerprintCache

    checked = Checked()
    stages, columns, general = results["stages"], results["columns"], results["general"]
    full_sequence = _stage_layout(results, report)
    if full_sequence is None:
        return checked
    values: dict[tuple[int, str], list[float]] = {}
    valid: dict[tuple[int, str], list[bool]] = {}
    cache = FingerprintCache(None)
    for spec in columns:
        info = results["tasks"][spec]
        if is_lmeval_spec(spec):
            if spec not in general:
                report.add("an lm-eval column cannot be a trained task", file="results.json", task=spec)
            else:
                _check_lmeval_column(folder, spec, info, len(stages), values, valid, report)
            continue
        found = _column_task(spec, info, results["generation"], report, cache)
        if found is None:
            continue
        task, expected = checked.tasks[spec] = found
        for stage in range(len(stages)):
            scores = _check_sample_file(folder, stage, spec, task, info["protocol"], expected, report, checked)
            if scores is not None:
                values[(stage, spec)] = [scores[s.id].value if s.id in scores else 0.0 for s in expected]
                valid[(stage, spec)] = [scores[s.id].valid if s.id in scores else False for s in expected]
    report.checked["stages"], report.checked["tasks"] = len(stages), len(columns)
    if not report.problems:
        _check_figures(results, full_sequence, values, valid, report)
    return checked


def _stage_layout(results: Results, report: Report) -> list[str] | None:
    """The trained sequence (stage 1 onwards), or None (with the problem reported) when the
    stages or columns are not laid out as `harness eval` writes them."""
    stages = results["stages"]
    indices = [s["index"] for s in stages]
    if indices != list(range(len(stages))):
        report.add(f"stages are numbered {indices}, not 0..{len(stages) - 1}", file="results.json")
        return None
    full_sequence = [s["task"] for s in stages[1:]]
    if stages[0]["task"] is not None or any(t is None for t in full_sequence):
        report.add("stage 0 must be the base (task null) and every later stage must name its task", file="results.json")
        return None
    columns, sequence, general = results["columns"], results["sequence"], results["general"]
    if columns != sequence + general or sorted(columns) != sorted(results["tasks"]):
        report.add("columns must be the sequence then the general tasks, each described under `tasks`", file="results.json")
        return None
    if any(t not in full_sequence for t in sequence):
        report.add("the sequence lists a task no stage trained", file="results.json")
        return None
    return full_sequence


def _column_task(spec: str, info: dict[str, Any], generation: dict[str, Any], report: Report, cache: Any) -> tuple[Any, list[Any]] | None:
    """The column's task and the samples it must hold, when its record is this harness's (task,
    version, protocol, style, contract, generation hash, skips, data hash, count); else None,
    or the pair with the differences reported."""
    from harness.generation.loop import generation_hash
    from harness.runs.fingerprint import sample_digest
    from tasks import get_task
    from tasks.base import stable_hash

    def problem(text: str) -> None:
        report.add(text, file="results.json", task=spec)

    try:
        task = get_task(spec)
    except HarnessError as e:
        return problem(f"unknown task ({e})")
    if task.spec != spec:
        return problem(f"not a canonical task spec (this harness writes {task.spec!r})")
    if info["version"] != task.version:
        return problem(f"task version {info['version']!r}, but this harness's {task.name} is version {task.version!r}: re-evaluate")
    if info["protocol"] not in task.available_protocols():
        return problem(f"unknown protocol {info['protocol']!r} (protocols: {', '.join(task.available_protocols())})")
    expected_preset = task.preset.name if task.preset is not None else None
    if info["style"] != task.style or info["preset"] != expected_preset:
        problem(f"style {info['style']!r} and preset {info['preset']!r} are not the task's ({task.style!r}, {expected_preset!r})")
    if not _same(info["contract"], task.contract().to_dict()):
        problem("generation contract differs from the task's")
    if info["gen_hash"] != generation_hash(task.contract(), generation["backend"], generation["seed"]):
        problem("generation hash does not match the task's contract, the backend and the seed")
    try:
        samples = task.load("test")
    except HarnessError as e:
        return problem(f"cannot load the task's data to check against ({e})")
    limit = generation["limit"]
    try:  # the task's own skips (rows it cannot ask, over-long prompts; missing images only with skip_missing_images)
        expected, reasons_here = task.eval_samples(samples[:limit] if limit is not None else samples)
    except HarnessError as e:
        return problem(f"cannot check the task's samples here ({e})")
    skipped_here = [sid for ids in reasons_here.values() for sid in ids]
    if sorted(info["skipped_ids"]) != sorted(skipped_here) or info["skip_reasons"] != reasons_here:
        return problem(f"skipped ids {info['skipped_ids'][:5]} are not the task's own skips {skipped_here[:5]}")
    if info["data_hash"] != stable_hash([sample_digest(s, cache) for s in expected], n=24):
        problem("data hash differs from the task's samples (other data, or other skipped ids)")
    if info["n"] != len(expected):
        problem(f"n = {info['n']}, but the task has {len(expected)} samples here")
    return task, expected


def _check_sample_file(folder: Path, stage: int, spec: str, task: Any, protocol: str, expected: list[Any],
                       report: Report, checked: Checked) -> dict[str, Any] | None:
    """Every row of one per-sample file re-scored and compared; sample id -> our score, or None
    when the file is missing or unreadable. Each sample must appear once, and no other."""
    rel = sample_file(stage, spec)
    rows = _read_rows(folder / rel, rel, stage, spec, report)
    if rows is None:
        return None
    by_id = {s.id: s for s in expected}
    scores: dict[str, Any] = {}
    seen: set[str] = set()
    for line_no, row in rows:
        sid = row["id"]
        where = {"file": rel, "stage": stage, "task": spec, "sample": sid}
        if sid in seen:
            report.add(f"line {line_no}: duplicate sample", **where)
            continue
        seen.add(sid)
        sample = by_id.get(sid)
        if sample is None:
            report.add(f"line {line_no}: unknown sample id", **where)
            continue
        score = scores[sid] = task.score_as(protocol, row["response"], sample)
        checked.responses.setdefault((stage, spec), {})[sid] = row["response"]
        for key, stored, ours in (("target", row["target"], sample.target), ("score", row["score"], score.value),
                                  ("valid", row["valid"], score.valid), ("extracted", row["extracted"], score.extracted),
                                  ("parts", row["parts"], score.parts)):
            if not _same(json.loads(json.dumps(stored)), json.loads(json.dumps(ours))):
                report.add(f"line {line_no}: {key} {stored!r} differs from the re-scored {ours!r}", **where)
    missing = [s.id for s in expected if s.id not in seen]
    if missing:
        report.add(f"{len(missing)} samples missing (first: {', '.join(missing[:3])})", file=rel, stage=stage, task=spec)
    return scores


def _check_figures(results: Results, full_sequence: list[str], values: dict[tuple[int, str], list[float]],
                   valid: dict[tuple[int, str], list[bool]], report: Report) -> None:
    """The accuracy matrix and every metric, recomputed from the re-scored values, must equal
    what results.json reports."""
    from harness.results.summary import summarize

    summary = summarize(len(results["stages"]), results["columns"], results["sequence"], full_sequence, results["general"],
                        values, valid, results["generation"]["seed"])
    if not _same(summary["accuracy"], results["accuracy"]):
        report.add("accuracy matrix differs from the one recomputed from the per-sample scores", file="results.json")
    for key, ours in summary["metrics"].items():
        if not _same(results["metrics"].get(key), ours):
            report.add(f"metric {key} differs from the recomputed value ({json.dumps(ours)[:200]})", file="results.json")


LMEVAL_NOTE = ("{spec}: an lm-eval column; its per-document scores are lm-eval's, taken as submitted (checked for "
               "completeness, range and consistency with every figure, not re-scored: that needs lm-eval and the task's data)")


def _check_lmeval_column(folder: Path, spec: str, info: dict[str, Any], n_stages: int,
                         values: dict[tuple[int, str], list[float]], valid: dict[tuple[int, str], list[bool]], report: Report) -> None:
    """An lm-eval column (`harness.eval.lmeval_bridge`): what results.json records of lm-eval is
    present; every stage holds the same documents, once each, as many as `n`; each score is in
    [0, 1] and valid, its response is its extracted answer; the data hash covers (id, target).
    The figures are then recomputed from these scores like any column's."""
    from tasks.base import stable_hash

    record = info.get("lm_eval")
    needed = ("version", "task", "config_hash", "metric", "filter")
    if info.get("family") != "lm-eval" or not isinstance(record, dict) or any(not isinstance(record.get(k), str) for k in needed):
        report.add(f"lm-eval column without its lm-eval record ({', '.join(needed)})", file="results.json", task=spec)
        return
    if info["protocol"] != f"lm-eval:{record['metric']},{record['filter']}" or info["gen_hash"] != record["config_hash"]:
        report.add("protocol or hash differs from the lm-eval record", file="results.json", task=spec)
    first_ids: list[str] | None = None
    for stage in range(n_stages):
        rel = sample_file(stage, spec)
        rows = _read_rows(folder / rel, rel, stage, spec, report)
        if rows is None:
            continue
        ids = [row["id"] for _, row in rows]
        if len(set(ids)) != len(ids) or len(ids) != info["n"]:
            report.add(f"{len(ids)} rows ({len(set(ids))} distinct ids), but n = {info['n']}", file=rel, stage=stage, task=spec)
            continue
        if first_ids is None:
            first_ids = ids
            if stable_hash([[row["id"], row["target"]] for _, row in rows], n=24) != info["data_hash"]:
                report.add("data hash differs from the rows' (id, target)", file=rel, stage=stage, task=spec)
        elif ids != first_ids:
            report.add("documents differ from stage 0's", file=rel, stage=stage, task=spec)
            continue
        for line_no, row in rows:
            score = row["score"]
            if not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0 or row["valid"] is not True or row["extracted"] != row["response"]:
                report.add(f"line {line_no}: an lm-eval row holds a score in [0, 1], valid true and its response as extracted",
                           file=rel, stage=stage, task=spec, sample=row["id"])
        values[(stage, spec)] = [float(row["score"]) for _, row in rows]
        valid[(stage, spec)] = [True for _ in rows]
    report.notes.append(LMEVAL_NOTE.format(spec=spec))


def _backend_of(identity: str) -> tuple[str, dict[str, Any]] | None:
    """The backend name and options that produce a recorded backend identity, or None."""
    parts = identity.split(":")
    if parts[0] == "hf":
        if len(parts) == 3 and parts[2].startswith("padded") and parts[2][6:].isdigit():
            return "hf", {"batching": "padded", "batch_size": int(parts[2][6:])}
        return ("hf", {"batching": "exact"}) if len(parts) == 2 else None
    if parts[0].startswith("vllm-"):
        return "vllm", {}
    return None


def spot_regenerate(results: Results, checked: Checked, checkpoint_dir: Path, k: int, seed: int,
                    report: Report, allow_external_paths: bool = False) -> None:
    """Regenerate `k` samples per stage x task (drawn with `seed`, recorded) from the submitted
    checkpoints with the bundle's backend and contract, and count how many equal the submitted
    responses. On the same backend identity (backend, version, dtype, batching) greedy responses
    must all match; with another identity the count is reported, not judged."""
    import random

    from harness.runs.checkpoints import load_run
    from harness.engine import Request, backend_identity, open_backend
    from harness.runs.fingerprint import FingerprintCache, fingerprint

    recorded = results["generation"]["backend"]
    backend = _backend_of(recorded)
    if backend is None:
        report.add(f"cannot regenerate with backend {recorded!r} here (hf and vllm identities only)")
        return
    name, options = backend
    run = load_run(checkpoint_dir, allow_external_paths=allow_external_paths)
    if len(run.stages) != len(results["stages"]):
        report.add(f"{checkpoint_dir} has {len(run.stages)} stages, the bundle {len(results['stages'])}")
        return
    cache = FingerprintCache(None)
    local = backend_identity(name, **options)
    same_identity = local == recorded
    if not same_identity:
        report.notes.append(f"regenerating with {local}, the bundle used {recorded}: counts are reported, not judged")
    gen_seed = results["generation"]["seed"]
    summary: dict[str, Any] = {"k": k, "seed": seed, "backend": local, "cells": []}
    for stage, recorded_stage in zip(run.stages, results["stages"]):
        fp = fingerprint(stage.local, cache)
        if fp != recorded_stage["fingerprint"]:
            report.add(f"checkpoint {stage.path} has fingerprint {fp}, the bundle names {recorded_stage['fingerprint']}", stage=stage.index)
            continue
        engine = None
        try:
            for spec, (task, samples) in checked.tasks.items():
                rng = random.Random(f"{seed}:{stage.index}:{spec}")
                drawn = sorted(rng.sample(range(len(samples)), min(k, len(samples))))
                picked = [samples[i] for i in drawn]
                if engine is None:
                    engine = open_backend(name, str(stage.local), seed=gen_seed, **options)
                requests = [Request.for_sample(s, spec, gen_seed) for s in picked]
                fresh = {req.id: text for batch in engine.generate(requests, task.contract()) for req, text in batch}
                submitted = checked.responses[(stage.index, spec)]
                matches = sum(fresh[s.id] == submitted.get(s.id) for s in picked)
                summary["cells"].append({"stage": stage.index, "task": spec, "ids": [s.id for s in picked], "matches": matches})
                if same_identity and matches < len(picked):
                    first = next(s.id for s in picked if fresh[s.id] != submitted.get(s.id))
                    report.add(f"regenerated {matches} of {len(picked)} responses identically (first difference: sample {first})",
                               stage=stage.index, task=spec)
        finally:
            if engine is not None:
                engine.close()
    total = sum(len(c["ids"]) for c in summary["cells"])
    summary["matched"], summary["total"] = sum(c["matches"] for c in summary["cells"]), total
    report.checked["regeneration"] = summary


def _read_rows(path: Path, rel: str, stage: int, spec: str, report: Report) -> list[tuple[int, dict[str, Any]]] | None:
    if not path.is_file():
        report.add("per-sample file missing", file=rel, stage=stage, task=spec)
        return None
    text = _read_text(path, rel, report)
    if text is None:
        return None
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema("results.schema.json")["$defs"]["sample_row"])
    rows = []
    for line_no, line in enumerate(lines_of(text), start=1):
        try:
            row = user_json.parse(line)
        except user_json.InvalidJSON as e:
            report.add(f"line {line_no}: {e}", file=rel, stage=stage, task=spec)
            return None
        error = next(iter(validator.iter_errors(row)), None)
        if error is not None:
            report.add(f"line {line_no}: not a sample row ({error.message[:150]})", file=rel, stage=stage, task=spec)
            return None
        rows.append((line_no, row))
    return rows


def check_bundle(path: str | Path, checkpoint_dir: str | Path | None = None, regenerate: int = 0, seed: int = 0,
                 allow_external_paths: bool = False) -> Report:
    """Check the bundle at `path` (folder or .tar.gz); see the module docstring. With
    `checkpoint_dir` and `regenerate` K > 0, also spot-regenerate K samples per stage x task."""
    path = Path(path)
    spot = (Path(checkpoint_dir), regenerate, seed, allow_external_paths) if checkpoint_dir is not None and regenerate > 0 else None
    report = Report(str(path))
    if path.is_symlink():
        report.add("the bundle itself is a symlink", file=str(path))
        return report
    if path.is_file():
        with open_archive(path, report) as root:
            if root is not None:
                _check_folder(root, report, spot)
        return report
    if not path.is_dir():
        raise HarnessError(f"bundle not found: {path}")
    _check_folder(path, report, spot)
    return report


def _check_folder(folder: Path, report: Report, spot: tuple | None = None) -> None:
    if not scan_folder(folder, report):
        return
    if not (folder / "results.json").is_file():
        report.add("results.json missing")
        return
    results = _read_json(folder / "results.json", "results.json", report)
    if results is None:
        return
    errors = schema_errors(results, "results.schema.json")
    for error in errors:
        report.add(f"schema: {error}", file="results.json")
    if (folder / "submission.json").is_file():
        submission = _read_json(folder / "submission.json", "submission.json", report)
        if submission is not None:
            for error in schema_errors(submission, "submission.schema.json"):
                report.add(f"schema: {error}", file="submission.json")
            report.checked["submission"] = submission
    else:
        report.notes.append("no submission.json: method metadata missing (harness bundle OUT --meta FILE adds it)")
    if errors or report.problems:
        return
    checked = check_content(folder, results, report)
    if spot is not None and not report.problems:
        checkpoint_dir, k, seed, allow_external = spot
        spot_regenerate(results, checked, checkpoint_dir, k, seed, report, allow_external)
