"""`harness check`: a valid bundle passes, as a folder and packed; each way of tampering with it
is rejected with its own message; the checker never follows links or extracts past its limits."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from harness.check import checker
from harness.cli import main
from harness.eval.evaluate import run_eval
from harness.results.bundle import make_bundle
from harness.runs.checkpoints import load_run


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, tiny_run) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "out"
    run_eval(load_run(tiny_run), out, out.parent / "store", limit=6, progress=False)
    return out


def _copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "b"
    shutil.copytree(bundle, target)
    return target


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write_rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _edit_results(folder: Path, edit) -> None:
    results = json.loads((folder / "results.json").read_text())
    edit(results)
    (folder / "results.json").write_text(json.dumps(results))


def _lines(folder: Path) -> list[str]:
    report = checker.check_bundle(folder)
    assert not report.accepted
    return [p.line() for p in report.problems]


def test_the_untouched_bundle_passes_as_folder_and_archive(bundle, tmp_path, capsys):
    report = checker.check_bundle(bundle)
    assert report.accepted, [p.line() for p in report.problems]
    assert report.checked == {"stages": 3, "tasks": 3}
    meta = tmp_path / "submission.toml"
    meta.write_text('method = "seed-i tiny stages"\nbase_model = "tiny"\ntraining_data = "none"\ncode = "tests"\n'
                    'contact = "maintainers"\nlicence = "Apache-2.0"\ntrack = "toy"\n')
    folder = _copy(bundle, tmp_path)
    archive = make_bundle(folder, meta, tmp_path / "b.tar.gz")
    first = archive.read_bytes()
    make_bundle(folder, meta, archive)
    assert archive.read_bytes() == first  # packing is deterministic
    assert main(["check", str(archive), "--report", str(tmp_path / "report.json")]) == 0
    assert capsys.readouterr().out.strip().endswith("b.tar.gz: accepted")
    assert json.loads((tmp_path / "report.json").read_text())["checked"]["submission"]["method"] == "seed-i tiny stages"


def test_tampering_is_rejected_each_with_its_own_message(bundle, tmp_path, monkeypatch):
    cases = {}

    def case(name, expected, tamper):
        folder = tmp_path / name
        shutil.copytree(bundle, folder)
        tamper(folder)
        cases[name] = (folder, expected)

    stage1 = "samples/stage1/toy_science.jsonl"

    def edit_row(index, **changes):
        def tamper(folder):
            rows = _rows(folder / stage1)
            rows[index].update(changes)
            _write_rows(folder / stage1, rows)
        return tamper

    rows = _rows(bundle / stage1)
    wrong = next(i for i, r in enumerate(rows) if r["score"] == 0.0)
    gold = rows[wrong]["target"]

    case("edited metric", "metric avg_acc differs from the recomputed value",
         lambda f: _edit_results(f, lambda r: r["metrics"].update(avg_acc=r["metrics"]["avg_acc"] + 1)))
    case("edited accuracy", "accuracy matrix differs", lambda f: _edit_results(f, lambda r: r["accuracy"][1].__setitem__(0, 100.0)))
    case("edited score", "score 1.0 differs from the re-scored 0.0", edit_row(wrong, score=1.0))
    case("edited response, old score kept", f"extracted {rows[wrong]['extracted']!r} differs from the re-scored {gold!r}",
         edit_row(wrong, response=f"<think>sure</think> \\boxed{{{gold}}}"))
    case("edited gold", "target 'Z' differs", edit_row(wrong, target="Z"))

    def drop(folder):
        _write_rows(folder / stage1, _rows(folder / stage1)[1:])
    case("dropped sample", "1 samples missing (first: test-00000)", drop)

    def duplicate(folder):
        r = _rows(folder / stage1)
        _write_rows(folder / stage1, r + [r[0]])
    case("duplicated sample", "duplicate sample", duplicate)
    case("unknown sample id", "unknown sample id", edit_row(0, id="test-99999"))

    def skip_hard_one(folder):
        drop(folder)
        _edit_results(folder, lambda r: r["tasks"]["toy_science"].update(skipped_ids=["test-00000"]))
    case("skipped a sample", "skipped ids ['test-00000'] are not the task's own skips []", skip_hard_one)
    case("wrong task version", "task version '0', but this harness's toy_science is version",
         lambda f: _edit_results(f, lambda r: r["tasks"]["toy_science"].update(version="0")))
    case("missing stage", "samples/stage2/toy_count.jsonl: stage 2, task toy_count: per-sample file missing",
         lambda f: shutil.rmtree(f / "samples" / "stage2"))
    case("symlink out of the bundle", "report.md: symlink", lambda f: os.symlink("/etc/hostname", f / "report.md"))
    case("non-UTF-8 file", "not UTF-8", lambda f: (f / stage1).write_bytes((f / stage1).read_bytes() + b"\xff\xfe\n"))
    case("malformed row", "not a sample row", lambda f: (f / stage1).write_text('{"id": "x"}\n'))
    case("unexpected file", "unexpected file", lambda f: (f / "model.bin").write_bytes(b"\x80\x04"))
    case("schema", "schema: generation/batch_size", lambda f: _edit_results(f, lambda r: r["generation"].update(batch_size="8")))
    monkeypatch.setattr(checker, "MAX_OTHER_FILE_BYTES", 64 << 10)
    case("oversized file", "report.md: file of", lambda f: (f / "report.md").write_text("x" * (65 << 10)))

    for name, (folder, expected) in cases.items():
        lines = _lines(folder)
        assert any(expected in line for line in lines), f"{name}: {lines}"
    assert len(cases) >= 12


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def test_hostile_archives_are_refused_before_extraction(bundle, tmp_path, monkeypatch):
    results = (bundle / "results.json").read_bytes()

    def file(name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        return info, data

    traversal = _tar(tmp_path / "traversal.tar.gz", [file("results.json", results), file("../evil.txt", b"x")])
    assert any("../evil.txt: path leaves the bundle" in line for line in _lines(traversal))
    assert not (tmp_path / "evil.txt").exists()

    link = tarfile.TarInfo("report.md")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    linked = _tar(tmp_path / "link.tar.gz", [file("results.json", results), (link, None)])
    assert any("report.md: link in the archive" in line for line in _lines(linked))

    monkeypatch.setattr(checker, "MAX_TOTAL_BYTES", 1 << 20)
    bomb = _tar(tmp_path / "bomb.tar.gz", [file("results.json", results)] + [file(f"samples/stage{i}/x.jsonl", b"\0" * (600 << 10)) for i in range(3)])
    assert bomb.stat().st_size < 20_000  # megabytes of zeros in a few kilobytes
    assert any("archive expands past the limit" in line for line in _lines(bomb))

    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive")
    assert any("not a readable tar archive" in line for line in _lines(garbage))


def test_check_cli_exit_codes(bundle, tmp_path, capsys):
    assert main(["check", str(bundle)]) == 0
    folder = _copy(bundle, tmp_path)
    _edit_results(folder, lambda r: r["metrics"].update(fm=r["metrics"]["fm"] + 1))
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "results.json: metric fm differs" in out and out.strip().endswith("rejected (1 problems)")
    assert main(["check", str(tmp_path / "nope")]) == 2


def test_spot_regeneration_matches_and_catches_swapped_responses(tiny_run, tiny_model, tmp_path, capsys):
    """K = 20 per stage x task regenerated from the submitted checkpoints: all identical on the
    same machine. Responses taken from another run (fingerprints and scores made consistent, so
    every other check passes) are caught."""
    from baselines.tiny_model import build_tiny_model

    store = tmp_path / "store"
    honest = tmp_path / "honest"
    run_eval(load_run(tiny_run), honest, store, limit=20, progress=False)
    assert main(["check", str(honest), "--checkpoint-dir", str(tiny_run), "--regenerate", "20", "--seed", "3",
                 "--report", str(tmp_path / "r.json")]) == 0
    assert "spot regeneration: 180 of 180 responses identical (K=20, seed 3" in capsys.readouterr().out
    regen = json.loads((tmp_path / "r.json").read_text())["checked"]["regeneration"]
    assert regen["seed"] == 3 and all(len(c["ids"]) == 20 for c in regen["cells"])

    other = tmp_path / "other-run"
    shutil.copytree(tiny_run / "base", other / "base")
    for i, seed in ((1, 11), (2, 12)):
        build_tiny_model(other / f"stage{i}", seed=seed)
    (other / "manifest.json").write_text((tiny_run / "manifest.json").read_text())
    swapped = tmp_path / "swapped"
    run_eval(load_run(other), swapped, store, limit=20, progress=False)
    claimed = json.loads((honest / "results.json").read_text())["stages"]
    _edit_results(swapped, lambda r: [s.update(fingerprint=c["fingerprint"]) for s, c in zip(r["stages"], claimed)])
    assert checker.check_bundle(swapped).accepted  # consistent on its own
    report = checker.check_bundle(swapped, tiny_run, regenerate=20)
    lines = [p.line() for p in report.problems]
    assert lines and all("responses identically" in line for line in lines)
    assert any(line.startswith("stage 1, task toy_science: regenerated") for line in lines)


def test_a_bundle_of_some_trained_tasks_passes(tmp_path, tiny_run):
    """Evaluated on one trained task of two, a bundle's sequence metrics are null with a note
    saying why; the closed schema knows that note, so the bundle is accepted."""
    out = tmp_path / "out"
    results = run_eval(load_run(tiny_run), out, tmp_path / "store", task_specs=["toy_science"], limit=3, progress=False)
    assert results["metrics"]["fm"] is None and "every trained task" in results["metrics"]["note"]
    report = checker.check_bundle(out)
    assert report.accepted, [p.line() for p in report.problems]


def test_the_result_types_and_the_schema_name_the_same_keys():
    """`harness.results.types` and `results.schema.json` describe the same records: every key
    of each typed record is a property of its schema object, and the other way round."""
    from harness.results import types
    from harness.results.format import schema

    s = schema("results.schema.json")
    pairs = [
        (types.Results, s), (types.StageRecord, s["properties"]["stages"]["items"]),
        (types.TaskRecord, s["properties"]["tasks"]["additionalProperties"]), (types.Metrics, s["properties"]["metrics"]),
        (types.Generation, s["properties"]["generation"]), (types.SampleRow, s["$defs"]["sample_row"]),
    ]
    for typed, obj in pairs:
        assert set(typed.__annotations__) == set(obj["properties"]), typed.__name__
        assert obj.get("additionalProperties") is False, typed.__name__
