"""Paper A's release files and the `paper` scoring protocol."""

import json
import os
import random
import re
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.eval.score import score_file
from tasks import get_task
from tasks.release import paper_score
from tasks.sources import check_images, load_llamafactory_json

# The test files published with Paper A's code (`LLaMA-Factory/data/` of the RFTvsSFT repository):
# $CPT_HARNESS_RELEASE_DATA, else ../shared/data/rftvssft beside the clone (see the README).
SHARED_DATA = Path(os.environ.get("CPT_HARNESS_RELEASE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data" / "rftvssft")

RELEASE_COUNTS = {
    "ScienceQA_test.json": 2017, "TextVQA_test.json": 5000, "VizWiz_test.json": 4319,
    "geo_test.json": 601, "path-vqa_test.json": 6719, "clevr_test.json": 642, "all_data_test.json": 1680,
}
needs_release = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the paper's release files are not present (set CPT_HARNESS_RELEASE_DATA; see the README)")


def paper_reference(response: str, gold: str) -> tuple[float, float]:
    """Paper A's reward code, as released: EasyR1 reward_function/math.py with mathruler."""
    from mathruler.grader import extract_boxed_content, grade_answer

    response = re.sub(r"\s*(<|>|/)\s*", r"\1", response)
    fmt = 1.0 if re.fullmatch(r"<think>.*</think>.*\\boxed\{.*\}.*", response, re.DOTALL) else 0.0
    acc = 1.0 if grade_answer(extract_boxed_content(response), gold) else 0.0
    return acc, fmt


@needs_release
@pytest.mark.parametrize("name, count", sorted(RELEASE_COUNTS.items()))
def test_release_files_load_completely(name, count):
    samples = load_llamafactory_json(SHARED_DATA / name)
    assert len(samples) == count
    assert len({s.id for s in samples}) == count
    assert all(isinstance(s.target, str) and s.target for s in samples)
    skipped = check_images(samples, skip_missing=True)  # the release ships no image files
    assert len(skipped) == count
    with pytest.raises(HarnessError, match=rf"{count} of {count} samples have missing images"):
        check_images(samples, skip_missing=False)


def test_llamafactory_loader_on_a_local_file(tmp_path):
    from PIL import Image

    (tmp_path / "img").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "img" / "a.png")
    items = [
        {"messages": [{"role": "user", "content": "<image>\nQ1?"}, {"role": "assistant", "content": "A"}], "images": ["img/a.png"]},
        {"id": "x7", "messages": [{"role": "user", "content": "<image>Q2 <image> compare"}, {"role": "assistant", "content": "B"}],
         "images": ["img/a.png", "img/missing.png"], "data_type": "toy"},
    ]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(items))
    first, second = load_llamafactory_json(path)
    assert first.id == "0" and second.id == "x7" and second.meta == {"data_type": "toy"}
    assert [p["type"] for p in second.messages[0]["content"]] == ["image", "text", "image", "text"]
    task = get_task(f"scienceqa:data={path}")
    assert task.load("test")[0].messages[0]["content"][-1]["text"].endswith("MUST BE put in \\boxed{}.")
    with pytest.raises(HarnessError, match="1 of 2 samples have missing images"):
        task.loadable_for_generation(task.load("test"))
    kept, skipped = get_task(f"scienceqa:data={path},skip_missing_images=true").loadable_for_generation(task.load("test"))
    assert [s.id for s in kept] == ["0"] and skipped == ["x7"]
    path.write_text(json.dumps([{"messages": [{"role": "user", "content": "<image> q"}, {"role": "assistant", "content": "a"}], "images": []}]))
    with pytest.raises(HarnessError, match="1 <image> placeholders but 0 images"):
        load_llamafactory_json(path)


@pytest.mark.parametrize(
    "response, gold, acc, fmt, valid",
    [
        ("<think>x</think> \\boxed{48}", "48", 1.0, 1.0, True),
        ("< think >x</ think >\\boxed{48}", "48", 1.0, 1.0, True),  # whitespace around markup removed
        ("\\boxed{48}", "48", 1.0, 0.0, True),
        ("<think>x</think> 48", "48", 0.0, 0.0, False),
        ("\\boxed{1} then \\boxed{2", "1", 0.0, 0.0, False),  # only the last \boxed{ counts, and it is unclosed
        ("\\boxed{\\frac{1}{2}}", "0.5", 1.0, 0.0, True),
        ("\\boxed{Dakota}", "dakota", 1.0, 0.0, True),
        ("\\boxed{B}", "A", 0.0, 0.0, True),
        ("no box", "None", 1.0, 0.0, False),  # the paper's code grades the string "None"
    ],
)
def test_paper_protocol_golden(response, gold, acc, fmt, valid):
    s = paper_score(response, gold)
    assert (s.value, s.parts["fmt"], s.valid) == (acc, fmt, valid)
    assert (s.value, s.parts["fmt"]) == paper_reference(response, gold)


def test_paper_protocol_grades_overlong_answers_wrong_without_mathruler():
    long = "7" * 2001
    assert paper_score(f"\\boxed{{{long}}}", long).value == 0.0  # the one documented difference
    assert paper_score(f"\\boxed{{{long[:2000]}}}", long[:2000]).value == 1.0


def _variants(gold: str, rng: random.Random) -> list[str]:
    other = rng.choice(["A", "B", "7", "yes", "no", "dakota", "3.5", "Unanswerable"])
    return [
        f"<think>reasoning</think> \\boxed{{{gold}}}",
        f"\\boxed{{{gold}}}",
        f"\\boxed{{{other}}}",
        gold,
        f"The answer is {gold}.",
        f"<think> a </think>\n\nThe final answer is \\boxed{{ {gold} }}.",
        f"< think >x</ think > \\boxed{{{gold.upper()}}}",
        f"<think>x</think>\\boxed{{{gold.lower()}}} and \\boxed{{{other}}}",
        f"\\boxed{{{gold}}} \\boxed{{{gold}",
        f"<think>{gold}</think><answer>{gold}</answer>",
        f"\\boxed{{{gold}.0}}",
        f"\\boxed{{\\text{{{gold}}}}}",
    ]


@needs_release
@pytest.mark.slow
def test_harness_score_agrees_with_the_paper_rule_on_21600_variants(tmp_path):
    rng = random.Random(0)
    files = [("geometry3k", "geo_test.json"), ("scienceqa", "ScienceQA_test.json"), ("textvqa", "TextVQA_test.json"),
             ("vizwiz", "VizWiz_test.json"), ("pathvqa", "path-vqa_test.json"), ("superclevr", "clevr_test.json")]
    total = agree = 0
    for task, name in files:
        samples = load_llamafactory_json(SHARED_DATA / name)
        picked = rng.sample(samples, min(len(samples), 300))
        variants = [(s, _variants(s.target, rng)) for s in picked]
        for k in range(len(variants[0][1])):  # one responses file per kind of variant: one line per id
            rows = [(s, vs[k]) for s, vs in variants]
            responses = tmp_path / f"{task}.{k}.jsonl"
            responses.write_text("".join(json.dumps({"id": s.id, "response": v}) + "\n" for s, v in rows))
            out = tmp_path / f"{task}.{k}.scores.jsonl"
            score_file(task, str(SHARED_DATA / name), responses, out)
            scores = [json.loads(line) for line in out.read_text().splitlines()]
            assert [g["id"] for g in scores] == [s.id for s, _ in rows]  # input order kept
            for (s, v), got in zip(rows, scores):
                total += 1
                agree += got["score"] == paper_reference(v, s.target)[0]
    assert total == 6 * 300 * 12 == 21600
    assert agree == total
