"""The `official` protocols against the reference implementations' behaviour, rule by rule, and
the improved protocols under their own names. Each expected value below is what the reference
code (cited in the task module's docstring) returns for that response; the property tests run
the references' own regular expressions as oracles."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks import get_task
from tasks.base import Sample
from tasks.errors import HarnessError
from tasks.mmlu_pro import extract_choice, official_choice
from tasks.mmmu import (
    COMMA_NUMBER_PATTERN, PLAIN_NUMBER_PATTERN, SCI_NUMBER_PATTERN, extract_numbers, open_correct,
    parse_multiple_choice, parse_open,
)
from tasks.pope import pope_answer, pope_official
from tasks.vqa import most_common_answer, vqa_prediction, vqa_punctuation, vqa_soft_accuracy

# ---- VQA (vqaEval.py) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, processed",
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
        ("shed", "shed"),  # not in the official contraction table (an ordinary word)
        ("wed", "wed"),
        ("hed", "he'd"),  # in the table
        ("Im", "im"),  # the table's capitalised keys never match after lower-casing
        ("thats", "that's"),
        ("somebody'd", "somebodyd"),  # the table's reversed entry
        ("it's", "it's"),  # an apostrophe is not punctuation in the official list
        ("yes: no", "yes: no"),  # nor is a colon
        ("a" + "." * 40, "a" + "." * 8),  # at most 32 periods are removed (re.UNICODE as count)
    ],
)
def test_vqa_prediction_processing(raw, processed):
    assert vqa_prediction(raw) == processed


def test_vqa_normalises_prediction_and_answers_only_when_the_answers_disagree():
    """vqaEval.py at a013f00: everything is stripped; the punctuation and digit/article steps run
    on the prediction and the answers together, and only when the answers disagree."""
    assert vqa_punctuation("Two!") == "Two "
    # Answers all identical: prediction and answers compared as they are (after the strip).
    assert vqa_soft_accuracy("two", ["Two"] * 10) == 0.0
    assert vqa_soft_accuracy("two", ["2"] * 10) == 0.0
    assert vqa_soft_accuracy("Dakota", ["dakota"] * 10) == 0.0
    assert vqa_soft_accuracy(" dakota\n", ["dakota"] * 10) == 1.0
    assert vqa_soft_accuracy("dakota", [" dakota"] * 5 + ["dakota\t"] * 5) == 1.0  # identical once stripped
    # Answers that disagree: both steps on both sides (lower case, number words, articles).
    assert vqa_soft_accuracy("two", ["Two"] * 9 + ["three"]) == 1.0
    assert vqa_soft_accuracy("2", ["two"] * 4 + ["three"] * 6) == 1.0
    assert vqa_soft_accuracy("Yes!", ["yes!"] * 5 + ["no"] * 5) == pytest.approx(1.0)
    assert vqa_soft_accuracy("Yes!", ["yes"] * 5 + ["no"] * 5) == pytest.approx(1.0)
    assert vqa_soft_accuracy("the cat", ["a cat"] * 3 + ["dog"] * 7) == pytest.approx(1.0 * 7 / 10 + (2 / 3) * 3 / 10)


def test_vqa_soft_accuracy_counts_the_other_annotators():
    answers = ["cat"] * 3 + ["dog"] * 2 + ["bird"] + ["fish"] * 4
    assert vqa_soft_accuracy("cat", answers) == pytest.approx(1.0 * 7 / 10 + (2 / 3) * 3 / 10)
    assert vqa_soft_accuracy("Dog.", answers) == pytest.approx((2 / 3) * 8 / 10 + (1 / 3) * 2 / 10)
    assert vqa_soft_accuracy("bird", answers) == pytest.approx(9 / 30)
    assert vqa_soft_accuracy("cow", answers) == 0.0
    assert vqa_soft_accuracy("x", []) == 0.0
    assert vqa_soft_accuracy("cat", ["cat"]) == 0.0  # one answer: no other annotators
    assert most_common_answer(["a dog", "cat", "dog", "cat"]) == "a dog"  # tie: first listed wins


def test_vqa_official_protocol_reads_the_box_and_refuses_single_answer_data():
    task = get_task("textvqa")
    sample = Sample("t", [], "dakota", meta={"answers": ["dakota"] * 10})
    assert task.score_as("official", "<think>brand</think> \\boxed{dakota}", sample).value == 1.0
    assert task.score_as("official", "<think>brand</think> \\boxed{Dakota}", sample).value == 0.0  # ten identical answers: as written
    unboxed = task.score_as("official", "dakota", sample)
    assert (unboxed.value, unboxed.valid) == (0.0, False)
    assert get_task("textvqa:style=direct").score_as("official", "dakota", sample).value == 1.0
    release_like = [Sample("v", [], "unanswerable", meta={})]
    with pytest.raises(HarnessError, match="needs the human answers"):
        get_task("vizwiz:style=direct").check_protocol("official", release_like)
    get_task("vizwiz:style=direct").check_protocol("paper", release_like)


# ---- MMMU (eval_utils.py) ----------------------------------------------------------------

OPTIONS = {"A": "the first painting", "B": "the second painting", "C": "both", "D": "neither"}


@pytest.mark.parametrize(
    "response, letter",
    [
        ("B", "B"),
        ("(C)", "C"),
        ("The answer is (D).", "D"),
        ("A.", "A"),
        ("I think it is B, not A", "A"),  # letters standing alone: the one occurring last wins
        ("Option (A) is wrong; the answer is (B)", "B"),
        ("(B) or A", "B"),  # a bracketed letter outranks letters standing alone
        ("Looking closely, the painting on the left is the second painting shown here", "B"),  # option text, > 5 words
        ("the second painting", None),  # option text only counts in responses over five words
        ("DATA shows nothing", None),  # " A " must stand between spaces
        (".,A", None),  # strips run one after another: "," then "." leaves ",A"
        ("A.,", "A"),  # "," stripped, then "."
        ("'(B)'", "B"),
        ("I cannot tell.", None),  # MMMU would draw a random letter here: wrong and invalid
        ("", None),
    ],
)
def test_mmmu_multiple_choice_parsing(response, letter):
    assert parse_multiple_choice(response, OPTIONS) == letter


def test_mmmu_empty_option_text_is_a_candidate_as_in_mmmu():
    # MMMU tests `ans.lower() in response.lower()`: an empty option is in every long response.
    assert parse_multiple_choice("none of these look right to me", {"A": "cat", "B": ""}) == "B"


@pytest.mark.parametrize(
    "response, gold, right",
    [
        ("The answer is 42.", "42", True),
        ("42", "42", True),
        ("x = 42.0", "42", True),
        ("So the total is 1,234 dollars", "1234", True),
        ("The answer is 41.", "42", False),
        ("It is the mitochondria.", "mitochondria", True),  # gold text contained in the answer
        ("It is the nucleus.", "mitochondria", False),
        ("The result is 3.429", "['24/7', '3.429']", True),  # list-valued gold
        ("Therefore 0.5", "1/2", False),  # MMMU compares numbers, not fractions
        ("the mass is 5kg", "5", False),  # "\d+\b": 5kg holds no number
        ("the mass is 5 kg", "5", True),
        ("final so \nthe end", "end", False),  # line 1's key is "so" (a first empty tail is replaced)
        ("it is 1e3", "1000", True),  # scientific notation, compared as a number
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


NUMBER_TEXT = st.lists(st.sampled_from(["1", "23", "4", ".", ",", "e", "E", "-", "+", " ", "x", "kg", "5,000"]), max_size=25).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=NUMBER_TEXT)
def test_mmmu_number_extraction_equals_mmmu_patterns(text):
    """Our linear-time patterns find exactly what MMMU's `extract_numbers` patterns find."""
    expected = re.findall(COMMA_NUMBER_PATTERN, text) + re.findall(SCI_NUMBER_PATTERN, text) + re.findall(PLAIN_NUMBER_PATTERN, text)
    assert extract_numbers(text) == expected


def test_mmmu_cot_style_reads_the_box():
    task = get_task("mmmu:style=cot")
    sample = Sample("m", [], "C", meta={"question_type": "multiple-choice", "options": ["a", "b", "c", "d"]})
    assert task.score("<think>compare A and B</think> \\boxed{C}", sample).value == 1.0


# ---- MMLU-Pro (evaluate_from_local.py) -------------------------------------------------------


@pytest.mark.parametrize(
    "response, letter",
    [
        ("Let's think. 2 + 2 = 4. The answer is (B).", "B"),
        ("the answer is B", "B"),
        ("The answer is (B). Wait, re-checking: the answer is (D).", "B"),  # the first match
        ("the answer is Absolutely not", "A"),  # nothing is required after the letter
        ("Answer: C", "C"),
        ("x Answer: Answer: B\nAnswer: C", "B"),  # the first line holding one; its last occurrence
        ("nothing\nanswer:\n\n  E then F", "E"),  # "\s*" crosses newlines
        ("The correct option is D.", "D"),  # extract_final: the last standalone capital A–J
        ("(D)", "D"),
        ("D", "D"),
        ("D. Iron 3", "D"),  # the "I" of "Iron" stands in a word
        ("I think so", "I"),  # a standalone pronoun "I" is the letter I
        ("Between B and C, C", "C"),
        ("Answer is (c)", None),  # no standalone capital A–J: MMLU-Pro would guess; wrong and invalid
        ("DATA", None),
        ("answer is (c)", None),
        ("the answer is (K)", None),
        ("no idea", None),
    ],
)
def test_mmlu_pro_official_extraction(response, letter):
    assert official_choice(response) == letter


MMLU_TEXT = st.lists(
    st.sampled_from(["answer is ", "Answer:", "answer:", "answer is (", ")", "A", "C", "J", "K", "a", " ", "\n", "x", "The ",
                     "D.", "Iron", "_", "é", "1", "I", "-"]),
    max_size=20,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=MMLU_TEXT)
def test_mmlu_pro_official_equals_mmlu_pro_patterns(text):
    """Rule by rule, the letter MMLU-Pro's three regular expressions give."""
    expected = None
    for pattern, group in ((r"answer is \(?([A-J])\)?", 1), (r".*[aA]nswer:\s*([A-J])", 1), (r"\b[A-J]\b(?!.*\b[A-J]\b)", 0)):
        m = re.search(pattern, text, re.DOTALL if group == 0 else 0)
        if m:
            expected = m.group(group)
            break
    assert official_choice(text) == expected


@pytest.mark.parametrize(
    "response, letter",
    [
        ("The answer is (B). Wait, re-checking: the answer is (D).", "D"),  # last wins
        ("Answer: C", "C"),
        ("Answer is (c)", None),
        ("the answer is Absolutely not A", None),  # a letter followed by letters is a word
        ("I pick \\boxed{E}", "E"),
        ("\\boxed{(J)}", "J"),
        ("The correct option is D.", None),  # no stray capital letters
        ("no idea", None),
    ],
)
def test_mmlu_pro_last_answer_protocol(response, letter):
    assert extract_choice(response) == letter
    s = get_task("mmlu_pro").score_as("last_answer", response, Sample("q", [], "D"))
    assert s.extracted == letter and s.valid == (letter is not None)


def test_mmlu_pro_official_score_marks_invalid():
    task = get_task("mmlu_pro")
    s = task.score("no idea", Sample("q", [], "A"))
    assert (s.value, s.valid) == (0.0, False)
    assert task.score("so the answer is (A).", Sample("q", [], "A")).value == 1.0
    assert task.available_protocols() == ("official", "last_answer")
    assert get_task("mmlu_pro:style=paper").available_protocols() == ("official", "last_answer", "paper")


# ---- POPE (evaluate.py) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "response, said, explicit",
    [
        ("Yes", "yes", True),
        ("Yes, there is a dog in the image.", "yes", True),
        ("No.", "no", True),
        ("There is not a dog.", "no", True),
        ("No, yes.", "no", True),
        ("Yes. But no cat.", "yes", True),  # only the first sentence counts
        ("NO", "yes", False),  # case matters: only "No", "no", "not"
        ("no\nthere is none", "yes", False),  # split on single spaces: "no\nthere" is one word
        ("I cannot tell", "yes", False),  # POPE's default
        ("", "yes", False),
    ],
)
def test_pope_official_rule(response, said, explicit):
    assert pope_official(response) == (said, explicit)
    s = get_task("pope").score(response, Sample("p", [], "yes"))
    assert s.value == float(said == "yes") and s.valid == explicit


@pytest.mark.parametrize(
    "response, said",
    [("Yes", "yes"), ("NO", "no"), ("no\nthere is none", "no"), ("I cannot tell", None), ("", None)],
)
def test_pope_strict_protocol(response, said):
    assert pope_answer(response) == said
    s = get_task("pope").score_as("strict", response, Sample("p", [], "yes"))
    assert s.extracted == said and s.valid == (said is not None)


def test_pope_summary_metrics_follow_the_official_answers():
    task = get_task("pope")
    golds = ["yes", "yes", "no", "no", "yes"]
    said = ["yes", "no", "yes", "no", "maybe"]  # "maybe" counts as yes, as in POPE
    scores = [task.score(r, Sample(str(i), [], g)) for i, (r, g) in enumerate(zip(said, golds))]
    m = task.summary_metrics(scores)
    # tp 2, fp 1, fn 1
    assert m["precision"] == pytest.approx(200 / 3)
    assert m["recall"] == pytest.approx(200 / 3)
    assert m["f1"] == pytest.approx(200 / 3)
    assert m["yes_ratio"] == pytest.approx(60.0)
    assert sum(s.value for s in scores) == 3
    strict = [task.score_as("strict", r, Sample(str(i), [], g)) for i, (r, g) in enumerate(zip(said, golds))]
    assert task.summary_metrics(strict)["recall"] == pytest.approx(100 / 3)  # "maybe" is a false negative there
