"""The reference trainer on the tiny model, on CPU: every method completes a 2-task toy
sequence, the reward is the task's scorer, RIF's kept fraction matches its saved rollouts,
bad input fails cleanly, and a killed run resumes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("trl")

from baselines import stages as st  # noqa: E402
from baselines.methods import load_config  # noqa: E402
from baselines.train import train_run  # noqa: E402
from harness.errors import HarnessError  # noqa: E402
from harness.runs.checkpoints import load_run  # noqa: E402
from tasks import get_task  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEQUENCE = "toy_science,toy_spatial"


def _config_file(tmp_path: Path, method: str, **extra) -> str:
    """The method's tiny config file, shrunk further for a test."""
    text = (REPO / "baselines" / "configs" / f"{method}-tiny.toml").read_text()
    values = {"n_train": 16, "epochs": 1.0, **extra}
    lines = [line for line in text.splitlines() if line.split("=")[0].strip() not in values]
    lines += [f"{k} = {json.dumps(v) if isinstance(v, str) else v}" for k, v in values.items()]
    path = tmp_path / f"{method}.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _config(tmp_path: Path, method: str, **extra):
    """That config, read the way `harness train --config` reads it."""
    return load_config(method, _config_file(tmp_path, method, **extra))


def test_reward_is_the_task_scorer():
    """What TRL's reward call returns equals `task.reward`, built from `task.score`."""
    task = get_task("toy_science")
    samples = task.load("train")[:4]
    reward = st.TaskReward({st.sample_key(task, s): (task, s) for s in samples})
    texts = [
        f"<think>look</think> \\boxed{{{samples[0].target}}}",  # right, formatted
        f"\\boxed{{{samples[1].target}}}",  # right, no think block
        "<think>x</think> \\boxed{Z}",  # formatted, wrong
        "no answer at all",
    ]
    completions = [[{"role": "assistant", "content": t}] for t in texts]  # TRL's conversational form
    got = reward(prompts=[None] * 4, completions=completions, sample_key=[st.sample_key(task, s) for s in samples])
    expected = [task.reward(t, s) for t, s in zip(texts, samples)]
    assert got == expected
    scores = [task.score(t, s) for t, s in zip(texts, samples)]
    assert got == [0.9 * sc.parts["acc"] + 0.1 * sc.parts["fmt"] for sc in scores]
    assert got[0] == pytest.approx(1.0) and got[1] == pytest.approx(0.9) and got[2] == pytest.approx(0.1) and got[3] == 0.0


@pytest.mark.parametrize("method", ["sft", "grpo", "rloo", "rif-grpo", "rollout-sft", "multitask", "multitask-grpo",
                                    "grpo-nokl", "grpo-unscaled", "grpo-batch-scaled", "sft-replay", "grpo-replay",
                                    "sft-l2", "sft-ewc", "remax", "grpo-nocot", "sft-lora"])
def test_every_method_completes_a_two_task_sequence(method, instruct_base, tmp_path):
    out = tmp_path / "run"
    extra = {"warmup_ratio": 0.0} if method in ("sft-l2", "sft-ewc") else {}  # two steps: a warm-up would make the first one lr 0
    manifest = train_run(method, SEQUENCE, str(instruct_base), out, _config(tmp_path, method, **extra), progress=False)
    assert len(manifest["stages"]) == 2
    run = load_run(out, allow_external_paths=True)  # what `harness eval` reads: every stage folder loads and checks out
    assert [s.task for s in run.stages[1:]] == manifest["training"]["sequence"]
    diagnostics = sorted((out / "diagnostics").glob("stage*.json"))
    assert diagnostics
    d = json.loads(diagnostics[0].read_text())
    assert d["wall_seconds"] > 0
    if method in ("grpo", "rloo", "rif-grpo"):
        assert 0.0 <= d["reward_mean"] <= 1.0 and d["tokens_generated"] > 0 and d["completions"] > 0
        assert d["frac_zero_std_groups"] is not None and d["format_rate"] is not None
    if method == "sft":
        assert manifest["training"]["sequence"] == ["toy_science:style=direct", "toy_spatial:style=direct"]
    if method in ("multitask", "multitask-grpo"):
        assert {s["path"] for s in manifest["stages"]} == {"joint"}
        assert d["kind"] == ("multitask-sft" if method == "multitask" else "multitask-grpo")
    if method == "multitask":  # Paper A's upper bound: SFT on the gold answers, direct style
        assert manifest["training"]["sequence"] == ["toy_science:style=direct", "toy_spatial:style=direct"]
    if method == "rif-grpo":
        for t in (1, 2):
            d = json.loads((out / "diagnostics" / f"stage{t}.json").read_text())
            rows = [json.loads(line) for line in (out / d["filters"][0]["file"]).read_text().splitlines()]
            per_item: dict[str, int] = {}
            for r in rows:
                per_item[r["id"]] = per_item.get(r["id"], 0) + bool(r["correct"])
                assert not r["correct"] or r["acc"] >= 1.0  # correct = right and in the think/boxed shape
            assert len(rows) == 16 * 8
            assert d["kept_fraction"] == pytest.approx(sum(n > 0 for n in per_item.values()) / len(per_item))
    if method in ("grpo", "rloo", "rif-grpo"):
        # Paper A's CL_oneRef: the KL reference stays the base in every stage; RIF resets it to the stage's start.
        from harness.runs.fingerprint import fingerprint

        second = json.loads((out / "diagnostics" / "stage2.json").read_text())
        ref = second["kl_reference"] if method != "rif-grpo" else second["chunks"][-1]["kl_reference"]
        expected = instruct_base if method != "rif-grpo" else out / manifest["stages"][0]["path"]
        assert ref["fingerprint"] == fingerprint(expected) and Path(ref["path"]) == expected
    if method == "rif-grpo":
        assert d["steps"] > 0, "the instruct base gets some rollouts right, so GRPO trains on the kept items"
    if method == "rollout-sft":
        assert d["source_fingerprint"] and d["correct_rollouts"] >= 1 and d["steps"] > 0
    if method.endswith("replay"):  # 16 own items; stage 2 replays round(0.1 / 0.9 x 16) = 2 of toy_science's
        first, second = (json.loads((out / "diagnostics" / f"stage{t}.json").read_text())["replay"] for t in (1, 2))
        assert first["items"] == 0 and second["items"] == 2 and second["by_task"] == {manifest["training"]["sequence"][0]: 2}
        assert second["share"] == pytest.approx(2 / 18)
    if method in ("sft-l2", "sft-ewc"):
        first, second = (json.loads((out / "diagnostics" / f"stage{t}.json").read_text())["regulariser"] for t in (1, 2))
        # L2 pulls towards the previous stage from stage 1 on; EWC has no earlier Fisher at stage 1.
        assert first["active"] is (method == "sft-l2") and second["active"] is True
        # Each stage starts at its anchor (penalty 0), then moves away from it.
        assert second["penalty_per_micro_batch"][0] == 0.0 and max(second["penalty_per_micro_batch"]) > 0.0
        if method == "sft-ewc":
            assert second["fisher_from"] == ["stage1.safetensors"]
            assert sorted(p.name for p in (out / "fisher").iterdir()) == ["stage1.safetensors", "stage2.safetensors"]
    if method == "remax":
        assert d["kind"] == "remax" and d["greedy_baseline_reward_mean"] is not None and d["advantages"]["count"] == d["completions"]
    if method == "grpo-nocot":  # Paper A's nocot runs: the no_cot prompt, reward = accuracy alone
        assert manifest["training"]["sequence"] == ["toy_science:style=no_cot", "toy_spatial:style=no_cot"]
        assert d["reward_mean"] == pytest.approx(d["accuracy_rate"])
    if method == "sft-lora":
        for t in (1, 2):
            lora = json.loads((out / "diagnostics" / f"stage{t}.json").read_text())["lora"]
            assert (lora["rank"], lora["alpha"], lora["adapter"]) == (8, 16, f"adapters/stage{t}")
            assert lora["trainable_parameters"] > 0 and (out / lora["adapter"] / "adapter_model.safetensors").is_file()
    assert not (out / ".work").exists()


def test_remax_advantage_is_the_reward_minus_the_greedy_reward(instruct_base, tmp_path):
    """ReMax (EasyR1's `compute_remax_outcome_advantage`): every sampled response's advantage is
    its reward minus the reward of its prompt's greedy response, neither centred nor scaled."""
    from baselines.remax import group_starts, remax_advantages

    import torch

    assert group_starts(8, 0, 4) == [0, 4] and group_starts(6, 6, 4) == [0, 2] and group_starts(3, 5, 4) == [0] and group_starts(5, 6, 4) == [0, 2]
    got = remax_advantages(torch.tensor([1.0, 0.1, 0.0, float("nan")]), torch.tensor([0.1, 0.1, 1.0, 0.0]))
    assert got.tolist() == pytest.approx([0.9, 0.0, -1.0, 0.0])

    task = get_task("toy_count")
    items = [(task, s) for s in task.load("train")[:4]]
    cfg = _config(tmp_path, "remax", max_steps=1)
    model, processor, gpu = st.load_trainable(instruct_base)
    reward = st.TaskReward({st.sample_key(t, s): (t, s) for t, s in items})
    trainer = st.rft_trainer(cfg, model, processor, gpu, st.prompt_rows(items, 0, 0), reward, tmp_path / "work", 1.0)
    trainer.train()
    assert trainer.generation_config.do_sample  # the greedy pass restores TRL's sampling
    g = cfg.num_generations
    rewards = [r["reward"] for r in reward.log]
    assert len(rewards) == len(trainer.advantage_log) == 4 * g and len(trainer.baseline_log) == 4
    expected = [rewards[i] - trainer.baseline_log[i // g] for i in range(4 * g)]
    assert trainer.advantage_log == pytest.approx(expected, abs=1e-6)
    assert all(min(abs(b - v) for v in (0.0, 0.1, 0.9, 1.0)) < 1e-6 for b in trainer.baseline_log)  # one response's task reward


def test_a_lora_stage_equals_its_source_plus_its_adapter(instruct_base, tmp_path, monkeypatch):
    """sft-lora's stage folder answers exactly as `harness eval` answers for the stage's source
    with the saved adapter (the adapter layout, merged by `harness.runs.adapters`)."""
    pytest.importorskip("peft")
    from harness.eval.evaluate import run_eval

    monkeypatch.setenv("CPT_HARNESS_MERGED", str(tmp_path / "merged-cache"))
    out = tmp_path / "run"
    train_run("sft-lora", "toy_count", str(instruct_base), out, _config(tmp_path, "sft-lora"), progress=False)
    adapter_run = tmp_path / "adapter-run"
    shutil.copytree(instruct_base, adapter_run / "base")
    shutil.copytree(out / "adapters" / "stage1", adapter_run / "stage1-lora")
    (adapter_run / "manifest.json").write_text(json.dumps(
        {"base": "base", "stages": [{"task": "toy_count:style=direct", "path": "stage1-lora", "adapter_base": "base"}]}))
    spec = ["toy_count:style=direct"]
    a = run_eval(load_run(out, allow_external_paths=True), tmp_path / "oa", tmp_path / "sa", task_specs=spec, limit=8, progress=False)
    b = run_eval(load_run(adapter_run), tmp_path / "ob", tmp_path / "sb", task_specs=spec, limit=8, progress=False)
    read = lambda o, stage: (o / f"samples/{stage}/toy_count_style=direct.jsonl").read_text()  # noqa: E731
    assert read(tmp_path / "oa", "stage1") == read(tmp_path / "ob", "stage1") and a["accuracy"] == b["accuracy"]
    assert read(tmp_path / "oa", "stage1") != read(tmp_path / "oa", "stage0")  # the adapter changed the model


def test_the_new_methods_refuse_bad_settings_in_one_line(tmp_path):
    """An unknown estimator, scale_rewards on ReMax, DeepSpeed or a rank of 0 for sft-lora, and a
    style other than no_cot for grpo-nocot each fail at load, before any work."""
    cases = [("grpo", 'estimator = "remx"', "estimator 'remx' is none of grpo, rloo, remax"),
             ("remax", 'scale_rewards = "batch"', "scale_rewards applies to GRPO; remax has its own advantage"),
             ("sft-lora", 'deepspeed = "baselines/configs/zero3.json"', "sft-lora merges its adapter on one process"),
             ("sft-lora", "lora_rank = 0", "lora_rank and lora_alpha must be at least 1"),
             ("grpo-nocot", 'style = "cot"', "fixes it to 'no_cot'")]
    for method, line, message in cases:
        path = tmp_path / f"{method}.toml"
        path.write_text(line + "\n")
        with pytest.raises(HarnessError, match=message.replace("(", r"\(")):
            load_config(method, path)


def test_the_penalty_is_zero_at_the_anchor_and_grows_with_the_distance():
    """L2: lambda/2 * sum(delta^2); EWC: lambda/2 * sum(F * delta^2), hand-computed on a real module."""
    import torch

    from baselines.regularisers import Anchor, anchor_weights

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    anchor = anchor_weights(model)
    fisher = {name: torch.full_like(p, 2.0) for name, p in model.named_parameters()}
    l2, ewc = Anchor(anchor, None, 0.5), Anchor(anchor, fisher, 0.5)
    assert float(l2.penalty(model)) == 0.0 and float(ewc.penalty(model)) == 0.0
    values = []
    for step in (0.1, 0.2, 0.4):
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(anchor[name] + step)
        n = sum(p.numel() for p in model.parameters())  # 8 parameters, each `step` from its anchor
        assert float(l2.penalty(model)) == pytest.approx(0.5 / 2 * n * step**2)
        assert float(ewc.penalty(model)) == pytest.approx(0.5 / 2 * n * 2.0 * step**2)
        values.append(float(l2.penalty(model)))
    assert values == sorted(values) and values[0] > 0
    penalty = l2.penalty(model)
    penalty.backward()  # the gradient pulls back towards the anchor: lambda * delta
    assert torch.allclose(model.weight.grad, torch.full_like(model.weight, 0.5 * 0.4))


def _content(sample) -> tuple[str, str, tuple[bytes, ...]]:
    """What a model sees of an item and its answer: text, target and image pixels."""
    from PIL import Image

    images = tuple((im if isinstance(im, Image.Image) else Image.open(im)).tobytes() for im in sample.images)
    return repr(sample.messages), repr(sample.target), images


def test_replay_mixes_the_configured_share_of_earlier_training_items():
    """Each stage of a replay method trains on its own items plus `replay_share` of the whole set
    drawn evenly from the earlier tasks' training items — none of them one of the stage's test
    items (text, answer and pixels) — and the same items again when a stage is resumed."""
    from baselines.train import _train_items, plan_tasks, replay_items

    cfg = load_config("sft-replay", REPO / "baselines" / "configs" / "sft-replay-tiny.toml")
    tasks, _ = plan_tasks("toy7", cfg.style)
    train_ids = {task.spec: {s.id for s in _train_items(task, cfg)} for task in tasks}
    for t, task in enumerate(tasks, start=1):
        own = _train_items(task, cfg)
        replay = replay_items(cfg, tasks[: t - 1], len(own), t)
        assert replay == replay_items(cfg, tasks[: t - 1], len(own), t)  # a rerun replays the same items
        if t == 1:
            assert replay == []
            continue
        assert abs(len(replay) / (len(own) + len(replay)) - cfg.replay_share) <= 1 / (len(own) + len(replay))
        per_task = {e.spec: 0 for e in tasks[: t - 1]}
        current_tests = {_content(x) for x in task.load("test")}
        for earlier, sample in replay:
            per_task[earlier.spec] += 1
            assert sample.id in train_ids[earlier.spec]
            assert _content(sample) not in current_tests
        assert max(per_task.values()) - min(per_task.values()) <= 1  # spread evenly


def test_bad_input_is_one_line_and_overwrites_nothing(tiny_model, tmp_path):
    with pytest.raises(HarnessError, match="unknown method 'ppo'"):
        train_run("ppo", SEQUENCE, str(tiny_model), tmp_path / "a")
    with pytest.raises(HarnessError, match="unknown task 'toy_scence'"):
        train_run("sft", "toy_scence", str(tiny_model), tmp_path / "a")
    with pytest.raises(HarnessError, match="has no train split"):
        train_run("sft", "toy_science,vizwiz", str(tiny_model), tmp_path / "a")
    assert not (tmp_path / "a").exists()
    with pytest.raises(HarnessError, match="base model not found"):
        train_run("sft", SEQUENCE, str(tmp_path / "nope"), tmp_path / "a")
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rat = 1.0\n")
    with pytest.raises(HarnessError, match="unknown key 'learning_rat'"):
        load_config("sft", bad)
    # A folder holding another run's manifest: refused, byte for byte untouched.
    other = tmp_path / "other"
    train_run("sft", "toy_science", str(tiny_model), other, _config(tmp_path, "sft", n_train=8), progress=False)
    before = {p: p.read_bytes() for p in other.rglob("*") if p.is_file()}
    with pytest.raises(HarnessError, match="holds another run"):
        train_run("grpo", "toy_science", str(tiny_model), other, _config(tmp_path, "grpo"), progress=False)
    assert {p: p.read_bytes() for p in other.rglob("*") if p.is_file()} == before


def test_resume_skips_a_checkpoint_torn_by_a_kill(tmp_path):
    """A kill during a TRL save leaves a checkpoint folder without trainer_state.json (written
    last): resuming picks the newest complete one and removes the torn one."""
    work = tmp_path / "work"
    for step, complete in ((4, True), (8, True), (12, False)):
        folder = work / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"x")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert st.last_checkpoint(work) == str(work / "checkpoint-8")
    assert not (work / "checkpoint-12").exists()
    assert st.last_checkpoint(tmp_path / "none") is None


def test_cli_errors(tiny_model, tmp_path):
    r = subprocess.run([sys.executable, "-m", "harness.cli", "train", "--method", "dpo", "--sequence", "toy3", "--base", str(tiny_model), "--out", str(tmp_path / "x")],
                       capture_output=True, text=True)
    from baselines.methods import METHODS

    assert r.returncode == 2 and r.stderr.strip().splitlines() == [f"harness: error: unknown method 'dpo' (methods: {', '.join(METHODS)})"]
    assert "grpo-nokl" in METHODS and "sft-replay" in METHODS


@pytest.mark.slow
def test_sigkill_mid_stage_then_rerun_resumes(tiny_model, tmp_path):
    """Kill `harness train` inside stage 2 once a TRL checkpoint exists; the rerun keeps stage 1
    untouched, resumes stage 2 from its checkpoint, and leaves a complete, loadable run."""
    out = tmp_path / "run"
    config = _config_file(tmp_path, "sft", n_train=64, epochs=3.0, save_steps=4)
    cmd = [sys.executable, "-m", "harness.cli", "train", "--method", "sft", "--sequence", SEQUENCE, "--base", str(tiny_model),
           "--out", str(out), "--config", config, "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not list((out / ".work" / "stage2").glob("checkpoint-*")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["stages"]) == 1, "killed inside stage 2"
    stage1 = (out / "stage1-toy_science" / "model.safetensors").read_bytes()
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "1 of 2 stages already done" in r.stdout
    assert (out / "stage1-toy_science" / "model.safetensors").read_bytes() == stage1
    run = load_run(out, allow_external_paths=True)
    assert [s.path for s in run.stages[1:]] == ["stage1-toy_science", "stage2-toy_spatial"]
    assert not (out / ".work").exists() and not list(out.glob("*.partial"))


def test_paper_style_reward_counts_format(tmp_path):
    """Paper A's reward for the CPT tasks (style `paper`): 0.9 accuracy + 0.1 format."""
    import json as _json

    data = tmp_path / "geo.json"
    data.write_text(_json.dumps([{"messages": [{"role": "user", "content": "<image>Find x."}, {"role": "assistant", "content": "3"}], "images": ["a.png"]}]))
    task = get_task(f"geometry3k:data={data}")
    sample = task.load("test")[0]
    assert task.reward("<think>x</think> \\boxed{4}", sample) == pytest.approx(0.1)
    assert task.reward("<think>x</think> \\boxed{3}", sample) == pytest.approx(1.0)
    assert task.reward("\\boxed{3}", sample) == pytest.approx(0.9)
    assert get_task(f"geometry3k:data={data},style=direct").reward("\\boxed{3}", sample) == 1.0


def test_paper_configs_write_every_default_and_sft_follows_the_papers_yamls():
    """Each `*-paper.toml` is its dataclass's defaults, field for field; the SFT values that
    differed from Paper A's LLaMA-Factory yamls now match them."""
    import dataclasses

    from baselines.methods import METHODS

    for method, spec in METHODS.items():
        loaded = load_config(method, REPO / "baselines" / "configs" / f"{method}-paper.toml")
        cls = spec.config
        default = cls()
        for key, value in spec.fixed.items():
            default = dataclasses.replace(default, **{key: value})
        differ = {f.name for f in dataclasses.fields(cls) if getattr(loaded, f.name) != getattr(default, f.name) and f.name != "deepspeed"}
        assert not differ, (method, differ)
    sft = load_config("sft", REPO / "baselines" / "configs" / "sft-paper.toml")
    assert (sft.per_device_batch_size, sft.grad_accum) == (1, 2)  # per_device_train_batch_size, gradient_accumulation_steps
    assert sft.epochs_for("geometry3k") == 10.0 and sft.epochs_for("superclevr") == 3.0 and sft.epochs_for("textvqa") == 1.0
    assert sft.max_length_for("textvqa") == 8192 and sft.max_length_for("pathvqa") == 7168  # cutoff_len
    assert sft.image_max_pixels == 4194304 and sft.learning_rate == 1e-5 and sft.warmup_ratio == 0.1
    assert (sft.seed, sft.n_train) == (42, 100000)  # transformers' default seed; max_samples
    grpo = load_config("grpo", REPO / "baselines" / "configs" / "grpo-paper.toml")
    assert grpo.seed == 1 and grpo.epochs_for("scienceqa") == 5.0 and grpo.epochs_for("textvqa") == 1.0


def test_every_paper_config_value_cites_its_source():
    """Each key of each `*-paper.toml` carries a comment citing a file and line of Paper A's code
    (E/…, LF/…, EasyR1/…, LLaMA-Factory/…, rollout_filter.py) or saying that it is not there."""
    import re

    cited = re.compile(r"#.*(?:\b(?:E|LF|EasyR1|LLaMA-Factory)/[\w/.-]+:\d+|rollout_filter\.py:\d+|not in the (?:released code|yamls))")
    files = sorted((REPO / "baselines" / "configs").glob("*-paper.toml"))
    assert len(files) == 17
    for path in files:
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                assert cited.search(line), (path.name, line)


def test_sft_drops_and_counts_items_over_the_cutoff(tiny_model, tmp_path):
    """An item longer than max_length is dropped and counted, never truncated into nothing."""
    from baselines.stage_configs import SFTConfig

    task = get_task("toy_count:style=direct")
    samples = task.load("train")[:6]
    long_sample = samples[0]
    long_sample.messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "count the dots " * 200}]}]
    pairs = [(task, s, st.demonstration(task, s)) for s in samples]
    cfg = SFTConfig(learning_rate=1e-3, epochs=1.0, per_device_batch_size=2, grad_accum=1, max_length=200, save_steps=1000, bf16=False, gradient_checkpointing=False)
    diag = st.train_sft(cfg, pairs, tiny_model, tmp_path / "out", tmp_path / "work", 1.0, False)
    assert diag["dropped_overlong"] == 1 and diag["dropped_ids"] == [long_sample.id] and diag["items"] == 5
    assert diag["loss_first"] is not None and diag["loss_first"] > 0.0  # trained on real tokens
    cfg.max_length = 5
    with pytest.raises(HarnessError, match="longer than their max_length"):
        st.train_sft(cfg, pairs, tiny_model, tmp_path / "out2", tmp_path / "work2", 1.0, False)


def test_rollout_sft_imitates_the_rft_run_stage_by_stage(instruct_base, tmp_path):
    """Paper B's source: stage t samples the RFT run's stage-t model. A run folder of the same
    sequence (here two copies of the instruct base under a manifest, as `harness eval` reads it)
    gives each stage its own source; a run of another sequence, or no source, is refused up front."""
    import shutil

    from harness.runs.fingerprint import fingerprint

    rft = tmp_path / "rft"
    for name in ("s1", "s2"):
        shutil.copytree(instruct_base, rft / name)
    (rft / "manifest.json").write_text(json.dumps({"base": str(instruct_base), "stages": [
        {"task": "toy_science", "path": "s1"}, {"task": "toy_spatial", "path": "s2"}]}))
    out = tmp_path / "run"
    train_run("rollout-sft", SEQUENCE, str(instruct_base), out, _config(tmp_path, "rollout-sft", source=str(rft), n_train=8), progress=False)
    for t, name in ((1, "s1"), (2, "s2")):
        d = json.loads((out / "diagnostics" / f"stage{t}.json").read_text())
        assert Path(d["source"]) == rft / name and d["source_fingerprint"] == fingerprint(rft / name)
    with pytest.raises(HarnessError, match="trained toy_science,toy_spatial, not toy_spatial"):
        train_run("rollout-sft", "toy_spatial", str(instruct_base), tmp_path / "b", _config(tmp_path, "rollout-sft", source=str(rft)), progress=False)
    with pytest.raises(HarnessError, match="rollout-sft needs `source`"):
        train_run("rollout-sft", SEQUENCE, str(instruct_base), tmp_path / "b", _config(tmp_path, "rollout-sft", source=""), progress=False)
    assert not (tmp_path / "b").exists()


def test_instruct_base_is_reused_only_with_its_own_recipe(instruct_base, tmp_path, monkeypatch):
    from baselines.instruct_base import RECIPE, build_instruct_base
    from tasks.toy.ocr import ToyOcr

    base = tmp_path / "base"
    shutil.copytree(instruct_base, base)
    same = dict(n_general=32, n_task=48, epochs=3.0)
    before = {p.name: p.stat().st_mtime_ns for p in base.iterdir()}
    assert build_instruct_base(base, **same) == base  # reused, not rebuilt
    assert {p.name: p.stat().st_mtime_ns for p in base.iterdir()} == before
    with pytest.raises(HarnessError, match=r"another recipe \(learning_rate: 0.003, not 0.001\)"):
        build_instruct_base(base, **same, learning_rate=1e-3)
    with monkeypatch.context() as m:  # a task changed since the base was built
        m.setattr(ToyOcr, "version", "999")
        with pytest.raises(HarnessError, match=r"another recipe \(task_versions: .*'toy_ocr': '6'.*, not .*'toy_ocr': '999'"):
            build_instruct_base(base, **same)
    (base / RECIPE).unlink()
    with pytest.raises(HarnessError, match=f"without {RECIPE}"):
        build_instruct_base(base, **same)
    assert (base / "config.json").is_file()  # refusing deletes nothing


def test_every_method_evaluates_the_toy_general_probes_alike():
    """The sequence's tasks take the trained style; the toy general probes keep the styles their
    spec names (both), so SFT and GRPO runs get the same general columns."""
    from baselines.train import plan_tasks

    both = ["toy_mcq10", "toy_mcq10:style=direct", "toy_imgmcq", "toy_imgmcq:style=direct"]
    for style in ("direct", "cot", ""):
        tasks, general = plan_tasks("toy3", style)
        assert general == both
        assert all(t.params["style"] == (style or "cot") for t in tasks)
    assert plan_tasks("toy_count", "direct")[1] == []
