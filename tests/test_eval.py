"""End-to-end evaluation on the tiny model, resumability, and one-line errors for bad input."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.eval.evaluate import run_eval
from harness.runs.checkpoints import load_run


def _eval(run, out, store, **kw):
    return run_eval(load_run(run), out, store, limit=kw.pop("limit", 6), progress=False, **kw)


def _sample_files(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in sorted((out / "samples").rglob("*.jsonl"))}


def test_end_to_end_eval_and_rerun_generates_nothing(tmp_path, tiny_run):
    store = tmp_path / "store"
    first = _eval(tiny_run, tmp_path / "out1", store)
    assert first["sequence"] == ["toy_science", "toy_count"] and first["general"] == ["toy_mcq10"]
    assert len(first["accuracy"]) == 3 and all(len(r) == 3 for r in first["accuracy"])
    assert first["run_stats"]["generated"] == 3 * 3 * 6
    assert len({s["fingerprint"] for s in first["stages"]}) == 3
    m = first["metrics"]
    assert set(m["invalid_rate"]) == {"toy_science", "toy_count", "toy_mcq10"}
    assert "toy_mcq10" in m["general_deltas"] and m["fm"] is not None
    from tasks import TASKS

    assert first["tasks"]["toy_count"]["version"] == TASKS["toy_count"].version and first["tasks"]["toy_count"]["n"] == 6
    rows = [json.loads(line) for line in (tmp_path / "out1/samples/stage2/toy_count.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"test-{i:05d}" for i in range(6)]
    assert {"response", "extracted", "score", "valid", "target"} <= set(rows[0])

    second = _eval(tiny_run, tmp_path / "out2", store)
    assert second["run_stats"]["generated"] == 0
    assert second["accuracy"] == first["accuracy"]
    assert _sample_files(tmp_path / "out2") == _sample_files(tmp_path / "out1")

    more = _eval(tiny_run, tmp_path / "out3", store, limit=8)  # only the 2 new samples per cell
    assert more["run_stats"]["generated"] == 3 * 3 * 2


def test_tasks_flag_and_metrics_with_a_task_left_out(tmp_path, tiny_run):
    res = _eval(tiny_run, tmp_path / "out", tmp_path / "store", task_specs=["toy_count", "jigsaw"], limit=3)
    assert res["sequence"] == ["toy_count"] and res["general"] == ["jigsaw"]
    assert res["metrics"]["fm"] is None and "note" in res["metrics"]


def test_run_without_manifest_uses_natural_order(tmp_path, tiny_model, tiny_run):
    folder = tmp_path / "plain"
    folder.mkdir()
    for src, name in (("base", "ckpt0"), ("stage1", "ckpt2"), ("stage2", "ckpt10")):
        shutil.copytree(tiny_run / src, folder / name)
    run = load_run(folder, ["toy_science", "toy_count"])
    assert [s.local.name for s in run.stages] == ["ckpt0", "ckpt2", "ckpt10"]
    assert run.sequence == ["toy_science", "toy_count"]


def _cli(*args) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=300
    )
    return proc.returncode, proc.stdout, proc.stderr


def _assert_one_line_error(code, err, needle):
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], err


def test_bad_input_errors(tmp_path, tiny_run):
    code, _, err = _cli("eval", "--checkpoint-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    _assert_one_line_error(code, err, "checkpoint directory not found")

    broken = tmp_path / "broken"
    shutil.copytree(tiny_run, broken)
    (broken / "stage2" / "model.safetensors").unlink()
    code, _, err = _cli("eval", "--checkpoint-dir", str(broken), "--out", str(tmp_path / "o"))
    _assert_one_line_error(code, err, "stage 2 (toy_count): no model weights")

    code, _, err = _cli("eval", "--checkpoint-dir", str(tiny_run), "--out", str(tmp_path / "o"), "--tasks", "toy_cont")
    _assert_one_line_error(code, err, "unknown task 'toy_cont'; did you mean 'toy_count'?")


def test_corrupt_store_line_is_reported_and_nothing_is_lost(tmp_path, tiny_run):
    store = tmp_path / "store"
    _eval(tiny_run, tmp_path / "out", store, limit=2)
    victim = sorted(store.rglob("toy_count.jsonl"))[0]
    lines = victim.read_bytes().splitlines(keepends=True)
    damaged = lines[0] + b"{garbage\n" + b"".join(lines[1:])
    victim.write_bytes(damaged)
    before = {p: p.read_bytes() for p in store.rglob("*.jsonl")}
    code, _, err = _cli(
        "eval", "--checkpoint-dir", str(tiny_run), "--out", str(tmp_path / "o2"), "--store", str(store),
        "--limit", "2", "--no-progress",
    )
    _assert_one_line_error(code, err, "corrupt response store record")
    assert f"{victim}:2" in err
    assert {p: p.read_bytes() for p in store.rglob("*.jsonl")} == before


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_equals_uninterrupted(tmp_path, tiny_run):
    args = ["eval", "--checkpoint-dir", str(tiny_run), "--limit", "40", "--no-progress", "--batch-size", "4"]
    clean_store, killed_store = tmp_path / "clean", tmp_path / "killed"
    assert main(args + ["--out", str(tmp_path / "clean_out"), "--store", str(clean_store)]) == 0

    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *args, "--out", str(tmp_path / "killed_out"), "--store", str(killed_store)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while time.time() < deadline:  # kill once the second stage has started writing
        if len(list(killed_store.rglob("*.jsonl"))) >= 4:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed_out" / "results.json").exists()

    assert main(args + ["--out", str(tmp_path / "killed_out"), "--store", str(killed_store)]) == 0
    clean = json.loads((tmp_path / "clean_out/results.json").read_text())
    resumed = json.loads((tmp_path / "killed_out/results.json").read_text())
    assert resumed["accuracy"] == clean["accuracy"]
    assert resumed["metrics"]["invalid_rate"] == clean["metrics"]["invalid_rate"]
    assert _sample_files(tmp_path / "killed_out") == _sample_files(tmp_path / "clean_out")
    for path in killed_store.rglob("*.jsonl"):
        keys = [(r["task_version"], r["gen_hash"], r["sample_id"]) for r in map(json.loads, path.read_text().splitlines())]
        assert len(keys) == len(set(keys)), f"duplicated records in {path}"
