"""Paper A's rules for direct answers (`no_cot`), and hub data that gives the release's prompts
and golds (POPE ids, VizWiz's "unsuitable", absolute release paths, unstripped questions, MMMU's
prompt and unaskable rows)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hub_fixtures as fx
from tasks import get_task
from tasks.extract import PAPER_WS_PATTERN
from tasks.prompts import NO_COT_INSTRUCTION
from tasks.release import no_cot_score
from tasks.sources import load_llamafactory_json

SHARED_DATA = Path(os.environ.get("CPT_HARNESS_RELEASE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data" / "rftvssft")
needs_release = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the paper's release files are not present (set CPT_HARNESS_RELEASE_DATA; see the README)")
RELEASE = [("scienceqa", "ScienceQA_test.json"), ("textvqa", "TextVQA_test.json"), ("vizwiz", "VizWiz_test.json"),
           ("geometry3k", "geo_test.json"), ("pathvqa", "path-vqa_test.json"), ("superclevr", "clevr_test.json")]


def no_cot_reference(response: str, gold: str) -> float:
    """Paper A's `no_cot` reward as released (EasyR1 examples/reward_function/math.py), with mathruler."""
    from mathruler.grader import grade_answer

    response = re.sub(PAPER_WS_PATTERN, r"\1", response)
    return 1.0 if grade_answer(response.strip(), gold.strip()) else 0.0


def direct_forms(gold: str) -> list[str]:
    forms = [gold, f"{gold}.", gold.lower(), gold.upper(), f"  {gold}\n", f"The answer is {gold}.", f"\\boxed{{{gold}}}",
             f"({gold})", "B" if gold != "B" else "C", "yes", f"{gold} < / think >"]
    try:
        forms.append(f"{float(gold):.1f}")  # numbers with ".0"
    except ValueError:
        pass
    return forms


@pytest.mark.parametrize("gold", ["B", "A", "3", "12.5", "dakota", "Unanswerable", "\\frac{1}{2}", "yes", "2\\sqrt{3}"])
def test_direct_style_scores_with_papers_no_cot_rule(gold):
    task = get_task("geometry3k:style=direct")
    from tasks.base import Sample

    sample = Sample("x", [], gold)
    for form in direct_forms(gold):
        got = task.score(form, sample)
        assert got.value == no_cot_reference(form, gold), form
        assert got.parts["fmt"] == 0.0 and task.reward(form, sample) == got.value
    assert task.score(gold, sample).value == 1.0
    assert no_cot_score("", gold).valid is False


def test_no_cot_style_prompt_and_reward(tmp_path):
    from tasks.base import Sample

    rows = [{"messages": [{"role": "user", "content": "<image>What is x?"}, {"role": "assistant", "content": "7"}], "images": ["a.png"]}]
    path = tmp_path / "geo.json"
    path.write_text(json.dumps(rows))
    sample = get_task(f"geometry3k:data={path},style=no_cot").load("test")[0]
    assert sample.messages[0]["content"][-1]["text"] == "What is x? " + NO_COT_INSTRUCTION
    assert NO_COT_INSTRUCTION == "You MUST provide the final answer directly."
    task = get_task("geometry3k:style=no_cot")
    assert task.reward("7", Sample("x", [], "7")) == 1.0 and task.reward("\\boxed{8}", Sample("x", [], "7")) == 0.0


@pytest.mark.slow
@needs_release
@pytest.mark.parametrize("task_name, file", RELEASE)
def test_release_golds_as_direct_answers_score_100_and_agree_with_no_cot(task_name, file):
    samples = load_llamafactory_json(SHARED_DATA / file)
    task = get_task(f"{task_name}:style=direct")
    assert all(task.score(str(s.target), s).value == 1.0 for s in samples), file
    agree = total = 0
    for s in samples[:150]:
        for form in direct_forms(str(s.target)):
            total += 1
            agree += task.score(form, s).value == no_cot_reference(form, str(s.target))
    assert agree == total


def test_vizwiz_reads_unsuitable_as_unanswerable_and_keeps_the_question(tmp_path):
    rows = fx.vizwiz_rows()
    rows[1] = dict(rows[1], question="What color is this shirt?  ", answers=["unsuitable"] * 4 + ["unsuitable image"] * 2 + ["green"] * 4)
    folder = fx.write_hub_folder(tmp_path / "vizwiz", {"default": {"val": rows}}, {"*": fx.VIZWIZ_SCHEMA})
    samples = get_task(f"vizwiz:data={folder},style=direct").load("test")
    assert samples[1].target == "unanswerable"
    assert samples[1].meta["answers"][0] == "unsuitable"  # the human answers are kept as given
    assert samples[1].messages[0]["content"][-1]["text"].startswith("\nWhat color is this shirt?  \n")  # the release: "<image>\\n…"


def test_release_paths_of_another_machine_fall_back_to_the_image_root(tmp_path):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "VizWiz_val_00000001.jpg").write_bytes(b"x")
    rows = [{"messages": [{"role": "user", "content": "<image>What is it?"}, {"role": "assistant", "content": "can"}],
             "images": ["/home/someone/data/vizwiz/val/VizWiz_val_00000001.jpg"]}]
    (tmp_path / "v.json").write_text(json.dumps(rows))
    with_root = load_llamafactory_json(tmp_path / "v.json", tmp_path / "imgs")
    assert with_root[0].images == [tmp_path / "imgs" / "VizWiz_val_00000001.jpg"]
    without = load_llamafactory_json(tmp_path / "v.json")
    assert str(without[0].images[0]) == "/home/someone/data/vizwiz/val/VizWiz_val_00000001.jpg"


def test_mmmu_open_prompt_and_unaskable_rows_are_recorded(tmp_path):
    configs = fx.mmmu_configs()
    configs["Math"]["validation"].append(
        fx._mmmu_row("validation_Math_2", "Pick one.", "[]", "A", "multiple-choice", {}))
    folder = fx.write_hub_folder(tmp_path / "mmmu", configs, {"*": fx.MMMU_SCHEMA})
    task = get_task(f"mmmu:data={folder},subjects=Art+Math")
    samples = task.load("test")
    assert "validation_Math_2" not in [s.id for s in samples]
    kept, skipped = task.loadable_for_generation(samples)
    assert skipped == ["validation_Math_2"] and len(kept) == len(samples)
    open_q = next(s for s in samples if s.meta["question_type"] == "open")
    assert open_q.messages[0]["content"][-1]["text"].endswith("How many figures are shown?\n\nAnswer the question using a single word or phrase.")


ROLLOUT_FRAGMENTS = ["<think>", "</think>", "\\boxed{", "}", "{", " ", "\n", "x", "B", "<", "/"]


@settings(max_examples=400, deadline=None)
@given(text=st.lists(st.sampled_from(ROLLOUT_FRAGMENTS), max_size=14).map("".join))
def test_rollout_filter_shape_equals_papers_regex(text):
    from tasks.extract import ROLLOUT_FILTER_PATTERN, rollout_filter_answer

    m = re.search(ROLLOUT_FILTER_PATTERN, text.strip(), re.DOTALL)
    assert rollout_filter_answer(text) == (m.group(1) if m else None)


@pytest.mark.parametrize(
    "response, gold, correct",
    [
        ("<think>it is B</think> \\boxed{B}", "B", True),
        ("<think>it is B</think>\n\n\\boxed{ B }", "B", True),
        ("\\boxed{B}", "B", False),  # right, but not in the think/boxed shape
        ("<think>x</think> so \\boxed{B}", "B", False),  # text between </think> and \boxed
        ("<think>x</think> \\boxed{A}", "B", False),
        ("<think>x</think> \\boxed{\\frac{1}{2}}", "\\frac{1}{2}", False),  # braces do not nest in the filter
    ],
)
def test_rif_counts_a_rollout_as_rollout_filter_py_does(response, gold, correct):
    from tasks.base import Sample

    assert get_task("geometry3k").rollout_correct(response, Sample("x", [], gold)) is correct
    toy = get_task("toy_science")
    sample = toy.load("test")[0]
    right = f"<think>t</think> \\boxed{{{sample.target}}}"
    assert toy.rollout_correct(right, sample) and not toy.rollout_correct(f"\\boxed{{{sample.target}}}", sample)
