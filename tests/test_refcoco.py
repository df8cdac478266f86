"""RefCOCO: the box parsing and IoU rules on hand-computed boxes, the coordinate frames, and
loading the hub schema (one sample per referring expression)."""

from __future__ import annotations

import pytest

import hub_fixtures as fx
from tasks import get_task
from tasks.refcoco import box_iou, parse_box


@pytest.mark.parametrize("text, box", [
    ("[10, 20, 30, 40]", (10.0, 20.0, 30.0, 40.0)),
    ('{"bbox_2d": [1.5, 2, 300, 400.25], "label": "cup"}', (1.5, 2.0, 300.0, 400.25)),
    ("first [1,2,3,4] then [5,6,7,8]", (1.0, 2.0, 3.0, 4.0)),
    ("[ -5 , 0 , 10 , 10 ]", (-5.0, 0.0, 10.0, 10.0)),
    ("(10, 20, 30, 40)", None),  # parentheses are not the format asked for
    ("[10, 20, 30]", None),
    ("no box here", None),
])
def test_parse_box(text, box):
    assert parse_box(text) == box


@pytest.mark.parametrize("pred, gold, iou", [
    ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
    ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),            # half overlap: 50 / (100 + 100 - 50)
    ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),               # disjoint
    ((10, 10, 0, 0), (0, 0, 10, 10), 1.0),                 # corners given in reverse order
    ((5, 5, 5, 20), (0, 0, 10, 10), 0.0),                  # degenerate: zero width
    ((-10, -10, 10, 10), (0, 0, 10, 10), 1.0),             # out of the frame: clipped to (0, 0, 10, 10)
    ((200, 200, 300, 300), (0, 0, 10, 10), 0.0),           # wholly outside a 100x100 frame
    ((0, 0, 10, 20), (0, 0, 10, 10), 0.5),                 # gold inside pred: 100 / 200
])
def test_box_iou_on_hand_computed_boxes(pred, gold, iou):
    assert box_iou(pred, gold, 100, 100) == pytest.approx(iou)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return fx.write_hub_folder(tmp_path_factory.mktemp("refcoco") / "refcoco", {"default": {"val": fx.refcoco_rows()}}, {"*": fx.REFCOCO_SCHEMA})


def test_frames_and_gold_boxes(folder):
    # Qwen2.5-VL: smart_resize(480, 640) = (476, 644), smart_resize(50, 100) = (56, 112) at factor 28.
    qwen = get_task(f"refcoco:data={folder}").load("test")
    assert [s.id for s in qwen] == ["1001/0", "1001/1", "1002/0"]
    assert qwen[0].meta["frame"] == [644.0, 476.0]
    assert qwen[0].target == pytest.approx([64 * 644 / 640, 48 * 476 / 480, 384 * 644 / 640, 288 * 476 / 480], abs=1e-4)
    assert "pixels of this 644x476 image: man on the left" in qwen[0].messages[0]["content"][-1]["text"]
    assert qwen[2].meta["frame"] == [112.0, 56.0] and qwen[2].target == pytest.approx([11.2, 5.6, 67.2, 33.6])
    pixels = get_task(f"refcoco:data={folder},coords=pixels").load("test")
    assert pixels[0].target == [64.0, 48.0, 384.0, 288.0]
    norm = get_task(f"refcoco:data={folder},coords=norm1000").load("test")
    assert norm[2].target == pytest.approx([100.0, 100.0, 600.0, 600.0])
    assert "coordinates from 0 to 1000" in norm[2].messages[0]["content"][-1]["text"]


def test_scores_and_invalid_rate(folder):
    task = get_task(f"refcoco:data={folder},coords=pixels")
    sample = task.load("test")[0]  # gold [64, 48, 384, 288]
    right = task.score('{"bbox_2d": [64, 48, 384, 288]}', sample)
    assert (right.value, right.valid, right.parts["iou"]) == (1.0, True, 1.0)
    half = task.score("[64, 48, 224, 288]", sample)  # left half of the gold box: IoU 0.5 exactly
    assert half.parts["iou"] == pytest.approx(0.5) and half.value == 1.0
    low = task.score("[64, 48, 200, 288]", sample)
    assert low.value == 0.0 and low.valid
    none = task.score("the man on the left", sample)
    assert none.value == 0.0 and not none.valid and none.extracted is None
    assert task.summary_metrics([right, low, none]) == pytest.approx({"mean_iou": 100 * (1 + 136 / 320) / 3})


def test_bad_parameters():
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="subset must be one of"):
        get_task("refcoco:subset=train")
    with pytest.raises(HarnessError, match="coords must be one of"):
        get_task("refcoco:coords=relative")


def test_evaluates_end_to_end_on_the_tiny_model(folder, tiny_run, tmp_path):
    from harness.runs.checkpoints import load_run
    from harness.eval.evaluate import run_eval

    spec = f"refcoco:coords=pixels,data={folder}"
    results = run_eval(load_run(tiny_run), tmp_path / "out", tmp_path / "store", task_specs=[spec], progress=False)
    (name,) = results["general"]
    assert results["tasks"][name]["n"] == 3 and len(results["metrics"]["invalid_rate"][name]) == 3
    assert "mean_iou" in results["tasks"][name]["summary_metrics"][0]
