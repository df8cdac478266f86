"""Paper A's evaluation settings end to end: decoding owned by the harness on every backend, the
over-long filter as a recorded skip reason, Paper A's protocol on MMMU, MMLU-Pro and POPE,
restyled stage columns and the preset recorded in results."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

import hub_fixtures as fx
from harness.check.checker import check_bundle
from harness.engine import Request, open_backend
from harness.engine.base import sampling_parameters
from harness.engine.openai_api import openai_request_fields
from harness.engine.vllm import vllm_sampling_kwargs
from harness.eval.columns import plan_columns, preset_spec
from harness.eval.evaluate import run_eval
from harness.runs.checkpoints import load_run
from tasks import get_task
from tasks.base import GenerationContract, Sample
from tasks.extract import PAPER_WS_PATTERN
from tasks.presets import PAPER_A

# ---- decoding: the contract's, on every backend ---------------------------------------------

RELEASE_STYLE_GENERATION_CONFIG = {  # values that change greedy decoding if they are applied
    "bos_token_id": 0, "do_sample": True, "repetition_penalty": 1.5, "no_repeat_ngram_size": 2, "top_k": 1,
    "top_p": 0.001, "temperature": 1e-06, "max_new_tokens": 3, "min_new_tokens": 12,
}


def _requests(n: int = 8) -> tuple[list[Request], GenerationContract]:
    task = get_task("toy_count:style=direct")
    samples = task.load("test")[:n]
    return [Request(s.id, s.messages, s.images, 7 + i) for i, s in enumerate(samples)], GenerationContract(max_new_tokens=24)


def _generate(model: Path, requests: list[Request], contract: GenerationContract) -> dict[str, str]:
    engine = open_backend("hf", str(model), batch_size=8, batching="exact")
    try:
        return {req.id: text for batch in engine.generate(requests, contract) for req, text in batch}
    finally:
        engine.close()


def test_a_checkpoints_generation_config_changes_no_response(tiny_model, tmp_path):
    """Measured: 0 of 8 greedy responses change when generation_config.json is edited (the same
    edit applied to `generate` changes responses, so the test can fail)."""
    import torch
    from transformers import AutoModelForImageTextToText

    edited = tmp_path / "edited"
    shutil.copytree(tiny_model, edited)
    path = edited / "generation_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **RELEASE_STYLE_GENERATION_CONFIG}))
    requests, contract = _requests()
    before, after = _generate(tiny_model, requests, contract), _generate(edited, requests, contract)
    assert before == after
    # The edit matters when transformers is left to apply it.
    from harness.engine.hf import load_processor

    processor = load_processor(str(edited))
    model = AutoModelForImageTextToText.from_pretrained(edited, dtype=torch.float32).eval()
    assert model.generation_config.repetition_penalty == 1.5
    enc = processor(text=[processor.apply_chat_template(requests[0].messages, add_generation_prompt=True, tokenize=False)],
                    images=[requests[0].images[0].convert("RGB")], return_tensors="pt")
    out = model.generate(**enc, do_sample=False, max_new_tokens=24)
    applied = processor.tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    assert applied != before[requests[0].id]


def test_all_three_backends_send_the_same_decoding_values(tiny_model, tmp_path):
    contract = GenerationContract(max_new_tokens=5, temperature=0.5, top_p=0.99, top_k=7, repetition_penalty=1.1, stop=("x",))
    expected = sampling_parameters(contract, 1234)
    assert expected == {"max_tokens": 5, "temperature": 0.5, "top_p": 0.99, "top_k": 7, "repetition_penalty": 1.1,
                        "min_p": 0.0, "stop": ["x"], "seed": 1234}
    assert vllm_sampling_kwargs(contract, 1234) == {**expected, "skip_special_tokens": True}
    fields = openai_request_fields(contract, 1234)
    assert {**{k: v for k, v in fields.items() if k != "extra_body"}, **fields["extra_body"]} == expected

    # openai: the request body a server receives
    pytest.importorskip("openai")
    from test_backends import Endpoint

    server = Endpoint(["m"])
    try:
        engine = open_backend("openai", "m", base_url=server.url, request_timeout=5, max_retries=0)
        list(engine.generate([Request("a", [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], [], 1234)], contract))
        body = server.requests[0]
        assert {k: body[k] for k in expected} == expected
        greedy = GenerationContract(max_new_tokens=5)
        list(engine.generate([Request("b", [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], [], 9)], greedy))
        assert {k: server.requests[1][k] for k in ("temperature", "top_p", "top_k", "repetition_penalty", "seed")} == {
            "temperature": 0.0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "seed": 9}
    finally:
        server.close()

    # hf: what reaches `generate` and the seeded sampler
    engine = open_backend("hf", str(tiny_model), batch_size=2)
    seen = {}
    real = engine.model.generate

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)

    engine.model.generate = spy
    requests, _ = _requests(1)
    list(engine.generate([Request(requests[0].id, requests[0].messages, requests[0].images, 1234)], contract))
    sampler = seen["logits_processor"][0]
    got = {"max_tokens": seen["max_new_tokens"], "temperature": sampler.temperature, "top_p": sampler.top_p, "top_k": sampler.top_k,
           "repetition_penalty": seen["repetition_penalty"], "min_p": 0.0, "stop": list(contract.stop), "seed": sampler.seeds[0]}
    assert got == expected
    # nothing of the checkpoint's generation config beyond its end and pad ids
    assert {k: v for k, v in engine.model.generation_config.to_diff_dict().items() if k != "transformers_version"} == {
        "eos_token_id": engine.model.generation_config.eos_token_id, "pad_token_id": engine.pad_id}
    engine.close()


def test_top_k_one_samples_the_greedy_answer(tiny_model):
    requests, greedy = _requests()
    top1 = GenerationContract(max_new_tokens=24, temperature=0.5, top_p=0.99, top_k=1)
    assert _generate(tiny_model, requests, top1) == _generate(tiny_model, requests, greedy)


# ---- the over-long filter, the preset and restyled columns, end to end ----------------------

def _release_json(folder: Path, n_short: int = 2) -> Path:
    """A release-style ScienceQA file with `n_short` ordinary items and one whose prompt is longer
    than Paper A's 6,144-character bound."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n_short + 1):
        Image.new("RGB", (40, 30), ("red", "blue", "green")[i % 3]).save(folder / f"{i}.png")
        context = "A long passage. " * 400 if i == n_short else "Look at the picture."
        rows.append({"messages": [{"role": "user", "content": f"<image>\n{context}\nWhich colour is shown?\nA. red\nB. blue\n"
                                                               "Answer with the option's letter from the given choices directly."},
                                  {"role": "assistant", "content": "A"}], "images": [f"{i}.png"]})
    path = folder / "ScienceQA_test.json"
    path.write_text(json.dumps(rows))
    return path


def test_overlong_prompts_are_a_recorded_skip_reason(tmp_path, tiny_model):
    data = _release_json(tmp_path / "data")
    paper = get_task(f"scienceqa:data={data}")
    samples = paper.load("test")
    kept, reasons = paper.eval_samples(samples)
    assert reasons == {"prompt_too_long": ["2"]} and [s.id for s in kept] == ["0", "1"]
    direct = get_task(f"scienceqa:data={data},style=direct")  # LLaMA-Factory's evaluation drops nothing
    assert direct.eval_samples(direct.load("test"))[1] == {}

    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"base": str(tiny_model), "stages": [], "general": []}))
    out = tmp_path / "out"
    spec = f"scienceqa:data={data},image_min_pixels=0,image_max_pixels=4096"  # small images keep the tiny model fast
    results = run_eval(load_run(run, allow_external_paths=True), out, tmp_path / "store", general_specs=[spec], progress=False,
                       preset="paper-a")
    info = results["tasks"][get_task(spec).spec]
    assert info["skip_reasons"] == {"prompt_too_long": ["2"]} and info["skipped_ids"] == ["2"] and info["n"] == 2
    assert info["style"] == "paper" and info["preset"] == "paper-a" and info["protocol"] == "paper"
    assert info["contract"]["temperature"] == 0.5 and info["contract"]["top_p"] == 0.99 and info["contract"]["max_pixels"] == 4096
    assert info["contract"]["min_pixels"] is None and info["contract"]["max_new_tokens"] == 1024
    preset = results["generation"]["preset"]
    assert preset["name"] == "paper-a" and preset["values"]["max_prompt_chars"] == 6144
    assert all("test.yaml" in preset["sources"][k] for k in ("temperature", "top_p", "max_new_tokens", "min_pixels", "max_pixels"))
    assert results["stages"][0]["generation_config"] == json.loads((tiny_model / "generation_config.json").read_text())
    report = check_bundle(out)
    assert report.accepted, [p.line() for p in report.problems]
    # A bundle that drops another sample as "too long" is refused.
    doc = json.loads((out / "results.json").read_text())
    doc["tasks"][get_task(spec).spec]["skip_reasons"] = {"prompt_too_long": ["1"]}
    (out / "results.json").write_text(json.dumps(doc))
    assert any("skipped ids" in p.line() for p in check_bundle(out).problems)


def test_a_style_on_a_trained_task_restyles_its_column(tmp_path, tiny_run):
    run = load_run(tiny_run)
    plan = plan_columns(run, ["toy_science:style=direct", "toy_count", "toy_mcq10"])
    assert [t.spec for t in plan.sequence] == ["toy_science:style=direct", "toy_count"]
    assert [t.spec for t in plan.general] == ["toy_mcq10"]
    assert plan.restyled == {"toy_science": "toy_science:style=direct"}
    assert plan.run.sequence == ["toy_science:style=direct", "toy_count"]
    bounds = plan_columns(run, None, None, {"image_max_pixels": 4096})  # the command line's bounds reach every column
    assert [t.spec for t in bounds.columns] == ["toy_science:image_max_pixels=4096", "toy_count:image_max_pixels=4096", "toy_mcq10"]

    out = tmp_path / "out"
    results = run_eval(run, out, tmp_path / "store", task_specs=["toy_science:style=direct", "toy_count"], limit=4, progress=False)
    assert results["sequence"] == ["toy_science:style=direct", "toy_count"] and results["general"] == []
    assert [s["task"] for s in results["stages"]] == [None, "toy_science:style=direct", "toy_count"]
    assert results["metrics"]["fm"] is not None  # the restyled sequence is still the whole sequence
    assert results["tasks"]["toy_science:style=direct"]["style"] == "direct"
    report = check_bundle(out)
    assert report.accepted, [p.line() for p in report.problems]


def test_preset_gives_the_general_benchmarks_paper_as_prompts():
    assert preset_spec("mmmu", PAPER_A) == "mmmu:style=paper"
    assert preset_spec("pope:category=random", PAPER_A) == "pope:category=random,style=paper"
    assert preset_spec("mmlu_pro:style=standard", PAPER_A) == "mmlu_pro:style=standard"  # a style given is kept
    assert preset_spec("toy_count", PAPER_A) == "toy_count" and preset_spec("mmmu", None) == "mmmu"
    from tasks import SEQUENCES

    assert SEQUENCES["cpt7"]["general"] == ["mmmu:style=paper", "mmlu_pro:style=paper", "pope:style=paper"]


# ---- Paper A's protocol on MMMU, MMLU-Pro and POPE ---------------------------------------

def compute_score_accuracy(response: str, gold: str) -> float:
    """`math.py:compute_score`'s accuracy term, written out: whitespace around < > / removed, the
    last box's content (mathruler's `extract_boxed_content`) graded by `grade_answer`."""
    from mathruler.grader import extract_boxed_content, grade_answer

    response = re.sub(PAPER_WS_PATTERN, r"\1", response)
    return 1.0 if grade_answer(extract_boxed_content(response), gold) else 0.0


def no_cot_accuracy(response: str, gold: str) -> float:
    """`math.py:no_cot`, written out: the same clean-up, then `grade_answer` on the whole response."""
    from mathruler.grader import grade_answer

    response = re.sub(PAPER_WS_PATTERN, r"\1", response)
    return 1.0 if grade_answer(response.strip(), gold.strip()) else 0.0


def _forms(gold: str) -> list[str]:
    wrong = "B" if gold != "B" else "C"
    return [f"<think>hm</think> \\boxed{{{gold}}}", f"\\boxed{{{gold}}}", f"\\boxed{{{gold.lower()}}}", f"\\boxed{{({gold})}}",
            f"<think>a</think>\\boxed{{{wrong}}} then \\boxed{{{gold}}}", f"\\boxed{{{gold}}} no, \\boxed{{{wrong}}}", gold,
            f"The answer is {gold}.", f"{gold}.", f"  {gold}\n", "", f"< think >x< / think > \\boxed{{ {gold} }}", "\\boxed{" + gold,
            f"\\boxed{{\\text{{{gold}}}}}", f"**{gold}**", "yes" if gold != "yes" else "no", "Yes", f"\\boxed{{{gold}}} ."]


@pytest.fixture(scope="module")
def general_data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("general")
    return {
        "mmmu": fx.write_hub_folder(root / "mmmu", fx.mmmu_configs(), {"*": fx.MMMU_SCHEMA}),
        "mmlu_pro": fx.write_hub_folder(root / "mmlu", {"default": fx.mmlu_pro_splits()}, {"*": fx.MMLU_PRO_SCHEMA}),
        "pope": fx.write_hub_folder(root / "pope", {"default": {"test": fx.pope_rows()}}, {"*": fx.POPE_SCHEMA}),
    }


@pytest.mark.parametrize("name, extra", [("mmmu", ",subjects=Art+Math"), ("mmlu_pro", ""), ("pope", "")])
def test_paper_protocol_on_the_general_benchmarks(general_data, name, extra):
    """Golds given back boxed (CoT) or as they are (no-CoT) score 100%; every response form agrees
    with Paper A's rules written out above."""
    for style, rule, given_back in (("paper", compute_score_accuracy, "<think>x</think> \\boxed{{{}}}"), ("no_cot", no_cot_accuracy, "{}")):
        task = get_task(f"{name}:data={general_data[name]}{extra},style={style}")
        samples = task.load("test")
        assert task.default_protocol() == "paper" and task.preset is PAPER_A
        assert all(task.score_as(None, given_back.format(s.target), s).value == 1.0 for s in samples)
        for s in samples:
            for form in _forms(str(s.target)):
                assert task.score_as("paper", form, s).value == rule(form, str(s.target)), (style, form)


def test_paper_protocol_needs_papers_prompts(general_data):
    from tasks.errors import HarnessError

    task = get_task(f"mmmu:data={general_data['mmmu']},subjects=Art")
    assert task.available_protocols() == ("official",) and task.default_protocol() == "official"
    with pytest.raises(HarnessError, match="protocol paper scores Paper A's prompts; use mmmu:style=paper"):
        task.check_protocol("paper", [])


def test_boxed_styles_without_a_box_are_wrong_and_invalid():
    """In every think/boxed style an answer outside a box is no answer, whatever it says."""
    cases = [("pope:style=cot", "yes", {}), ("pope:style=paper", "yes", {}), ("mmlu_pro:style=paper", "A", {}),
             ("mmmu:style=cot", "A", {"question_type": "multiple-choice", "options": ["a", "b"]}),
             ("mmmu:style=paper", "A", {"question_type": "multiple-choice", "options": ["a", "b"]})]
    for spec, gold, meta in cases:
        task = get_task(spec)
        for protocol in task.available_protocols():
            score = task.score_as(protocol, gold, Sample("s", [], gold, meta=meta))
            assert (score.value, score.valid) == (0.0, False), (spec, protocol)
            boxed = task.score_as(protocol, f"<think>x</think> \\boxed{{{gold}}}", Sample("s", [], gold, meta=meta))
            assert boxed.value == 1.0, (spec, protocol)
    summary = get_task("pope:style=cot").summary_metrics(
        [get_task("pope:style=cot").score("yes", Sample("s", [], "yes"))])
    assert summary["yes_ratio"] == 0.0  # an unboxed "yes" is no prediction of either class


def test_bad_preset_or_bounds_are_one_line_before_any_work(tmp_path, tiny_run, capsys):
    from harness.cli import main

    base = ["eval", "--checkpoint-dir", str(tiny_run), "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s"), "--no-progress"]
    assert main(base + ["--preset", "paper-b"]) == 2
    assert capsys.readouterr().err == "harness: error: unknown preset 'paper-b' (presets: paper-a)\n"
    assert main(base + ["--image-max-pixels", "-1"]) == 2
    assert capsys.readouterr().err == "harness: error: --image-max-pixels must be 0 (no bound) or a pixel count\n"
    assert main(base + ["--tasks", "toy_count:image_min_pixels=9000,image_max_pixels=100"]) == 2
    assert "min_pixels (9000) must not exceed max_pixels (100)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()


def test_scoring_elsewhere_leaves_out_what_an_evaluation_leaves_out(tmp_path):
    from harness.errors import HarnessError
    from harness.eval.score import score_file

    data = _release_json(tmp_path / "data")
    responses = tmp_path / "r.jsonl"
    responses.write_text("".join(json.dumps({"id": i, "response": r}) + "\n" for i, r in (("0", "<think>red</think> \\boxed{A}"), ("1", "B"))))
    summary = score_file("scienceqa", str(data), responses, tmp_path / "scores.jsonl")
    assert (summary["n"], summary["prompt_too_long"], summary["accuracy"], summary["protocol"]) == (2, 1, 50.0, "paper")
    responses.write_text(json.dumps({"id": "2", "response": "\\boxed{A}"}) + "\n")
    with pytest.raises(HarnessError, match="left out as too long for the preset"):
        score_file("scienceqa", str(data), responses, tmp_path / "scores.jsonl")
