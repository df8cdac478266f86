"""The checkpoint folders CPT runs produce: EasyR1 step folders, LLaMA-Factory outputs, PEFT LoRA
adapters; `harness manifest` proposes the stage list and each layout evaluates end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.eval.evaluate import run_eval
from harness.runs.checkpoints import load_run
from harness.runs.layouts import guess_task, propose_manifest
from tasks import TASKS


def _cli(*args) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def _copy(src: Path, dst: Path, when: float) -> Path:
    shutil.copytree(src, dst)
    for f in dst.glob("*.safetensors"):
        os.utime(f, (when, when))
    return dst


def test_task_names_are_guessed_from_experiment_names():
    names = list(TASKS)
    assert guess_task("CL_oneRef_scienceqa_textvqa", names) == "textvqa"
    assert guess_task("nokl_5_geo", names) == "geometry3k"
    assert guess_task("stage5-toy_geometry", names) == "toy_geometry"
    assert guess_task("qwen_clevr_sft", names) == "superclevr"
    assert guess_task("run_final", names) is None


def test_easyr1_and_llamafactory_runs_get_a_manifest(tmp_path, tiny_run):
    run = tmp_path / "run"
    _copy(tiny_run / "base", run / "base", 1000)
    ckpts = run / "checkpoints" / "easy_r1"
    _copy(tiny_run / "stage1", ckpts / "CL_toy_science" / "global_step_30" / "actor" / "huggingface", 2000)
    _copy(tiny_run / "stage1", ckpts / "CL_toy_science" / "global_step_60" / "actor" / "huggingface", 3000)
    _copy(tiny_run / "stage2", ckpts / "CL_toy_science_toy_count" / "global_step_9" / "actor" / "huggingface", 4000)
    (ckpts / "CL_toy_science" / "global_step_60" / "actor" / "model_world_size_2_rank_0.pt").write_bytes(b"shard")
    manifest, found = propose_manifest(run, "base")
    assert [f.layout for f in found] == ["easyr1", "easyr1"]
    assert manifest["stages"] == [
        {"task": "toy_science", "path": "checkpoints/easy_r1/CL_toy_science/global_step_60/actor/huggingface", "layout": "easyr1"},
        {"task": "toy_count", "path": "checkpoints/easy_r1/CL_toy_science_toy_count/global_step_9/actor/huggingface", "layout": "easyr1"},
    ]
    code, out, err = _cli("manifest", str(run), "--base", "base", "--write")
    assert code == 0, err
    results = run_eval(load_run(run), tmp_path / "out", tmp_path / "store", task_specs=["toy_science", "toy_count"], limit=2, progress=False)
    plain = run_eval(load_run(tiny_run), tmp_path / "out2", tmp_path / "store", task_specs=["toy_science", "toy_count"], limit=2, progress=False)
    assert results["accuracy"] == plain["accuracy"] and plain["run_stats"]["generated"] == 0  # same weights, same records

    lf = tmp_path / "lf"
    _copy(tiny_run / "stage2", lf / "saves" / "stage2_toy_count", 200)
    _copy(tiny_run / "stage1", lf / "saves" / "stage1_toy_science", 100)
    (lf / "saves" / "stage1_toy_science" / "trainer_state.json").write_text("{}")
    _copy(tiny_run / "stage1", lf / "saves" / "stage1_toy_science" / "checkpoint-5", 50)  # ignored
    manifest, found = propose_manifest(lf, str(tiny_run / "base"))
    # A LLaMA-Factory stage is evaluated as Paper A evaluates SFT stages: the direct style.
    assert [(e["task"], e["path"], e["layout"]) for e in manifest["stages"]] == [
        ("toy_science:style=direct", "saves/stage1_toy_science", "llamafactory"), ("toy_count", "saves/stage2_toy_count", "hf")]
    manifest, _ = propose_manifest(lf, str(tiny_run / "base"), ["toy_science:style=cot", "toy_count"])
    assert [e["task"] for e in manifest["stages"]] == ["toy_science:style=cot", "toy_count"]  # a style given is kept


def test_fsdp_shards_without_merged_weights_name_the_merge_step(tmp_path, tiny_run):
    run = tmp_path / "run"
    actor = run / "exp_toy_count" / "global_step_3" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    shutil.copy(tiny_run / "base" / "config.json", actor / "huggingface" / "config.json")
    (actor / "model_world_size_8_rank_0.pt").write_bytes(b"shard")
    code, _, err = _cli("manifest", str(run), "--base", str(tiny_run / "base"))
    assert code == 2 and "Traceback" not in err and "scripts/model_merger.py --local_dir" in err and len(err.strip().splitlines()) == 1
    shutil.copytree(tiny_run / "base", run / "base")
    (run / "manifest.json").write_text(json.dumps({"base": "base", "stages": [{"task": "toy_count", "path": "exp_toy_count/global_step_3/actor/huggingface"}]}))
    code, _, err = _cli("eval", "--checkpoint-dir", str(run), "--out", str(tmp_path / "o"), "--limit", "1")
    assert code == 2 and "model_merger.py" in err and len(err.strip().splitlines()) == 1


def test_a_lora_adapter_evaluates_like_its_merged_weights(tmp_path, tiny_run, monkeypatch):
    peft = pytest.importorskip("peft")
    import torch

    from harness.engine.hf import load_model

    monkeypatch.setenv("CPT_HARNESS_MERGED", str(tmp_path / "merged-cache"))
    base = tiny_run / "base"
    model = load_model(str(base), torch.float32, "cpu")
    torch.manual_seed(0)
    lora = peft.get_peft_model(model, peft.LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    run = tmp_path / "adapter-run"
    shutil.copytree(base, run / "base")
    lora.save_pretrained(run / "stage1-toy_count-lora")
    assert not (run / "stage1-toy_count-lora" / "config.json").exists()
    merged_run = tmp_path / "merged-run"
    shutil.copytree(base, merged_run / "base")
    lora.merge_and_unload().save_pretrained(merged_run / "stage1", safe_serialization=True)
    for f in base.iterdir():
        if f.is_file() and not (merged_run / "stage1" / f.name).exists():
            shutil.copy2(f, merged_run / "stage1" / f.name)
    (merged_run / "manifest.json").write_text(json.dumps({"base": "base", "stages": [{"task": "toy_count", "path": "stage1"}]}))

    manifest, found = propose_manifest(run, "base", ["toy_count"])
    assert [f.layout for f in found] == ["adapter"]
    manifest["stages"][0]["adapter_base"] = "base"
    (run / "manifest.json").write_text(json.dumps(manifest))
    spec = ["toy_count"]
    a = run_eval(load_run(run), tmp_path / "oa", tmp_path / "sa", task_specs=spec, limit=6, progress=False)
    b = run_eval(load_run(merged_run), tmp_path / "ob", tmp_path / "sb", task_specs=spec, limit=6, progress=False)
    assert a["accuracy"] == b["accuracy"]
    read = lambda out: (out / "samples/stage1/toy_count.jsonl").read_text()  # noqa: E731
    assert read(tmp_path / "oa") == read(tmp_path / "ob")
    base_rows = (tmp_path / "oa/samples/stage0/toy_count.jsonl").read_text()
    assert read(tmp_path / "oa") != base_rows  # the adapter changed the model
    cached = [p for p in (tmp_path / "merged-cache").iterdir() if p.is_dir()]  # beside them: the file-digest cache
    assert len(cached) == 1 and load_run(run).stages[1].local == cached[0]  # merged once, reused
