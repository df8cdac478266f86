"""A checkpoint laid out as Qwen releases Qwen2.5-VL-7B-Instruct (`baselines.release_model`),
through every backend: hf without torchvision (the image-only processor), vLLM's CPU build with
images (the image-only hook), and `vllm serve` through the openai backend; and the one-line
errors a broken release folder gets before any generation."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import hub_fixtures as fx
from harness.cli import main
from harness.eval.evaluate import run_eval
from harness.results.format import read_stage_responses
from harness.runs.checkpoints import load_run
from side_envs import REPO, run_harness, side_python_or_skip, vllm_python_or_skip, vllm_serve

RELEASE_FILES = ["chat_template.json", "config.json", "generation_config.json", "merges.txt", "model-00001-of-00002.safetensors",
                 "model-00002-of-00002.safetensors", "model.safetensors.index.json", "preprocessor_config.json", "tokenizer.json",
                 "tokenizer_config.json", "vocab.json"]
# Image tasks in their greedy style: the toy image tasks and the hub fixtures of three CPT tasks.
TOY_TASKS = ["toy_count:style=direct", "toy_science:style=direct", "toy_texture:style=direct", "toy_spatial:style=direct"]


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    return vllm_python_or_skip()


@pytest.fixture(scope="session")
def release_model(tmp_path_factory) -> Path:
    from baselines.release_model import build_release_model

    return build_release_model(tmp_path_factory.mktemp("release") / "Qwen2.5-VL-7B-Instruct", seed=0)


@pytest.fixture(scope="session")
def release_run(release_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("release-run") / "run"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"base": str(release_model), "stages": [], "general": []}))
    return folder


@pytest.fixture(scope="session")
def cpt_fixtures(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("cpt-hub")
    sqa = fx.write_hub_folder(root / "sqa", {"default": {"test": fx.scienceqa_rows()}}, {"*": fx.SCIENCEQA_SCHEMA})
    tvqa = fx.write_hub_folder(root / "tvqa", {"default": {"validation": fx.textvqa_rows()}}, {"*": fx.TEXTVQA_SCHEMA})
    path = fx.write_hub_folder(root / "path", {"default": {"test": fx.pathvqa_rows()}}, {"*": fx.PATHVQA_SCHEMA})
    return [f"scienceqa:data={sqa},style=direct", f"textvqa:data={tvqa},style=direct", f"pathvqa:data={path},style=direct"]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_the_folder_is_laid_out_as_the_release(release_model, tmp_path):
    from baselines.release_model import build_release_model

    assert sorted(p.name for p in release_model.iterdir()) == RELEASE_FILES  # no processor_config.json
    config = json.loads((release_model / "config.json").read_text())
    assert "text_config" not in config and config["rope_scaling"] == {"type": "mrope", "mrope_section": [4, 6, 6]}
    assert config["vocab_size"] == 152064 and config["hidden_size"] // config["num_attention_heads"] == 32
    assert sum(config["rope_scaling"]["mrope_section"]) * 2 == 32
    assert json.loads((release_model / "preprocessor_config.json").read_text())["processor_class"] == "Qwen2_5_VLProcessor"
    index = json.loads((release_model / "model.safetensors.index.json").read_text())
    assert sorted(set(index["weight_map"].values())) == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert "model.embed_tokens.weight" in index["weight_map"] and "visual.blocks.0.attn.qkv.weight" in index["weight_map"]
    from safetensors import safe_open

    with safe_open(str(release_model / "model-00002-of-00002.safetensors"), "pt") as f:
        assert str(f.get_tensor("lm_head.weight").dtype) == "torch.bfloat16"
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(release_model)
    assert len(tokenizer) == 151665 and tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>", "<|image_pad|>", "<|file_sep|>"]) == [
        151643, 151645, 151655, 151664]
    again = build_release_model(tmp_path / "again", seed=0)  # same seed, same bytes
    assert _digest(again) == _digest(release_model)


def test_hf_without_torchvision_uses_the_image_only_processor_once(release_run, cpt_fixtures, tmp_path, capfd):
    pytest.importorskip("PIL")
    try:
        import torchvision  # noqa: F401
        pytest.skip("torchvision imports here: the stock processor runs")
    except Exception:
        pass
    from harness.engine import hf

    hf.note_image_only_fallback.cache_clear()
    results = run_eval(load_run(release_run, allow_external_paths=True), tmp_path / "out", tmp_path / "store",
                       task_specs=TOY_TASKS[:2] + cpt_fixtures, limit=4, progress=False)
    assert results["run_stats"]["generated"] == 2 * 4 + 2 + 2 + 2  # the hub fixtures hold 2 image rows each
    err = capfd.readouterr().err
    assert err.count("note: torchvision is not installed") == 1 and "Traceback" not in err


def _cli(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def test_a_broken_release_folder_is_one_line_before_any_generation(release_model, tmp_path, capsys):
    def broken(name: str, edit) -> list[str]:
        model = tmp_path / name / "model"
        shutil.copytree(release_model, model)
        edit(model)
        (tmp_path / name / "manifest.json").write_text(json.dumps({"base": "model", "stages": []}))
        store = tmp_path / name / "store"
        return ["eval", "--checkpoint-dir", str(tmp_path / name), "--tasks", "toy_count", "--limit", "2", "--no-progress",
                "--out", str(tmp_path / name / "out"), "--store", str(store)]

    def index_edit(model: Path) -> None:
        index = json.loads((model / "model.safetensors.index.json").read_text())
        index["weight_map"]["lm_head.weight"] = "model-00001-of-00002.safetensors"
        (model / "model.safetensors.index.json").write_text(json.dumps(index))

    def qwen2_vl(model: Path) -> None:  # a processor that needs torchvision, for which the harness has no image-only class
        config = json.loads((model / "config.json").read_text())
        (model / "config.json").write_text(json.dumps({**config, "model_type": "qwen2_vl"}))

    cases = {
        "missing-shard": (lambda m: (m / "model-00002-of-00002.safetensors").unlink(), "names shard 'model-00002-of-00002.safetensors', which is not a file"),
        "wrong-index": (index_edit, "puts tensor 'lm_head.weight' in model-00001-of-00002.safetensors, which does not hold it"),
        "bad-tokenizer": (lambda m: (m / "tokenizer.json").write_text("{not json"), "cannot load the processor of"),
        "needs-torchvision": (qwen2_vl, "torchvision"),
    }
    try:
        import torchvision  # noqa: F401
        del cases["needs-torchvision"]
    except Exception:
        pass
    for name, (edit, message) in cases.items():
        code, err = _cli(broken(name, edit), capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, (name, err)
        assert not list((tmp_path / name / "store").glob("*/*/*.jsonl")), name  # nothing generated


def test_dp_above_one_is_refused_in_one_line(release_run, tmp_path, capsys):
    code, err = _cli(["eval", "--checkpoint-dir", str(release_run), "--backend", "vllm", "--dp", "2", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err.startswith("harness: error: --dp above 1: vLLM's offline engine refuses data parallelism")


# ---- where torchvision imports: the stock processor --------------------------------------

PARITY = """
import json, sys
import numpy as np, torch
from PIL import Image
from transformers import AutoProcessor
from harness.engine.base import Request
from harness.engine.hf import chat_prompt
from harness.engine.image_only_processor import ImageOnlyQwen2_5_VLProcessor
from harness.engine.qwen_image_torch import TorchQwen2VLImageProcessor

path = sys.argv[1]
stock = AutoProcessor.from_pretrained(path)
assert type(stock).__name__ == "Qwen2_5_VLProcessor" and type(stock.image_processor).__name__ == "Qwen2VLImageProcessor"
mine = ImageOnlyQwen2_5_VLProcessor.from_pretrained(path)
mine.image_processor = TorchQwen2VLImageProcessor.from_pretrained(path)  # what a machine without torchvision builds
rng = np.random.default_rng(0)
sizes = [(300, 200), (500, 375), (1000, 80), (28, 28), (1234, 777), (3264, 2448)]
images = [Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for w, h in sizes]
images += [Image.fromarray(rng.integers(0, 255, (100, 150), dtype=np.uint8), mode="L"),
           Image.fromarray(rng.integers(0, 255, (120, 90, 4), dtype=np.uint8), mode="RGBA"), images[0].convert("P")]
compared = 0
for bounds in ({}, {"size": {"shortest_edge": 262144, "longest_edge": 4194304}}, {"size": {"shortest_edge": 3136, "longest_edge": 50176}}):
    for batch in [[i] for i in images] + [images[:3]]:
        req = Request(id="x", messages=[{"role": "user", "content": [{"type": "image"}] * len(batch) + [{"type": "text", "text": "What is shown?"}]}], images=batch)
        text = chat_prompt(stock, req)
        assert text == chat_prompt(mine, req)
        a = stock(text=[text], images=batch, return_tensors="pt", **bounds)
        b = mine(text=[text], images=batch, return_tensors="pt", **bounds)
        for key in ("input_ids", "attention_mask", "pixel_values", "image_grid_thw"):
            assert torch.equal(a[key], b[key]), (key, [i.size for i in batch], bounds)
        compared += 1
print(json.dumps({"compared": compared}))
"""


@pytest.fixture(scope="session")
def torchvision_python() -> Path:
    return side_python_or_skip("torchvision")


@pytest.mark.slow
def test_the_image_only_processor_gives_the_stock_processors_inputs(torchvision_python, release_model):
    """Where torchvision imports, the stock `Qwen2_5_VLProcessor` (torchvision image backend) and
    what the harness builds without torchvision (image-only processor, the torchvision backend's
    steps in torch) give equal `input_ids`, `pixel_values` and `image_grid_thw`: RGB, grey, RGBA
    and palette images from 28x28 to 3264x2448, single and batched, under three pixel bounds."""
    r = subprocess.run([str(torchvision_python), "-c", PARITY, str(release_model)], capture_output=True, text=True, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"compared": 30}


@pytest.mark.slow
def test_hf_with_torchvision_gives_the_answers_hf_gives_without(torchvision_python, release_run, cpt_fixtures, hf_release_answers, tmp_path):
    """The release model on hf where torchvision imports (the stock processor) answers as the
    image-only path here does (torch 2.14.1 there, 2.13.0 here)."""
    r = run_harness(torchvision_python, "eval", "--checkpoint-dir", str(release_run), "--allow-external-paths", "--tasks",
                    ",".join(TOY_TASKS + cpt_fixtures), "--limit", "12", "--batching", "exact", "--no-progress",
                    "--out", str(tmp_path / "tv"), "--store", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "torchvision is not installed" not in r.stderr
    same, total, differ = _agreement(hf_release_answers, tmp_path / "tv")
    print(f"hf with torchvision vs without: {same}/{total}; differing: {differ[:3]}")
    assert same >= 0.95 * total


# ---- vLLM's CPU build and `vllm serve`, with images ------------------------------------------

@pytest.fixture(scope="session")
def hf_release_answers(release_run, cpt_fixtures, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hf-release") / "out"
    run_eval(load_run(release_run, allow_external_paths=True), out, out.parent / "store", task_specs=TOY_TASKS + cpt_fixtures,
             limit=12, progress=False, backend_options={"batching": "exact"})
    return out


def _agreement(a: Path, b: Path) -> tuple[int, int, list]:
    x, y = read_stage_responses(a, 0), read_stage_responses(b, 0)
    assert sorted(x) == sorted(y)
    differ = [(k, x[k], y[k]) for k in x if x[k] != y[k]]
    return len(x) - len(differ), len(x), differ


@pytest.mark.slow
def test_vllm_scores_the_release_model_on_image_tasks(vllm_python, release_run, cpt_fixtures, hf_release_answers, tmp_path):
    """vLLM's CPU build (no torchvision: the image-only hook) on image tasks agrees with hf's
    greedy answers; a sampled task gives the same responses on a rerun."""
    args = ["eval", "--checkpoint-dir", str(release_run), "--allow-external-paths", "--backend", "vllm", "--limit", "12", "--no-progress"]
    r = run_harness(vllm_python, *args, "--tasks", ",".join(TOY_TASKS + cpt_fixtures), "--out", str(tmp_path / "vllm"), "--store", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr[-3000:]
    same, total, differ = _agreement(hf_release_answers, tmp_path / "vllm")
    print(f"vllm vs hf greedy agreement on image tasks: {same}/{total}; differing: {differ[:3]}")
    assert same >= 0.95 * total
    sampled = ["scienceqa:" + cpt_fixtures[0].split(":", 1)[1].replace("style=direct", "style=paper")]
    runs = []
    for k in range(2):
        out = tmp_path / f"sampled{k}"
        r = run_harness(vllm_python, *args[:-3], "--limit", "2", "--no-progress", "--tasks", sampled[0], "--out", str(out), "--store", str(tmp_path / f"ss{k}"))
        assert r.returncode == 0, r.stderr[-3000:]
        runs.append(read_stage_responses(out, 0))
    assert runs[0] == runs[1] and len(runs[0]) == 2


@pytest.mark.slow
def test_openai_backend_against_vllm_serve_with_images(vllm_python, release_run, release_model, cpt_fixtures, hf_release_answers, tmp_path):
    """`vllm serve` of the release model through the harness's launcher (the image-only hook in
    the server's processes): images go as PNG data URLs and the answers agree with hf's."""
    pytest.importorskip("openai")
    with vllm_serve(vllm_python, release_model, "--max-model-len", "4096", module="harness.engine.vllm_serve") as base_url:
        out = tmp_path / "openai"
        run_eval(load_run(release_run, allow_external_paths=True), out, tmp_path / "store", task_specs=TOY_TASKS + cpt_fixtures, limit=12,
                 progress=False, backend="openai", backend_options={"base_url": base_url, "concurrency": 4})
        same, total, differ = _agreement(hf_release_answers, out)
        print(f"openai (vllm serve) vs hf greedy agreement on image tasks: {same}/{total}; differing: {differ[:3]}")
        assert same >= 0.95 * total
