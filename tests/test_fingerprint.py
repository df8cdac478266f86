import shutil

import pytest

from harness.errors import HarnessError
from harness.runs.fingerprint import FingerprintCache, check_model_folder, fingerprint


def test_fingerprint_follows_content_not_path(tmp_path, tiny_model):
    copy = tmp_path / "elsewhere"
    shutil.copytree(tiny_model, copy)
    assert fingerprint(copy) == fingerprint(tiny_model)
    (copy / "trainer_state.json").write_text("{}")  # training leftovers do not count
    (copy / "optimizer.pt").write_bytes(b"x")
    assert fingerprint(copy) == fingerprint(tiny_model)
    cfg = copy / "generation_config.json"
    cfg.write_text(cfg.read_text().replace("false", "true", 1))
    assert fingerprint(copy) != fingerprint(tiny_model)


def test_overwritten_folder_gets_a_new_fingerprint_through_the_cache(tmp_path, tiny_model):
    from baselines.tiny_model import build_tiny_model

    folder = tmp_path / "stage"
    cache = FingerprintCache(tmp_path / "fp.json")
    build_tiny_model(folder, seed=1)
    first = fingerprint(folder, cache)
    cache.save()
    build_tiny_model(folder, seed=2)  # a later run overwrites the stage folder
    cache = FingerprintCache(tmp_path / "fp.json")
    assert fingerprint(folder, cache) != first
    build_tiny_model(folder, seed=1)
    assert fingerprint(folder, FingerprintCache(tmp_path / "fp.json")) == first  # same seed, same bytes


def test_check_model_folder(tmp_path, tiny_model):
    check_model_folder(tiny_model, "base")
    with pytest.raises(HarnessError, match="folder not found"):
        check_model_folder(tmp_path / "nope", "stage 1")
    empty = tmp_path / "noweights"
    shutil.copytree(tiny_model, empty)
    (empty / "model.safetensors").unlink()
    with pytest.raises(HarnessError, match=r"stage 2: no model weights"):
        check_model_folder(empty, "stage 2")
