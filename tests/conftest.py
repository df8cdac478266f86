"""Shared fixtures: the tiny model is built once per test session, offline, in a temp folder."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Tests never download, and keep the datasets cache out of the user's home.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="cpt-harness-datasets-"))


@pytest.fixture(scope="session", autouse=True)
def _quiet_transformers():
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from baselines.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="session")
def instruct_base(tmp_path_factory) -> Path:
    """A small version of the demo's instruct base: follows the think/boxed format, so rollouts
    are sometimes right."""
    from baselines.instruct_base import build_instruct_base

    return build_instruct_base(tmp_path_factory.mktemp("instruct") / "base", n_general=32, n_task=48, epochs=3.0)


def make_run(folder: Path, base: Path, sequence: list[str], general: list[str] | None = None) -> Path:
    """A run folder whose stages are copies of `base` with the seed-i tiny model weights."""
    from baselines.tiny_model import build_tiny_model

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(base, folder / "base")
    stages = []
    for i, task in enumerate(sequence, start=1):
        build_tiny_model(folder / f"stage{i}", seed=i)
        stages.append({"task": task, "path": f"stage{i}"})
    (folder / "manifest.json").write_text(json.dumps({"base": "base", "stages": stages, "general": general or []}))
    return folder


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_model) -> Path:
    return make_run(tmp_path_factory.mktemp("run") / "run", tiny_model, ["toy_science", "toy_count"], ["toy_mcq10"])
