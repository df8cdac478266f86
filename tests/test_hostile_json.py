"""JSON a user hands in goes through one reader (`tasks.user_json`): nesting past Python's
recursion limit, a key given twice, NaN, and (in a bundle) keys the format does not have are
refused in one line, in every kind of input: response and data files for `harness score`, run
manifests and checkpoint configs for `harness eval`, bundles for `harness check`, the store."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.eval.evaluate import run_eval
from harness.generation.store import ResponseStore, _parse
from harness.runs.checkpoints import load_run
from tasks import user_json
from tasks.errors import HarnessError

DEEP = "[" * 200_000 + "]" * 200_000  # 400 KB; Python's json raises RecursionError on it


def _cli(*args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stderr


def _one_line(code: int, err: str, needle: str) -> None:
    assert code == 2 and "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], err


def test_the_reader_refuses_what_python_json_lets_through():
    depth = user_json.MAX_DEPTH
    for text, reason in [
        (DEEP, "nested deeper than"),
        ("[" * (depth + 1) + "]" * (depth + 1), "nested deeper than"),
        ('{"a": 1, "b": {"c": 2, "c": 3}}', "key 'c' appears twice"),
        ('{"score": NaN}', "NaN is not JSON"),
        ('[1, -Infinity]', "-Infinity is not JSON"),
        ('{"a": 1', r"not valid JSON \(Expecting"),
        (b'{"a": "\xff"}', r"not UTF-8 \(byte 7\)"),
    ]:
        with pytest.raises(user_json.InvalidJSON, match=reason):
            user_json.parse(text)
    with pytest.raises(HarnessError, match=r"^f.json:3: nested deeper"):
        user_json.loads(DEEP, "f.json:3")


def test_the_depth_limit_admits_every_file_the_harness_writes():
    """The limit is far above what the harness writes: the deepest value of a real bundle."""
    depth = user_json.MAX_DEPTH
    nested: list = []
    for _ in range(depth - 1):
        nested = [nested]
    assert user_json.parse(json.dumps(nested)) == nested


@pytest.fixture()
def geo_items(tmp_path) -> Path:
    path = tmp_path / "geo.json"
    path.write_text(json.dumps([{"messages": [{"role": "user", "content": f"x = ? ({i})"}, {"role": "assistant", "content": str(i)}],
                                 "images": []} for i in range(3)]))
    return path


@pytest.mark.parametrize("line, needle", [
    (DEEP, "r.jsonl:2: nested deeper than 64 levels"),
    ('{"id": "0", "response": "a", "response": "b"}', "r.jsonl:2: key 'response' appears twice"),
])
def test_score_refuses_a_hostile_responses_file_in_one_line(tmp_path, geo_items, line, needle):
    responses = tmp_path / "r.jsonl"
    responses.write_text('{"id": "1", "response": "1"}\n' + line + "\n")
    code, err = _cli("score", "--task", "geometry3k:style=direct", "--data", str(geo_items), "--responses", str(responses),
                     "--out", str(tmp_path / "s.jsonl"))
    _one_line(code, err, needle)
    assert not (tmp_path / "s.jsonl").exists()


@pytest.mark.parametrize("text, needle", [(DEEP, "nested deeper than"), ('[{"messages": [], "messages": []}]', "key 'messages' appears twice")])
def test_score_refuses_a_hostile_data_file_in_one_line(tmp_path, text, needle):
    data = tmp_path / "geo.json"
    data.write_text(text)
    responses = tmp_path / "r.jsonl"
    responses.write_text('{"id": "0", "response": "1"}\n')
    code, err = _cli("score", "--task", "geometry3k:style=direct", "--data", str(data), "--responses", str(responses),
                     "--out", str(tmp_path / "s.jsonl"))
    _one_line(code, err, f"geo.json: {needle}")


@pytest.mark.parametrize("target, hostile, needle", [
    ("manifest.json", DEEP, "manifest.json: nested deeper than"),
    ("manifest.json", '{"base": "base", "base": "stage1", "stages": []}', "manifest.json: key 'base' appears twice"),
    ("stage1/config.json", None, "config.json: key 'model_type' appears twice"),
    ("stage1/config.json", DEEP, "config.json: nested deeper than"),
])
def test_eval_refuses_a_hostile_manifest_or_config_before_any_work(tmp_path, tiny_run, target, hostile, needle):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    path = run / target
    if hostile is None:  # the same key given twice, with two values: which one would a loader take?
        text = path.read_text()
        hostile = text.replace("{", '{"model_type": "llama",', 1)
    path.write_text(hostile)
    out = tmp_path / "out"
    code, err = _cli("eval", "--checkpoint-dir", str(run), "--tasks", "toy_science", "--limit", "2", "--out", str(out),
                     "--store", str(tmp_path / "store"), "--no-progress")
    _one_line(code, err, needle)
    assert not out.exists() and not (tmp_path / "store").exists()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, tiny_run) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "out"
    run_eval(load_run(tiny_run), out, out.parent / "store", limit=3, progress=False)
    return out


def _edited(bundle: Path, tmp_path: Path, edit) -> Path:
    folder = tmp_path / "b"
    shutil.copytree(bundle, folder)
    results = folder / "results.json"
    results.write_text(edit(results.read_text()))
    return folder


def _added_key(where: str, key: str):
    def edit(text: str) -> str:
        results = json.loads(text)
        (results if where == "top" else results[where])[key] = 1.0
        return json.dumps(results)
    return edit


@pytest.mark.parametrize("edit, needle", [
    (lambda text: DEEP, "results.json: nested deeper than 64 levels"),
    (lambda text: text.replace("{", '{"bundle_format": 3,', 1), "results.json: key 'bundle_format' appears twice"),
    (_added_key("top", "score_override"), "Additional properties are not allowed ('score_override' was unexpected)"),
    (_added_key("metrics", "fm_corrected"), "metrics: Additional properties are not allowed ('fm_corrected' was unexpected)"),
])
def test_check_rejects_hostile_results_json_in_one_line(bundle, tmp_path, capsys, edit, needle):
    folder = _edited(bundle, tmp_path, edit)
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "Traceback" not in out
    problems = [line for line in out.splitlines() if needle in line]
    assert len(problems) == 1, out
    assert out.strip().endswith("rejected (1 problems)"), out


def test_check_rejects_a_hostile_sample_line(bundle, tmp_path, capsys):
    folder = tmp_path / "b"
    shutil.copytree(bundle, folder)
    rows = sorted((folder / "samples").rglob("*.jsonl"))[0]
    rows.write_text(rows.read_text() + DEEP + "\n")
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "nested deeper than 64 levels" in out and "Traceback" not in out


def test_a_hostile_store_line_is_corruption_named_in_one_line(tmp_path):
    good = {"fingerprint": "f" * 16, "task": "t", "task_version": "1", "sample_id": "s", "sample_hash": "h", "gen_hash": "g",
            "response": "r", "backend": "hf"}
    assert _parse(json.dumps(good).encode()) == good
    store = ResponseStore(tmp_path / "store")
    store.append([good])
    path = store.file_for(good["fingerprint"], "t")
    for line in (DEEP, json.dumps(good).replace("{", '{"response": 1,', 1)):
        path.write_text(json.dumps(good) + "\n" + line + "\n")
        with pytest.raises(HarnessError, match=r"^corrupt response store record at .*t\.jsonl:2; "):
            store.load(good["fingerprint"], "t")


def test_json_lines_split_at_newlines_only():
    """A row whose string holds U+2028, U+0085 or \\x1c stays one row (str.splitlines would cut it)."""
    import json

    from harness.files import lines_of
    from tasks import user_json

    rows = [{"response": "a\u2028b\x85c\x1cd\u2029e"}, {"response": "plain"}]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    assert len(text.splitlines()) > 2  # the trap
    assert [user_json.parse(line) for line in lines_of(text)] == rows
    assert lines_of("") == [] and lines_of("x") == ["x"]
