"""`harness eval --ray` on a local Ray instance (2 CPUs: two stage workers at a time).

The single-process and Ray runs must write the same bundle apart from timing fields; a worker
killed in the middle of a unit is retried with only its missing samples; errors a retry cannot
fix name the unit and keep what was stored."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from harness.errors import HarnessError  # noqa: E402
from harness.eval.evaluate import run_eval  # noqa: E402
from harness.runs.checkpoints import load_run  # noqa: E402

LIMIT, BATCH = 12, 4  # three batches per (stage, task) unit, so a kill can land mid-unit
RAY = {"address": None, "cpus_per_unit": 1.0, "gpus_per_unit": None, "shard_size": 512, "retries": 2}


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def single(tmp_path_factory, tiny_run) -> Path:
    out = tmp_path_factory.mktemp("single") / "out"
    run_eval(load_run(tiny_run), out, out.parent / "store", limit=LIMIT, batch_size=BATCH, progress=False)
    return out


def _comparable(out: Path) -> dict:
    results = json.loads((out / "results.json").read_text())
    for timing in ("created", "run_stats"):
        results.pop(timing)
    return results


def _sample_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "samples").rglob("*.jsonl"))}


def _store_records(store: Path) -> list[tuple]:
    keys = []
    for path in store.rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            r = json.loads(line)
            keys.append((r["fingerprint"], r["task"], r["task_version"], r["sample_id"], r["sample_hash"], r["gen_hash"]))
    return keys


def test_ray_run_equals_the_single_process_run(tmp_path, tiny_run, single):
    out = tmp_path / "out"
    results = run_eval(load_run(tiny_run), out, tmp_path / "store", limit=LIMIT, batch_size=BATCH, progress=False, ray=RAY)
    assert _comparable(out) == _comparable(single)
    assert _sample_files(out) == _sample_files(single)
    stats = results["run_stats"]
    assert stats["generated"] == 3 * 3 * LIMIT  # 3 checkpoints x 3 tasks
    assert stats["ray"]["units"] == 9 and stats["ray"]["done"] == 9 and stats["ray"]["retried"] == 0
    keys = _store_records(tmp_path / "store")
    assert len(keys) == len(set(keys)) == 3 * 3 * LIMIT
    # A rerun finds everything stored and starts no unit.
    again = run_eval(load_run(tiny_run), tmp_path / "out2", tmp_path / "store", limit=LIMIT, batch_size=BATCH, progress=False, ray=RAY)
    assert again["run_stats"]["generated"] == 0 and again["run_stats"]["ray"]["units"] == 0


def test_a_worker_killed_mid_unit_is_retried_with_only_its_missing_samples(tmp_path, tiny_run, single):
    killed: list[tuple[str, int]] = []

    def kill_first_worker(unit, n, pid):
        if not killed and len(unit.remaining) > 0:  # batches of this unit are still to come
            killed.append((unit.name, pid))
            os.kill(pid, signal.SIGKILL)

    out = tmp_path / "out"
    results = run_eval(load_run(tiny_run), out, tmp_path / "store", limit=LIMIT, batch_size=BATCH, progress=False,
                       ray={**RAY, "on_batch": kill_first_worker})
    assert killed, "no worker was killed"
    stats = results["run_stats"]
    assert stats["ray"]["retried"] >= 1
    assert stats["generated"] == 3 * 3 * LIMIT  # each sample stored once: the retry asked only for what was missing
    keys = _store_records(tmp_path / "store")
    assert len(keys) == len(set(keys)) == 3 * 3 * LIMIT
    assert _comparable(out) == _comparable(single)
    assert _sample_files(out) == _sample_files(single)


def test_a_unit_that_cannot_load_its_checkpoint_fails_naming_it_and_keeps_the_store(tmp_path, tiny_run):
    broken = tmp_path / "run"
    shutil.copytree(tiny_run, broken)
    run = load_run(broken)  # the folder passes the up-front checks ...
    config = json.loads((broken / "stage2" / "config.json").read_text())
    for part in (config, config.get("text_config", {})):
        if "hidden_size" in part:
            part["hidden_size"] *= 2
    (broken / "stage2" / "config.json").write_text(json.dumps(config))  # ... then its weights stop fitting its config
    with pytest.raises(HarnessError, match=r"^unit stage 2 × toy_\w+ failed: cannot load model from .*rerun to resume\)$"):
        run_eval(run, tmp_path / "out", tmp_path / "store", limit=LIMIT, batch_size=BATCH, progress=False, ray={**RAY, "retries": 0})
    before = _store_records(tmp_path / "store")
    assert len(before) == len(set(before))
    # The stored records stay valid: with the stage repaired, the rerun generates only the rest.
    shutil.rmtree(broken / "stage2")
    shutil.copytree(tiny_run / "stage2", broken / "stage2")
    results = run_eval(load_run(broken), tmp_path / "out", tmp_path / "store", limit=LIMIT, batch_size=BATCH, progress=False, ray=RAY)
    assert results["run_stats"]["generated"] == 3 * 3 * LIMIT - len(before)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=300)


def test_wrong_ray_address_is_one_line(tmp_path, tiny_run):
    proc = _cli("eval", "--checkpoint-dir", str(tiny_run), "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s"),
                "--limit", "2", "--no-progress", "--ray", "127.0.0.1:1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("harness: error: cannot reach a Ray cluster at 127.0.0.1:1")
    assert not (tmp_path / "o" / "results.json").exists()
    proc = _cli("eval", "--checkpoint-dir", str(tiny_run), "--out", str(tmp_path / "o"), "--ray", "nonsense")
    assert proc.returncode == 2 and "expected HOST:PORT, ray://HOST:PORT or auto" in proc.stderr
    proc = _cli("eval", "--checkpoint-dir", str(tiny_run), "--out", str(tmp_path / "o"), "--ray-retries", "1")
    assert proc.returncode == 2 and "the --ray-* options need --ray" in proc.stderr


def test_ray_not_installed_says_how(tmp_path, tiny_run, monkeypatch, capsys):
    from harness.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    code = main(["eval", "--checkpoint-dir", str(tiny_run), "--out", str(tmp_path / "o"), "--ray"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "harness: error: --ray needs Ray: pip install -e '.[ray]' (or pip install 'ray[default]')"
