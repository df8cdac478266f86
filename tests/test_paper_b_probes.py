"""Paper B's probes end to end: DocVQA, MME and MMStar from hub-schema folders on the tiny model,
their results accepted by `harness check`; the `paper-b` general list and the `jigsaw` sequence."""

from __future__ import annotations

import json
import shutil

import pytest

import hub_fixtures as fx
from harness.check import checker
from harness.eval.evaluate import run_eval
from harness.runs.checkpoints import load_run
from tasks import GENERAL_LISTS, expand_general, get_task, resolve_sequence


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("paperb")
    return {
        "docvqa": fx.write_hub_folder(root / "DocVQA", {"DocVQA": {"validation": fx.docvqa_rows()}}, {"*": fx.DOCVQA_SCHEMA}),
        "mme": fx.write_hub_folder(root / "MME", {"default": {"test": fx.mme_rows()}}, {"*": fx.MME_SCHEMA}),
        "mmstar": fx.write_hub_folder(root / "MMStar", {"val": {"val": fx.mmstar_rows()}}, {"*": fx.MMSTAR_SCHEMA}),
    }


def test_the_three_evaluate_on_the_tiny_model_and_pass_the_checker(folders, tiny_run, tmp_path):
    specs = [f"{name}:data={path}" for name, path in folders.items()]
    out = tmp_path / "out"
    results = run_eval(load_run(tiny_run), out, tmp_path / "store", task_specs=specs, progress=False)
    names = results["general"]
    assert [results["tasks"][n]["family"] for n in names] == ["docvqa", "mme", "mmstar"]
    assert [results["tasks"][n]["n"] for n in names] == [3, 4, 2]
    mme = next(n for n in names if n.startswith("mme"))
    assert {"perception_score", "cognition_score"} <= set(results["tasks"][mme]["summary_metrics"][0])
    report = checker.check_bundle(out)
    assert report.accepted, [p.line() for p in report.problems]
    assert json.loads((out / "results.json").read_text())["tasks"][names[0]]["protocol"] == "official"


def test_the_paper_b_list_expands_wherever_general_columns_are_named(tiny_run, tmp_path):
    members = GENERAL_LISTS["paper-b"]
    assert [get_task(m).name for m in members] == ["refcoco", "docvqa", "mme", "mmstar", "pope", "mmmu"]
    assert expand_general(["toy_mcq10", "paper-b"]) == ["toy_mcq10", *members]
    assert resolve_sequence("jigsaw") == (["jigsaw"], members)
    assert resolve_sequence("jigsaw:grid=2") == (["jigsaw:grid=2"], [])
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "general": ["paper-b"]}))
    assert load_run(run).general == members
