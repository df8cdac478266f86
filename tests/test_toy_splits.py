"""The toy tasks' train and test splits are disjoint by content (tasks.toy.common.split_of)."""

from __future__ import annotations

import pytest
from PIL import Image

from tasks import TASKS, get_task
from tasks.toy.common import TEST_SHARE, ToyTask, split_of

TOY = sorted(name for name, cls in TASKS.items() if issubclass(cls, ToyTask))


def _content(sample):
    pixels = tuple(im.tobytes() if isinstance(im, Image.Image) else Image.open(im).tobytes() for im in sample.images)
    return repr(sample.messages), repr(sample.target), pixels


@pytest.mark.parametrize("name", TOY)
def test_no_test_item_equals_a_training_item(name):
    """The lab's test items against SFT's training items (seed 0) and the shipped base's (seed 1)."""
    assert len(TOY) == 9
    small = {"image_size": 56} if name != "toy_mcq10" else {}
    spec = ",".join(f"{k}={v}" for k, v in small.items())
    test = get_task(f"{name}:{spec}" if spec else name).load("test")[:48]
    seen = set()
    for seed in (0, 1):
        task = get_task(f"{name}:seed={seed},n_train=512" + (f",{spec}" if spec else ""))
        seen |= {_content(s) for s in task.load("train")}
    assert not [s.id for s in test if _content(s) in seen]


@pytest.mark.parametrize("name", TOY)
def test_each_item_key_lies_in_its_split(name):
    task = get_task(f"{name}:n_train=64,n_test=64")
    for split in ("train", "test"):
        for i in range(64):
            assert split_of(name, task._draw(split, i).key) == split


def test_split_of_is_a_fixed_share_of_keys():
    keys = [("k", i) for i in range(20_000)]
    share = sum(split_of("toy_x", k) == "test" for k in keys) / len(keys)
    assert abs(share - TEST_SHARE) < 0.01
    assert split_of("toy_x", ("k", 1)) == split_of("toy_x", ("k", 1))
    assert [split_of("toy_x", k) for k in keys[:200]] != [split_of("toy_y", k) for k in keys[:200]]
