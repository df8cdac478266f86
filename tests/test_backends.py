"""The vllm and openai backends, for real: vLLM's CPU build runs a tiny text-only Qwen2 model
in an environment of its own (built once by scripts/vllm-cpu-env.sh, here if it is missing), and
`vllm serve` of the same model answers the openai backend. Both must give hf's greedy answers.
The openai backend's failure modes run against a small local HTTP server that answers as a
misbehaving endpoint would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.eval.evaluate import run_eval
from harness.runs.checkpoints import load_run
from side_envs import REPO, free_port, run_harness, vllm_python_or_skip, vllm_serve

TEXT_TASK = "toy_mcq10"


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    return vllm_python_or_skip()


@pytest.fixture(scope="session")
def text_run(tmp_path_factory) -> Path:
    """A base and two stages of the tiny text-only model (seeds 0, 1, 2)."""
    from baselines.tiny_model import build_tiny_text_model

    folder = tmp_path_factory.mktemp("textrun") / "run"
    for i, name in enumerate(("base", "stage1", "stage2")):
        build_tiny_text_model(folder / name, seed=i)
    (folder / "manifest.json").write_text(json.dumps({"base": "base", "stages": [
        {"task": "toy_science", "path": "stage1"}, {"task": "toy_count", "path": "stage2"}]}))
    return folder


def _responses(out: Path, stage: int) -> dict[str, str]:
    rows = [json.loads(line) for line in (out / "samples" / f"stage{stage}" / f"{TEXT_TASK}.jsonl").read_text().splitlines()]
    return {r["id"]: r["response"] for r in rows}


@pytest.fixture(scope="session")
def hf_answers(text_run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hf") / "out"
    run_eval(load_run(text_run), out, out.parent / "store", task_specs=[TEXT_TASK], limit=40, progress=False,
             backend_options={"batching": "exact"})
    return out


def _agreement(a: Path, b: Path, stages: int) -> tuple[int, int]:
    same = total = 0
    for stage in range(stages):
        x, y = _responses(a, stage), _responses(b, stage)
        assert sorted(x) == sorted(y)
        same += sum(x[k] == y[k] for k in x)
        total += len(x)
    return same, total


@pytest.mark.slow
def test_vllm_gives_hfs_greedy_answers_and_resumes_after_a_kill(vllm_python, text_run, hf_answers, tmp_path):
    """Measured: 120 of 120 greedy responses equal hf's (three checkpoints x 40 samples). A kill
    mid-run then a rerun: every sample stored exactly once, the same responses."""
    out, store = tmp_path / "vllm", tmp_path / "store"
    args = ["eval", "--checkpoint-dir", str(text_run), "--tasks", TEXT_TASK, "--limit", "40", "--backend", "vllm", "--no-progress"]
    r = run_harness(vllm_python, *args, "--out", str(out), "--store", str(store))
    assert r.returncode == 0, r.stderr[-2000:]
    same, total = _agreement(hf_answers, out, 3)
    print(f"vllm vs hf greedy agreement: {same}/{total}")
    assert same >= 0.95 * total
    results = json.loads((out / "results.json").read_text())
    assert results["generation"]["backend"].startswith("vllm-") and results["generation"]["backend"].endswith(":float32")
    assert results["generation"]["backend_options"] == {}

    # Kill once the first checkpoint's responses are stored, rerun, compare.
    store2, out2 = tmp_path / "store2", tmp_path / "vllm2"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([str(vllm_python), "-m", "harness.cli", *args, "--out", str(out2), "--store", str(store2)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not list(store2.glob("*/*/*.jsonl")):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(store2.glob("*/*/*.jsonl")), "the first stage was stored before the kill"
    assert not (out2 / "results.json").exists()
    r = run_harness(vllm_python, *args, "--out", str(out2), "--store", str(store2))
    assert r.returncode == 0, r.stderr[-2000:]
    for stage in range(3):
        assert _responses(out2, stage) == _responses(out, stage)
    keys = [tuple(json.loads(line)[k] for k in ("fingerprint", "sample_id", "gen_hash"))
            for path in store2.glob("*/*/*.jsonl") for line in path.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 120


@pytest.mark.slow
def test_vllm_sampling_params_carry_every_value_of_the_contract(vllm_python):
    """vLLM's own `SamplingParams` built from a contract hold the values hf and openai send."""
    code = (
        "import json; from vllm import SamplingParams; from harness.engine.vllm import vllm_sampling_kwargs; "
        "from tasks.base import GenerationContract as G; "
        "p = SamplingParams(**vllm_sampling_kwargs(G(max_new_tokens=5, temperature=0.5, top_p=0.99, top_k=7, "
        "repetition_penalty=1.1, stop=('x',)), 1234)); "
        "print(json.dumps({k: getattr(p, k) for k in ('max_tokens', 'temperature', 'top_p', 'top_k', 'repetition_penalty', "
        "'min_p', 'stop', 'seed', 'skip_special_tokens')}))"
    )
    r = subprocess.run([str(vllm_python), "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {
        "max_tokens": 5, "temperature": 0.5, "top_p": 0.99, "top_k": 7, "repetition_penalty": 1.1, "min_p": 0.0,
        "stop": ["x"], "seed": 1234, "skip_special_tokens": True}


@pytest.mark.slow
def test_vllm_refuses_what_it_cannot_load_in_one_line(vllm_python, tiny_model, tmp_path):
    """The tiny VL model's head size (16) has no vLLM CPU kernel: one line naming the folder."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"base": str(tiny_model), "stages": []}))
    r = run_harness(vllm_python, "eval", "--checkpoint-dir", str(run), "--allow-external-paths", "--tasks", TEXT_TASK,
                 "--limit", "2", "--backend", "vllm", "--no-progress", "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith(f"harness: error: vLLM cannot load {tiny_model}")


def test_vllm_missing_is_one_line_saying_how(tiny_run, tmp_path):
    try:
        import vllm  # noqa: F401
        pytest.skip("vLLM is installed in this environment")
    except ImportError:
        pass
    r = subprocess.run([sys.executable, "-m", "harness.cli", "eval", "--checkpoint-dir", str(tiny_run), "--backend", "vllm",
                        "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s")], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "harness: error: the vllm backend needs vLLM: `pip install vllm` on a GPU machine, or on a CPU build its own "
        "environment with scripts/vllm-cpu-env.sh and run the harness from it"]


@pytest.mark.slow
def test_openai_backend_against_vllm_serve(vllm_python, text_run, hf_answers, tmp_path):
    """`vllm serve` of the base checkpoint, started here on 127.0.0.1: the openai backend gets
    hf's greedy answers (measured 40 of 40)."""
    pytest.importorskip("openai")
    model = str(text_run / "base")
    with vllm_serve(vllm_python, model) as base_url:
        base_only = tmp_path / "run"
        base_only.mkdir()
        (base_only / "manifest.json").write_text(json.dumps({"base": model, "stages": []}))
        out = tmp_path / "out"
        results = run_eval(load_run(base_only, allow_external_paths=True), out, tmp_path / "store", task_specs=[TEXT_TASK],
                           limit=40, progress=False, backend="openai",
                           backend_options={"base_url": base_url, "concurrency": 4})
        x, y = _responses(hf_answers, 0), _responses(out, 0)
        same = sum(x[k] == y[k] for k in x)
        print(f"openai (vllm serve) vs hf greedy agreement: {same}/{len(x)}")
        assert same >= 0.95 * len(x)
        assert results["generation"]["backend"] == "openai"
        with pytest.raises(HarnessError, match=r"does not serve model 'other' \(it serves: " + model):
            run_eval(load_run(base_only, allow_external_paths=True), tmp_path / "o2", tmp_path / "store-empty", task_specs=[TEXT_TASK],
                     limit=2, progress=False, backend="openai", backend_options={"base_url": base_url, "model": "other"})


# ---- a misbehaving endpoint ---------------------------------------------------------------

class Endpoint:
    """A local HTTP server speaking just enough of the OpenAI API: `/v1/models` lists `models`;
    chat completions answer per `mode` ("ok", "500", "garbage", "length", "fail-after-N")."""

    def __init__(self, models: list[str], mode: str = "ok"):
        self.models, self.mode, self.calls = models, mode, 0
        self.requests: list[dict] = []  # every chat request body, as received
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: bytes):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._send(200, json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in endpoint.models]}).encode())

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(request)
                endpoint.calls += 1
                mode = endpoint.mode
                if mode == "500" or (mode.startswith("fail-after-") and endpoint.calls > int(mode.split("-")[-1])):
                    return self._send(500, b'{"error": {"message": "boom"}}')
                if mode == "garbage":
                    return self._send(200, b"{not json")
                content = request["messages"][-1]["content"]
                text = "answer for " + (content if isinstance(content, str) else json.dumps(content))[:12]
                finish = "length" if mode == "length" else "stop"
                self._send(200, json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": request["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
                }).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _records(store: Path) -> list[dict]:
    return [json.loads(line) for path in store.glob("*/*/*.jsonl") for line in path.read_text().splitlines()]


def test_openai_backend_failures_are_one_line_and_keep_the_store(tiny_run, tmp_path):
    pytest.importorskip("openai")
    run = load_run(tiny_run)
    models = [str(stage.local) for stage in run.stages]  # a server that serves every stage
    opts = lambda url, **kw: {"base_url": url, "request_timeout": 5, "concurrency": 2, "max_retries": 1, **kw}  # noqa: E731
    evaluate = lambda store, url, **kw: run_eval(run, tmp_path / "out", store, task_specs=[TEXT_TASK], limit=12,  # noqa: E731
                                                 progress=False, backend="openai", backend_options=opts(url, **kw))
    port = free_port()  # nothing listens there
    with pytest.raises(HarnessError, match=rf"^cannot reach the server at http://127.0.0.1:{port}/v1 "):
        evaluate(tmp_path / "s0", f"http://127.0.0.1:{port}/v1")

    for mode, message in (("500", "answered HTTP 500"), ("garbage", "malformed reply")):
        server = Endpoint(models, mode)
        try:
            with pytest.raises(HarnessError, match=message) as err:
                evaluate(tmp_path / f"s-{mode}", server.url)
            assert "\n" not in str(err.value)
        finally:
            server.close()

    # Failing half-way: what came back stays stored; the rerun asks only for the rest.
    server = Endpoint(models, "fail-after-5")
    store = tmp_path / "s-half"
    try:
        with pytest.raises(HarnessError, match="answered HTTP 500"):
            evaluate(store, server.url, concurrency=1)
        kept = _records(store)
        assert 1 <= len(kept) <= 5
        server.mode, server.calls = "ok", 0
        results = evaluate(store, server.url)
        assert server.calls == 3 * 12 - len(kept)  # three checkpoints x 12 samples, minus the stored ones
        assert len(_records(store)) == 36 and results["run_stats"]["generated"] == 36 - len(kept)
    finally:
        server.close()

    # Replies cut at the server's token limit are stored as they are and recorded, not retried.
    server = Endpoint(models, "length")
    try:
        results = evaluate(tmp_path / "s-len", server.url)
        assert server.calls == 36
        truncated = results["run_stats"]["truncated_by_server"]
        assert sorted(truncated) == [f"stage{i}/{TEXT_TASK}" for i in range(3)] and all(len(v) == 12 for v in truncated.values())
    finally:
        server.close()
