"""Scorers never raise and stay fast on hostile text (property-based)."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks import TASKS, get_task
from tasks.release import paper_score

FRAGMENTS = ["\\boxed{", "}", "{", "<think>", "</think>", "<answer>", "</answer>", "\\frac{", "(", ")", "A", "42", " ", "\n", "/", "<", ">", "\\", "answer is", "yes"]
hostile = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(FRAGMENTS), max_size=300).map("".join),
    st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
)

PROCEDURAL = [n for n, cls in TASKS.items() if "n_test" in cls.defaults]
SAMPLES = {n: get_task(f"{n}:n_test=1").load("test")[0] for n in PROCEDURAL}
GOLDS = ["42", "A", "dakota", "Unanswerable", "\\frac{1}{2}", "yes", "3:4"]


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
    ],
    ids=["plain-1MB", "boxed-1MB", "unclosed-braces", "deep-nesting", "tag-soup", "binary-1MB", "frac-nest"],
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
