"""MME and MMStar: their official answer rules on hand-made responses, the hub schemas, MME's
accuracy+ / perception / cognition sums and MMStar's per-category accuracy on hand-computed
cases, gold answers scoring 100%, and long responses scoring in linear time."""

from __future__ import annotations

import time

import pytest

import hub_fixtures as fx
from tasks import get_task
from tasks.mme import mme_lmms_eval, mme_official
from tasks.mmstar import mmstar_official


@pytest.mark.parametrize("response, official, lmms", [
    ("Yes", "yes", "yes"), ("No.", "no", "no"), ("yes, there is a dog", "yes", "yes"),
    (" yes", "yes", "yes"), ("  yes", "other", "yes"),         # MME's tool does not strip: "  ye" holds no answer
    ("n", "other", "no"), ("y", "other", "yes"),                # lmms-eval reads a lone y / n
    ("Not sure", "no", "no"), ("know", "no", "no"),             # "no" among the first four characters
    ("The answer is yes", "other", "other"), ("", "other", "other"),
    ("No\n\nbecause", "no", "no"), ("Ye\ns", "yes", "other"),   # the tool's line: line breaks deleted
])
def test_mme_answer_rules(response, official, lmms):
    assert mme_official(response) == official
    assert mme_lmms_eval(response) == lmms


@pytest.mark.parametrize("response, gold, right", [
    ("A", "A", True), ("a) The suitcase", "A", True), ("(B)", "B", True), ("Option C", "C", True),
    ("The answer is D", "D", True), ("The answer is: D", "D", False),   # the letter must be the 15th character
    ("Answer: A", "A", True), ("Answer: B", "B", False),   # the first character, "a", is what is read ("", "A", False), ("(", "A", False), ("option ", "A", False),
    ("\n b", "B", True), ("B", "A", False),
])
def test_mmstar_rule(response, gold, right):
    assert mmstar_official(response, gold) is right


@pytest.fixture(scope="module")
def mme_folder(tmp_path_factory):
    return fx.write_hub_folder(tmp_path_factory.mktemp("mme") / "MME", {"default": {"test": fx.mme_rows()}}, {"*": fx.MME_SCHEMA})


@pytest.fixture(scope="module")
def mmstar_folder(tmp_path_factory):
    return fx.write_hub_folder(tmp_path_factory.mktemp("mmstar") / "MMStar", {"val": {"val": fx.mmstar_rows()}}, {"*": fx.MMSTAR_SCHEMA})


def test_mme_loads_pairs_and_sums_scores(mme_folder, tmp_path):
    task = get_task(f"mme:data={mme_folder}")
    samples = task.load("test")
    assert [s.id for s in samples] == ["existence/000000006040.jpg#0", "existence/000000006040.jpg#1", "code_reasoning/0020.png#0", "code_reasoning/0020.png#1"]
    assert samples[0].messages[0]["content"][-1]["text"] == "Is there a train in this image?\nAnswer the question using a single word or phrase."
    assert [s.target for s in samples] == ["yes", "no", "yes", "no"]
    scores = [task.score(r, s) for r, s in zip(["Yes", "No", "Yes", "Yes"], samples)]
    summary = task.summary_metrics(scores)
    # existence: both right -> acc 100, acc+ 100, score 200; code_reasoning: one of two -> 50 + 0.
    assert summary == {"existence_acc": 100.0, "existence_acc_plus": 100.0, "existence_score": 200.0,
                       "code_reasoning_acc": 50.0, "code_reasoning_acc_plus": 0.0, "code_reasoning_score": 50.0,
                       "perception_score": 200.0, "cognition_score": 50.0}
    # A pair cut by --limit counts for accuracy, not for accuracy+.
    assert task.summary_metrics(scores[:3])["code_reasoning_acc_plus"] == 0.0
    assert task.summary_metrics(scores[:3])["code_reasoning_acc"] == 100.0
    parquet = fx.write_parquet(tmp_path / "mme.parquet", fx.mme_rows(), fx.MME_SCHEMA)
    assert [(s.id, s.messages) for s in get_task(f"mme:data={parquet}").load("test")] == [(s.id, s.messages) for s in samples]


def test_mmstar_loads_and_reports_categories(mmstar_folder, tmp_path):
    task = get_task(f"mmstar:data={mmstar_folder}")
    samples = task.load("test")
    assert [s.id for s in samples] == ["0", "1"] and [s.target for s in samples] == ["A", "B"]
    assert samples[1].messages[0]["content"][-1]["text"].endswith("D: A road\nAnswer with the option's letter from the given choices directly")
    scores = [task.score(r, s) for r, s in zip(["A", "C"], samples)]
    assert task.summary_metrics(scores) == {"coarse perception": 100.0, "coarse perception (image scene and topic)": 100.0,
                                            "math": 0.0, "math (geometry)": 0.0}
    parquet = fx.write_parquet(tmp_path / "mmstar.parquet", fx.mmstar_rows(), fx.MMSTAR_SCHEMA)
    assert [s.messages for s in get_task(f"mmstar:data={parquet}").load("test")] == [s.messages for s in samples]


@pytest.mark.parametrize("family", ["mme", "mmstar"])
def test_gold_answers_score_one_under_each_protocol(family, mme_folder, mmstar_folder):
    folder = mme_folder if family == "mme" else mmstar_folder
    for style, wrap in (("standard", lambda g: g), ("paper", lambda g: f"<think>reading</think> \\boxed{{{g}}}"),
                        ("no_cot", lambda g: g)):
        task = get_task(f"{family}:data={folder},style={style}")
        for protocol in task.available_protocols():
            for s in task.load("test"):
                assert task.score_as(protocol, wrap(str(s.target)), s).value == 1.0, (style, protocol, s.id)


@pytest.mark.parametrize("shape", ["yes" + "a" * 65536, " " * 65536 + "no", "(" * 65536, "\n" * 65536])
def test_long_responses_score_in_linear_time(shape, mme_folder, mmstar_folder):
    mme = get_task(f"mme:data={mme_folder}")
    star = get_task(f"mmstar:data={mmstar_folder}")
    s_mme, s_star = mme.load("test")[0], star.load("test")[0]
    started = time.perf_counter()
    for _ in range(20):
        for protocol in mme.available_protocols():
            mme.score_as(protocol, shape, s_mme)
        star.score(shape, s_star)
    assert time.perf_counter() - started < 2.0
