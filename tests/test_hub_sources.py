"""Every real task loads its hub schema from tiny local fixtures, in each form a user may hold it,
with images left in the table until a model needs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

import hub_fixtures as fx
from harness.errors import HarnessError
from harness.eval.score import score_file
from tasks import get_task
from tasks.sources import LazyImage, detect_source


def _text(sample) -> str:
    return "".join(p.get("text", "<IMG>") if p["type"] == "text" else "<IMG>" for p in sample.messages[0]["content"])


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hub")
    out = {
        "scienceqa": fx.write_hub_folder(root / "scienceqa", {"default": {"test": fx.scienceqa_rows()}}, {"*": fx.SCIENCEQA_SCHEMA}),
        "textvqa": fx.write_hub_folder(root / "textvqa", {"default": {"validation": fx.textvqa_rows()}}, {"*": fx.TEXTVQA_SCHEMA}),
        "vizwiz": fx.write_hub_folder(root / "vizwiz", {"default": {"val": fx.vizwiz_rows()}}, {"*": fx.VIZWIZ_SCHEMA}),
        "gqa": fx.write_hub_folder(root / "gqa", fx.gqa_configs(), {
            "testdev_balanced_instructions": fx.GQA_INSTRUCTIONS_SCHEMA, "testdev_balanced_images": fx.GQA_IMAGES_SCHEMA}),
        "geometry3k": fx.write_hub_folder(root / "geo", {"default": {"test": fx.geometry3k_rows()}}, {"*": fx.GEOMETRY3K_SCHEMA}),
        "pathvqa": fx.write_hub_folder(root / "path", {"default": {"test": fx.pathvqa_rows()}}, {"*": fx.PATHVQA_SCHEMA}),
        "mmmu": fx.write_hub_folder(root / "mmmu", fx.mmmu_configs(), {"*": fx.MMMU_SCHEMA}),
        "mmlu_pro": fx.write_hub_folder(root / "mmlu_pro", {"default": fx.mmlu_pro_splits()}, {"*": fx.MMLU_PRO_SCHEMA}),
        "pope": fx.write_hub_folder(root / "pope", {"default": {"test": fx.pope_rows()}}, {"*": fx.POPE_SCHEMA}),
    }
    out["vizwiz_saved"] = fx.write_saved(root / "vizwiz_saved", {"val": fx.vizwiz_rows()}, fx.VIZWIZ_SCHEMA)
    out["vizwiz_parquet"] = fx.write_parquet(root / "vizwiz.parquet", fx.vizwiz_rows(), fx.VIZWIZ_SCHEMA)
    out["mmlu_pro_test"] = fx.write_parquet(root / "mmlu_test.parquet", fx.mmlu_pro_splits()["test"], fx.MMLU_PRO_SCHEMA)
    out["mmlu_pro_val"] = fx.write_parquet(root / "mmlu_val.parquet", fx.mmlu_pro_splits()["validation"], fx.MMLU_PRO_SCHEMA)
    out["easyr1"] = fx.write_parquet(root / "geo_easyr1.parquet", fx.geometry3k_rows(), fx.GEOMETRY3K_SCHEMA)
    return {k: v for k, v in out.items()}


def _load(name: str, data: Path, **params):
    extra = "".join(f",{k}={v}" for k, v in params.items())
    return get_task(f"{name}:data={data}{extra}").load("test")


def test_source_kinds(data):
    assert detect_source(str(data["vizwiz"])) == "folder"
    assert detect_source(str(data["vizwiz_saved"])) == "saved"
    assert detect_source(str(data["vizwiz_parquet"])) == "table"
    assert detect_source(str(data["easyr1"])) == "easyr1"
    assert detect_source("lmms-lab/VizWiz-VQA") == "hub"
    with pytest.raises(HarnessError, match="no such file"):
        detect_source("./nope/missing.json")


def test_scienceqa_image_subset_and_release_prompt(data):
    samples = _load("scienceqa", data["scienceqa"], style="direct")
    assert [s.id for s in samples] == ["0", "2"]  # the text-only row is outside the task
    assert _text(samples[1]) == "<IMG>\nLook at the picture.\nWhich is a mammal?\nA. trout\nB. otter\nC. newt\nAnswer with the option's letter from the given choices directly."
    assert samples[1].target == "B"
    assert isinstance(samples[1].images[0], LazyImage)
    assert samples[1].images[0].load().convert("RGB").getpixel((0, 0)) == (0, 0, 255)


def test_textvqa_ten_answers_and_prompt(data):
    samples = _load("textvqa", data["textvqa"], style="direct")
    assert [s.id for s in samples] == ["34602", "34603"]
    assert _text(samples[0]) == "<IMG>\nwhat is the brand of this camera?\nReference OCR token:DAKOTA,DIGITAL\nAnswer the question using a single word or phrase."
    assert "Reference OCR token:\n" in _text(samples[1])
    assert samples[0].target == "dakota" and len(samples[0].meta["answers"]) == 10
    task = get_task(f"textvqa:data={data['textvqa']},style=direct")
    assert task.score_as("official", "Dakota.", samples[0]).value == 1.0  # the answers disagree: both normalised
    assert task.score_as("official", "dakota digital", samples[0]).value == pytest.approx(0.9)  # 3 annotators: min(1, 2/3) or 1
    assert task.score_as("official", "23.", samples[1]).value == 1.0
    assert task.score_as("official", "2", samples[1]).value == pytest.approx(0.3)


def test_vizwiz_all_three_local_forms_agree(data):
    forms = [data["vizwiz"], data["vizwiz_saved"], data["vizwiz_parquet"]]
    loaded = [_load("vizwiz", f) for f in forms]
    for samples in loaded[1:]:
        assert [(s.id, s.target, s.messages, s.meta) for s in samples] == [(s.id, s.target, s.messages, s.meta) for s in loaded[0]]
    assert loaded[0][0].target == "unanswerable" and loaded[0][1].target == "olive"
    assert "respond with 'Unanswerable'." in _text(loaded[0][0])


def test_gqa_joins_question_and_image_configs(data):
    samples = _load("gqa", data["gqa"], style="direct")
    assert [s.id for s in samples] == ["201307251", "201640614", "202225914"]
    assert samples[0].images[0].load().convert("RGB").getpixel((0, 0)) == samples[2].images[0].load().convert("RGB").getpixel((0, 0))
    task = get_task(f"gqa:data={data['gqa']},style=direct")
    assert task.score_as("official", "Girl.", samples[1]).value == 1.0
    assert task.score_as("official", "a girl", samples[1]).value == 0.0  # exact match


def test_geometry3k_hub_and_easyr1_give_the_same_samples(data):
    hub = _load("geometry3k", data["geometry3k"])
    easy = _load("geometry3k", data["easyr1"])
    assert [s.target for s in hub] == ["3", "\\frac{5}{2}"]
    # Paper A's RFT evaluation reads the hub's `problem`: no short-answer line in the `paper` style.
    assert _text(hub[0]).startswith("<IMG>Find x. You FIRST think")
    assert _text(_load("geometry3k", data["geometry3k"], style="direct")[0]) == "<IMG>Find x.\nAnswer the question using a single word or phrase."
    # An EasyR1 parquet's `problem` is the whole user text: no short-answer line is added.
    assert _text(easy[0]).startswith("<IMG>Find x. You FIRST think")
    assert [s.target for s in easy] == [s.target for s in hub]
    assert easy[1].images[0].load().size == (32, 32)


def test_pathvqa(data):
    samples = _load("pathvqa", data["pathvqa"], style="direct")
    assert _text(samples[1]) == "<IMG>what are positively charged?\nAnswer the question using a single word or phrase."


def test_mmmu_interleaves_images_and_parses(data):
    with pytest.raises(HarnessError, match="'Accounting' not found"):  # all 30 subjects, or name them
        _load("mmmu", data["mmmu"])
    samples = _load("mmmu", data["mmmu"], subjects="Art+Math")
    assert [s.id for s in samples] == ["validation_Art_1", "validation_Art_2", "validation_Math_1"]
    parts = samples[0].messages[0]["content"]
    assert [p["type"] for p in parts] == ["text", "image", "text", "image", "text"]
    assert len(samples[0].images) == 2
    assert parts[-1]["text"].endswith("A. the first\nB. the second\n\nAnswer with the option's letter from the given choices directly.")
    assert [p["type"] for p in samples[2].messages[0]["content"]] == ["text", "image", "text"]  # image inside an option
    only_math = _load("mmmu", data["mmmu"], subjects="Math")
    assert [s.id for s in only_math] == ["validation_Math_1"]
    task = get_task(f"mmmu:data={data['mmmu']},subjects=Art+Math")
    assert task.score("The answer is 42.", samples[1]).value == 1.0
    assert task.score("(A)", samples[0]).value == 1.0
    bad = task.score("I cannot tell.", samples[0])
    assert (bad.value, bad.valid) == (0.0, False)


def test_mmlu_pro_fewshot_prompt_and_single_file(data):
    samples = _load("mmlu_pro", data["mmlu_pro"])
    text = _text(samples[0])
    assert text.startswith("The following are multiple choice questions (with answers) about math.")
    assert text.count("Question:\n") == 3  # two math shots, then the question
    assert "Answer: Let's think step by step. 1 + 1 = 2. The answer is (B).\n\n" in text
    assert text.endswith("J. 12\nAnswer: Let's think step by step.")
    assert _text(samples[1]).count("Question:\n") == 2
    with pytest.raises(HarnessError, match="fewshot_data"):
        _load("mmlu_pro", data["mmlu_pro_test"])
    single = _load("mmlu_pro", data["mmlu_pro_test"], fewshot_data=data["mmlu_pro_val"])
    assert [_text(s) for s in single] == [_text(s) for s in samples]
    assert get_task("mmlu_pro").contract().stop == ("Question:",)


def test_pope_categories_and_f1(data, tmp_path):
    samples = _load("pope", data["pope"])
    assert len(samples) == 4 and len(_load("pope", data["pope"], category="adversarial")) == 2
    assert [s.id for s in samples] == ["1", "2", "3", "4"]  # the hub id: question_id repeats (1, 2, 1, 1)
    no_hub_id = fx.write_parquet(tmp_path / "pope_no_id.parquet", [{k: v for k, v in r.items() if k != "id"} for r in fx.pope_rows()],
                                 {k: v for k, v in fx.POPE_SCHEMA.items() if k != "id"})
    assert [s.id for s in _load("pope", no_hub_id)] == ["adversarial-1", "adversarial-2", "popular-1", "random-1"]
    responses = tmp_path / "r.jsonl"
    said = {"1": "Yes, there is.", "2": "Yes.", "3": "I am not sure.", "4": "Maybe"}
    responses.write_text("".join(json.dumps({"id": k, "response": v}) + "\n" for k, v in said.items()))
    summary = score_file("pope", str(data["pope"]), responses, tmp_path / "s.jsonl")
    # gold: 1 yes, 2 no, 3 yes, 4 no. said (POPE's rule): yes, yes, no, yes ("Maybe" defaults to
    # yes and is counted invalid) -> tp 1, fp 2, fn 1
    assert summary["accuracy"] == 25.0 and summary["invalid_rate"] == 25.0
    assert summary["summary_metrics"]["f1"] == pytest.approx(40.0)
    assert summary["summary_metrics"]["yes_ratio"] == 75.0


def test_score_cli_reads_hub_folders_and_parquet(data, tmp_path):
    responses = tmp_path / "r.jsonl"
    responses.write_text(json.dumps({"id": "VizWiz_val_00000001.jpg", "response": "<think>x</think> \\boxed{Green}"}) + "\n")
    for source in (data["vizwiz"], data["vizwiz_parquet"], data["vizwiz_saved"]):
        official = score_file("vizwiz", str(source), responses, tmp_path / "o.jsonl", "official")
        # one of the two samples answered (two of ten said green: 0.6); the other is missing: 0
        assert official["accuracy"] == pytest.approx(30.0) and official["missing"] == 1
        paper = score_file("vizwiz", str(source), responses, tmp_path / "p.jsonl", "paper")
        assert paper["accuracy"] == 0.0  # gold is the most common answer, olive
    with pytest.raises(HarnessError, match="no protocol"):
        score_file("scienceqa", str(data["scienceqa"]), responses, tmp_path / "x.jsonl", "official")


def test_bad_hub_data_gets_clear_errors(data, tmp_path):
    broken = fx.write_parquet(tmp_path / "broken.parquet", [{"question": "q", "answer": "a"}], {"question": "str", "answer": "str"})
    with pytest.raises(HarnessError, match=r"missing column\(s\) question_id"):
        _load("vizwiz", broken)
    bad_answer = [dict(r, answer="maybe") for r in fx.pope_rows()]
    with pytest.raises(HarnessError, match="row 0: malformed"):
        _load("pope", fx.write_parquet(tmp_path / "pope_bad.parquet", bad_answer, fx.POPE_SCHEMA))
    with pytest.raises(HarnessError, match="superclevr"):
        get_task("superclevr").load("test")
    with pytest.raises(HarnessError, match="unknown subject"):
        get_task("mmmu:subjects=Alchemy")


def test_missing_image_paths_in_easyr1_are_counted(tmp_path):
    rows = [{"problem": "<image>Find x.", "answer": "3", "images": ["img/a.png"]}, {"problem": "<image>Find y.", "answer": "4", "images": ["img/b.png"]}]
    path = fx.write_parquet(tmp_path / "paths.parquet", rows, {"problem": "str", "answer": "str", "images": "strs"})
    (tmp_path / "img").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "img" / "a.png")
    task = get_task(f"geometry3k:data={path}")
    samples = task.load("test")
    with pytest.raises(HarnessError, match="1 of 2 samples have missing images"):
        task.loadable_for_generation(samples)
    kept, skipped = get_task(f"geometry3k:data={path},skip_missing_images=true").loadable_for_generation(samples)
    assert [s.id for s in kept] == ["0"] and skipped == ["1"]


def test_eval_generates_from_hub_rows_with_lazy_images(data, tiny_run, tmp_path):
    """A real eval on the tiny model: images decoded from the table, the chosen protocol and
    POPE's summary metrics recorded in the results."""
    from harness.runs.checkpoints import load_run
    from harness.eval.evaluate import run_eval

    specs = [f"pope:data={data['pope']}", f"textvqa:data={data['textvqa']},style=direct"]
    results = run_eval(load_run(str(tiny_run)), tmp_path / "out", tmp_path / "store", task_specs=specs, progress=False, protocol="official")
    pope, textvqa = (results["tasks"][get_task(s).spec] for s in specs)
    assert pope["protocol"] == "official" and textvqa["protocol"] == "official"
    assert len(pope["summary_metrics"]) == 3 and set(pope["summary_metrics"][0]) == {"precision", "recall", "f1", "yes_ratio"}
    assert results["run_stats"]["generated"] == 3 * (4 + 2)
    rows = [json.loads(line) for line in (tmp_path / "out" / "samples" / "stage0").glob("pope*.jsonl").__next__().read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]


@pytest.fixture(scope="module")
def train_data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hub_train")
    return {
        "scienceqa": fx.write_hub_folder(root / "scienceqa", {"default": {"train": fx.scienceqa_rows(), "test": fx.scienceqa_rows()}}, {"*": fx.SCIENCEQA_SCHEMA}),
        "geometry3k": fx.write_hub_folder(root / "geo", {"default": {"train": fx.geometry3k_rows(), "test": fx.geometry3k_rows()}}, {"*": fx.GEOMETRY3K_SCHEMA}),
        "pathvqa": fx.write_hub_folder(root / "path", {"default": {"train": fx.pathvqa_rows(), "test": fx.pathvqa_rows()}}, {"*": fx.PATHVQA_SCHEMA}),
    }


def _prompt(name: str, data: Path, split: str, style: str) -> str:
    return _text(get_task(f"{name}:data={data},style={style}").load(split)[-1])


def test_training_prompts_are_the_papers_training_files(train_data):
    """ScienceQA's training file prefixes the hint with "Context: " (its test file does not);
    Paper A's RFT stages for Geometry3K and PathVQA read the bare problem / question."""
    sqa = train_data["scienceqa"]
    assert _prompt("scienceqa", sqa, "train", "direct").startswith("<IMG>\nContext: Look at the picture.\nWhich is a mammal?\nA. trout")
    assert _prompt("scienceqa", sqa, "test", "direct").startswith("<IMG>\nLook at the picture.\nWhich is a mammal?")
    assert _prompt("scienceqa", sqa, "train", "paper").startswith("<IMG>\nContext: Look at the picture.")
    geo, path = train_data["geometry3k"], train_data["pathvqa"]
    assert _prompt("geometry3k", geo, "train", "paper") == "<IMG>Find the area of the triangle. You FIRST think about the reasoning process as an internal monologue and then provide the final answer. The reasoning process MUST BE enclosed within <think> </think> tags. The final answer MUST BE put in \\boxed{}."
    assert _prompt("geometry3k", geo, "train", "no_cot") == "<IMG>Find the area of the triangle. You MUST provide the final answer directly."
    assert _prompt("geometry3k", geo, "train", "direct") == "<IMG>Find the area of the triangle.\nAnswer the question using a single word or phrase."
    assert _prompt("geometry3k", geo, "test", "paper").startswith("<IMG>Find the area of the triangle. You FIRST")  # EasyR1's test.sh reads the hub rows
    assert _prompt("pathvqa", path, "train", "paper").startswith("<IMG>what are positively charged? You FIRST think")
    assert _prompt("pathvqa", path, "train", "no_cot") == "<IMG>what are positively charged? You MUST provide the final answer directly."
    assert _prompt("pathvqa", path, "train", "direct") == "<IMG>what are positively charged?\nAnswer the question using a single word or phrase."
    assert _prompt("pathvqa", path, "test", "no_cot") == "<IMG>what are positively charged? You MUST provide the final answer directly."


def test_hub_revision_pins_and_overrides(monkeypatch, data):
    """MMLU-Pro's default hub id loads at its pinned commit, `revision=` overrides it, another hub
    id gets the hub's main unless told; what was asked is recorded in the task's info. The hub is
    out of reach in tests, so `datasets.load_dataset` is replaced by a reader of the local copy
    that records the revision it was asked for."""
    import datasets

    from tasks.mmlu_pro import MMLUPro

    asked = []
    real = datasets.load_dataset

    def local_copy(path, name=None, split=None, revision=None, **kw):
        asked.append((path, split, revision))
        return real(str(data["mmlu_pro"]), name, split=split)

    monkeypatch.setattr(datasets, "load_dataset", local_copy)
    task = get_task("mmlu_pro:shots=1")
    assert len(task.load("test")) == len(fx.mmlu_pro_splits()["test"])
    pinned = MMLUPro.hub_revision
    assert asked == [("TIGER-Lab/MMLU-Pro", "test", pinned), ("TIGER-Lab/MMLU-Pro", "validation", pinned)]
    assert task.info()["source"] == [{"id": "TIGER-Lab/MMLU-Pro", "revision": pinned, "commit": None}]  # offline: no commit
    asked.clear()
    get_task("mmlu_pro:shots=0,revision=v1.0").load("test")
    assert asked == [("TIGER-Lab/MMLU-Pro", "test", "v1.0")]
    asked.clear()
    get_task("mmlu_pro:shots=0,data=someone/MMLU-Pro-copy").load("test")
    assert asked == [("someone/MMLU-Pro-copy", "test", None)]
    local = get_task(f"mmlu_pro:shots=0,data={data['mmlu_pro']}")
    local.load("test")
    assert "source" not in local.info()  # local data is named by its content hash in results
