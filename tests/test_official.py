"""Golden cases for the `official` protocols and the general benchmarks' scorers, including the
failure cases other harnesses are known for (PAPERS.md)."""

from __future__ import annotations

import pytest

from tasks import get_task
from tasks.base import Sample
from tasks.mmlu_pro import extract_choice
from tasks.mmmu import open_correct, parse_multiple_choice, parse_open
from tasks.pope import pope_answer
from tasks.vqa import most_common_answer, vqa_normalize, vqa_soft_accuracy


@pytest.mark.parametrize(
    "raw, normalised",
    [
        ("Yes.", "yes"),
        ("The Red Car", "red car"),
        ("two", "2"),
        ("none", "0"),
        ("3.5", "3.5"),
        ("23.", "23"),
        ("dont know", "don't know"),
        ("1,000", "1000"),  # a digit-comma-digit group: punctuation deleted, not spaced
        ("left-hand", "left hand"),
        ("hand - made", "hand made"),  # touching a space: deleted
        ("  coca\tcola\n", "coca cola"),
    ],
)
def test_vqa_normalisation(raw, normalised):
    assert vqa_normalize(raw) == normalised


def test_vqa_soft_accuracy_counts_annotators():
    answers = ["cat"] * 3 + ["dog"] * 2 + ["bird"] + ["fish"] * 4
    assert vqa_soft_accuracy("cat", answers) == pytest.approx(1.0 * 7 / 10 + (2 / 3) * 3 / 10)
    assert vqa_soft_accuracy("Dog.", answers) == pytest.approx((2 / 3) * 8 / 10 + (1 / 3) * 2 / 10)
    assert vqa_soft_accuracy("bird", answers) == pytest.approx(9 / 30)
    assert vqa_soft_accuracy("cow", answers) == 0.0
    assert vqa_soft_accuracy("x", []) == 0.0
    assert most_common_answer(["a dog", "cat", "dog", "cat"]) == "a dog"  # tie: first listed wins


def test_official_protocol_reads_the_box_in_paper_style():
    task = get_task("textvqa")
    sample = Sample("t", [], "dakota", meta={"answers": ["dakota"] * 10})
    assert task.score_as("official", "<think>brand</think> \\boxed{Dakota}", sample).value == 1.0
    unboxed = task.score_as("official", "dakota", sample)
    assert (unboxed.value, unboxed.valid) == (0.0, False)
    assert get_task("textvqa:style=direct").score_as("official", "dakota", sample).value == 1.0
    # Release JSON has one answer: exact match after VQA normalisation.
    assert get_task("vizwiz:style=direct").score_as("official", "Unanswerable.", Sample("v", [], "unanswerable")).value == 1.0


OPTIONS = {"A": "the first painting", "B": "the second painting", "C": "both", "D": "neither"}


@pytest.mark.parametrize(
    "response, letter",
    [
        ("B", "B"),
        ("(C)", "C"),
        ("The answer is (D).", "D"),
        ("A.", "A"),
        ("I think it is B, not A", "A"),  # several letters standing alone: the last one wins
        ("Option (A) is wrong; the answer is (B)", "B"),
        ("Looking closely, the painting on the left is the second painting shown here", "B"),  # option text, > 5 words
        ("the second painting", None),  # option text only counts in responses over five words
        ("DATA shows nothing", None),  # a letter must stand alone: MMMU's own code would take "A"
        ("I cannot tell.", None),  # no random letter
        ("", None),
    ],
)
def test_mmmu_multiple_choice_parsing(response, letter):
    assert parse_multiple_choice(response, OPTIONS) == letter


@pytest.mark.parametrize(
    "response, gold, right",
    [
        ("The answer is 42.", "42", True),  # the case some harnesses score 0
        ("42", "42", True),
        ("x = 42.0", "42", True),
        ("So the total is 1,234 dollars", "1234", True),
        ("The answer is 41.", "42", False),
        ("It is the mitochondria.", "mitochondria", True),  # gold text contained in the answer
        ("It is the nucleus.", "mitochondria", False),
        ("The result is 3.429", "['24/7', '3.429']", True),  # list-valued gold
        ("Therefore 0.5", "1/2", False),  # MMMU compares numbers, not fractions
    ],
)
def test_mmmu_open_answers(response, gold, right):
    task = get_task("mmmu")
    assert task.score(response, Sample("o", [], gold, meta={"question_type": "open", "options": []})).value == float(right)


def test_mmmu_open_parse_keeps_shortest_key_text():
    assert 42.0 in parse_open("The answer is 42.")
    assert open_correct(["42"], parse_open("so it could be 42")) is True
    empty = get_task("mmmu").score("   ", Sample("o", [], "42", meta={"question_type": "open", "options": []}))
    assert (empty.value, empty.valid) == (0.0, False)


def test_mmmu_cot_style_reads_the_box():
    task = get_task("mmmu:style=cot")
    sample = Sample("m", [], "C", meta={"question_type": "multiple-choice", "options": ["a", "b", "c", "d"]})
    assert task.score("<think>compare A and B</think> \\boxed{C}", sample).value == 1.0


@pytest.mark.parametrize(
    "response, letter",
    [
        ("Let's think. 2 + 2 = 4. The answer is (B).", "B"),
        ("the answer is B", "B"),
        ("The answer is (B). Wait, re-checking: the answer is (D).", "D"),  # last wins; lm-eval takes B
        ("Answer: C", "C"),  # lm-eval's filter misses this
        ("Answer is (c)", None),  # letters are upper case
        ("the answer is Absolutely not A", None),  # a letter followed by letters is a word; lm-eval takes A
        ("I pick \\boxed{E}", "E"),
        ("\\boxed{(J)}", "J"),
        ("The answer is (K)", None),  # outside A–J
        ("no idea", None),  # no random letter
    ],
)
def test_mmlu_pro_extraction(response, letter):
    assert extract_choice(response) == letter


def test_mmlu_pro_score_marks_invalid():
    task = get_task("mmlu_pro")
    s = task.score("no idea", Sample("q", [], "A"))
    assert (s.value, s.valid) == (0.0, False)
    assert task.score("so the answer is (A).", Sample("q", [], "A")).value == 1.0


@pytest.mark.parametrize(
    "response, said",
    [
        ("Yes", "yes"),
        ("Yes, there is a dog in the image.", "yes"),
        ("No.", "no"),
        ("There is not a dog.", "no"),
        ("No, yes.", "no"),  # no/not wins, as in POPE's script
        ("Yes. But no cat.", "yes"),  # only the first sentence counts
        ("I cannot tell", None),  # POPE's script would call this "yes"
        ("", None),
    ],
)
def test_pope_answers(response, said):
    assert pope_answer(response) == said


def test_pope_summary_metrics():
    task = get_task("pope")
    golds = ["yes", "yes", "no", "no", "yes"]
    said = ["yes", "no", "yes", "no", "maybe"]
    scores = [task.score(r, Sample(str(i), [], g)) for i, (r, g) in enumerate(zip(said, golds))]
    m = task.summary_metrics(scores)
    # tp 1, fp 1, fn 2 (one "no", one invalid)
    assert m["precision"] == pytest.approx(50.0)
    assert m["recall"] == pytest.approx(100 / 3)
    assert m["f1"] == pytest.approx(40.0)
    assert m["yes_ratio"] == pytest.approx(40.0)
    assert sum(s.value for s in scores) == 2
