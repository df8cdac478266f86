"""What a leaderboard needs to trust a result: the store never mixes data, `harness score`
accounts over the task's samples, a hostile checkpoint never runs code, and bad input fails up
front with one line, before anything is generated or written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hub_fixtures as fx
from harness.errors import HarnessError
from harness.eval.evaluate import run_eval
from harness.eval.score import score_file
from harness.runs.checkpoints import load_run
from tasks import get_task

# ---- helpers -----------------------------------------------------------------------------------


def _cli(*args, stdin: str = "") -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=300, input=stdin)
    return proc.returncode, proc.stdout, proc.stderr


def _one_line_error(code: int, err: str, needle: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], err


def _release_json(path: Path, items: list[tuple[str, str]]) -> Path:
    """A LLaMA-Factory test file (text only): (question, gold) per item."""
    path.write_text(json.dumps([
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}], "images": []} for q, a in items
    ]))
    return path


def _records(store: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(store.rglob("*.jsonl")) for line in p.read_text().splitlines()]


# ---- 2. the store and scoring cannot mix or inflate results -------------------------------------


def test_two_data_files_under_one_spec_never_share_records(tmp_path, tiny_run):
    q = tmp_path / "q.json"
    spec = f"superclevr:data={q},style=direct"
    first = [(f"How many cubes are there? ({i})", str(i)) for i in range(3)]
    second = [(f"How many spheres are there? ({i})", str(i + 1)) for i in range(3)]

    def run(out: str) -> dict:
        return run_eval(load_run(tiny_run), tmp_path / out, tmp_path / "store", task_specs=[spec], progress=False)

    _release_json(q, first)
    assert run("o1")["run_stats"]["generated"] == 3 * 3
    _release_json(q, second)  # other questions and golds at the same path, same spec
    r2 = run("o2")
    assert r2["run_stats"]["generated"] == 3 * 3
    _release_json(q, first)  # back to the first file: its records are found again
    assert run("o3")["run_stats"]["generated"] == 0
    _release_json(q, [first[0], first[1], ("How many cylinders are there?", "2")])  # one item changed
    assert run("o4")["run_stats"]["generated"] == 3 * 1
    assert len(_records(tmp_path / "store")) == 3 * (3 + 3 + 1)


def test_a_local_dataset_folder_rewritten_in_place_is_read_again(tmp_path):
    rows = fx.vizwiz_rows()
    folder = fx.write_hub_folder(tmp_path / "vizwiz", {"default": {"val": rows}}, {"*": fx.VIZWIZ_SCHEMA})
    task = get_task(f"vizwiz:data={folder}")
    before = task.load("test")
    parquet = next(folder.rglob("*.parquet"))
    st = parquet.stat()
    changed = [dict(r, question="What is written on the can?") for r in rows]
    fx.write_parquet(parquet, changed, fx.VIZWIZ_SCHEMA)
    os.utime(parquet, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: datasets' own cache key
    after = task.load("test")
    text = lambda s: s.messages[0]["content"][-1]["text"]  # noqa: E731
    assert text(before[0]) != text(after[0]) and text(after[0]).startswith("\nWhat is written on the can?")


@pytest.fixture()
def four_items(tmp_path) -> Path:
    return _release_json(tmp_path / "geo.json", [(f"x = ? ({i})", str(i)) for i in range(4)])


def _responses(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "response": r}) + "\n" for i, r in rows))
    return path


def test_score_accuracy_is_over_the_tasks_samples(tmp_path, four_items):
    spec = "geometry3k:style=direct"
    copies = _responses(tmp_path / "copies.jsonl", [("0", "\\boxed{0}")] * 601)  # 601 copies of one right answer
    summary = score_file(spec, str(four_items), copies, tmp_path / "s.jsonl")
    assert summary["accuracy"] == 25.0 and summary["missing"] == 3 and summary["answered"] == 1
    assert summary["invalid_rate"] == 75.0 and summary["duplicate_lines"] == 600
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 601  # one line per input line
    two_right = _responses(tmp_path / "two.jsonl", [("0", "\\boxed{0}"), ("1", "\\boxed{1}")])
    assert score_file(spec, str(four_items), two_right, tmp_path / "s.jsonl")["accuracy"] == 50.0
    code, out, _ = _cli("score", "--task", spec, "--data", str(four_items), "--responses", str(two_right), "--out", str(tmp_path / "c.jsonl"))
    assert code == 0 and "accuracy=50.00" in out and "2 of 4 samples have no response" in out


def test_score_refuses_conflicts_empty_files_and_overwriting_its_input(tmp_path, four_items):
    spec = "geometry3k:style=direct"
    out = tmp_path / "s.jsonl"
    out.write_text("previous scores\n")
    conflict = _responses(tmp_path / "conflict.jsonl", [("0", "0"), ("0", "7")])
    with pytest.raises(HarnessError, match="twice with different responses"):
        score_file(spec, str(four_items), conflict, out)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(HarnessError, match="no responses"):
        score_file(spec, str(four_items), empty, out)
    unknown = _responses(tmp_path / "unknown.jsonl", [("0", "0"), ("99", "1")])
    with pytest.raises(HarnessError, match="not in"):
        score_file(spec, str(four_items), unknown, out)
    assert out.read_text() == "previous scores\n"  # replaced only after a success
    good = _responses(tmp_path / "good.jsonl", [("0", "0")])
    code, _, err = _cli("score", "--task", spec, "--data", str(four_items), "--responses", str(good), "--out", str(good))
    _one_line_error(code, err, "is the responses file")
    assert good.read_text() == '{"id": "0", "response": "0"}\n'


# ---- 3. an untrusted checkpoint cannot run code ------------------------------------------------

EVIL = "import pathlib\npathlib.Path({marker!r}).write_text('ran')\nraise SystemExit('code from the checkpoint ran')\n"
# Each names a class transformers does not have, so only the folder's code could provide it: the
# case where transformers asks "trust remote code? [y/N]" (the tests answer "y" on stdin).
HOSTILE = {
    "config": ("config.json", {"auto_map": {"AutoConfig": "evil.EvilConfig", "AutoModelForCausalLM": "evil.Evil"}, "model_type": "evil_vl"}),
    "processor": ("processor_config.json", {"auto_map": {"AutoProcessor": "evil.EvilProcessor"}, "processor_class": "EvilProcessor"}),
    "image-processor": ("preprocessor_config.json", {"auto_map": {"AutoImageProcessor": "evil.EvilImageProcessor"}, "image_processor_type": "EvilImageProcessor"}),
    "tokenizer": ("tokenizer_config.json", {"auto_map": {"AutoTokenizer": ["evil.EvilTokenizer", None]}, "tokenizer_class": "EvilTokenizer"}),
}


def _hostile_run(tmp_path: Path, tiny_run: Path, case: str) -> tuple[Path, Path]:
    run = tmp_path / f"run-{case}"
    shutil.copytree(tiny_run, run)
    marker = tmp_path / f"marker-{case}"
    name, hostile = HOSTILE[case]
    for stage in ("base", "stage1"):
        folder = run / stage
        (folder / "evil.py").write_text(EVIL.format(marker=str(marker)))
        cfg_path = folder / name
        cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
        cfg.update(hostile)
        cfg_path.write_text(json.dumps(cfg))
    return run, marker


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_checkpoint_with_an_auto_map_is_refused_and_never_runs(tmp_path, tiny_run, case):
    run, marker = _hostile_run(tmp_path, tiny_run, case)
    code, _, err = _cli("eval", "--checkpoint-dir", str(run), "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s"),
                        "--limit", "1", "--no-progress", stdin="y\ny\ny\n")
    _one_line_error(code, err, "auto_map")
    assert not marker.exists() and not (tmp_path / "s").exists() and not (tmp_path / "o").exists()
    # Below the gate too: the engine's loaders never trust remote code.
    from harness.engine.hf import load_model, load_processor

    import torch
    for load in (lambda p: load_processor(p), lambda p: load_model(p, torch.float32, "cpu")):
        try:
            load(str(run / "base"))
        except Exception:  # transformers refuses (or the code path is not needed); either way:
            pass
        assert not marker.exists(), case


def test_manifest_paths_stay_inside_the_run_and_hub_ids_need_consent(tmp_path, tiny_run):
    outside = tmp_path / "outside"
    shutil.copytree(tiny_run / "stage1", outside)
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["stages"][0]["path"] = "../outside"
    (run / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = _cli("eval", "--checkpoint-dir", str(run), "--out", str(tmp_path / "o"), "--limit", "1")
    _one_line_error(code, err, "leads outside the checkpoint directory")
    assert load_run(run, allow_external_paths=True).stages[1].local.resolve() == outside.resolve()
    (run / "evil-link").symlink_to(outside, target_is_directory=True)
    manifest["stages"][0]["path"] = "evil-link"
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(HarnessError, match="leads outside"):
        load_run(run)
    manifest["stages"][0]["path"] = "stage1"
    manifest["base"] = "someone/some-model"
    (run / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(run / "base")
    code, _, err = _cli("eval", "--checkpoint-dir", str(run), "--out", str(tmp_path / "o"), "--limit", "1")
    _one_line_error(code, err, "pass --allow-hub")


# ---- 4. errors up front, one line, nothing lost ---------------------------------------------


def _broken_weights(run: Path, how: str) -> None:
    weights = run / "stage2" / "model.safetensors"
    if how == "empty":
        weights.write_bytes(b"")
    elif how == "truncated":
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) - 100])
    elif how == "pickle":
        import torch
        from safetensors.torch import load_file

        torch.save(load_file(weights), run / "stage2" / "pytorch_model.bin")
        weights.unlink()


@pytest.mark.parametrize(
    "how, needle",
    [("empty", "not a complete safetensors file"), ("truncated", "not a complete safetensors file"), ("pickle", "only pickle weights")],
)
def test_broken_weights_fail_before_any_stage_runs(tmp_path, tiny_run, how, needle):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    _broken_weights(run, how)
    code, _, err = _cli("eval", "--checkpoint-dir", str(run), "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s"), "--limit", "1")
    _one_line_error(code, err, needle)
    assert "stage 2" in err and not (tmp_path / "s").exists() and not (tmp_path / "o").exists()


def test_bad_outputs_and_options_fail_before_any_generation(tmp_path, tiny_run):
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me")
    base = ["eval", "--checkpoint-dir", str(tiny_run), "--limit", "1", "--no-progress"]
    cases = [
        (["--out", str(a_file), "--store", str(tmp_path / "s1")], "is a file", tmp_path / "s1"),
        (["--out", str(a_file / "sub"), "--store", str(tmp_path / "s2")], "cannot write to the output folder", tmp_path / "s2"),
        (["--out", str(tmp_path / "o3"), "--store", str(a_file)], "is a file", tmp_path / "o3"),
        (["--out", str(tmp_path / "o4"), "--store", str(tmp_path / "s4"), "--batch-size", "0"], "--batch-size must be at least 1", tmp_path / "s4"),
    ]
    for extra, needle, never_created in cases:
        code, _, err = _cli(*base, *extra)
        _one_line_error(code, err, needle)
        assert not never_created.exists(), extra
    assert a_file.read_text() == "keep me"


def test_training_config_of_the_wrong_type_fails_before_the_run_folder_exists(tmp_path, tiny_model):
    bad = tmp_path / "bad.toml"
    bad.write_text('learning_rate = "fast"\n')
    out = tmp_path / "run"
    code, _, err = _cli("train", "--method", "sft", "--sequence", "toy_count", "--base", str(tiny_model), "--out", str(out), "--config", str(bad))
    _one_line_error(code, err, "learning_rate = 'fast' is not a float")
    assert not out.exists()
    bad.write_text("per_task_epochs = { toy_count = true }\n")
    code, _, err = _cli("train", "--method", "sft", "--sequence", "toy_count", "--base", str(tiny_model), "--out", str(out), "--config", str(bad))
    _one_line_error(code, err, "is not a table of numbers")
    assert not out.exists()


def test_a_reused_out_keeps_no_stale_sample_files(tmp_path, tiny_run):
    out = tmp_path / "out"
    run_eval(load_run(tiny_run), out, tmp_path / "store", task_specs=["toy_science", "toy_count"], limit=1, progress=False)
    assert (out / "samples/stage2/toy_count.jsonl").is_file()
    run_eval(load_run(tiny_run), out, tmp_path / "store", task_specs=["toy_science"], limit=1, progress=False)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.jsonl")) == [f"samples/stage{i}/toy_science.jsonl" for i in range(3)]


def test_concurrent_evals_on_one_store_share_the_work(tmp_path, tiny_run):
    store = tmp_path / "store"
    args = ["eval", "--checkpoint-dir", str(tiny_run), "--limit", "6", "--no-progress", "--store", str(store)]
    procs = [
        subprocess.Popen([sys.executable, "-m", "harness.cli", *args, "--out", str(tmp_path / f"o{i}")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    records = _records(store)
    keys = [(r["fingerprint"], r["task"], r["task_version"], r["gen_hash"], r["sample_id"], r["sample_hash"]) for r in records]
    assert len(keys) == len(set(keys)) == 3 * 3 * 6  # nothing generated twice
    generated = [json.loads((tmp_path / f"o{i}/results.json").read_text())["run_stats"]["generated"] for i in range(2)]
    assert sum(generated) == 3 * 3 * 6
    a, b = (json.loads((tmp_path / f"o{i}/results.json").read_text())["accuracy"] for i in range(2))
    assert a == b
