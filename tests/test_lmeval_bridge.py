"""The lm-eval bridge: a local lm-eval task (YAML + JSON data) scored by lm-eval itself, with
generation through the harness's engine and store, equals lm-eval's own hf model on the same
tiny text model; a rerun generates nothing; unknown task names get a did-you-mean."""

from __future__ import annotations

import json

import pytest

lm_eval = pytest.importorskip("lm_eval")

from harness.errors import HarnessError  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from baselines.tiny_model import build_tiny_text_model

    root = tmp_path_factory.mktemp("lmeval")
    model = build_tiny_text_model(root / "model", seed=0)
    rows = [{"question": f"What is {a} plus {b}?", "answer": str(a + b)} for a in range(4) for b in range(5)]
    rows += [{"question": "Name a colour of the sky on a clear day.", "answer": "blue"}]
    with open(root / "data.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    tasks = root / "tasks"
    tasks.mkdir()
    (tasks / "tiny_qa.yaml").write_text(
        "task: tiny_qa\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {root / 'data.jsonl'}\n"
        "test_split: test\noutput_type: generate_until\n"
        "doc_to_text: '{{question}}'\ndoc_to_target: '{{answer}}'\n"
        "generation_kwargs:\n  until: ['<|im_end|>', '\\n']\n  max_gen_toks: 24\n  do_sample: false\n"
        "metric_list:\n  - metric: exact_match\n    ignore_case: true\n"
    )
    # A multiple-choice task (log-likelihoods, through lm-eval's hf model): a random tiny model
    # scores between 0 and 100 here, so the per-stage comparison below can fail.
    words = ["red", "green", "blue", "yellow", "cat", "dog", "tree", "house"]
    with open(root / "mc.jsonl", "w") as f:
        for i in range(16):
            choices = [words[(i + k) % 8] for k in range(4)]
            f.write(json.dumps({"question": f"Question {i}: which word comes first?", "choices": choices, "label": (i * 3) % 4}) + "\n")
    (tasks / "tiny_mc.yaml").write_text(
        "task: tiny_mc\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {root / 'mc.jsonl'}\n"
        "test_split: test\noutput_type: multiple_choice\n"
        "doc_to_text: '{{question}}'\ndoc_to_choice: choices\ndoc_to_target: label\n"
        "metric_list:\n  - metric: acc\n"
    )
    return {"model": model, "tasks": tasks, "n": len(rows)}


def _evaluate(model, setup):
    from lm_eval.tasks import TaskManager

    return lm_eval.simple_evaluate(model=model, model_args=None if not isinstance(model, str) else f"pretrained={setup['model']},dtype=float32",
                                   tasks=["tiny_qa"], task_manager=TaskManager(include_path=str(setup["tasks"])),
                                   apply_chat_template=True, batch_size=4, log_samples=True, device="cpu")


def test_bridge_equals_lm_evals_own_hf_run_and_resumes(setup, tmp_path):
    from harness.eval.lmeval_bridge import HarnessLM

    theirs = _evaluate("hf", setup)
    ours_lm = HarnessLM(pretrained=str(setup["model"]), store=str(tmp_path / "store"), batch_size=4)
    ours = _evaluate(ours_lm, setup)
    assert ours_lm.generated == setup["n"]
    responses = lambda res: [s["resps"][0][0] for s in sorted(res["samples"]["tiny_qa"], key=lambda s: s["doc_id"])]  # noqa: E731
    # Our hf backend drops a trailing incomplete character (U+FFFD) as vLLM does; lm-eval's keeps
    # it (measured: 2 of 21 responses differ only so). Compared without it, all are identical.
    same = sum(a.rstrip("\ufffd") == b for a, b in zip(responses(theirs), responses(ours)))
    print(f"lm-eval bridge vs lm-eval hf: {same}/{setup['n']} identical responses")
    assert same == setup["n"]
    assert ours["results"]["tiny_qa"]["exact_match,none"] == theirs["results"]["tiny_qa"]["exact_match,none"]
    again = HarnessLM(pretrained=str(setup["model"]), store=str(tmp_path / "store"), batch_size=4)
    rerun = _evaluate(again, setup)
    assert again.generated == 0 and responses(rerun) == responses(ours)


def test_unknown_task_name_gets_a_suggestion(setup):
    from harness.eval.lmeval_bridge import check_task_names

    with pytest.raises(HarnessError, match=r"unknown lm-eval task 'tiny_q'; did you mean tiny_qa"):
        check_task_names(["tiny_q"], include_path=str(setup["tasks"]))


def _cli(*args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=900)


def test_lmeval_task_as_a_matrix_column_equals_lm_evals_own_figures(setup, tmp_path):
    """`--general lm-eval:tiny_qa` (text models, so the trained task is the text-only toy_mcq10): the lm-eval column at each stage is lm-eval's own
    exact_match (x100) of lm-eval's hf model on that stage's checkpoint; results record lm-eval's
    version, config hash and metric; `harness check` accepts the bundle; a rerun generates nothing."""
    from baselines.tiny_model import build_tiny_text_model
    from lm_eval.tasks import TaskManager

    run = tmp_path / "run"
    stages = ("base", "stage1")
    for i, name in enumerate(stages):
        build_tiny_text_model(run / name, seed=i)
    (run / "manifest.json").write_text(json.dumps({"base": "base", "stages": [{"task": "toy_mcq10", "path": "stage1"}], "general": []}))
    args = ["eval", "--checkpoint-dir", str(run), "--out", str(tmp_path / "out"), "--store", str(tmp_path / "store"), "--limit", "8",
            "--general", "lm-eval:tiny_qa,tiny_mc", "--lm-eval-include", str(setup["tasks"]), "--lm-eval-chat-template", "--no-progress"]
    proc = _cli(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["columns"] == ["toy_mcq10", "lm-eval:tiny_qa", "lm-eval:tiny_mc"]
    info = results["tasks"]["lm-eval:tiny_qa"]
    assert info["lm_eval"]["version"] == lm_eval.__version__ and info["lm_eval"]["metric"] == "exact_match"
    assert info["lm_eval"]["filter"] == "none" and len(info["lm_eval"]["config_hash"]) == 24 and info["n"] == 8
    assert results["run_stats"]["generated"] == 2 * (8 + 8)
    assert results["tasks"]["lm-eval:tiny_mc"]["lm_eval"]["metric"] == "acc"
    ours = {name: [row[results["columns"].index(f"lm-eval:{name}")] for row in results["accuracy"]] for name in ("tiny_qa", "tiny_mc")}
    theirs = {"tiny_qa": [], "tiny_mc": []}
    for stage in stages:
        out = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={run / stage},dtype=float32", tasks=["tiny_qa", "tiny_mc"],
                                      task_manager=TaskManager(include_path=str(setup["tasks"])), apply_chat_template=True,
                                      batch_size=8, limit=8, device="cpu")
        theirs["tiny_qa"].append(100.0 * out["results"]["tiny_qa"]["exact_match,none"])
        theirs["tiny_mc"].append(100.0 * out["results"]["tiny_mc"]["acc,none"])
    print(f"lm-eval columns vs lm-eval's own hf run, per stage: {ours} vs {theirs}")
    assert ours == theirs
    assert any(0 < v < 100 for v in ours["tiny_mc"])  # a figure that could have come out otherwise
    for name in ours:
        assert results["metrics"]["general_deltas"][f"lm-eval:{name}"]["delta"] == pytest.approx(ours[name][-1] - ours[name][0])

    check = _cli("check", str(tmp_path / "out"))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "lm-eval:tiny_qa: an lm-eval column" in check.stdout
    # An edited lm-eval score is caught by the recomputed figures.
    victim = tmp_path / "out" / "samples" / "stage1" / "lm-eval_tiny_qa.jsonl"
    rows = [json.loads(line) for line in victim.read_text().splitlines()]
    rows[0]["score"] = 1.0 - rows[0]["score"]
    victim.write_text("".join(json.dumps(r) + "\n" for r in rows))
    check = _cli("check", str(tmp_path / "out"))
    assert check.returncode == 1 and "accuracy matrix differs" in check.stdout

    again = _cli(*args[:4], str(tmp_path / "out2"), *args[5:])
    assert again.returncode == 0, again.stderr[-3000:]
    rerun = json.loads((tmp_path / "out2" / "results.json").read_text())
    assert rerun["run_stats"]["generated"] == 0 and rerun["accuracy"] == results["accuracy"]


def test_unknown_lmeval_column_is_one_line_before_any_model(setup, tmp_path, tiny_run):
    proc = _cli("eval", "--checkpoint-dir", str(tiny_run), "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s"),
                "--general", "lm-eval:tiny_q", "--lm-eval-include", str(setup["tasks"]))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("harness: error: unknown lm-eval task 'tiny_q'; did you mean tiny_qa")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").rglob("*.jsonl"))
    proc = _cli("eval", "--checkpoint-dir", str(tiny_run), "--out", str(tmp_path / "o"), "--lm-eval-include", str(setup["tasks"]))
    assert proc.returncode == 2 and "need an lm-eval column" in proc.stderr
