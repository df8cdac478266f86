"""Scorers never raise and stay fast on hostile text (property-based)."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks import TASKS, get_task
from tasks.base import Sample
from tasks.release import paper_score

FRAGMENTS = [
    "\\boxed{", "}", "{", "<think>", "</think>", "<answer>", "</answer>", "\\frac{", "(", ")", "A", "42", " ", "\n", "/", "<",
    ">", "\\", "answer is", "yes", "Answer:", "so ", "=", "1,234", "3.5e7", "not", ".", ",", "(J)",
]
hostile = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(FRAGMENTS), max_size=300).map("".join),
    st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
)

PROCEDURAL = [n for n, cls in TASKS.items() if "n_test" in cls.defaults]
SAMPLES = {n: get_task(f"{n}:n_test=1").load("test")[0] for n in PROCEDURAL}
GOLDS = ["42", "A", "dakota", "Unanswerable", "\\frac{1}{2}", "yes", "3:4"]


# The general benchmarks and the official protocols, on hand-made samples (no data needed).
OFFICIAL = [
    (get_task("mmmu"), Sample("m", [], "B", meta={"question_type": "multiple-choice", "options": ["cat", "dog", "<image 1>"]})),
    (get_task("mmmu:style=cot"), Sample("o", [], "42", meta={"question_type": "open", "options": []})),
    (get_task("mmmu"), Sample("o2", [], "['24/7', '3.429']", meta={"question_type": "open", "options": []})),
    (get_task("mmlu_pro"), Sample("p", [], "J", meta={})),
    (get_task("mmlu_pro"), Sample("p2", [], "A", meta={})),
    (get_task("pope"), Sample("y", [], "yes")),
    (get_task("pope:style=cot"), Sample("n", [], "no")),
    (get_task("mmmu:style=paper"), Sample("mp", [], "B", meta={"question_type": "multiple-choice", "options": ["cat", "dog"]})),
    (get_task("mmlu_pro:style=paper"), Sample("pp", [], "C", meta={})),
    (get_task("mmlu_pro:style=no_cot"), Sample("pn", [], "C", meta={})),
    (get_task("pope:style=paper"), Sample("yp", [], "yes")),
    (get_task("pope:style=no_cot"), Sample("yn", [], "no")),
]
OFFICIAL_PROTOCOL = [
    (get_task("textvqa"), Sample("t", [], "dakota", meta={"answers": ["dakota"] * 7 + ["dakota digital"] * 3})),
    (get_task("vizwiz:style=direct"), Sample("v", [], "unanswerable", meta={"answers": ["unanswerable"] * 6 + ["blue"] * 4})),
    (get_task("gqa"), Sample("g", [], "girl")),
]


def _score_all_official(text):
    for task, sample in OFFICIAL:
        for protocol in task.available_protocols():
            _check(task.score_as(protocol, text, sample))
    for task, sample in OFFICIAL_PROTOCOL:
        _check(task.score_as("official", text, sample))


def _check(score):
    assert 0.0 <= score.value <= 1.0
    assert isinstance(score.valid, bool)


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile)
def test_procedural_scorers_never_raise(text):
    for name in PROCEDURAL:
        _check(TASKS[name]().score(text, SAMPLES[name]))


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile, gold=st.sampled_from(GOLDS))
def test_paper_protocol_never_raises(text, gold):
    _check(paper_score(text, gold))


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile)
def test_general_and_official_scorers_never_raise(text):
    _score_all_official(text)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 1_000_000,
        "\\boxed{" + "x" * 1_000_000 + "}",
        "{" * 200_000 + "\\boxed{" * 50_000,
        "\\boxed{" + "{" * 100_000 + "}" * 100_000 + "}",
        "<think>" * 100_000 + "</answer>" * 100_000,
        bytes(range(256)).decode("latin-1") * 4000,
        "\\boxed{" + "\\frac{" * 300 + "}" * 600,
        "1" * 1_000_000 + ",",
        "answer" + " " * 1_000_000 + "is",
        "so " * 300_000 + "=",
    ],
    ids=["plain-1MB", "boxed-1MB", "unclosed-braces", "deep-nesting", "tag-soup", "binary-1MB", "frac-nest", "digits-1MB", "spaces-1MB", "key-phrases"],
)
def test_megabyte_and_nested_inputs_are_fast(text):
    for name in PROCEDURAL:
        start = time.perf_counter()
        _check(TASKS[name]().score(text, SAMPLES[name]))
        assert time.perf_counter() - start < 2.0, name
    for gold in ("42", "A"):
        start = time.perf_counter()
        _check(paper_score(text, gold))
        assert time.perf_counter() - start < 5.0
    for task, sample in OFFICIAL:
        start = time.perf_counter()
        _check(task.score(text, sample))
        assert time.perf_counter() - start < 2.0, task.spec
    for task, sample in OFFICIAL_PROTOCOL:
        start = time.perf_counter()
        _check(task.score_as("official", text, sample))
        assert time.perf_counter() - start < 2.0, task.spec


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from([" ", "\t", "\n", "\u00a0", "<", ">", "/", "a", "think", "\\boxed{4}"]), max_size=60).map("".join))
def test_markup_whitespace_rule_equals_paper_regex(text):
    """The linear-time clean-up removes exactly what Paper A's regex removes."""
    import re

    from tasks.extract import PAPER_WS_PATTERN, strip_markup_whitespace

    assert strip_markup_whitespace(text) == re.sub(PAPER_WS_PATTERN, r"\1", text)


# Shapes that made backtracking rules slow (64 KB each): the papers' format regexes, MMLU-Pro's
# ".*[aA]nswer:" on one long line, MMMU's number patterns on a long digit run.
K64 = 65536
SLOW_SHAPES = {
    "think-close-no-box": "<think>" + "</think>" * (K64 // 8),
    "think-x-box-unclosed": "<think>" + "x" * K64 + "</think>" + "\\boxed{" * (K64 // 7),
    "think-answer-junctions": "<think>" + "</think> <answer>" * (K64 // 17),
    "think-spaces": "<think></think>" + " " * K64 + "<answer",
    "one-line-no-answer": "answer" + " x" * (K64 // 2),
    "answer-colon-spaces": "Answer:" + " " * K64,
    "digits": "1" * K64 + ",",
    "digits-dot": "1" * K64 + "." + "2" * K64 + "e",
    "comma-groups": "1" + ",234" * (K64 // 4) + "5",
    "letters": "DATA " * (K64 // 5),
    "standalone-letters": "A " * (K64 // 2),  # MMLU-Pro's extract_final rescans the rest for each one
}


@pytest.mark.parametrize("name", list(SLOW_SHAPES))
def test_every_scorer_is_fast_on_backtracking_shapes(name):
    from tasks.extract import format_think_answer, format_think_boxed

    text = SLOW_SHAPES[name]
    start = time.perf_counter()
    format_think_boxed(text), format_think_answer(text)
    for task_name in PROCEDURAL:
        _check(TASKS[task_name]().score(text, SAMPLES[task_name]))
    _score_all_official(text)
    for gold in ("42", "A"):
        _check(paper_score(text, gold))
    assert time.perf_counter() - start < 0.5, name


FORMAT_FRAGMENTS = ["<think>", "</think>", "<answer>", "</answer>", "\\boxed{", "}", "{", " ", "\n", "x", "<", "/"]


@settings(max_examples=400, deadline=None)
@given(text=st.lists(st.sampled_from(FORMAT_FRAGMENTS), max_size=14).map("".join))
def test_format_rules_equal_the_papers_regexes(text):
    """The linear-time format rules accept exactly what the papers' regexes accept."""
    import re

    from tasks.extract import THINK_ANSWER_PATTERN, THINK_BOXED_PATTERN, format_think_answer, format_think_boxed

    assert format_think_boxed(text, cleaned=True) == (re.fullmatch(THINK_BOXED_PATTERN, text, re.DOTALL) is not None)
    assert format_think_answer(text) == (re.fullmatch(THINK_ANSWER_PATTERN, text.strip(), re.DOTALL) is not None)
