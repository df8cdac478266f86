"""DocVQA: ANLS on hand-computed responses, the hub schema (folder, parquet), the prompt styles,
gold answers scoring 1, and long responses scoring in linear time."""

from __future__ import annotations

import time

import pytest

import hub_fixtures as fx
from tasks import get_task
from tasks.base import Sample
from tasks.docvqa import anls, levenshtein


@pytest.mark.parametrize("a, b, d", [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("flaw", "lawn", 2), ("same", "same", 0)])
def test_levenshtein(a, b, d):
    assert levenshtein(a, b) == d == levenshtein(b, a)


@pytest.mark.parametrize("said, golds, value", [
    ("ITC Limited", ["itc limited"], 1.0),                 # case
    ("  itc   limited \n", ["itc limited"], 1 - 0 / 18),   # whitespace collapsed; length from the raw 18 characters
    ("itc limted", ["itc limited"], 1 - 1 / 11),           # one OCR slip
    ("0.29", ["0.28"], 1 - 1 / 4),
    ("0.2", ["0.28"], 1 - 1 / 4),
    ("12", ["0.28"], 0.0),                                 # 1 - 3/4 < 0.5
    ("Denver", ["Denver Broncos"], 0.0),                   # 1 - 8/14 < 0.5
    ("Denver Bronco", ["Denver Broncos"], 1 - 1 / 14),
    ("Dr. Lobo", ["Dear Dr. Lobo", "Dr. Lobo"], 1.0),      # the best gold wins
    ("abcd", ["abxy"], 0.5),                               # exactly at the threshold: kept
    ("", ["x"], 0.0),
    ("Straße", ["STRASSE"], 1 - 2 / 7),                    # 'ß'.upper() is 'SS': the denominator counts 7
])
def test_anls_hand_computed(said, golds, value):
    assert anls(said, golds) == pytest.approx(value)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    splits = {"validation": fx.docvqa_rows(), "test": fx.docvqa_rows("test")}
    return fx.write_hub_folder(tmp_path_factory.mktemp("docvqa") / "DocVQA", {"DocVQA": splits}, {"*": fx.DOCVQA_SCHEMA})


def test_hub_folder_and_parquet_load_the_same_samples(folder, tmp_path):
    samples = get_task(f"docvqa:data={folder}").load("test")
    assert [s.id for s in samples] == ["49153", "24580", "57349"]
    assert samples[1].meta["answers"] == ["itc limited", "ITC Limited"] and samples[1].target == "itc limited"
    text = samples[0].messages[0]["content"][-1]["text"]
    assert text == "What is the ‘actual’ value per 1000, during the year 1975?\nAnswer the question using a single word or phrase."
    assert samples[0].messages[0]["content"][0] == {"type": "image"}
    parquet = fx.write_parquet(tmp_path / "val.parquet", fx.docvqa_rows(), fx.DOCVQA_SCHEMA)
    again = get_task(f"docvqa:data={parquet}").load("test")
    assert [(s.id, s.messages, s.meta["answers"]) for s in again] == [(s.id, s.messages, s.meta["answers"]) for s in samples]


def test_gold_answers_score_one_under_each_protocol(folder):
    boxed = lambda a: f"<think>reading</think> \\boxed{{{a}}}"  # noqa: E731
    for style, wrap in (("standard", lambda a: a), ("cot", boxed), ("paper", boxed), ("no_cot", lambda a: a)):
        task = get_task(f"docvqa:data={folder},style={style}")
        samples = task.load("test")
        for protocol in task.available_protocols():
            for s in samples:
                golds = s.meta["answers"] if protocol == "official" else [s.target]  # Paper A's rule takes one gold
                for gold in golds:
                    assert task.score_as(protocol, wrap(gold), s).value == 1.0, (style, protocol, gold)
    cot = get_task(f"docvqa:data={folder},style=cot")
    s = cot.load("test")[0]
    assert cot.score("0.28", s).valid is False and cot.score("0.28", s).value == 0.0   # no box: invalid


def test_a_split_without_answers_is_refused(folder):
    from tasks.errors import HarnessError

    task = get_task(f"docvqa:data={folder}")
    with pytest.raises(HarnessError, match="no answers"):
        task.samples_from_table(task.open_table(str(folder), "dataset folder", "test", "DocVQA"), str(folder))


@pytest.mark.parametrize("shape", ["a" * 65536, " " * 65536 + "paul", "a " * 32768, "pa" + " " * 32000 + "b" * 33000])
def test_long_responses_score_in_linear_time(shape):
    sample = Sample("1", [], "Paul", [], {"answers": ["Paul", "to paul and mary"]})
    task = get_task("docvqa")
    started = time.perf_counter()
    for _ in range(4):
        task.score(shape, sample)
    assert time.perf_counter() - started < 2.0
    assert task.score(" " * 65536 + "paul", sample).value == 1.0   # lmms-eval's denominator counts the raw spaces
